//! Named limits on what a client can make the server hold, beyond the request decoder's own
//! (lode-resp: 512 MiB bulk, 1M multibulk arguments, 64 KiB inline, 10 args of 16 KiB before
//! AUTH). Each has a test at the limit and one past it (tests/server/limits.rs).

/// The query buffer (bytes read but not yet a whole request) needs no limit of its own: the
/// connection reads again only after every whole request in it has run, so it holds at most
/// one partial request, which the decoder bounds (512 MiB bulk, 1M arguments, 64 KiB inline;
/// before AUTH 10 arguments of 16 KiB), plus one read of [`READ_CHUNK_BYTES`]. That is within
/// Redis's 1 GiB `client-query-buffer-limit`, and 1 MiB before AUTH.
///
/// Most reply bytes one client can have waiting, by default: 1 GiB (`Config::output_bytes_max`).
/// A command whose reply would pass it (MGET of many large values, KEYS over a huge keyspace)
/// closes the client, as Redis closes a client that reaches its output-buffer hard limit.
pub const OUTPUT_BYTES_MAX: usize = 1 << 30;

/// A burst stops taking new commands once its replies reach this many bytes: they are written
/// before the rest of the pipeline runs, so a pipelining client that reads slowly holds at
/// most this much (plus one reply) in the server.
pub const BURST_OUTPUT_BYTES_MAX: usize = 16 << 20;

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
