//! Lode: an embeddable LSM-tree key-value store.
//!
//! ```
//! let dir = tempfile::tempdir()?;
//! let db = lode::Db::open(dir.path(), lode::Options::default())?;
//! db.put("fruit:apple", "red")?;
//! db.put("fruit:banana", "yellow")?;
//! let mut batch = lode::WriteBatch::new();
//! batch.put("fruit:cherry", "dark red");
//! batch.delete("fruit:apple");
//! db.write_with(batch, lode::Durability::Sync)?;
//! assert_eq!(db.get("fruit:apple")?, None);
//! let names: Vec<_> = db.prefix("fruit:").rev().map(|kv| kv.map(|(k, _)| k.to_vec())).collect::<lode::Result<_>>()?;
//! assert_eq!(names, vec![b"fruit:cherry".to_vec(), b"fruit:banana".to_vec()]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Map of the crate: `db` (the handle, write path, flush, recovery, iterators, snapshots),
//! `batch` (write batches, the WAL payload), `record` (checksummed WAL/MANIFEST framing),
//! `memtable`, `sst` (tables, blocks, bloom filter, block cache), `version` and `manifest`
//! (which files make the database), `retain` (which versions survive a flush), `fs` (the
//! file-system seam and its simulated, crashable twin), `inspect` (read-only verification of a
//! directory and record-by-record reading of one file, for `lode check` and `lode dump`),
//! `fuzz` (hidden: the harnesses the fuzzers in fuzz/ and the corpus-replay tests call).
//! Byte layouts: docs/format/.
//!
//! Logging: each finished flush and compaction logs one `info` line through `tracing` (sizes,
//! levels, duration), a failed one an `error`, to the subscriber that was current when the
//! database was opened (else the global one).
#![warn(missing_docs)]

mod batch;
mod compaction;
mod db;
mod encoding;
mod error;
mod files;
mod filter;
pub mod fs;
#[doc(hidden)]
pub mod fuzz;
mod ikey;
pub mod inspect;
mod iter;
mod manifest;
mod memtable;
mod options;
mod record;
mod retain;
mod sst;
mod stats;
mod value;
mod version;

pub use batch::{BATCH_BYTES_MAX, KEY_BYTES_MAX, VALUE_BYTES_MAX, WriteBatch};
pub use db::{Db, Iter, Snapshot};
pub use error::{Error, Result};
pub use filter::{CompactionFilter, FilterContext, FilterDecision};
pub use ikey::SeqNo;
pub use options::{Compression, Durability, Options};
pub use stats::{MemoryStats, Stats};
pub use value::{Key, Value};
