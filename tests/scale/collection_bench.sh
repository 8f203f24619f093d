#!/bin/bash
# Usage: cargo build --release -p lode-cli && LODE=target/release/lode bash tests/scale/collection_bench.sh
# Needs redis-server and redis-benchmark (Debian: redis-server redis-tools). Loopback only.
# redis-benchmark on the collection commands, lode vs redis-server (AOF everysec),
# one test at a time, servers alternating which goes first, each run capped at 200 s.
set -u
LODE=${LODE:-target/release/lode}
D=$(mktemp -d)
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
LPORT=$(free_port)
RPORT=$(free_port)
$LODE serve --port $LPORT --bind 127.0.0.1 --dir $D/lode --appendfsync everysec >$D/lode.log 2>&1 &
LP=$!
redis-server --port $RPORT --bind 127.0.0.1 --dir $D --appendonly yes --appendfsync everysec --save '' --daemonize no >$D/redis.log 2>&1 &
RP=$!
trap 'kill $LP $RP 2>/dev/null; wait; rm -rf "$D"' EXIT
for p in $LPORT $RPORT; do for i in $(seq 100); do redis-cli -p $p ping >/dev/null 2>&1 && break; sleep 0.1; done; done
n=0
for t in lpush rpush lpop rpop sadd hset spop zadd zpopmin lrange_100; do
  n=$((n+1))
  order="$LPORT $RPORT"; [ $((n % 2)) = 0 ] && order="$RPORT $LPORT"
  for p in $order; do
    name=$([ $p = $LPORT ] && echo lode || echo redis)
    # pops need something to pop: the push/add test before each pop fills the same key.
    case $t in lpop|rpop) redis-cli -p $p del mylist >/dev/null; timeout 100 redis-benchmark -p $p -t lpush -n 100000 -c 50 -P 16 -r 1000000 -d 100 -q >/dev/null 2>&1;; 
               spop) redis-cli -p $p del myset >/dev/null; timeout 100 redis-benchmark -p $p -t sadd -n 100000 -c 50 -P 16 -r 1000000 -d 100 -q >/dev/null 2>&1;;
               zpopmin) redis-cli -p $p del myzset >/dev/null; timeout 100 redis-benchmark -p $p -t zadd -n 100000 -c 50 -P 16 -r 1000000 -d 100 -q >/dev/null 2>&1;; esac
    r=$(timeout 200 redis-benchmark -p $p -t $t -n 100000 -c 50 -P 16 -r 1000000 -d 100 -q 2>&1 | tr '\r' '\n' | grep "requests per second" | tail -1)
    echo "$t $name ${r:-TIMEOUT} | load $(cut -d' ' -f1 /proc/loadavg)"
  done
done
echo "lode RSS: $(ps -o rss= -p $LP) KiB; redis RSS: $(ps -o rss= -p $RP) KiB"
