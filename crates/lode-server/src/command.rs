//! The command table and the dispatcher: name -> [`CommandSpec`] (arity, flags, key positions,
//! handler), and [`run_burst`], which runs the commands of one burst against one [`Tx`].
//!
//! Role: middle of the server's path (decoder -> `run_burst` -> handler -> `Reply` -> encoder).
//! Order of checks follows Redis's `processCommand`: unknown command, arity, AUTH, then MULTI
//! queueing, then the handler.
//!
//! A burst that contains a write holds the keyspace's write lock from its first command to its
//! commit; its writes become one engine batch (several when they pass
//! [`BURST_PENDING_BYTES_MAX`]). With `appendfsync always` the burst's replies are released
//! only after `Db::sync`, which runs after the lock is dropped so concurrent bursts share fsyncs.

use crate::client_limits::LimitHit;
use crate::commands;
use crate::config::Appendfsync;
use crate::errors::{self, CommandError, CommandResult};
use crate::limits::{
    BURST_COMMANDS_MAX, BURST_OUTPUT_BYTES_MAX, BURST_PENDING_BYTES_MAX, MULTI_QUEUED_MAX,
};
use crate::server::Shared;
use crate::session::Session;
use crate::tx::Tx;
use bytes::{Bytes, BytesMut};
use lode_resp::{Reply, Request};
use std::collections::{HashMap, VecDeque};
use std::sync::OnceLock;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// Command flags (the `flags` of COMMAND INFO, plus Lode's own scheduling bits).
pub(crate) mod flags {
    /// May modify the keyspace: the burst takes the write lock.
    pub const WRITE: u32 = 1;
    /// Reads the keyspace.
    pub const READONLY: u32 = 1 << 1;
    pub const ADMIN: u32 = 1 << 2;
    /// Allowed before AUTH.
    pub const NOAUTH: u32 = 1 << 3;
    /// Runs at once inside MULTI instead of being queued.
    pub const NO_MULTI: u32 = 1 << 4;
    pub const FAST: u32 = 1 << 5;
    pub const LOADING: u32 = 1 << 6;
    pub const STALE: u32 = 1 << 7;
    /// Lode: touches the engine, so the burst runs on a blocking thread.
    pub const ENGINE: u32 = 1 << 8;
    /// Lode: takes the write lock without being a write (EXEC, WATCH checks under it).
    pub const LOCKS: u32 = 1 << 9;
    /// May grow memory use (Redis refuses it past maxmemory; shown by COMMAND INFO).
    pub const DENYOOM: u32 = 1 << 10;
    /// Its keys are found by parsing its arguments (a `numkeys` count), not by position.
    pub const MOVABLEKEYS: u32 = 1 << 11;
    /// Not allowed in scripts (shown by COMMAND INFO; Lode has no scripting).
    pub const NOSCRIPT: u32 = 1 << 12;
    /// May block the client (BLPOP and the like).
    pub const BLOCKING: u32 = 1 << 13;
}

/// A handler: the command's arguments (name first) in, a reply out.
pub(crate) type Handler = fn(&mut Ctx<'_, '_>, &[Bytes]) -> CommandResult;

/// One row of the command table.
#[derive(Debug)]
pub(crate) struct CommandSpec {
    /// Lower-case name.
    pub name: &'static str,
    /// Redis's arity: `n` exactly n arguments (name included), `-n` at least n.
    pub arity: i32,
    pub flags: u32,
    /// First key, last key (-1 = last argument), step; 0 0 0 for no keys.
    pub keys: (i32, i32, i32),
    pub group: &'static str,
    pub summary: &'static str,
    pub since: &'static str,
    pub handler: Handler,
}

impl CommandSpec {
    pub(crate) fn arity_ok(&self, argc: usize) -> bool {
        let argc = i32::try_from(argc).unwrap_or(i32::MAX);
        if self.arity >= 0 { argc == self.arity } else { argc >= -self.arity }
    }

    fn needs_lock(&self) -> bool {
        self.flags & (flags::WRITE | flags::LOCKS) != 0
    }

    fn needs_engine(&self) -> bool {
        self.flags & (flags::ENGINE | flags::WRITE | flags::LOCKS) != 0
    }

    /// The flag words COMMAND INFO shows, in Redis 7.0's order.
    pub(crate) fn flag_names(&self) -> Vec<&'static str> {
        CommandSpec::flag_words(self.flags)
    }

    /// `flags` as COMMAND INFO's words, in Redis 7.0's order.
    pub(crate) fn flag_words(flags: u32) -> Vec<&'static str> {
        let names = [
            (flags::WRITE, "write"),
            (flags::READONLY, "readonly"),
            (flags::DENYOOM, "denyoom"),
            (flags::ADMIN, "admin"),
            (flags::NOSCRIPT, "noscript"),
            (flags::BLOCKING, "blocking"),
            (flags::LOADING, "loading"),
            (flags::STALE, "stale"),
            (flags::FAST, "fast"),
            (flags::NOAUTH, "no_auth"),
            (flags::NO_MULTI, "no_multi"),
            (flags::MOVABLEKEYS, "movablekeys"),
        ];
        names.iter().filter(|(f, _)| flags & f != 0).map(|(_, n)| *n).collect()
    }
}

/// Every command, from the families' tables.
pub(crate) fn all() -> impl Iterator<Item = &'static CommandSpec> {
    [
        commands::connection::SPECS,
        commands::server::SPECS,
        commands::strings::SPECS,
        commands::keys::SPECS,
        commands::hashes::SPECS,
        commands::sets::SPECS,
        commands::lists::SPECS,
        commands::krange::SPECS,
        commands::transactions::SPECS,
        commands::zsets::SPECS,
    ]
    .into_iter()
    .flatten()
}

/// The command named `name` (case-insensitive).
pub(crate) fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    static TABLE: OnceLock<HashMap<&'static str, &'static CommandSpec>> = OnceLock::new();
    let table = TABLE.get_or_init(|| all().map(|s| (s.name, s)).collect());
    let mut buf = [0u8; 32];
    let lower = buf.get_mut(..name.len())?;
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    table.get(std::str::from_utf8(lower).ok()?).copied()
}

/// What a burst needs: nothing (answer on the async worker), engine reads, or the write lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Needs {
    Nothing,
    Read,
    Write,
}

/// What the first `BURST_COMMANDS_MAX` requests of `queue` need.
pub(crate) fn needs(queue: &VecDeque<Request>) -> Needs {
    let mut needs = Needs::Nothing;
    for req in queue.iter().take(BURST_COMMANDS_MAX) {
        let Some(spec) = req.first().and_then(|n| lookup(n)) else { continue };
        if spec.needs_lock() {
            return Needs::Write;
        }
        if spec.needs_engine() {
            needs = Needs::Read;
        }
    }
    needs
}

/// What a handler works with.
#[derive(Debug)]
pub(crate) struct Ctx<'c, 'a> {
    pub shared: &'a Shared,
    pub session: &'c mut Session,
    pub tx: &'c mut Tx<'a>,
    /// Wall-clock time of this command, Unix ms.
    pub now_ms: u64,
    /// Reply bytes this client already has waiting in this burst.
    pub out_bytes: usize,
}

impl Ctx<'_, '_> {
    /// Reply bytes this command can still add before the client's pending replies pass its
    /// output hard limit (`client-output-buffer-limit`).
    pub(crate) fn output_room(&self) -> usize {
        match self.shared.live.output_limit().hard_bytes {
            0 => usize::MAX,
            hard => usize::try_from(hard).unwrap_or(usize::MAX).saturating_sub(self.out_bytes),
        }
    }

    /// Fails with `OutputLimit` if `more` reply bytes would pass the output hard limit, so a
    /// handler gives up before it builds a reply that would close the client anyway.
    pub(crate) fn charge(&self, more: usize) -> Result<(), CommandError> {
        if more > self.output_room() { Err(CommandError::OutputLimit) } else { Ok(()) }
    }

    pub(crate) fn hit(&self, found: bool) {
        let counter = if found { &self.shared.ks.hits } else { &self.shared.ks.misses };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Runs one top-level command: Redis's checks, MULTI queueing, then the handler.
pub(crate) fn execute(ctx: &mut Ctx<'_, '_>, req: &Request) -> CommandResult {
    let Some(spec) = req.first().and_then(|n| lookup(n)) else {
        ctx.session.flag_multi_error();
        ctx.shared.metrics.record_refusal(crate::metrics::UNKNOWN_COMMAND);
        return Err(errors::unknown_command(req));
    };
    if !spec.arity_ok(req.len()) {
        return reject(ctx, spec, errors::wrong_arity(spec.name));
    }
    if !ctx.session.authed && spec.flags & flags::NOAUTH == 0 {
        return reject(ctx, spec, errors::NOAUTH.into());
    }
    if let Some(multi) = &mut ctx.session.multi
        && spec.flags & flags::NO_MULTI == 0
    {
        if multi.queued.len() >= MULTI_QUEUED_MAX {
            multi.dirty = true;
            ctx.shared.metrics.record_refusal(spec.name);
            return Err("ERR too many commands queued in MULTI".into());
        }
        multi.queued.push(req.clone());
        ctx.session.client.meta().multi = multi.queued.len() as i64;
        return Ok(Reply::simple("QUEUED"));
    }
    call(ctx, spec, req)
}

/// Commands whose first argument is a subcommand.
const CONTAINERS: &[&str] = &["client", "config", "command", "slowlog"];
/// Longest subcommand name shown in CLIENT LIST's `cmd` (the longest real one has 11 bytes).
const SUBCOMMAND_BYTES_MAX: usize = 32;

/// A known command refused before it runs (Redis's `rejectCommand`): an open MULTI is marked
/// failed, and a refused EXEC discards the transaction and names the reason.
fn reject(ctx: &mut Ctx<'_, '_>, spec: &CommandSpec, error: CommandError) -> CommandResult {
    ctx.session.flag_multi_error();
    ctx.shared.metrics.record_refusal(spec.name);
    if spec.name != "exec" {
        return Err(error);
    }
    commands::transactions::end_multi(ctx);
    match &error {
        CommandError::Reply(reason) => Err(errors::exec_abort(reason)),
        CommandError::OutputLimit | CommandError::Close => Err(error),
    }
}

/// Runs a command's handler (also EXEC's queued commands), counting and timing it.
pub(crate) fn call(ctx: &mut Ctx<'_, '_>, spec: &CommandSpec, req: &Request) -> CommandResult {
    {
        let mut meta = ctx.session.client.meta();
        meta.last_command.clear();
        meta.last_command.push_str(spec.name);
        // Redis names a container's subcommand too (`client|info`), as CLIENT LIST shows.
        if CONTAINERS.contains(&spec.name)
            && let Some(sub) = req.get(1).filter(|s| s.len() <= SUBCOMMAND_BYTES_MAX)
        {
            meta.last_command.push('|');
            meta.last_command.push_str(&String::from_utf8_lossy(sub).to_ascii_lowercase());
        }
    }
    // SELECT (also one queued in MULTI) changes the session's database for what follows.
    ctx.tx.db = ctx.session.db;
    ctx.now_ms = now_ms();
    let started = Instant::now();
    let result = (spec.handler)(ctx, req);
    let elapsed = started.elapsed();
    let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
    let shared = ctx.shared;
    shared.stats.count_call(spec.name, micros);
    let failed = matches!(result, Err(CommandError::Reply(_)));
    shared.metrics.record_call(spec.name, elapsed, failed);
    // EXEC is Redis's one SKIP_SLOWLOG command: the commands it ran are logged instead.
    if spec.name != "exec" {
        let client = &ctx.session.client;
        shared.slowlog.offer(&shared.live, micros, spec.name, req, client, ctx.now_ms);
    }
    result
}

/// Runs up to [`BURST_COMMANDS_MAX`] requests from the front of `queue` (fewer once their
/// replies pass [`BURST_OUTPUT_BYTES_MAX`]), appending the replies to `out` (empty or holding
/// replies not yet written). Returns false if the connection must close at once: the pending
/// replies passed the output hard limit (the client gets none of them, as in Redis), or
/// SHUTDOWN.
pub(crate) fn run_burst(
    shared: &Shared,
    session: &mut Session,
    queue: &mut VecDeque<Request>,
    out: &mut BytesMut,
    needs: Needs,
) -> bool {
    let start = out.len();
    let mut tx = if needs == Needs::Write { Tx::write(&shared.ks) } else { Tx::read(&shared.ks) };
    let mut committed_at = out.len();
    let mut uncommitted = 0usize;
    let mut replies = 0usize;
    let mut keep_open = true;
    let output_limit = shared.live.output_limit();
    // Replies to clients blocked in BLPOP and the like that this burst served: sent once the
    // pops are committed (and synced, with `appendfsync always`), as this client's are.
    let (mut deliveries, mut committed) = (Vec::new(), Vec::new());
    while replies < BURST_COMMANDS_MAX && out.len() - start < BURST_OUTPUT_BYTES_MAX {
        let Some(req) = queue.pop_front() else { break };
        let mut ctx = Ctx { shared, session, tx: &mut tx, now_ms: 0, out_bytes: out.len() };
        let result = execute(&mut ctx, &req);
        // As Redis does after each command (and after EXEC, not inside it).
        commands::lists::serve_blocked(shared, &mut tx, &mut deliveries);
        if session.blocked.is_some() {
            // The command blocked: its reply comes when a push serves it or its timeout
            // passes (conn.rs); the commands after it wait until then.
            break;
        }
        match result {
            Ok(reply) => reply.encode(session.proto, out),
            Err(e) => match e.to_reply() {
                Some(reply) => {
                    if let CommandError::Reply(text) = &e {
                        shared.stats.count_error(text);
                    }
                    reply.encode(session.proto, out);
                }
                None => {
                    if matches!(e, CommandError::OutputLimit) {
                        output_limit_hit(shared, session);
                    }
                    keep_open = false;
                    break;
                }
            },
        }
        if output_limit.over_hard(out.len()) {
            output_limit_hit(shared, session);
            keep_open = false;
            break;
        }
        replies += 1;
        uncommitted += 1;
        if tx.pending_bytes() > BURST_PENDING_BYTES_MAX {
            let failed = tx.commit().err();
            if let Some(e) = &failed {
                replace_with_error(out, committed_at, uncommitted, e, session);
            }
            settle(&mut deliveries, &mut committed, failed.as_ref());
            committed_at = out.len();
            uncommitted = 0;
        }
        if session.close_after_reply || session.client.is_killed() {
            break;
        }
    }
    let failed = tx.commit().err();
    if let Some(e) = &failed {
        replace_with_error(out, committed_at, uncommitted, e, session);
    }
    settle(&mut deliveries, &mut committed, failed.as_ref());
    let wrote = tx.committed_writes;
    drop(tx);
    let mut sync_failed = None;
    if wrote
        && shared.live.appendfsync() == Appendfsync::Always
        && let Err(e) = shared.ks.db.sync()
    {
        let e = errors::write_failed(&e);
        replace_with_error(out, start, replies, &e, session);
        sync_failed = Some(e);
    }
    deliver(&mut committed, sync_failed.as_ref());
    keep_open
}

/// After a commit: the served blocked clients whose pops it carried wait for the burst's end
/// (and sync); if it failed, they get its error now.
fn settle(
    pending: &mut Vec<crate::blocked::Delivery>,
    committed: &mut Vec<crate::blocked::Delivery>,
    failed: Option<&CommandError>,
) {
    match failed {
        Some(_) => deliver(pending, failed),
        None => committed.append(pending),
    }
}

/// Sends the replies of the blocked clients a burst served, or the error of the commit or
/// sync that failed to make their pops durable.
fn deliver(deliveries: &mut Vec<crate::blocked::Delivery>, failed: Option<&CommandError>) {
    let failed = failed.map(|e| e.to_reply().unwrap_or_else(|| Reply::error("ERR write failed")));
    for d in deliveries.drain(..) {
        d.send(failed.as_ref());
    }
}

/// The client's pending replies passed its output hard limit: it is closed.
fn output_limit_hit(shared: &Shared, session: &Session) {
    shared.stats.count_limit(LimitHit::OutputHard);
    tracing::warn!(id = session.client.id, "{}", LimitHit::OutputHard.describe());
}

/// A failed commit or sync: the last `count` replies (from `from`) become the error.
fn replace_with_error(
    out: &mut BytesMut,
    from: usize,
    count: usize,
    error: &CommandError,
    session: &Session,
) {
    tracing::error!(?error, "write failed; answering the burst's commands with the error");
    out.truncate(from);
    let reply = error.to_reply().unwrap_or_else(|| Reply::error("ERR write failed"));
    for _ in 0..count {
        reply.encode(session.proto, out);
    }
}
