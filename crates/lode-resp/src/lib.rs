//! Lode's RESP2/RESP3 codec: the request decoder and the reply encoder of the Redis-protocol
//! server, with no I/O, no async runtime and no knowledge of the database.
//!
//! - [`RequestDecoder`]: client bytes -> [`Request`]s (multibulk and inline), incremental,
//!   zero-copy, with every count and length checked against [`RequestLimits`].
//! - [`Reply`] + [`Protocol`]: what a command answers, encoded in RESP2 or RESP3.
//! - [`decode_reply`]: reply bytes -> [`Reply`], for tests, benchmarks and clients.
//! - [`ProtocolError`]: the exact Redis error text to send before closing the connection.
//! - [`fuzz_decode`], [`fuzz_reply`]: harnesses for cargo-fuzz targets and tests.
//!
//! Redis protocol reference: <https://redis.io/docs/latest/develop/reference/protocol-spec/>.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod decoder;
mod error;
mod fuzz;
mod inline;
mod limits;
mod number;
mod reply;
mod reply_decoder;

pub use decoder::{Request, RequestDecoder};
pub use error::{ProtocolError, ProtocolErrorKind};
pub use fuzz::{FUZZ_TINY_LIMITS, fuzz_decode, fuzz_reply};
pub use limits::{
    ARGS_CAPACITY_INITIAL_MAX, BULK_BYTES_MAX, COUNT_LINE_BYTES_MAX, INLINE_BYTES_MAX,
    MULTIBULK_ARGS_MAX, PRE_AUTH_ARGS_MAX, PRE_AUTH_BULK_BYTES_MAX, PreAuthLimits,
    REPLY_NESTING_MAX, RequestLimits,
};
pub use number::{format_double, format_g17, parse_i64};
pub use reply::{Protocol, Reply};
pub use reply_decoder::decode_reply;
