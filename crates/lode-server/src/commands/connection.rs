//! Connection commands: PING ECHO HELLO AUTH SELECT QUIT RESET CLIENT.
//!
//! None of them touches the engine, so a burst made only of these is answered on the async
//! worker without a blocking call. AUTH, HELLO, PING and QUIT are allowed before AUTH.

use super::{db_arg, int_arg, is};
use crate::command::{CommandSpec, Ctx, flags::*};
use crate::errors::{self, CommandError, CommandResult};
use crate::keyspace::DbIndex;
use crate::server::{REDIS_VERSION, Shared};
use bytes::Bytes;
use lode_resp::{Protocol, Reply};

/// The command group COMMAND DOCS reports for this file's commands.
const GROUP: &str = "connection";

pub(crate) const SPECS: &[CommandSpec] = &[
    spec!(GROUP, "ping", -1, FAST, "Returns the server's liveliness response.", "1.0.0", ping),
    spec!(GROUP, "echo", 2, FAST, "Returns the given string.", "1.0.0", echo),
    spec!(
        GROUP,
        "hello",
        -1,
        FAST | NOAUTH | LOADING | STALE,
        "Handshakes with the Redis server.",
        "6.0.0",
        hello
    ),
    spec!(
        GROUP,
        "auth",
        -2,
        FAST | NOAUTH | LOADING | STALE,
        "Authenticates the connection.",
        "1.0.0",
        auth
    ),
    spec!(
        GROUP,
        "select",
        2,
        FAST | LOADING | STALE,
        "Changes the selected database.",
        "1.0.0",
        select
    ),
    spec!(
        GROUP,
        "quit",
        -1,
        FAST | NOAUTH | NO_MULTI | LOADING | STALE,
        "Closes the connection.",
        "1.0.0",
        quit
    ),
    spec!(
        GROUP,
        "reset",
        1,
        FAST | NOAUTH | NO_MULTI | LOADING | STALE,
        "Resets the connection.",
        "6.2.0",
        reset
    ),
    spec!(
        GROUP,
        "client",
        -2,
        LOADING | STALE,
        "A container for client connection commands.",
        "2.4.0",
        client
    ),
];

fn ping(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let _ = ctx;
    match args.len() {
        1 => Ok(Reply::simple("PONG")),
        2 => Ok(Reply::Bulk(args[1].clone())),
        _ => Err(errors::wrong_arity("ping")),
    }
}

fn echo(_ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    Ok(Reply::Bulk(args[1].clone()))
}

/// Compares a password without stopping at the first differing byte.
fn password_ok(shared: &Shared, user: &[u8], password: &[u8]) -> bool {
    if user != b"default" {
        return false;
    }
    let Some(expected) = shared.live.requirepass() else { return true };
    let expected = expected.as_bytes();
    let mut diff = expected.len() ^ password.len();
    for (i, &b) in expected.iter().enumerate() {
        diff |= usize::from(b ^ password.get(i).copied().unwrap_or(0));
    }
    diff == 0
}

fn auth(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let (user, password): (&[u8], &[u8]) = match args.len() {
        2 if ctx.shared.live.requirepass().is_none() => {
            return Err(errors::AUTH_NOT_CONFIGURED.into());
        }
        2 => (b"default", &args[1]),
        3 => (&args[1], &args[2]),
        _ => return Err(errors::SYNTAX.into()),
    };
    if password_ok(ctx.shared, user, password) {
        ctx.session.authed = true;
        Ok(Reply::ok())
    } else {
        tracing::warn!(client = ctx.session.client.id, "AUTH failed");
        Err(errors::WRONGPASS.into())
    }
}

fn hello(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let mut proto = None;
    let mut next = 1;
    if args.len() >= 2 {
        let ver = int_arg(&args[1]).map_err(|_| CommandError::from(errors::HELLO_PROTOVER))?;
        proto = match ver {
            2 => Some(Protocol::Resp2),
            3 => Some(Protocol::Resp3),
            _ => return Err(errors::NOPROTO.into()),
        };
        next = 2;
    }
    let mut credentials = None;
    let mut name = None;
    while next < args.len() {
        let more = args.len() - 1 - next;
        if is(&args[next], "auth") && more >= 2 {
            credentials = Some((&args[next + 1], &args[next + 2]));
            next += 3;
        } else if is(&args[next], "setname") && more >= 1 {
            name = Some(&args[next + 1]);
            next += 2;
        } else {
            return Err(errors::hello_option(&args[next]));
        }
    }
    if let Some((user, password)) = credentials {
        if !password_ok(ctx.shared, user, password) {
            return Err(errors::WRONGPASS.into());
        }
        ctx.session.authed = true;
    }
    if !ctx.session.authed {
        return Err(errors::HELLO_NOAUTH.into());
    }
    if let Some(name) = name {
        set_name(ctx, name)?;
    }
    if let Some(proto) = proto {
        ctx.session.set_proto(proto);
    }
    let resp = if ctx.session.proto == Protocol::Resp3 { 3 } else { 2 };
    Ok(Reply::Map(vec![
        (Reply::bulk("server"), Reply::bulk("redis")),
        (Reply::bulk("version"), Reply::bulk(REDIS_VERSION)),
        (Reply::bulk("proto"), Reply::Integer(resp)),
        (Reply::bulk("id"), Reply::Integer(ctx.session.client.id as i64)),
        (Reply::bulk("mode"), Reply::bulk("standalone")),
        (Reply::bulk("role"), Reply::bulk("master")),
        (Reply::bulk("modules"), Reply::Array(Vec::new())),
    ]))
}

fn select(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let db = db_arg(&args[1])?;
    ctx.session.set_db(db);
    Ok(Reply::ok())
}

fn quit(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CommandResult {
    ctx.session.close_after_reply = true;
    Ok(Reply::ok())
}

/// Redis's `clearClientConnectionState`: every connection default back (database 0, RESP2,
/// no name, no MULTI or WATCH, logged out when a password is set).
fn reset(ctx: &mut Ctx<'_, '_>, _args: &[Bytes]) -> CommandResult {
    ctx.session.multi = None;
    ctx.session.unwatch_all(&ctx.shared.ks);
    ctx.session.set_db(DbIndex::ZERO);
    ctx.session.set_proto(Protocol::Resp2);
    ctx.session.authed = ctx.shared.live.requirepass().is_none();
    {
        let mut meta = ctx.session.client.meta();
        meta.name = None;
        meta.multi = -1;
    }
    Ok(Reply::simple("RESET"))
}

fn valid_name_bytes(name: &[u8]) -> bool {
    name.iter().all(|b| (b'!'..=b'~').contains(b))
}

fn set_name(ctx: &mut Ctx<'_, '_>, name: &Bytes) -> Result<(), CommandError> {
    if !valid_name_bytes(name) {
        return Err(errors::CLIENT_NAME_CHARS.into());
    }
    ctx.session.client.meta().name = (!name.is_empty()).then(|| name.clone());
    Ok(())
}

fn client(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    let arity = |n: usize, exact: bool| -> Result<(), CommandError> {
        let ok = if exact { args.len() == n } else { args.len() >= n };
        if ok { Ok(()) } else { Err(errors::wrong_arity(&format!("client|{sub}"))) }
    };
    match sub.as_str() {
        "id" => {
            arity(2, true)?;
            Ok(Reply::Integer(ctx.session.client.id as i64))
        }
        "getname" => {
            arity(2, true)?;
            Ok(ctx.session.client.meta().name.clone().map_or(Reply::Null, Reply::Bulk))
        }
        "setname" => {
            arity(3, true)?;
            set_name(ctx, &args[2])?;
            Ok(Reply::ok())
        }
        "info" => {
            arity(2, true)?;
            Ok(text(ctx.session.client.line() + "\n"))
        }
        "list" => {
            let mut ids: Option<Vec<u64>> = None;
            let mut i = 2;
            while i < args.len() {
                if is(&args[i], "type") && i + 1 < args.len() {
                    i += 2;
                } else if is(&args[i], "id") && i + 1 < args.len() {
                    let mut list = Vec::new();
                    for a in &args[i + 1..] {
                        let id =
                            int_arg(a).ok().filter(|&n| n > 0).ok_or("ERR Invalid client ID")?;
                        list.push(id as u64);
                    }
                    ids = Some(list);
                    i = args.len();
                } else {
                    return Err(errors::SYNTAX.into());
                }
            }
            let mut out = String::new();
            for c in ctx.shared.clients.all() {
                if ids.as_ref().is_none_or(|ids| ids.contains(&c.id)) {
                    out.push_str(&c.line());
                    out.push('\n');
                }
            }
            Ok(text(out))
        }
        "kill" => client_kill(ctx, args),
        "no-evict" | "no-touch" => {
            arity(3, true)?;
            if is(&args[2], "on") || is(&args[2], "off") {
                Ok(Reply::ok())
            } else {
                Err(errors::SYNTAX.into())
            }
        }
        "help" => Ok(Reply::Array(
            [
                "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "ID",
                "GETNAME",
                "SETNAME <name>",
                "LIST [TYPE normal] [ID id ...]",
                "INFO",
                "KILL <ip:port> | KILL <filter> <value> ...",
                "HELP",
            ]
            .iter()
            .map(|l| Reply::Simple(Bytes::from_static(l.as_bytes())))
            .collect(),
        )),
        _ => Err(errors::unknown_subcommand("client", &args[1])),
    }
}

fn text(s: String) -> Reply {
    Reply::Verbatim { format: *b"txt", text: Bytes::from(s) }
}

fn client_kill(ctx: &mut Ctx<'_, '_>, args: &[Bytes]) -> CommandResult {
    let me = ctx.session.client.id;
    if args.len() == 3 {
        let addr = String::from_utf8_lossy(&args[2]);
        let target = ctx.shared.clients.all().into_iter().find(|c| c.addr.to_string() == addr);
        let Some(target) = target else { return Err(errors::NO_SUCH_CLIENT.into()) };
        target.kill();
        return Ok(Reply::ok());
    }
    if !args.len().is_multiple_of(2) {
        return Err(errors::SYNTAX.into());
    }
    let (mut id, mut addr, mut laddr, mut skipme) = (None, None, None, true);
    for pair in args[2..].chunks_exact(2) {
        let value = String::from_utf8_lossy(&pair[1]).into_owned();
        if is(&pair[0], "id") {
            id = Some(
                int_arg(&pair[1])
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or("ERR client-id should be greater than 0")? as u64,
            );
        } else if is(&pair[0], "addr") {
            addr = Some(value);
        } else if is(&pair[0], "laddr") {
            laddr = Some(value);
        } else if is(&pair[0], "skipme") {
            skipme = crate::config::parse_yes_no(&value)
                .map_err(|_| CommandError::from(errors::SYNTAX))?;
        } else if is(&pair[0], "user") || is(&pair[0], "type") || is(&pair[0], "maxage") {
            // One user and one client type exist; these filters match every client.
        } else {
            return Err(errors::SYNTAX.into());
        }
    }
    let mut killed = 0;
    for c in ctx.shared.clients.all() {
        let hit = id.is_none_or(|id| c.id == id)
            && addr.as_ref().is_none_or(|a| c.addr.to_string() == *a)
            && laddr.as_ref().is_none_or(|a| c.laddr.to_string() == *a)
            && !(skipme && c.id == me);
        if hit {
            c.kill();
            killed += 1;
        }
    }
    Ok(Reply::Integer(killed))
}
