//! Every error a command can answer, with Redis 7.0's exact text.
//!
//! Clients and their test suites match on these strings (and on the prefix before the first
//! space: `ERR`, `WRONGTYPE`, `NOAUTH`, ...), so they are spelled in this one file and nowhere
//! else. A handler returns `Err(CommandError)`; the dispatcher turns it into an error reply.

use lode_resp::Reply;
use std::borrow::Cow;

/// Why a command did not produce its normal reply.
#[derive(Debug)]
pub(crate) enum CommandError {
    /// An error reply with this full text (prefix included, no leading `-`).
    Reply(Cow<'static, str>),
    /// The reply would pass the client's output-buffer cap: the client is dropped, as Redis
    /// drops a client that reaches its output-buffer hard limit.
    OutputLimit,
    /// Close the connection without a reply (SHUTDOWN, as Redis does).
    Close,
}

/// A handler's result.
pub(crate) type CommandResult = Result<Reply, CommandError>;

impl CommandError {
    /// The error reply; `None` for errors that close the connection instead.
    pub(crate) fn to_reply(&self) -> Option<Reply> {
        match self {
            CommandError::Reply(text) => Some(Reply::error(text.to_string())),
            CommandError::OutputLimit | CommandError::Close => None,
        }
    }
}

impl From<&'static str> for CommandError {
    fn from(text: &'static str) -> CommandError {
        CommandError::Reply(Cow::Borrowed(text))
    }
}

impl From<String> for CommandError {
    fn from(text: String) -> CommandError {
        CommandError::Reply(Cow::Owned(text))
    }
}

impl From<lode::Error> for CommandError {
    fn from(error: lode::Error) -> CommandError {
        engine(&error)
    }
}

pub(crate) const SYNTAX: &str = "ERR syntax error";
pub(crate) const WRONGTYPE: &str =
    "WRONGTYPE Operation against a key holding the wrong kind of value";
pub(crate) const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
pub(crate) const NOT_FLOAT: &str = "ERR value is not a valid float";
pub(crate) const OVERFLOW: &str = "ERR increment or decrement would overflow";
pub(crate) const DECREMENT_OVERFLOW: &str = "ERR decrement would overflow";
pub(crate) const SAME_OBJECT: &str = "ERR source and destination objects are the same";
pub(crate) const NAN_OR_INFINITY: &str = "ERR increment would produce NaN or Infinity";
pub(crate) const NO_SUCH_KEY: &str = "ERR no such key";
pub(crate) const OFFSET_OUT_OF_RANGE: &str = "ERR offset is out of range";
pub(crate) const STRING_TOO_LONG: &str =
    "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
pub(crate) const KEY_TOO_LONG: &str = "ERR key is too long (Lode's limit is 65526 bytes)";
/// A collection element whose key plus field or member passes `ELEMENT_KEY_BYTES_MAX`.
pub(crate) const ELEMENT_TOO_LARGE: &str =
    "ERR element too large (Lode's limit on a key plus a field or member is 65514 bytes)";
/// A sorted-set command whose writes would pass `COMMAND_WRITE_BYTES_MAX` (zsets.rs).
pub(crate) const WRITES_TOO_LARGE: &str = "ERR the command would write more than Lode's limit \
     of 128 MiB of records at once; store or remove the range in smaller parts";
pub(crate) const INVALID_CURSOR: &str = "ERR invalid cursor";
pub(crate) const HASH_VALUE_NOT_INTEGER: &str = "ERR hash value is not an integer";
pub(crate) const HASH_VALUE_NOT_FLOAT: &str = "ERR hash value is not a float";
/// HINCRBYFLOAT's increment is infinite (INCRBYFLOAT says `NAN_OR_INFINITY` instead).
pub(crate) const NAN_OR_INFINITY_VALUE: &str = "ERR value is NaN or Infinity";
/// HRANDFIELD ... WITHVALUES past half of `LONG_MAX` either way.
pub(crate) const VALUE_OUT_OF_RANGE: &str = "ERR value is out of range";
/// Redis's `getRangeLongFromObjectOrReply(.., -LONG_MAX, LONG_MAX, ..)` (SRANDMEMBER,
/// HRANDFIELD counts).
pub(crate) const COUNT_OUT_OF_RANGE: &str =
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
/// Redis's `getPositiveLongFromObjectOrReply` without a message (SPOP's count).
pub(crate) const MUST_BE_POSITIVE: &str = "ERR value is out of range, must be positive";
pub(crate) const NUMKEYS_NOT_POSITIVE: &str = "ERR numkeys should be greater than 0";
pub(crate) const NUMKEYS_PAST_ARGS: &str =
    "ERR Number of keys can't be greater than number of args";
pub(crate) const LIMIT_NEGATIVE: &str = "ERR LIMIT can't be negative";
/// A push past the last position at one end of a list (docs/format/keys.md, "Lists").
pub(crate) const LIST_FULL: &str = "ERR list is full";
pub(crate) const INDEX_OUT_OF_RANGE: &str = "ERR index out of range";
pub(crate) const TIMEOUT_NOT_FLOAT: &str = "ERR timeout is not a float or out of range";
pub(crate) const TIMEOUT_NEGATIVE: &str = "ERR timeout is negative";
pub(crate) const LPOS_RANK_ZERO: &str = "ERR RANK can't be zero: use 1 to start from the first \
     match, 2 from the second ... or use negative to start from the end of the list";
pub(crate) const LPOS_COUNT_NEGATIVE: &str = "ERR COUNT can't be negative";
pub(crate) const LPOS_MAXLEN_NEGATIVE: &str = "ERR MAXLEN can't be negative";
pub(crate) const DB_OUT_OF_RANGE: &str = "ERR DB index is out of range";
/// Redis's `getIntFromObjectOrReply` past a C `int` (SELECT, COPY ... DB, MOVE).
pub(crate) const INT_OUT_OF_RANGE: &str =
    "ERR value is out of range, must be between -2147483648 and 2147483647";
pub(crate) const NOAUTH: &str = "NOAUTH Authentication required.";
pub(crate) const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";
pub(crate) const AUTH_NOT_CONFIGURED: &str = "ERR AUTH <password> called without any password \
     configured for the default user. Are you sure your configuration is correct?";
pub(crate) const HELLO_PROTOVER: &str = "ERR Protocol version is not an integer or out of range";
pub(crate) const HELLO_NOAUTH: &str = "NOAUTH HELLO must be called with the client already \
     authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to \
     authenticate the client and select the RESP protocol version at the same time";
pub(crate) const NO_SHUTDOWN_IN_PROGRESS: &str = "ERR No shutdown in progress.";
pub(crate) const CONFIG_REWRITE: &str = "ERR The server is running without a config file";
pub(crate) const NOPROTO: &str = "NOPROTO unsupported protocol version";
pub(crate) const MULTI_NESTED: &str = "ERR MULTI calls can not be nested";
pub(crate) const EXEC_WITHOUT_MULTI: &str = "ERR EXEC without MULTI";
pub(crate) const DISCARD_WITHOUT_MULTI: &str = "ERR DISCARD without MULTI";
pub(crate) const WATCH_IN_MULTI: &str = "ERR WATCH inside MULTI is not allowed";
pub(crate) const EXECABORT: &str = "EXECABORT Transaction discarded because of previous errors.";

/// EXEC refused before it runs (NOAUTH, arity): Redis discards the transaction and names why.
pub(crate) fn exec_abort(reason: &str) -> CommandError {
    format!("EXECABORT Transaction discarded because of: {reason}").into()
}
pub(crate) const CLIENT_NAME_CHARS: &str =
    "ERR Client names cannot contain spaces, newlines or special characters.";
pub(crate) const NO_SUCH_CLIENT: &str = "ERR No such client";
pub(crate) const MAX_CLIENTS: &str = "ERR max number of clients reached";
pub(crate) const EXPIRE_NX_XX_GT_LT: &str =
    "ERR NX and XX, GT or LT options at the same time are not compatible";
pub(crate) const EXPIRE_GT_LT: &str = "ERR GT and LT options at the same time are not compatible";
/// A ZRANGEBYLEX-style bound that is not `-`, `+`, `[key` or `(key` (Redis's text; KRANGE).
pub(crate) const STRING_RANGE_ITEM: &str = "ERR min or max not valid string range item";

/// KRANGE's LIMIT outside 1 to [`crate::limits::KRANGE_LIMIT_MAX`].
pub(crate) fn krange_limit() -> CommandError {
    format!(
        "ERR LIMIT must be between 1 and {}: read more keys by passing the bound KRANGE \
         returns to the next call",
        crate::limits::KRANGE_LIMIT_MAX
    )
    .into()
}

/// A TYPE filter naming no Redis type (Redis 7.2's SCAN text).
pub(crate) fn unknown_type_name(name: &[u8]) -> CommandError {
    format!("ERR unknown type name '{}'", lossy(name, 128)).into()
}

/// The text sent (then the connection closed) to a non-loopback client in protected mode.
pub(crate) const DENIED_PROTECTED_MODE: &str = "DENIED Lode is running in protected mode because \
     protected mode is enabled and no password is set for the default user. In this mode \
     connections are only accepted from the loopback interface. If you want to connect from \
     external computers to Lode you may adopt one of the following solutions: 1) Set a password \
     with --requirepass (or 'CONFIG SET requirepass' from the loopback interface). 2) Restart \
     the server with '--protected-mode no', making sure it is not publicly accessible from the \
     internet. NOTE: You only need to do one of the above things in order for the server to \
     start accepting connections from the outside.";

/// `ERR unknown command 'name', with args beginning with: 'a' 'b' ` (Redis caps the listed
/// arguments at 128 characters in total, each shown up to what is left of that budget).
pub(crate) fn unknown_command(args: &[bytes::Bytes]) -> CommandError {
    let name = args.first().map(|a| lossy(a, 128)).unwrap_or_default();
    let mut listed = String::new();
    for arg in args.iter().skip(1) {
        if listed.len() >= 128 {
            break;
        }
        let room = 128 - listed.len();
        listed.push('\'');
        listed.push_str(&lossy(arg, room));
        listed.push_str("' ");
    }
    format!("ERR unknown command '{name}', with args beginning with: {listed}").into()
}

/// `ERR unknown subcommand 'x'. Try CONFIG HELP.`
pub(crate) fn unknown_subcommand(command: &str, sub: &[u8]) -> CommandError {
    format!("ERR unknown subcommand '{}'. Try {} HELP.", lossy(sub, 128), command.to_uppercase())
        .into()
}

/// `ERR unknown subcommand or wrong number of arguments for 'GET'. Try SLOWLOG HELP.` (a
/// subcommand Redis checks itself, the subcommand echoed as typed).
pub(crate) fn subcommand_syntax(command: &str, sub: &[u8]) -> CommandError {
    format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        lossy(sub, 128),
        command.to_uppercase()
    )
    .into()
}

pub(crate) const SLOWLOG_COUNT: &str = "ERR count should be greater than or equal to -1";

/// `ERR wrong number of arguments for 'get' command` (`config|get` for subcommands).
pub(crate) fn wrong_arity(full_name: &str) -> CommandError {
    format!("ERR wrong number of arguments for '{full_name}' command").into()
}

/// `ERR invalid expire time in 'set' command`.
pub(crate) fn invalid_expire(command: &str) -> CommandError {
    format!("ERR invalid expire time in '{command}' command").into()
}

/// `ERR Unsupported option nx`.
pub(crate) fn unsupported_option(option: &[u8]) -> CommandError {
    format!("ERR Unsupported option {}", lossy(option, 128)).into()
}

/// `ERR Unknown option or number of arguments for CONFIG SET - 'name'`.
pub(crate) fn config_set_unknown(name: &[u8]) -> CommandError {
    format!("ERR Unknown option or number of arguments for CONFIG SET - '{}'", lossy(name, 128))
        .into()
}

/// `ERR CONFIG SET failed (possibly related to argument 'name') - reason`.
pub(crate) fn config_set_failed(name: &str, reason: &str) -> CommandError {
    format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}").into()
}

/// `ERR Syntax error in HELLO option 'x'`.
pub(crate) fn hello_option(option: &[u8]) -> CommandError {
    format!("ERR Syntax error in HELLO option '{}'", lossy(option, 128)).into()
}

/// An engine failure, reported as Redis reports a failed write to its AOF.
pub(crate) fn engine(error: &lode::Error) -> CommandError {
    match error {
        lode::Error::TooLarge { what: "value", .. } => STRING_TOO_LONG.into(),
        lode::Error::TooLarge { what: "key", .. } => KEY_TOO_LONG.into(),
        other => format!("ERR storage engine: {other}").into(),
    }
}

/// A failed commit or fsync, answered as Redis answers writes after its AOF write failed
/// (`-MISCONF Errors writing to the AOF file: ...`). The engine refuses every later write, so
/// the reply says what to do: reads still work, and writes come back after a restart once
/// space is freed (docs/durability.md, "Disk full").
pub(crate) fn write_failed(error: &lode::Error) -> CommandError {
    let cause = match error {
        lode::Error::Io(e) => e.to_string(),
        lode::Error::PreviousIo(cause) => cause.clone(),
        other => return engine(other),
    };
    format!(
        "MISCONF Errors writing to the data directory: {cause}. Writes are refused until the \
         server restarts; reads still work. Free disk space or fix the disk, then restart lode serve"
    )
    .into()
}

/// A stored record that does not decode (see docs/format/keys.md, "Corruption").
pub(crate) fn corrupt_record(what: &str) -> CommandError {
    format!("ERR corrupt record in the data directory: {what}").into()
}

fn lossy(bytes: &[u8], max_chars: usize) -> String {
    String::from_utf8_lossy(bytes).chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn unknown_command_lists_args_like_redis() {
        let args = [Bytes::from("foo"), Bytes::from("a"), Bytes::from("b")];
        let CommandError::Reply(text) = unknown_command(&args) else { panic!("reply") };
        assert_eq!(text, "ERR unknown command 'foo', with args beginning with: 'a' 'b' ");
    }
}
