//! Set commands (Redis's t_set.c). A set is a metadata record plus one element per member,
//! `element_key(db, key, version, member)` -> empty (docs/format/keys.md, "Collections"), so
//! members are in byte order and SISMEMBER is one metadata read and one element read.
//!
//! Multi-set commands stream: SINTER pages through the smallest set and probes the others
//! with point reads (as Redis iterates the smallest set); SDIFF pages through the first set and
//! probes the rest; SUNION merges the sets' ordered pages. None of them holds more than a page
//! per set besides its reply. The STORE forms collect the result (each member checked against
//! the destination's element limit) before writing any of it under a new version of the
//! destination, so a refused command writes nothing; an empty result deletes the destination.
//! Random picks (SPOP, SRANDMEMBER) use `elements::Sampler`.

use super::elements::{
    Pager, REPLY_OVERHEAD_BYTES, Sampler, parse_cursor, random_count_arg, scan_options, scan_page,
};
use super::hashes::scan_reply;
use super::{get_collection, get_or_new_collection, int_arg, is, save_collection};
use crate::command::{CommandSpec, Ctx, flags::*};
use crate::errors::{self, CommandError, CommandResult};
use crate::keyspace::{self, Kind, Meta, NS_ELEMENT};
use bytes::Bytes;
use lode_resp::Reply;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::ops::ControlFlow;

const W: u32 = WRITE | ENGINE;
const R: u32 = READONLY | ENGINE;

/// The command group COMMAND DOCS reports for this file's commands.
const GROUP: &str = "set";

pub(crate) const SPECS: &[CommandSpec] = &[
    spec!(
        GROUP,
        "sadd",
        -3,
        W | DENYOOM | FAST,
        (1, 1, 1),
        "Add one or more members to a set",
        "1.0.0",
        sadd
    ),
    spec!(
        GROUP,
        "srem",
        -3,
        W | FAST,
        (1, 1, 1),
        "Remove one or more members from a set",
        "1.0.0",
        srem
    ),
    spec!(GROUP, "smembers", 2, R, (1, 1, 1), "Get all the members in a set", "1.0.0", smembers),
    spec!(
        GROUP,
        "sismember",
        3,
        R | FAST,
        (1, 1, 1),
        "Determine if a given value is a member of a set",
        "1.0.0",
        sismember
    ),
    spec!(
        GROUP,
        "smismember",
        -3,
        R | FAST,
        (1, 1, 1),
        "Returns the membership associated with the given elements for a set",
        "6.2.0",
        smismember
    ),
    spec!(
        GROUP,
        "scard",
        2,
        R | FAST,
        (1, 1, 1),
        "Get the number of members in a set",
        "1.0.0",
        scard
    ),
    spec!(
        GROUP,
        "spop",
        -2,
        W | FAST,
        (1, 1, 1),
        "Remove and return one or multiple random members from a set",
        "1.0.0",
        spop
    ),
    spec!(
        GROUP,
        "srandmember",
        -2,
        R,
        (1, 1, 1),
        "Get one or multiple random members from a set",
        "1.0.0",
        srandmember
    ),
    spec!(
        GROUP,
        "smove",
        4,
        W | FAST,
        (1, 2, 1),
        "Move a member from one set to another",
        "1.0.0",
        smove
    ),
    spec!(GROUP, "sinter", -2, R, (1, -1, 1), "Intersect multiple sets", "1.0.0", sinter),
    spec!(
        GROUP,
        "sintercard",
        -3,
        R | MOVABLEKEYS,
        "Intersect multiple sets and return the cardinality of the result",
        "7.0.0",
        sintercard
    ),
    spec!(GROUP, "sunion", -2, R, (1, -1, 1), "Add multiple sets", "1.0.0", sunion),
    spec!(GROUP, "sdiff", -2, R, (1, -1, 1), "Subtract multiple sets", "1.0.0", sdiff),
    spec!(
        GROUP,
        "sinterstore",
        -3,
        W | DENYOOM,
        (1, -1, 1),
        "Intersect multiple sets and store the resulting set in a key",
        "1.0.0",
        sinterstore
    ),
    spec!(
        GROUP,
        "sunionstore",
        -3,
        W | DENYOOM,
        (1, -1, 1),
        "Add multiple sets and store the resulting set in a key",
        "1.0.0",
        sunionstore
    ),
    spec!(
        GROUP,
        "sdiffstore",
        -3,
        W | DENYOOM,
        (1, -1, 1),
        "Subtract multiple sets and store the resulting set in a key",
        "1.0.0",
        sdiffstore
    ),
    spec!(GROUP, "sscan", -3, R, (1, 1, 1), "Incrementally iterate Set elements", "2.8.0", sscan),
];

/// The element key of `member` in the set `meta` at `key`.
fn member_key(ctx: &Ctx<'_, '_>, key: &[u8], meta: &Meta, member: &[u8]) -> Vec<u8> {
    keyspace::element_key(ctx.tx.db, key, meta.version, member)
}

fn is_member(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    meta: &Meta,
    member: &[u8],
) -> Result<bool, CommandError> {
    let ek = member_key(ctx, key, meta, member);
    Ok(ctx.tx.element(&ek)?.is_some())
}

fn len_reply(len: u64) -> i64 {
    i64::try_from(len).unwrap_or(i64::MAX)
}

fn sadd(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    for member in &args[2..] {
        keyspace::check_element(key, member)?;
    }
    let mut meta = get_or_new_collection(ctx, key, Kind::Set)?;
    let mut added = 0;
    for member in &args[2..] {
        if meta.len == 0 || !is_member(ctx, key, &meta, member)? {
            let ek = member_key(ctx, key, &meta, member);
            ctx.tx.put_element(ek, Bytes::new())?;
            meta.len += 1;
            added += 1;
        }
    }
    if added > 0 {
        save_collection(ctx, key, meta)?;
    }
    Ok(Reply::Integer(added))
}

fn srem(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    let Some(mut meta) = get_collection(ctx, key, Kind::Set)? else {
        return Ok(Reply::Integer(0));
    };
    let mut removed = 0;
    for member in &args[2..] {
        if is_member(ctx, key, &meta, member)? {
            let ek = member_key(ctx, key, &meta, member);
            ctx.tx.delete_element(ek)?;
            meta.len = meta.len.saturating_sub(1);
            removed += 1;
        }
    }
    if removed > 0 {
        save_collection(ctx, key, meta)?;
    }
    Ok(Reply::Integer(removed))
}

/// The set at `key` for a read command, counting the hit or miss.
fn read_set(ctx: &mut Ctx<'_, '_>, key: &Bytes) -> Result<Option<Meta>, CommandError> {
    let meta = get_collection(ctx, key, Kind::Set)?;
    ctx.hit(meta.is_some());
    Ok(meta)
}

/// Charges one member's reply bytes against the output limit.
fn charge(bytes: &mut usize, room: usize, member: &[u8]) -> Result<(), CommandError> {
    *bytes = bytes.saturating_add(member.len() + REPLY_OVERHEAD_BYTES);
    if *bytes > room { Err(CommandError::OutputLimit) } else { Ok(()) }
}

fn smembers(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    let Some(meta) = read_set(ctx, key)? else { return Ok(Reply::Set(Vec::new())) };
    let room = ctx.output_room();
    let (mut out, mut bytes) = (Vec::new(), 0usize);
    ctx.tx.scan_collection(NS_ELEMENT, key, &meta, false, |member, _| {
        charge(&mut bytes, room, member)?;
        out.push(Reply::Bulk(Bytes::copy_from_slice(member)));
        Ok(ControlFlow::Continue(()))
    })?;
    Ok(Reply::Set(out))
}

fn sismember(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    let Some(meta) = read_set(ctx, key)? else { return Ok(Reply::Integer(0)) };
    Ok(Reply::Integer(i64::from(is_member(ctx, key, &meta, &args[2])?)))
}

fn smismember(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    let meta = read_set(ctx, key)?;
    let mut out = Vec::with_capacity(args.len() - 2);
    for member in &args[2..] {
        let found = match &meta {
            Some(meta) => is_member(ctx, key, meta, member)?,
            None => false,
        };
        out.push(Reply::Integer(i64::from(found)));
    }
    Ok(Reply::Array(out))
}

fn scard(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    Ok(Reply::Integer(read_set(ctx, &args[1])?.map_or(0, |m| len_reply(m.len))))
}

fn spop(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    let count = match args.len() {
        2 => None,
        3 => match int_arg(&args[2]) {
            Ok(n) if n >= 0 => Some(n.unsigned_abs()),
            _ => return Err(errors::MUST_BE_POSITIVE.into()),
        },
        _ => return Err(errors::SYNTAX.into()),
    };
    let meta = get_collection(ctx, key, Kind::Set)?;
    let Some(mut meta) = meta else {
        return Ok(if count.is_some() { Reply::Set(Vec::new()) } else { Reply::Null });
    };
    let mut rng = rand::rng();
    let mut sampler = Sampler::new(ctx.tx, key, &meta)?;
    let Some(count) = count else {
        let Some(member) = sampler.pick(ctx.tx, &mut rng)? else { return Ok(Reply::Null) };
        let ek = member_key(ctx, key, &meta, &member);
        ctx.tx.delete_element(ek)?;
        meta.len = meta.len.saturating_sub(1);
        save_collection(ctx, key, meta)?;
        return Ok(Reply::Bulk(member));
    };
    if count == 0 {
        return Ok(Reply::Set(Vec::new()));
    }
    let (room, mut bytes) = (ctx.output_room(), 0usize);
    let members = sampler.distinct(ctx.tx, &mut rng, count, |m| charge(&mut bytes, room, m))?;
    if count >= meta.len {
        // The whole set: drop the metadata; its elements become garbage for compaction.
        meta.len = 0;
    } else {
        for member in &members {
            let ek = member_key(ctx, key, &meta, member);
            ctx.tx.delete_element(ek)?;
        }
        meta.len = meta.len.saturating_sub(members.len() as u64);
    }
    save_collection(ctx, key, meta)?;
    Ok(Reply::Set(members.into_iter().map(Reply::Bulk).collect()))
}

fn srandmember(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    let count = match args.len() {
        2 => None,
        3 => Some(random_count_arg(&args[2])?),
        _ => return Err(errors::SYNTAX.into()),
    };
    let Some(meta) = read_set(ctx, key)? else {
        return Ok(if count.is_some() { Reply::Array(Vec::new()) } else { Reply::Null });
    };
    let mut rng = rand::rng();
    let mut sampler = Sampler::new(ctx.tx, key, &meta)?;
    let Some(count) = count else {
        return Ok(sampler.pick(ctx.tx, &mut rng)?.map_or(Reply::Null, Reply::Bulk));
    };
    let (room, mut bytes) = (ctx.output_room(), 0usize);
    let charge = |m: &Bytes| charge(&mut bytes, room, m);
    let members = if count < 0 {
        sampler.with_repeats(ctx.tx, &mut rng, count.unsigned_abs(), room, charge)?
    } else {
        sampler.distinct(ctx.tx, &mut rng, count.unsigned_abs(), charge)?
    };
    Ok(Reply::Array(members.into_iter().map(Reply::Bulk).collect()))
}

fn smove(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let (src, dst, member) = (&args[1], &args[2], &args[3]);
    // Redis's order: a missing source answers 0 before either type is checked.
    let now = ctx.now_ms;
    let Some(mut src_meta) = ctx.tx.get(src, now)? else { return Ok(Reply::Integer(0)) };
    let dst_meta = ctx.tx.get(dst, now)?;
    if src_meta.kind != Kind::Set || dst_meta.as_ref().is_some_and(|m| m.kind != Kind::Set) {
        return Err(errors::WRONGTYPE.into());
    }
    if !is_member(ctx, src, &src_meta, member)? {
        return Ok(Reply::Integer(0));
    }
    if src == dst {
        return Ok(Reply::Integer(1));
    }
    keyspace::check_element(dst, member)?;
    let ek = member_key(ctx, src, &src_meta, member);
    ctx.tx.delete_element(ek)?;
    src_meta.len = src_meta.len.saturating_sub(1);
    save_collection(ctx, src, src_meta)?;
    let mut dst_meta = match dst_meta {
        Some(m) => m,
        None => ctx.tx.new_collection(Kind::Set)?,
    };
    if dst_meta.len == 0 || !is_member(ctx, dst, &dst_meta, member)? {
        let ek = member_key(ctx, dst, &dst_meta, member);
        ctx.tx.put_element(ek, Bytes::new())?;
        dst_meta.len += 1;
    }
    save_collection(ctx, dst, dst_meta)?;
    Ok(Reply::Integer(1))
}

/// The sets at `keys` (`None` for a missing key), every key's type checked first as Redis
/// does; `read` counts hits and misses (the STORE forms look their keys up for writing).
fn load_sets(
    ctx: &mut Ctx<'_, '_>,
    keys: &[Bytes],
    read: bool,
) -> Result<Vec<Option<Meta>>, CommandError> {
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        let meta = get_collection(ctx, key, Kind::Set)?;
        if read {
            ctx.hit(meta.is_some());
        }
        out.push(meta);
    }
    Ok(out)
}

/// Where a multi-set command's members go.
enum Sink<'d> {
    /// SINTER/SUNION/SDIFF: the reply, charged against the output limit.
    Reply { out: Vec<Reply>, bytes: usize, room: usize },
    /// SINTERCARD: a count, stopping at the limit (0 = none).
    Count { n: u64, limit: u64 },
    /// The STORE forms: members checked against the destination key's element limit.
    Store { dest: &'d [u8], members: Vec<Bytes> },
}

impl Sink<'_> {
    fn reply(ctx: &Ctx<'_, '_>) -> Sink<'static> {
        Sink::Reply { out: Vec::new(), bytes: 0, room: ctx.output_room() }
    }

    /// Takes one member; `Break` once the sink needs no more.
    fn push(&mut self, member: Bytes) -> Result<ControlFlow<()>, CommandError> {
        match self {
            Sink::Reply { out, bytes, room } => {
                charge(bytes, *room, &member)?;
                out.push(Reply::Bulk(member));
            }
            Sink::Count { n, limit } => {
                *n += 1;
                if *n == *limit {
                    return Ok(ControlFlow::Break(()));
                }
            }
            Sink::Store { dest, members } => {
                keyspace::check_element(dest, &member)?;
                members.push(member);
            }
        }
        Ok(ControlFlow::Continue(()))
    }
}

/// The members of every set in `sets` (absent ones count as empty): the smallest set paged
/// through, each member probed in the others, smallest first.
fn inter(
    ctx: &mut Ctx<'_, '_>,
    keys: &[Bytes],
    sets: &[Option<Meta>],
    sink: &mut Sink<'_>,
) -> Result<(), CommandError> {
    let mut order: Vec<(&Bytes, &Meta)> = Vec::with_capacity(sets.len());
    for (key, meta) in keys.iter().zip(sets) {
        match meta {
            Some(meta) => order.push((key, meta)),
            None => return Ok(()),
        }
    }
    order.sort_by_key(|(_, m)| m.len);
    let Some(((key, meta), others)) = order.split_first() else { return Ok(()) };
    let mut pager = Pager::new(ctx.tx.db, key, meta);
    'members: while let Some((member, _)) = pager.next(ctx.tx)? {
        for (other, other_meta) in others {
            if !is_member(ctx, other, other_meta, &member)? {
                continue 'members;
            }
        }
        if sink.push(member)?.is_break() {
            break;
        }
    }
    Ok(())
}

/// The members of any set in `sets`, once each, in order: a merge of the sets' pages.
fn union(
    ctx: &mut Ctx<'_, '_>,
    keys: &[Bytes],
    sets: &[Option<Meta>],
    sink: &mut Sink<'_>,
) -> Result<(), CommandError> {
    let mut pagers = Vec::new();
    for (key, meta) in keys.iter().zip(sets) {
        if let Some(meta) = meta {
            pagers.push(Pager::new(ctx.tx.db, key, meta));
        }
    }
    let mut heap = BinaryHeap::new();
    for (i, pager) in pagers.iter_mut().enumerate() {
        if let Some((member, _)) = pager.next(ctx.tx)? {
            heap.push(Reverse((member, i)));
        }
    }
    let mut last: Option<Bytes> = None;
    while let Some(Reverse((member, i))) = heap.pop() {
        if let Some((next, _)) = pagers[i].next(ctx.tx)? {
            heap.push(Reverse((next, i)));
        }
        if last.as_ref() == Some(&member) {
            continue;
        }
        last = Some(member.clone());
        if sink.push(member)?.is_break() {
            break;
        }
    }
    Ok(())
}

/// The members of the first set in no other: the first set paged through, each member probed
/// in the others.
fn diff(
    ctx: &mut Ctx<'_, '_>,
    keys: &[Bytes],
    sets: &[Option<Meta>],
    sink: &mut Sink<'_>,
) -> Result<(), CommandError> {
    let Some(Some(first)) = sets.first() else { return Ok(()) };
    let others: Vec<(&Bytes, &Meta)> =
        keys[1..].iter().zip(&sets[1..]).filter_map(|(k, m)| m.as_ref().map(|m| (k, m))).collect();
    let mut pager = Pager::new(ctx.tx.db, &keys[0], first);
    'members: while let Some((member, _)) = pager.next(ctx.tx)? {
        for (other, other_meta) in &others {
            if is_member(ctx, other, other_meta, &member)? {
                continue 'members;
            }
        }
        if sink.push(member)?.is_break() {
            break;
        }
    }
    Ok(())
}

type SetOp =
    fn(&mut Ctx<'_, '_>, &[Bytes], &[Option<Meta>], &mut Sink<'_>) -> Result<(), CommandError>;

/// SINTER, SUNION, SDIFF: the members as a set reply.
fn read_op(ctx: &mut Ctx<'_, '_>, keys: &[Bytes], op: SetOp) -> CommandResult {
    let sets = load_sets(ctx, keys, true)?;
    let mut sink = Sink::reply(ctx);
    op(ctx, keys, &sets, &mut sink)?;
    match sink {
        Sink::Reply { out, .. } => Ok(Reply::Set(out)),
        _ => unreachable!("read_op builds a reply sink"),
    }
}

/// SINTERSTORE, SUNIONSTORE, SDIFFSTORE: the members written as a new version of `args[1]`
/// (whatever it held, its TTL dropped), or the destination deleted when there are none.
fn store_op(ctx: &mut Ctx<'_, '_>, args: &[Bytes], op: SetOp) -> CommandResult {
    let (dest, keys) = (&args[1], &args[2..]);
    let sets = load_sets(ctx, keys, false)?;
    let mut sink = Sink::Store { dest, members: Vec::new() };
    op(ctx, keys, &sets, &mut sink)?;
    let Sink::Store { members, .. } = sink else { unreachable!("store_op builds a store sink") };
    if members.is_empty() {
        if ctx.tx.get(dest, ctx.now_ms)?.is_some() {
            ctx.tx.delete(dest)?;
        }
        return Ok(Reply::Integer(0));
    }
    let mut meta = ctx.tx.new_collection(Kind::Set)?;
    for member in &members {
        let ek = member_key(ctx, dest, &meta, member);
        ctx.tx.put_element(ek, Bytes::new())?;
    }
    meta.len = members.len() as u64;
    ctx.tx.put(dest, meta)?;
    Ok(Reply::Integer(len_reply(members.len() as u64)))
}

fn sinter(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    read_op(ctx, &args[1..], inter)
}

fn sunion(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    read_op(ctx, &args[1..], union)
}

fn sdiff(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    read_op(ctx, &args[1..], diff)
}

fn sinterstore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    store_op(ctx, args, inter)
}

fn sunionstore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    store_op(ctx, args, union)
}

fn sdiffstore(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    store_op(ctx, args, diff)
}

fn sintercard(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let numkeys = match int_arg(&args[1]) {
        Ok(n) if n >= 1 => n.unsigned_abs(),
        _ => return Err(errors::NUMKEYS_NOT_POSITIVE.into()),
    };
    let rest = &args[2..];
    let numkeys = match usize::try_from(numkeys) {
        Ok(n) if n <= rest.len() => n,
        _ => return Err(errors::NUMKEYS_PAST_ARGS.into()),
    };
    let (keys, options) = rest.split_at(numkeys);
    let mut limit = 0;
    let mut i = 0;
    while i < options.len() {
        if is(&options[i], "limit") && i + 1 < options.len() {
            limit = match int_arg(&options[i + 1]) {
                Ok(n) if n >= 0 => n.unsigned_abs(),
                _ => return Err(errors::LIMIT_NEGATIVE.into()),
            };
            i += 2;
        } else {
            return Err(errors::SYNTAX.into());
        }
    }
    let sets = load_sets(ctx, keys, true)?;
    let mut sink = Sink::Count { n: 0, limit };
    inter(ctx, keys, &sets, &mut sink)?;
    let Sink::Count { n, .. } = sink else { unreachable!("a count sink") };
    Ok(Reply::Integer(len_reply(n)))
}

fn sscan(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let cursor = parse_cursor(&args[2])?;
    let key = &args[1];
    let Some(meta) = read_set(ctx, key)? else { return Ok(scan_reply(0, Vec::new())) };
    let (pattern, count) = scan_options(&args[3..])?;
    let (next, found) = scan_page(ctx, key, &meta, cursor, pattern, count)?;
    Ok(scan_reply(next, found.into_iter().map(|(m, _)| Reply::Bulk(m)).collect()))
}
