//! Hash commands (Redis's t_hash.c). A hash is a metadata record plus one element per field,
//! `element_key(db, key, version, field)` -> value (docs/format/keys.md, "Collections"), so
//! HGET is one metadata read and one element read, and HGETALL is one range scan.
//!
//! The pattern every collection command follows: read the metadata (WRONGTYPE for another
//! type), check every argument before writing anything (a command writes all of its changes or
//! none), write the elements, then `save_collection` with the new length.

use super::elements::{
    REPLY_OVERHEAD_BYTES, Sampler, parse_cursor, random_count_arg, scan_options, scan_page,
};
use super::{get_collection, get_or_new_collection, int_arg, save_collection};
use crate::command::{CommandSpec, Ctx, flags::*};
use crate::errors::{self, CommandError, CommandResult};
use crate::keyspace::{self, Kind, Meta, NS_ELEMENT};
use crate::long_double;
use bytes::Bytes;
use lode_resp::Reply;
use std::ops::ControlFlow;

const W: u32 = WRITE | ENGINE;
const R: u32 = READONLY | ENGINE;

/// The command group COMMAND DOCS reports for this file's commands.
const GROUP: &str = "hash";

pub(crate) const SPECS: &[CommandSpec] = &[
    spec!(
        GROUP,
        "hset",
        -4,
        W | DENYOOM | FAST,
        (1, 1, 1),
        "Set the string value of a hash field",
        "2.0.0",
        hset
    ),
    spec!(
        GROUP,
        "hmset",
        -4,
        W | DENYOOM | FAST,
        (1, 1, 1),
        "Set multiple hash fields to multiple values",
        "2.0.0",
        hmset
    ),
    spec!(
        GROUP,
        "hsetnx",
        4,
        W | DENYOOM | FAST,
        (1, 1, 1),
        "Set the value of a hash field, only if the field does not exist",
        "2.0.0",
        hsetnx
    ),
    spec!(GROUP, "hget", 3, R | FAST, (1, 1, 1), "Get the value of a hash field", "2.0.0", hget),
    spec!(
        GROUP,
        "hmget",
        -3,
        R | FAST,
        (1, 1, 1),
        "Get the values of all the given hash fields",
        "2.0.0",
        hmget
    ),
    spec!(GROUP, "hdel", -3, W | FAST, (1, 1, 1), "Delete one or more hash fields", "2.0.0", hdel),
    spec!(
        GROUP,
        "hlen",
        2,
        R | FAST,
        (1, 1, 1),
        "Get the number of fields in a hash",
        "2.0.0",
        hlen
    ),
    spec!(
        GROUP,
        "hexists",
        3,
        R | FAST,
        (1, 1, 1),
        "Determine if a hash field exists",
        "2.0.0",
        hexists
    ),
    spec!(
        GROUP,
        "hgetall",
        2,
        R,
        (1, 1, 1),
        "Get all the fields and values in a hash",
        "2.0.0",
        hgetall
    ),
    spec!(GROUP, "hkeys", 2, R, (1, 1, 1), "Get all the fields in a hash", "2.0.0", hkeys),
    spec!(GROUP, "hvals", 2, R, (1, 1, 1), "Get all the values in a hash", "2.0.0", hvals),
    spec!(
        GROUP,
        "hincrby",
        4,
        W | DENYOOM | FAST,
        (1, 1, 1),
        "Increment the integer value of a hash field by the given number",
        "2.0.0",
        hincrby
    ),
    spec!(
        GROUP,
        "hincrbyfloat",
        4,
        W | DENYOOM | FAST,
        (1, 1, 1),
        "Increment the float value of a hash field by the given amount",
        "2.6.0",
        hincrbyfloat
    ),
    spec!(
        GROUP,
        "hstrlen",
        3,
        R | FAST,
        (1, 1, 1),
        "Get the length of the value of a hash field",
        "3.2.0",
        hstrlen
    ),
    spec!(
        GROUP,
        "hrandfield",
        -2,
        R,
        (1, 1, 1),
        "Get one or multiple random fields from a hash",
        "6.2.0",
        hrandfield
    ),
    spec!(
        GROUP,
        "hscan",
        -3,
        R,
        (1, 1, 1),
        "Incrementally iterate hash fields and associated values",
        "2.8.0",
        hscan
    ),
];

/// The element key of `field` in the hash `meta` at `key`.
pub(crate) fn field_key(ctx: &Ctx<'_, '_>, key: &[u8], meta: &Meta, field: &[u8]) -> Vec<u8> {
    keyspace::element_key(ctx.tx.db, key, meta.version, field)
}

/// Sets field/value pairs; returns how many fields were new.
fn set_pairs(ctx: &mut Ctx<'_, '_>, args: &[Bytes], name: &str) -> Result<i64, CommandError> {
    if !args.len().is_multiple_of(2) {
        return Err(errors::wrong_arity(name));
    }
    let key = &args[1];
    for pair in args[2..].chunks_exact(2) {
        keyspace::check_element(key, &pair[0])?;
    }
    let mut meta = get_or_new_collection(ctx, key, Kind::Hash)?;
    let mut added = 0;
    for pair in args[2..].chunks_exact(2) {
        let ek = field_key(ctx, key, &meta, &pair[0]);
        if meta.len == 0 || ctx.tx.element(&ek)?.is_none() {
            added += 1;
            meta.len += 1;
        }
        ctx.tx.put_element(ek, pair[1].clone())?;
    }
    save_collection(ctx, key, meta)?;
    Ok(added)
}

fn hset(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    Ok(Reply::Integer(set_pairs(ctx, args, "hset")?))
}

fn hmset(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    set_pairs(ctx, args, "hmset")?;
    Ok(Reply::ok())
}

fn hget(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    let Some(meta) = get_collection(ctx, key, Kind::Hash)? else {
        ctx.hit(false);
        return Ok(Reply::Null);
    };
    ctx.hit(true);
    let ek = field_key(ctx, key, &meta, &args[2]);
    Ok(ctx.tx.element(&ek)?.map_or(Reply::Null, Reply::Bulk))
}

fn hdel(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    let Some(mut meta) = get_collection(ctx, key, Kind::Hash)? else {
        return Ok(Reply::Integer(0));
    };
    let mut removed = 0;
    for field in &args[2..] {
        let ek = field_key(ctx, key, &meta, field);
        if ctx.tx.element(&ek)?.is_some() {
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

fn hlen(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let meta = get_collection(ctx, &args[1], Kind::Hash)?;
    ctx.hit(meta.is_some());
    Ok(Reply::Integer(meta.map_or(0, |m| len_reply(m.len))))
}

/// A collection length as a reply integer.
fn len_reply(len: u64) -> i64 {
    i64::try_from(len).unwrap_or(i64::MAX)
}

fn hsetnx(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let (key, field) = (&args[1], &args[2]);
    keyspace::check_element(key, field)?;
    let mut meta = get_or_new_collection(ctx, key, Kind::Hash)?;
    let ek = field_key(ctx, key, &meta, field);
    if meta.len > 0 && ctx.tx.element(&ek)?.is_some() {
        return Ok(Reply::Integer(0));
    }
    ctx.tx.put_element(ek, args[3].clone())?;
    meta.len += 1;
    save_collection(ctx, key, meta)?;
    Ok(Reply::Integer(1))
}

fn hmget(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    let meta = get_collection(ctx, key, Kind::Hash)?;
    ctx.hit(meta.is_some());
    let Some(meta) = meta else {
        return Ok(Reply::Array(args[2..].iter().map(|_| Reply::Null).collect()));
    };
    let room = ctx.output_room();
    let mut bytes = 0usize;
    let mut out = Vec::with_capacity(args.len() - 2);
    for field in &args[2..] {
        let ek = field_key(ctx, key, &meta, field);
        let value = ctx.tx.element(&ek)?;
        bytes = bytes.saturating_add(value.as_ref().map_or(0, Bytes::len) + REPLY_OVERHEAD_BYTES);
        if bytes > room {
            return Err(CommandError::OutputLimit);
        }
        out.push(value.map_or(Reply::Null, Reply::Bulk));
    }
    Ok(Reply::Array(out))
}

/// The value of `field` in the hash at `key`, `None` if either is missing (a hit or miss on
/// the key is counted).
fn field_value(
    ctx: &mut Ctx<'_, '_>,
    key: &Bytes,
    field: &[u8],
) -> Result<Option<Bytes>, CommandError> {
    let meta = get_collection(ctx, key, Kind::Hash)?;
    ctx.hit(meta.is_some());
    let Some(meta) = meta else { return Ok(None) };
    let ek = field_key(ctx, key, &meta, field);
    ctx.tx.element(&ek)
}

fn hexists(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    Ok(Reply::Integer(i64::from(field_value(ctx, &args[1], &args[2])?.is_some())))
}

fn hstrlen(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let len = field_value(ctx, &args[1], &args[2])?.map_or(0, |v| v.len());
    Ok(Reply::Integer(i64::try_from(len).unwrap_or(i64::MAX)))
}

/// What HGETALL, HKEYS and HVALS return of each field.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Both,
    Fields,
    Values,
}

/// Every field and/or value of the hash at `args[1]`, in field order, the reply charged
/// against the output limit as it grows.
fn whole(ctx: &mut Ctx<'_, '_>, args: &[Bytes], part: Part) -> CommandResult {
    let key = &args[1];
    let meta = get_collection(ctx, key, Kind::Hash)?;
    ctx.hit(meta.is_some());
    let Some(meta) = meta else {
        return Ok(if part == Part::Both {
            Reply::Map(Vec::new())
        } else {
            Reply::Array(Vec::new())
        });
    };
    let room = ctx.output_room();
    let (mut pairs, mut items) = (Vec::new(), Vec::new());
    let mut bytes = 0usize;
    ctx.tx.scan_collection(NS_ELEMENT, key, &meta, false, |field, value| {
        let field_bytes = if part == Part::Values { 0 } else { field.len() };
        let value_bytes = if part == Part::Fields { 0 } else { value.len() };
        bytes = bytes.saturating_add(field_bytes + value_bytes + 2 * REPLY_OVERHEAD_BYTES);
        if bytes > room {
            return Err(CommandError::OutputLimit);
        }
        let field = || Reply::Bulk(Bytes::copy_from_slice(field));
        match part {
            Part::Both => pairs.push((field(), Reply::Bulk(value.clone()))),
            Part::Fields => items.push(field()),
            Part::Values => items.push(Reply::Bulk(value.clone())),
        }
        Ok(ControlFlow::Continue(()))
    })?;
    Ok(if part == Part::Both { Reply::Map(pairs) } else { Reply::Array(items) })
}

fn hgetall(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    whole(ctx, args, Part::Both)
}

fn hkeys(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    whole(ctx, args, Part::Fields)
}

fn hvals(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    whole(ctx, args, Part::Values)
}

/// HINCRBY and HINCRBYFLOAT after their increment is parsed: the hash (created if missing),
/// the field's current value, and `next` computing the new value's text from it (or the
/// error); the new value is written and returned.
fn increment(
    ctx: &mut Ctx<'_, '_>,
    args: &[Bytes],
    next: impl FnOnce(Option<&Bytes>) -> Result<Bytes, CommandError>,
) -> Result<Bytes, CommandError> {
    let (key, field) = (&args[1], &args[2]);
    let mut meta = get_or_new_collection(ctx, key, Kind::Hash)?;
    let ek = field_key(ctx, key, &meta, field);
    let old = if meta.len == 0 { None } else { ctx.tx.element(&ek)? };
    let text = next(old.as_ref())?;
    keyspace::check_element(key, field)?;
    if old.is_none() {
        meta.len += 1;
    }
    ctx.tx.put_element(ek, text.clone())?;
    save_collection(ctx, key, meta)?;
    Ok(text)
}

fn hincrby(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let delta = int_arg(&args[3])?;
    let mut result = 0;
    increment(ctx, args, |old| {
        let current = match old {
            Some(v) => lode_resp::parse_i64(v).ok_or(errors::HASH_VALUE_NOT_INTEGER)?,
            None => 0,
        };
        result = current.checked_add(delta).ok_or(errors::OVERFLOW)?;
        Ok(Bytes::from(result.to_string()))
    })?;
    Ok(Reply::Integer(result))
}

fn hincrbyfloat(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    // Redis's order: the increment (a finite long double), then the key's type, then the
    // field's value, all as `long double` (exactly as INCRBYFLOAT computes and prints).
    let delta = long_double::parse(&args[3]).ok_or(errors::NOT_FLOAT)?;
    if !matches!(delta, long_double::LongDouble::Finite { .. }) {
        return Err(errors::NAN_OR_INFINITY_VALUE.into());
    }
    let text = increment(ctx, args, |old| {
        let current = match old {
            Some(v) => long_double::parse(v).ok_or(errors::HASH_VALUE_NOT_FLOAT)?,
            None => long_double::parse(b"0").ok_or(errors::NOT_FLOAT)?,
        };
        match long_double::add(current, delta) {
            Some(sum @ long_double::LongDouble::Finite { .. }) => {
                Ok(Bytes::from(long_double::format_human(sum)))
            }
            _ => Err(errors::NAN_OR_INFINITY.into()),
        }
    })?;
    Ok(Reply::Bulk(text))
}

/// HRANDFIELD: the count in Redis's range (±(2^63 - 1)), half of it with WITHVALUES; checked
/// before the key, as Redis does.
fn hrandfield(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    let Some(count_arg) = args.get(2) else {
        let meta = get_collection(ctx, key, Kind::Hash)?;
        ctx.hit(meta.is_some());
        let Some(meta) = meta else { return Ok(Reply::Null) };
        let mut sampler = Sampler::new(ctx.tx, key, &meta)?;
        let field = sampler.pick(ctx.tx, &mut rand::rng())?;
        return Ok(field.map_or(Reply::Null, Reply::Bulk));
    };
    let count = random_count_arg(count_arg)?;
    let with_values = match args.get(3) {
        None if args.len() == 3 => false,
        Some(w) if args.len() == 4 && super::is(w, "withvalues") => true,
        _ => return Err(errors::SYNTAX.into()),
    };
    if with_values && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(errors::VALUE_OUT_OF_RANGE.into());
    }
    let meta = get_collection(ctx, key, Kind::Hash)?;
    ctx.hit(meta.is_some());
    let Some(meta) = meta else { return Ok(Reply::Array(Vec::new())) };
    if count == 0 {
        return Ok(Reply::Array(Vec::new()));
    }
    let room = ctx.output_room();
    let mut bytes = 0usize;
    let charge = |field: &Bytes| {
        bytes = bytes.saturating_add(field.len() + REPLY_OVERHEAD_BYTES);
        if bytes > room { Err(CommandError::OutputLimit) } else { Ok(()) }
    };
    let mut sampler = Sampler::new(ctx.tx, key, &meta)?;
    let mut rng = rand::rng();
    let fields = if count < 0 {
        sampler.with_repeats(ctx.tx, &mut rng, count.unsigned_abs(), room, charge)?
    } else {
        sampler.distinct(ctx.tx, &mut rng, count.unsigned_abs(), charge)?
    };
    if !with_values {
        return Ok(Reply::Array(fields.into_iter().map(Reply::Bulk).collect()));
    }
    // Values are read once per distinct field; repeats share the bytes.
    let mut values: std::collections::HashMap<Bytes, Bytes> = std::collections::HashMap::new();
    let mut out = Vec::with_capacity(fields.len());
    for field in fields {
        let value = match values.get(&field) {
            Some(v) => v.clone(),
            None => {
                let ek = field_key(ctx, key, &meta, &field);
                let v = ctx.tx.element(&ek)?.unwrap_or_default();
                values.insert(field.clone(), v.clone());
                v
            }
        };
        bytes = bytes.saturating_add(value.len() + REPLY_OVERHEAD_BYTES);
        if bytes > room {
            return Err(CommandError::OutputLimit);
        }
        out.push((field, value));
    }
    Ok(pairs_reply(ctx, out))
}

/// Field/value pairs as HRANDFIELD ... WITHVALUES answers them: flat in RESP2, an array of
/// two-element arrays in RESP3 (not a map: a negative count repeats fields).
fn pairs_reply(ctx: &Ctx<'_, '_>, pairs: Vec<(Bytes, Bytes)>) -> Reply {
    if ctx.session.proto == lode_resp::Protocol::Resp2 {
        Reply::Array(
            pairs.into_iter().flat_map(|(f, v)| [Reply::Bulk(f), Reply::Bulk(v)]).collect(),
        )
    } else {
        Reply::Array(
            pairs
                .into_iter()
                .map(|(f, v)| Reply::Array(vec![Reply::Bulk(f), Reply::Bulk(v)]))
                .collect(),
        )
    }
}

fn hscan(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    // Redis's order: the cursor, then the key (a missing key ends the scan whatever the
    // options say), then the options.
    let cursor = parse_cursor(&args[2])?;
    let key = &args[1];
    let meta = get_collection(ctx, key, Kind::Hash)?;
    ctx.hit(meta.is_some());
    let Some(meta) = meta else { return Ok(scan_reply(0, Vec::new())) };
    let (pattern, count) = scan_options(&args[3..])?;
    let (next, found) = scan_page(ctx, key, &meta, cursor, pattern, count)?;
    let flat = found.into_iter().flat_map(|(f, v)| [Reply::Bulk(f), Reply::Bulk(v)]).collect();
    Ok(scan_reply(next, flat))
}

/// `[cursor, [items...]]`, the SCAN family's reply.
pub(crate) fn scan_reply(cursor: u64, items: Vec<Reply>) -> Reply {
    Reply::Array(vec![Reply::bulk(cursor.to_string()), Reply::Array(items)])
}
