//! SSTs: immutable sorted files of internal keys (docs/format/sstable.md).
//!
//! Write path: a flush (and later compaction) feeds entries in internal-key order to a
//! [`TableBuilder`], which cuts data blocks, builds the index and bloom filter and writes the
//! footer. Read path: a [`TableReader`] holds the index and filter in memory and reads data
//! blocks through the shared [`BlockCache`]; `get` answers point lookups, `iter` gives an
//! [`crate::iter::InternalIter`].
//!
//! Files: `block.rs` (block layout, trailer, block iterator), `bloom.rs` (the filter),
//! `cache.rs` (the block cache), `table.rs` (footer, builder, reader, two-level iterator).
//! None of them knows about the database: they read and write bytes through the `fs` seam.
//!
//! Invariants: keys in a table strictly increase (asserted when building, checked again as an
//! error when reading). Every block carries a CRC32C; a block that fails it is
//! `Error::Corruption` naming the file and the block's offset. Lengths read from the file are
//! checked against the file's size and the named limits before anything is allocated.
//!
//! Concurrency: a builder belongs to one thread; readers and the cache are `Sync` and shared,
//! and every iterator owns `Arc`s of what it reads, so it is `'static` and `Send`.

mod block;
mod bloom;
mod cache;
mod table;

#[allow(unused_imports)] // used by the db layer
pub(crate) use cache::BlockCache;
pub(crate) use table::FORMAT_VERSION;
#[allow(unused_imports)] // used by the db layer
pub(crate) use table::{TableBuilder, TableIter, TableOptions, TableReader, TableSummary};
// The fuzz harnesses lay out blocks and tables themselves.
pub(crate) use block::{
    BLOCK_TRAILER_BYTES, BLOCK_TYPE_LZ4, Block, BlockBuilder, BlockHandle, BlockIter, seal,
    trailer, unseal,
};
pub(crate) use bloom::BloomBuilder;
pub(crate) use table::{FOOTER_BYTES, Footer};
