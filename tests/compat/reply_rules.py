"""How the differential test compares two servers' replies to the same command.

Replies are resp_wire's tagged tuples, compared by wire type and value, except:
- errors: in full (clients match on the texts); LODE_DIFF_ERRORS=prefix compares only the word
  before the first space while a server is being brought up;
- TTL readings: within TTL_TOLERANCE, as the two sends are a moment apart;
- unordered replies (KEYS, SMEMBERS, SINTER, SUNION, SDIFF, HKEYS, HVALS, HGETALL): sorted, by
  field-value pair for HGETALL;
- RANDOMKEY: by wire type;
- random replies (SPOP, SRANDMEMBER, HRANDFIELD, ZRANDMEMBER): by shape (wire types and lengths,
  payloads blanked), and each side's reply must be valid for that side's collection: see
  `random_reply_problem`. SPOP also changes the set; the runner then makes the target's set equal
  to Redis's again (test_differential.resync_spop).
"""

from __future__ import annotations

import os

from resp_wire import is_error

TTL_TOLERANCE = {"TTL": 2, "PTTL": 2000, "EXPIRETIME": 2, "PEXPIRETIME": 2000}
ERRORS_PREFIX_ONLY = os.environ.get("LODE_DIFF_ERRORS") == "prefix"
UNORDERED = {"KEYS", "SMEMBERS", "SINTER", "SUNION", "SDIFF", "HKEYS", "HVALS"}
UNORDERED_PAIRS = {"HGETALL"}
# Random replies, and the type of the collection each one draws from.
RANDOM = {"SPOP": "set", "SRANDMEMBER": "set", "HRANDFIELD": "hash", "ZRANDMEMBER": "zset"}


def replies_match(name: str, ref, got) -> bool:
    """Whether `got` is an acceptable reply to a command named `name` when Redis sent `ref`."""
    if is_error(ref) or is_error(got):
        if ERRORS_PREFIX_ONLY and ref[0] == got[0]:
            return ref[1].split(b" ", 1)[0] == got[1].split(b" ", 1)[0]
        return ref == got
    if name in TTL_TOLERANCE and ref[0] == got[0] == "int" and min(ref[1], got[1]) >= 0:
        return abs(ref[1] - got[1]) <= TTL_TOLERANCE[name]
    if name in UNORDERED and ref[0] == got[0] and ref[0] in ("array", "set"):
        return sorted(ref[1]) == sorted(got[1])
    if name in UNORDERED_PAIRS and ref[0] == got[0] and ref[0] in ("array", "map"):
        return sorted(pairs(ref)) == sorted(pairs(got))
    if name == "RANDOMKEY":
        return ref[0] == got[0]
    if name in RANDOM:
        return shape(ref) == shape(got)
    return ref == got


def pairs(reply) -> list[tuple]:
    """A map's entries, or a flat array's elements two by two."""
    if reply[0] == "map":
        return list(reply[1])
    items = reply[1]
    return [tuple(items[i:i + 2]) for i in range(0, len(items), 2)]


def shape(reply):
    """The reply with every string payload blanked: wire types and lengths only."""
    tag = reply[0]
    if tag in ("bulk", "simple", "double", "verbatim", "bignum"):
        return (tag,)
    if tag in ("array", "set", "push"):
        return (tag, tuple(shape(item) for item in reply[1]))
    if tag == "map":
        return (tag, tuple((shape(k), shape(v)) for k, v in reply[1]))
    return reply


def payloads(reply) -> list[bytes]:
    """Every string payload of a reply, depth first (nulls and integers left out)."""
    tag = reply[0]
    if tag in ("bulk", "simple", "double", "verbatim", "bignum"):
        return [reply[1]]
    if tag in ("array", "set", "push"):
        return [p for item in reply[1] for p in payloads(item)]
    if tag == "map":
        return [p for k, v in reply[1] for p in payloads(k) + payloads(v)]
    return []


def content_command(kind: str, key: str) -> tuple:
    """The command that reads a whole collection of `kind`, for the random replies' checks."""
    return {"set": ("SMEMBERS", key), "hash": ("HGETALL", key),
            "zset": ("ZRANGE", key, "0", "-1", "WITHSCORES")}[kind]


def content_of(kind: str, reply) -> dict[bytes, bytes | None]:
    """A collection read by `content_command`: member or field -> score or value (None: set)."""
    flat = payloads(reply)
    if kind == "set":
        return dict.fromkeys(flat)
    return dict(zip(flat[0::2], flat[1::2]))


def random_reply_problem(args: tuple, reply, content: dict) -> str | None:
    """What is wrong with `reply` to SRANDMEMBER/HRANDFIELD/ZRANDMEMBER/SPOP `args` on a server
    whose collection holds `content` (for SPOP: holds after the pop), or None if it is valid.

    Without a count: one member, or null when the collection is empty. With count n >= 0: min(n,
    size) distinct members; with n < 0: |n| members, repeats allowed (none if empty). With
    WITHVALUES/WITHSCORES each member is followed by its value/score. Every member must be in
    the collection; SPOP's must have left it, and SPOP with a count pops min(n, size) of them.
    """
    name = args[0].upper()
    if is_error(reply):
        return None
    with_values = len(args) > 3
    flat = payloads(reply)
    if len(args) == 2:
        if reply[0] in ("null", "null3"):
            return None if name == "SPOP" or not content else "null from a non-empty collection"
        if len(flat) != 1:
            return f"one member expected, got {reply!r}"
        count = 1
    else:
        count = int(args[2])
    step = 2 if with_values else 1
    members = flat[0::step]
    if len(flat) != step * len(members):
        return f"odd number of member/value payloads in {reply!r}"
    if name == "SPOP":
        gone = [m for m in members if m in content]
        if gone:
            return f"popped members still in the set: {gone!r}"
        if len(set(members)) != len(members):
            return f"popped a member twice: {members!r}"
        if content and len(members) != count:
            return f"popped {len(members)} of {count} while members remain"
        return None
    size = len(content)
    expected = min(count, size) if count >= 0 else (-count if size else 0)
    if len(members) != expected:
        return f"{len(members)} members, expected {expected} from {size}"
    if count >= 0 and len(set(members)) != len(members):
        return f"repeated members with a positive count: {members!r}"
    strangers = [m for m in members if m not in content]
    if strangers:
        return f"not in the collection: {strangers!r}"
    if with_values:
        wrong = [(m, v) for m, v in zip(members, flat[1::2]) if content[m] != v]
        if wrong:
            return f"wrong values/scores: {wrong!r} (collection {content!r})"
    return None
