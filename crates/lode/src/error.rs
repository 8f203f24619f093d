//! The engine's one error type.
//!
//! Variants are grouped by what the caller can do about them: retry or fix the environment
//! (`Io`), restore from a backup or inspect the file (`Corruption`), fix the call
//! (`InvalidArgument`, `TooLarge`), reopen the database (`PreviousIo`, `Closed`), stop
//! the other process (`Locked`), or move the data to a new database (`SeqnosExhausted`).

use std::path::PathBuf;

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system I/O call failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),

    /// Bytes read from disk did not verify: a checksum mismatch, a malformed record or block,
    /// or a file the manifest names that is missing. The engine never serves such data.
    #[error("corruption in {file} at offset {offset}: {reason}")]
    Corruption {
        /// The file the bad bytes are in.
        file: PathBuf,
        /// Byte offset of the record or block that failed to verify.
        offset: u64,
        /// What failed, for a human.
        reason: String,
    },

    /// An argument the engine cannot accept (an empty batch with keys out of range, a bad option).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// A key, value or batch is larger than the engine's limit for it.
    #[error("{what} of {len} bytes is larger than the limit of {max} bytes")]
    TooLarge {
        /// What was too large: "key", "value" or "batch".
        what: &'static str,
        /// Its length.
        len: u64,
        /// The limit it passed.
        max: u64,
    },

    /// An earlier write or fsync failed, so the engine no longer knows what is on disk and
    /// refuses writes. Reopen the database to recover from the WAL.
    #[error(
        "an earlier write or fsync failed ({0}); writes are refused until the database is reopened"
    )]
    PreviousIo(String),

    /// Another process (or another `Db` in this process) holds the directory's LOCK.
    #[error(
        "the data directory {0} is locked by another process; stop it or open another directory"
    )]
    Locked(PathBuf),

    /// The database is shutting down.
    #[error("the database is closed")]
    Closed,

    /// Every seqno a write can take is used (the largest is 2^56 - 1). Only damaged files get
    /// a database there: a billion writes a second would take over two years.
    #[error(
        "no seqno is left for a write (the last is {last}, the largest {max}); copy the data into a new database"
    )]
    SeqnosExhausted {
        /// The last seqno used.
        last: u64,
        /// The largest seqno a write may take.
        max: u64,
    },
}

impl Error {
    /// Shorthand for a [`Error::Corruption`].
    pub(crate) fn corruption(
        file: impl Into<PathBuf>,
        offset: u64,
        reason: impl Into<String>,
    ) -> Error {
        Error::Corruption { file: file.into(), offset, reason: reason.into() }
    }

    /// True for [`Error::Corruption`].
    pub fn is_corruption(&self) -> bool {
        matches!(self, Error::Corruption { .. })
    }
}
