//! SLOWLOG: the commands that ran for at least `slowlog-log-slower-than` microseconds, newest
//! first, at most `slowlog-max-len` of them, with Redis 7.0's entry shape (id, Unix time,
//! microseconds, arguments, client address, client name).
//!
//! Role: the dispatcher (`command::call`) times every command's handler and offers it here;
//! like Redis, the time is the handler's alone (not the commit or fsync of its burst), EXEC is
//! never logged (the commands it runs are, one by one), and a command refused before it runs
//! (unknown, wrong arity, NOAUTH) is not a call. Entries keep copies of at most
//! [`SLOWLOG_ARGS_MAX`] arguments of at most [`SLOWLOG_ARG_BYTES_MAX`] bytes, and passwords
//! (AUTH, HELLO ... AUTH, CONFIG SET requirepass) as `(redacted)`.
//!
//! Concurrency: one mutex, taken only when a command is slow enough to be logged.

use crate::clients::ClientHandle;
use crate::config::LiveConfig;
use crate::limits::{SLOWLOG_ARG_BYTES_MAX, SLOWLOG_ARGS_MAX};
use bytes::Bytes;
use lode_resp::Reply;
use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

/// What a password argument is logged as.
const REDACTED: &[u8] = b"(redacted)";

#[derive(Debug)]
struct Entry {
    id: u64,
    unix_secs: u64,
    micros: u64,
    args: Vec<Bytes>,
    peer: String,
    name: Bytes,
}

#[derive(Debug, Default)]
struct Log {
    /// Newest first.
    entries: VecDeque<Entry>,
    next_id: u64,
}

/// See the module docs.
#[derive(Debug, Default)]
pub(crate) struct Slowlog {
    log: Mutex<Log>,
}

impl Slowlog {
    fn log(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Offers a command that ran `micros`: logged if `slowlog-log-slower-than` is not negative
    /// and the command took at least that long; then the log is cut to `slowlog-max-len`,
    /// oldest first.
    pub(crate) fn offer(
        &self,
        live: &LiveConfig,
        micros: u64,
        command: &str,
        args: &[Bytes],
        client: &ClientHandle,
        now_ms: u64,
    ) {
        let Ok(threshold) = u64::try_from(live.slowlog_log_slower_than_us()) else { return };
        if micros < threshold {
            return;
        }
        let name = client.meta().name.clone().unwrap_or_default();
        let mut entry = Entry {
            id: 0,
            unix_secs: now_ms / 1000,
            micros,
            args: entry_args(command, args),
            peer: client.addr.to_string(),
            name,
        };
        let mut log = self.log();
        entry.id = log.next_id;
        log.next_id += 1;
        log.entries.push_front(entry);
        let max_len = live.slowlog_max_len();
        while log.entries.len() as u64 > max_len {
            log.entries.pop_back();
        }
    }

    /// SLOWLOG GET: the newest `count` entries.
    pub(crate) fn get(&self, count: usize) -> Reply {
        let log = self.log();
        Reply::Array(
            log.entries
                .iter()
                .take(count)
                .map(|e| {
                    Reply::Array(vec![
                        Reply::Integer(e.id as i64),
                        Reply::Integer(e.unix_secs as i64),
                        Reply::Integer(e.micros as i64),
                        Reply::Array(e.args.iter().map(|a| Reply::Bulk(a.clone())).collect()),
                        Reply::bulk(e.peer.clone()),
                        Reply::Bulk(e.name.clone()),
                    ])
                })
                .collect(),
        )
    }

    pub(crate) fn len(&self) -> usize {
        self.log().entries.len()
    }

    /// SLOWLOG RESET: forgets every entry (ids go on from where they were).
    pub(crate) fn reset(&self) {
        self.log().entries.clear();
    }
}

/// The arguments an entry keeps (Redis's `slowlogCreateEntry`): at most [`SLOWLOG_ARGS_MAX`],
/// the last of them saying how many more there were; each cut to [`SLOWLOG_ARG_BYTES_MAX`]
/// bytes plus how many more there were; passwords redacted. Copies, so an entry does not keep
/// the request's read buffer alive.
pub(crate) fn entry_args(command: &str, args: &[Bytes]) -> Vec<Bytes> {
    let redacted = redacted(command, args);
    let kept = args.len().min(SLOWLOG_ARGS_MAX);
    (0..kept)
        .map(|j| {
            if kept != args.len() && j == kept - 1 {
                Bytes::from(format!("... ({} more arguments)", args.len() - kept + 1))
            } else if redacted.contains(&j) {
                Bytes::from_static(REDACTED)
            } else if args[j].len() > SLOWLOG_ARG_BYTES_MAX {
                let mut cut = args[j][..SLOWLOG_ARG_BYTES_MAX].to_vec();
                let more = args[j].len() - SLOWLOG_ARG_BYTES_MAX;
                cut.extend_from_slice(format!("... ({more} more bytes)").as_bytes());
                Bytes::from(cut)
            } else {
                Bytes::copy_from_slice(&args[j])
            }
        })
        .collect()
}

/// Positions of password arguments, as Redis 7.0 redacts them: every argument of AUTH, the
/// user and password after HELLO's AUTH, and the value of CONFIG SET requirepass.
fn redacted(command: &str, args: &[Bytes]) -> Vec<usize> {
    let is =
        |j: usize, word: &str| args.get(j).is_some_and(|a| a.eq_ignore_ascii_case(word.as_bytes()));
    match command {
        "auth" => (1..args.len()).collect(),
        "hello" => {
            // HELLO's option loop: AUTH takes two arguments, SETNAME one; it stops at anything
            // else (the command then fails, with what it read so far redacted).
            let mut out = Vec::new();
            let mut j = 2;
            while j < args.len() {
                let more = args.len() - 1 - j;
                if is(j, "auth") && more >= 2 {
                    out.extend([j + 1, j + 2]);
                    j += 3;
                } else if is(j, "setname") && more >= 1 {
                    j += 2;
                } else {
                    break;
                }
            }
            out
        }
        "config" if is(1, "set") => {
            (2..args.len()).step_by(2).filter(|&j| is(j, "requirepass")).map(|j| j + 1).collect()
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<Bytes> {
        words.iter().map(|w| Bytes::from(w.to_string())).collect()
    }

    fn text(kept: &[Bytes]) -> Vec<String> {
        kept.iter().map(|b| String::from_utf8_lossy(b).into_owned()).collect()
    }

    #[test]
    fn entry_args_keep_every_argument_up_to_the_limit() {
        let at_limit: Vec<Bytes> =
            (0..SLOWLOG_ARGS_MAX).map(|i| Bytes::from(i.to_string())).collect();
        assert_eq!(entry_args("rpush", &at_limit), at_limit);
    }

    #[test]
    fn entry_args_past_the_limit_say_how_many_more() {
        let one_past: Vec<Bytes> =
            (0..=SLOWLOG_ARGS_MAX).map(|i| Bytes::from(i.to_string())).collect();
        let kept = entry_args("rpush", &one_past);
        assert_eq!(kept.len(), SLOWLOG_ARGS_MAX);
        assert_eq!(kept[..SLOWLOG_ARGS_MAX - 1], one_past[..SLOWLOG_ARGS_MAX - 1]);
        assert_eq!(kept[SLOWLOG_ARGS_MAX - 1], "... (2 more arguments)");
        // Redis's own example: RPUSH l 1..40 has 42 arguments.
        let mut rpush = args(&["rpush", "l"]);
        rpush.extend((1..=40).map(|i| Bytes::from(i.to_string())));
        assert_eq!(entry_args("rpush", &rpush)[31], "... (11 more arguments)");
    }

    #[test]
    fn entry_args_cut_long_arguments_past_the_byte_limit() {
        let at_limit = Bytes::from(vec![b'k'; SLOWLOG_ARG_BYTES_MAX]);
        let one_past = Bytes::from(vec![b'k'; SLOWLOG_ARG_BYTES_MAX + 1]);
        let kept = entry_args("set", &[Bytes::from("set"), at_limit.clone(), one_past]);
        assert_eq!(kept[1], at_limit);
        let mut cut = vec![b'k'; SLOWLOG_ARG_BYTES_MAX];
        cut.extend_from_slice(b"... (1 more bytes)");
        assert_eq!(kept[2], cut);
    }

    #[test]
    fn passwords_are_redacted_as_redis_does() {
        assert_eq!(text(&entry_args("auth", &args(&["AUTH", "pw"]))), ["AUTH", "(redacted)"]);
        assert_eq!(
            text(&entry_args("auth", &args(&["auth", "u", "pw"]))),
            ["auth", "(redacted)", "(redacted)"]
        );
        assert_eq!(
            text(&entry_args("hello", &args(&["hello", "3", "SETNAME", "n", "auth", "u", "p"]))),
            ["hello", "3", "SETNAME", "n", "auth", "(redacted)", "(redacted)"]
        );
        assert_eq!(
            text(&entry_args("hello", &args(&["hello", "3", "auth", "u"]))),
            ["hello", "3", "auth", "u"],
            "an incomplete AUTH option is a syntax error, and nothing is redacted"
        );
        assert_eq!(
            text(&entry_args(
                "config",
                &args(&["config", "set", "timeout", "0", "REQUIREPASS", "pw"])
            )),
            ["config", "set", "timeout", "0", "REQUIREPASS", "(redacted)"]
        );
        assert_eq!(
            text(&entry_args("config", &args(&["config", "get", "requirepass"]))),
            ["config", "get", "requirepass"]
        );
    }
}
