//! [`Stats`]: counters and sizes, a snapshot taken by [`crate::Db::stats`].

use std::sync::atomic::{AtomicU64, Ordering};

/// What the engine has done and holds, at the moment `stats()` was called.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Write batches committed (a `put` or `delete` is a batch of one).
    pub batches_written: u64,
    /// Commit groups: WAL appends that carried one or more batches.
    pub commit_groups: u64,
    /// Bytes appended to WALs.
    pub wal_bytes_written: u64,
    /// fdatasync calls on WALs (group commit shares one among a group's Sync writers).
    pub wal_syncs: u64,
    /// Memtables flushed to L0 SSTs.
    pub flushes: u64,
    /// Bytes written to SSTs by flushes.
    pub flush_bytes_written: u64,
    /// Microseconds writers waited for a flush to make room.
    pub stall_micros: u64,
    /// Bytes in the active and immutable memtables.
    pub memtable_bytes: u64,
    /// Immutable memtables waiting for flush.
    pub immutable_memtables: u64,
    /// SST files per level.
    pub level_files: Vec<u64>,
    /// SST bytes per level.
    pub level_bytes: Vec<u64>,
    /// Bytes held by the block cache.
    pub block_cache_bytes: u64,
    /// Block cache hits and misses.
    pub block_cache_hits: u64,
    /// Block cache misses.
    pub block_cache_misses: u64,
    /// The newest seqno visible to reads.
    pub last_seqno: u64,
}

/// Counters updated on the write and flush paths.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub batches_written: AtomicU64,
    pub commit_groups: AtomicU64,
    pub wal_bytes_written: AtomicU64,
    pub wal_syncs: AtomicU64,
    pub flushes: AtomicU64,
    pub flush_bytes_written: AtomicU64,
    pub stall_micros: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
    pub(crate) fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
