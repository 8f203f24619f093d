//! Named limits on what a client can make the server hold, beyond the request decoder's own
//! (lode-resp: 512 MiB bulk, 1M multibulk arguments, 64 KiB inline, 10 args of 16 KiB before
//! AUTH). Each has a test at the limit and one past it (tests/server/limits.rs), and the
//! overload soak (crates/lode-cli/tests/overload.rs) holds a thousand clients to them at once.
//!
//! What closes an abusive client (client_limits.rs has the policy, conn.rs applies it):
//! - one that sends a huge request: `client-query-buffer-limit` ([`QUERY_BUFFER_LIMIT_DEFAULT`]),
//!   checked after every read on all it has sent of its incomplete request; closed without a
//!   reply, as Redis does.
//! - one that pipelines without reading its replies: the server stops reading from a client
//!   while its replies are unwritten (so it holds at most one burst of them,
//!   [`BURST_OUTPUT_BYTES_MAX`] plus one reply), and `client-output-buffer-limit normal <hard>
//!   <soft> <soft-seconds>` ([`OUTPUT_BUFFER_LIMIT_DEFAULT`]) closes it when those pending
//!   bytes pass the hard limit or stay over the soft one for the soft seconds. Pending bytes
//!   under the soft limit can still be stuck forever in a socket that is never read: the
//!   write-stall timeout ([`WRITE_STALL_TIMEOUT`]) closes a client whose socket takes no reply
//!   byte for that long, so no such client is held forever.
//! - one that sends nothing: `timeout` seconds (0 = never, Redis's default), from the last
//!   reply written or byte read.
//! - one that sends one byte a second: Redis's `timeout` alone never closes it (each byte
//!   resets the idle clock), so a slow sender holds its connection and its partial request
//!   forever. Lode also measures the incomplete request's age: with `timeout` set, a request
//!   still incomplete `timeout` seconds after its first byte closes the client. A separate
//!   directive was not added: with `timeout 0` an idle client is held forever anyway, so a
//!   slow one costs no more, and whoever sets `timeout` wants clients that make no progress
//!   closed. The cost: a single request that takes over `timeout` seconds to upload (512 MiB
//!   at under 1.7 MB/s with `timeout 300`) is refused.
//! - too many clients: `maxclients` (default [`crate::CLIENTS_MAX_DEFAULT`]): the next one gets
//!   `-ERR max number of clients reached` and is closed. A client is counted from its accept,
//!   so a burst of connects cannot overshoot.
//!
//! Memory with many clients: each client holds at most its query-buffer limit plus one read
//! ([`READ_CHUNK_BYTES`]), and one burst of replies (capped by the output hard limit); buffers
//! grown by a big request or reply are given back once empty ([`QUERY_BUFFER_KEEP_BYTES`],
//! [`OUTPUT_BUFFER_KEEP_BYTES`]), so an idle or well-behaved client costs tens of KiB. The
//! worst case is `maxclients` times those limits: an operator bounds it by lowering them.
//! Redis 7's `maxmemory-clients` (a cap on all clients' buffers together, closing the biggest
//! first) is not implemented: with the limits above, a thousand clients of mixed traffic beside
//! abusive ones of every kind kept the server at about 250 MiB of RSS, flat from the fourth to
//! the tenth minute of a 10-minute soak, so it is not needed to bound memory; CONFIG SET
//! refuses the name rather than pretend to honour it.

use crate::client_limits::OutputBufferLimit;
use std::time::Duration;

/// `client-query-buffer-limit` by default: 1 GiB, Redis's. A client that has sent more than
/// this of a request not yet complete (or of requests not yet run) is closed.
pub const QUERY_BUFFER_LIMIT_DEFAULT: u64 = 1 << 30;

/// Smallest `client-query-buffer-limit` accepted: 1 MiB, as Redis's CONFIG SET.
pub const QUERY_BUFFER_LIMIT_MIN: u64 = 1 << 20;

/// `client-output-buffer-limit normal` by default: hard 1 GiB, soft 256 MiB for 60 s.
///
/// Redis's default is `0 0 0` (unlimited): its event loop keeps reading a client's pipeline
/// while the replies pile up. Lode stops reading instead, so the limit only decides how big a
/// single burst of replies may be and how slowly it may be read. 1 GiB lets one reply carry a
/// 512 MiB string (the largest there is) with room to spare; a client that takes longer than a
/// minute to read over 256 MiB of replies is closed.
pub const OUTPUT_BUFFER_LIMIT_DEFAULT: OutputBufferLimit =
    OutputBufferLimit { hard_bytes: 1 << 30, soft_bytes: 256 << 20, soft_secs: 60 };

/// A client whose socket takes no reply byte for this long is closed (`Config::
/// write_stall_timeout`): it has stopped reading, and its pending replies, however few, would
/// otherwise be held forever. Not a Redis directive (Redis never stops reading a client).
pub const WRITE_STALL_TIMEOUT: Duration = Duration::from_secs(30);

/// A query buffer emptied of a big request is replaced when its capacity is over this.
pub const QUERY_BUFFER_KEEP_BYTES: usize = 4 * READ_CHUNK_BYTES;

/// A reply buffer emptied of big replies is replaced when its capacity is over this.
pub const OUTPUT_BUFFER_KEEP_BYTES: usize = 64 << 10;

/// A burst stops taking new commands once its replies reach this many bytes: they are written
/// before the rest of the pipeline runs, so a pipelining client that reads slowly holds at
/// most this much (plus one reply) in the server.
///
/// 1 MiB: a thousand clients that stop reading hold a GiB at most, and one write still carries
/// enough to make the per-burst cost negligible. Bigger bursts also cost more than their bytes:
/// glibc's malloc raises its mmap threshold to the size of the largest buffer freed, so later
/// buffers up to that size stay in its arenas after they are freed. With 16 MiB bursts the
/// overload soak's server settled at about 600 MiB of RSS; with 1 MiB, at about a third of it.
pub const BURST_OUTPUT_BYTES_MAX: usize = 1 << 20;

/// Most commands run in one burst (one lock hold, one engine batch).
pub const BURST_COMMANDS_MAX: usize = 4096;

/// A write burst commits (and starts a new batch) between commands once this many bytes of
/// records are pending, so a pipeline of large SETs does not build one giant batch.
pub const BURST_PENDING_BYTES_MAX: usize = 16 << 20;

/// Bytes asked of the socket per read.
pub const READ_CHUNK_BYTES: usize = 64 << 10;

/// SCAN cursors remembered (cursor number -> last key returned); the oldest is forgotten
/// first, and a forgotten cursor restarts its scan from the beginning.
pub const SCAN_CURSORS_MAX: usize = 16_384;

/// Most commands queued in one MULTI; past it the transaction is aborted with EXECABORT.
pub const MULTI_QUEUED_MAX: usize = 1 << 20;

/// Arguments a SLOWLOG entry keeps (Redis's `SLOWLOG_ENTRY_MAX_ARGC`): a longer command keeps
/// the first 31 and, last, `... (N more arguments)`.
pub const SLOWLOG_ARGS_MAX: usize = 32;

/// Bytes of one argument a SLOWLOG entry keeps (Redis's `SLOWLOG_ENTRY_MAX_STRING`): a longer
/// one is cut there and followed by `... (N more bytes)`. With [`SLOWLOG_ARGS_MAX`] this
/// bounds an entry to about 4 KiB; `slowlog-max-len` (set by the operator) bounds the count.
pub const SLOWLOG_ARG_BYTES_MAX: usize = 128;

/// Bytes of an HTTP request head the metrics endpoint reads; a longer one is answered 431.
/// Scrapers send a few hundred.
pub const METRICS_REQUEST_BYTES_MAX: usize = 8 << 10;

/// Scrapes served at once by the metrics endpoint; one more is answered 503 and closed.
pub const METRICS_CONNECTIONS_MAX: usize = 16;

/// Most keys one KRANGE call returns (`LIMIT count`); a bigger LIMIT is refused with an error
/// that says to page. KRANGE is Lode's ordered range scan (docs/compatibility.md).
pub const KRANGE_LIMIT_MAX: usize = 10_000;

/// Keys one KRANGE call returns when it has no LIMIT.
pub const KRANGE_LIMIT_DEFAULT: usize = 100;

/// Keys one KRANGE call examines, live, expired or filtered out by TYPE. A call that reaches it
/// returns the keys found so far with the bound to resume from (the last key examined), so a
/// long run of expired or filtered keys costs bounded work per call, and no key is skipped.
pub const KRANGE_EXAMINED_MAX: usize = 100_000;

/// Bytes of keys and values in one KRANGE page: a page ends before the key that would take it
/// past this (a page holds at least one key), so LIMIT with WITHVALUES over big values
/// holds about one burst of output (as [`BURST_OUTPUT_BYTES_MAX`]), not LIMIT values.
pub const KRANGE_PAGE_BYTES_MAX: usize = 1 << 20;
