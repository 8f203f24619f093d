"""Seeded random command streams over hashes, sets, sorted sets and lists.

`TypedMix(rng, types, count)` extends the string stream of random_commands with the commands of the
given types (issue 7's lists), on the same small key pool, so keys change type and every command
meets keys of every other type (WRONGTYPE). A stream of one type adds only SET/GET/INCR and the
keyspace commands to its type, so it runs on a server that has strings and that one type; the
mixed stream has everything, MULTI/EXEC included, queued commands of all types together.

Pools are small so commands hit existing members: numeric-looking members (`007`, `-0`, `1e-3`,
`inf`, 64-bit limits), binary ones (`\\x00\\xff`), the empty string and spaces.

Rules the runner relies on:
- Lexicographic commands (BYLEX, ZRANGEBYLEX, ZLEXCOUNT, ZREMRANGEBYLEX) run only on LEX_KEYS,
  whose members all have score 0: Redis leaves their result unspecified when scores differ.
  Nothing writes a non-zero score there (ZADD uses 0, the store commands write into a lex key
  only from lex keys), and the keyspace commands never rename or copy onto them.
- SPOP, SRANDMEMBER, HRANDFIELD and ZRANDMEMBER have random replies; inside MULTI each is the
  last queued command (random_commands.ENDS_MULTI), so the runner can check it.
- `HSCANALL key [MATCH p] [COUNT n]` (and SSCANALL, ZSCANALL) is a full HSCAN iteration that the
  runner compares as the sorted union, like SCANALL.
- Blocking commands (TypedMix.blocking) never wait for data that may or may not be there: they
  block only on BLOCK_KEYS, which are empty, and are then woken by the other client's push (the
  Step's `push`) or time out after 10 ms, at most once per TIMEOUT_WAIT_EVERY commands (Redis
  checks timeouts every 100 ms, so each such wait costs 0.1 s).
"""

from __future__ import annotations

import random

from random_commands import FLOATS, I64_MAX, I64_MIN, KEYS, CommandMix, Step

TYPES = ("hash", "set", "zset", "list")
LEX_KEYS = ["lex0", "lex1"]
BLOCK_KEYS = ["blk0", "blk1"]  # empty lists between steps: see TypedMix.blocking
STORE_KEYS = ["k5", "{t}a"]  # where most STORE commands write
TIMEOUT_WAIT_EVERY = 1000
WAKE_TIMEOUT_S = "2"
EXPIRED_TIMEOUT_S = "0.01"

FIELDS = ["f0", "f1", "f2", "f3", "n", "1", "-1", "10", "", "a b", "\x00\xff", "1e-3"]
MEMBERS = ["a", "b", "c", "1", "2", "10", "-1", "0", "007", "-0", "1e-3", "inf", "", "x y",
           "\x00\xff", str(I64_MAX), str(I64_MIN)]
ZMEMBERS = ["a", "b", "c", "1", "2", "10", "-0", "1e-3", "inf", "", "x y", "\x00\xff"]
SCORES = ["0", "1", "-1", "2", "2.5", "10", "1e-3", "-0", "0.1", "-2.25", "3", "+inf", "-inf",
          "inf", "1e308", "-1e308", "5e-324", "1e3", "-INF"]
BAD_SCORES = ["abc", "nan", "1e400", "1e-400", "", "(1", "1 ", " 1"]
SCORE_BOUNDS = ["-inf", "+inf", "inf", "0", "1", "(1", "2.5", "(2.5", "-1", "(-1", "(-inf",
                "(+inf", "1e-3", "(0", "-0", "10", "(10", "3", "-2.25"]
BAD_SCORE_BOUNDS = ["abc", "(", "nan", "[1", "(abc", ""]
LEX_MEMBERS = ["a", "aa", "ab", "b", "ba", "c", "", "1", "10", "2", "A", "\x00", "\xff", "a b",
               "-", "+", "[", "("]
LEX_BOUNDS = ["-", "+", "[a", "(a", "[aa", "(ab", "[b", "(b", "[c", "(c", "[", "(", "[1", "(10",
              "[\xff", "(\x00", "[-", "(+", "[a b"]
BAD_LEX_BOUNDS = ["a", "", "b", "{a", "-1"]
ELEMENTS = ["a", "b", "c", "1", "2", "10", "", "x y", "\x00\xff", "-0", "1e-3"]
MEMBER_PATTERNS = ["*", "a*", "?", "1*", "*e*", "[a-c]*", "f?", "\\*", "x y"]
COUNTS = ["0", "1", "2", "3", "5", "-1", "-2", "-5"]
BAD_COUNTS = ["x", str(I64_MIN), "1.5"]
CATEGORY_OF = {}  # command name -> "hash" | "set" | ... | "string" | "keyspace" | "other"


def _categorize(category: str, names: str) -> None:
    for name in names.split():
        CATEGORY_OF[name] = category


_categorize("hash", "HSET HSETNX HGET HMGET HGETALL HDEL HLEN HEXISTS HKEYS HVALS HINCRBY "
                    "HINCRBYFLOAT HSTRLEN HRANDFIELD HSCAN HSCANALL")
_categorize("set", "SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP SRANDMEMBER SMOVE SINTER "
                   "SINTERCARD SUNION SDIFF SINTERSTORE SUNIONSTORE SDIFFSTORE SSCAN SSCANALL")
_categorize("zset", "ZADD ZINCRBY ZREM ZSCORE ZMSCORE ZCARD ZCOUNT ZLEXCOUNT ZRANGE ZRANGESTORE "
                    "ZREVRANGE ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX ZRANK "
                    "ZREVRANK ZPOPMIN ZPOPMAX ZREMRANGEBYRANK ZREMRANGEBYSCORE ZREMRANGEBYLEX "
                    "ZUNION ZINTER ZDIFF ZUNIONSTORE ZINTERSTORE ZDIFFSTORE ZRANDMEMBER ZSCAN "
                    "ZSCANALL")
_categorize("list", "LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LRANGE LINDEX LSET LINSERT LREM "
                    "LTRIM LPOS LMOVE RPOPLPUSH BLPOP BRPOP BLMOVE")
_categorize("string", "GET SET SETNX SETEX PSETEX GETSET GETDEL GETEX MGET MSET MSETNX APPEND "
                      "STRLEN GETRANGE SETRANGE INCR DECR INCRBY DECRBY INCRBYFLOAT")
_categorize("keyspace", "DEL UNLINK EXISTS TYPE TOUCH RENAME RENAMENX COPY KEYS SCAN SCANALL TTL "
                        "PTTL EXPIRETIME PEXPIRETIME EXPIRE PEXPIRE EXPIREAT PEXPIREAT PERSIST "
                        "RANDOMKEY SELECT DBSIZE FLUSHDB FLUSHALL")
_categorize("transaction", "MULTI EXEC DISCARD WATCH UNWATCH")
_categorize("connection", "PING ECHO")


def score_order(bound: str) -> float:
    """Where a score bound (`1.5`, `(1.5`, `-inf`) falls; ValueError if it is malformed."""
    return float(bound[1:] if bound.startswith("(") else bound)


def lex_order(bound: str) -> tuple:
    """Where a lex bound (`-`, `+`, `[a`, `(a`) falls; ValueError if it is malformed."""
    if bound in ("-", "+"):
        return (bound == "+", 0, b"")
    if bound[:1] not in ("[", "("):
        raise ValueError(bound)
    return (False, 1, bound[1:].encode())


def category(args: tuple) -> str:
    """The data type (or "keyspace", "transaction", "connection", "other": unknown commands)
    a command belongs to."""
    return CATEGORY_OF.get(args[0].upper(), "other")


class TypedMix(CommandMix):
    """The string stream's machinery with the commands of `types` (a subset of TYPES).

    With all four types the stream is the mixed one: every string command too. With fewer, the
    strings are reduced to what makes WRONGTYPE and keyspace cases (SET, GET, INCR, APPEND).
    """

    SCAN_TYPES = ("string", "hash", "set", "zset", "list", "none", "foo")

    def __init__(self, rng: random.Random, types: tuple[str, ...], count_hint: int):
        super().__init__(rng)
        self.types = types
        self.timeout_waits_left = max(1, count_hint // TIMEOUT_WAIT_EVERY)
        mixed = set(types) == set(TYPES)
        generators = [
            (3, self.del_exists), (3, self.type_touch), (3, self.rename), (3, self.copy),
            (1, self.keys), (2, self.scan), (3, self.ttl_read), (3, self.expire),
            (1, self.persist), (1, self.select), (1, self.randomkey), (1, self.dbsize),
            (6 if mixed else 3, self.transaction), (2, self.watch), (4, self.other_write),
            (0.2, self.flush), (1, self.unknown),
        ]
        if mixed:
            generators += [
                (4, self.get), (5, self.set), (1, self.setnx), (1, self.setex),
                (1, self.getset_getdel), (2, self.getex), (2, self.mget), (2, self.mset),
                (2, self.append_strlen), (2, self.ranges), (4, self.incr_family),
                (2, self.incrbyfloat), (1, self.echo_ping), (1, self.wrong_arity),
            ]
        else:
            generators += [(3, self.get), (2, self.set), (1, self.incr_family),
                           (1, self.append_strlen)]
        per_type = {"hash": self.hash_generators, "set": self.set_generators,
                    "zset": self.zset_generators, "list": self.list_generators}
        for name in types:
            generators += per_type[name]()
        self.generators = generators
        self.weights = [w for w, _ in generators]

    # -- shared helpers
    def dst_key(self) -> str:
        """A destination of a STORE command, which deletes it when the result is empty: mostly
        from a part of the pool, so the other keys keep their collections longer."""
        return self.rng.choice(STORE_KEYS) if self.chance(0.7) else self.key()

    def pick(self, pool: list[str], n_low: int = 1, n_high: int = 3) -> list[str]:
        return [self.rng.choice(pool) for _ in range(self.rng.randint(n_low, n_high))]

    def count_arg(self) -> str:
        return self.rng.choice(BAD_COUNTS) if self.chance(0.04) else self.rng.choice(COUNTS)

    def small_index(self) -> str:
        if self.chance(0.05):
            return self.rng.choice(["x", "100", "-100", str(I64_MAX), str(I64_MIN), ""])
        return str(self.rng.randint(-4, 4))

    def scan_all(self, name: str, key: str, patterns: list[str]) -> tuple:
        if self.chance(0.05):
            return self.rng.choice([(name[:-3], key, "x"), (name[:-3], key, "0", "COUNT", "0"),
                                    (name[:-3], key), (name[:-3], key, "0", "MATCH")])
        args = [name, key]
        if self.chance(0.4):
            args += ["MATCH", self.rng.choice(patterns)]
        if self.chance(0.4):
            args += ["COUNT", self.rng.choice(["1", "2", "10"])]
        return tuple(args)

    def other_write(self):
        """The other client writes strings, or three times in four one of the stream's types."""
        if self.chance(0.25):
            return super().other_write()
        kind = self.rng.choice(self.types)
        key = self.key()
        command = {
            "hash": ("HSET", key, self.rng.choice(FIELDS), self.value()),
            "set": ("SADD", key, self.rng.choice(MEMBERS)),
            "zset": ("ZADD", key, self.rng.choice(SCORES), self.rng.choice(ZMEMBERS)),
            "list": (self.rng.choice(["LPUSH", "RPUSH"]), key, self.rng.choice(ELEMENTS)),
        }[kind]
        return Step("other", command)

    # -- hashes
    def hash_generators(self):
        return [
            (10, self.hset), (2, self.hsetnx), (6, self.hget), (3, self.hmget), (3, self.hgetall),
            (4, self.hdel), (2, self.hlen), (2, self.hexists), (3, self.hkeys_hvals),
            (4, self.hincrby), (3, self.hincrbyfloat), (2, self.hstrlen), (4, self.hrandfield),
            (3, self.hscan), (1, self.hash_wrong_arity),
        ]

    def field(self) -> str:
        return self.rng.choice(FIELDS)

    def hset(self):
        pairs = []
        for f in self.pick(FIELDS, 1, 4):
            pairs += [f, self.value()]
        if self.chance(0.04):
            pairs.pop()
        return ("HSET", self.key(), *pairs)

    def hsetnx(self):
        return ("HSETNX", self.key(), self.field(), self.value())

    def hget(self):
        return ("HGET", self.key(), self.field())

    def hmget(self):
        return ("HMGET", self.key(), *self.pick(FIELDS, 1, 4))

    def hgetall(self):
        return ("HGETALL", self.key())

    def hdel(self):
        return ("HDEL", self.key(), *self.pick(FIELDS, 1, 3))

    def hlen(self):
        return ("HLEN", self.key())

    def hexists(self):
        return ("HEXISTS", self.key(), self.field())

    def hkeys_hvals(self):
        return (self.rng.choice(["HKEYS", "HVALS"]), self.key())

    def hincrby(self):
        field = "n" if self.chance(0.5) else self.field()
        return ("HINCRBY", self.key(), field, self.integer())

    def hincrbyfloat(self):
        field = "n" if self.chance(0.5) else self.field()
        return ("HINCRBYFLOAT", self.key(), field, self.rng.choice(FLOATS))

    def hstrlen(self):
        return ("HSTRLEN", self.key(), self.field())

    def hrandfield(self):
        args = ["HRANDFIELD", self.key()]
        if self.chance(0.7):
            args.append(self.count_arg())
            if self.chance(0.5):
                args.append("WITHVALUES")
        elif self.chance(0.1):
            args.append("WITHVALUES")
        if self.chance(0.03):
            args.append("FOO")
        return tuple(args)

    def hscan(self):
        return self.scan_all("HSCANALL", self.key(), ["*", "f*", "f?", "1*", "*e*", "[a-f]*", "n"])

    def hash_wrong_arity(self):
        return self.rng.choice([
            ("HSET", self.key()), ("HSET", self.key(), "f"), ("HGET", self.key()),
            ("HMGET", self.key()), ("HDEL", self.key()), ("HINCRBY", self.key(), "f"),
            ("HSETNX", self.key(), "f"), ("HGETALL",), ("HLEN", "a", "b"),
            ("HRANDFIELD",), ("HSCAN", self.key()),
        ])

    # -- sets
    def set_generators(self):
        return [
            (10, self.sadd), (4, self.srem), (3, self.smembers), (3, self.sismember),
            (2, self.smismember), (2, self.scard), (3, self.spop), (3, self.srandmember),
            (3, self.smove), (4, self.set_algebra), (2, self.sintercard), (4, self.set_store),
            (2, self.sscan), (1, self.set_wrong_arity),
        ]

    def member(self) -> str:
        return self.rng.choice(MEMBERS)

    def sadd(self):
        return ("SADD", self.key(), *self.pick(MEMBERS, 1, 5))

    def srem(self):
        return ("SREM", self.key(), *self.pick(MEMBERS, 1, 3))

    def smembers(self):
        return ("SMEMBERS", self.key())

    def sismember(self):
        return ("SISMEMBER", self.key(), self.member())

    def smismember(self):
        return ("SMISMEMBER", self.key(), *self.pick(MEMBERS, 1, 4))

    def scard(self):
        return ("SCARD", self.key())

    def spop(self):
        args = ["SPOP", self.key()]
        if self.chance(0.6):
            args.append(self.rng.choice(["0", "1", "2", "3", "5", "10", "-1"]
                                        if self.chance(0.95) else BAD_COUNTS))
        if self.chance(0.02):
            args.append("1")
        return tuple(args)

    def srandmember(self):
        args = ["SRANDMEMBER", self.key()]
        if self.chance(0.7):
            args.append(self.count_arg())
        if self.chance(0.02):
            args.append("1")
        return tuple(args)

    def smove(self):
        return ("SMOVE", self.key(), self.key(), self.member())

    def set_algebra(self):
        return (self.rng.choice(["SINTER", "SUNION", "SDIFF"]), *self.keys_n(1, 3))

    def sintercard(self):
        keys = self.keys_n(1, 3)
        numkeys = str(len(keys))
        if self.chance(0.08):
            numkeys = self.rng.choice(["0", "-1", "x", str(len(keys) + 1)])
        args = ["SINTERCARD", numkeys, *keys]
        if self.chance(0.4):
            args += ["LIMIT", self.rng.choice(["0", "1", "2", "5", "-1", "x"])]
        return tuple(args)

    def set_store(self):
        name = self.rng.choice(["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"])
        return (name, self.dst_key(), *self.keys_n(1, 3))

    def sscan(self):
        return self.scan_all("SSCANALL", self.key(), MEMBER_PATTERNS)

    def set_wrong_arity(self):
        return self.rng.choice([
            ("SADD", self.key()), ("SREM", self.key()), ("SISMEMBER", self.key()),
            ("SMISMEMBER", self.key()), ("SMOVE", self.key(), self.key()), ("SINTER",),
            ("SINTERSTORE", self.key()), ("SINTERCARD",), ("SPOP",), ("SCARD",),
        ])

    # -- sorted sets
    def zset_generators(self):
        return [
            (12, self.zadd), (3, self.zincrby), (3, self.zrem), (3, self.zscore),
            (2, self.zmscore), (2, self.zcard), (3, self.zcount), (8, self.zrange),
            (2, self.zrangestore), (2, self.zrevrange), (3, self.zrangebyscore),
            (3, self.zrank), (2, self.zpop), (2, self.zremrange), (7, self.zset_algebra),
            (3, self.zrandmember), (2, self.zscan), (4, self.lex_write), (5, self.lex_read),
            (1, self.zset_wrong_arity),
        ]

    def zmember(self) -> str:
        return self.rng.choice(ZMEMBERS)

    def zread_key(self) -> str:
        """A key for a command that does not write scores: the lex keys too."""
        return self.rng.choice(LEX_KEYS) if self.chance(0.2) else self.key()

    def score(self) -> str:
        return self.rng.choice(BAD_SCORES) if self.chance(0.03) else self.rng.choice(SCORES)

    def score_bound(self) -> str:
        if self.chance(0.03):
            return self.rng.choice(BAD_SCORE_BOUNDS)
        return self.rng.choice(SCORE_BOUNDS)

    def lex_bound(self) -> str:
        return self.rng.choice(BAD_LEX_BOUNDS) if self.chance(0.03) else self.rng.choice(LEX_BOUNDS)

    def bounds(self, kind: str, rev: bool) -> list[str]:
        """Two score ("BYSCORE") or lex ("BYLEX") bounds, mostly in the order that can select
        something (min max, or max min with REV), else as drawn."""
        draw, order = ((self.score_bound, score_order) if kind == "BYSCORE"
                       else (self.lex_bound, lex_order))
        pair = [draw(), draw()]
        if self.chance(0.75):
            try:
                pair.sort(key=order, reverse=rev)
            except ValueError:
                pass  # a malformed bound: keep the order drawn
        return pair

    def limit(self) -> list[str]:
        return ["LIMIT", self.rng.choice(["0", "1", "2", "5", "-1"]),
                self.rng.choice(["-1", "0", "1", "2", "3", "10"])]

    def zadd_options(self) -> list[str]:
        options = []
        if self.chance(0.3):
            options.append(self.rng.choice(["NX", "XX"]))
        if self.chance(0.3):
            options.append(self.rng.choice(["GT", "LT"]))
        if self.chance(0.3):
            options.append("CH")
        if self.chance(0.03):
            options.append(self.rng.choice(["NX", "XX", "GT", "LT"]))
        self.rng.shuffle(options)
        return options

    def zadd(self):
        args = ["ZADD", self.key(), *self.zadd_options()]
        if self.chance(0.2):
            args.append("INCR")
            n_pairs = 2 if self.chance(0.05) else 1
        else:
            n_pairs = self.rng.randint(1, 6)
        for _ in range(n_pairs):
            args += [self.score(), self.zmember()]
        if self.chance(0.03):
            args.pop()
        return tuple(args)

    def zincrby(self):
        return ("ZINCRBY", self.key(), self.score(), self.zmember())

    def zrem(self):
        return ("ZREM", self.zread_key(), *self.pick(ZMEMBERS + LEX_MEMBERS, 1, 3))

    def zscore(self):
        return ("ZSCORE", self.zread_key(), self.zmember())

    def zmscore(self):
        return ("ZMSCORE", self.zread_key(), *self.pick(ZMEMBERS, 1, 4))

    def zcard(self):
        return ("ZCARD", self.zread_key())

    def zcount(self):
        return ("ZCOUNT", self.zread_key(), *self.bounds("BYSCORE", False))

    def zrange_args(self, key_for_lex: bool) -> list[str]:
        """ZRANGE's arguments after the key: by rank, BYSCORE or BYLEX, REV, LIMIT, WITHSCORES."""
        by = "BYLEX" if key_for_lex else self.rng.choice(["", "", "BYSCORE"])
        rev = self.chance(0.3)
        if by:
            args = [*self.bounds(by, rev), by]
        else:
            args = [self.small_index(), self.small_index()]
        if rev:
            args.append("REV")
        if self.chance(0.4 if by else 0.03):
            args += self.limit()
        if self.chance(0.4 if by != "BYLEX" else 0.03):
            args.append("WITHSCORES")
        if self.chance(0.1):
            options = args[2:]
            self.rng.shuffle(options)
            args[2:] = options
        return args

    def zrange(self):
        key = self.zread_key()
        return ("ZRANGE", key, *self.zrange_args(key in LEX_KEYS and self.chance(0.8)))

    def zrangestore(self):
        key = self.zread_key()
        args = self.zrange_args(key in LEX_KEYS and self.chance(0.8))
        args = [a for a in args if a != "WITHSCORES" or self.chance(0.1)]
        return ("ZRANGESTORE", self.dst_key(), key, *args)

    def zrevrange(self):
        args = ["ZREVRANGE", self.zread_key(), self.small_index(), self.small_index()]
        if self.chance(0.4):
            args.append("WITHSCORES")
        return tuple(args)

    def zrangebyscore(self):
        name = self.rng.choice(["ZRANGEBYSCORE", "ZREVRANGEBYSCORE"])
        args = [name, self.zread_key(), *self.bounds("BYSCORE", name.startswith("ZREV"))]
        if self.chance(0.4):
            args.append("WITHSCORES")
        if self.chance(0.4):
            args += self.limit()
        return tuple(args)

    def zrank(self):
        key = self.zread_key()
        member = self.rng.choice(LEX_MEMBERS if key in LEX_KEYS else ZMEMBERS)
        return (self.rng.choice(["ZRANK", "ZREVRANK"]), key, member)

    def zpop(self):
        args = [self.rng.choice(["ZPOPMIN", "ZPOPMAX"]), self.zread_key()]
        if self.chance(0.5):
            args.append(self.rng.choice(["0", "1", "2", "5", "-1", "x"]))
        return tuple(args)

    def zremrange(self):
        kind = self.rng.choice(["RANK", "SCORE", "LEX"])
        if kind == "RANK":
            return ("ZREMRANGEBYRANK", self.zread_key(), self.small_index(), self.small_index())
        if kind == "SCORE":
            return ("ZREMRANGEBYSCORE", self.zread_key(), *self.bounds("BYSCORE", False))
        return ("ZREMRANGEBYLEX", self.rng.choice(LEX_KEYS), *self.bounds("BYLEX", False))

    def zset_algebra(self):
        """ZUNION/ZINTER/ZDIFF and their STORE forms. Sources may be sets (score 1); a lex key
        is a destination only when every source is a lex key, so its scores stay 0."""
        name = self.rng.choice(["ZUNION", "ZINTER", "ZDIFF"])
        store = self.chance(0.5)
        lex = self.chance(0.2)
        pool = LEX_KEYS if lex else KEYS
        keys = [self.rng.choice(pool) for _ in range(self.rng.randint(1, 3))]
        numkeys = str(len(keys))
        if self.chance(0.05):
            numkeys = self.rng.choice(["0", "-1", "x", str(len(keys) + 1)])
        args = [name + ("STORE" if store else "")]
        if store:
            args.append(self.rng.choice(LEX_KEYS) if lex else self.dst_key())
        args += [numkeys, *keys]
        if name != "ZDIFF" or self.chance(0.03):
            if self.chance(0.3):
                weights = ["1", "2", "-1", "0", "1.5", "inf", "-inf", "1e-3"]
                if lex:
                    weights = ["1", "2", "0", "inf"]  # 0 * anything stays 0 (NaN becomes 0)
                args += ["WEIGHTS", *(self.rng.choice(weights) for _ in keys)]
                if self.chance(0.03):
                    args[-1] = self.rng.choice(["x", "nan"])
                elif self.chance(0.03):
                    args.pop()  # one weight short
            if self.chance(0.3):
                args += ["AGGREGATE", self.rng.choice(["SUM", "MIN", "MAX", "MAX", "AVG"])]
        if not store and self.chance(0.4):
            args.append("WITHSCORES")
        if store and self.chance(0.02):
            args.append("WITHSCORES")
        return tuple(args)

    def zrandmember(self):
        args = ["ZRANDMEMBER", self.zread_key()]
        if self.chance(0.7):
            args.append(self.count_arg())
            if self.chance(0.5):
                args.append("WITHSCORES")
        elif self.chance(0.1):
            args.append("WITHSCORES")
        return tuple(args)

    def zscan(self):
        return self.scan_all("ZSCANALL", self.zread_key(), MEMBER_PATTERNS)

    def lex_write(self):
        """Score-0 writes to the lex keys (and an occasional type change or delete)."""
        key = self.rng.choice(LEX_KEYS)
        choice = self.rng.random()
        if choice < 0.6:
            options = [o for o in self.zadd_options() if self.chance(0.5)]
            args = ["ZADD", key, *options]
            for m in self.pick(LEX_MEMBERS, 1, 3):
                args += ["0", m]
            return tuple(args)
        if choice < 0.75:
            return ("ZINCRBY", key, "0", self.rng.choice(LEX_MEMBERS))
        if choice < 0.85:
            return ("ZREM", key, *self.pick(LEX_MEMBERS, 1, 2))
        if choice < 0.92:
            return ("DEL", key)
        if choice < 0.96:
            return ("SET", key, "s")
        return ("EXPIRE", key, self.rng.choice(["0", "100000"]))

    def lex_read(self):
        key = self.rng.choice(LEX_KEYS)
        name = self.rng.choice(["ZRANGE", "ZRANGEBYLEX", "ZREVRANGEBYLEX", "ZLEXCOUNT",
                                "ZRANGESTORE"])
        if name == "ZRANGE":
            return ("ZRANGE", key, *self.zrange_args(True))
        if name == "ZRANGESTORE":
            dst = self.rng.choice(LEX_KEYS) if self.chance(0.3) else self.dst_key()
            return ("ZRANGESTORE", dst, key, *self.zrange_args(True))
        args = [name, key, *self.bounds("BYLEX", name.startswith("ZREV"))]
        if name != "ZLEXCOUNT" and self.chance(0.4):
            args += self.limit()
        return tuple(args)

    def zset_wrong_arity(self):
        return self.rng.choice([
            ("ZADD", self.key()), ("ZADD", self.key(), "1"), ("ZINCRBY", self.key(), "1"),
            ("ZRANGE", self.key(), "0"), ("ZSCORE", self.key()), ("ZCOUNT", self.key(), "0"),
            ("ZRANK", self.key()), ("ZRANK", self.key(), "a", "WITHSCORE"),
            ("ZUNIONSTORE", self.key()), ("ZPOPMIN",), ("ZMSCORE", self.key()),
            ("ZRANGEBYLEX", "lex0", "-"), ("ZRANDMEMBER",),
        ])

    # -- lists
    def list_generators(self):
        return [
            (10, self.push), (5, self.pop), (2, self.llen), (4, self.lrange), (3, self.lindex),
            (2, self.lset), (3, self.linsert), (3, self.lrem), (2, self.ltrim), (4, self.lpos),
            (3, self.lmove), (4, self.blocking), (1, self.list_wrong_arity),
        ]

    def element(self) -> str:
        return self.rng.choice(ELEMENTS)

    def push(self):
        name = self.rng.choice(["LPUSH", "RPUSH", "LPUSH", "RPUSH", "LPUSHX", "RPUSHX"])
        return (name, self.key(), *self.pick(ELEMENTS, 1, 4))

    def pop(self):
        args = [self.rng.choice(["LPOP", "RPOP"]), self.key()]
        if self.chance(0.5):
            args.append(self.rng.choice(["0", "1", "2", "3", "10", "-1", "x"]))
        return tuple(args)

    def llen(self):
        return ("LLEN", self.key())

    def lrange(self):
        return ("LRANGE", self.key(), self.small_index(), self.small_index())

    def lindex(self):
        return ("LINDEX", self.key(), self.small_index())

    def lset(self):
        return ("LSET", self.key(), self.small_index(), self.element())

    def linsert(self):
        where = self.rng.choice(["BEFORE", "AFTER", "before"] + (["MIDDLE"] if self.chance(0.05)
                                                                   else []))
        return ("LINSERT", self.key(), where, self.element(), self.element())

    def lrem(self):
        return ("LREM", self.key(), str(self.rng.randint(-3, 3)), self.element())

    def ltrim(self):
        return ("LTRIM", self.key(), self.small_index(), self.small_index())

    def lpos(self):
        args = ["LPOS", self.key(), self.element()]
        options = []
        if self.chance(0.4):
            options += ["RANK", self.rng.choice(["1", "2", "-1", "-2", "3", "0", "x",
                                                 str(I64_MIN)] if self.chance(0.2) else
                                                ["1", "2", "-1", "-2"])]
        if self.chance(0.4):
            options += ["COUNT", self.rng.choice(["0", "1", "2", "5"] + (["-1", "x"]
                                                 if self.chance(0.2) else []))]
        if self.chance(0.3):
            options += ["MAXLEN", self.rng.choice(["0", "1", "2", "4"] + (["-1"]
                                                  if self.chance(0.2) else []))]
        if self.chance(0.03):
            options.append(self.rng.choice(["RANK", "FOO"]))
        return tuple(args + options)

    def direction(self) -> str:
        return self.rng.choice(["LEFT", "RIGHT", "left"] + (["UP"] if self.chance(0.03) else []))

    def lmove(self):
        if self.chance(0.3):
            return ("RPOPLPUSH", self.key(), self.key())
        return ("LMOVE", self.key(), self.key(), self.direction(), self.direction())

    def blocking(self):
        """BLPOP, BRPOP and BLMOVE. A blocked command and a push from another client race (which
        is served first changes the replies when the list already has data), so the forms that
        may block use BLOCK_KEYS, which are empty between steps (a DEL follows each form):
        - present: the main client pushes to a block key first, so the command never blocks
          (earlier keys in its list, from the common pool, may be served or be WRONGTYPE first);
        - woken: the command blocks on empty block keys and the other client's push wakes it
          (pushed before it blocked, the reply is the same);
        - timeout: on empty block keys with a 10 ms timeout, a null reply (rationed: see above);
        - inside MULTI, on any keys with any timeout, where it never blocks; and bad timeouts.
        """
        name = self.rng.choice(["BLPOP", "BRPOP", "BLMOVE"])
        if self.in_multi:
            keys = self.blocking_keys(name, self.keys_n(1, 3), self.key())
            return (name, *keys, self.rng.choice(["0", "0.01", "1"]))
        if self.chance(0.05):
            keys = self.blocking_keys(name, self.keys_n(1, 2), self.key())
            return (name, *keys, self.rng.choice(["-1", "x", "nan", "inf", "", "1e30"]))
        block_keys = self.rng.sample(BLOCK_KEYS, self.rng.randint(1, len(BLOCK_KEYS)))
        pushed = block_keys[0]
        dst = self.rng.choice(KEYS + BLOCK_KEYS)
        form = self.rng.random()
        if form < 0.1 and self.timeout_waits_left:
            self.timeout_waits_left -= 1
            return (name, *self.blocking_keys(name, block_keys, dst), EXPIRED_TIMEOUT_S)
        push = (self.rng.choice(["LPUSH", "RPUSH"]), pushed, *self.pick(ELEMENTS, 1, 2))
        clean_up = ("DEL", *BLOCK_KEYS)
        if form < 0.5:
            keys = [pushed] + self.keys_n(0, 2)
            self.rng.shuffle(keys)
            command = (name, *self.blocking_keys(name, keys, dst), WAKE_TIMEOUT_S)
            return [push, command, clean_up]
        command = (name, *self.blocking_keys(name, block_keys, dst), WAKE_TIMEOUT_S)
        return [Step("main", command, push), clean_up]

    def blocking_keys(self, name: str, keys: list[str], dst: str) -> list[str]:
        """BLPOP/BRPOP's keys, or for BLMOVE the source (the first key), `dst` and directions."""
        if name != "BLMOVE":
            return keys
        src = next((k for k in keys if k in BLOCK_KEYS), keys[0])
        return [src, dst, self.direction(), self.direction()]

    def list_wrong_arity(self):
        return self.rng.choice([
            ("LPUSH", self.key()), ("LPOP",), ("LRANGE", self.key(), "0"), ("LINDEX", self.key()),
            ("LSET", self.key(), "0"), ("LINSERT", self.key(), "BEFORE", "a"),
            ("LREM", self.key(), "0"), ("LPOS", self.key()), ("LMOVE", self.key(), self.key()),
            ("BLPOP", self.key()), ("BLMOVE", self.key(), self.key(), "LEFT", "LEFT"),
            ("RPOPLPUSH", self.key()), ("LPOP", self.key(), "1", "2"),
        ])
