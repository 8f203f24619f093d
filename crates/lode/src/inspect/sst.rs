//! [`SstReader`]: the footer, index and data blocks of one SST, through the engine's table
//! reader and block iterator (docs/format/sstable.md).

use super::{InternalKey, file_number};
use crate::fs::{Fs, RealFs};
use crate::iter::InternalIter;
use crate::sst::{
    BLOCK_TRAILER_BYTES, BlockCache, BlockHandle, BlockIter, FORMAT_VERSION, TableReader,
};
use crate::{Error, Result};
use bytes::Bytes;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a block is: its offset and its stored length (the 5-byte trailer excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRange {
    /// Offset in the file.
    pub offset: u64,
    /// Stored bytes, compressed if the block is, without the trailer.
    pub stored_bytes: u64,
}

impl BlockRange {
    fn of(h: BlockHandle) -> BlockRange {
        BlockRange { offset: h.offset, stored_bytes: h.size }
    }

    fn handle(self) -> BlockHandle {
        BlockHandle { offset: self.offset, size: self.stored_bytes }
    }

    /// Bytes the block takes in the file, trailer included.
    pub fn disk_bytes(&self) -> u64 {
        self.stored_bytes + BLOCK_TRAILER_BYTES as u64
    }
}

/// The bloom filter block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilterInfo {
    /// Where it is.
    pub block: BlockRange,
    /// Probes per key (`k`).
    pub probes: u32,
}

/// What the footer says about a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SstProperties {
    /// The file's length.
    pub file_bytes: u64,
    /// Where the 56-byte footer starts.
    pub footer_offset: u64,
    /// The footer's format version (only 1 opens).
    pub format_version: u32,
    /// Data blocks the index names.
    pub data_blocks: usize,
    /// The index block.
    pub index: BlockRange,
    /// The filter block, if the table has one.
    pub filter: Option<FilterInfo>,
}

/// One index entry: a data block and the key it is filed under (its last key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// Every key in the block is at most this one.
    pub last_key: InternalKey,
    /// The data block.
    pub block: BlockRange,
}

/// One entry of a data block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SstEntry {
    /// Its internal key.
    pub key: InternalKey,
    /// Its value (empty for a tombstone).
    pub value: Bytes,
}

/// An SST opened for inspection: footer, index and filter verified.
#[derive(Debug)]
pub struct SstReader {
    table: TableReader,
    path: PathBuf,
    properties: SstProperties,
    index: Vec<IndexEntry>,
}

impl SstReader {
    /// Opens an SST and verifies its footer, index block and filter block.
    ///
    /// # Errors
    /// [`Error::Corruption`] naming the footer's or the block's offset if one does not
    /// verify (nothing else of the table can be found then); [`Error::Io`].
    pub fn open(path: impl AsRef<Path>) -> Result<SstReader> {
        let path = path.as_ref().to_path_buf();
        let file = RealFs.open(&path)?;
        // No block cache: every block is read once, straight from the file.
        let cache = Arc::new(BlockCache::new(0));
        let table = TableReader::open(file, path.clone(), file_number(&path), cache)?;
        let layout = table.layout();
        let index = table
            .index_entries()?
            .into_iter()
            .map(|(key, handle)| {
                let last_key = InternalKey::parse(&key).ok_or_else(|| {
                    Error::corruption(&path, layout.index.offset, "malformed key in index")
                })?;
                Ok(IndexEntry { last_key, block: BlockRange::of(handle) })
            })
            .collect::<Result<Vec<_>>>()?;
        let properties = SstProperties {
            file_bytes: layout.file_bytes,
            footer_offset: layout.footer_offset,
            format_version: FORMAT_VERSION,
            data_blocks: index.len(),
            index: BlockRange::of(layout.index),
            filter: layout
                .filter
                .map(|(h, probes)| FilterInfo { block: BlockRange::of(h), probes }),
        };
        Ok(SstReader { table, path, properties, index })
    }

    /// The footer's facts.
    pub fn properties(&self) -> &SstProperties {
        &self.properties
    }

    /// The index: one entry per data block, in file order.
    pub fn index(&self) -> &[IndexEntry] {
        &self.index
    }

    /// Reads and verifies data block `i` (of [`Self::index`]) and returns its entries.
    ///
    /// # Errors
    /// [`Error::Corruption`] naming the block's offset if it does not verify;
    /// [`Error::InvalidArgument`] if `i` is past the index.
    pub fn block(&self, i: usize) -> Result<BlockEntries> {
        let Some(entry) = self.index.get(i) else {
            return Err(Error::InvalidArgument(format!(
                "{} has {} data blocks, not {}",
                self.path.display(),
                self.index.len(),
                i + 1
            )));
        };
        let mut it = self.table.read_data_block(entry.block.handle())?;
        it.seek_to_first();
        Ok(BlockEntries { it, done: false })
    }

    /// False only if the table's bloom filter says it holds no entry for `user_key`.
    pub fn may_contain(&self, user_key: &[u8]) -> bool {
        self.table.may_contain(user_key)
    }
}

/// The entries of one data block, in order. An entry that does not decode or is out of order
/// is an [`Error::Corruption`] naming the block, and the last item.
#[derive(Debug)]
pub struct BlockEntries {
    it: BlockIter,
    done: bool,
}

impl Iterator for BlockEntries {
    type Item = Result<SstEntry>;

    fn next(&mut self) -> Option<Result<SstEntry>> {
        if self.done {
            return None;
        }
        if !self.it.valid() {
            self.done = true;
            return self.it.take_error().map(Err);
        }
        let key = InternalKey::parse(self.it.key()).expect("the block iterator checked the key");
        let entry = SstEntry { key, value: self.it.value() };
        self.it.next();
        Some(Ok(entry))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Compression;
    use crate::ikey::{self, ValueKind};
    use crate::inspect::EntryKind;
    use crate::sst::{TableBuilder, TableOptions};

    fn write_table(path: &Path, n: u32, bloom: u32) -> Vec<(Vec<u8>, Vec<u8>)> {
        let opts = TableOptions {
            block_bytes: 128,
            bloom_bits_per_key: bloom,
            compression: Compression::Lz4,
        };
        let mut b = TableBuilder::new(RealFs.create(path).expect("create"), opts);
        let mut entries = Vec::new();
        for i in 0..n {
            let kind = if i % 5 == 0 { ValueKind::Delete } else { ValueKind::Put };
            let key = ikey::make(format!("key{i:04}").as_bytes(), u64::from(i) + 1, kind);
            let value =
                if kind == ValueKind::Put { vec![b'v'; (i % 40) as usize] } else { Vec::new() };
            b.add(&key, &value).expect("add");
            entries.push((key, value));
        }
        b.finish().expect("finish");
        entries
    }

    fn all_entries(r: &SstReader) -> Vec<SstEntry> {
        (0..r.index().len())
            .flat_map(|i| r.block(i).expect("block").map(|e| e.expect("entry")))
            .collect()
    }

    #[test]
    fn sst_reader_lists_blocks_and_every_entry() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("000009.sst");
        let written = write_table(&path, 100, 10);
        let r = SstReader::open(&path).expect("open");
        let p = *r.properties();
        assert_eq!(p.file_bytes, std::fs::metadata(&path).expect("stat").len());
        assert_eq!(p.footer_offset + 56, p.file_bytes);
        assert!(p.data_blocks > 5, "small blocks: {p:?}");
        assert!(p.filter.is_some_and(|f| f.probes == 7));
        let last = r.index().last().expect("blocks");
        assert_eq!(
            last.block.offset + last.block.disk_bytes(),
            p.filter.expect("filter").block.offset
        );
        let got = all_entries(&r);
        assert_eq!(got.len(), written.len());
        for (e, (k, v)) in got.iter().zip(&written) {
            assert_eq!(Some(&e.key), InternalKey::parse(k).as_ref());
            assert_eq!(&e.value[..], &v[..]);
        }
        assert_eq!(got[0].key.kind, EntryKind::Delete);
        assert!(r.block(p.data_blocks).is_err());
        let no_filter = dir.path().join("000010.sst");
        write_table(&no_filter, 3, 0);
        assert_eq!(SstReader::open(&no_filter).expect("open").properties().filter, None);
    }

    #[test]
    fn sst_reader_reports_each_damaged_block_and_reads_the_others() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("000009.sst");
        write_table(&path, 100, 10);
        let good = std::fs::read(&path).expect("read");
        let r = SstReader::open(&path).expect("open");
        let second = r.index()[1].block;
        let mut bad = good.clone();
        bad[second.offset as usize + 2] ^= 0x08;
        std::fs::write(&path, &bad).expect("write");
        let r = SstReader::open(&path).expect("index and footer are intact");
        for i in 0..r.index().len() {
            match r.block(i) {
                Ok(entries) => assert!(entries.into_iter().all(|e| e.is_ok()), "block {i}"),
                Err(Error::Corruption { offset, .. }) => {
                    assert_eq!((i, offset), (1, second.offset));
                }
                Err(e) => panic!("{e}"),
            }
        }
        let index = r.properties().index;
        let mut bad = good;
        bad[index.offset as usize + 1] ^= 0x08;
        std::fs::write(&path, &bad).expect("write");
        match SstReader::open(&path) {
            Err(Error::Corruption { offset, .. }) => assert_eq!(offset, index.offset),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sst_reader_never_panics_on_random_damage() {
        use rand::Rng;
        let seed = lode_testkit::Seed::new("sst_reader_never_panics_on_random_damage");
        let mut rng = seed.rng(0);
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("000009.sst");
        let written = write_table(&path, 60, 10);
        let good = std::fs::read(&path).expect("read");
        for _ in 0..lode_testkit::iterations(200) {
            let mut bad = good.clone();
            for _ in 0..rng.random_range(1..4) {
                let i = rng.random_range(0..bad.len());
                bad[i] = rng.random();
            }
            bad.truncate(rng.random_range(bad.len() / 2..=bad.len()));
            std::fs::write(&path, &bad).expect("write");
            let Ok(r) = SstReader::open(&path) else { continue };
            for i in 0..r.index().len() {
                let Ok(entries) = r.block(i) else { continue };
                for e in entries.flatten() {
                    let held = written.iter().any(|(k, v)| {
                        InternalKey::parse(k).as_ref() == Some(&e.key) && v[..] == e.value[..]
                    });
                    assert!(held, "an entry the table never held: {e:?}");
                }
            }
        }
    }
}
