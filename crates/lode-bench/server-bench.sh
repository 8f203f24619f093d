#!/usr/bin/env bash
# Side-by-side server benchmark: Lode and Redis on loopback with matching durability, driven
# alternately by redis-benchmark (SET and GET, 100-byte values, 1M-key space, 50 clients,
# -P 1 and -P 16). Prints one Markdown table. Everything binds 127.0.0.1; every run is bounded.
#
#   bash crates/lode-bench/server-bench.sh [requests_p1] [requests_p16]
set -euo pipefail
cd "$(dirname "$0")/../.."
n1=${1:-100000}
n16=${2:-400000}
command -v redis-benchmark >/dev/null && command -v redis-server >/dev/null || {
    echo "needs redis-server and redis-benchmark: apt-get install -y redis-server redis-tools" >&2
    exit 2
}
cargo build -q --release -p lode-cli
lode="${CARGO_TARGET_DIR:-target}/release/lode"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ready() { # port
    for _ in $(seq 1 200); do
        redis-cli -p "$1" ping >/dev/null 2>&1 && return 0
        redis-cli -p "$1" ping 2>/dev/null | grep -q PONG && return 0
        python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),timeout=0.1)' "$1" 2>/dev/null && return 0
    done
    echo "server on port $1 did not come up" >&2; return 1
}

start() { # name fsync -> prints port
    local name=$1 fsync=$2 port
    port=$(free_port)
    mkdir -p "$work/$name-$fsync"
    if [ "$name" = lode ]; then
        "$lode" serve --port "$port" --dir "$work/$name-$fsync" --appendfsync "$fsync" >"$work/$name-$fsync.log" 2>&1 &
    else
        redis-server --port "$port" --bind 127.0.0.1 --dir "$work/$name-$fsync" --save '' \
            --appendonly yes --appendfsync "$fsync" >"$work/$name-$fsync.log" 2>&1 &
    fi
    pids+=($!)
    wait_ready "$port"
    echo "$port"
}

echo "| server | appendfsync | pipeline | test | requests/s | p50 ms | p99 ms |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for fsync in everysec always; do
    lport=$(start lode "$fsync")
    rport=$(start redis "$fsync")
    for pipeline in 1 16; do
        n=$n1; [ "$pipeline" = 16 ] && n=$n16
        for name in lode redis; do
            port=$lport; [ "$name" = redis ] && port=$rport
            timeout 300 redis-benchmark -p "$port" -t set,get -d 100 -r 1000000 -c 50 -n "$n" \
                -P "$pipeline" --csv 2>/dev/null | tail -n +2 | tr -d '"' |
                while IFS=, read -r test rps avg min p50 p95 p99 max; do
                    echo "| $name | $fsync | $pipeline | $test | ${rps%.*} | $p50 | $p99 |"
                done
        done
    done
done
