//! Generic key commands (Redis's db.c and expire.c): DEL EXISTS TYPE RENAME COPY MOVE KEYS SCAN
//! RANDOMKEY TOUCH and the TTL family. Each addresses the connection's database (`Tx::db`);
//! COPY ... DB and MOVE also write another one.
//!
//! KEYS and SCAN are engine range scans over the metadata namespace, starting at the
//! pattern's literal prefix (docs/format/keys.md). SCAN's numeric cursor names the last key
//! returned in a bounded server-side table (`server::CursorTable`); see docs/compatibility.md.

use super::{db_arg, int_arg, is};
use crate::command::{CommandSpec, Ctx, flags::*};
use crate::errors::{self, CommandError, CommandResult};
use crate::glob;
use crate::keyspace::Meta;
use bytes::Bytes;
use lode_resp::Reply;
use rand::Rng;
use std::ops::ControlFlow;

const W: u32 = WRITE | ENGINE;
const R: u32 = READONLY | ENGINE;

/// The command group COMMAND DOCS reports for this file's commands.
const GROUP: &str = "generic";

pub(crate) const SPECS: &[CommandSpec] = &[
    spec!(GROUP, "del", -2, W, (1, -1, 1), "Deletes one or more keys.", "1.0.0", del),
    spec!(
        GROUP,
        "unlink",
        -2,
        W | FAST,
        (1, -1, 1),
        "Asynchronously deletes one or more keys.",
        "4.0.0",
        del
    ),
    spec!(
        GROUP,
        "exists",
        -2,
        R | FAST,
        (1, -1, 1),
        "Determines whether one or more keys exist.",
        "1.0.0",
        exists
    ),
    spec!(
        GROUP,
        "type",
        2,
        R | FAST,
        (1, 1, 1),
        "Determines the type of value stored at a key.",
        "1.0.0",
        type_
    ),
    spec!(
        GROUP,
        "rename",
        3,
        W,
        (1, 2, 1),
        "Renames a key and overwrites the destination.",
        "1.0.0",
        rename
    ),
    spec!(
        GROUP,
        "renamenx",
        3,
        W | FAST,
        (1, 2, 1),
        "Renames a key only when the target key name doesn't exist.",
        "1.0.0",
        renamenx
    ),
    spec!(
        GROUP,
        "copy",
        -3,
        W,
        (1, 2, 1),
        "Copies the value of a key to a new key.",
        "6.2.0",
        copy
    ),
    spec!(
        GROUP,
        "move",
        3,
        W | FAST,
        (1, 1, 1),
        "Moves a key to another database.",
        "1.0.0",
        move_
    ),
    spec!(
        GROUP,
        "keys",
        2,
        R,
        (0, 0, 0),
        "Returns all key names that match a pattern.",
        "1.0.0",
        keys
    ),
    spec!(
        GROUP,
        "scan",
        -2,
        R,
        (0, 0, 0),
        "Iterates over the key names in the database.",
        "2.8.0",
        scan
    ),
    spec!(
        GROUP,
        "randomkey",
        1,
        R,
        (0, 0, 0),
        "Returns a random key name from the database.",
        "1.0.0",
        randomkey
    ),
    spec!(
        GROUP,
        "touch",
        -2,
        R | FAST,
        (1, -1, 1),
        "Returns the number of existing keys out of those specified after updating the time they were last accessed.",
        "3.2.1",
        exists
    ),
    spec!(
        GROUP,
        "ttl",
        2,
        R | FAST,
        (1, 1, 1),
        "Returns the expiration time in seconds of a key.",
        "1.0.0",
        ttl
    ),
    spec!(
        GROUP,
        "pttl",
        2,
        R | FAST,
        (1, 1, 1),
        "Returns the expiration time in milliseconds of a key.",
        "2.6.0",
        pttl
    ),
    spec!(
        GROUP,
        "expiretime",
        2,
        R | FAST,
        (1, 1, 1),
        "Returns the expiration time of a key as a Unix timestamp.",
        "7.0.0",
        expiretime
    ),
    spec!(
        GROUP,
        "pexpiretime",
        2,
        R | FAST,
        (1, 1, 1),
        "Returns the expiration time of a key as a Unix milliseconds timestamp.",
        "7.0.0",
        pexpiretime
    ),
    spec!(
        GROUP,
        "expire",
        -3,
        W | FAST,
        (1, 1, 1),
        "Sets the expiration time of a key in seconds.",
        "1.0.0",
        expire
    ),
    spec!(
        GROUP,
        "pexpire",
        -3,
        W | FAST,
        (1, 1, 1),
        "Sets the expiration time of a key in milliseconds.",
        "2.6.0",
        pexpire
    ),
    spec!(
        GROUP,
        "expireat",
        -3,
        W | FAST,
        (1, 1, 1),
        "Sets the expiration time of a key to a Unix timestamp.",
        "1.2.0",
        expireat
    ),
    spec!(
        GROUP,
        "pexpireat",
        -3,
        W | FAST,
        (1, 1, 1),
        "Sets the expiration time of a key to a Unix milliseconds timestamp.",
        "2.6.0",
        pexpireat
    ),
    spec!(
        GROUP,
        "persist",
        2,
        W | FAST,
        (1, 1, 1),
        "Removes the expiration time of a key.",
        "2.2.0",
        persist
    ),
];

fn live(ctx: &mut Ctx<'_, '_>, key: &Bytes) -> Result<Option<Meta>, CommandError> {
    ctx.tx.get(key, ctx.now_ms)
}

/// The record to put at `to_key` in `to_db` for `meta` read at `key`: a string as it is; a
/// collection's elements copied under a new version (docs/format/keys.md, "Collections").
fn relocate(
    ctx: &mut Ctx<'_, '_>,
    key: &Bytes,
    meta: Meta,
    to_db: crate::keyspace::DbIndex,
    to_key: &Bytes,
) -> Result<Meta, CommandError> {
    if !meta.is_collection() {
        return Ok(meta);
    }
    ctx.tx.copy_collection(key, &meta, to_db, to_key)
}

fn del(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let mut n = 0;
    for key in &args[1..] {
        if live(ctx, key)?.is_some() {
            ctx.tx.delete(key)?;
            n += 1;
        }
    }
    Ok(Reply::Integer(n))
}

fn exists(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let mut n = 0;
    for key in &args[1..] {
        let found = live(ctx, key)?.is_some();
        ctx.hit(found);
        n += i64::from(found);
    }
    Ok(Reply::Integer(n))
}

fn type_(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    Ok(match live(ctx, &args[1])? {
        Some(m) => Reply::simple(m.kind.name()),
        None => Reply::simple("none"),
    })
}

fn rename_to(ctx: &mut Ctx<'_, '_>, args: &[Bytes], only_new: bool) -> CommandResult {
    let (src, dst) = (&args[1], &args[2]);
    let Some(meta) = live(ctx, src)? else { return Err(errors::NO_SUCH_KEY.into()) };
    if src == dst {
        return Ok(if only_new { Reply::Integer(0) } else { Reply::ok() });
    }
    if only_new && live(ctx, dst)?.is_some() {
        return Ok(Reply::Integer(0));
    }
    let db = ctx.tx.db;
    let meta = relocate(ctx, src, meta, db, dst)?;
    ctx.tx.delete(src)?;
    ctx.tx.put(dst, meta)?;
    Ok(if only_new { Reply::Integer(1) } else { Reply::ok() })
}

fn rename(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    rename_to(ctx, args, false)
}

fn renamenx(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    rename_to(ctx, args, true)
}

/// Redis's `copyCommand`: options first, then the same-object check, then the keys.
fn copy(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let mut replace = false;
    let mut to_db = ctx.tx.db;
    let mut i = 3;
    while i < args.len() {
        if is(&args[i], "replace") {
            replace = true;
        } else if is(&args[i], "db") && i + 1 < args.len() {
            to_db = db_arg(&args[i + 1])?;
            i += 1;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    let (src, dst) = (&args[1], &args[2]);
    if src == dst && to_db == ctx.tx.db {
        return Err(errors::SAME_OBJECT.into());
    }
    let Some(meta) = live(ctx, src)? else { return Ok(Reply::Integer(0)) };
    if !replace && ctx.tx.get_in(to_db, dst, ctx.now_ms)?.is_some() {
        return Ok(Reply::Integer(0));
    }
    let meta = relocate(ctx, src, meta, to_db, dst)?;
    ctx.tx.put_in(to_db, dst, meta)?;
    Ok(Reply::Integer(1))
}

/// Redis's `moveCommand`: the key, with its expiry, to another database unless it exists there.
fn move_(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let to_db = db_arg(&args[2])?;
    if to_db == ctx.tx.db {
        return Err(errors::SAME_OBJECT.into());
    }
    let key = &args[1];
    let Some(meta) = live(ctx, key)? else { return Ok(Reply::Integer(0)) };
    if ctx.tx.get_in(to_db, key, ctx.now_ms)?.is_some() {
        return Ok(Reply::Integer(0));
    }
    let meta = relocate(ctx, key, meta, to_db, key)?;
    ctx.tx.put_in(to_db, key, meta)?;
    ctx.tx.delete(key)?;
    Ok(Reply::Integer(1))
}

fn keys(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let pattern = &args[1];
    let mut out = Vec::new();
    let mut bytes = 0usize;
    let now = ctx.now_ms;
    let room = ctx.output_room();
    ctx.tx.scan(None, glob::literal_prefix(pattern), now, |key, _| {
        if glob::matches(pattern, key) {
            bytes = bytes.saturating_add(key.len());
            if bytes > room {
                return Err(CommandError::OutputLimit);
            }
            out.push(Reply::Bulk(key.clone()));
        }
        Ok(ControlFlow::Continue(()))
    })?;
    Ok(Reply::Array(out))
}

fn scan(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let cursor: u64 = std::str::from_utf8(&args[1])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(errors::INVALID_CURSOR)?;
    let (mut pattern, mut count, mut kind): (Option<&Bytes>, usize, Option<&Bytes>) =
        (None, 10, None);
    let mut i = 2;
    while i < args.len() {
        let more = i + 1 < args.len();
        if is(&args[i], "match") && more {
            pattern = Some(&args[i + 1]);
        } else if is(&args[i], "count") && more {
            let n = int_arg(&args[i + 1])?;
            if n < 1 {
                return Err(errors::SYNTAX.into());
            }
            count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if is(&args[i], "type") && more {
            kind = Some(&args[i + 1]);
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 2;
    }
    let after = if cursor == 0 { None } else { ctx.shared.cursors().resolve(cursor) };
    let prefix = pattern.map_or(&b""[..], |p| glob::literal_prefix(p));
    let mut found = Vec::new();
    let mut examined = 0usize;
    let mut last: Option<Bytes> = None;
    let now = ctx.now_ms;
    let done = ctx.tx.scan(after.as_deref(), prefix, now, |key, meta| {
        examined += 1;
        last = Some(key.clone());
        let type_ok = kind.is_none_or(|k| is(k, meta.kind.name()));
        if type_ok && pattern.is_none_or(|p| glob::matches(p, key)) {
            found.push(Reply::Bulk(key.clone()));
        }
        Ok(if examined >= count { ControlFlow::Break(()) } else { ControlFlow::Continue(()) })
    })?;
    let next = match (done, last) {
        (false, Some(last)) => ctx.shared.cursors().issue(last),
        _ => 0,
    };
    Ok(Reply::Array(vec![Reply::bulk(next.to_string()), Reply::Array(found)]))
}

/// Keys up to which RANDOMKEY picks exactly uniformly (by counting); above it, it seeks to a
/// random printable key name and takes the next key, which is random but not uniform.
const RANDOMKEY_UNIFORM_MAX: u64 = 1024;

fn randomkey(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CommandResult {
    let n = ctx.tx.key_count();
    let now = ctx.now_ms;
    let mut rng = rand::rng();
    let mut pick: Option<Bytes> = None;
    if n <= RANDOMKEY_UNIFORM_MAX {
        let mut seen = Vec::new();
        ctx.tx.scan(None, b"", now, |key, _| {
            seen.push(key.clone());
            Ok(ControlFlow::Continue(()))
        })?;
        if !seen.is_empty() {
            pick = Some(seen.swap_remove(rng.random_range(0..seen.len())));
        }
    } else {
        let len = rng.random_range(1..=8);
        let probe: Vec<u8> = (0..len).map(|_| rng.random_range(0x21u8..0x7f)).collect();
        for after in [Some(probe.as_slice()), None] {
            ctx.tx.scan(after, b"", now, |key, _| {
                pick = Some(key.clone());
                Ok(ControlFlow::Break(()))
            })?;
            if pick.is_some() {
                break;
            }
        }
    }
    Ok(pick.map_or(Reply::Null, Reply::Bulk))
}

/// TTL-family reply: -2 missing, -1 no expiry, else `f(expire_at_ms)`.
fn ttl_reply(ctx: &mut Ctx<'_, '_>, key: &Bytes, f: impl Fn(u64, u64) -> i64) -> CommandResult {
    let meta = live(ctx, key)?;
    ctx.hit(meta.is_some());
    Ok(Reply::Integer(match meta {
        None => -2,
        Some(m) if m.expire_at_ms == 0 => -1,
        Some(m) => f(m.expire_at_ms, ctx.now_ms),
    }))
}

fn remaining(at: u64, now: u64) -> i64 {
    i64::try_from(at.saturating_sub(now)).unwrap_or(i64::MAX)
}

fn ttl(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    ttl_reply(ctx, &args[1], |at, now| (remaining(at, now) + 500) / 1000)
}

fn pttl(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    ttl_reply(ctx, &args[1], remaining)
}

fn expiretime(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    ttl_reply(ctx, &args[1], |at, _| i64::try_from(at / 1000).unwrap_or(i64::MAX))
}

fn pexpiretime(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    ttl_reply(ctx, &args[1], |at, _| i64::try_from(at).unwrap_or(i64::MAX))
}

/// Redis's `expireGenericCommand`: `relative` adds now, `seconds` multiplies by 1000.
fn expire_generic(
    ctx: &mut Ctx<'_, '_>,
    args: &[Bytes],
    relative: bool,
    seconds: bool,
    name: &str,
) -> CommandResult {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for a in &args[3..] {
        if is(a, "nx") {
            nx = true;
        } else if is(a, "xx") {
            xx = true;
        } else if is(a, "gt") {
            gt = true;
        } else if is(a, "lt") {
            lt = true;
        } else {
            return Err(errors::unsupported_option(a));
        }
    }
    if nx && (xx || gt || lt) {
        return Err(errors::EXPIRE_NX_XX_GT_LT.into());
    }
    if gt && lt {
        return Err(errors::EXPIRE_GT_LT.into());
    }
    let mut when = int_arg(&args[2])?;
    if seconds {
        when = when.checked_mul(1000).ok_or_else(|| errors::invalid_expire(name))?;
    }
    if relative {
        when = when.checked_add(ctx.now_ms as i64).ok_or_else(|| errors::invalid_expire(name))?;
    }
    let key = &args[1];
    let Some(meta) = live(ctx, key)? else { return Ok(Reply::Integer(0)) };
    let current = meta.expire_at_ms;
    let skip = (nx && current != 0)
        || (xx && current == 0)
        || (gt && (current == 0 || when <= current as i64))
        || (lt && current != 0 && when >= current as i64);
    if skip {
        return Ok(Reply::Integer(0));
    }
    if when <= ctx.now_ms as i64 {
        ctx.tx.delete(key)?;
    } else {
        ctx.tx.put(key, Meta { expire_at_ms: when as u64, ..meta })?;
    }
    Ok(Reply::Integer(1))
}

fn expire(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    expire_generic(ctx, args, true, true, "expire")
}

fn pexpire(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    expire_generic(ctx, args, true, false, "pexpire")
}

fn expireat(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    expire_generic(ctx, args, false, true, "expireat")
}

fn pexpireat(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    expire_generic(ctx, args, false, false, "pexpireat")
}

fn persist(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    match live(ctx, &args[1])? {
        Some(meta) if meta.expire_at_ms != 0 => {
            ctx.tx.put(&args[1], Meta { expire_at_ms: 0, ..meta })?;
            Ok(Reply::Integer(1))
        }
        _ => Ok(Reply::Integer(0)),
    }
}
