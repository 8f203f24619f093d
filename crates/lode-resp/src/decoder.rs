//! The incremental request decoder: bytes from a client in, argument lists out.
//!
//! Role: first stage of the server's read path (read buffer -> [`RequestDecoder`] -> command
//! table). Accepts what Redis accepts: multibulk requests (`*<n>\r\n` then `n` times
//! `$<len>\r\n<payload>\r\n`) and inline lines (anything not starting with `*`, split by
//! [`crate::inline`]'s quoting rules). `*0`, `*-1` and empty inline lines are skipped.
//!
//! Invariants:
//! - Progress is kept across calls: finished arguments are split off the buffer (zero-copy
//!   `Bytes`), and a line is scanned for its terminator only once, so a request arriving in many
//!   small reads costs linear time.
//! - Nothing is allocated from a declared count or length: the argument list starts at most
//!   [`ARGS_CAPACITY_INITIAL_MAX`] slots and grows as arguments arrive; a payload is only
//!   taken once all of it is in the caller's buffer.
//! - The outcome does not depend on how the input was split into reads; each limit is checked on
//!   the complete line or on the bytes buffered so far, whichever comes first, with the same
//!   result.
//! - After an error, every later call returns the same error: the connection must be closed.
//!
//! Stricter than Redis, on purpose: a `\r` in a count line must be followed by `\n`, and a bulk
//! payload by `\r\n` (Redis skips the two bytes unchecked); both are reported as the line's
//! `invalid ... length`. An inline line longer than the limit is refused even when it arrives
//! whole in one read.

use bytes::{Buf, Bytes, BytesMut};

use crate::error::{ProtocolError, ProtocolErrorKind};
use crate::inline::split_inline;
use crate::limits::{ARGS_CAPACITY_INITIAL_MAX, COUNT_LINE_BYTES_MAX, RequestLimits};
use crate::number::parse_i64;

/// One command: its name and arguments, in order.
pub type Request = Vec<Bytes>;

/// Decodes requests from a connection's read buffer; one per connection.
#[derive(Debug, Default)]
pub struct RequestDecoder {
    limits: RequestLimits,
    state: State,
    /// How many bytes at the front of the buffer have been searched for the current line's
    /// terminator without finding it.
    scanned: usize,
    failed: Option<ProtocolError>,
}

#[derive(Debug, Default)]
enum State {
    /// Between requests: the next byte says multibulk (`*`) or inline.
    #[default]
    Idle,
    /// Inside a multibulk, after its `*<n>` line.
    Multibulk {
        /// Arguments still to come.
        remaining: usize,
        /// Arguments so far.
        args: Vec<Bytes>,
        /// The current argument's length, once its `$<len>` line is read.
        bulk_bytes: Option<usize>,
    },
}

impl RequestDecoder {
    /// A decoder with Redis's default limits.
    pub fn new() -> RequestDecoder {
        RequestDecoder::default()
    }

    /// A decoder with `limits`, clamped to the crate's ceilings.
    pub fn with_limits(limits: RequestLimits) -> RequestDecoder {
        RequestDecoder {
            limits: limits.clamped(),
            ..RequestDecoder::default()
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> RequestLimits {
        self.limits
    }

    /// Replaces the limits (clamped), e.g. to drop `pre_auth` after a successful `AUTH`.
    /// Applies from the next count or length line.
    pub fn set_limits(&mut self, limits: RequestLimits) {
        self.limits = limits.clamped();
    }

    /// Whether part of a multibulk request has been consumed from the buffer but the request is
    /// not complete yet.
    pub fn is_mid_request(&self) -> bool {
        matches!(self.state, State::Multibulk { .. })
    }

    /// Decodes the next request from the front of `buf`, removing the bytes it used.
    ///
    /// Returns `Ok(None)` when `buf` holds no complete request yet: append more bytes from the
    /// connection and call again. The caller must only ever append to `buf` between calls.
    ///
    /// # Errors
    /// A [`ProtocolError`] whose [`message`](ProtocolError::message) the server sends before
    /// closing the connection; the same error is returned by every later call.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Request>, ProtocolError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        let result = self.decode_next(buf);
        if let Err(error) = &result {
            self.failed = Some(error.clone());
        }
        result
    }

    fn decode_next(&mut self, buf: &mut BytesMut) -> Result<Option<Request>, ProtocolError> {
        let limits = self.limits;
        loop {
            match &mut self.state {
                State::Idle => {
                    let Some(&first) = buf.first() else {
                        return Ok(None);
                    };
                    if first != b'*' {
                        match self.decode_inline(buf)? {
                            Some(args) if args.is_empty() => continue,
                            other => return Ok(other),
                        }
                    }
                    let Some(line) = find_line(
                        buf,
                        &mut self.scanned,
                        b'\r',
                        COUNT_LINE_BYTES_MAX,
                        ProtocolErrorKind::TooBigMbulkCountString,
                    )?
                    else {
                        return Ok(None);
                    };
                    if line + 1 >= buf.len() {
                        return Ok(None);
                    }
                    let invalid = || ProtocolError::new(ProtocolErrorKind::InvalidMultibulkLength);
                    let count = parse_i64(&buf[1..line]).ok_or_else(invalid)?;
                    if count > i64::try_from(limits.args_max).unwrap_or(i64::MAX) {
                        return Err(invalid());
                    }
                    if let Some(pre_auth) = limits.pre_auth
                        && count > i64::try_from(pre_auth.args_max).unwrap_or(i64::MAX)
                    {
                        return Err(ProtocolError::new(
                            ProtocolErrorKind::UnauthenticatedMultibulkLength,
                        ));
                    }
                    if buf[line + 1] != b'\n' {
                        return Err(invalid());
                    }
                    buf.advance(line + 2);
                    self.scanned = 0;
                    // Redis skips `*0` and negative counts without replying.
                    let Ok(count) = usize::try_from(count) else {
                        continue;
                    };
                    if count == 0 {
                        continue;
                    }
                    self.state = State::Multibulk {
                        remaining: count,
                        args: Vec::with_capacity(count.min(ARGS_CAPACITY_INITIAL_MAX)),
                        bulk_bytes: None,
                    };
                }
                State::Multibulk {
                    remaining,
                    args,
                    bulk_bytes: Some(len),
                } => {
                    let len = *len;
                    if buf.len() < len + 2 {
                        return Ok(None);
                    }
                    if &buf[len..len + 2] != b"\r\n" {
                        return Err(ProtocolError::new(ProtocolErrorKind::InvalidBulkLength));
                    }
                    args.push(buf.split_to(len).freeze());
                    buf.advance(2);
                    *remaining -= 1;
                    if *remaining == 0 {
                        let args = std::mem::take(args);
                        self.state = State::Idle;
                        return Ok(Some(args));
                    }
                    self.state_bulk_bytes(None);
                }
                State::Multibulk {
                    bulk_bytes: None, ..
                } => {
                    let Some(line) = find_line(
                        buf,
                        &mut self.scanned,
                        b'\r',
                        COUNT_LINE_BYTES_MAX,
                        ProtocolErrorKind::TooBigBulkCountString,
                    )?
                    else {
                        return Ok(None);
                    };
                    if line + 1 >= buf.len() {
                        return Ok(None);
                    }
                    if buf[0] != b'$' {
                        return Err(ProtocolError::expected_dollar(buf[0]));
                    }
                    let invalid = || ProtocolError::new(ProtocolErrorKind::InvalidBulkLength);
                    let len = parse_i64(&buf[1..line])
                        .and_then(|len| usize::try_from(len).ok())
                        .filter(|&len| len <= limits.bulk_bytes_max)
                        .ok_or_else(invalid)?;
                    if let Some(pre_auth) = limits.pre_auth
                        && len > pre_auth.bulk_bytes_max
                    {
                        return Err(ProtocolError::new(
                            ProtocolErrorKind::UnauthenticatedBulkLength,
                        ));
                    }
                    if buf[line + 1] != b'\n' {
                        return Err(invalid());
                    }
                    buf.advance(line + 2);
                    self.scanned = 0;
                    self.state_bulk_bytes(Some(len));
                }
            }
        }
    }

    /// Argument slots allocated for the multibulk in progress.
    #[cfg(test)]
    fn args_capacity(&self) -> usize {
        match &self.state {
            State::Multibulk { args, .. } => args.capacity(),
            State::Idle => 0,
        }
    }

    fn state_bulk_bytes(&mut self, len: Option<usize>) {
        if let State::Multibulk { bulk_bytes, .. } = &mut self.state {
            *bulk_bytes = len;
        }
    }

    /// One inline line: `Ok(None)` if incomplete, `Ok(Some(vec![]))` for a blank line.
    fn decode_inline(&mut self, buf: &mut BytesMut) -> Result<Option<Request>, ProtocolError> {
        let Some(newline) = find_line(
            buf,
            &mut self.scanned,
            b'\n',
            self.limits.inline_bytes_max,
            ProtocolErrorKind::TooBigInlineRequest,
        )?
        else {
            return Ok(None);
        };
        let mut line = &buf[..newline];
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        let args = split_inline(line)
            .map_err(|()| ProtocolError::new(ProtocolErrorKind::UnbalancedQuotes))?;
        buf.advance(newline + 1);
        self.scanned = 0;
        Ok(Some(args))
    }
}

/// The index of the first `terminator` in `buf`, searching only bytes not searched before.
/// A line longer than `bytes_max` (found or, so far, unterminated) is the error `too_big`.
fn find_line(
    buf: &[u8],
    scanned: &mut usize,
    terminator: u8,
    bytes_max: usize,
    too_big: ProtocolErrorKind,
) -> Result<Option<usize>, ProtocolError> {
    let start = (*scanned).min(buf.len());
    match buf[start..].iter().position(|&b| b == terminator) {
        Some(offset) => {
            let index = start + offset;
            *scanned = index;
            if index > bytes_max {
                Err(ProtocolError::new(too_big))
            } else {
                Ok(Some(index))
            }
        }
        None => {
            *scanned = buf.len();
            if buf.len() > bytes_max {
                Err(ProtocolError::new(too_big))
            } else {
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::Rng;

    use super::*;
    use crate::limits::{
        BULK_BYTES_MAX, INLINE_BYTES_MAX, MULTIBULK_ARGS_MAX, PRE_AUTH_ARGS_MAX,
        PRE_AUTH_BULK_BYTES_MAX, PreAuthLimits,
    };
    use crate::testing::{Seed, iterations};

    fn req(args: &[&str]) -> Request {
        args.iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect()
    }

    /// Requests decoded from `input` fed whole, and the error that stopped decoding, if any.
    fn decode_all(input: &[u8], limits: RequestLimits) -> (Vec<Request>, Option<String>) {
        let mut decoder = RequestDecoder::with_limits(limits);
        let mut buf = BytesMut::from(input);
        let mut requests = Vec::new();
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(request)) => requests.push(request),
                Ok(None) => return (requests, None),
                Err(error) => return (requests, Some(error.message().to_owned())),
            }
        }
    }

    fn decodes(input: &[u8], expected: &[Request]) {
        let (requests, error) = decode_all(input, RequestLimits::REDIS);
        assert_eq!(error, None, "{:?}", String::from_utf8_lossy(input));
        assert_eq!(requests, expected, "{:?}", String::from_utf8_lossy(input));
        crate::fuzz::fuzz_decode(input);
    }

    fn fails(input: &[u8], limits: RequestLimits, message: &str) {
        let (requests, error) = decode_all(input, limits);
        assert_eq!(
            requests,
            Vec::<Request>::new(),
            "{:?}",
            String::from_utf8_lossy(input)
        );
        assert_eq!(
            error.as_deref(),
            Some(message),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }

    /// Whether `input` is a valid prefix: no request, no error yet.
    fn waits(input: &[u8], limits: RequestLimits) -> bool {
        decode_all(input, limits) == (vec![], None)
    }

    #[test]
    fn decode_reads_multibulk_requests() {
        decodes(
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n",
            &[req(&["SET", "k", "value"])],
        );
        decodes(b"*2\r\n$0\r\n\r\n$4\r\na\r\nb\r\n", &[req(&["", "a\r\nb"])]);
        decodes(
            b"*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n",
            &[req(&["PING"]), req(&["PING"])],
        );
    }

    #[test]
    fn decode_skips_empty_and_negative_multibulks() {
        decodes(
            b"*0\r\n*-1\r\n*-10\r\n*1\r\n$4\r\nPING\r\n",
            &[req(&["PING"])],
        );
    }

    #[test]
    fn decode_reads_inline_requests() {
        decodes(b"PING\r\n", &[req(&["PING"])]);
        decodes(b"PING\n", &[req(&["PING"])]);
        decodes(b"\r\n\n   \r\nPING\r\n", &[req(&["PING"])]);
        decodes(
            b"SET k \"a b\\x41\"\r\nGET 'it\\'s'\r\n",
            &[req(&["SET", "k", "a bA"]), req(&["GET", "it's"])],
        );
        decodes(b"ECHO \"\"\r\n", &[req(&["ECHO", ""])]);
        decodes(b"a\rb\r\r\n", &[req(&["a", "b"])]);
    }

    #[test]
    fn decode_mixes_inline_and_multibulk_in_one_buffer() {
        decodes(
            b"PING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nQUIT\n",
            &[req(&["PING"]), req(&["ECHO", "hi"]), req(&["QUIT"])],
        );
    }

    #[test]
    fn decode_waits_for_truncated_frames() {
        let frame = b"*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n";
        for end in 0..frame.len() {
            assert!(
                waits(&frame[..end], RequestLimits::REDIS),
                "prefix of {end} bytes"
            );
        }
        assert!(waits(b"PING", RequestLimits::REDIS));
        assert!(waits(b"SET k \"unterminated", RequestLimits::REDIS));
    }

    #[test]
    fn decode_gives_the_same_requests_for_every_split_point() {
        let input: &[u8] = b"*3\r\n$3\r\nSET\r\n$2\r\nk1\r\n$3\r\nv\r\n\r\n*0\r\nGET \"k\\x31\" 'x'\r\n\r\n*1\r\n$4\r\nPING\r\n";
        let (expected, error) = decode_all(input, RequestLimits::REDIS);
        assert_eq!(error, None);
        assert_eq!(expected.len(), 3);
        for split in 0..=input.len() {
            let mut decoder = RequestDecoder::new();
            let mut buf = BytesMut::new();
            let mut got = Vec::new();
            for part in [&input[..split], &input[split..]] {
                buf.extend_from_slice(part);
                while let Some(request) = decoder.decode(&mut buf).expect("valid") {
                    got.push(request);
                }
            }
            assert_eq!(got, expected, "split at {split}");
            assert!(buf.is_empty());
        }
        crate::fuzz::fuzz_decode(input);
    }

    #[test]
    fn decode_random_pipelines_in_random_chunks() {
        let seed = Seed::new("decode_random_pipelines_in_random_chunks");
        let mut rng = seed.rng(0);
        for _ in 0..iterations(200) {
            let mut input = Vec::new();
            let mut expected = Vec::new();
            for _ in 0..rng.random_range(1..20) {
                let argc = rng.random_range(1..6);
                let args: Request = (0..argc)
                    .map(|_| {
                        let len = rng.random_range(0..40);
                        Bytes::from((0..len).map(|_| rng.random::<u8>()).collect::<Vec<u8>>())
                    })
                    .collect();
                if rng.random_bool(0.3) {
                    // Inline form: double-quote every argument with \xHH escapes.
                    for arg in &args {
                        input.extend_from_slice(b" \"");
                        for byte in arg.iter() {
                            input.extend_from_slice(format!("\\x{byte:02x}").as_bytes());
                        }
                        input.push(b'"');
                    }
                    input.extend_from_slice(b"\r\n");
                } else {
                    input.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
                    for arg in &args {
                        input.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
                        input.extend_from_slice(arg);
                        input.extend_from_slice(b"\r\n");
                    }
                }
                expected.push(args);
            }
            let mut decoder = RequestDecoder::new();
            let mut buf = BytesMut::new();
            let mut got = Vec::new();
            let mut fed = 0;
            while fed < input.len() {
                let len = rng.random_range(1..=16).min(input.len() - fed);
                buf.extend_from_slice(&input[fed..fed + len]);
                fed += len;
                while let Some(request) = decoder.decode(&mut buf).expect("valid") {
                    got.push(request);
                }
            }
            assert_eq!(got, expected);
            assert!(buf.is_empty() && !decoder.is_mid_request());
        }
    }

    #[test]
    fn decode_reports_redis_error_texts() {
        let redis = RequestLimits::REDIS;
        let invalid_mbulk = "ERR Protocol error: invalid multibulk length";
        let invalid_bulk = "ERR Protocol error: invalid bulk length";
        fails(b"*abc\r\n", redis, invalid_mbulk);
        fails(b"*\r\n", redis, invalid_mbulk);
        fails(b"*-0\r\n", redis, invalid_mbulk);
        fails(b"*+1\r\n", redis, invalid_mbulk);
        fails(b"*99999999999\r\n", redis, invalid_mbulk);
        fails(b"*3000000000\r\n", redis, invalid_mbulk);
        fails(b"*1\rX", redis, invalid_mbulk);
        fails(b"*1\r\n$-1\r\n", redis, invalid_bulk);
        fails(b"*1\r\n$abc\r\n", redis, invalid_bulk);
        fails(b"*1\r\n$2000000000\r\n", redis, invalid_bulk);
        fails(b"*1\r\n$99999999999999999999999\r\n", redis, invalid_bulk);
        fails(b"*1\r\n$3\r\nabcXY", redis, invalid_bulk);
        fails(
            b"*1\r\n\r\n",
            redis,
            "ERR Protocol error: expected '$', got ' '",
        );
        fails(
            b"SET k \"v\r\n",
            redis,
            "ERR Protocol error: unbalanced quotes in request",
        );
        fails(
            b"SET k 'v'x\r\n",
            redis,
            "ERR Protocol error: unbalanced quotes in request",
        );
    }

    #[test]
    fn decode_reports_expected_dollar_after_earlier_arguments() {
        let (requests, error) = decode_all(
            b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n",
            RequestLimits::REDIS,
        );
        assert!(requests.is_empty());
        assert_eq!(
            error.as_deref(),
            Some("ERR Protocol error: expected '$', got 'f'")
        );
        let (_, error) = decode_all(b"*1\r\n$3\r\nabc\r", RequestLimits::REDIS);
        assert_eq!(error, None, "waits for the byte after \\r");
        let (_, error) = decode_all(b"*1\r\n$3\r\nabc\rX", RequestLimits::REDIS);
        assert_eq!(
            error.as_deref(),
            Some("ERR Protocol error: invalid bulk length")
        );
    }

    #[test]
    fn decode_errors_are_sticky() {
        let mut decoder = RequestDecoder::new();
        let mut buf = BytesMut::from(&b"*x\r\n"[..]);
        let error = decoder.decode(&mut buf).expect_err("invalid");
        buf.clear();
        buf.extend_from_slice(b"PING\r\n");
        assert_eq!(decoder.decode(&mut buf), Err(error));
    }

    #[test]
    fn multibulk_args_max_at_limit_waits_and_past_limit_fails() {
        let mut decoder = RequestDecoder::new();
        let mut buf = BytesMut::from(format!("*{MULTIBULK_ARGS_MAX}\r\n").as_bytes());
        assert_eq!(decoder.decode(&mut buf), Ok(None));
        assert!(decoder.is_mid_request());
        assert!(decoder.args_capacity() <= ARGS_CAPACITY_INITIAL_MAX);
        let past = format!("*{}\r\n", MULTIBULK_ARGS_MAX + 1);
        fails(
            past.as_bytes(),
            RequestLimits::REDIS,
            "ERR Protocol error: invalid multibulk length",
        );
    }

    #[test]
    fn bulk_bytes_max_at_limit_waits_without_allocating_and_past_limit_fails() {
        let mut decoder = RequestDecoder::new();
        let mut buf = BytesMut::from(format!("*1\r\n${BULK_BYTES_MAX}\r\n").as_bytes());
        assert_eq!(decoder.decode(&mut buf), Ok(None));
        assert!(
            buf.capacity() < 4096,
            "reserved {} bytes up front",
            buf.capacity()
        );
        let past = format!("*1\r\n${}\r\n", BULK_BYTES_MAX + 1);
        fails(
            past.as_bytes(),
            RequestLimits::REDIS,
            "ERR Protocol error: invalid bulk length",
        );
    }

    #[test]
    fn inline_bytes_max_at_limit_decodes_and_past_limit_fails() {
        let redis = RequestLimits::REDIS;
        let too_big = "ERR Protocol error: too big inline request";
        let mut line = vec![b'a'; INLINE_BYTES_MAX];
        assert!(waits(&line, redis));
        line.push(b'\n');
        let (requests, error) = decode_all(&line, redis);
        assert_eq!((requests.len(), error), (1, None));
        let mut line = vec![b'a'; INLINE_BYTES_MAX + 1];
        fails(&line, redis, too_big);
        line.push(b'\n');
        fails(&line, redis, too_big);
    }

    #[test]
    fn count_line_bytes_max_at_limit_waits_and_past_limit_fails() {
        let redis = RequestLimits::REDIS;
        let mut line = vec![b'*'];
        line.resize(COUNT_LINE_BYTES_MAX, b'1');
        assert!(waits(&line, redis));
        line.push(b'1');
        fails(
            &line,
            redis,
            "ERR Protocol error: too big mbulk count string",
        );

        let mut line = b"*1\r\n$".to_vec();
        line.resize(4 + COUNT_LINE_BYTES_MAX, b'1');
        let (requests, error) = decode_all(&line, redis);
        assert_eq!((requests.len(), error), (0, None));
        line.push(b'1');
        let (_, error) = decode_all(&line, redis);
        assert_eq!(
            error.as_deref(),
            Some("ERR Protocol error: too big bulk count string")
        );
    }

    #[test]
    fn pre_auth_limits_at_limit_pass_and_past_limit_fail() {
        let limits = RequestLimits::REDIS.with_pre_auth(PreAuthLimits::REDIS);
        assert!(waits(
            format!("*{PRE_AUTH_ARGS_MAX}\r\n").as_bytes(),
            limits
        ));
        fails(
            format!("*{}\r\n", PRE_AUTH_ARGS_MAX + 1).as_bytes(),
            limits,
            "ERR Protocol error: unauthenticated multibulk length",
        );
        assert!(waits(
            format!("*1\r\n${PRE_AUTH_BULK_BYTES_MAX}\r\n").as_bytes(),
            limits
        ));
        fails(
            format!("*1\r\n${}\r\n", PRE_AUTH_BULK_BYTES_MAX + 1).as_bytes(),
            limits,
            "ERR Protocol error: unauthenticated bulk length",
        );
        // The protocol-wide limit is checked first and keeps its own text.
        fails(
            format!("*1\r\n${}\r\n", BULK_BYTES_MAX + 1).as_bytes(),
            limits,
            "ERR Protocol error: invalid bulk length",
        );
    }

    #[test]
    fn set_limits_lifts_pre_auth_limits_for_later_requests() {
        let mut decoder =
            RequestDecoder::with_limits(RequestLimits::REDIS.with_pre_auth(PreAuthLimits::REDIS));
        let mut buf = BytesMut::from(&b"AUTH pw\r\n"[..]);
        assert_eq!(decoder.decode(&mut buf), Ok(Some(req(&["AUTH", "pw"]))));
        decoder.set_limits(RequestLimits::REDIS);
        buf.extend_from_slice(b"*11\r\n");
        assert_eq!(decoder.decode(&mut buf), Ok(None));
    }

    #[test]
    fn configured_limits_at_limit_pass_and_past_limit_fail() {
        let limits = RequestLimits {
            args_max: 3,
            bulk_bytes_max: 5,
            inline_bytes_max: 8,
            pre_auth: None,
        };
        let (requests, error) = decode_all(b"*3\r\n$5\r\naaaaa\r\n$0\r\n\r\n$1\r\nb\r\n", limits);
        assert_eq!((requests.len(), error), (1, None));
        fails(
            b"*4\r\n",
            limits,
            "ERR Protocol error: invalid multibulk length",
        );
        fails(
            b"*1\r\n$6\r\n",
            limits,
            "ERR Protocol error: invalid bulk length",
        );
        let (requests, error) = decode_all(b"GET abcd\r\n", limits);
        assert_eq!(
            (requests.len(), error),
            (0, Some("ERR Protocol error: too big inline request".into()))
        );
        let (requests, error) = decode_all(b"GET abc\r\n", limits);
        assert_eq!((requests.len(), error), (1, None));
    }

    #[test]
    fn limits_above_the_ceilings_are_clamped() {
        let limits = RequestLimits {
            args_max: usize::MAX,
            ..RequestLimits::REDIS
        };
        assert_eq!(
            RequestDecoder::with_limits(limits).limits(),
            RequestLimits::REDIS
        );
    }

    #[test]
    fn decode_a_million_pipelined_commands_with_bounded_memory() {
        let mut chunk = Vec::new();
        for _ in 0..1000 {
            chunk.extend_from_slice(b"*1\r\n$4\r\nPING\r\nPING\r\n");
        }
        let mut decoder = RequestDecoder::new();
        let mut buf = BytesMut::new();
        let mut count = 0;
        let mut capacity_max = 0;
        while count < 1_000_000 {
            buf.extend_from_slice(&chunk);
            while let Some(request) = decoder.decode(&mut buf).expect("valid") {
                assert_eq!(request.len(), 1);
                count += 1;
            }
            capacity_max = capacity_max.max(buf.capacity());
        }
        assert_eq!(count, 1_000_000);
        assert!(
            capacity_max <= 4 * chunk.len(),
            "buffer grew to {capacity_max} bytes"
        );
    }
}
