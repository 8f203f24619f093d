//! MULTI EXEC DISCARD WATCH UNWATCH (Redis's multi.c).
//!
//! EXEC runs inside a write burst (it carries the `LOCKS` flag), so the WATCH check and the
//! queued commands run under the keyspace's write lock, and their writes join the burst's one
//! engine batch: a crash keeps all of a transaction or none of it.

use crate::command::{self, CommandSpec, Ctx, flags::*};
use crate::errors::{self, CommandError, CommandResult};
use crate::session::{Multi, WatchedKey};
use bytes::Bytes;
use lode_resp::Reply;

/// The command group COMMAND DOCS reports for this file's commands.
const GROUP: &str = "transactions";

pub(crate) const SPECS: &[CommandSpec] = &[
    spec!(
        GROUP,
        "multi",
        1,
        NO_MULTI | FAST | LOADING | STALE,
        (0, 0, 0),
        "Starts a transaction.",
        "1.2.0",
        multi
    ),
    spec!(
        GROUP,
        "exec",
        1,
        NO_MULTI | LOCKS | LOADING | STALE,
        (0, 0, 0),
        "Executes all commands in a transaction.",
        "1.2.0",
        exec
    ),
    spec!(
        GROUP,
        "discard",
        1,
        NO_MULTI | FAST | LOADING | STALE,
        (0, 0, 0),
        "Discards a transaction.",
        "2.0.0",
        discard
    ),
    spec!(
        GROUP,
        "watch",
        -2,
        NO_MULTI | FAST | ENGINE | LOADING | STALE,
        (1, -1, 1),
        "Monitors changes to keys to determine the execution of a transaction.",
        "2.2.0",
        watch
    ),
    spec!(
        GROUP,
        "unwatch",
        1,
        FAST | LOADING | STALE,
        (0, 0, 0),
        "Forgets about watched keys of a transaction.",
        "2.2.0",
        unwatch
    ),
];

fn multi(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CommandResult {
    if ctx.session.multi.is_some() {
        return Err(errors::MULTI_NESTED.into());
    }
    ctx.session.multi = Some(Multi::default());
    ctx.session.client.meta().multi = 0;
    Ok(Reply::ok())
}

/// Closes the open MULTI, if any, and drops every WATCH (EXEC, DISCARD, a refused EXEC).
pub(crate) fn end_multi(ctx: &mut Ctx<'_, '_>) -> Option<Multi> {
    ctx.session.client.meta().multi = -1;
    let multi = ctx.session.multi.take();
    ctx.session.unwatch_all(&ctx.shared.ks);
    multi
}

fn discard(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CommandResult {
    if ctx.session.multi.is_none() {
        return Err(errors::DISCARD_WITHOUT_MULTI.into());
    }
    end_multi(ctx);
    Ok(Reply::ok())
}

fn exec(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CommandResult {
    if ctx.session.multi.is_none() {
        return Err(errors::EXEC_WITHOUT_MULTI.into());
    }
    let now = ctx.now_ms;
    let ks = &ctx.shared.ks;
    let touched = ctx.session.watched.iter().any(|w| {
        ks.watch_version(w.db, &w.key) != w.version || (w.expire_at_ms != 0 && now > w.expire_at_ms)
    });
    let Some(multi) = end_multi(ctx) else { return Err(errors::EXEC_WITHOUT_MULTI.into()) };
    if multi.dirty {
        return Err(errors::EXECABORT.into());
    }
    if touched {
        return Ok(Reply::NullArray);
    }
    let mut replies = Vec::with_capacity(multi.queued.len());
    ctx.session.deny_blocking = true;
    for req in &multi.queued {
        let Some(spec) = req.first().and_then(|n| command::lookup(n)) else {
            replies.push(Reply::error("ERR unknown command"));
            continue;
        };
        match command::call(ctx, spec, req) {
            Ok(reply) => replies.push(reply),
            Err(CommandError::OutputLimit) => {
                ctx.session.deny_blocking = false;
                return Err(CommandError::OutputLimit);
            }
            Err(e) => {
                if let CommandError::Reply(text) = &e {
                    ctx.shared.stats.count_error(text);
                }
                replies.extend(e.to_reply());
            }
        }
    }
    ctx.session.deny_blocking = false;
    Ok(Reply::Array(replies))
}

fn watch(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    if ctx.session.multi.is_some() {
        return Err(errors::WATCH_IN_MULTI.into());
    }
    for key in &args[1..] {
        let db = ctx.session.db;
        if ctx.session.watched.iter().any(|w| w.db == db && w.key == key) {
            continue;
        }
        // Register first, then read: a write committed after the read bumps the version.
        let version = ctx.shared.ks.watch(db, key);
        let expire_at_ms = ctx.tx.get(key, ctx.now_ms)?.map_or(0, |m| m.expire_at_ms);
        ctx.session.watched.push(WatchedKey { db, key: key.clone(), version, expire_at_ms });
    }
    Ok(Reply::ok())
}

fn unwatch(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CommandResult {
    ctx.session.unwatch_all(&ctx.shared.ks);
    Ok(Reply::ok())
}
