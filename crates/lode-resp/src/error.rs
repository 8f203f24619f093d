//! The crate's one error type, and the exact Redis texts clients match on.
//!
//! Role: a [`ProtocolError`] from the request decoder is what the server sends (as an error
//! reply) before it closes the connection, as Redis does. The texts follow Redis 7's
//! `networking.c`; this file is the only place they are spelled.

use std::borrow::Cow;

/// What went wrong, for callers that branch on it; [`ProtocolError::message`] has the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolErrorKind {
    /// `*<n>` is not an integer, or is above the argument limit.
    InvalidMultibulkLength,
    /// `$<n>` is not an integer, is negative or above the bulk limit, or the payload is not
    /// followed by `\r\n`.
    InvalidBulkLength,
    /// `*<n>` is above the pre-`AUTH` argument limit.
    UnauthenticatedMultibulkLength,
    /// `$<n>` is above the pre-`AUTH` bulk limit.
    UnauthenticatedBulkLength,
    /// An argument header inside a multibulk does not start with `$`.
    ExpectedDollar,
    /// An inline line is longer than the inline limit.
    TooBigInlineRequest,
    /// A `*<n>` line is longer than [`crate::COUNT_LINE_BYTES_MAX`].
    TooBigMbulkCountString,
    /// A `$<n>` line is longer than [`crate::COUNT_LINE_BYTES_MAX`].
    TooBigBulkCountString,
    /// An inline line has an unterminated quote, or a closing quote not followed by a space.
    UnbalancedQuotes,
    /// The reply decoder met a malformed or over-limit reply frame.
    MalformedReply,
}

/// A protocol violation; the connection cannot continue after one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text}")]
pub struct ProtocolError {
    kind: ProtocolErrorKind,
    text: Cow<'static, str>,
}

impl ProtocolError {
    pub(crate) fn new(kind: ProtocolErrorKind) -> ProtocolError {
        use ProtocolErrorKind::*;
        let text = match kind {
            InvalidMultibulkLength => "ERR Protocol error: invalid multibulk length",
            InvalidBulkLength => "ERR Protocol error: invalid bulk length",
            UnauthenticatedMultibulkLength => {
                "ERR Protocol error: unauthenticated multibulk length"
            }
            UnauthenticatedBulkLength => "ERR Protocol error: unauthenticated bulk length",
            TooBigInlineRequest => "ERR Protocol error: too big inline request",
            TooBigMbulkCountString => "ERR Protocol error: too big mbulk count string",
            TooBigBulkCountString => "ERR Protocol error: too big bulk count string",
            UnbalancedQuotes => "ERR Protocol error: unbalanced quotes in request",
            ExpectedDollar => "ERR Protocol error: expected '$'",
            MalformedReply => "ERR Protocol error: malformed reply",
        };
        ProtocolError { kind, text: Cow::Borrowed(text) }
    }

    /// `expected '$', got 'X'`. Redis prints the raw byte and turns `\r` and `\n` into spaces;
    /// a byte that is not printable ASCII is shown as `?` so the text stays valid UTF-8.
    pub(crate) fn expected_dollar(got: u8) -> ProtocolError {
        let shown = match got {
            b'\r' | b'\n' => ' ',
            0x20..=0x7e => char::from(got),
            _ => '?',
        };
        ProtocolError {
            kind: ProtocolErrorKind::ExpectedDollar,
            text: Cow::Owned(format!("ERR Protocol error: expected '$', got '{shown}'")),
        }
    }

    /// A malformed reply frame (reply decoder only).
    pub(crate) fn malformed_reply(what: &'static str) -> ProtocolError {
        ProtocolError {
            kind: ProtocolErrorKind::MalformedReply,
            text: Cow::Owned(format!("ERR Protocol error: {what}")),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> ProtocolErrorKind {
        self.kind
    }

    /// The error reply text without the leading `-`, e.g.
    /// `ERR Protocol error: invalid bulk length`.
    pub fn message(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_dollar_shows_printable_byte_and_blanks_newlines() {
        assert_eq!(
            ProtocolError::expected_dollar(b'f').message(),
            "ERR Protocol error: expected '$', got 'f'"
        );
        assert_eq!(
            ProtocolError::expected_dollar(b'\r').message(),
            "ERR Protocol error: expected '$', got ' '"
        );
        assert_eq!(
            ProtocolError::expected_dollar(0xff).message(),
            "ERR Protocol error: expected '$', got '?'"
        );
    }
}
