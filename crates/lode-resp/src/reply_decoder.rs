//! A decoder for reply frames, RESP2 and RESP3, for tests, the bench harness and a future client.
//!
//! Role: not on the server's path. [`decode_reply`] parses one complete frame from the front of a
//! buffer into a [`Reply`]; given a prefix of a frame it returns `Ok(None)`. It is not
//! incremental: an incomplete frame is parsed again from its start on the next call, which is
//! fine for replies a test or benchmark expects, not for untrusted streams of huge frames.
//!
//! Limits: bulk payloads up to [`BULK_BYTES_MAX`], aggregates up to [`MULTIBULK_ARGS_MAX`]
//! elements (allocated as they arrive), nesting up to [`REPLY_NESTING_MAX`], line frames up to
//! [`INLINE_BYTES_MAX`]. RESP2 `$-1` and RESP3 `_` decode to [`Reply::Null`], `*-1` to
//! [`Reply::NullArray`], RESP3 blob errors `!` to [`Reply::Error`]. Attributes (`|`) and
//! streamed aggregates (`*?`) are not supported.

use bytes::Bytes;

use crate::error::ProtocolError;
use crate::limits::{
    ARGS_CAPACITY_INITIAL_MAX, BULK_BYTES_MAX, INLINE_BYTES_MAX, MULTIBULK_ARGS_MAX,
    REPLY_NESTING_MAX,
};
use crate::number::parse_i64;
use crate::reply::Reply;

/// Decodes one reply frame from the front of `buf`: the reply and how many bytes it took, or
/// `Ok(None)` if `buf` holds only part of a frame.
///
/// # Errors
/// A [`ProtocolError`] of kind `MalformedReply` when the bytes are not a valid frame or break a
/// limit.
pub fn decode_reply(buf: &[u8]) -> Result<Option<(Reply, usize)>, ProtocolError> {
    let mut parser = Parser { buf, pos: 0 };
    Ok(parser.frame(0)?.map(|reply| (reply, parser.pos)))
}

struct Parser<'a> {
    buf: &'a [u8],
    pos: usize,
}

type Step<T> = Result<Option<T>, ProtocolError>;

fn malformed<T>(what: &'static str) -> Result<T, ProtocolError> {
    Err(ProtocolError::malformed_reply(what))
}

impl<'a> Parser<'a> {
    fn frame(&mut self, depth: usize) -> Step<Reply> {
        if depth > REPLY_NESTING_MAX {
            return malformed("reply nested too deep");
        }
        let Some(&kind) = self.buf.get(self.pos) else {
            return Ok(None);
        };
        self.pos += 1;
        let Some(line) = self.line()? else {
            return Ok(None);
        };
        let reply = match kind {
            b'+' => Reply::Simple(Bytes::copy_from_slice(line)),
            b'-' => Reply::Error(Bytes::copy_from_slice(line)),
            b':' => match parse_i64(line) {
                Some(value) => Reply::Integer(value),
                None => return malformed("invalid integer reply"),
            },
            b'_' if line.is_empty() => Reply::Null,
            b'#' => match line {
                b"t" => Reply::Boolean(true),
                b"f" => Reply::Boolean(false),
                _ => return malformed("invalid boolean reply"),
            },
            b',' => match std::str::from_utf8(line).ok().and_then(|s| s.parse::<f64>().ok()) {
                Some(value) => Reply::Double(value),
                None => return malformed("invalid double reply"),
            },
            b'(' => {
                let digits = line.strip_prefix(b"-").unwrap_or(line);
                if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                    return malformed("invalid big number reply");
                }
                Reply::BigNumber(Bytes::copy_from_slice(line))
            }
            b'$' | b'!' | b'=' => {
                let len = self.length(line, kind == b'$')?;
                let Some(len) = len else {
                    return Ok(Some(Reply::Null));
                };
                let Some(payload) = self.payload(len)? else {
                    return Ok(None);
                };
                match kind {
                    b'$' => Reply::Bulk(Bytes::copy_from_slice(payload)),
                    b'!' => Reply::Error(Bytes::copy_from_slice(payload)),
                    _ => match payload {
                        [a, b, c, b':', text @ ..] => Reply::Verbatim {
                            format: [*a, *b, *c],
                            text: Bytes::copy_from_slice(text),
                        },
                        _ => return malformed("invalid verbatim string reply"),
                    },
                }
            }
            b'*' | b'~' | b'>' | b'%' => {
                let Some(count) = self.length(line, kind == b'*')? else {
                    return Ok(Some(Reply::NullArray));
                };
                if count > MULTIBULK_ARGS_MAX {
                    return malformed("reply aggregate too long");
                }
                if kind == b'%' {
                    let mut pairs = Vec::with_capacity(count.min(ARGS_CAPACITY_INITIAL_MAX));
                    for _ in 0..count {
                        let Some(key) = self.frame(depth + 1)? else {
                            return Ok(None);
                        };
                        let Some(value) = self.frame(depth + 1)? else {
                            return Ok(None);
                        };
                        pairs.push((key, value));
                    }
                    Reply::Map(pairs)
                } else {
                    let mut items = Vec::with_capacity(count.min(ARGS_CAPACITY_INITIAL_MAX));
                    for _ in 0..count {
                        let Some(item) = self.frame(depth + 1)? else {
                            return Ok(None);
                        };
                        items.push(item);
                    }
                    match kind {
                        b'*' => Reply::Array(items),
                        b'~' => Reply::Set(items),
                        _ => Reply::Push(items),
                    }
                }
            }
            _ => return malformed("invalid reply type"),
        };
        Ok(Some(reply))
    }

    /// The rest of the current line, moving past its `\r\n`.
    fn line(&mut self) -> Step<&'a [u8]> {
        let buf = self.buf;
        let rest = &buf[self.pos..];
        let Some(cr) = rest.iter().position(|&b| b == b'\r') else {
            return if rest.len() > INLINE_BYTES_MAX {
                malformed("reply line too long")
            } else {
                Ok(None)
            };
        };
        if cr > INLINE_BYTES_MAX {
            return malformed("reply line too long");
        }
        match rest.get(cr + 1) {
            None => Ok(None),
            Some(b'\n') => {
                let start = self.pos;
                self.pos += cr + 2;
                Ok(Some(&buf[start..start + cr]))
            }
            Some(_) => malformed("expected '\\n' after '\\r' in reply"),
        }
    }

    /// A length line's value; `None` for `-1` where `null_allowed`.
    fn length(&self, line: &[u8], null_allowed: bool) -> Result<Option<usize>, ProtocolError> {
        match parse_i64(line) {
            Some(-1) if null_allowed => Ok(None),
            Some(len) => match usize::try_from(len) {
                Ok(len) if len <= BULK_BYTES_MAX => Ok(Some(len)),
                _ => malformed("invalid length in reply"),
            },
            None => malformed("invalid length in reply"),
        }
    }

    /// `len` payload bytes and their `\r\n`.
    fn payload(&mut self, len: usize) -> Step<&'a [u8]> {
        let buf = self.buf;
        let rest = &buf[self.pos..];
        if rest.len() < len + 2 {
            return Ok(None);
        }
        if &rest[len..len + 2] != b"\r\n" {
            return malformed("missing '\\r\\n' after payload in reply");
        }
        let start = self.pos;
        self.pos += len + 2;
        Ok(Some(&buf[start..start + len]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::Protocol;

    fn decoded(bytes: &[u8]) -> Reply {
        let (reply, used) = decode_reply(bytes).expect("valid").expect("complete");
        assert_eq!(used, bytes.len());
        reply
    }

    #[test]
    fn decode_reply_reads_every_type() {
        assert_eq!(decoded(b"+OK\r\n"), Reply::ok());
        assert_eq!(decoded(b"-ERR x\r\n"), Reply::error("ERR x"));
        assert_eq!(decoded(b"!5\r\nERR x\r\n"), Reply::error("ERR x"));
        assert_eq!(decoded(b":-7\r\n"), Reply::Integer(-7));
        assert_eq!(decoded(b"$-1\r\n"), Reply::Null);
        assert_eq!(decoded(b"_\r\n"), Reply::Null);
        assert_eq!(decoded(b"*-1\r\n"), Reply::NullArray);
        assert_eq!(decoded(b"$2\r\n\r\n\r\n"), Reply::bulk("\r\n"));
        assert_eq!(decoded(b",inf\r\n"), Reply::Double(f64::INFINITY));
        assert_eq!(decoded(b",-1.5e3\r\n"), Reply::Double(-1500.0));
        assert_eq!(decoded(b"#f\r\n"), Reply::Boolean(false));
        assert_eq!(decoded(b"(-12\r\n"), Reply::BigNumber(Bytes::from_static(b"-12")));
        assert_eq!(
            decoded(b"=7\r\nmkd:abc\r\n"),
            Reply::Verbatim { format: *b"mkd", text: Bytes::from_static(b"abc") }
        );
        assert_eq!(
            decoded(b"%1\r\n+a\r\n~1\r\n>1\r\n:1\r\n"),
            Reply::Map(vec![(
                Reply::simple("a"),
                Reply::Set(vec![Reply::Push(vec![Reply::Integer(1)])])
            )])
        );
        let Reply::Double(nan) = decoded(b",nan\r\n") else { panic!("not a double") };
        assert!(nan.is_nan());
    }

    #[test]
    fn decode_reply_waits_for_every_prefix() {
        let frame =
            Reply::Array(vec![Reply::bulk("abc"), Reply::Map(vec![])]).to_bytes(Protocol::Resp3);
        for end in 0..frame.len() {
            assert_eq!(decode_reply(&frame[..end]), Ok(None), "prefix of {end} bytes");
        }
    }

    #[test]
    fn decode_reply_rejects_malformed_frames() {
        for bad in [
            &b"?x\r\n"[..],
            b":1.5\r\n",
            b":01\r\n",
            b"$-2\r\n",
            b"$3\r\nabcd\r\n",
            b"*-2\r\n",
            b"%-1\r\n",
            b"_x\r\n",
            b"#x\r\n",
            b",x\r\n",
            b"(1a\r\n",
            b"=2\r\nab\r\n",
            b"+a\rb\r\n",
            b"$2000000000\r\n",
            b"*99999999999\r\n",
        ] {
            assert!(decode_reply(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn decode_reply_limits_nesting() {
        let at_limit = "*1\r\n".repeat(REPLY_NESTING_MAX) + ":1\r\n";
        assert!(decode_reply(at_limit.as_bytes()).expect("valid").is_some());
        let past_limit = "*1\r\n".repeat(REPLY_NESTING_MAX + 1) + ":1\r\n";
        assert!(decode_reply(past_limit.as_bytes()).is_err());
    }
}
