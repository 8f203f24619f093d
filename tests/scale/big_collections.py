#!/usr/bin/env python3
"""Collections far larger than the server's memory budget: a hash of N fields and a sorted set
of N members (issue 7: N = 10 million), loaded into a release `lode serve` with a small
engine budget, then read, deleted and reclaimed, with the server's peak memory watched.

Usage (release build first: cargo build --release -p lode-cli):
    python3 tests/scale/big_collections.py --n 10000000 [--types hash,zset] [--lode target/release/lode]

Prints one line per phase: what ran, how long, the rate, and the server's resident memory
(VmRSS now, VmHWM peak) next to its configured budget (cache-size + 2 memtables). Needs
redis-py (tests/compat/requirements.txt). Loopback only; everything it starts it stops.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

import redis

from scale_common import disk_bytes, free_port, mem_kib


BATCH = 1_000  # fields per HSET / members per ZADD
PIPELINE = 10  # commands per round trip
READS = 2_000  # sampled point reads per phase


def report(proc, phase: str, seconds: float, ops: int, extra: str = "") -> None:
    rss, hwm = mem_kib(proc.pid)
    rate = f"{ops / seconds:,.0f}/s" if seconds > 0 and ops else "-"
    print(
        f"{phase:<34} {seconds:9.2f} s  {rate:>12}  rss {rss / 1024:7.0f} MiB  peak {hwm / 1024:7.0f} MiB  {extra}",
        flush=True,
    )


def percentiles(samples: list[float]) -> str:
    samples = sorted(samples)
    p = lambda q: samples[min(len(samples) - 1, int(q * len(samples)))] * 1e6
    return f"p50 {p(0.5):.0f} us  p99 {p(0.99):.0f} us"


def load(r, kind: str, key: str, n: int, proc) -> None:
    value = b"v" * 100
    start = time.monotonic()
    pipe = r.pipeline(transaction=False)
    queued = 0
    for base in range(0, n, BATCH):
        args = []
        for i in range(base, min(base + BATCH, n)):
            if kind == "hash":
                args += [b"field:%010d" % i, value]
            else:
                args += [(i * 7919) % n, b"member:%010d" % i]
        pipe.execute_command("HSET" if kind == "hash" else "ZADD", key, *args)
        queued += 1
        if queued == PIPELINE:
            pipe.execute()
            queued = 0
        if base % (n // 10 or 1) < BATCH and base:
            report(proc, f"  {kind} loaded {base:,}", time.monotonic() - start, base)
    pipe.execute()
    report(proc, f"load {kind} ({n:,})", time.monotonic() - start, n)


def reads(r, kind: str, key: str, n: int, proc) -> None:
    rng = random.Random(7)
    lat = []
    start = time.monotonic()
    for _ in range(READS):
        i = rng.randrange(n)
        t = time.monotonic()
        if kind == "hash":
            assert r.hget(key, b"field:%010d" % i) == b"v" * 100
        else:
            assert r.zscore(key, b"member:%010d" % i) == (i * 7919) % n
        lat.append(time.monotonic() - t)
    report(proc, f"random {'HGET' if kind == 'hash' else 'ZSCORE'}", time.monotonic() - start, READS, percentiles(lat))
    if kind == "zset":
        for name, cmd in [
            ("ZRANGE 0 9 (head)", ("ZRANGE", key, 0, 9)),
            ("ZRANGE -10 -1 (tail)", ("ZRANGE", key, -10, -1)),
            ("ZRANGEBYSCORE mid LIMIT 0 10", ("ZRANGEBYSCORE", key, n // 2, "+inf", "LIMIT", 0, 10)),
            ("ZRANK (near the head)", ("ZRANK", key, b"member:%010d" % 0)),
            ("ZCARD", ("ZCARD", key)),
        ]:
            t = time.monotonic()
            reply = r.execute_command(*cmd)
            report(proc, name, time.monotonic() - t, 1, f"-> {str(reply)[:40]}")
        t = time.monotonic()
        assert r.zcard(key) == n
        report(proc, "ZCARD check", time.monotonic() - t, 1)
    else:
        t = time.monotonic()
        assert r.hlen(key) == n
        report(proc, "HLEN check", time.monotonic() - t, 1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--types", default="hash,zset")
    ap.add_argument("--lode", default="target/release/lode")
    ap.add_argument("--cache-size", default="64mb")
    ap.add_argument("--memtable-size", default="64mb")
    ap.add_argument("--dir", default=None, help="data directory (default: a temporary one)")
    args = ap.parse_args()
    data = args.dir or tempfile.mkdtemp(prefix="lode-scale-")
    port = free_port()
    log = open(os.path.join(tempfile.gettempdir(), f"lode-scale-{port}.log"), "w")
    proc = subprocess.Popen(
        [args.lode, "serve", "--port", str(port), "--dir", data,
         "--cache-size", args.cache_size, "--memtable-size", args.memtable_size],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        r = redis.Redis(port=port, socket_timeout=600)
        deadline = time.monotonic() + 30
        while True:
            try:
                r.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        print(f"lode {args.lode}, budget: cache {args.cache_size} + memtables 2 x {args.memtable_size}; n = {args.n:,}")
        ranges = 0  # element ranges the reclaimer should have compacted so far
        for kind in args.types.split(","):
            key = f"big:{kind}"
            load(r, kind, key, args.n, proc)
            reads(r, kind, key, args.n, proc)
            r.execute_command("SAVE")
            before = disk_bytes(data)
            t = time.monotonic()
            assert r.delete(key) == 1
            report(proc, f"DEL {kind}", time.monotonic() - t, 1, f"disk {before / 2**20:,.0f} MiB")
            ranges += 1 if kind == "hash" else 2  # a sorted set also has its score index
            t = time.monotonic()
            while True:
                info = r.info("persistence")
                if info.get("lode_reclaim_compactions", 0) >= ranges:
                    break
                if time.monotonic() - t > 1800:
                    print("reclaim did not finish in 30 min")
                    break
                time.sleep(0.5)
            after = disk_bytes(data)
            report(proc, f"reclaimed {kind}", time.monotonic() - t, 0,
                   f"disk {before / 2**20:,.0f} -> {after / 2**20:,.0f} MiB, filter removed {info.get('lode_compaction_filter_removed')}")
        rss, hwm = mem_kib(proc.pid)
        print(f"peak resident memory {hwm / 1024:,.0f} MiB")
    finally:
        proc.terminate()
        proc.wait(timeout=120)
        if not args.dir:
            shutil.rmtree(data, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
