//! Sorted-set commands (Redis's t_zset.c). A sorted set is a metadata record plus, per
//! member, a score record and a score-index record (docs/format/keys.md, "Collections"), so
//! ZSCORE is one read, score ranges are one seek and a scan, and ranks walk the index from
//! its nearer end (`store.rs`). Scores are parsed and printed as Redis 7.0 does (`score.rs`),
//! and the set operations stream their inputs (`setops.rs`).
//!
//! Every handler checks all of its arguments before it writes, reads through
//! [`read_zset`] (which counts keyspace hits like Redis's `lookupKeyRead`) or
//! [`write_zset`], and charges the output limit as it builds a reply. Per-command costs in
//! Lode next to Redis's are in docs/compatibility.md, "Sorted sets".

mod score;
mod setops;
mod store;

use super::{int_arg, is, save_collection};
use crate::command::{CommandSpec, Ctx, flags::*};
use crate::errors::{self, CommandError, CommandResult};
use crate::glob;
use crate::keyspace::{self, Kind};
use bytes::Bytes;
use lode_resp::{Protocol, Reply};
use rand::Rng;
use score::{LexRange, ScoreRange, format_score, parse_score};
use setops::{Input, Op};
use std::collections::HashSet;
use std::ops::{Bound, ControlFlow};
use store::{Flow, ZSet};

const W: u32 = WRITE | ENGINE;
const R: u32 = READONLY | ENGINE;

/// The command group COMMAND DOCS reports for this file's commands.
const GROUP: &str = "sorted-set";

/// Sorted sets up to this size answer ZSCAN in one call with cursor 0, as Redis answers its
/// small (listpack) sets; bigger ones are walked `COUNT` members at a time.
const ZSCAN_ONE_CALL_MAX: u64 = 128;
/// Sorted sets up to this size have exactly uniform ZRANDMEMBER picks (the set is read
/// once); bigger ones are sampled by random descent through the member order, see
/// [`random_member`].
const RANDOM_UNIFORM_MAX: u64 = 1024;
/// Levels of the random descent before it settles on a member.
const RANDOM_DESCENT_LEVELS: usize = 32;
/// Branches the random descent lists at one level before it picks by a random byte instead.
const RANDOM_BRANCHES_MAX: usize = 16;
/// Most bytes of records (keys, values, framing, as the burst counts them) one command may
/// write: the STORE forms, ZRANGESTORE, ZPOPMIN/ZPOPMAX and the partial ZREMRANGEBY* stop
/// with `WRITES_TOO_LARGE` past it, having written nothing. Pending writes take several
/// times their bytes in memory: on a 10-million-member set, ZINTERSTORE refused at this
/// bound peaked at 1.2 GB RSS (at 512 MiB it was 4 GB). 128 MiB is about a million short
/// members; it keeps one command far below the engine's 1 GiB batch limit.
const COMMAND_WRITE_BYTES_MAX: usize = 128 << 20;
/// Pending bytes one member costs: its score record and its index record, each with the
/// burst's per-record framing (an estimate from above, used before anything is written).
fn member_write_bytes(key: &[u8], member: &[u8]) -> usize {
    2 * (keyspace::ELEMENT_FRAMING_BYTES + key.len() + member.len() + 8 + 16)
}

/// Whether `more` bytes of writes on top of `so_far` stay within
/// [`COMMAND_WRITE_BYTES_MAX`].
fn writes_fit(so_far: usize, more: usize) -> bool {
    so_far.saturating_add(more) <= COMMAND_WRITE_BYTES_MAX
}

/// Bytes charged to the output limit per reply element besides its own bytes.
const REPLY_ITEM_BYTES: usize = 16;
/// Bytes charged per score in a reply.
const REPLY_SCORE_BYTES: usize = 32;

pub(crate) const SPECS: &[CommandSpec] = &[
    spec!(
        GROUP,
        "zadd",
        -4,
        W | DENYOOM | FAST,
        (1, 1, 1),
        "Add one or more members to a sorted set, or update its score if it already exists",
        "1.2.0",
        zadd
    ),
    spec!(
        GROUP,
        "zincrby",
        4,
        W | DENYOOM | FAST,
        (1, 1, 1),
        "Increment the score of a member in a sorted set",
        "1.2.0",
        zincrby
    ),
    spec!(
        GROUP,
        "zrem",
        -3,
        W | FAST,
        (1, 1, 1),
        "Remove one or more members from a sorted set",
        "1.2.0",
        zrem
    ),
    spec!(
        GROUP,
        "zscore",
        3,
        R | FAST,
        (1, 1, 1),
        "Get the score associated with the given member in a sorted set",
        "1.2.0",
        zscore
    ),
    spec!(
        GROUP,
        "zmscore",
        -3,
        R | FAST,
        (1, 1, 1),
        "Get the score associated with the given members in a sorted set",
        "6.2.0",
        zmscore
    ),
    spec!(
        GROUP,
        "zcard",
        2,
        R | FAST,
        (1, 1, 1),
        "Get the number of members in a sorted set",
        "1.2.0",
        zcard
    ),
    spec!(
        GROUP,
        "zcount",
        4,
        R | FAST,
        (1, 1, 1),
        "Count the members in a sorted set with scores within the given values",
        "2.0.0",
        zcount
    ),
    spec!(
        GROUP,
        "zlexcount",
        4,
        R | FAST,
        (1, 1, 1),
        "Count the number of members in a sorted set between a given lexicographical range",
        "2.8.9",
        zlexcount
    ),
    spec!(
        GROUP,
        "zrange",
        -4,
        R,
        (1, 1, 1),
        "Return a range of members in a sorted set",
        "1.2.0",
        zrange
    ),
    spec!(
        GROUP,
        "zrangestore",
        -5,
        W | DENYOOM,
        (1, 2, 1),
        "Store a range of members from sorted set into another key",
        "6.2.0",
        zrangestore
    ),
    spec!(
        GROUP,
        "zrevrange",
        -4,
        R,
        (1, 1, 1),
        "Return a range of members in a sorted set, by index, with scores ordered from high to low",
        "1.2.0",
        zrevrange
    ),
    spec!(
        GROUP,
        "zrangebyscore",
        -4,
        R,
        (1, 1, 1),
        "Return a range of members in a sorted set, by score",
        "1.0.5",
        zrangebyscore
    ),
    spec!(
        GROUP,
        "zrevrangebyscore",
        -4,
        R,
        (1, 1, 1),
        "Return a range of members in a sorted set, by score, with scores ordered from high to low",
        "2.2.0",
        zrevrangebyscore
    ),
    spec!(
        GROUP,
        "zrangebylex",
        -4,
        R,
        (1, 1, 1),
        "Return a range of members in a sorted set, by lexicographical range",
        "2.8.9",
        zrangebylex
    ),
    spec!(
        GROUP,
        "zrevrangebylex",
        -4,
        R,
        (1, 1, 1),
        "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.",
        "2.8.9",
        zrevrangebylex
    ),
    spec!(
        GROUP,
        "zrank",
        3,
        R | FAST,
        (1, 1, 1),
        "Determine the index of a member in a sorted set",
        "2.0.0",
        zrank
    ),
    spec!(
        GROUP,
        "zrevrank",
        3,
        R | FAST,
        (1, 1, 1),
        "Determine the index of a member in a sorted set, with scores ordered from high to low",
        "2.0.0",
        zrevrank
    ),
    spec!(
        GROUP,
        "zpopmin",
        -2,
        W | FAST,
        (1, 1, 1),
        "Remove and return members with the lowest scores in a sorted set",
        "5.0.0",
        zpopmin
    ),
    spec!(
        GROUP,
        "zpopmax",
        -2,
        W | FAST,
        (1, 1, 1),
        "Remove and return members with the highest scores in a sorted set",
        "5.0.0",
        zpopmax
    ),
    spec!(
        GROUP,
        "zremrangebyrank",
        4,
        W,
        (1, 1, 1),
        "Remove all members in a sorted set within the given indexes",
        "2.0.0",
        zremrangebyrank
    ),
    spec!(
        GROUP,
        "zremrangebyscore",
        4,
        W,
        (1, 1, 1),
        "Remove all members in a sorted set within the given scores",
        "1.2.0",
        zremrangebyscore
    ),
    spec!(
        GROUP,
        "zremrangebylex",
        4,
        W,
        (1, 1, 1),
        "Remove all members in a sorted set between the given lexicographical range",
        "2.8.9",
        zremrangebylex
    ),
    spec!(GROUP, "zunion", -3, R, "Add multiple sorted sets", "6.2.0", zunion),
    spec!(GROUP, "zinter", -3, R, "Intersect multiple sorted sets", "6.2.0", zinter),
    spec!(GROUP, "zdiff", -3, R, "Subtract multiple sorted sets", "6.2.0", zdiff),
    spec!(
        GROUP,
        "zunionstore",
        -4,
        W | DENYOOM,
        (1, 1, 1),
        "Add multiple sorted sets and store the resulting sorted set in a new key",
        "2.0.0",
        zunionstore
    ),
    spec!(
        GROUP,
        "zinterstore",
        -4,
        W | DENYOOM,
        (1, 1, 1),
        "Intersect multiple sorted sets and store the resulting sorted set in a new key",
        "2.0.0",
        zinterstore
    ),
    spec!(
        GROUP,
        "zdiffstore",
        -4,
        W | DENYOOM,
        (1, 1, 1),
        "Subtract multiple sorted sets and store the resulting sorted set in a new key",
        "6.2.0",
        zdiffstore
    ),
    spec!(
        GROUP,
        "zrandmember",
        -2,
        R,
        (1, 1, 1),
        "Get one or multiple random elements from a sorted set",
        "6.2.0",
        zrandmember
    ),
    spec!(
        GROUP,
        "zscan",
        -3,
        R,
        (1, 1, 1),
        "Incrementally iterate sorted sets elements and associated scores",
        "2.8.0",
        zscan
    ),
];

const NOT_A_RANGE_FLOAT: &str = "ERR min or max is not a float";
const NOT_A_LEX_RANGE: &str = "ERR min or max not valid string range item";
const NAN_RESULT: &str = "ERR resulting score is not a number (NaN)";

// ---- Lookups and replies ---------------------------------------------------------------

/// The sorted set at `key` for a read command: a keyspace hit or miss is counted (also for
/// a key of another type, as Redis's `lookupKeyRead`), then WRONGTYPE for another type.
fn read_zset(ctx: &mut Ctx<'_, '_>, key: &Bytes) -> Result<Option<ZSet>, CommandError> {
    let meta = ctx.tx.get(key, ctx.now_ms)?;
    ctx.hit(meta.is_some());
    match meta {
        Some(m) if m.kind != Kind::ZSet => Err(errors::WRONGTYPE.into()),
        Some(m) => Ok(Some(ZSet::new(ctx.tx.db, key.clone(), m))),
        None => Ok(None),
    }
}

/// The sorted set at `key` for a write command; WRONGTYPE for another type.
fn write_zset(ctx: &mut Ctx<'_, '_>, key: &Bytes) -> Result<Option<ZSet>, CommandError> {
    Ok(super::get_collection(ctx, key, Kind::ZSet)?.map(|m| ZSet::new(ctx.tx.db, key.clone(), m)))
}

fn resp3(ctx: &Ctx<'_, '_>) -> bool {
    ctx.session.proto == Protocol::Resp3
}

/// A score: a RESP3 double, or in RESP2 a bulk string as Redis 7.0 prints it (`%.17g`).
fn score_reply(resp3: bool, score: f64) -> Reply {
    if resp3 { Reply::Double(score) } else { Reply::Bulk(Bytes::from(format_score(score))) }
}

fn len_reply(n: u64) -> Reply {
    Reply::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}

/// Members (with scores) gathered for a reply, charged against the output limit as they
/// come, so a huge range fails before it is built.
struct Listing {
    items: Vec<(Bytes, f64)>,
    withscores: bool,
    room: usize,
    bytes: usize,
}

impl Listing {
    fn new(ctx: &Ctx<'_, '_>, withscores: bool) -> Listing {
        Listing { items: Vec::new(), withscores, room: ctx.output_room(), bytes: 0 }
    }

    /// A listing of members to write (not a reply): bounded by
    /// [`COMMAND_WRITE_BYTES_MAX`] instead of the output limit.
    fn for_writes() -> Listing {
        Listing { items: Vec::new(), withscores: true, room: COMMAND_WRITE_BYTES_MAX, bytes: 0 }
    }

    fn push(&mut self, member: &[u8], score: f64) -> Result<(), CommandError> {
        let more = member.len() + REPLY_ITEM_BYTES + REPLY_SCORE_BYTES;
        self.bytes = self.bytes.saturating_add(more);
        if self.bytes > self.room {
            return Err(if self.room == COMMAND_WRITE_BYTES_MAX {
                errors::WRITES_TOO_LARGE.into()
            } else {
                CommandError::OutputLimit
            });
        }
        self.items.push((Bytes::copy_from_slice(member), score));
        Ok(())
    }

    /// [`Listing::push`] as a scan visitor.
    fn visit(&mut self, member: &[u8], score: f64) -> Flow {
        self.push(member, score)?;
        Ok(ControlFlow::Continue(()))
    }

    /// RESP2: `[member, score, ...]`; RESP3 with scores: `[[member, score], ...]`.
    fn reply(self, resp3: bool) -> Reply {
        let Listing { items, withscores, .. } = self;
        if !withscores {
            return Reply::Array(items.into_iter().map(|(m, _)| Reply::Bulk(m)).collect());
        }
        if resp3 {
            let pairs = items
                .into_iter()
                .map(|(m, s)| Reply::Array(vec![Reply::Bulk(m), Reply::Double(s)]));
            return Reply::Array(pairs.collect());
        }
        let mut flat = Vec::with_capacity(items.len() * 2);
        for (m, s) in items {
            flat.push(Reply::Bulk(m));
            flat.push(score_reply(false, s));
        }
        Reply::Array(flat)
    }
}

// ---- ZADD, ZINCRBY, ZREM -----------------------------------------------------------------

/// ZADD's options.
#[derive(Debug, Default, Clone, Copy)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

fn zadd(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    zadd_generic(ctx, args, AddFlags::default())
}

fn zincrby(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    zadd_generic(ctx, args, AddFlags { incr: true, ..AddFlags::default() })
}

/// Redis's `zaddGenericCommand` (ZINCRBY is ZADD INCR, option words included).
fn zadd_generic(ctx: &mut Ctx<'_, '_>, args: &[Bytes], mut f: AddFlags) -> CommandResult {
    let key = &args[1];
    let mut at = 2;
    while at < args.len() {
        let opt = &args[at];
        if is(opt, "nx") {
            f.nx = true;
        } else if is(opt, "xx") {
            f.xx = true;
        } else if is(opt, "ch") {
            f.ch = true;
        } else if is(opt, "incr") {
            f.incr = true;
        } else if is(opt, "gt") {
            f.gt = true;
        } else if is(opt, "lt") {
            f.lt = true;
        } else {
            break;
        }
        at += 1;
    }
    let pairs = &args[at..];
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return Err(errors::SYNTAX.into());
    }
    if f.nx && f.xx {
        return Err("ERR XX and NX options at the same time are not compatible".into());
    }
    if ((f.gt || f.lt) && f.nx) || (f.gt && f.lt) {
        return Err("ERR GT, LT, and/or NX options at the same time are not compatible".into());
    }
    if f.incr && pairs.len() > 2 {
        return Err("ERR INCR option supports a single increment-element pair".into());
    }
    let mut scores = Vec::with_capacity(pairs.len() / 2);
    for pair in pairs.chunks_exact(2) {
        scores.push(parse_score(&pair[0]).ok_or(errors::NOT_FLOAT)?);
    }
    for pair in pairs.chunks_exact(2) {
        keyspace::check_element(key, &pair[1])?;
    }
    let no_op = |f: AddFlags| if f.incr { Reply::Null } else { Reply::Integer(0) };
    let mut z = match write_zset(ctx, key)? {
        Some(z) => z,
        None if f.xx => return Ok(no_op(f)),
        None => ZSet::new(ctx.tx.db, key.clone(), ctx.tx.new_collection(Kind::ZSet)?),
    };
    let (mut added, mut updated, mut processed) = (0i64, 0i64, 0i64);
    let mut last = 0.0;
    for (pair, &score) in pairs.chunks_exact(2).zip(&scores) {
        let member = &pair[1];
        match z.score(ctx.tx, member)? {
            Some(current) => {
                if f.nx {
                    continue;
                }
                let new = if f.incr { score + current } else { score };
                if new.is_nan() {
                    return Err(NAN_RESULT.into());
                }
                if (f.lt && new >= current) || (f.gt && new <= current) {
                    continue;
                }
                if new != current {
                    z.set(ctx.tx, member, Some(current), new)?;
                    updated += 1;
                }
                last = new;
                processed += 1;
            }
            None if f.xx => {}
            None => {
                z.set(ctx.tx, member, None, score)?;
                added += 1;
                last = score;
                processed += 1;
            }
        }
    }
    if added + updated > 0 {
        save_collection(ctx, key, z.meta)?;
    }
    if f.incr {
        return Ok(if processed > 0 { score_reply(resp3(ctx), last) } else { Reply::Null });
    }
    Ok(Reply::Integer(if f.ch { added + updated } else { added }))
}

fn zrem(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    let Some(mut z) = write_zset(ctx, key)? else { return Ok(Reply::Integer(0)) };
    let mut removed = 0;
    for member in &args[2..] {
        if let Some(score) = z.score(ctx.tx, member)? {
            z.remove(ctx.tx, member, score)?;
            removed += 1;
        }
    }
    if removed > 0 {
        save_collection(ctx, key, z.meta)?;
    }
    Ok(Reply::Integer(removed))
}

// ---- Point reads -------------------------------------------------------------------------

fn zscore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let Some(z) = read_zset(ctx, &args[1])? else { return Ok(Reply::Null) };
    let r3 = resp3(ctx);
    Ok(z.score(ctx.tx, &args[2])?.map_or(Reply::Null, |s| score_reply(r3, s)))
}

fn zmscore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let z = read_zset(ctx, &args[1])?;
    let r3 = resp3(ctx);
    let mut out = Vec::with_capacity(args.len() - 2);
    for member in &args[2..] {
        let score = match &z {
            Some(z) => z.score(ctx.tx, member)?,
            None => None,
        };
        out.push(score.map_or(Reply::Null, |s| score_reply(r3, s)));
    }
    Ok(Reply::Array(out))
}

fn zcard(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    Ok(len_reply(read_zset(ctx, &args[1])?.map_or(0, |z| z.len())))
}

fn zrank(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    rank_generic(ctx, args, false)
}

fn zrevrank(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    rank_generic(ctx, args, true)
}

fn rank_generic(ctx: &mut Ctx<'_, '_>, args: &[Bytes], rev: bool) -> CommandResult {
    let Some(z) = read_zset(ctx, &args[1])? else { return Ok(Reply::Null) };
    let member = &args[2];
    let Some(score) = z.score(ctx.tx, member)? else { return Ok(Reply::Null) };
    let rank = z.rank(ctx.tx, score, member)?;
    Ok(len_reply(if rev { z.len().saturating_sub(rank + 1) } else { rank }))
}

// ---- Counts ------------------------------------------------------------------------------

fn zcount(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let range = ScoreRange::parse(&args[2], &args[3]).ok_or(NOT_A_RANGE_FLOAT)?;
    let Some(z) = read_zset(ctx, &args[1])? else { return Ok(Reply::Integer(0)) };
    Ok(len_reply(z.count_score(ctx.tx, &range)?))
}

fn zlexcount(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let range = LexRange::parse(&args[2], &args[3]).ok_or(NOT_A_LEX_RANGE)?;
    let Some(z) = read_zset(ctx, &args[1])? else { return Ok(Reply::Integer(0)) };
    let mut n = 0u64;
    z.by_lex(ctx.tx, &range, false, 0, -1, |_, _| {
        n += 1;
        Ok(ControlFlow::Continue(()))
    })?;
    Ok(len_reply(n))
}

// ---- The ZRANGE family ---------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeBy {
    Rank,
    Score,
    Lex,
}

/// A parsed range: what Redis's `zrangeGenericCommand` reads before it looks at the key.
#[derive(Debug)]
enum RangeSpec {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

#[derive(Debug)]
struct RangeQuery {
    spec: RangeSpec,
    rev: bool,
    withscores: bool,
    offset: i64,
    limit: i64,
}

/// Parses `<min> <max> [options]` starting at `args[at]` (the source key's position + 1).
/// `by` and `rev` are fixed by the legacy commands (ZRANGEBYSCORE, ZREVRANGE, ...), which
/// refuse the option words that would change them.
fn parse_range(
    args: &[Bytes],
    at: usize,
    store: bool,
    by: Option<RangeBy>,
    rev: Option<bool>,
) -> Result<RangeQuery, CommandError> {
    let (mut by_opt, mut rev_opt) = (by, rev);
    let (mut withscores, mut offset, mut limit) = (false, 0i64, -1i64);
    let mut j = at + 2;
    while j < args.len() {
        let left = args.len() - j - 1;
        let a = &args[j];
        if !store && is(a, "withscores") {
            withscores = true;
        } else if is(a, "limit") && left >= 2 {
            offset = int_arg(&args[j + 1])?;
            limit = int_arg(&args[j + 2])?;
            j += 2;
        } else if rev.is_none() && rev_opt.is_none() && is(a, "rev") {
            rev_opt = Some(true);
        } else if by.is_none() && by_opt.is_none() && is(a, "bylex") {
            by_opt = Some(RangeBy::Lex);
        } else if by.is_none() && by_opt.is_none() && is(a, "byscore") {
            by_opt = Some(RangeBy::Score);
        } else {
            return Err(errors::SYNTAX.into());
        }
        j += 1;
    }
    let rev = rev_opt.unwrap_or(false);
    let by = by_opt.unwrap_or(RangeBy::Rank);
    if limit != -1 && by == RangeBy::Rank {
        return Err(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
                .into(),
        );
    }
    if withscores && by == RangeBy::Lex {
        return Err("ERR syntax error, WITHSCORES not supported in combination with BYLEX".into());
    }
    // The by-score and by-lex forms name the range high end first when reversed.
    let (lo, hi) = if rev && by != RangeBy::Rank {
        (&args[at + 1], &args[at])
    } else {
        (&args[at], &args[at + 1])
    };
    let spec = match by {
        RangeBy::Rank => RangeSpec::Rank(int_arg(lo)?, int_arg(hi)?),
        RangeBy::Score => RangeSpec::Score(ScoreRange::parse(lo, hi).ok_or(NOT_A_RANGE_FLOAT)?),
        RangeBy::Lex => RangeSpec::Lex(LexRange::parse(lo, hi).ok_or(NOT_A_LEX_RANGE)?),
    };
    Ok(RangeQuery { spec, rev, withscores, offset, limit })
}

/// Redis's rank sanitising: negative ranks count from the end; `None` for an empty range.
fn clamp_ranks(start: i64, end: i64, len: u64) -> Option<(u64, u64)> {
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let start = if start < 0 { start.saturating_add(len) } else { start }.max(0);
    let end = if end < 0 { end.saturating_add(len) } else { end };
    if start > end || start >= len {
        return None;
    }
    Some((start as u64, end.min(len - 1) as u64))
}

/// Runs a range query, pushing each member in reply order.
fn run_range(
    ctx: &mut Ctx<'_, '_>,
    z: &ZSet,
    q: &RangeQuery,
    out: &mut Listing,
) -> Result<(), CommandError> {
    match &q.spec {
        RangeSpec::Rank(start, end) => {
            let Some((start, end)) = clamp_ranks(*start, *end, z.len()) else { return Ok(()) };
            let flipped = z.by_rank(ctx.tx, start, end, q.rev, |s, m| out.visit(m, s))?;
            if flipped {
                out.items.reverse();
            }
        }
        RangeSpec::Score(range) => {
            z.by_score(ctx.tx, range, q.rev, q.offset, q.limit, |s, m| out.visit(m, s))?;
        }
        RangeSpec::Lex(range) => {
            z.by_lex(ctx.tx, range, q.rev, q.offset, q.limit, |s, m| out.visit(m, s))?;
        }
    }
    Ok(())
}

fn range_generic(
    ctx: &mut Ctx<'_, '_>,
    args: &[Bytes],
    by: Option<RangeBy>,
    rev: Option<bool>,
) -> CommandResult {
    let q = parse_range(args, 2, false, by, rev)?;
    let Some(z) = read_zset(ctx, &args[1])? else { return Ok(Reply::Array(Vec::new())) };
    let mut out = Listing::new(ctx, q.withscores);
    run_range(ctx, &z, &q, &mut out)?;
    Ok(out.reply(resp3(ctx)))
}

fn zrange(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    range_generic(ctx, args, None, None)
}

fn zrevrange(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    range_generic(ctx, args, Some(RangeBy::Rank), Some(true))
}

fn zrangebyscore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    range_generic(ctx, args, Some(RangeBy::Score), Some(false))
}

fn zrevrangebyscore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    range_generic(ctx, args, Some(RangeBy::Score), Some(true))
}

fn zrangebylex(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    range_generic(ctx, args, Some(RangeBy::Lex), Some(false))
}

fn zrevrangebylex(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    range_generic(ctx, args, Some(RangeBy::Lex), Some(true))
}

/// Writes `items` as the new sorted set at `dst` (a new version, no expiry), or deletes
/// `dst` when there are none, as Redis's STORE forms do. Returns the new size.
fn store_result(
    ctx: &mut Ctx<'_, '_>,
    dst: &Bytes,
    items: impl IntoIterator<Item = (Bytes, f64)>,
) -> Result<u64, CommandError> {
    let items: Vec<(Bytes, f64)> = items.into_iter().collect();
    let mut bytes = 0usize;
    for (member, _) in &items {
        keyspace::check_element(dst, member)?;
        bytes = bytes.saturating_add(member_write_bytes(dst, member));
    }
    if !writes_fit(0, bytes) {
        return Err(errors::WRITES_TOO_LARGE.into());
    }
    let mut out = ZSet::new(ctx.tx.db, dst.clone(), ctx.tx.new_collection(Kind::ZSet)?);
    for (member, score) in items {
        out.set(ctx.tx, &member, None, score)?;
    }
    let n = out.len();
    if n == 0 {
        ctx.tx.delete(dst)?
    } else {
        ctx.tx.put(dst, out.meta)?
    }
    Ok(n)
}

fn zrangestore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let q = parse_range(args, 3, true, None, None)?;
    let mut items = Listing::for_writes();
    if let Some(z) = read_zset(ctx, &args[2])? {
        run_range(ctx, &z, &q, &mut items)?;
    }
    Ok(len_reply(store_result(ctx, &args[1], items.items)?))
}

// ---- Pops and range removals -------------------------------------------------------------

fn zpopmin(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    pop_generic(ctx, args, false)
}

fn zpopmax(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    pop_generic(ctx, args, true)
}

/// Redis's `zpopMinMaxCommand`: pops from the low (`max`: high) end of the index.
fn pop_generic(ctx: &mut Ctx<'_, '_>, args: &[Bytes], max: bool) -> CommandResult {
    if args.len() > 3 {
        return Err(errors::SYNTAX.into());
    }
    let count = match args.get(2) {
        Some(a) => Some(
            int_arg(a)
                .ok()
                .filter(|&n| n >= 0)
                .ok_or("ERR value is out of range, must be positive")?,
        ),
        None => None,
    };
    let key = &args[1];
    let Some(mut z) = write_zset(ctx, key)? else { return Ok(Reply::Array(Vec::new())) };
    if count == Some(0) {
        return Ok(Reply::Array(Vec::new()));
    }
    let want = count.map_or(1, |n| u64::try_from(n).unwrap_or(0)).min(z.len());
    let mut out = Listing::new(ctx, true);
    let mut left = want;
    // Popping everything deletes the key (its records become garbage); popping part of it
    // deletes each member's records, bounded like any command's writes.
    let everything = want == z.len();
    let mut doomed = Doomed::new(key);
    z.scan_all(ctx.tx, max, |s, m| {
        out.push(m, s)?;
        if !everything {
            doomed.push(m, s)?;
        }
        left -= 1;
        Ok(if left == 0 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) })
    })?;
    if everything {
        ctx.tx.delete(key)?;
    } else {
        for (member, score) in &doomed.items {
            z.remove(ctx.tx, member, *score)?;
        }
        save_collection(ctx, key, z.meta)?;
    }
    let r3 = resp3(ctx);
    if r3 && count.is_some() {
        return Ok(out.reply(true));
    }
    // A flat [member, score, ...] in RESP2, and in RESP3 without a count.
    let mut flat = Vec::with_capacity(out.items.len() * 2);
    for (m, s) in out.items {
        flat.push(Reply::Bulk(m));
        flat.push(score_reply(r3, s));
    }
    Ok(Reply::Array(flat))
}

/// Members a command will remove, gathered before it deletes any, so that one past
/// [`COMMAND_WRITE_BYTES_MAX`] refuses the command with nothing written.
struct Doomed<'k> {
    key: &'k [u8],
    items: Vec<(Bytes, f64)>,
    bytes: usize,
}

impl<'k> Doomed<'k> {
    fn new(key: &'k [u8]) -> Doomed<'k> {
        Doomed { key, items: Vec::new(), bytes: 0 }
    }

    fn push(&mut self, member: &[u8], score: f64) -> Result<(), CommandError> {
        let more = member_write_bytes(self.key, member);
        if !writes_fit(self.bytes, more) {
            return Err(errors::WRITES_TOO_LARGE.into());
        }
        self.bytes += more;
        self.items.push((Bytes::copy_from_slice(member), score));
        Ok(())
    }

    /// [`Doomed::push`] as a scan visitor.
    fn visit(&mut self, score: f64, member: &[u8]) -> Flow {
        self.push(member, score)?;
        Ok(ControlFlow::Continue(()))
    }
}

/// Removes the gathered members (a part of the set: a whole set goes by [`remove_all`]).
fn remove_entries(ctx: &mut Ctx<'_, '_>, mut z: ZSet, entries: Vec<(Bytes, f64)>) -> CommandResult {
    let n = entries.len() as u64;
    if n == 0 {
        return Ok(Reply::Integer(0));
    }
    for (member, score) in &entries {
        z.remove(ctx.tx, member, *score)?;
    }
    let key = z.key.clone();
    save_collection(ctx, &key, z.meta)?;
    Ok(len_reply(n))
}

/// Deletes the whole sorted set (every member was in the range).
fn remove_all(ctx: &mut Ctx<'_, '_>, z: &ZSet) -> CommandResult {
    ctx.tx.delete(&z.key)?;
    Ok(len_reply(z.len()))
}

fn zremrangebyrank(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let (start, end) = (int_arg(&args[2])?, int_arg(&args[3])?);
    let Some(z) = write_zset(ctx, &args[1])? else { return Ok(Reply::Integer(0)) };
    let Some((start, end)) = clamp_ranks(start, end, z.len()) else { return Ok(Reply::Integer(0)) };
    if end - start + 1 == z.len() {
        return remove_all(ctx, &z);
    }
    let key = z.key.clone();
    let mut doomed = Doomed::new(&key);
    z.by_rank(ctx.tx, start, end, false, |s, m| doomed.visit(s, m))?;
    remove_entries(ctx, z, doomed.items)
}

fn zremrangebyscore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let range = ScoreRange::parse(&args[2], &args[3]).ok_or(NOT_A_RANGE_FLOAT)?;
    let Some(z) = write_zset(ctx, &args[1])? else { return Ok(Reply::Integer(0)) };
    if range.is_empty() {
        return Ok(Reply::Integer(0));
    }
    let first = z.end_entry(ctx.tx, false)?;
    let last = z.end_entry(ctx.tx, true)?;
    if let (Some((lo, _)), Some((hi, _))) = (&first, &last)
        && range.gte_min(*lo)
        && range.lte_max(*hi)
    {
        return remove_all(ctx, &z);
    }
    let key = z.key.clone();
    let mut doomed = Doomed::new(&key);
    z.by_score(ctx.tx, &range, false, 0, -1, |s, m| doomed.visit(s, m))?;
    remove_entries(ctx, z, doomed.items)
}

fn zremrangebylex(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let range = LexRange::parse(&args[2], &args[3]).ok_or(NOT_A_LEX_RANGE)?;
    let Some(z) = write_zset(ctx, &args[1])? else { return Ok(Reply::Integer(0)) };
    if range.is_empty() {
        return Ok(Reply::Integer(0));
    }
    let first = z.end_entry(ctx.tx, false)?;
    let last = z.end_entry(ctx.tx, true)?;
    if let (Some((lo, first)), Some((hi, last))) = (&first, &last)
        && lo.to_bits() == hi.to_bits()
        && range.gte_min(first)
        && range.lte_max(last)
    {
        return remove_all(ctx, &z);
    }
    let key = z.key.clone();
    let mut doomed = Doomed::new(&key);
    z.by_lex(ctx.tx, &range, false, 0, -1, |s, m| doomed.visit(s, m))?;
    remove_entries(ctx, z, doomed.items)
}

// ---- Set operations --------------------------------------------------------------------------

fn zunion(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    setop_generic(ctx, args, Op::Union, "zunion", false)
}

fn zinter(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    setop_generic(ctx, args, Op::Inter, "zinter", false)
}

fn zdiff(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    setop_generic(ctx, args, Op::Diff, "zdiff", false)
}

fn zunionstore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    setop_generic(ctx, args, Op::Union, "zunionstore", true)
}

fn zinterstore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    setop_generic(ctx, args, Op::Inter, "zinterstore", true)
}

fn zdiffstore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    setop_generic(ctx, args, Op::Diff, "zdiffstore", true)
}

/// Redis's `zunionInterDiffGenericCommand`: numkeys, the keys (looked up and type-checked
/// before the options are read, as Redis does), WEIGHTS / AGGREGATE / WITHSCORES.
///
/// Memory: the inputs are streamed; a reply holds its result (charged to the output
/// limit) to sort it by score; a STORE form holds its result as the burst's pending writes.
fn setop_generic(
    ctx: &mut Ctx<'_, '_>,
    args: &[Bytes],
    op: Op,
    name: &str,
    store: bool,
) -> CommandResult {
    let (keys, at) = setops::parse_keys(args, if store { 2 } else { 1 }, name)?;
    let mut inputs = Vec::with_capacity(keys.len());
    for key in keys {
        let meta = ctx.tx.get(key, ctx.now_ms)?;
        ctx.hit(meta.is_some());
        if meta.as_ref().is_some_and(|m| m.kind != Kind::ZSet && m.kind != Kind::Set) {
            return Err(errors::WRONGTYPE.into());
        }
        inputs.push(Input::new(ctx.tx.db, key.clone(), meta));
    }
    let (how, withscores) = setops::parse_options(args, at, op, store, &mut inputs)?;
    if store {
        let dst = &args[1];
        // A union is at least as big as its biggest input: refuse at once what must pass
        // the bound, before writing anything.
        let at_least = if op == Op::Union { inputs.iter().map(Input::len).max() } else { None };
        let floor = member_write_bytes(dst, b"");
        if at_least.is_some_and(|n| {
            !writes_fit(0, usize::try_from(n).unwrap_or(usize::MAX).saturating_mul(floor))
        }) {
            return Err(errors::WRITES_TOO_LARGE.into());
        }
        let mut out = ZSet::new(ctx.tx.db, dst.clone(), ctx.tx.new_collection(Kind::ZSet)?);
        let before = ctx.tx.pending_bytes();
        let result = setops::run(ctx.tx, op, inputs, how, |tx, member, score| {
            keyspace::check_element(dst, member)?;
            let so_far = tx.pending_bytes().saturating_sub(before);
            if !writes_fit(so_far, member_write_bytes(dst, member)) {
                return Err(errors::WRITES_TOO_LARGE.into());
            }
            out.set(tx, member, None, score)
        });
        if let Err(e) = result {
            // The result streamed into a version no metadata names yet: take it back.
            for ns in [keyspace::NS_ELEMENT, keyspace::NS_SCORE] {
                let prefix = keyspace::element_prefix(ns, ctx.tx.db, dst, out.meta.version);
                ctx.tx.discard_elements(&prefix);
            }
            return Err(e);
        }
        let n = out.len();
        if n == 0 {
            ctx.tx.delete(dst)?;
        } else {
            ctx.tx.put(dst, out.meta)?;
        }
        return Ok(len_reply(n));
    }
    let mut out = Listing::new(ctx, withscores);
    setops::run(ctx.tx, op, inputs, how, |_, member, score| out.push(member, score))?;
    // Redis's order: score (-0 equal to 0; results are never NaN), then member bytes.
    out.items.sort_by(|(am, a), (bm, b)| {
        a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal).then_with(|| am.cmp(bm))
    });
    Ok(out.reply(resp3(ctx)))
}

// ---- ZRANDMEMBER -----------------------------------------------------------------------------

/// A random member of a sorted set larger than [`RANDOM_UNIFORM_MAX`], by random descent
/// through the member order: the members of the current range share a prefix; the next
/// byte after it splits them into branches (found by seeking from branch to branch, at most
/// [`RANDOM_BRANCHES_MAX`] of them), one branch is picked uniformly and becomes the range,
/// until one member is left. Each branch is equally likely at each level, whatever its
/// size, so the pick is random but not uniform over members (docs/compatibility.md). With
/// more branches than the cap, a random byte picks the first branch at or after it.
/// Costs O(levels * branches) seeks, never a walk of the set.
fn random_member(
    ctx: &mut Ctx<'_, '_>,
    z: &ZSet,
    rng: &mut impl Rng,
) -> Result<Option<(Bytes, f64)>, CommandError> {
    let mut lo: Vec<u8> = Vec::new();
    let mut hi: Option<Vec<u8>> = None;
    for _ in 0..RANDOM_DESCENT_LEVELS {
        let upper = hi.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
        let Some(first) = z.member_edge(ctx.tx, (Bound::Included(lo.as_slice()), upper), false)?
        else {
            return Ok(None);
        };
        let Some(last) = z.member_edge(ctx.tx, (Bound::Included(lo.as_slice()), upper), true)?
        else {
            return Ok(None);
        };
        if first.0 == last.0 {
            return Ok(Some(first));
        }
        let common = first.0.iter().zip(last.0.iter()).take_while(|(a, b)| a == b).count();
        let prefix = &first.0[..common];
        // The branches: the prefix itself if it is a member (`None`), then each next byte.
        let mut branches: Vec<Option<u8>> = Vec::new();
        if first.0.len() == common {
            branches.push(None);
        }
        let mut complete = false;
        let mut probe = prefix.to_vec();
        probe.push(0);
        while branches.len() < RANDOM_BRANCHES_MAX {
            let Some((m, _)) =
                z.member_edge(ctx.tx, (Bound::Included(probe.as_slice()), upper), false)?
            else {
                complete = true;
                break;
            };
            let byte = m[common];
            branches.push(Some(byte));
            if byte == u8::MAX {
                complete = true;
                break;
            }
            probe[common] = byte + 1;
        }
        let pick = if complete {
            branches[rng.random_range(0..branches.len())]
        } else {
            // Too many branches to list: a random byte, then the first branch from it.
            let (bottom, top) = (first.0.get(common).copied().unwrap_or(0), last.0[common]);
            probe[common] = rng.random_range(bottom..=top);
            let m = z.member_edge(ctx.tx, (Bound::Included(probe.as_slice()), upper), false)?;
            Some(m.map_or(top, |(m, _)| m[common]))
        };
        let Some(byte) = pick else { return Ok(Some(first)) };
        let mut next_lo = prefix.to_vec();
        next_lo.push(byte);
        if byte < u8::MAX {
            let mut h = prefix.to_vec();
            h.push(byte + 1);
            hi = Some(h);
        }
        lo = next_lo;
    }
    let upper = hi.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
    z.member_edge(ctx.tx, (Bound::Included(lo.as_slice()), upper), false)
}

fn zrandmember(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    if args.len() == 2 {
        let Some(z) = read_zset(ctx, &args[1])? else { return Ok(Reply::Null) };
        let mut rng = rand::rng();
        let pick = if z.len() <= RANDOM_UNIFORM_MAX {
            let rank = rng.random_range(0..z.len().max(1));
            let mut found = None;
            z.by_rank(ctx.tx, rank, rank, false, |s, m| {
                found = Some((Bytes::copy_from_slice(m), s));
                Ok(ControlFlow::Break(()))
            })?;
            found
        } else {
            random_member(ctx, &z, &mut rng)?
        };
        return Ok(pick.map_or(Reply::Null, |(m, _)| Reply::Bulk(m)));
    }
    let count = super::elements::random_count_arg(&args[2])?;
    let withscores = match args.get(3) {
        None => false,
        Some(a) if args.len() == 4 && is(a, "withscores") => true,
        Some(_) => return Err(errors::SYNTAX.into()),
    };
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(errors::VALUE_OUT_OF_RANGE.into());
    }
    let Some(z) = read_zset(ctx, &args[1])? else { return Ok(Reply::Array(Vec::new())) };
    let mut out = Listing::new(ctx, withscores);
    if count == 0 {
        return Ok(out.reply(resp3(ctx)));
    }
    let mut rng = rand::rng();
    let len = z.len();
    let want = count.unsigned_abs();
    if count > 0 && want >= len {
        // The whole set (Redis's case 1), in score order.
        z.scan_all(ctx.tx, false, |s, m| out.visit(m, s))?;
    } else if len <= RANDOM_UNIFORM_MAX {
        let mut all = Listing::new(ctx, false);
        all.room = usize::MAX; // at most RANDOM_UNIFORM_MAX entries
        z.scan_all(ctx.tx, false, |s, m| all.visit(m, s))?;
        let mut all = all.items;
        if count < 0 {
            for _ in 0..want {
                let (m, s) = &all[rng.random_range(0..all.len())];
                out.push(m, *s)?;
            }
        } else {
            for i in 0..want as usize {
                let j = rng.random_range(i..all.len());
                all.swap(i, j);
                out.push(&all[i].0, all[i].1)?;
            }
        }
    } else if count < 0 {
        for _ in 0..want {
            if let Some((m, s)) = random_member(ctx, &z, &mut rng)? {
                out.push(&m, s)?;
            }
        }
    } else {
        distinct_sample(ctx, &z, want, &mut rng, &mut out)?;
    }
    Ok(out.reply(resp3(ctx)))
}

/// `want` distinct members (`want < len`) of a big sorted set: random descents while they
/// keep finding new members, else one pass of selection sampling over the index (uniform,
/// O(len) reads) for what is still missing.
fn distinct_sample(
    ctx: &mut Ctx<'_, '_>,
    z: &ZSet,
    want: u64,
    rng: &mut impl Rng,
    out: &mut Listing,
) -> Result<(), CommandError> {
    let len = z.len();
    let mut seen: HashSet<Bytes> = HashSet::new();
    if want.saturating_mul(2) < len {
        let mut misses = 0u64;
        while (seen.len() as u64) < want && misses < want + 64 {
            match random_member(ctx, z, rng)? {
                Some((m, s)) if !seen.contains(&m) => {
                    out.push(&m, s)?;
                    seen.insert(m);
                }
                _ => misses += 1,
            }
        }
    }
    // Knuth's selection sampling over the members not picked yet.
    let mut needed = want - seen.len() as u64;
    let mut remaining = len - seen.len() as u64;
    z.scan_all(ctx.tx, false, |s, m| {
        if needed == 0 {
            return Ok(ControlFlow::Break(()));
        }
        if seen.contains(m) {
            return Ok(ControlFlow::Continue(()));
        }
        if rng.random_range(0..remaining.max(1)) < needed {
            out.push(m, s)?;
            needed -= 1;
        }
        remaining = remaining.saturating_sub(1);
        Ok(ControlFlow::Continue(()))
    })?;
    Ok(())
}

// ---- ZSCAN -----------------------------------------------------------------------------------

/// A SCAN cursor as Redis's `parseScanCursorOrReply` reads it (`strtoul`): no leading space,
/// an optional sign (a minus wraps around), decimal digits, nothing after but a NUL; an
/// empty argument is cursor 0.
fn scan_cursor(arg: &[u8]) -> Option<u64> {
    let end = arg.iter().position(|&b| b == 0).unwrap_or(arg.len());
    let text = &arg[..end];
    if arg.is_empty() || end == 0 {
        return Some(0);
    }
    let (neg, digits) = match text[0] {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut n: u64 = 0;
    for &d in digits {
        n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if neg { n.wrapping_neg() } else { n })
}

fn zscan(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let cursor = scan_cursor(&args[2]).ok_or(errors::INVALID_CURSOR)?;
    let empty = || Reply::Array(vec![Reply::bulk("0"), Reply::Array(Vec::new())]);
    let Some(z) = read_zset(ctx, &args[1])? else { return Ok(empty()) };
    let (mut pattern, mut count): (Option<&Bytes>, u64) = (None, 10);
    let mut i = 3;
    while i < args.len() {
        let more = i + 1 < args.len();
        if is(&args[i], "count") && more {
            let n = int_arg(&args[i + 1])?;
            if n < 1 {
                return Err(errors::SYNTAX.into());
            }
            count = n.unsigned_abs();
        } else if is(&args[i], "match") && more {
            pattern = Some(&args[i + 1]).filter(|p| p.as_ref() != b"*");
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 2;
    }
    let room = ctx.output_room();
    let (mut found, mut bytes) = (Vec::new(), 0usize);
    let mut emit = |member: &[u8], score: f64| {
        if pattern.is_none_or(|p| glob::matches(p, member)) {
            bytes = bytes.saturating_add(member.len() + REPLY_ITEM_BYTES * 2 + REPLY_SCORE_BYTES);
            if bytes > room {
                return Err(CommandError::OutputLimit);
            }
            found.push(Reply::Bulk(Bytes::copy_from_slice(member)));
            found.push(Reply::Bulk(Bytes::from(format_score(score))));
        }
        Ok(())
    };
    if z.len() <= ZSCAN_ONE_CALL_MAX {
        // Like Redis's listpack: everything at once, in score order.
        z.scan_all(ctx.tx, false, |score, member| {
            emit(member, score)?;
            Ok(ControlFlow::Continue(()))
        })?;
        return Ok(Reply::Array(vec![Reply::bulk("0"), Reply::Array(found)]));
    }
    let after = if cursor == 0 { None } else { ctx.shared.cursors().resolve(cursor) };
    let mut examined = 0u64;
    let mut last: Option<Bytes> = None;
    let done = z.scan_members(ctx.tx, after.as_deref(), |member, score| {
        examined += 1;
        emit(member, score)?;
        if examined >= count {
            last = Some(Bytes::copy_from_slice(member));
            return Ok(ControlFlow::Break(()));
        }
        Ok(ControlFlow::Continue(()))
    })?;
    let next = match (done, last) {
        (false, Some(last)) => ctx.shared.cursors().issue(last),
        _ => 0,
    };
    Ok(Reply::Array(vec![Reply::bulk(next.to_string()), Reply::Array(found)]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_writes_fit_at_the_limit_and_not_one_past() {
        assert!(writes_fit(0, COMMAND_WRITE_BYTES_MAX));
        assert!(!writes_fit(0, COMMAND_WRITE_BYTES_MAX + 1));
        assert!(writes_fit(COMMAND_WRITE_BYTES_MAX - 10, 10));
        assert!(!writes_fit(COMMAND_WRITE_BYTES_MAX - 10, 11));
        assert!(!writes_fit(usize::MAX, 1), "no overflow");
        let mut doomed = Doomed::new(b"k");
        let one = member_write_bytes(b"k", b"m");
        doomed.bytes = COMMAND_WRITE_BYTES_MAX - one;
        assert!(doomed.push(b"m", 1.0).is_ok(), "at the limit");
        assert!(doomed.push(b"m", 1.0).is_err(), "one member past it");
        assert_eq!(doomed.items.len(), 1);
    }

    #[test]
    fn clamp_ranks_follows_redis() {
        assert_eq!(clamp_ranks(0, -1, 5), Some((0, 4)));
        assert_eq!(clamp_ranks(-100, 1, 5), Some((0, 1)));
        assert_eq!(clamp_ranks(3, 100, 5), Some((3, 4)));
        assert_eq!(clamp_ranks(2, 1, 5), None);
        assert_eq!(clamp_ranks(5, 10, 5), None);
        assert_eq!(clamp_ranks(-2, -1, 5), Some((3, 4)));
        assert_eq!(clamp_ranks(i64::MIN, i64::MAX, 5), Some((0, 4)));
        assert_eq!(clamp_ranks(0, -6, 5), None);
    }

    #[test]
    fn scan_cursor_follows_strtoul() {
        assert_eq!(scan_cursor(b"0"), Some(0));
        assert_eq!(scan_cursor(b""), Some(0));
        assert_eq!(scan_cursor(b"+5"), Some(5));
        assert_eq!(scan_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(scan_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(scan_cursor(b"7\0junk"), Some(7));
        for bad in [&b" 5"[..], b"5 ", b"x", b"-", b"18446744073709551616", b"1.5"] {
            assert_eq!(scan_cursor(bad), None, "{bad:?}");
        }
    }
}
