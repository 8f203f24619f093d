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
    /// Key and value bytes of every committed batch: what the user asked to store. Write
    /// amplification is `(wal + flush + compaction bytes written) / user_bytes_written`.
    pub user_bytes_written: u64,
    /// Compactions run, and the SST bytes they read and wrote.
    pub compactions: u64,
    /// SST bytes read by compactions.
    pub compaction_bytes_read: u64,
    /// SST bytes written by compactions.
    pub compaction_bytes_written: u64,
    /// Keys a [`crate::CompactionFilter`] removed.
    pub compaction_filter_removed: u64,
    /// Bytes compaction is behind by (the picker's estimate); writers slow down on it.
    pub pending_compaction_bytes: u64,
    /// Times a writer was slowed down, and times it had to stop and wait.
    pub write_slowdowns: u64,
    /// Times a writer stopped until flush or compaction caught up.
    pub write_stops: u64,
    /// Readers open in the table cache (each holds a file descriptor).
    pub open_tables: u64,
    /// Memory by component: the block cache (data, index and filter blocks), memtables.
    pub memory: MemoryStats,
}

/// Memory held by the engine, by component. `block_cache_bytes + memtable_bytes` is the budget
/// set by `cache_size` and `memtable_size` (times the immutable memtables allowed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemoryStats {
    /// Data, index and filter blocks in the block cache.
    pub block_cache_bytes: u64,
    /// The active and immutable memtables.
    pub memtable_bytes: u64,
    /// The total of the above.
    pub total_bytes: u64,
}

impl Stats {
    /// Block cache hits over lookups (0 when there were none).
    pub fn block_cache_hit_rate(&self) -> f64 {
        let lookups = self.block_cache_hits + self.block_cache_misses;
        if lookups == 0 { 0.0 } else { self.block_cache_hits as f64 / lookups as f64 }
    }

    /// Bytes written to disk (WAL, flush, compaction) per byte the user wrote.
    pub fn write_amplification(&self) -> f64 {
        let disk =
            self.wal_bytes_written + self.flush_bytes_written + self.compaction_bytes_written;
        disk as f64 / self.user_bytes_written.max(1) as f64
    }

    /// SST bytes in all levels.
    pub fn sst_bytes(&self) -> u64 {
        self.level_bytes.iter().sum()
    }
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
    pub compactions: AtomicU64,
    pub compaction_bytes_read: AtomicU64,
    pub compaction_bytes_written: AtomicU64,
    pub compaction_filter_removed: AtomicU64,
    pub user_bytes_written: AtomicU64,
    pub write_slowdowns: AtomicU64,
    pub write_stops: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
    pub(crate) fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
