//! Replies and their encoding in RESP2 and RESP3.
//!
//! Role: last stage of the server's path (handler -> [`Reply`] -> [`Reply::encode`] -> socket).
//! A handler builds one `Reply` whatever the connection's protocol; `encode` downgrades RESP3
//! types for RESP2 connections the way Redis does:
//!
//! | Reply       | RESP3                    | RESP2                                  |
//! |-------------|--------------------------|----------------------------------------|
//! | Null        | `_`                      | `$-1`                                  |
//! | NullArray   | `_`                      | `*-1`                                  |
//! | Map         | `%n` k v ...             | `*2n` k v ...                          |
//! | Set         | `~n`                     | `*n`                                   |
//! | Double      | `,1.5` `,inf` `,nan`     | bulk `$3 1.5`                          |
//! | Boolean     | `#t` / `#f`              | `:1` / `:0`                            |
//! | BigNumber   | `(123...`                | bulk                                   |
//! | Verbatim    | `=len txt:...`           | bulk of the text only                  |
//! | Push        | `>n`                     | `*n`                                   |
//!
//! Invariant: the output is always well framed. `\r` and `\n` in a simple string or error are
//! written as spaces (Redis does the same for error texts), so a message that echoes client input
//! cannot inject a frame.

use bytes::{BufMut, Bytes, BytesMut};

use crate::number::write_i64;

/// The protocol a connection speaks: RESP2 until the client sends `HELLO 3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// RESP2, every Redis client's default until recently.
    #[default]
    Resp2,
    /// RESP3, chosen with `HELLO 3`.
    Resp3,
}

/// One reply frame, independent of the protocol it will be encoded in.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `+OK`: a status line. Must not contain `\r` or `\n` (written as spaces if it does).
    Simple(Bytes),
    /// `-ERR ...`: the full error text including its prefix (`ERR`, `WRONGTYPE`, ...), without
    /// the leading `-`. `\r` and `\n` are written as spaces.
    Error(Bytes),
    /// `:42`.
    Integer(i64),
    /// `$3\r\nabc`: a binary-safe string.
    Bulk(Bytes),
    /// A missing value (GET of a missing key).
    Null,
    /// A missing aggregate (e.g. BLPOP timing out).
    NullArray,
    /// An ordered list of replies.
    Array(Vec<Reply>),
    /// Key-value pairs (HGETALL, CONFIG GET in RESP3).
    Map(Vec<(Reply, Reply)>),
    /// An unordered collection (SMEMBERS).
    Set(Vec<Reply>),
    /// A floating-point number (ZSCORE), formatted as Redis's `d2string`.
    Double(f64),
    /// A boolean.
    Boolean(bool),
    /// An integer too large for i64: decimal digits with an optional leading `-`.
    BigNumber(Bytes),
    /// Text with a three-byte format such as `txt` or `mkd` (INFO, LATENCY DOCTOR in RESP3).
    Verbatim {
        /// The format, e.g. `*b"txt"`.
        format: [u8; 3],
        /// The text.
        text: Bytes,
    },
    /// An out-of-band message (pub/sub, client tracking).
    Push(Vec<Reply>),
}

impl Reply {
    /// `+OK`.
    pub fn ok() -> Reply {
        Reply::Simple(Bytes::from_static(b"OK"))
    }

    /// A status reply from static text, e.g. `Reply::simple("PONG")`.
    pub fn simple(text: &'static str) -> Reply {
        Reply::Simple(Bytes::from_static(text.as_bytes()))
    }

    /// An error reply; `text` includes the prefix, e.g. `"ERR syntax error"`.
    pub fn error(text: impl Into<String>) -> Reply {
        Reply::Error(Bytes::from(text.into()))
    }

    /// A bulk string copied from `bytes`.
    pub fn bulk(bytes: impl AsRef<[u8]>) -> Reply {
        Reply::Bulk(Bytes::copy_from_slice(bytes.as_ref()))
    }

    /// Appends this reply's bytes in `proto` to `out`.
    pub fn encode(&self, proto: Protocol, out: &mut BytesMut) {
        let resp3 = proto == Protocol::Resp3;
        match self {
            Reply::Simple(text) => line_sanitized(out, b'+', text),
            Reply::Error(text) => line_sanitized(out, b'-', text),
            Reply::Integer(value) => header(out, b':', *value),
            Reply::Bulk(bytes) => bulk(out, bytes),
            Reply::Null if resp3 => out.put_slice(b"_\r\n"),
            Reply::Null => out.put_slice(b"$-1\r\n"),
            Reply::NullArray if resp3 => out.put_slice(b"_\r\n"),
            Reply::NullArray => out.put_slice(b"*-1\r\n"),
            Reply::Array(items) => aggregate(out, proto, b'*', items),
            Reply::Set(items) => aggregate(out, proto, if resp3 { b'~' } else { b'*' }, items),
            Reply::Push(items) => aggregate(out, proto, if resp3 { b'>' } else { b'*' }, items),
            Reply::Map(pairs) => {
                if resp3 {
                    header(out, b'%', len_i64(pairs.len()));
                } else {
                    header(out, b'*', len_i64(pairs.len()).saturating_mul(2));
                }
                for (key, value) in pairs {
                    key.encode(proto, out);
                    value.encode(proto, out);
                }
            }
            Reply::Double(value) => {
                // Redis 7.0's addReplyDouble: `%.17g` in both protocols.
                let text = crate::number::format_g17(*value).into_bytes();
                if resp3 {
                    out.put_u8(b',');
                    out.put_slice(&text);
                    out.put_slice(b"\r\n");
                } else {
                    bulk(out, &text);
                }
            }
            Reply::Boolean(value) if resp3 => {
                out.put_slice(if *value { b"#t\r\n" } else { b"#f\r\n" });
            }
            Reply::Boolean(value) => header(out, b':', i64::from(*value)),
            Reply::BigNumber(digits) if resp3 => line_sanitized(out, b'(', digits),
            Reply::BigNumber(digits) => bulk(out, digits),
            Reply::Verbatim { format, text } if resp3 => {
                header(out, b'=', len_i64(text.len()).saturating_add(4));
                out.put_slice(format);
                out.put_u8(b':');
                out.put_slice(text);
                out.put_slice(b"\r\n");
            }
            Reply::Verbatim { text, .. } => bulk(out, text),
        }
    }

    /// This reply's bytes in `proto`.
    pub fn to_bytes(&self, proto: Protocol) -> Bytes {
        let mut out = BytesMut::new();
        self.encode(proto, &mut out);
        out.freeze()
    }
}

fn len_i64(len: usize) -> i64 {
    i64::try_from(len).unwrap_or(i64::MAX)
}

/// `<kind><value>\r\n`.
fn header(out: &mut BytesMut, kind: u8, value: i64) {
    let mut text = Vec::with_capacity(21);
    write_i64(&mut text, value);
    out.reserve(text.len() + 3);
    out.put_u8(kind);
    out.put_slice(&text);
    out.put_slice(b"\r\n");
}

fn bulk(out: &mut BytesMut, bytes: &[u8]) {
    header(out, b'$', len_i64(bytes.len()));
    out.reserve(bytes.len() + 2);
    out.put_slice(bytes);
    out.put_slice(b"\r\n");
}

fn aggregate(out: &mut BytesMut, proto: Protocol, kind: u8, items: &[Reply]) {
    header(out, kind, len_i64(items.len()));
    for item in items {
        item.encode(proto, out);
    }
}

/// `<kind><text>\r\n` with any `\r` or `\n` in `text` written as a space.
fn line_sanitized(out: &mut BytesMut, kind: u8, text: &[u8]) {
    out.reserve(text.len() + 3);
    out.put_u8(kind);
    if text.iter().any(|&b| b == b'\r' || b == b'\n') {
        out.extend(text.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
    } else {
        out.put_slice(text);
    }
    out.put_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(reply: Reply, resp2: &[u8], resp3: &[u8]) {
        assert_eq!(&reply.to_bytes(Protocol::Resp2)[..], resp2, "RESP2 {reply:?}");
        assert_eq!(&reply.to_bytes(Protocol::Resp3)[..], resp3, "RESP3 {reply:?}");
    }

    fn b(s: &'static str) -> Reply {
        Reply::Bulk(Bytes::from_static(s.as_bytes()))
    }

    #[test]
    fn encode_scalars_in_both_protocols() {
        check(Reply::ok(), b"+OK\r\n", b"+OK\r\n");
        check(Reply::error("WRONGTYPE x"), b"-WRONGTYPE x\r\n", b"-WRONGTYPE x\r\n");
        check(Reply::Integer(-42), b":-42\r\n", b":-42\r\n");
        check(Reply::Integer(i64::MIN), b":-9223372036854775808\r\n", b":-9223372036854775808\r\n");
        check(b("abc"), b"$3\r\nabc\r\n", b"$3\r\nabc\r\n");
        check(b(""), b"$0\r\n\r\n", b"$0\r\n\r\n");
        check(Reply::Null, b"$-1\r\n", b"_\r\n");
        check(Reply::NullArray, b"*-1\r\n", b"_\r\n");
        check(Reply::Boolean(true), b":1\r\n", b"#t\r\n");
        check(Reply::Boolean(false), b":0\r\n", b"#f\r\n");
        check(
            Reply::BigNumber(Bytes::from_static(b"-3492890328409238509324850943850943825024385")),
            b"$44\r\n-3492890328409238509324850943850943825024385\r\n",
            b"(-3492890328409238509324850943850943825024385\r\n",
        );
        check(
            Reply::Verbatim { format: *b"txt", text: Bytes::from_static(b"Some string") },
            b"$11\r\nSome string\r\n",
            b"=15\r\ntxt:Some string\r\n",
        );
    }

    #[test]
    fn encode_doubles_like_redis() {
        check(Reply::Double(1.5), b"$3\r\n1.5\r\n", b",1.5\r\n");
        check(Reply::Double(3.0), b"$1\r\n3\r\n", b",3\r\n");
        check(Reply::Double(f64::INFINITY), b"$3\r\ninf\r\n", b",inf\r\n");
        check(Reply::Double(f64::NEG_INFINITY), b"$4\r\n-inf\r\n", b",-inf\r\n");
        check(Reply::Double(f64::NAN), b"$3\r\nnan\r\n", b",nan\r\n");
        check(Reply::Double(1e20), b"$5\r\n1e+20\r\n", b",1e+20\r\n");
    }

    #[test]
    fn encode_aggregates_in_both_protocols() {
        check(
            Reply::Array(vec![Reply::Integer(1), b("a"), Reply::Null]),
            b"*3\r\n:1\r\n$1\r\na\r\n$-1\r\n",
            b"*3\r\n:1\r\n$1\r\na\r\n_\r\n",
        );
        check(Reply::Array(vec![]), b"*0\r\n", b"*0\r\n");
        check(
            Reply::Map(vec![(b("k"), Reply::Double(0.5)), (b("j"), Reply::Boolean(true))]),
            b"*4\r\n$1\r\nk\r\n$3\r\n0.5\r\n$1\r\nj\r\n:1\r\n",
            b"%2\r\n$1\r\nk\r\n,0.5\r\n$1\r\nj\r\n#t\r\n",
        );
        check(Reply::Set(vec![b("x")]), b"*1\r\n$1\r\nx\r\n", b"~1\r\n$1\r\nx\r\n");
        check(
            Reply::Push(vec![b("message"), b("ch"), b("hi")]),
            b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
            b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
        );
        check(
            Reply::Array(vec![Reply::Array(vec![Reply::NullArray])]),
            b"*1\r\n*1\r\n*-1\r\n",
            b"*1\r\n*1\r\n_\r\n",
        );
    }

    #[test]
    fn encode_replaces_newlines_in_simple_and_error_lines() {
        check(Reply::error("ERR bad\r\nx"), b"-ERR bad  x\r\n", b"-ERR bad  x\r\n");
        check(Reply::Simple(Bytes::from_static(b"a\nb")), b"+a b\r\n", b"+a b\r\n");
    }
}
