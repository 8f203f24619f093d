//! The command handlers, one file per family (as Redis has t_string.c, db.c, ...), each with
//! its `SPECS` table; and the argument parsing they share.

/// A command table entry: `spec!(group, name, arity, flags, [keys,] summary, since, handler)`,
/// `keys` (first, last, step) defaulting to none. One definition for every command file.
macro_rules! spec {
    ($group:expr, $name:literal, $arity:expr, $flags:expr, $summary:literal, $since:literal, $handler:expr $(,)?) => {
        spec!($group, $name, $arity, $flags, (0, 0, 0), $summary, $since, $handler)
    };
    ($group:expr, $name:literal, $arity:expr, $flags:expr, $keys:expr, $summary:literal, $since:literal, $handler:expr $(,)?) => {
        crate::command::CommandSpec {
            name: $name,
            arity: $arity,
            flags: $flags,
            keys: $keys,
            group: $group,
            summary: $summary,
            since: $since,
            handler: $handler,
        }
    };
}

pub(crate) mod connection;
pub(crate) mod elements;
pub(crate) mod hashes;
pub(crate) mod keys;
pub(crate) mod krange;
pub(crate) mod lists;
pub(crate) mod server;
pub(crate) mod sets;
pub(crate) mod strings;
pub(crate) mod transactions;
pub(crate) mod zsets;

use crate::command::Ctx;
use crate::errors::{self, CommandError};
use crate::keyspace::{DbIndex, Kind, Meta};
use bytes::Bytes;

/// Case-insensitive equality of an argument and an ASCII word.
pub(crate) fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

/// An integer argument, Redis's `string2ll` rules.
pub(crate) fn int_arg(arg: &[u8]) -> Result<i64, CommandError> {
    lode_resp::parse_i64(arg).ok_or_else(|| errors::NOT_INTEGER.into())
}

/// A database index argument (SELECT, COPY ... DB, MOVE): Redis's `getIntFromObjectOrReply`,
/// then its `selectDb` range check.
pub(crate) fn db_arg(arg: &[u8]) -> Result<DbIndex, CommandError> {
    let n = int_arg(arg)?;
    if i32::try_from(n).is_err() {
        return Err(errors::INT_OUT_OF_RANGE.into());
    }
    DbIndex::new(n).ok_or_else(|| errors::DB_OUT_OF_RANGE.into())
}

/// The live collection of `kind` at `key`; WRONGTYPE for another type.
pub(crate) fn get_collection(
    ctx: &mut Ctx<'_, '_>,
    key: &Bytes,
    kind: Kind,
) -> Result<Option<Meta>, CommandError> {
    match ctx.tx.get(key, ctx.now_ms)? {
        Some(meta) if meta.kind != kind => Err(errors::WRONGTYPE.into()),
        other => Ok(other),
    }
}

/// The live collection of `kind` at `key`, or a new empty one (with a new version) when the
/// key is missing; WRONGTYPE for another type. Save it with [`save_collection`].
pub(crate) fn get_or_new_collection(
    ctx: &mut Ctx<'_, '_>,
    key: &Bytes,
    kind: Kind,
) -> Result<Meta, CommandError> {
    match get_collection(ctx, key, kind)? {
        Some(meta) => Ok(meta),
        None => ctx.tx.new_collection(kind),
    }
}

/// Writes a collection's metadata after a command changed it: deleted when it has no elements
/// left (Redis never keeps an empty collection), rewritten otherwise, also when only an
/// element changed, so the key counts as modified for WATCH.
pub(crate) fn save_collection(
    ctx: &mut Ctx<'_, '_>,
    key: &Bytes,
    meta: Meta,
) -> Result<(), CommandError> {
    if meta.len == 0 { ctx.tx.delete(key) } else { ctx.tx.put(key, meta) }
}

/// The live string at `key`; WRONGTYPE for another type.
pub(crate) fn get_string(ctx: &mut Ctx<'_, '_>, key: &Bytes) -> Result<Option<Meta>, CommandError> {
    match ctx.tx.get(key, ctx.now_ms)? {
        Some(meta) if meta.kind != Kind::String => Err(errors::WRONGTYPE.into()),
        other => Ok(other),
    }
}
