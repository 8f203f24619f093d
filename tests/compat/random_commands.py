"""Seeded random command streams for the differential test.

A stream is a list of `Step(conn, args)`: `conn` is "main" or "other" (a second client that
only writes, so WATCH sees changes from elsewhere), `args` the command as sent. The key space is
small so commands collide; TTLs are either far in the future or zero/negative/past, never a few
milliseconds, so two servers fed the same stream a moment apart must reply identically (TTL
readings are compared with a tolerance). Errors are generated on purpose: wrong arity, bad
integers and floats, unknown commands and options.

`SCANALL ...` is not a Redis command: the runner expands it into a full SCAN iteration and
compares the sorted union, since cursors and page boundaries are the server's own business
(random_types adds HSCANALL, SSCANALL and ZSCANALL). A generator may return a list of steps that
must stay together.
The runner also precedes each DBSIZE with an uncompared full SCAN: Redis keeps a key whose expiry
has passed (SET ... EXAT 1, EXPIRE 0 inside MULTI) until a read or its active-expiry cycle
reclaims it, and DBSIZE counts it until then; a full SCAN reclaims them all.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

I64_MAX = 2**63 - 1
I64_MIN = -(2**63)
FAR_FUTURE_S = 4_000_000_000
MULTI_QUEUE_MAX = 6

KEYS = ["k0", "k1", "k2", "k3", "k4", "k5", "num", "{t}a"]
VALUES = ["", "v", "hello world", "0", "1", "-1", "10", "007", "+5", " 1", "3.5", "-2.25",
          "1e3", "abc", str(I64_MAX), str(I64_MIN), "\x00bin\xff"]
INTS = ["0", "1", "-1", "2", "7", "-13", "100", str(I64_MAX), str(I64_MIN), str(I64_MAX + 1),
        "abc", "1.5", "", " 3", "0x10"]
FLOATS = ["0.1", "1.5", "-2", "1e3", "2.5e-3", "-0.0", "10", "abc", "inf", "1e308", "", "3."]
SECONDS_FAR = ["100000", "250000", "1000000"]
SECONDS_GONE = ["0", "-1", "-100"]
PATTERNS = ["*", "k*", "k?", "k[0-2]", "k[^0]", "{t}*", "nomatch*", "*a", "\\{t\\}a"]


@dataclass(frozen=True)
class Step:
    """`push`, when set, is sent by the other client while `args` (a blocking command sent by the
    main client) may be blocked: the runner sends `args`, then `push`, then reads both replies."""

    conn: str
    args: tuple
    push: tuple = ()

    def __str__(self) -> str:
        text = f"[{self.conn}] " + show_args(self.args)
        return text + (f"  then [other] {show_args(self.push)}" if self.push else "")


def show_args(args: tuple) -> str:
    return " ".join(repr(a) if " " in a or not a else a for a in args)


class CommandMix:
    """Generates steps; tracks just enough state (MULTI depth) to make EXEC likely to matter."""

    # Paging, DBSIZE, database switches and blocking waits stay outside transactions.
    OUTSIDE_MULTI = frozenset({"SCANALL", "HSCANALL", "SSCANALL", "ZSCANALL", "DBSIZE", "SELECT",
                               "FLUSHALL", "FLUSHDB"})
    # Commands whose replies are random: inside MULTI each is the last one queued (EXEC follows),
    # so the runner checks it against the collection as it is after EXEC.
    ENDS_MULTI = frozenset({"SPOP", "SRANDMEMBER", "HRANDFIELD", "ZRANDMEMBER"})
    SCAN_TYPES = ("string", "hash", "none")

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.in_multi = False
        self.queued = 0
        self.generators = [  # (weight, generator)
            (8, self.get), (10, self.set), (2, self.setnx), (2, self.setex),
            (3, self.getset_getdel), (4, self.getex), (3, self.mget), (3, self.mset),
            (4, self.append_strlen), (4, self.ranges), (8, self.incr_family),
            (4, self.incrbyfloat), (4, self.del_exists), (2, self.type_touch), (3, self.rename),
            (3, self.copy), (2, self.keys), (2, self.scan), (6, self.ttl_read), (7, self.expire),
            (2, self.persist), (2, self.select), (1, self.randomkey), (1, self.dbsize),
            (1, self.echo_ping), (3, self.wrong_arity), (1, self.unknown), (3, self.transaction),
            (2, self.watch), (4, self.other_write), (0.2, self.flush),
        ]
        self.weights = [w for w, _ in self.generators]

    def steps(self, count: int) -> list[Step]:
        out: list[Step] = []
        while len(out) < count:
            _, generate = self.rng.choices(self.generators, weights=self.weights)[0]
            produced = generate()
            if not isinstance(produced, list):  # a list: steps that must stay together
                produced = [produced]
            for step in produced:
                self.admit(Step("main", step) if isinstance(step, tuple) else step, out)
        if self.in_multi:
            out.append(Step("main", ("EXEC",)))
            self.in_multi = False
        return out

    def admit(self, step: Step, out: list[Step]) -> None:
        """Appends `step`, keeping transactions short and free of what must stay outside."""
        if step.conn == "main" and self.in_multi and step.args[0] not in (
                "MULTI", "EXEC", "DISCARD", "WATCH"):
            if step.args[0] in self.OUTSIDE_MULTI or step.push:
                return
            self.queued += 1
            if self.queued > MULTI_QUEUE_MAX:
                step = Step("main", (self.rng.choice(["EXEC", "EXEC", "DISCARD"]),))
                self.in_multi, self.queued = False, 0
            elif step.args[0].upper() in self.ENDS_MULTI:
                out.append(step)
                step = Step("main", ("EXEC",))
                self.in_multi, self.queued = False, 0
        out.append(step)

    # -- helpers
    def key(self) -> str:
        return self.rng.choice(KEYS)

    def keys_n(self, low: int = 1, high: int = 4) -> list[str]:
        return [self.key() for _ in range(self.rng.randint(low, high))]

    def value(self) -> str:
        return self.rng.choice(VALUES)

    def integer(self) -> str:
        return self.rng.choice(INTS) if self.rng.random() < 0.4 else str(self.rng.randint(-50, 50))

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def expiry_option(self) -> list[str]:
        kind = self.rng.choice(["EX", "PX", "EXAT", "PXAT", "KEEPTTL", "PERSIST"])
        if kind == "KEEPTTL" or kind == "PERSIST":
            return [kind]
        gone = self.chance(0.3)
        if kind == "EX":
            return [kind, self.rng.choice(SECONDS_GONE if gone else SECONDS_FAR)]
        if kind == "PX":
            return [kind, self.rng.choice(SECONDS_GONE if gone else SECONDS_FAR) + "000"]
        if gone:
            at = self.rng.choice(["1", "0", "-5"])
        else:
            at = str(FAR_FUTURE_S + self.rng.randint(0, 9))
        return [kind, at + ("123" if kind == "PXAT" and not gone else "")]

    # -- strings
    def get(self):
        return ("GET", self.key())

    def set(self):
        args = ["SET", self.key(), self.value()]
        options = []
        if self.chance(0.3):
            options.append(self.rng.choice(["NX", "XX"]))
        if self.chance(0.4):
            option = self.expiry_option()
            if option != ["PERSIST"] or self.chance(0.2):
                options += option
        if self.chance(0.25):
            options.append("GET")
        if self.chance(0.05):
            options.append(self.rng.choice(["NX", "XX", "EX", "FOO", "KEEPTTL"]))
        if self.chance(0.1):
            self.rng.shuffle(options)
        return tuple(args + options)

    def setnx(self):
        return ("SETNX", self.key(), self.value())

    def setex(self):
        seconds = self.rng.choice(SECONDS_FAR + SECONDS_GONE + ["abc"])
        if self.chance(0.5):
            return ("SETEX", self.key(), seconds, self.value())
        return ("PSETEX", self.key(), seconds + "000", self.value())

    def getset_getdel(self):
        if self.chance(0.5):
            return ("GETSET", self.key(), self.value())
        return ("GETDEL", self.key())

    def getex(self):
        args = ["GETEX", self.key()]
        if self.chance(0.7):
            args += self.expiry_option()
            if args[-1] == "KEEPTTL":
                args[-1] = "PERSIST" if self.chance(0.8) else "KEEPTTL"
        return tuple(args)

    def mget(self):
        return ("MGET", *self.keys_n())

    def mset(self):
        pairs = []
        for k in self.keys_n(1, 3):
            pairs += [k, self.value()]
        if self.chance(0.05):
            pairs.pop()
        return (self.rng.choice(["MSET", "MSETNX"]), *pairs)

    def append_strlen(self):
        if self.chance(0.5):
            return ("APPEND", self.key(), self.rng.choice(["x", "yz", "", "1"]))
        return ("STRLEN", self.key())

    def ranges(self):
        small = lambda: str(self.rng.randint(-20, 20))
        if self.chance(0.5):
            return ("GETRANGE", self.key(), small(), self.rng.choice([small(), "-1", "100", "x"]))
        offset = self.rng.choice([str(self.rng.randint(0, 24)), "-1", "536870912", "x"])
        return ("SETRANGE", self.key(), offset, self.rng.choice(["ab", "", "Z", "12"]))

    def incr_family(self):
        name = self.rng.choice(["INCR", "DECR", "INCRBY", "DECRBY"])
        key = "num" if self.chance(0.5) else self.key()
        if name in ("INCR", "DECR"):
            return (name, key)
        return (name, key, self.integer())

    def incrbyfloat(self):
        key = "num" if self.chance(0.5) else self.key()
        return ("INCRBYFLOAT", key, self.rng.choice(FLOATS))

    # -- keys
    def del_exists(self):
        return (self.rng.choice(["DEL", "UNLINK", "EXISTS", "EXISTS"]), *self.keys_n())

    def type_touch(self):
        if self.chance(0.5):
            return ("TYPE", self.key())
        return ("TOUCH", *self.keys_n())

    def rename(self):
        return (self.rng.choice(["RENAME", "RENAMENX"]), self.key(), self.key())

    def copy(self):
        args = ["COPY", self.key(), self.key()]
        if self.chance(0.3):
            args += ["DB", self.rng.choice(["0", "1", "1", "16", "x"])]
        if self.chance(0.3):
            args.append("REPLACE")
        if self.chance(0.03):
            args.append("FOO")
        return tuple(args)

    def keys(self):
        return ("KEYS", self.rng.choice(PATTERNS))

    def scan(self):
        args = ["SCANALL"]
        if self.chance(0.5):
            args += ["MATCH", self.rng.choice(PATTERNS)]
        if self.chance(0.5):
            args += ["COUNT", self.rng.choice(["1", "2", "5", "100"])]
        if self.chance(0.3):
            args += ["TYPE", self.rng.choice(self.SCAN_TYPES)]
        if self.chance(0.05):
            return self.rng.choice([("SCAN", "x"), ("SCAN", "0", "COUNT", "0"), ("SCAN",)])
        return tuple(args)

    def ttl_read(self):
        return (self.rng.choice(["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"]), self.key())

    def expire(self):
        name = self.rng.choice(["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"])
        gone = self.chance(0.25)
        if name in ("EXPIRE", "PEXPIRE"):
            amount = self.rng.choice(SECONDS_GONE if gone else SECONDS_FAR)
            amount += "000" if name == "PEXPIRE" and not gone else ""
        else:
            at = FAR_FUTURE_S + self.rng.randint(0, 5)
            amount = self.rng.choice(["1", "0", "-3"]) if gone else str(at)
            amount += "000" if name == "PEXPIREAT" and not gone else ""
        if self.chance(0.04):
            amount = self.rng.choice(["abc", str(I64_MAX), "1.5"])
        args = [name, self.key(), amount]
        # GT and LT only with absolute times: a relative amount equal to the key's current one
        # compares "now + amount" with "earlier now + amount", which depends on the clock.
        absolute = name.endswith("AT")
        if self.chance(0.4):
            args.append(self.rng.choice(["NX", "XX", "GT", "LT"] if absolute else ["NX", "XX"]))
        if self.chance(0.05):
            args.append(self.rng.choice(["NX", "GT", "FOO"] if absolute else ["NX", "FOO"]))
        return tuple(args)

    def persist(self):
        return ("PERSIST", self.key())

    def randomkey(self):
        return ("RANDOMKEY",)

    def select(self):
        return ("SELECT", self.rng.choice(["0", "0", "0", "1", "16", "x"]))

    def dbsize(self):
        return ("DBSIZE",)

    def echo_ping(self):
        return self.rng.choice([("PING",), ("PING", "hi"), ("ECHO", self.value()), ("ECHO",)])

    def wrong_arity(self):
        return self.rng.choice([
            ("GET",), ("GET", "a", "b"), ("SET", self.key()), ("INCRBY", self.key()),
            ("EXPIRE", self.key()), ("DEL",), ("MGET",), ("RENAME", self.key()),
            ("GETRANGE", self.key(), "0"), ("TTL",), ("APPEND", self.key()), ("SETEX", "a", "1"),
        ])

    def unknown(self):
        return self.rng.choice([("NOSUCHCMD",), ("nosuchcmd", "a", "b"), ("GETT", self.key())])

    def transaction(self):
        if not self.in_multi:
            self.in_multi, self.queued = True, 0
            return ("MULTI",)
        choice = self.rng.random()
        if choice < 0.1:
            return ("MULTI",)  # nested: an error that does not end the transaction
        self.in_multi, self.queued = False, 0
        return ("EXEC",) if choice < 0.8 else ("DISCARD",)

    def watch(self):
        if self.chance(0.25):
            return ("UNWATCH",)
        return ("WATCH", *self.keys_n(1, 2))

    def other_write(self):
        return Step("other", self.rng.choice([
            ("SET", self.key(), self.value()),
            ("DEL", self.key()),
            ("INCR", "num"),
            ("EXPIRE", self.key(), self.rng.choice(SECONDS_FAR)),
            ("GET", self.key()),
        ]))

    def flush(self):
        return (self.rng.choice(["FLUSHDB", "FLUSHALL"]),)
