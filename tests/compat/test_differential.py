"""Differential test: the same seeded command stream to a real redis-server and to the server
under test, every reply compared.

Streams: `strings` (strings and the keyspace, random_commands), one per data type (`hash`,
`set`, `zset`, `list`: that type, the keyspace and a few string writes, random_types) and `mixed`
(every type, transactions across types). Each runs over RESP2 and RESP3. Run one stream with
`-k hash`, `-k list`, `-k zset`, `-k "set and not zset"`, `-k mixed`, `-k strings`.

Replies are compared by wire type and value (resp_wire keeps `+OK` apart from `$2 OK`), with the
exceptions in reply_rules: unordered replies sorted, TTL readings within a tolerance, random
replies by shape and validity. SCAN, HSCAN, SSCAN and ZSCAN are compared as the sorted union of
a full iteration, since cursors and page boundaries are the server's own business. After SPOP
the runner makes the target's set equal to Redis's again (resync_spop). At the end every key of
the checked databases is compared: type, content and whether it has a TTL.

Replay a failure with the LODE_SEED it prints; LODE_TEST_SCALE multiplies the command count.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from random_commands import CommandMix, Step
from random_types import CATEGORY_OF, TYPES, TypedMix, category
from reply_rules import (RANDOM, content_command, content_of, pairs, payloads,
                         random_reply_problem, replies_match)
from resp_wire import RespConnection, is_error

COMMANDS_PER_RUN = 2500
TYPED_COMMANDS_PER_RUN = 3000
SCAN_CALLS_MAX = 10_000
HISTORY_SHOWN = 20
DATABASES_CHECKED = ("0", "1")
# Commands that are not queued inside MULTI (they act at once).
NOT_QUEUED = {"MULTI", "EXEC", "DISCARD", "WATCH", "QUIT", "RESET"}
SCANS = {"SCANALL": "SCAN", "HSCANALL": "HSCAN", "SSCANALL": "SSCAN", "ZSCANALL": "ZSCAN"}
STREAMS = ("strings", "hash", "set", "zset", "list", "mixed")


def stream_steps(stream: str, seed: int, protocol: int, count: int) -> list[Step]:
    if stream == "strings":
        return CommandMix(random.Random(seed * 10 + protocol)).steps(count)
    types = TYPES if stream == "mixed" else (stream,)
    rng = random.Random(f"{stream}:{seed}:{protocol}")
    return TypedMix(rng, types, count).steps(count)


class Side:
    """One server as the stream sees it: the main client and the other (writing) client."""

    def __init__(self, port: int, protocol: int):
        self.conns = {name: RespConnection(port) for name in ("main", "other")}
        for conn in self.conns.values():
            if protocol == 3:
                assert conn.call("HELLO", "3")[0] == "map"
        assert self.conns["main"].call("FLUSHALL") == ("simple", b"OK")
        self.main_db = "0"  # the other client stays in database 0

    def close(self) -> None:
        for conn in self.conns.values():
            conn.close()

    def run(self, step: Step):
        conn = self.conns[step.conn]
        name = step.args[0].upper()
        if step.push:
            return self.run_woken(step)
        if name in SCANS:
            return scan_all(conn, SCANS[name], step.args[1:])
        if name == "DBSIZE":
            scan_all(conn, "SCAN", ())  # reclaim expired keys first: see random_commands
        reply = conn.call(*step.args)
        if step.conn == "main" and name == "SELECT" and reply == ("simple", b"OK"):
            self.main_db = step.args[1]
        return reply

    def run_woken(self, step: Step):
        """A blocking command, then a push by the other client in the same database, which wakes
        it if it blocked (either order gives the same replies). Both replies, as one array."""
        main, other = self.conns["main"], self.conns["other"]
        main.send(*step.args)
        if self.main_db != "0":
            assert other.call("SELECT", self.main_db) == ("simple", b"OK")
        pushed = other.call(*step.push)
        if self.main_db != "0":
            assert other.call("SELECT", "0") == ("simple", b"OK")
        return ("woken", main.read(), pushed)


def scan_all(conn: RespConnection, command: str, args: tuple):
    """A full SCAN (or HSCAN key, ...) iteration as one comparable reply: ("scanall", the sorted
    union of its elements, pairs for HSCAN and ZSCAN) or the first error."""
    key, options = (args[:1], args[1:]) if command != "SCAN" else ((), args)
    cursor, items = b"0", set()
    for _ in range(SCAN_CALLS_MAX):
        reply = conn.call(command, *key, cursor, *options)
        if is_error(reply):
            return reply
        kind, (cursor_reply, page) = reply
        assert kind == "array" and cursor_reply[0] == "bulk", f"{command} replied {reply!r}"
        cursor = cursor_reply[1]
        items.update(pairs(page) if command in ("HSCAN", "ZSCAN") else page[1])
        if cursor == b"0":
            return ("scanall", tuple(sorted(items)))
    raise AssertionError(f"{command} {args} did not return to cursor 0 in {SCAN_CALLS_MAX} calls")


def scan_type_none(step: Step) -> bool:
    """`SCAN ... TYPE none` in Redis 7.0 lists the keys that have expired but are not reclaimed
    yet (its type lookup deletes them, then "none" matches), so its reply depends on whether
    Redis's own active-expiry cycle got there first; Lode reclaims a key written with a past
    expiry at once and lists nothing. Either way no live key may be listed: each key the target
    lists must not exist there (EXISTS reclaims it, as SCAN before DBSIZE does)."""
    if step.args[0] != "SCANALL":
        return False
    options = [a.lower() for a in step.args[1:]]
    return any(o == "type" and v == "none" for o, v in zip(options, options[1:]))


def exec_match(queued: list[tuple], ref, got) -> bool:
    """EXEC's array, element by element, each with its queued command's comparison."""
    if ref[0] != "array" or got[0] != "array" or len(ref[1]) != len(got[1]):
        return ref == got
    assert len(queued) == len(ref[1]), (queued, ref)
    return all(replies_match(args[0].upper(), a, b) for args, a, b in zip(queued, ref[1], got[1]))


def random_problem(args: tuple, ref, got, redis_side: Side, target_side: Side) -> str | None:
    """Checks a random reply (SPOP, SRANDMEMBER, HRANDFIELD, ZRANDMEMBER) that matched Redis's
    by shape: valid on each side for that side's collection, read right after. After SPOP the
    target's set is made equal to Redis's. Returns what is wrong, or None."""
    if is_error(ref) or is_error(got):
        return None
    name, key = args[0].upper(), args[1]
    kind = RANDOM[name]
    read = content_command(kind, key)
    contents = [content_of(kind, redis_side.conns["main"].call(*read)),
                content_of(kind, target_side.conns["main"].call(*read))]
    for who, reply, content in (("redis", ref, contents[0]), ("target", got, contents[1])):
        problem = random_reply_problem(args, reply, content)
        if problem:
            return f"{who}'s reply is not valid for its {kind} {content!r}: {problem}"
    if name == "SPOP":
        resync_spop(key, ref, got, target_side)
        contents[1] = content_of(kind, target_side.conns["main"].call(*read))
    if contents[0] != contents[1]:
        return f"the {kind}s differ after it:\n  redis:  {contents[0]}\n  target: {contents[1]}"
    return None


def resync_spop(key: str, ref, got, target_side: Side) -> None:
    """SPOP popped members R on Redis and T on the target, from the same set: SADD T - R back
    and SREM R - T on the target, so both sets are the same again. Both popped the same number
    (their replies have one shape), so either both emptied the set (R = T) or the key still
    exists on the target and keeps its TTL. A target that did not really remove T, or removed
    more, is caught by the comparison of the sets that follows."""
    popped_ref, popped_got = set(payloads(ref)), set(payloads(got))
    main = target_side.conns["main"]
    if popped_got - popped_ref:
        main.call("SADD", key, *sorted(popped_got - popped_ref))
    if popped_ref - popped_got:
        main.call("SREM", key, *sorted(popped_ref - popped_got))


def key_content(conn: RespConnection, key: bytes):
    """A key's type and its value or collection, in a comparable form."""
    kind = conn.call("TYPE", key)[1].decode()
    if kind == "string":
        return kind, conn.call("GET", key)
    if kind == "list":
        return kind, conn.call("LRANGE", key, "0", "-1")
    if kind == "zset":
        return kind, conn.call("ZRANGE", key, "0", "-1", "WITHSCORES")
    if kind in ("set", "hash"):
        return kind, sorted(content_of(kind, conn.call(*content_command(kind, key))).items())
    return kind, None


def state_dump(side: Side):
    """Every key, type, value and TTL class of the checked databases, to compare at the end."""
    conn = side.conns["main"]
    dump = []
    for db in DATABASES_CHECKED:
        conn.call("SELECT", db)
        keys = sorted(item[1] for item in conn.call("KEYS", "*")[1])
        for key in keys:
            ttl = conn.call("TTL", key)[1]
            dump.append((db, key, key_content(conn, key), "none" if ttl == -1 else "set"))
    conn.call("SELECT", "0")
    return dump


def describe_failure(seed, stream, protocol, index, steps, ref, got, problem="") -> str:
    start = max(0, index - HISTORY_SHOWN)
    history = "\n".join(f"  {i:5d} {steps[i]}" for i in range(start, index + 1))
    test_id = f"test_same_replies_as_redis[{stream}-resp{protocol}]"
    return (
        f"replies differ at command {index} (LODE_SEED={seed}, stream {stream}, protocol "
        f"{protocol})\n{history}\n  redis:  {ref!r}\n  target: {got!r}\n"
        + (f"  {problem}\n" if problem else "")
        + f"replay: LODE_SEED={seed} pytest 'tests/compat/test_differential.py::{test_id}'"
    )


@pytest.mark.parametrize("protocol", [2, 3], ids=["resp2", "resp3"])
@pytest.mark.parametrize("stream", STREAMS)
def test_same_replies_as_redis(reference, target, stream, protocol, record_compared, seed, scale):
    base = COMMANDS_PER_RUN if stream == "strings" else TYPED_COMMANDS_PER_RUN
    steps = stream_steps(stream, seed, protocol, max(1, int(base * scale)))
    redis_side, target_side = Side(reference.port, protocol), Side(target.port, protocol)
    in_multi, queued = False, []
    try:
        for index, step in enumerate(steps):
            ref, got = redis_side.run(step), target_side.run(step)
            name = step.args[0].upper()
            problem = None
            if step.push:
                same = replies_match(name, ref[1], got[1]) and replies_match(
                    step.push[0].upper(), ref[2], got[2])
            elif step.conn == "main" and name == "EXEC":
                same = exec_match(queued, ref, got)
                last = queued[-1] if queued else ("",)
                if same and last[0].upper() in RANDOM and ref[0] == "array":
                    problem = random_problem(last, ref[1][-1], got[1][-1], redis_side,
                                             target_side)
            elif scan_type_none(step) and ref[0] == "scanall":
                same = got[0] == "scanall" and not any(
                    target_side.conns["main"].call("EXISTS", key[1])[1] for key in got[1])
            else:
                same = replies_match(name, ref, got)
                if same and name in RANDOM and step.conn == "main" and not in_multi:
                    problem = random_problem(step.args, ref, got, redis_side, target_side)
            assert same and not problem, describe_failure(
                seed, stream, protocol, index, steps, ref, got, problem)
            if step.conn == "main":
                if name == "MULTI" and ref == ("simple", b"OK"):
                    in_multi, queued = True, []
                elif name in ("EXEC", "DISCARD"):
                    in_multi, queued = False, []
                elif in_multi and name not in NOT_QUEUED and ref == ("simple", b"QUEUED"):
                    queued.append(step.args)
        record_compared(Counter(category(s.args) for s in steps)
                        + Counter(category(s.push) for s in steps if s.push))
        ref_state, got_state = state_dump(redis_side), state_dump(target_side)
        assert ref_state == got_state, (
            f"final state differs (LODE_SEED={seed}, stream {stream}, protocol {protocol}):\n"
            f"  redis:  {ref_state}\n  target: {got_state}"
        )
    finally:
        redis_side.close()
        target_side.close()


# Options a stream must use, with the commands that take them.
OPTIONS_SENT = [
    (("ZADD",), {"NX", "XX", "GT", "LT", "CH", "INCR"}),
    (("ZRANGE",), {"BYSCORE", "BYLEX", "REV", "LIMIT", "WITHSCORES"}),
    (("ZRANGEBYSCORE", "ZREVRANGEBYSCORE"), {"LIMIT", "WITHSCORES"}),
    (("ZUNION", "ZINTER", "ZUNIONSTORE", "ZINTERSTORE"), {"WEIGHTS", "AGGREGATE"}),
    (("ZUNION", "ZINTER", "ZDIFF"), {"WITHSCORES"}),
    (("LPOS",), {"RANK", "COUNT", "MAXLEN"}),
    (("HRANDFIELD",), {"WITHVALUES"}),
    (("ZRANDMEMBER",), {"WITHSCORES"}),
    (("SINTERCARD",), {"LIMIT"}),
]


@pytest.mark.parametrize("stream", TYPES)
def test_stream_sends_every_command_of_its_type(stream, seed):
    """The generator itself: a type's stream sends each of the type's commands and options, and
    the list stream blocks both ways (woken by a push, and timing out)."""
    steps = stream_steps(stream, seed, 2, TYPED_COMMANDS_PER_RUN)
    commands = [s.args for s in steps] + [s.push for s in steps if s.push]
    sent = {args[0].upper() for args in commands}
    sent |= {name.removesuffix("ALL") for name in sent if name.endswith("SCANALL")}
    expected = {name for name, kind in CATEGORY_OF.items() if kind == stream}
    assert not expected - sent, f"LODE_SEED={seed}: the {stream} stream never sends {expected - sent}"
    for names, options in OPTIONS_SENT:
        if CATEGORY_OF[names[0]] == stream:
            used = {a.upper() for args in commands if args[0] in names for a in args[2:]}
            assert options <= used, f"LODE_SEED={seed}: {names} never have {options - used}"
    if stream == "list":
        assert any(s.push for s in steps), "no blocking command woken by a push"
        assert any(s.args[-1] == "0.01" and s.args[0].startswith("B") for s in steps)


def test_mixed_stream_queues_types_together(seed):
    """MULTI/EXEC across types: some transaction queues commands of at least three types."""
    steps = stream_steps("mixed", seed, 2, TYPED_COMMANDS_PER_RUN)
    kinds, widest = set(), 0
    for step in steps:
        if step.conn != "main":
            continue
        name = step.args[0].upper()
        if name == "MULTI":
            kinds = set()
        elif name in ("EXEC", "DISCARD"):
            widest = max(widest, len(kinds & set(TYPES)))
        else:
            kinds.add(category(step.args))
    assert widest >= 3, f"LODE_SEED={seed}: no transaction mixes three types"
