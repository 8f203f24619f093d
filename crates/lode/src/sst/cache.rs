//! The block cache: verified, decompressed SST data blocks shared by every reader.
//!
//! Role: on the read path a [`super::TableReader`] asks the cache before reading a data block
//! and inserts what it read, so hot blocks cost no I/O, CRC check or decompression. Index
//! and filter blocks are not cached here: each reader keeps its own in memory.
//!
//! Keys are `(file_number, block_offset)`. File numbers are never reused, so an entry can never
//! describe another file's bytes and nothing needs invalidating when a file is deleted (its
//! blocks age out). Values are `Bytes`: a hit is a reference-count increment, and values
//! handed to callers are slices of the cached block.
//!
//! Invariants: usage stays within the capacity (weights are byte lengths); a block larger than
//! an eighth of the capacity is never inserted, so one huge value cannot flush the cache;
//! capacity 0 disables caching. Concurrency: `quick_cache::sync::Cache` is sharded and
//! lock-protected; the counters are relaxed atomics (statistics only).

use bytes::Bytes;
use quick_cache::Weighter;
use quick_cache::sync::Cache;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// A block's cache key: the file it is in and its offset there.
type BlockKey = (u64, u64);

/// Weighs a block by its length (at least 1: quick_cache never evicts weight-0 items).
#[derive(Debug, Clone, Copy)]
struct BlockWeighter;

impl Weighter<BlockKey, Bytes> for BlockWeighter {
    fn weight(&self, _key: &BlockKey, block: &Bytes) -> u64 {
        (block.len() as u64).max(1)
    }
}

/// A byte-bounded cache of data blocks, shared by all readers of a database.
pub(crate) struct BlockCache {
    blocks: Option<Cache<BlockKey, Bytes, BlockWeighter>>,
    capacity_bytes: u64,
    /// Index and filter bytes of open readers, charged against the capacity.
    reserved_bytes: AtomicU64,
    /// Blocks larger than this are not inserted (an eighth of the capacity).
    block_bytes_max: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl fmt::Debug for BlockCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockCache")
            .field("enabled", &self.blocks.is_some())
            .field("usage_bytes", &self.usage_bytes())
            .field("hits", &self.hits())
            .field("misses", &self.misses())
            .finish()
    }
}

#[allow(dead_code)] // used by the db layer (flush, compaction, table cache)
impl BlockCache {
    /// A cache holding up to `capacity_bytes` of blocks; 0 disables it.
    pub fn new(capacity_bytes: usize) -> BlockCache {
        /// A typical block, to size the cache's tables up front.
        const TYPICAL_BLOCK_BYTES: usize = 4 << 10;
        let blocks = (capacity_bytes > 0).then(|| {
            let items = (capacity_bytes / TYPICAL_BLOCK_BYTES).max(1);
            Cache::with_weighter(items, capacity_bytes as u64, BlockWeighter)
        });
        BlockCache {
            blocks,
            capacity_bytes: capacity_bytes as u64,
            reserved_bytes: AtomicU64::new(0),
            block_bytes_max: capacity_bytes / 8,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// Bytes held now: cached blocks plus the index and filter bytes charged by open readers.
    pub fn usage_bytes(&self) -> u64 {
        self.blocks.as_ref().map_or(0, |c| c.weight()) + self.reserved_bytes()
    }

    /// Index and filter bytes charged by open readers.
    pub fn reserved_bytes(&self) -> u64 {
        self.reserved_bytes.load(Ordering::Relaxed)
    }

    /// Charges `bytes` (a reader's index and filter) against the capacity; data blocks get
    /// what is left, but never less than an eighth, so reads keep working when many tables
    /// are open (the budget is then exceeded, and `usage_bytes` says by how much).
    pub(crate) fn reserve(&self, bytes: u64) {
        let reserved = self.reserved_bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        self.resize(reserved);
    }

    /// Gives back what [`BlockCache::reserve`] took.
    pub(crate) fn release(&self, bytes: u64) {
        let reserved = self.reserved_bytes.fetch_sub(bytes, Ordering::Relaxed) - bytes;
        self.resize(reserved);
    }

    fn resize(&self, reserved: u64) {
        if let Some(c) = &self.blocks {
            let floor = self.capacity_bytes / 8;
            c.set_capacity(self.capacity_bytes.saturating_sub(reserved).max(floor).max(1));
        }
    }

    /// Lookups that found their block.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Lookups that did not (every lookup, when the cache is disabled).
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// The block at `offset` in file `file_number`, if cached.
    pub(crate) fn get(&self, file_number: u64, offset: u64) -> Option<Bytes> {
        let found = self.blocks.as_ref().and_then(|c| c.get(&(file_number, offset)));
        let counter = if found.is_some() { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Caches a verified block, unless the cache is disabled or the block is too large.
    pub(crate) fn insert(&self, file_number: u64, offset: u64, block: Bytes) {
        if let Some(c) = &self.blocks
            && block.len() <= self.block_bytes_max
        {
            c.insert((file_number, offset), block);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_counts_hits_and_misses() {
        let cache = BlockCache::new(1 << 20);
        assert!(cache.get(1, 0).is_none());
        cache.insert(1, 0, Bytes::from_static(b"block"));
        assert_eq!(cache.get(1, 0).as_deref(), Some(&b"block"[..]));
        assert!(cache.get(2, 0).is_none(), "another file's block at the same offset");
        assert_eq!((cache.hits(), cache.misses()), (1, 2));
        assert_eq!(cache.usage_bytes(), 5);
    }

    #[test]
    fn cache_disabled_at_capacity_zero_holds_nothing() {
        let cache = BlockCache::new(0);
        cache.insert(1, 0, Bytes::from_static(b"block"));
        assert!(cache.get(1, 0).is_none());
        assert_eq!((cache.usage_bytes(), cache.hits(), cache.misses()), (0, 0, 1));
    }

    #[test]
    fn cache_refuses_block_larger_than_an_eighth_of_capacity() {
        let cache = BlockCache::new(8 << 10);
        cache.insert(1, 0, Bytes::from(vec![0; 1 << 10]));
        cache.insert(1, 1, Bytes::from(vec![0; (1 << 10) + 1]));
        assert!(cache.get(1, 0).is_some(), "at the limit");
        assert!(cache.get(1, 1).is_none(), "one past the limit");
    }

    #[test]
    fn cache_usage_stays_within_capacity() {
        let cache = BlockCache::new(64 << 10);
        for i in 0..1000 {
            cache.insert(7, i * 4096, Bytes::from(vec![0; 4096]));
            assert!(cache.usage_bytes() <= 64 << 10);
        }
    }
}

#[cfg(test)]
mod budget_tests {
    use super::*;

    #[test]
    fn reserved_bytes_shrink_room_for_blocks_and_count_in_usage() {
        let cache = BlockCache::new(64 << 10);
        for i in 0..32 {
            cache.insert(1, i * 4096, Bytes::from(vec![0; 4096]));
        }
        assert!(cache.usage_bytes() <= 64 << 10);
        cache.reserve(48 << 10);
        let blocks = cache.usage_bytes() - cache.reserved_bytes();
        assert!(blocks <= 16 << 10, "blocks {blocks} must fit in what the reservation leaves");
        assert_eq!(cache.reserved_bytes(), 48 << 10);
        cache.release(48 << 10);
        assert_eq!(cache.reserved_bytes(), 0);
        for i in 0..32 {
            cache.insert(2, i * 4096, Bytes::from(vec![0; 4096]));
        }
        assert!(cache.usage_bytes() > 16 << 10, "the room came back");
    }
}
