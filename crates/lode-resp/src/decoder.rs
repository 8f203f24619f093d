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
    /// Bytes of the multibulk in progress already taken from the buffer (its count line and
    /// every length line and payload so far); 0 between requests.
    taken: usize,
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
        RequestDecoder { limits: limits.clamped(), ..RequestDecoder::default() }
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

    /// Bytes of the incomplete request already taken from the buffer. With the buffer's own
    /// length this is everything received of the request in progress, however the reads
    /// split it: what a server holds for a client between requests (Redis's query buffer).
    pub fn partial_request_bytes(&self) -> usize {
        self.taken
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
                    self.taken = line + 2;
                    self.state = State::Multibulk {
                        remaining: count,
                        args: Vec::with_capacity(count.min(ARGS_CAPACITY_INITIAL_MAX)),
                        bulk_bytes: None,
                    };
                }
                State::Multibulk { remaining, args, bulk_bytes: Some(len) } => {
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
                        self.taken = 0;
                        return Ok(Some(args));
                    }
                    self.taken += len + 2;
                    self.state_bulk_bytes(None);
                }
                State::Multibulk { bulk_bytes: None, .. } => {
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
                    self.taken += line + 2;
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
            if index > bytes_max { Err(ProtocolError::new(too_big)) } else { Ok(Some(index)) }
        }
        None => {
            *scanned = buf.len();
            if buf.len() > bytes_max { Err(ProtocolError::new(too_big)) } else { Ok(None) }
        }
    }
}

#[cfg(test)]
mod tests;
