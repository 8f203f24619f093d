//! [`Options`]: how a database is opened and tuned, with builder setters.

use crate::filter::CompactionFilter;
use crate::fs::{Fs, RealFs};
use std::sync::Arc;
use std::time::Duration;

/// How durable a write is when it is acknowledged. See docs/durability.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Written to the WAL with write(2) before the ack: survives a crash of the process
    /// (kill -9), not of the machine. A background sync every `sync_interval` bounds what a
    /// power loss can take.
    #[default]
    Buffered,
    /// fdatasync of the WAL before the ack, shared by concurrent writers (group commit):
    /// survives power loss.
    Sync,
}

/// Block compression for SSTs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// Blocks are stored as they are.
    #[default]
    None,
    /// LZ4 (block format); a block that does not shrink is stored uncompressed.
    Lz4,
}

/// Options for [`crate::Db::open`]. Start from `Options::default()` and chain setters.
#[derive(Debug, Clone)]
pub struct Options {
    pub(crate) durability: Durability,
    pub(crate) memtable_bytes: usize,
    pub(crate) cache_bytes: usize,
    pub(crate) block_bytes: usize,
    pub(crate) bloom_bits_per_key: u32,
    pub(crate) compression: Compression,
    pub(crate) sync_interval: Option<Duration>,
    pub(crate) max_immutable_memtables: usize,
    pub(crate) max_open_files: usize,
    pub(crate) create_if_missing: bool,
    pub(crate) target_file_bytes: u64,
    pub(crate) base_level_bytes: u64,
    pub(crate) l0_compaction_trigger: usize,
    pub(crate) l0_slowdown_trigger: usize,
    pub(crate) l0_stop_trigger: usize,
    pub(crate) pending_compaction_slowdown_bytes: u64,
    pub(crate) pending_compaction_stop_bytes: u64,
    pub(crate) max_wal_bytes: u64,
    pub(crate) fs: Arc<dyn Fs>,
    pub(crate) compaction_filter: Option<Arc<dyn CompactionFilter>>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            durability: Durability::Buffered,
            memtable_bytes: 64 << 20,
            cache_bytes: 64 << 20,
            block_bytes: 4 << 10,
            bloom_bits_per_key: 10,
            compression: Compression::None,
            sync_interval: Some(Duration::from_secs(1)),
            max_immutable_memtables: 2,
            max_open_files: 512,
            create_if_missing: true,
            target_file_bytes: 64 << 20,
            base_level_bytes: 256 << 20,
            l0_compaction_trigger: 4,
            l0_slowdown_trigger: 12,
            l0_stop_trigger: 20,
            pending_compaction_slowdown_bytes: 64 << 30,
            pending_compaction_stop_bytes: 256 << 30,
            max_wal_bytes: 512 << 20,
            fs: Arc::new(RealFs),
            compaction_filter: None,
        }
    }
}

impl Options {
    /// Durability of `put`, `delete` and `write` (default [`Durability::Buffered`]);
    /// [`crate::Db::write_with`] chooses per write.
    pub fn durability(mut self, durability: Durability) -> Options {
        self.durability = durability;
        self
    }
    /// Bytes a memtable holds before it is flushed to an SST (default 64 MiB, at least 4 KiB).
    pub fn memtable_size(mut self, bytes: usize) -> Options {
        self.memtable_bytes = bytes.max(4 << 10);
        self
    }
    /// Bytes of the block cache (default 64 MiB; 0 turns it off).
    pub fn cache_size(mut self, bytes: usize) -> Options {
        self.cache_bytes = bytes;
        self
    }
    /// Target size of an SST data block before compression (default 4 KiB, 64 bytes at least).
    pub fn block_size(mut self, bytes: usize) -> Options {
        self.block_bytes = bytes.clamp(64, 1 << 20);
        self
    }
    /// Bloom filter bits per key (default 10, about 1% false positives; 0 turns filters off).
    pub fn bloom_bits_per_key(mut self, bits: u32) -> Options {
        self.bloom_bits_per_key = bits.min(32);
        self
    }
    /// SST block compression (default none).
    pub fn compression(mut self, compression: Compression) -> Options {
        self.compression = compression;
        self
    }
    /// How often the background thread syncs the WAL for [`Durability::Buffered`] writes
    /// (default 1 s). `Duration::ZERO` turns the background sync off.
    pub fn sync_interval(mut self, interval: Duration) -> Options {
        self.sync_interval = (!interval.is_zero()).then_some(interval);
        self
    }
    /// Full memtables that may wait for flush before writers stall (default 2, at least 1).
    pub fn max_immutable_memtables(mut self, n: usize) -> Options {
        self.max_immutable_memtables = n.max(1);
        self
    }
    /// Open SST files kept in the table cache (default 512, at least 16).
    pub fn max_open_files(mut self, n: usize) -> Options {
        self.max_open_files = n.max(16);
        self
    }
    /// Create the directory and an empty database when none exists (default true).
    pub fn create_if_missing(mut self, yes: bool) -> Options {
        self.create_if_missing = yes;
        self
    }
    /// Target size of an SST written by compaction (default 64 MiB, at least 4 KiB).
    pub fn target_file_size(mut self, bytes: u64) -> Options {
        self.target_file_bytes = bytes.max(4 << 10);
        self
    }
    /// The smallest target of the level L0 compacts into (default 256 MiB). Level targets
    /// grow by 10x per level from there down to the last level, whose size sets them all.
    pub fn level_base_size(mut self, bytes: u64) -> Options {
        self.base_level_bytes = bytes.max(4 << 10);
        self
    }
    /// L0 files that start a compaction (default 4).
    pub fn l0_compaction_trigger(mut self, files: usize) -> Options {
        self.l0_compaction_trigger = files.max(1);
        self
    }
    /// L0 files at which writes slow down, and at which they stop until compaction catches up
    /// (defaults 12 and 20). The stop is raised to above the slowdown if needed.
    pub fn l0_write_limits(mut self, slowdown_files: usize, stop_files: usize) -> Options {
        self.l0_slowdown_trigger = slowdown_files.max(1);
        self.l0_stop_trigger = stop_files.max(self.l0_slowdown_trigger + 1);
        self
    }
    /// Bytes compaction is behind by at which writes slow down, and stop (defaults 64 GiB and
    /// 256 GiB). The stop is raised to above the slowdown if needed.
    pub fn pending_compaction_limits(mut self, slowdown_bytes: u64, stop_bytes: u64) -> Options {
        self.pending_compaction_slowdown_bytes = slowdown_bytes.max(1);
        self.pending_compaction_stop_bytes =
            stop_bytes.max(self.pending_compaction_slowdown_bytes + 1);
        self
    }
    /// The most WAL bytes kept (default 512 MiB): past it, the active memtable is frozen and
    /// flushed early, so reopening after a crash replays at most about this much.
    pub fn max_wal_size(mut self, bytes: u64) -> Options {
        self.max_wal_bytes = bytes.max(4 << 10);
        self
    }
    /// The file system to run on (default the real one). Tests pass a [`crate::fs::SimFs`].
    pub fn fs(mut self, fs: Arc<dyn Fs>) -> Options {
        self.fs = fs;
        self
    }
    /// A filter compaction asks whether each key's newest value is still wanted (default
    /// none). See [`CompactionFilter`].
    pub fn compaction_filter(mut self, filter: Arc<dyn CompactionFilter>) -> Options {
        self.compaction_filter = Some(filter);
        self
    }
}
