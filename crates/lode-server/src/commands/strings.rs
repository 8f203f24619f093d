//! String commands (Redis's t_string.c): GET SET and their variants, counters, ranges.
//!
//! A string lives entirely in its key's metadata record (docs/format/keys.md), so every
//! command here is one read and at most one write of that record through the burst's `Tx`.
//! Commands that change the value in place (INCR, APPEND, SETRANGE) keep the key's expiry;
//! those that replace it (SET without KEEPTTL, GETSET, MSET) clear it, as in Redis.

use super::{get_string, int_arg, is};
use crate::command::{CommandSpec, Ctx, flags::*};
use crate::errors::{self, CommandError, CommandResult};
use crate::keyspace::{Meta, STRING_BYTES_MAX};
use crate::long_double;
use bytes::Bytes;
use lode_resp::Reply;

const W: u32 = WRITE | ENGINE;
const R: u32 = READONLY | ENGINE;

/// The command group COMMAND DOCS reports for this file's commands.
const GROUP: &str = "string";

pub(crate) const SPECS: &[CommandSpec] = &[
    spec!(GROUP, "get", 2, R | FAST, (1, 1, 1), "Returns the string value of a key.", "1.0.0", get),
    spec!(
        GROUP,
        "set",
        -3,
        W | DENYOOM,
        (1, 1, 1),
        "Sets the string value of a key, ignoring its type.",
        "1.0.0",
        set
    ),
    spec!(
        GROUP,
        "setnx",
        3,
        W | DENYOOM | FAST,
        (1, 1, 1),
        "Set the string value of a key only when the key doesn't exist.",
        "1.0.0",
        setnx
    ),
    spec!(
        GROUP,
        "setex",
        4,
        W | DENYOOM,
        (1, 1, 1),
        "Sets the string value and expiration time of a key.",
        "2.0.0",
        setex
    ),
    spec!(
        GROUP,
        "psetex",
        4,
        W | DENYOOM,
        (1, 1, 1),
        "Sets both string value and expiration time in milliseconds of a key.",
        "2.6.0",
        psetex
    ),
    spec!(
        GROUP,
        "getset",
        3,
        W | DENYOOM | FAST,
        (1, 1, 1),
        "Returns the previous string value of a key after setting it to a new value.",
        "1.0.0",
        getset
    ),
    spec!(
        GROUP,
        "getdel",
        2,
        W | FAST,
        (1, 1, 1),
        "Returns the string value of a key after deleting the key.",
        "6.2.0",
        getdel
    ),
    spec!(
        GROUP,
        "getex",
        -2,
        W | FAST,
        (1, 1, 1),
        "Returns the string value of a key after setting its expiration time.",
        "6.2.0",
        getex
    ),
    spec!(
        GROUP,
        "mget",
        -2,
        R | FAST,
        (1, -1, 1),
        "Atomically returns the string values of one or more keys.",
        "1.0.0",
        mget
    ),
    spec!(
        GROUP,
        "mset",
        -3,
        W | DENYOOM,
        (1, -1, 2),
        "Atomically creates or modifies the string values of one or more keys.",
        "1.0.1",
        mset
    ),
    spec!(
        GROUP,
        "msetnx",
        -3,
        W | DENYOOM,
        (1, -1, 2),
        "Atomically modifies the string values of one or more keys only when all keys don't exist.",
        "1.0.1",
        msetnx
    ),
    spec!(
        GROUP,
        "append",
        3,
        W | DENYOOM | FAST,
        (1, 1, 1),
        "Appends a string to the value of a key. Creates the key if it doesn't exist.",
        "2.0.0",
        append
    ),
    spec!(
        GROUP,
        "strlen",
        2,
        R | FAST,
        (1, 1, 1),
        "Returns the length of a string value.",
        "2.2.0",
        strlen
    ),
    spec!(
        GROUP,
        "getrange",
        4,
        R,
        (1, 1, 1),
        "Returns a substring of the string stored at a key.",
        "2.4.0",
        getrange
    ),
    spec!(
        GROUP,
        "setrange",
        4,
        W | DENYOOM,
        (1, 1, 1),
        "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.",
        "2.2.0",
        setrange
    ),
    spec!(
        GROUP,
        "incr",
        2,
        W | DENYOOM | FAST,
        (1, 1, 1),
        "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
        "1.0.0",
        incr
    ),
    spec!(
        GROUP,
        "decr",
        2,
        W | DENYOOM | FAST,
        (1, 1, 1),
        "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
        "1.0.0",
        decr
    ),
    spec!(
        GROUP,
        "incrby",
        3,
        W | DENYOOM | FAST,
        (1, 1, 1),
        "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
        "1.0.0",
        incrby
    ),
    spec!(
        GROUP,
        "decrby",
        3,
        W | DENYOOM | FAST,
        (1, 1, 1),
        "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.",
        "1.0.0",
        decrby
    ),
    spec!(
        GROUP,
        "incrbyfloat",
        3,
        W | DENYOOM | FAST,
        (1, 1, 1),
        "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
        "2.6.0",
        incrbyfloat
    ),
];

/// A string read counted in keyspace_hits / keyspace_misses.
fn read(ctx: &mut Ctx<'_, '_>, key: &Bytes) -> Result<Option<Meta>, CommandError> {
    let meta = get_string(ctx, key)?;
    ctx.hit(meta.is_some());
    Ok(meta)
}

fn bulk_or_null(meta: Option<Meta>) -> Reply {
    meta.map_or(Reply::Null, |m| Reply::Bulk(m.value))
}

fn get(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    Ok(bulk_or_null(read(ctx, &args[1])?))
}

/// An expiry option's absolute time in Unix ms, Redis's `getExpireMillisecondsOrReply`.
fn expire_option(
    ctx: &Ctx<'_, '_>,
    unit: &[u8],
    arg: &[u8],
    command: &str,
) -> Result<u64, CommandError> {
    let n = int_arg(arg)?;
    let seconds = is(unit, "ex") || is(unit, "exat");
    if n <= 0 || (seconds && n > i64::MAX / 1000) {
        return Err(errors::invalid_expire(command));
    }
    let ms = if seconds { n * 1000 } else { n };
    let at = if is(unit, "ex") || is(unit, "px") {
        ms.checked_add(ctx.now_ms as i64).ok_or_else(|| errors::invalid_expire(command))?
    } else {
        ms
    };
    Ok(at as u64)
}

fn is_expire_word(arg: &[u8]) -> bool {
    ["ex", "px", "exat", "pxat"].iter().any(|w| is(arg, w))
}

/// Writes `value` at `key` with expiry `at` (0 = none); an expiry already past deletes it.
fn store(ctx: &mut Ctx<'_, '_>, key: &Bytes, value: Bytes, at: u64) -> Result<(), CommandError> {
    if at != 0 && at <= ctx.now_ms {
        // Redis signals the key modified even when there was nothing to delete.
        ctx.tx.touch(key);
        return ctx.tx.delete(key);
    }
    ctx.tx.put(key, Meta { expire_at_ms: at, ..Meta::string(value) })
}

fn set(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let (mut nx, mut xx, mut want_old, mut keepttl) = (false, false, false, false);
    let mut expire: Option<(&Bytes, &Bytes)> = None;
    let mut i = 3;
    while i < args.len() {
        let a = &args[i];
        if is(a, "nx") && !xx {
            nx = true;
        } else if is(a, "xx") && !nx {
            xx = true;
        } else if is(a, "get") {
            want_old = true;
        } else if is(a, "keepttl") && expire.is_none() {
            keepttl = true;
        } else if is_expire_word(a)
            && !keepttl
            && expire.is_none_or(|(unit, _)| unit.eq_ignore_ascii_case(a))
            && i + 1 < args.len()
        {
            // Redis lets the same unit repeat (the last value counts), not two units.
            expire = Some((a, &args[i + 1]));
            i += 1;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    let at = match expire {
        Some((unit, n)) => expire_option(ctx, unit, n, "set")?,
        None => 0,
    };
    let key = &args[1];
    let old = if want_old { get_string(ctx, key)? } else { ctx.tx.get(key, ctx.now_ms)? };
    let reply_skip = |old: Option<Meta>| if want_old { bulk_or_null(old) } else { Reply::Null };
    if (nx && old.is_some()) || (xx && old.is_none()) {
        return Ok(reply_skip(old));
    }
    let at = if keepttl { old.as_ref().map_or(0, |m| m.expire_at_ms) } else { at };
    store(ctx, key, args[2].clone(), at)?;
    Ok(if want_old { bulk_or_null(old) } else { Reply::ok() })
}

fn setnx(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    if ctx.tx.get(&args[1], ctx.now_ms)?.is_some() {
        return Ok(Reply::Integer(0));
    }
    ctx.tx.put(&args[1], Meta::string(args[2].clone()))?;
    Ok(Reply::Integer(1))
}

fn setex_with(ctx: &mut Ctx<'_, '_>, args: &[Bytes], unit: &str, name: &str) -> CommandResult {
    let at = expire_option(ctx, unit.as_bytes(), &args[2], name)?;
    store(ctx, &args[1], args[3].clone(), at)?;
    Ok(Reply::ok())
}

fn setex(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    setex_with(ctx, args, "ex", "setex")
}

fn psetex(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    setex_with(ctx, args, "px", "psetex")
}

fn getset(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let old = get_string(ctx, &args[1])?;
    ctx.tx.put(&args[1], Meta::string(args[2].clone()))?;
    Ok(bulk_or_null(old))
}

fn getdel(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let old = read(ctx, &args[1])?;
    if old.is_some() {
        ctx.tx.delete(&args[1])?;
    }
    Ok(bulk_or_null(old))
}

fn getex(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    enum Change<'a> {
        Keep,
        Persist,
        /// The option word and its value, checked only once the key is found (as Redis 7.0
        /// does: a missing key answers null whatever the time says).
        At(&'a Bytes, &'a Bytes),
    }
    let mut change = Change::Keep;
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        // An option may repeat (the last value counts); PERSIST and the units exclude each other.
        let again = |word: &[u8]| match change {
            Change::Keep => true,
            Change::Persist => word.eq_ignore_ascii_case(b"persist"),
            Change::At(unit, _) => word.eq_ignore_ascii_case(unit),
        };
        if is(a, "persist") && again(a) {
            change = Change::Persist;
        } else if is_expire_word(a) && again(a) && i + 1 < args.len() {
            change = Change::At(a, &args[i + 1]);
            i += 1;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    let key = &args[1];
    let Some(meta) = read(ctx, key)? else { return Ok(Reply::Null) };
    match change {
        Change::Keep => {}
        Change::Persist if meta.expire_at_ms != 0 => store(ctx, key, meta.value.clone(), 0)?,
        Change::Persist => {}
        Change::At(word, value) => {
            let at = expire_option(ctx, word, value, "getex")?;
            store(ctx, key, meta.value.clone(), at)?;
        }
    }
    Ok(Reply::Bulk(meta.value))
}

fn mget(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let mut out = Vec::with_capacity(args.len() - 1);
    let mut bytes = 0usize;
    for key in &args[1..] {
        let meta = ctx.tx.get(key, ctx.now_ms)?;
        ctx.hit(meta.is_some());
        match meta {
            Some(m) if m.kind == crate::keyspace::Kind::String => {
                bytes = bytes.saturating_add(m.value.len());
                ctx.charge(bytes)?;
                out.push(Reply::Bulk(m.value));
            }
            _ => out.push(Reply::Null),
        }
    }
    Ok(Reply::Array(out))
}

fn pairs<'a>(
    args: &'a [Bytes],
    name: &str,
) -> Result<std::slice::ChunksExact<'a, Bytes>, CommandError> {
    if args.len().is_multiple_of(2) {
        return Err(errors::wrong_arity(name));
    }
    Ok(args[1..].chunks_exact(2))
}

fn mset(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    for pair in pairs(args, "mset")? {
        ctx.tx.put(&pair[0], Meta::string(pair[1].clone()))?;
    }
    Ok(Reply::ok())
}

fn msetnx(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    for pair in pairs(args, "msetnx")? {
        if ctx.tx.get(&pair[0], ctx.now_ms)?.is_some() {
            return Ok(Reply::Integer(0));
        }
    }
    for pair in pairs(args, "msetnx")? {
        ctx.tx.put(&pair[0], Meta::string(pair[1].clone()))?;
    }
    Ok(Reply::Integer(1))
}

fn append(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let old = get_string(ctx, &args[1])?;
    let (mut value, at) = match old {
        Some(m) => (m.value.to_vec(), m.expire_at_ms),
        None => (Vec::new(), 0),
    };
    if value.len().saturating_add(args[2].len()) > STRING_BYTES_MAX {
        return Err(errors::STRING_TOO_LONG.into());
    }
    value.extend_from_slice(&args[2]);
    let len = value.len();
    ctx.tx.put(&args[1], Meta { expire_at_ms: at, ..Meta::string(Bytes::from(value)) })?;
    Ok(Reply::Integer(len as i64))
}

fn strlen(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    Ok(Reply::Integer(read(ctx, &args[1])?.map_or(0, |m| m.value.len() as i64)))
}

fn getrange(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let (mut start, mut end) = (int_arg(&args[2])?, int_arg(&args[3])?);
    let Some(meta) = read(ctx, &args[1])? else { return Ok(Reply::bulk("")) };
    if start < 0 && end < 0 && start > end {
        return Ok(Reply::bulk(""));
    }
    let len = meta.value.len() as i64;
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return Ok(Reply::bulk(""));
    }
    Ok(Reply::Bulk(meta.value.slice(start as usize..=end as usize)))
}

fn setrange(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let offset = int_arg(&args[2])?;
    if offset < 0 {
        return Err(errors::OFFSET_OUT_OF_RANGE.into());
    }
    let offset = offset as usize;
    let patch = &args[3];
    let old = get_string(ctx, &args[1])?;
    if patch.is_empty() {
        return Ok(Reply::Integer(old.map_or(0, |m| m.value.len() as i64)));
    }
    if offset.saturating_add(patch.len()) > STRING_BYTES_MAX {
        return Err(errors::STRING_TOO_LONG.into());
    }
    let (mut value, at) = match old {
        Some(m) => (m.value.to_vec(), m.expire_at_ms),
        None => (Vec::new(), 0),
    };
    if value.len() < offset + patch.len() {
        value.resize(offset + patch.len(), 0);
    }
    value[offset..offset + patch.len()].copy_from_slice(patch);
    let len = value.len();
    ctx.tx.put(&args[1], Meta { expire_at_ms: at, ..Meta::string(Bytes::from(value)) })?;
    Ok(Reply::Integer(len as i64))
}

fn incr_by(ctx: &mut Ctx<'_, '_>, key: &Bytes, delta: i64) -> CommandResult {
    let old = get_string(ctx, key)?;
    let (current, at) = match &old {
        Some(m) => (lode_resp::parse_i64(&m.value).ok_or(errors::NOT_INTEGER)?, m.expire_at_ms),
        None => (0, 0),
    };
    let next = current.checked_add(delta).ok_or(errors::OVERFLOW)?;
    ctx.tx.put(key, Meta { expire_at_ms: at, ..Meta::string(Bytes::from(next.to_string())) })?;
    Ok(Reply::Integer(next))
}

fn incr(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    incr_by(ctx, &args[1], 1)
}

fn decr(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    incr_by(ctx, &args[1], -1)
}

fn incrby(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let delta = int_arg(&args[2])?;
    incr_by(ctx, &args[1], delta)
}

fn decrby(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let delta = int_arg(&args[2])?;
    if delta == i64::MIN {
        return Err(errors::DECREMENT_OVERFLOW.into());
    }
    incr_by(ctx, &args[1], -delta)
}

fn incrbyfloat(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    // Redis's order: the key's type, then its value, then the increment, all as `long double`.
    let key = &args[1];
    let old = get_string(ctx, key)?;
    let (current, at) = match &old {
        Some(m) => (long_double::parse(&m.value).ok_or(errors::NOT_FLOAT)?, m.expire_at_ms),
        None => (long_double::parse(b"0").ok_or(errors::NOT_FLOAT)?, 0),
    };
    let delta = long_double::parse(&args[2]).ok_or(errors::NOT_FLOAT)?;
    let next = match long_double::add(current, delta) {
        Some(sum @ long_double::LongDouble::Finite { .. }) => sum,
        _ => return Err(errors::NAN_OR_INFINITY.into()),
    };
    // Redis prints with "%.17Lf" and trims zeros: plain digits, never an exponent.
    let text = Bytes::from(long_double::format_human(next));
    ctx.tx.put(key, Meta { expire_at_ms: at, ..Meta::string(text.clone()) })?;
    Ok(Reply::Bulk(text))
}
