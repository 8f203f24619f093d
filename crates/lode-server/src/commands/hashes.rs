//! Hash commands (Redis's t_hash.c). A hash is a metadata record plus one element per field,
//! `element_key(db, key, version, field)` -> value (docs/format/keys.md, "Collections"), so
//! HGET is one metadata read and one element read, and HGETALL is one range scan.
//!
//! The pattern every collection command follows: read the metadata (WRONGTYPE for another
//! type), check every argument before writing anything (a command writes all of its changes or
//! none), write the elements, then `save_collection` with the new length.

use super::{get_collection, get_or_new_collection, save_collection};
use crate::command::{CommandSpec, Ctx, flags::*};
use crate::errors::{self, CommandError, CommandResult};
use crate::keyspace::{self, Kind, Meta, NS_ELEMENT};
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
        "Creates or modifies the value of a field in a hash.",
        "2.0.0",
        hset
    ),
    spec!(
        GROUP,
        "hmset",
        -4,
        W | DENYOOM | FAST,
        (1, 1, 1),
        "Sets the values of multiple fields.",
        "2.0.0",
        hmset
    ),
    spec!(
        GROUP,
        "hget",
        3,
        R | FAST,
        (1, 1, 1),
        "Returns the value of a field in a hash.",
        "2.0.0",
        hget
    ),
    spec!(
        GROUP,
        "hdel",
        -3,
        W | FAST,
        (1, 1, 1),
        "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.",
        "2.0.0",
        hdel
    ),
    spec!(
        GROUP,
        "hlen",
        2,
        R | FAST,
        (1, 1, 1),
        "Returns the number of fields in a hash.",
        "2.0.0",
        hlen
    ),
    spec!(
        GROUP,
        "hgetall",
        2,
        R,
        (1, 1, 1),
        "Returns all fields and values in a hash.",
        "2.0.0",
        hgetall
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
    Ok(Reply::Integer(meta.map_or(0, |m| i64::try_from(m.len).unwrap_or(i64::MAX))))
}

fn hgetall(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let key = &args[1];
    let Some(meta) = get_collection(ctx, key, Kind::Hash)? else {
        ctx.hit(false);
        return Ok(Reply::Map(Vec::new()));
    };
    ctx.hit(true);
    let room = ctx.output_room();
    let mut out = Vec::new();
    let mut bytes = 0usize;
    ctx.tx.scan_collection(NS_ELEMENT, key, &meta, false, |field, value| {
        bytes = bytes.saturating_add(field.len() + value.len() + 16);
        if bytes > room {
            return Err(CommandError::OutputLimit);
        }
        out.push((Reply::Bulk(Bytes::copy_from_slice(field)), Reply::Bulk(value.clone())));
        Ok(ControlFlow::Continue(()))
    })?;
    Ok(Reply::Map(out))
}
