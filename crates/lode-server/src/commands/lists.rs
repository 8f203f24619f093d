//! List commands (Redis's t_list.c), the blocking ones included.
//!
//! Encoding (docs/format/keys.md, "Lists"): a list is its metadata (version, len, head) plus
//! one element per position `head .. head + len`: `element_key(db, key, version, position)`,
//! the position a big-endian `u64`, -> the element. So a push or a pop at either end is one
//! element write plus the metadata, LINDEX and LSET are one point access, and LRANGE is one
//! range scan that starts at `head + start`. LINSERT and LREM move the elements on the shorter
//! side of the change; LTRIM deletes what it trims, or copies what it keeps to a new version
//! when that is less work.
//!
//! Every command checks all of its arguments (numbers, element sizes, room for new positions)
//! before it writes anything, so it writes all of its changes or none.
//!
//! Blocking (blocked.rs has the registry and the whole protocol): BLPOP, BRPOP, BLMOVE and
//! BRPOPLPUSH act as the non-blocking forms when a list has elements; otherwise (outside EXEC)
//! they register the client and end its burst, and [`serve_blocked`] pops for blocked clients
//! after each command that put a list at a key they wait on.

use super::{int_arg, is};
use crate::blocked::{BlockOp, Delivery};
use crate::command::{self, CommandSpec, Ctx, flags::*};
use crate::errors::{self, CommandError, CommandResult};
use crate::keyspace::{self, Kind, Meta};
use crate::long_double::{self, LongDouble};
use crate::server::Shared;
use crate::session::BlockedOn;
use crate::tx::Tx;
use bytes::Bytes;
use lode_resp::Reply;
use std::ops::{Bound, ControlFlow};
use std::time::{Duration, Instant};

const W: u32 = WRITE | ENGINE;
const R: u32 = READONLY | ENGINE;
/// The blocking commands: Redis also marks them `noscript` and `blocking`.
const B: u32 = W | NOSCRIPT | BLOCKING;

/// The command group COMMAND DOCS reports for this file's commands.
const GROUP: &str = "list";

/// Positions are below this, so `head + len` never overflows a `u64`. A new list starts at
/// `keyspace::LIST_HEAD_START` (2^63), so it takes about 2^63 pushes at one end before a push
/// there fails with `ERR list is full`.
pub(crate) const LIST_POSITION_END: u64 = u64::MAX;

/// Elements a walk that moves elements (LINSERT, LREM, LTRIM's copy) reads before it writes
/// them; with [`WALK_CHUNK_BYTES`], what a walk holds besides the `Tx`'s pending writes.
const WALK_CHUNK_ELEMENTS: usize = 1024;
const WALK_CHUNK_BYTES: usize = 1 << 20;

/// Reply bytes counted per element besides its own (bulk header, framing).
const REPLY_ELEMENT_OVERHEAD_BYTES: usize = 16;

pub(crate) const SPECS: &[CommandSpec] = &[
    spec!(
        GROUP,
        "lpush",
        -3,
        W | DENYOOM | FAST,
        (1, 1, 1),
        "Prepend one or multiple elements to a list",
        "1.0.0",
        lpush
    ),
    spec!(
        GROUP,
        "rpush",
        -3,
        W | DENYOOM | FAST,
        (1, 1, 1),
        "Append one or multiple elements to a list",
        "1.0.0",
        rpush
    ),
    spec!(
        GROUP,
        "lpushx",
        -3,
        W | DENYOOM | FAST,
        (1, 1, 1),
        "Prepend an element to a list, only if the list exists",
        "2.2.0",
        lpushx
    ),
    spec!(
        GROUP,
        "rpushx",
        -3,
        W | DENYOOM | FAST,
        (1, 1, 1),
        "Append an element to a list, only if the list exists",
        "2.2.0",
        rpushx
    ),
    spec!(
        GROUP,
        "lpop",
        -2,
        W | FAST,
        (1, 1, 1),
        "Remove and get the first elements in a list",
        "1.0.0",
        lpop
    ),
    spec!(
        GROUP,
        "rpop",
        -2,
        W | FAST,
        (1, 1, 1),
        "Remove and get the last elements in a list",
        "1.0.0",
        rpop
    ),
    spec!(GROUP, "llen", 2, R | FAST, (1, 1, 1), "Get the length of a list", "1.0.0", llen),
    spec!(GROUP, "lrange", 4, R, (1, 1, 1), "Get a range of elements from a list", "1.0.0", lrange),
    spec!(
        GROUP,
        "lindex",
        3,
        R,
        (1, 1, 1),
        "Get an element from a list by its index",
        "1.0.0",
        lindex
    ),
    spec!(
        GROUP,
        "lset",
        4,
        W | DENYOOM,
        (1, 1, 1),
        "Set the value of an element in a list by its index",
        "1.0.0",
        lset
    ),
    spec!(
        GROUP,
        "linsert",
        5,
        W | DENYOOM,
        (1, 1, 1),
        "Insert an element before or after another element in a list",
        "2.2.0",
        linsert
    ),
    spec!(GROUP, "lrem", 4, W, (1, 1, 1), "Remove elements from a list", "1.0.0", lrem),
    spec!(GROUP, "ltrim", 4, W, (1, 1, 1), "Trim a list to the specified range", "1.0.0", ltrim),
    spec!(
        GROUP,
        "lpos",
        -3,
        R,
        (1, 1, 1),
        "Return the index of matching elements on a list",
        "6.0.6",
        lpos
    ),
    spec!(
        GROUP,
        "lmove",
        5,
        W | DENYOOM,
        (1, 2, 1),
        "Pop an element from a list, push it to another list and return it",
        "6.2.0",
        lmove
    ),
    spec!(
        GROUP,
        "rpoplpush",
        3,
        W | DENYOOM,
        (1, 2, 1),
        "Remove the last element in a list, prepend it to another list and return it",
        "1.2.0",
        rpoplpush
    ),
    spec!(
        GROUP,
        "blpop",
        -3,
        B,
        (1, -2, 1),
        "Remove and get the first element in a list, or block until one is available",
        "2.0.0",
        blpop
    ),
    spec!(
        GROUP,
        "brpop",
        -3,
        B,
        (1, -2, 1),
        "Remove and get the last element in a list, or block until one is available",
        "2.0.0",
        brpop
    ),
    spec!(
        GROUP,
        "blmove",
        6,
        B | DENYOOM,
        (1, 2, 1),
        "Pop an element from a list, push it to another list and return it; or block until one is available",
        "6.2.0",
        blmove
    ),
    spec!(
        GROUP,
        "brpoplpush",
        4,
        B | DENYOOM,
        (1, 2, 1),
        "Pop an element from a list, push it to another list and return it; or block until one is available",
        "2.2.0",
        brpoplpush
    ),
];

// ---- Arguments (pure) ----

/// `LEFT` or `RIGHT` (LMOVE, BLMOVE): true for the head.
fn end_arg(arg: &[u8]) -> Result<bool, CommandError> {
    if is(arg, "left") {
        Ok(true)
    } else if is(arg, "right") {
        Ok(false)
    } else {
        Err(errors::SYNTAX.into())
    }
}

/// A blocking command's timeout in seconds, as Redis 7.0 reads it: a `long double`, times
/// 1000, rounded up to whole milliseconds, cast to `long long` (a value past its range
/// becomes its minimum on x86-64, so it is "negative"). `Ok(0)` means forever.
fn timeout_ms_arg(arg: &[u8]) -> Result<u64, CommandError> {
    let seconds = long_double::parse(arg).ok_or(errors::TIMEOUT_NOT_FLOAT)?;
    u64::try_from(ceil_millis(seconds)).map_err(|_| errors::TIMEOUT_NEGATIVE.into())
}

/// `(long long) ceill(seconds * 1000.0L)` on x86-64: the product rounded to the 64-bit
/// significand of a `long double` (to nearest, ties to even), then up to an integer; a result
/// out of the `i64` range (infinity included) is `i64::MIN`, as the x87 conversion gives.
fn ceil_millis(seconds: LongDouble) -> i64 {
    let LongDouble::Finite { neg, mant, exp } = seconds else { return i64::MIN };
    if mant == 0 {
        return 0;
    }
    let mut product = u128::from(mant) * 1000;
    let mut exp = exp;
    let bits = 128 - product.leading_zeros();
    if bits > 64 {
        let shift = bits - 64;
        let rem = product & ((1u128 << shift) - 1);
        let half = 1u128 << (shift - 1);
        product >>= shift;
        exp += i64::from(shift);
        if rem > half || (rem == half && product & 1 == 1) {
            product += 1;
            if product >> 64 != 0 {
                product >>= 1;
                exp += 1;
            }
        }
    }
    let mant = product as u64;
    let (whole, fraction) = if exp >= 0 {
        if exp >= 64 || mant.leading_zeros() < exp as u32 {
            return i64::MIN;
        }
        (mant << exp, false)
    } else {
        let shift = exp.unsigned_abs();
        if shift >= 64 { (0, true) } else { (mant >> shift, mant & ((1u64 << shift) - 1) != 0) }
    };
    // Rounding up: a positive value with a fraction goes to the next integer; a negative
    // one drops its fraction.
    let magnitude = if !neg && fraction { whole.checked_add(1) } else { Some(whole) };
    match magnitude.and_then(|m| i64::try_from(m).ok()) {
        Some(m) if neg => -m,
        Some(m) => m,
        None => i64::MIN,
    }
}

/// LPOP/RPOP's count (Redis's `getPositiveLongFromObjectOrReply`).
fn count_arg(arg: &[u8]) -> Result<u64, CommandError> {
    lode_resp::parse_i64(arg)
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| errors::MUST_BE_POSITIVE.into())
}

/// The 0-based, inclusive range `[start, stop]` of a list of `len` that LRANGE and LTRIM
/// address, Redis's way (negative indexes from the end, clamped); `None` when it is empty.
fn index_range(start: i64, stop: i64, len: u64) -> Option<(u64, u64)> {
    let len = i128::from(len);
    let mut start = i128::from(start);
    let mut stop = i128::from(stop);
    if start < 0 {
        start += len;
    }
    if stop < 0 {
        stop += len;
    }
    start = start.max(0);
    if start > stop || start >= len {
        return None;
    }
    stop = stop.min(len - 1);
    Some((start as u64, stop as u64))
}

/// A 0-based index of a list of `len` from LINDEX's or LSET's argument (negative from the end).
fn index_of(index: i64, len: u64) -> Option<u64> {
    let i = if index < 0 { i128::from(len) + i128::from(index) } else { i128::from(index) };
    u64::try_from(i).ok().filter(|&i| i < len)
}

// ---- The list on the engine ----

/// The live list at `key` in the `Tx`'s database; WRONGTYPE for another type, an error for a
/// record whose positions would pass [`LIST_POSITION_END`].
fn load(tx: &mut Tx<'_>, key: &Bytes, now_ms: u64) -> Result<Option<Meta>, CommandError> {
    match tx.get(key, now_ms)? {
        Some(meta) if meta.kind != Kind::List => Err(errors::WRONGTYPE.into()),
        Some(meta) if meta.len == 0 => Err(errors::corrupt_record("list of no elements")),
        Some(meta)
            if LIST_POSITION_END.checked_sub(meta.head).is_none_or(|room| meta.len > room) =>
        {
            Err(errors::corrupt_record("list positions past the end"))
        }
        other => Ok(other),
    }
}

fn get_list(ctx: &mut Ctx<'_, '_>, key: &Bytes) -> Result<Option<Meta>, CommandError> {
    load(ctx.tx, key, ctx.now_ms)
}

/// The element key of `position` in the list `meta` at `key`.
fn position_key(tx: &Tx<'_>, key: &[u8], meta: &Meta, position: u64) -> Vec<u8> {
    keyspace::element_key(tx.db, key, meta.version, &position.to_be_bytes())
}

/// The user key of a list whose element keys fit the engine: WRONGTYPE aside, what a push
/// checks before it writes.
fn check_key(key: &[u8]) -> Result<(), CommandError> {
    keyspace::check_element(key, &0u64.to_be_bytes())
}

fn check_value(value: &[u8]) -> Result<(), CommandError> {
    if value.len() > keyspace::ELEMENT_VALUE_BYTES_MAX {
        return Err(errors::STRING_TOO_LONG.into());
    }
    Ok(())
}

/// `ERR list is full` unless `n` more positions fit at that end of `meta`.
fn check_room(meta: &Meta, n: u64, left: bool) -> Result<(), CommandError> {
    let room = if left { meta.head } else { LIST_POSITION_END - (meta.head + meta.len) };
    if n > room { Err(errors::LIST_FULL.into()) } else { Ok(()) }
}

/// `meta` after a pop at that end (positions only; no element is touched).
fn after_pop(meta: &Meta, left: bool) -> Meta {
    let mut m = meta.clone();
    if m.len > 0 {
        m.len -= 1;
        if left {
            m.head += 1;
        }
    }
    m
}

/// Pushes `value` at one end. Callers check room first ([`check_room`]), so a command that
/// pushes several elements writes all or none; this checks again.
fn push(
    tx: &mut Tx<'_>,
    key: &[u8],
    meta: &mut Meta,
    value: Bytes,
    left: bool,
) -> Result<(), CommandError> {
    check_room(meta, 1, left)?;
    let position = if left { meta.head - 1 } else { meta.head + meta.len };
    tx.put_element(position_key(tx, key, meta, position), value)?;
    meta.len += 1;
    if left {
        meta.head -= 1;
    }
    Ok(())
}

/// Pops the element at one end; `None` for an empty list.
fn pop(
    tx: &mut Tx<'_>,
    key: &[u8],
    meta: &mut Meta,
    left: bool,
) -> Result<Option<Bytes>, CommandError> {
    if meta.len == 0 {
        return Ok(None);
    }
    let position = if left { meta.head } else { meta.head + meta.len - 1 };
    let ek = position_key(tx, key, meta, position);
    let value = tx.element(&ek)?.ok_or_else(|| errors::corrupt_record("list element missing"))?;
    tx.delete_element(ek)?;
    *meta = after_pop(meta, left);
    Ok(Some(value))
}

/// Writes the metadata after a change: deleted when the list is empty (Redis keeps no empty
/// list), rewritten otherwise (also when only an element changed, so WATCH sees it).
fn save(tx: &mut Tx<'_>, key: &Bytes, meta: Meta) -> Result<(), CommandError> {
    if meta.len == 0 { tx.delete(key) } else { tx.put(key, meta) }
}

/// Calls `visit` with the position and element of each position in `[from, to)` of the list,
/// ascending (descending with `rev`), until it breaks: one range scan.
fn scan_positions(
    tx: &mut Tx<'_>,
    key: &[u8],
    meta: &Meta,
    from: u64,
    to: u64,
    rev: bool,
    mut visit: impl FnMut(u64, &Bytes) -> Result<ControlFlow<()>, CommandError>,
) -> Result<(), CommandError> {
    if from >= to {
        return Ok(());
    }
    let lo = position_key(tx, key, meta, from);
    let hi = position_key(tx, key, meta, to);
    let n = lo.len() - 8;
    tx.scan_elements(Bound::Included(lo), Bound::Excluded(hi), rev, |k, v| {
        let position: [u8; 8] = k[n..]
            .try_into()
            .map_err(|_| errors::corrupt_record("list position is not 8 bytes"))?;
        visit(u64::from_be_bytes(position), v)
    })?;
    Ok(())
}

/// Like [`scan_positions`], but `visit` may write: the elements are read in chunks of at most
/// [`WALK_CHUNK_ELEMENTS`] (or [`WALK_CHUNK_BYTES`]) and visited after each chunk is read.
/// `visit` must write only positions the walk has passed (the next chunk is read after).
fn walk(
    tx: &mut Tx<'_>,
    key: &[u8],
    meta: &Meta,
    from: u64,
    to: u64,
    rev: bool,
    mut visit: impl FnMut(&mut Tx<'_>, u64, Bytes) -> Result<(), CommandError>,
) -> Result<(), CommandError> {
    let (mut lo, mut hi) = (from, to);
    while lo < hi {
        let mut chunk: Vec<(u64, Bytes)> = Vec::new();
        let mut bytes = 0usize;
        scan_positions(tx, key, meta, lo, hi, rev, |position, value| {
            bytes = bytes.saturating_add(value.len());
            chunk.push((position, value.clone()));
            let full = chunk.len() >= WALK_CHUNK_ELEMENTS || bytes >= WALK_CHUNK_BYTES;
            Ok(if full { ControlFlow::Break(()) } else { ControlFlow::Continue(()) })
        })?;
        let Some(&(last, _)) = chunk.last() else {
            return Err(errors::corrupt_record("list element missing"));
        };
        if rev {
            hi = last;
        } else {
            lo = last + 1;
        }
        for (position, value) in chunk {
            visit(tx, position, value)?;
        }
    }
    Ok(())
}

/// Reads up to `n` elements from one end, charging the reply's bytes against `room`.
fn read_end(
    tx: &mut Tx<'_>,
    key: &[u8],
    meta: &Meta,
    n: u64,
    left: bool,
    room: usize,
) -> Result<Vec<Bytes>, CommandError> {
    let n = n.min(meta.len);
    let tail = meta.head + meta.len;
    let (from, to) = if left { (meta.head, meta.head + n) } else { (tail - n, tail) };
    let mut out = Vec::new();
    let mut bytes = 0usize;
    scan_positions(tx, key, meta, from, to, !left, |_, value| {
        bytes = bytes.saturating_add(value.len() + REPLY_ELEMENT_OVERHEAD_BYTES);
        if bytes > room {
            return Err(CommandError::OutputLimit);
        }
        out.push(value.clone());
        Ok(ControlFlow::Continue(()))
    })?;
    Ok(out)
}

/// LMOVE's work, also a blocked BLMOVE's when it is served: pops at `src`'s end and pushes
/// onto `dst` (the same list rotates). `None` when `src` is missing; WRONGTYPE for either key.
fn move_element(
    tx: &mut Tx<'_>,
    now_ms: u64,
    src: &Bytes,
    dst: &Bytes,
    from_left: bool,
    to_left: bool,
) -> Result<Option<Bytes>, CommandError> {
    let Some(mut from) = load(tx, src, now_ms)? else { return Ok(None) };
    if src == dst {
        check_room(&after_pop(&from, from_left), 1, to_left)?;
        let value = pop(tx, src, &mut from, from_left)?.expect("a live list is never empty");
        push(tx, src, &mut from, value.clone(), to_left)?;
        save(tx, src, from)?;
        return Ok(Some(value));
    }
    let to = load(tx, dst, now_ms)?;
    check_key(dst)?;
    if let Some(to) = &to {
        check_room(to, 1, to_left)?;
    }
    let mut to = match to {
        Some(to) => to,
        None => tx.new_collection(Kind::List)?,
    };
    let value = pop(tx, src, &mut from, from_left)?.expect("a live list is never empty");
    push(tx, dst, &mut to, value.clone(), to_left)?;
    save(tx, src, from)?;
    save(tx, dst, to)?;
    Ok(Some(value))
}

// ---- Pushes and pops ----

fn push_command(
    ctx: &mut Ctx<'_, '_>,
    args: &[Bytes],
    left: bool,
    existing: bool,
) -> CommandResult {
    let key = &args[1];
    let values = &args[2..];
    let meta = get_list(ctx, key)?;
    if existing && meta.is_none() {
        return Ok(Reply::Integer(0));
    }
    check_key(key)?;
    for value in values {
        check_value(value)?;
    }
    let mut meta = match meta {
        Some(meta) => meta,
        None => ctx.tx.new_collection(Kind::List)?,
    };
    check_room(&meta, values.len() as u64, left)?;
    for value in values {
        push(ctx.tx, key, &mut meta, value.clone(), left)?;
    }
    let len = meta.len;
    save(ctx.tx, key, meta)?;
    Ok(Reply::Integer(len_reply(len)))
}

fn len_reply(len: u64) -> i64 {
    i64::try_from(len).unwrap_or(i64::MAX)
}

fn lpush(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    push_command(ctx, args, true, false)
}

fn rpush(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    push_command(ctx, args, false, false)
}

fn lpushx(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    push_command(ctx, args, true, true)
}

fn rpushx(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    push_command(ctx, args, false, true)
}

fn pop_command(ctx: &mut Ctx<'_, '_>, args: &[Bytes], left: bool) -> CommandResult {
    if args.len() > 3 {
        return Err(errors::wrong_arity(if left { "lpop" } else { "rpop" }));
    }
    let count = args.get(2).map(|c| count_arg(c)).transpose()?;
    let key = &args[1];
    let Some(mut meta) = get_list(ctx, key)? else {
        return Ok(if count.is_some() { Reply::NullArray } else { Reply::Null });
    };
    let Some(count) = count else {
        let value = pop(ctx.tx, key, &mut meta, left)?.expect("a live list is never empty");
        save(ctx.tx, key, meta)?;
        return Ok(Reply::Bulk(value));
    };
    let values = read_end(ctx.tx, key, &meta, count, left, ctx.output_room())?;
    let n = values.len() as u64;
    if n == meta.len {
        // The whole list: deleting the metadata orphans every element at once.
        ctx.tx.delete(key)?;
    } else if n > 0 {
        let first = if left { meta.head } else { meta.head + meta.len - n };
        for position in first..first + n {
            let ek = position_key(ctx.tx, key, &meta, position);
            ctx.tx.delete_element(ek)?;
        }
        meta.len -= n;
        if left {
            meta.head += n;
        }
        save(ctx.tx, key, meta)?;
    }
    Ok(Reply::Array(values.into_iter().map(Reply::Bulk).collect()))
}

fn lpop(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    pop_command(ctx, args, true)
}

fn rpop(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    pop_command(ctx, args, false)
}

fn lmove(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let (from_left, to_left) = (end_arg(&args[3])?, end_arg(&args[4])?);
    let now = ctx.now_ms;
    Ok(move_element(ctx.tx, now, &args[1], &args[2], from_left, to_left)?
        .map_or(Reply::Null, Reply::Bulk))
}

fn rpoplpush(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let now = ctx.now_ms;
    Ok(move_element(ctx.tx, now, &args[1], &args[2], false, true)?.map_or(Reply::Null, Reply::Bulk))
}

// ---- Reads ----

fn llen(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let meta = get_list(ctx, &args[1])?;
    ctx.hit(meta.is_some());
    Ok(Reply::Integer(meta.map_or(0, |m| len_reply(m.len))))
}

fn lrange(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let (start, stop) = (int_arg(&args[2])?, int_arg(&args[3])?);
    let key = &args[1];
    let meta = get_list(ctx, key)?;
    ctx.hit(meta.is_some());
    let Some(meta) = meta else { return Ok(Reply::Array(Vec::new())) };
    let Some((start, stop)) = index_range(start, stop, meta.len) else {
        return Ok(Reply::Array(Vec::new()));
    };
    let room = ctx.output_room();
    let values = read_range(ctx.tx, key, &meta, start, stop, room)?;
    Ok(Reply::Array(values.into_iter().map(Reply::Bulk).collect()))
}

/// The elements at indexes `[start, stop]`: one scan from `head + start`.
fn read_range(
    tx: &mut Tx<'_>,
    key: &[u8],
    meta: &Meta,
    start: u64,
    stop: u64,
    room: usize,
) -> Result<Vec<Bytes>, CommandError> {
    let mut out = Vec::new();
    let mut bytes = 0usize;
    let (from, to) = (meta.head + start, meta.head + stop + 1);
    scan_positions(tx, key, meta, from, to, false, |_, value| {
        bytes = bytes.saturating_add(value.len() + REPLY_ELEMENT_OVERHEAD_BYTES);
        if bytes > room {
            return Err(CommandError::OutputLimit);
        }
        out.push(value.clone());
        Ok(ControlFlow::Continue(()))
    })?;
    Ok(out)
}

fn lindex(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    let meta = get_list(ctx, key)?;
    ctx.hit(meta.is_some());
    let Some(meta) = meta else { return Ok(Reply::Null) };
    let Some(i) = index_of(int_arg(&args[2])?, meta.len) else { return Ok(Reply::Null) };
    let ek = position_key(ctx.tx, key, &meta, meta.head + i);
    let value =
        ctx.tx.element(&ek)?.ok_or_else(|| errors::corrupt_record("list element missing"))?;
    Ok(Reply::Bulk(value))
}

fn lpos(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let (mut rank, mut count, mut maxlen) = (1i64, None::<u64>, 0u64);
    let mut options = args[3..].iter();
    while let Some(option) = options.next() {
        let value = options.next();
        match value {
            Some(v) if is(option, "rank") => {
                rank = int_arg(v)?;
                if rank == 0 {
                    return Err(errors::LPOS_RANK_ZERO.into());
                }
            }
            Some(v) if is(option, "count") => {
                let n = lode_resp::parse_i64(v).and_then(|n| u64::try_from(n).ok());
                count = Some(n.ok_or(errors::LPOS_COUNT_NEGATIVE)?);
            }
            Some(v) if is(option, "maxlen") => {
                let n = lode_resp::parse_i64(v).and_then(|n| u64::try_from(n).ok());
                maxlen = n.ok_or(errors::LPOS_MAXLEN_NEGATIVE)?;
            }
            _ => return Err(errors::SYNTAX.into()),
        }
    }
    let key = &args[1];
    let meta = get_list(ctx, key)?;
    ctx.hit(meta.is_some());
    let Some(meta) = meta else {
        return Ok(if count.is_some() { Reply::Array(Vec::new()) } else { Reply::Null });
    };
    // A negative rank searches from the tail. Redis negates a C long: -LONG_MIN stays
    // LONG_MIN, which every match then reaches, so it behaves as rank 1 from the tail.
    let from_tail = rank < 0;
    let rank = if from_tail { rank.wrapping_neg() } else { rank };
    let scanned = if maxlen == 0 { meta.len } else { maxlen.min(meta.len) };
    let tail = meta.head + meta.len;
    let (from, to) =
        if from_tail { (tail - scanned, tail) } else { (meta.head, meta.head + scanned) };
    let target = &args[2];
    let room = ctx.output_room();
    let (mut matches, mut found, mut bytes) = (0i64, Vec::new(), 0usize);
    scan_positions(ctx.tx, key, &meta, from, to, from_tail, |position, value| {
        if value != target {
            return Ok(ControlFlow::Continue(()));
        }
        matches += 1;
        if matches < rank {
            return Ok(ControlFlow::Continue(()));
        }
        found.push(len_reply(position - meta.head));
        bytes = bytes.saturating_add(REPLY_ELEMENT_OVERHEAD_BYTES + 8);
        if bytes > room {
            return Err(CommandError::OutputLimit);
        }
        let done = match count {
            None => true,
            Some(0) => false,
            Some(c) => {
                matches.wrapping_sub(rank).wrapping_add(1) >= i64::try_from(c).unwrap_or(i64::MAX)
            }
        };
        Ok(if done { ControlFlow::Break(()) } else { ControlFlow::Continue(()) })
    })?;
    Ok(match count {
        Some(_) => Reply::Array(found.into_iter().map(Reply::Integer).collect()),
        None => found.first().map_or(Reply::Null, |&i| Reply::Integer(i)),
    })
}

// ---- Changes in the middle ----

fn lset(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    let Some(meta) = get_list(ctx, key)? else { return Err(errors::NO_SUCH_KEY.into()) };
    let index = int_arg(&args[2])?;
    let Some(i) = index_of(index, meta.len) else {
        return Err(errors::INDEX_OUT_OF_RANGE.into());
    };
    check_value(&args[3])?;
    let ek = position_key(ctx.tx, key, &meta, meta.head + i);
    ctx.tx.put_element(ek, args[3].clone())?;
    save(ctx.tx, key, meta)?;
    Ok(Reply::ok())
}

fn linsert(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let after = if is(&args[2], "after") {
        true
    } else if is(&args[2], "before") {
        false
    } else {
        return Err(errors::SYNTAX.into());
    };
    let key = &args[1];
    let Some(mut meta) = get_list(ctx, key)? else { return Ok(Reply::Integer(0)) };
    check_value(&args[4])?;
    let pivot = &args[3];
    let mut at = None;
    let tail = meta.head + meta.len;
    scan_positions(ctx.tx, key, &meta, meta.head, tail, false, |position, value| {
        if value == pivot {
            at = Some(position);
            return Ok(ControlFlow::Break(()));
        }
        Ok(ControlFlow::Continue(()))
    })?;
    let Some(pivot_position) = at else { return Ok(Reply::Integer(-1)) };
    // The new element's index; the elements before it shift left or those from it shift
    // right, whichever are fewer (and have room).
    let index = pivot_position - meta.head + u64::from(after);
    let shift_left = match (check_room(&meta, 1, true), check_room(&meta, 1, false)) {
        (Ok(()), Ok(())) => index < meta.len - index,
        (Ok(()), Err(_)) => true,
        (Err(_), Ok(())) => false,
        (Err(e), Err(_)) => return Err(e),
    };
    let head = meta.head;
    if shift_left {
        walk(ctx.tx, key, &meta, head, head + index, false, |tx, position, value| {
            let ek = position_key(tx, key, &meta, position - 1);
            tx.put_element(ek, value)
        })?;
        let ek = position_key(ctx.tx, key, &meta, head + index - 1);
        ctx.tx.put_element(ek, args[4].clone())?;
        meta.head -= 1;
    } else {
        walk(ctx.tx, key, &meta, head + index, tail, true, |tx, position, value| {
            let ek = position_key(tx, key, &meta, position + 1);
            tx.put_element(ek, value)
        })?;
        let ek = position_key(ctx.tx, key, &meta, head + index);
        ctx.tx.put_element(ek, args[4].clone())?;
    }
    meta.len += 1;
    let len = meta.len;
    save(ctx.tx, key, meta)?;
    Ok(Reply::Integer(len_reply(len)))
}

fn lrem(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let count = int_arg(&args[2])?;
    let key = &args[1];
    let Some(mut meta) = get_list(ctx, key)? else { return Ok(Reply::Integer(0)) };
    let target = &args[3];
    let (head, tail) = (meta.head, meta.head + meta.len);
    // Which matches go: the first `count` from the head, the last `-count` from the tail, or
    // all. They are exactly the matches in [first, last].
    let limit = if count == 0 { u64::MAX } else { count.unsigned_abs() };
    let (mut first, mut last, mut removed) = (0u64, 0u64, 0u64);
    scan_positions(ctx.tx, key, &meta, head, tail, count < 0, |position, value| {
        if value == target {
            if removed == 0 {
                (first, last) = (position, position);
            }
            first = first.min(position);
            last = last.max(position);
            removed += 1;
            if removed == limit {
                return Ok(ControlFlow::Break(()));
            }
        }
        Ok(ControlFlow::Continue(()))
    })?;
    if removed == 0 {
        return Ok(Reply::Integer(0));
    }
    if removed == meta.len {
        ctx.tx.delete(key)?;
        return Ok(Reply::Integer(len_reply(removed)));
    }
    // Close the gaps by moving the elements on the shorter side: those after `first` left
    // (the tail shrinks), or those before `last` right (the head moves).
    let mut shift = 0u64;
    if tail - first <= last + 1 - head {
        walk(ctx.tx, key, &meta, first, tail, false, |tx, position, value| {
            if position <= last && value == target {
                shift += 1;
            } else if shift > 0 {
                let ek = position_key(tx, key, &meta, position - shift);
                tx.put_element(ek, value)?;
            }
            Ok(())
        })?;
        for position in tail - shift..tail {
            let ek = position_key(ctx.tx, key, &meta, position);
            ctx.tx.delete_element(ek)?;
        }
    } else {
        walk(ctx.tx, key, &meta, head, last + 1, true, |tx, position, value| {
            if position >= first && value == target {
                shift += 1;
            } else if shift > 0 {
                let ek = position_key(tx, key, &meta, position + shift);
                tx.put_element(ek, value)?;
            }
            Ok(())
        })?;
        for position in head..head + shift {
            let ek = position_key(ctx.tx, key, &meta, position);
            ctx.tx.delete_element(ek)?;
        }
        meta.head += shift;
    }
    debug_assert_eq!(shift, removed, "every match in [first, last] is removed");
    meta.len -= shift;
    save(ctx.tx, key, meta)?;
    Ok(Reply::Integer(len_reply(shift)))
}

fn ltrim(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let (start, stop) = (int_arg(&args[2])?, int_arg(&args[3])?);
    let key = &args[1];
    let Some(meta) = get_list(ctx, key)? else { return Ok(Reply::ok()) };
    let Some((start, stop)) = index_range(start, stop, meta.len) else {
        // Nothing kept: deleting the metadata orphans every element at once.
        ctx.tx.delete(key)?;
        return Ok(Reply::ok());
    };
    let kept = stop - start + 1;
    let trimmed = meta.len - kept;
    let meta = if kept.saturating_mul(2) < trimmed {
        copy_range(ctx.tx, key, &meta, start, kept)?
    } else {
        delete_outside(ctx.tx, key, meta, start, kept)?
    };
    save(ctx.tx, key, meta)?;
    Ok(Reply::ok())
}

/// LTRIM keeping few: the kept elements are copied to a new version (a read and a write
/// each); the old version's elements become garbage for compaction.
fn copy_range(
    tx: &mut Tx<'_>,
    key: &Bytes,
    meta: &Meta,
    start: u64,
    kept: u64,
) -> Result<Meta, CommandError> {
    let fresh = Meta { len: kept, ..tx.new_collection(Kind::List)? };
    let fresh = Meta { expire_at_ms: meta.expire_at_ms, ..fresh };
    let from = meta.head + start;
    walk(tx, key, meta, from, from + kept, false, |tx, position, value| {
        let ek = position_key(tx, key, &fresh, fresh.head + (position - from));
        tx.put_element(ek, value)
    })?;
    Ok(fresh)
}

/// LTRIM keeping many: the trimmed positions are deleted (no reads).
fn delete_outside(
    tx: &mut Tx<'_>,
    key: &Bytes,
    mut meta: Meta,
    start: u64,
    kept: u64,
) -> Result<Meta, CommandError> {
    let tail = meta.head + meta.len;
    let keep_from = meta.head + start;
    let keep_to = keep_from + kept;
    for position in (meta.head..keep_from).chain(keep_to..tail) {
        let ek = position_key(tx, key, &meta, position);
        tx.delete_element(ek)?;
    }
    meta.head = keep_from;
    meta.len = kept;
    Ok(meta)
}

// ---- Blocking ----

/// Blocks the client on `keys` (the burst ends; conn.rs awaits the reply) until a push
/// serves it or `timeout_ms` (0: forever) passes.
fn block(ctx: &mut Ctx<'_, '_>, keys: &[Bytes], op: BlockOp, timeout_ms: u64) -> CommandResult {
    let deadline = match timeout_ms {
        0 => None,
        // Past what the clock can represent: as good as forever (Redis's sum overflows).
        ms => Instant::now().checked_add(Duration::from_millis(ms)),
    };
    let registration = ctx.shared.ks.blocked.register(ctx.tx.db, keys, op);
    ctx.session.client.meta().blocked = true;
    ctx.session.blocked = Some(BlockedOn { registration, deadline });
    // Not sent: the burst stops at a blocked command.
    Ok(Reply::NullArray)
}

fn blocking_pop(ctx: &mut Ctx<'_, '_>, args: &[Bytes], left: bool) -> CommandResult {
    let timeout_ms = timeout_ms_arg(&args[args.len() - 1])?;
    let keys = &args[1..args.len() - 1];
    for key in keys {
        if let Some(mut meta) = get_list(ctx, key)? {
            let value = pop(ctx.tx, key, &mut meta, left)?.expect("a live list is never empty");
            save(ctx.tx, key, meta)?;
            return Ok(Reply::Array(vec![Reply::Bulk(key.clone()), Reply::Bulk(value)]));
        }
    }
    if ctx.session.deny_blocking {
        return Ok(Reply::NullArray);
    }
    block(ctx, keys, BlockOp::Pop { left }, timeout_ms)
}

fn blpop(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    blocking_pop(ctx, args, true)
}

fn brpop(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    blocking_pop(ctx, args, false)
}

fn blocking_move(
    ctx: &mut Ctx<'_, '_>,
    args: &[Bytes],
    from_left: bool,
    to_left: bool,
    timeout_ms: u64,
) -> CommandResult {
    let (src, dst) = (&args[1], &args[2]);
    if get_list(ctx, src)?.is_some() {
        let now = ctx.now_ms;
        let moved = move_element(ctx.tx, now, src, dst, from_left, to_left)?;
        return Ok(moved.map_or(Reply::Null, Reply::Bulk));
    }
    if ctx.session.deny_blocking {
        return Ok(Reply::Null);
    }
    let op = BlockOp::Move { to_key: dst.clone(), from_left, to_left };
    block(ctx, std::slice::from_ref(src), op, timeout_ms)
}

fn blmove(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let (from_left, to_left) = (end_arg(&args[3])?, end_arg(&args[4])?);
    let timeout_ms = timeout_ms_arg(&args[5])?;
    blocking_move(ctx, args, from_left, to_left, timeout_ms)
}

fn brpoplpush(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let timeout_ms = timeout_ms_arg(&args[3])?;
    blocking_move(ctx, args, false, true, timeout_ms)
}

/// Serves the clients blocked on the keys `tx` made ready (Redis's
/// `handleClientsBlockedOnKeys`): for each key, in the order they became ready, the clients
/// that blocked on it first are served first, one element each, while the list lasts. A
/// served BLMOVE's push can make another key ready, which is served in turn. The pops join
/// `tx`'s batch; the replies go out with `deliveries` once it is committed.
pub(crate) fn serve_blocked(shared: &Shared, tx: &mut Tx<'_>, deliveries: &mut Vec<Delivery>) {
    let blocked = &shared.ks.blocked;
    loop {
        let ready = tx.take_ready();
        if ready.is_empty() {
            return;
        }
        let now_ms = command::now_ms();
        for (db, key) in ready {
            tx.db = db;
            // Another type or no list (emptied, expired): its waiters stay blocked.
            while let Ok(Some(mut meta)) = load(tx, &key, now_ms) {
                let Some(waiter) = blocked.take_first(db, &key) else { break };
                if waiter.is_gone() {
                    continue;
                }
                let served = match &waiter.op {
                    BlockOp::Pop { left } => pop(tx, &key, &mut meta, *left).and_then(|value| {
                        let value = value.expect("a live list is never empty");
                        save(tx, &key, meta)?;
                        Ok(Reply::Array(vec![Reply::Bulk(key.clone()), Reply::Bulk(value)]))
                    }),
                    BlockOp::Move { to_key, from_left, to_left } => {
                        move_element(tx, now_ms, &key, to_key, *from_left, *to_left)
                            .map(|moved| moved.map_or(Reply::Null, Reply::Bulk))
                    }
                };
                // An error (WRONGTYPE at BLMOVE's destination) unblocks the client with it,
                // as Redis does.
                let reply = served.unwrap_or_else(|e| {
                    e.to_reply().unwrap_or_else(|| Reply::error("ERR internal error"))
                });
                deliveries.push(waiter.answer(reply));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::{DbIndex, Keyspace};

    #[test]
    fn timeouts_round_up_to_milliseconds_like_redis() {
        let ms = |s: &str| {
            timeout_ms_arg(s.as_bytes()).map_err(|e| match e {
                CommandError::Reply(text) => text.into_owned(),
                _ => "other".into(),
            })
        };
        assert_eq!(ms("0"), Ok(0), "0 is forever");
        assert_eq!(ms("-0"), Ok(0));
        assert_eq!(ms("-0.0001"), Ok(0), "rounds up to -0: forever, as in Redis");
        assert_eq!(ms("0.0001"), Ok(1), "a tenth of a millisecond rounds up to one");
        assert_eq!(ms("0.001"), Ok(1));
        assert_eq!(ms("0.0015"), Ok(2));
        assert_eq!(ms("1.5"), Ok(1500));
        assert_eq!(ms("0x10"), Ok(16_000), "strtold reads hex");
        assert_eq!(ms("9223372036854775"), Ok(9_223_372_036_854_775_000));
        let negative = Err(errors::TIMEOUT_NEGATIVE.to_string());
        assert_eq!(ms("-1"), negative);
        // The long double nearest 0.001 is below it, so -0.001 s is -0.99... ms, rounded up to
        // -0: forever, as Redis 7.0 answers (checked against it); -0.002 s is negative.
        assert_eq!(ms("-0.001"), Ok(0));
        assert_eq!(ms("-0.002"), negative);
        // Past i64 milliseconds the x86 conversion gives LLONG_MIN: "negative", as in Redis.
        assert_eq!(ms("9223372036854777"), negative);
        assert_eq!(ms("9223372036854775807"), negative);
        assert_eq!(ms("1e300"), negative);
        assert_eq!(ms("inf"), negative);
        let not_float = Err(errors::TIMEOUT_NOT_FLOAT.to_string());
        for bad in ["x", "", " 1", "1 ", "nan", "1e99999"] {
            assert_eq!(ms(bad), not_float, "{bad:?}");
        }
    }

    #[test]
    fn ranges_and_indexes_follow_redis() {
        assert_eq!(index_range(0, -1, 3), Some((0, 2)));
        assert_eq!(index_range(-100, 100, 3), Some((0, 2)));
        assert_eq!(index_range(i64::MIN, i64::MAX, 3), Some((0, 2)));
        assert_eq!(index_range(i64::MAX, i64::MIN, 3), None);
        assert_eq!(index_range(2, 1, 3), None);
        assert_eq!(index_range(3, 5, 3), None);
        assert_eq!(index_range(-1, -1, 3), Some((2, 2)));
        assert_eq!(index_range(0, 0, 0), None);
        assert_eq!(index_of(-1, 3), Some(2));
        assert_eq!(index_of(-4, 3), None);
        assert_eq!(index_of(3, 3), None);
        assert_eq!(index_of(i64::MIN, 3), None);
        assert_eq!(count_arg(b"0").ok(), Some(0));
        assert!(count_arg(b"-1").is_err() && count_arg(b"x").is_err());
    }

    fn keyspace() -> (tempfile::TempDir, Keyspace) {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = lode::Db::open(dir.path(), lode::Options::default()).expect("open");
        (dir, Keyspace::open(db).expect("keyspace"))
    }

    /// A list of one element at `head`, written as a record would be found on disk.
    fn list_at(tx: &mut Tx<'_>, key: &Bytes, head: u64) -> Meta {
        let meta = Meta { head, len: 1, ..tx.new_collection(Kind::List).expect("version") };
        let ek = position_key(tx, key, &meta, head);
        tx.put_element(ek, Bytes::from_static(b"x")).expect("element");
        tx.put(key, meta.clone()).expect("meta");
        meta
    }

    #[test]
    fn list_positions_never_wrap_at_either_end() {
        let (_dir, ks) = keyspace();
        let mut tx = Tx::write(&ks);
        let key = Bytes::from_static(b"l");
        // Position 0 is the last at the head.
        let mut meta = list_at(&mut tx, &key, 1);
        check_room(&meta, 1, true).expect("one position left at the head");
        assert!(check_room(&meta, 2, true).is_err(), "two do not fit");
        push(&mut tx, &key, &mut meta, Bytes::from_static(b"a"), true).expect("position 0");
        assert_eq!((meta.head, meta.len), (0, 2));
        let full = push(&mut tx, &key, &mut meta, Bytes::from_static(b"b"), true);
        assert!(matches!(full, Err(CommandError::Reply(t)) if t == errors::LIST_FULL));
        // LIST_POSITION_END - 1 is the last at the tail.
        let mut meta = list_at(&mut tx, &key, LIST_POSITION_END - 2);
        push(&mut tx, &key, &mut meta, Bytes::from_static(b"a"), false).expect("last position");
        assert_eq!(meta.head + meta.len, LIST_POSITION_END);
        let full = push(&mut tx, &key, &mut meta, Bytes::from_static(b"b"), false);
        assert!(matches!(full, Err(CommandError::Reply(t)) if t == errors::LIST_FULL));
        // A popped list can grow at that end again, and a record past the end is corrupt.
        assert_eq!(
            pop(&mut tx, &key, &mut meta, false).expect("pop"),
            Some(Bytes::from_static(b"a"))
        );
        check_room(&meta, 1, false).expect("room again");
        tx.put(&key, Meta { len: 3, ..meta }).expect("meta");
        assert!(load(&mut tx, &key, 0).is_err(), "head + len past the end");
    }

    #[test]
    fn a_full_end_fails_the_whole_command_before_any_write() {
        let (_dir, ks) = keyspace();
        let mut tx = Tx::write(&ks);
        let (src, dst) = (Bytes::from_static(b"src"), Bytes::from_static(b"dst"));
        list_at(&mut tx, &src, 1 << 40);
        let dst_meta = list_at(&mut tx, &dst, 0);
        tx.commit().expect("commit");
        let moved = move_element(&mut tx, 0, &src, &dst, true, true);
        assert!(matches!(moved, Err(CommandError::Reply(t)) if t == errors::LIST_FULL));
        tx.commit().expect("nothing to commit");
        assert_eq!(load(&mut tx, &src, 0).expect("src").map(|m| m.len), Some(1), "src kept");
        assert_eq!(load(&mut tx, &dst, 0).expect("dst"), Some(dst_meta));
        // The same list rotated at a full end: the pop frees the position the push takes.
        let rotated = move_element(&mut tx, 0, &dst, &dst, true, true).expect("rotate");
        assert_eq!(rotated, Some(Bytes::from_static(b"x")));
    }

    #[test]
    fn a_database_other_than_zero_keeps_its_own_lists() {
        let (_dir, ks) = keyspace();
        let mut tx = Tx::write(&ks);
        let key = Bytes::from_static(b"k");
        tx.db = DbIndex::new(3).expect("db 3");
        let mut meta = tx.new_collection(Kind::List).expect("version");
        push(&mut tx, &key, &mut meta, Bytes::from_static(b"v"), false).expect("push");
        save(&mut tx, &key, meta).expect("save");
        tx.commit().expect("commit");
        assert_eq!(load(&mut tx, &key, 0).expect("db 3").map(|m| m.len), Some(1));
        tx.db = DbIndex::ZERO;
        assert_eq!(load(&mut tx, &key, 0).expect("db 0"), None);
    }
}
