//! Server commands: INFO DBSIZE FLUSHDB FLUSHALL CONFIG COMMAND TIME SHUTDOWN SAVE BGSAVE
//! LASTSAVE SLOWLOG.
//!
//! SAVE flushes the memtable to an SST and syncs (the closest thing to an RDB snapshot: all
//! data is in checksummed, fsynced files); BGSAVE does the same on a background thread.

use super::{int_arg, is};
use crate::command::{self, CommandSpec, Ctx, flags::*};
use crate::config::{
    Appendfsync, check_slowlog_log_slower_than, check_slowlog_max_len, parse_bytes, parse_yes_no,
};
use crate::errors::{self, CommandError, CommandResult};
use crate::keyspace::DbIndex;
use crate::limits::QUERY_BUFFER_LIMIT_MIN;
use crate::{command_info, glob, info};
use bytes::Bytes;
use lode_resp::Reply;
use std::sync::atomic::Ordering;

/// The command group COMMAND DOCS reports for this file's commands.
const GROUP: &str = "server";

pub(crate) const SPECS: &[CommandSpec] = &[
    spec!(
        GROUP,
        "info",
        -1,
        LOADING | STALE,
        "Returns information and statistics about the server.",
        "1.0.0",
        info
    ),
    spec!(
        GROUP,
        "dbsize",
        1,
        READONLY | FAST | ENGINE,
        "Returns the number of keys in the database.",
        "1.0.0",
        dbsize
    ),
    spec!(
        GROUP,
        "flushdb",
        -1,
        WRITE,
        "Removes all keys from the current database.",
        "1.0.0",
        flushdb
    ),
    spec!(GROUP, "flushall", -1, WRITE, "Removes all keys from all databases.", "1.0.0", flushall),
    spec!(
        GROUP,
        "config",
        -2,
        ADMIN | LOADING | STALE,
        "A container for server configuration commands.",
        "2.0.0",
        config
    ),
    spec!(
        GROUP,
        "command",
        -1,
        LOADING | STALE,
        "Returns detailed information about all commands.",
        "2.8.13",
        command_cmd
    ),
    spec!(GROUP, "time", 1, FAST | LOADING | STALE, "Returns the server time.", "2.6.0", time),
    spec!(
        GROUP,
        "shutdown",
        -1,
        ADMIN | LOADING | STALE,
        "Synchronously saves the database(s) to disk and shuts down the Redis server.",
        "1.0.0",
        shutdown
    ),
    spec!(
        GROUP,
        "save",
        1,
        ADMIN | ENGINE,
        "Synchronously saves the database(s) to disk.",
        "1.0.0",
        save
    ),
    spec!(
        GROUP,
        "bgsave",
        -1,
        ADMIN,
        "Asynchronously saves the database(s) to disk.",
        "1.0.0",
        bgsave
    ),
    spec!(
        GROUP,
        "lastsave",
        1,
        FAST | LOADING | STALE,
        "Returns the Unix timestamp of the last successful save to disk.",
        "1.0.0",
        lastsave
    ),
    spec!(
        GROUP,
        "slowlog",
        -2,
        ADMIN | LOADING | STALE,
        "A container for slow log commands.",
        "2.2.12",
        slowlog
    ),
];

fn info(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let sections: Vec<String> =
        args[1..].iter().map(|a| String::from_utf8_lossy(a).to_ascii_lowercase()).collect();
    let text = info::render(ctx.shared, &sections);
    Ok(Reply::Verbatim { format: *b"txt", text: Bytes::from(text) })
}

fn dbsize(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CommandResult {
    Ok(Reply::Integer(ctx.tx.key_count() as i64))
}

/// FLUSHDB's and FLUSHALL's `[ASYNC|SYNC]` (both run synchronously).
fn flush_mode(args: &[Bytes]) -> Result<(), CommandError> {
    match args.len() {
        1 => Ok(()),
        2 if is(&args[1], "sync") || is(&args[1], "async") => Ok(()),
        _ => Err(errors::SYNTAX.into()),
    }
}

fn flushdb(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    flush_mode(args)?;
    let db = ctx.tx.db;
    ctx.tx.flush_db(db)?;
    Ok(Reply::ok())
}

fn flushall(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    flush_mode(args)?;
    for db in DbIndex::all() {
        ctx.tx.flush_db(db)?;
    }
    Ok(Reply::ok())
}

fn time(_ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CommandResult {
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Ok(Reply::Array(vec![
        Reply::bulk(now.as_secs().to_string()),
        Reply::bulk(now.subsec_micros().to_string()),
    ]))
}

fn shutdown(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    for a in &args[1..] {
        if is(a, "abort") {
            return Err(errors::NO_SHUTDOWN_IN_PROGRESS.into());
        }
        if !["nosave", "save", "now", "force"].iter().any(|w| is(a, w)) {
            return Err(errors::SYNTAX.into());
        }
    }
    tracing::info!(client = ctx.session.client.id, "SHUTDOWN requested");
    ctx.shared.request_shutdown();
    Err(CommandError::Close)
}

fn save(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CommandResult {
    ctx.shared.ks.db.flush()?;
    ctx.shared.ks.db.sync()?;
    ctx.shared.saved();
    Ok(Reply::ok())
}

fn bgsave(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    if args.len() > 2 || (args.len() == 2 && !is(&args[1], "schedule")) {
        return Err(errors::SYNTAX.into());
    }
    let shared = ctx.shared.self_arc();
    std::thread::spawn(move || match shared.ks.db.flush().and_then(|()| shared.ks.db.sync()) {
        Ok(()) => shared.saved(),
        Err(e) => tracing::error!(error = %e, "BGSAVE failed"),
    });
    Ok(Reply::simple("Background saving started"))
}

fn lastsave(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CommandResult {
    Ok(Reply::Integer(ctx.shared.last_save_unix.load(Ordering::Relaxed) as i64))
}

/// The parameters CONFIG GET reports, as (name, value).
fn config_params(ctx: &Ctx<'_, '_>) -> Vec<(String, String)> {
    let shared = ctx.shared;
    let live = &shared.live;
    let mut out = vec![
        ("port".to_string(), shared.local_addr.port().to_string()),
        ("bind".to_string(), shared.config.bind.clone()),
        ("dir".to_string(), shared.config.dir.display().to_string()),
        ("appendfsync".to_string(), live.appendfsync().name().to_string()),
        ("requirepass".to_string(), live.requirepass().unwrap_or_default()),
        ("maxclients".to_string(), live.maxclients().to_string()),
        ("timeout".to_string(), live.timeout_secs().to_string()),
        ("client-query-buffer-limit".to_string(), live.client_query_buffer_limit().to_string()),
        ("client-output-buffer-limit".to_string(), live.output_limits().to_string()),
        (
            "protected-mode".to_string(),
            if live.protected_mode() { "yes" } else { "no" }.to_string(),
        ),
        ("cache-size".to_string(), shared.config.cache_bytes.to_string()),
        ("memtable-size".to_string(), shared.config.memtable_bytes.to_string()),
        ("slowlog-log-slower-than".to_string(), live.slowlog_log_slower_than_us().to_string()),
        ("slowlog-max-len".to_string(), live.slowlog_max_len().to_string()),
        ("metrics-port".to_string(), shared.metrics_addr.map_or(0, |a| a.port()).to_string()),
    ];
    out.extend(live.other().iter().map(|(k, v)| (k.clone(), v.clone())));
    out
}

fn config(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    match sub.as_str() {
        "get" => {
            if args.len() < 3 {
                return Err(errors::wrong_arity("config|get"));
            }
            let params = config_params(ctx);
            let mut pairs = Vec::new();
            for (name, value) in params {
                if args[2..].iter().any(|p| glob::matches(&p.to_ascii_lowercase(), name.as_bytes()))
                {
                    pairs.push((Reply::bulk(name), Reply::bulk(value)));
                }
            }
            Ok(Reply::Map(pairs))
        }
        "set" => {
            if args.len() < 4 || !args.len().is_multiple_of(2) {
                return Err(errors::wrong_arity("config|set"));
            }
            for pair in args[2..].chunks_exact(2) {
                config_set(ctx, &pair[0], &pair[1])?;
            }
            Ok(Reply::ok())
        }
        "resetstat" => {
            if args.len() != 2 {
                return Err(errors::wrong_arity("config|resetstat"));
            }
            ctx.shared.reset_stats();
            Ok(Reply::ok())
        }
        "rewrite" => Err(errors::CONFIG_REWRITE.into()),
        "help" => Ok(Reply::Array(
            [
                "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET <pattern>",
                "SET <directive> <value>",
                "RESETSTAT",
                "HELP",
            ]
            .iter()
            .map(|l| Reply::Simple(Bytes::from_static(l.as_bytes())))
            .collect(),
        )),
        _ => Err(errors::unknown_subcommand("config", &args[1])),
    }
}

fn config_set(ctx: &Ctx<'_, '_>, name: &[u8], value: &[u8]) -> Result<(), CommandError> {
    let lower = String::from_utf8_lossy(name).to_ascii_lowercase();
    let text = String::from_utf8_lossy(value).into_owned();
    let live = &ctx.shared.live;
    let number = || -> Result<u64, CommandError> {
        int_arg(value).ok().and_then(|n| u64::try_from(n).ok()).ok_or_else(|| {
            errors::config_set_failed(&lower, "argument couldn't be parsed into an integer")
        })
    };
    match lower.as_str() {
        "requirepass" => live.set_requirepass(Some(text)),
        "maxclients" => live.set_maxclients(number()?.max(1)),
        "timeout" => live.set_timeout_secs(number()?),
        "client-query-buffer-limit" => {
            let bytes = parse_bytes(&text).map_err(|_| {
                errors::config_set_failed(&lower, "argument must be a memory value")
            })?;
            if !(QUERY_BUFFER_LIMIT_MIN..=i64::MAX as u64).contains(&bytes) {
                return Err(errors::config_set_failed(
                    &lower,
                    &format!(
                        "argument must be between {QUERY_BUFFER_LIMIT_MIN} and {} inclusive",
                        i64::MAX
                    ),
                ));
            }
            live.set_client_query_buffer_limit(bytes);
        }
        "client-output-buffer-limit" => live
            .apply_output_limits(&text)
            .map_err(|reason| errors::config_set_failed(&lower, reason))?,
        "appendfsync" => live.set_appendfsync(Appendfsync::parse(&text).map_err(|_| {
            errors::config_set_failed(
                &lower,
                "argument(s) must be one of the following: everysec, always, no",
            )
        })?),
        "protected-mode" => live
            .set_protected_mode(parse_yes_no(&text).map_err(|_| {
                errors::config_set_failed(&lower, "argument must be 'yes' or 'no'")
            })?),
        "slowlog-log-slower-than" => {
            let us = int_arg(value).map_err(|_| {
                errors::config_set_failed(&lower, "argument couldn't be parsed into an integer")
            })?;
            let us = check_slowlog_log_slower_than(us)
                .map_err(|why| errors::config_set_failed(&lower, &why))?;
            live.set_slowlog_log_slower_than_us(us);
        }
        "slowlog-max-len" => {
            let n = int_arg(value).map_err(|_| {
                errors::config_set_failed(&lower, "argument couldn't be parsed into an integer")
            })?;
            let n =
                check_slowlog_max_len(n).map_err(|why| errors::config_set_failed(&lower, &why))?;
            live.set_slowlog_max_len(n);
        }
        "port" | "bind" | "dir" | "cache-size" | "memtable-size" | "metrics-port" => {
            return Err(errors::config_set_failed(&lower, "can't set immutable config"));
        }
        _ => {
            let mut other = live.other();
            let Some(slot) = other.get_mut(&lower) else {
                return Err(errors::config_set_unknown(name));
            };
            *slot = text;
        }
    }
    Ok(())
}

fn command_cmd(_ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    if args.len() == 1 {
        return Ok(Reply::Array(command::all().map(command_info::info).collect()));
    }
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    match sub.as_str() {
        "count" => Ok(Reply::Integer(command::all().count() as i64)),
        "info" => Ok(Reply::Array(if args.len() == 2 {
            command::all().map(command_info::info).collect()
        } else {
            args[2..].iter().map(|n| command_info::info_by_name(n)).collect()
        })),
        "docs" => Ok(Reply::Map(if args.len() == 2 {
            command::all().map(|s| (Reply::bulk(s.name), command_info::docs(s))).collect()
        } else {
            args[2..]
                .iter()
                .filter_map(|n| command::lookup(n))
                .map(|s| (Reply::bulk(s.name), command_info::docs(s)))
                .collect()
        })),
        "list" => {
            let pattern = match &args[2..] {
                [] => None,
                [f, kind, value] if is(f, "filterby") && is(kind, "pattern") => Some(value),
                [f, _, _] if is(f, "filterby") => None,
                _ => return Err(errors::SYNTAX.into()),
            };
            Ok(Reply::Array(
                command_info::names()
                    .into_iter()
                    .filter(|n| pattern.is_none_or(|p| glob::matches(p, n.as_bytes())))
                    .map(Reply::bulk)
                    .collect(),
            ))
        }
        "getkeys" => Err("ERR COMMAND GETKEYS is not supported by Lode".into()),
        "help" => Ok(Reply::Array(
            [
                "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "(no subcommand)",
                "COUNT",
                "INFO [<command-name> ...]",
                "DOCS [<command-name> ...]",
                "LIST [FILTERBY PATTERN <pattern>]",
                "HELP",
            ]
            .iter()
            .map(|l| Reply::Simple(Bytes::from_static(l.as_bytes())))
            .collect(),
        )),
        _ => Err(errors::unknown_subcommand("command", &args[1])),
    }
}

/// How many entries SLOWLOG GET returns without a count, as Redis.
const SLOWLOG_GET_DEFAULT: usize = 10;

fn slowlog(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let slowlog = &ctx.shared.slowlog;
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    let exactly_two = |name: &str| {
        if args.len() == 2 { Ok(()) } else { Err(errors::wrong_arity(&format!("slowlog|{name}"))) }
    };
    match sub.as_str() {
        "get" => {
            let count = match args.len() {
                2 => SLOWLOG_GET_DEFAULT,
                3 => match int_arg(&args[2]) {
                    Ok(-1) => usize::MAX,
                    Ok(n) => usize::try_from(n).map_err(|_| errors::SLOWLOG_COUNT)?,
                    Err(_) => return Err(errors::SLOWLOG_COUNT.into()),
                },
                _ => return Err(errors::subcommand_syntax("slowlog", &args[1])),
            };
            Ok(slowlog.get(count))
        }
        "len" => {
            exactly_two("len")?;
            Ok(Reply::Integer(slowlog.len() as i64))
        }
        "reset" => {
            exactly_two("reset")?;
            slowlog.reset();
            Ok(Reply::ok())
        }
        "help" => {
            exactly_two("help")?;
            Ok(Reply::Array(
                [
                    "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                    "GET [<count>]",
                    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
                    "    Entries are made of:",
                    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
                    "    client name",
                    "LEN",
                    "    Return the length of the slowlog.",
                    "RESET",
                    "    Reset the slowlog.",
                    "HELP",
                    "    Prints this help.",
                ]
                .iter()
                .map(|l| Reply::Simple(Bytes::from_static(l.as_bytes())))
                .collect(),
            ))
        }
        _ => Err(errors::unknown_subcommand("slowlog", &args[1])),
    }
}
