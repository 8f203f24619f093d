//! SSTs: immutable sorted files of internal keys (docs/format/sstable.md).
//!
//! Write path: a flush (and later compaction) feeds entries in internal-key order to a
//! [`TableBuilder`], which cuts data blocks, builds the index and bloom filter and writes the
//! footer. Read path: a [`TableReader`] holds the index and filter in memory and reads data
//! blocks through the shared [`BlockCache`]; `get` answers point lookups, `iter` gives an
//! [`crate::iter::InternalIter`].
//!
//! Every block carries a CRC32C; a block that fails it is `Error::Corruption` naming the file
//! and the block's offset. Lengths read from the file are checked against the file's size
//! before anything is allocated.

mod block;
mod bloom;
mod cache;
mod table;

#[allow(unused_imports)] // used by the db layer
pub(crate) use cache::BlockCache;
#[allow(unused_imports)] // used by the db layer
pub(crate) use table::{TableBuilder, TableIter, TableOptions, TableReader, TableSummary};
