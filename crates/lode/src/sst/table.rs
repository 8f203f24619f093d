//! Whole SST files: the [`TableBuilder`] that writes one, the [`TableReader`] that serves
//! lookups from one, and the two-level [`TableIter`] over its entries.
//!
//! Role: on the write path a flush or compaction feeds sorted internal keys to a builder,
//! which cuts data blocks, then writes the filter, the index and the footer. On the read path
//! a reader opened by the table cache verifies the footer, index and filter once and keeps
//! them in memory; data blocks come through the shared [`BlockCache`]. Format:
//! docs/format/sstable.md.
//!
//! Invariants: keys given to the builder strictly increase (`assert!`); every handle read
//! from the file is checked against the file's length and [`BLOCK_BYTES_MAX`] before a buffer
//! is allocated for it; any bad byte surfaces as `Error::Corruption` naming the file and the
//! block's offset, never as a panic or a wrong answer.
//!
//! Concurrency: a builder is used by one thread. A reader is immutable and `Sync`: any number
//! of threads may call `get` or own a `TableIter` (each iterator holds an `Arc` of the
//! reader's state, so it outlives the reader handle it came from).

use super::block::{
    BLOCK_BYTES_MAX, BLOCK_TRAILER_BYTES, Block, BlockBuilder, BlockHandle, BlockIter,
    DATA_RESTART_INTERVAL, INDEX_RESTART_INTERVAL, check_entry_bytes, seal, trailer, unseal,
};
use super::bloom::{BloomBuilder, BloomFilter};
use super::cache::BlockCache;
use crate::encoding::Decoder;
use crate::fs::{ReadableFile, WritableFile};
use crate::ikey::{self, SeqNo, ValueKind};
use crate::iter::InternalIter;
use crate::{Compression, Error, Result};
use bytes::Bytes;
use std::cmp::Ordering;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Bytes of the footer at the end of every SST.
pub(crate) const FOOTER_BYTES: usize = 56;

/// The last 8 bytes of every SST.
pub(crate) const SST_MAGIC: [u8; 8] = *b"LODE.SST";

/// The format version this code writes and reads.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// Checksum type byte for CRC32C, the only one defined.
pub(crate) const CHECKSUM_CRC32C: u8 = 1;

/// Output is gathered into writes of about this size; larger blocks are appended directly.
const WRITE_BUFFER_BYTES: usize = 64 << 10;

/// How a table is laid out.
#[allow(dead_code)] // used by the db layer (flush, compaction, table cache)
#[derive(Debug, Clone, Copy)]
pub(crate) struct TableOptions {
    /// Target size of a data block before compression.
    pub block_bytes: usize,
    /// Bloom filter bits per distinct user key; 0 writes no filter.
    pub bloom_bits_per_key: u32,
    /// Compression of data and index blocks.
    pub compression: Compression,
}

/// What a finished table holds, for the version edit that installs it.
#[allow(dead_code)] // used by the db layer (flush, compaction, table cache)
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableSummary {
    pub file_bytes: u64,
    pub entries: u64,
    /// Smallest internal key (empty for a table with no entries).
    pub smallest: Vec<u8>,
    /// Largest internal key (empty for a table with no entries).
    pub largest: Vec<u8>,
}

/// The fixed-size record at the end of an SST that locates its filter and index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Footer {
    pub filter: BlockHandle,
    pub index: BlockHandle,
}

impl Footer {
    pub(crate) fn encode(&self) -> [u8; FOOTER_BYTES] {
        let mut out = [0u8; FOOTER_BYTES];
        out[0..8].copy_from_slice(&self.filter.offset.to_le_bytes());
        out[8..16].copy_from_slice(&self.filter.size.to_le_bytes());
        out[16..24].copy_from_slice(&self.index.offset.to_le_bytes());
        out[24..32].copy_from_slice(&self.index.size.to_le_bytes());
        out[32..36].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        out[36] = CHECKSUM_CRC32C;
        // 37..44: zero padding.
        let crc = crc32c::crc32c(&out[..44]);
        out[44..48].copy_from_slice(&crc.to_le_bytes());
        out[48..56].copy_from_slice(&SST_MAGIC);
        out
    }

    fn decode(b: &[u8; FOOTER_BYTES]) -> Result<Footer, String> {
        if b[48..56] != SST_MAGIC {
            return Err("bad magic number: not an SST, or a truncated one".into());
        }
        let fixed = "footer has its fixed size";
        let mut d = Decoder::new(&b[44..48]);
        let stored_crc = d.u32().expect(fixed);
        let actual_crc = crc32c::crc32c(&b[..44]);
        if stored_crc != actual_crc {
            return Err(format!(
                "footer checksum mismatch: stored {stored_crc:#010x}, computed {actual_crc:#010x}"
            ));
        }
        let mut d = Decoder::new(&b[..44]);
        let mut handle =
            || BlockHandle { offset: d.u64().expect(fixed), size: d.u64().expect(fixed) };
        let (filter, index) = (handle(), handle());
        let version = d.u32().expect(fixed);
        if version != FORMAT_VERSION {
            return Err(format!("unsupported SST format version {version}"));
        }
        let checksum_type = d.u8().expect(fixed);
        if checksum_type != CHECKSUM_CRC32C {
            return Err(format!("unknown checksum type {checksum_type}"));
        }
        if d.bytes(7).expect(fixed).iter().any(|&x| x != 0) {
            return Err("footer padding is not zero".into());
        }
        Ok(Footer { filter, index })
    }
}

/// The file being written: buffers small writes and tracks the offset.
#[derive(Debug)]
struct TableOutput {
    file: Arc<dyn WritableFile>,
    buf: Vec<u8>,
    offset: u64,
    scratch: Vec<u8>,
}

impl TableOutput {
    fn emit(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.buf.len() + bytes.len() > WRITE_BUFFER_BYTES {
            self.flush()?;
        }
        if bytes.len() >= WRITE_BUFFER_BYTES {
            // A big block goes straight to the file: its value is never copied again.
            self.file.append(bytes)?;
        } else {
            self.buf.extend_from_slice(bytes);
        }
        self.offset += bytes.len() as u64;
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.file.append(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Seals `raw` (compressing it if asked and worthwhile) and writes it with its trailer.
    ///
    /// # Errors
    /// [`Error::TooLarge`] for a block over [`BLOCK_BYTES_MAX`] (only an index or filter of an
    /// enormous table can get there); [`Error::Io`] if a write fails.
    fn write_block(&mut self, raw: &[u8], compression: Compression) -> Result<BlockHandle> {
        if raw.len() > BLOCK_BYTES_MAX {
            return Err(Error::TooLarge {
                what: "SST block",
                len: raw.len() as u64,
                max: BLOCK_BYTES_MAX as u64,
            });
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        let (stored, block_type) = seal(raw, compression, &mut scratch);
        let handle = BlockHandle { offset: self.offset, size: stored.len() as u64 };
        let trailer = trailer(stored, block_type);
        let written = self.emit(stored).and_then(|()| self.emit(&trailer));
        self.scratch = scratch;
        written?;
        Ok(handle)
    }
}

/// Writes one SST from entries given in order. See the module docs.
#[derive(Debug)]
pub(crate) struct TableBuilder {
    out: TableOutput,
    opts: TableOptions,
    data: BlockBuilder,
    index: BlockBuilder,
    bloom: Option<BloomBuilder>,
    handle_buf: Vec<u8>,
    smallest: Vec<u8>,
    last_key: Vec<u8>,
    entries: u64,
}

#[allow(dead_code)] // used by the db layer (flush, compaction, table cache)
impl TableBuilder {
    /// A builder appending to `file`, which should be new and empty.
    pub fn new(file: Arc<dyn WritableFile>, opts: TableOptions) -> TableBuilder {
        // Keep a full block (target plus one entry's overhead) far inside the block limit.
        let opts = TableOptions { block_bytes: opts.block_bytes.min(BLOCK_BYTES_MAX / 2), ..opts };
        TableBuilder {
            out: TableOutput { file, buf: Vec::new(), offset: 0, scratch: Vec::new() },
            opts,
            data: BlockBuilder::new(DATA_RESTART_INTERVAL),
            index: BlockBuilder::new(INDEX_RESTART_INTERVAL),
            bloom: (opts.bloom_bits_per_key > 0)
                .then(|| BloomBuilder::new(opts.bloom_bits_per_key)),
            handle_buf: Vec::new(),
            smallest: Vec::new(),
            last_key: Vec::new(),
            entries: 0,
        }
    }

    /// Adds an entry. Keys strictly increase in [`ikey::compare`] order.
    ///
    /// # Errors
    /// [`Error::TooLarge`] for an entry that cannot fit in a block; [`Error::Io`] if a write
    /// fails (the builder must then be abandoned).
    ///
    /// # Panics
    /// If `ikey` is not an internal key or is not greater than the previous key.
    pub fn add(&mut self, ikey: &[u8], value: &[u8]) -> Result<()> {
        assert!(ikey::parse(ikey).is_some(), "SST keys are internal keys");
        assert!(
            self.entries == 0 || ikey::compare(&self.last_key, ikey) == Ordering::Less,
            "keys added to an SST must strictly increase"
        );
        check_entry_bytes(ikey.len(), value.len())?;
        // A big entry gets a block to itself rather than swelling its neighbours'.
        if !self.data.is_empty()
            && self.data.current_bytes() + ikey.len() + value.len() > self.opts.block_bytes
        {
            self.flush_data_block()?;
        }
        let user_key = ikey::user_key(ikey);
        if let Some(bloom) = &mut self.bloom
            && (self.entries == 0 || ikey::user_key(&self.last_key) != user_key)
        {
            bloom.add(user_key);
        }
        if self.entries == 0 {
            self.smallest = ikey.to_vec();
        }
        self.data.add(ikey, value);
        self.last_key.clear();
        self.last_key.extend_from_slice(ikey);
        self.entries += 1;
        if self.data.current_bytes() >= self.opts.block_bytes {
            self.flush_data_block()?;
        }
        Ok(())
    }

    /// Bytes the file would have if finished now (roughly: the index is estimated).
    pub fn estimated_bytes(&self) -> u64 {
        self.out.offset + (self.data.current_bytes() + self.index.current_bytes()) as u64
    }

    /// Entries added so far.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    fn flush_data_block(&mut self) -> Result<()> {
        let handle = self.out.write_block(self.data.finish(), self.opts.compression)?;
        self.data.reset();
        self.handle_buf.clear();
        handle.encode_to(&mut self.handle_buf);
        self.index.add(&self.last_key, &self.handle_buf);
        Ok(())
    }

    /// Writes the last data block, the filter, the index and the footer. Does not sync: the
    /// caller syncs the file and its directory before relying on it.
    ///
    /// # Errors
    /// [`Error::Io`] if a write fails.
    pub fn finish(mut self) -> Result<TableSummary> {
        if !self.data.is_empty() {
            self.flush_data_block()?;
        }
        let filter = match &self.bloom {
            // Filter bits look random: compressing them would only cost time.
            Some(bloom) => self.out.write_block(&bloom.finish(), Compression::None)?,
            None => BlockHandle::default(),
        };
        let index = self.out.write_block(self.index.finish(), self.opts.compression)?;
        self.out.emit(&Footer { filter, index }.encode())?;
        self.out.flush()?;
        Ok(TableSummary {
            file_bytes: self.out.offset,
            entries: self.entries,
            smallest: self.smallest,
            largest: self.last_key,
        })
    }
}

/// What a reader and its iterators share.
#[derive(Debug)]
struct TableCore {
    file: Arc<dyn ReadableFile>,
    path: Arc<Path>,
    file_number: u64,
    cache: Arc<BlockCache>,
    index: Block,
    filter: Option<BloomFilter>,
    index_offset: u64,
    footer: Footer,
    /// Where the footer starts: every block and its trailer end at or before it.
    blocks_end: u64,
    /// Index and filter bytes charged to the block cache while this table is open.
    charged_bytes: u64,
    charged: bool,
}

impl Drop for TableCore {
    fn drop(&mut self) {
        if self.charged {
            self.cache.release(self.charged_bytes);
        }
    }
}

impl TableCore {
    fn corruption(&self, offset: u64, reason: impl Into<String>) -> Error {
        Error::corruption(&*self.path, offset, reason)
    }

    /// Reads, verifies and decompresses the block at `handle`.
    fn read_block(&self, handle: BlockHandle) -> Result<Bytes> {
        let size = handle.check(self.blocks_end).map_err(|r| self.corruption(handle.offset, r))?;
        let mut buf = vec![0u8; size + BLOCK_TRAILER_BYTES];
        self.file.read_exact_at(&mut buf, handle.offset)?;
        unseal(buf).map_err(|r| self.corruption(handle.offset, r))
    }

    /// A data block, from the cache or the file.
    fn data_block(&self, handle: BlockHandle) -> Result<Block> {
        let bytes = match self.cache.get(self.file_number, handle.offset) {
            Some(bytes) => bytes,
            None => {
                let bytes = self.read_block(handle)?;
                let block =
                    Block::parse(bytes.clone()).map_err(|r| self.corruption(handle.offset, r))?;
                self.cache.insert(self.file_number, handle.offset, bytes);
                return Ok(block);
            }
        };
        Block::parse(bytes).map_err(|r| self.corruption(handle.offset, r))
    }
}

/// Where the parts of a table are, from its footer: what inspection tools print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TableLayout {
    pub file_bytes: u64,
    pub footer_offset: u64,
    pub index: BlockHandle,
    /// The filter's handle and probe count; `None` for a table written without one.
    pub filter: Option<(BlockHandle, u32)>,
}

/// An open SST. See the module docs.
#[derive(Debug)]
pub(crate) struct TableReader {
    core: Arc<TableCore>,
}

#[allow(dead_code)] // used by the db layer (flush, compaction, table cache)
impl TableReader {
    /// Reads and verifies the footer, index block and filter, and keeps the last two in memory.
    ///
    /// # Errors
    /// [`Error::Corruption`] naming `path` and the failing offset if any of them is bad;
    /// [`Error::Io`] if a read fails.
    pub fn open(
        file: Arc<dyn ReadableFile>,
        path: PathBuf,
        file_number: u64,
        cache: Arc<BlockCache>,
    ) -> Result<TableReader> {
        let path: Arc<Path> = Arc::from(path);
        let len = file.len();
        let Some(footer_at) = len.checked_sub(FOOTER_BYTES as u64) else {
            let reason =
                format!("file of {len} bytes is shorter than the {FOOTER_BYTES}-byte footer");
            return Err(Error::corruption(&*path, 0, reason));
        };
        let mut footer = [0u8; FOOTER_BYTES];
        file.read_exact_at(&mut footer, footer_at)?;
        let footer =
            Footer::decode(&footer).map_err(|r| Error::corruption(&*path, footer_at, r))?;
        let mut core = TableCore {
            file,
            path,
            file_number,
            cache,
            index: Block::parse(Bytes::from_static(&[0, 0, 0, 0])).expect("the empty block"),
            filter: None,
            index_offset: footer.index.offset,
            footer,
            blocks_end: footer_at,
            charged_bytes: 0,
            charged: false,
        };
        let index = core.read_block(footer.index)?;
        core.charged_bytes += index.len() as u64;
        core.index = Block::parse(index).map_err(|r| core.corruption(footer.index.offset, r))?;
        if footer.filter.size > 0 {
            let filter = core.read_block(footer.filter)?;
            core.charged_bytes += filter.len() as u64;
            core.filter = Some(
                BloomFilter::decode(filter)
                    .map_err(|r| core.corruption(footer.filter.offset, r))?,
            );
        } else if footer.filter.offset != 0 {
            return Err(core.corruption(footer_at, "empty filter handle with a nonzero offset"));
        }
        core.cache.reserve(core.charged_bytes);
        core.charged = true;
        Ok(TableReader { core: Arc::new(core) })
    }

    /// The newest entry for `user_key` with seqno <= `seq`: its kind and value (empty for a
    /// tombstone), or `None` if this table has none. Consults the bloom filter first.
    ///
    /// # Errors
    /// [`Error::Corruption`] or [`Error::Io`] from the blocks it reads.
    pub fn get(&self, user_key: &[u8], seq: SeqNo) -> Result<Option<(ValueKind, Bytes)>> {
        if !self.may_contain(user_key) {
            return Ok(None);
        }
        let mut it = TableIter::new(self.core.clone());
        it.seek(&ikey::seek_target(user_key, seq));
        if !it.valid() {
            return it.take_error().map_or(Ok(None), Err);
        }
        let Some(found) = ikey::parse(it.key()) else {
            return Err(self.core.corruption(it.data_offset, "malformed internal key"));
        };
        Ok((found.user_key == user_key).then(|| match found.kind {
            ValueKind::Put => (ValueKind::Put, it.value()),
            ValueKind::Delete => (ValueKind::Delete, Bytes::new()),
        }))
    }

    /// False only if this table holds no entry for `user_key` (true without a filter).
    pub fn may_contain(&self, user_key: &[u8]) -> bool {
        self.core.filter.as_ref().is_none_or(|f| f.may_contain(user_key))
    }

    /// An iterator over every entry, unpositioned.
    pub fn iter(self: &Arc<Self>) -> TableIter {
        TableIter::new(self.core.clone())
    }

    /// The number the SST's file name carries.
    pub fn file_number(&self) -> u64 {
        self.core.file_number
    }

    /// The footer's handles (inspection tools; reads nothing).
    pub fn layout(&self) -> TableLayout {
        let c = &self.core;
        TableLayout {
            file_bytes: c.file.len(),
            footer_offset: c.blocks_end,
            index: c.footer.index,
            filter: c.filter.as_ref().map(|f| (c.footer.filter, f.probes())),
        }
    }

    /// The index entries in file order: each data block's handle and the internal key it is
    /// filed under (its last key). Inspection tools read the data blocks one by one from these.
    ///
    /// # Errors
    /// [`Error::Corruption`] naming the index block for a malformed entry or handle.
    pub fn index_entries(&self) -> Result<Vec<(Vec<u8>, BlockHandle)>> {
        let c = &self.core;
        let mut it = BlockIter::new(c.index.clone(), c.path.clone(), c.index_offset);
        let mut out = Vec::new();
        it.seek_to_first();
        while it.valid() {
            let Some(handle) = BlockHandle::decode(&it.value()) else {
                return Err(c.corruption(c.index_offset, "bad block handle in index"));
            };
            out.push((it.key().to_vec(), handle));
            it.next();
        }
        it.take_error().map_or(Ok(out), Err)
    }

    /// Reads and verifies the data block at `handle` past the block cache (a tool reading
    /// every block once must not evict what a server caches) and returns an iterator over it,
    /// unpositioned. Entries are checked as it moves, like any block's.
    ///
    /// # Errors
    /// [`Error::Corruption`] naming the block's offset if it does not verify; [`Error::Io`].
    pub fn read_data_block(&self, handle: BlockHandle) -> Result<BlockIter> {
        let c = &self.core;
        let bytes = c.read_block(handle)?;
        let block = Block::parse(bytes).map_err(|r| c.corruption(handle.offset, r))?;
        Ok(BlockIter::new(block, c.path.clone(), handle.offset))
    }
}

/// A two-level iterator: the index block picks the data block, a [`BlockIter`] walks it.
/// Owns what it needs (`'static`, `Send`).
#[derive(Debug)]
pub(crate) struct TableIter {
    core: Arc<TableCore>,
    index: BlockIter,
    /// The data block the index iterator points at; `Some` only while `index` is valid.
    data: Option<BlockIter>,
    data_offset: u64,
    err: Option<Error>,
    /// What a step into another block checks against: forward, the index key of the block left
    /// (the next block's keys are above it); backward, the key left (the previous block's keys
    /// are below it).
    bound: Vec<u8>,
}

impl TableIter {
    fn new(core: Arc<TableCore>) -> TableIter {
        let index = BlockIter::new(core.index.clone(), core.path.clone(), core.index_offset);
        TableIter { core, index, data: None, data_offset: 0, err: None, bound: Vec::new() }
    }

    fn fail(&mut self, e: Error) {
        self.err = Some(e);
        self.data = None;
    }

    /// Opens the data block the index points at; false (with `data` None) at the end of the
    /// index or on an error.
    fn load_block(&mut self) -> bool {
        self.data = None;
        if !self.index.valid() {
            if let Some(e) = self.index.take_error() {
                self.fail(e);
            }
            return false;
        }
        let Some(handle) = BlockHandle::decode(&self.index.value()) else {
            let e = self.core.corruption(self.core.index_offset, "bad block handle in index");
            self.fail(e);
            return false;
        };
        match self.core.data_block(handle) {
            Ok(block) => {
                self.data = Some(BlockIter::new(block, self.core.path.clone(), handle.offset));
                self.data_offset = handle.offset;
                true
            }
            Err(e) => {
                self.fail(e);
                false
            }
        }
    }

    /// Moves past exhausted (or empty) data blocks to the first entry of the next non-empty one.
    fn skip_forward(&mut self) {
        let mut crossed = false;
        while let Some(data) = &mut self.data {
            if data.valid() {
                if crossed && ikey::compare(&self.bound, data.key()) != Ordering::Less {
                    let reason = "data block starts at or below the previous block's index key";
                    return self.fail(self.core.corruption(self.data_offset, reason));
                }
                return self.check_in_block();
            }
            if let Some(e) = data.take_error() {
                return self.fail(e);
            }
            self.bound.clear();
            self.bound.extend_from_slice(self.index.key());
            crossed = true;
            self.index.next();
            if self.load_block() {
                self.data.as_mut().expect("just loaded").seek_to_first();
            }
        }
    }

    /// Moves before exhausted (or empty) data blocks to the last entry of the previous one.
    /// `from_key`: the step started at a key (in `bound`) that every block before it must end
    /// below, so their index keys must be below it (an empty block's too).
    fn skip_backward(&mut self, from_key: bool) {
        while let Some(data) = &mut self.data {
            if data.valid() {
                return self.check_in_block();
            }
            if let Some(e) = data.take_error() {
                return self.fail(e);
            }
            self.index.prev();
            if from_key
                && self.index.valid()
                && ikey::compare(self.index.key(), &self.bound) != Ordering::Less
            {
                let reason = "index key at or above the first key of the next data block";
                return self.fail(self.core.corruption(self.core.index_offset, reason));
            }
            if self.load_block() {
                self.data.as_mut().expect("just loaded").seek_to_last();
            }
        }
    }

    /// A data block's keys are at most its index key, or seeks (which trust the index to pick
    /// the block) would miss entries that scans find.
    fn check_in_block(&mut self) {
        let Some(data) = &self.data else { return };
        if data.valid() && ikey::compare(data.key(), self.index.key()) == Ordering::Greater {
            let reason = "data block holds a key above its index key";
            self.fail(self.core.corruption(self.data_offset, reason));
        }
    }

    fn data_mut(&mut self) -> &mut BlockIter {
        self.data.as_mut().expect("positioned: a data block is loaded")
    }
}

impl InternalIter for TableIter {
    fn valid(&self) -> bool {
        self.data.as_ref().is_some_and(BlockIter::valid)
    }

    fn key(&self) -> &[u8] {
        self.data.as_ref().expect("only called when valid").key()
    }

    fn value(&self) -> Bytes {
        self.data.as_ref().expect("only called when valid").value()
    }

    fn seek(&mut self, target: &[u8]) {
        if self.err.is_some() {
            return;
        }
        // The first block whose last key is >= target holds the answer, if any block does.
        self.index.seek(target);
        if self.load_block() {
            self.data_mut().seek(target);
        }
        self.skip_forward();
    }

    fn seek_for_prev(&mut self, target: &[u8]) {
        if self.err.is_some() {
            return;
        }
        // The answer is in the first block whose last key is >= target, or the one before it;
        // past the last block's last key, it is that key.
        self.index.seek(target);
        if !self.index.valid() && !self.index.has_error() {
            self.index.seek_to_last();
        }
        if self.load_block() {
            self.data_mut().seek_for_prev(target);
        }
        self.skip_backward(false);
    }

    fn seek_to_first(&mut self) {
        if self.err.is_some() {
            return;
        }
        self.index.seek_to_first();
        if self.load_block() {
            self.data_mut().seek_to_first();
        }
        self.skip_forward();
    }

    fn seek_to_last(&mut self) {
        if self.err.is_some() {
            return;
        }
        self.index.seek_to_last();
        if self.load_block() {
            self.data_mut().seek_to_last();
        }
        self.skip_backward(false);
    }

    fn next(&mut self) {
        debug_assert!(self.valid());
        if let Some(data) = &mut self.data {
            data.next();
            self.skip_forward();
        }
    }

    fn prev(&mut self) {
        debug_assert!(self.valid());
        if let Some(data) = &mut self.data {
            self.bound.clear();
            self.bound.extend_from_slice(data.key());
            data.prev();
            self.skip_backward(true);
        }
    }

    fn take_error(&mut self) -> Option<Error> {
        self.err.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::{Fs, RealFs};
    use crate::sst::block::tests::{
        Entry, check_iter_against_model, random_entries, random_user_key,
    };
    use lode_testkit::{Seed, iterations};
    use rand::Rng;
    use rand::rngs::StdRng;
    use std::sync::Mutex;

    /// An in-memory file, for tests that open thousands of damaged copies of a table.
    #[derive(Debug, Default)]
    struct MemFile(Mutex<Vec<u8>>);

    impl MemFile {
        fn bytes(&self) -> Vec<u8> {
            self.0.lock().expect("not poisoned").clone()
        }
    }

    impl WritableFile for MemFile {
        fn append(&self, data: &[u8]) -> io::Result<()> {
            self.0.lock().expect("not poisoned").extend_from_slice(data);
            Ok(())
        }
        fn sync(&self) -> io::Result<()> {
            Ok(())
        }
    }

    impl ReadableFile for MemFile {
        fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
            let data = self.0.lock().expect("not poisoned");
            let src = usize::try_from(offset)
                .ok()
                .and_then(|o| data.get(o..o.checked_add(buf.len())?))
                .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
            buf.copy_from_slice(src);
            Ok(())
        }
        fn len(&self) -> u64 {
            self.0.lock().expect("not poisoned").len() as u64
        }
    }

    fn options(
        block_bytes: usize,
        bloom_bits_per_key: u32,
        compression: Compression,
    ) -> TableOptions {
        TableOptions { block_bytes, bloom_bits_per_key, compression }
    }

    fn build_in_memory(entries: &[Entry], opts: TableOptions) -> (Vec<u8>, TableSummary) {
        let file = Arc::new(MemFile::default());
        let mut b = TableBuilder::new(file.clone(), opts);
        for (k, v) in entries {
            b.add(k, v).expect("in-memory write");
        }
        let summary = b.finish().expect("in-memory write");
        (file.bytes(), summary)
    }

    fn open_in_memory(bytes: Vec<u8>) -> Result<Arc<TableReader>> {
        let file = Arc::new(MemFile(Mutex::new(bytes)));
        let cache = Arc::new(BlockCache::new(1 << 20));
        TableReader::open(file, PathBuf::from("000007.sst"), 7, cache).map(Arc::new)
    }

    /// The newest entry of `user_key` with seqno <= `seq` in sorted `entries`.
    fn model_get(entries: &[Entry], user_key: &[u8], seq: SeqNo) -> Option<(ValueKind, Vec<u8>)> {
        entries.iter().find_map(|(k, v)| {
            let p = ikey::parse(k).expect("model keys are internal keys");
            (p.user_key == user_key && p.seq <= seq).then(|| (p.kind, v.clone()))
        })
    }

    fn get_owned(
        t: &TableReader,
        user_key: &[u8],
        seq: SeqNo,
    ) -> Result<Option<(ValueKind, Vec<u8>)>> {
        Ok(t.get(user_key, seq)?.map(|(kind, v)| (kind, v.to_vec())))
    }

    fn check_gets_against_model(t: &TableReader, entries: &[Entry], rng: &mut StdRng) {
        let mut user_keys: Vec<Vec<u8>> =
            entries.iter().map(|(k, _)| ikey::user_key(k).to_vec()).collect();
        user_keys.extend((0..20).map(|_| random_user_key(rng)));
        user_keys.push(b"absent key".to_vec());
        for uk in &user_keys {
            assert!(t.may_contain(uk) || model_get(entries, uk, ikey::SEQNO_MAX).is_none());
            for seq in [0, 1, rng.random_range(0..1001), 999, 1000, ikey::SEQNO_MAX] {
                let got = get_owned(t, uk, seq).expect("good table");
                assert_eq!(got, model_get(entries, uk, seq), "get({uk:?}, {seq})");
            }
        }
    }

    fn check_random_tables(name: &'static str, compression: Compression) {
        let seed = Seed::new(name);
        let mut rng = seed.rng(0);
        let dir = tempfile::tempdir().expect("temp dir");
        for round in 0..iterations(24) {
            let n = rng.random_range(0..400);
            let entries = random_entries(&mut rng, n);
            let opts =
                options([64, 100, 256, 4096][round % 4], [0, 10][round / 4 % 2], compression);
            let path = dir.path().join(format!("{round:06}.sst"));
            let mut b = TableBuilder::new(RealFs.create(&path).expect("create"), opts);
            for (k, v) in &entries {
                b.add(k, v).expect("add");
            }
            assert_eq!(b.entries(), entries.len() as u64);
            let summary = b.finish().expect("finish");
            let file = RealFs.open(&path).expect("open");
            assert_eq!(summary.file_bytes, file.len());
            assert_eq!(summary.entries, entries.len() as u64);
            assert_eq!(summary.smallest, entries.first().map(|e| e.0.clone()).unwrap_or_default());
            assert_eq!(summary.largest, entries.last().map(|e| e.0.clone()).unwrap_or_default());
            let cache = Arc::new(BlockCache::new(64 << 10));
            let t = Arc::new(TableReader::open(file, path, round as u64, cache).expect("open"));
            assert_eq!(t.file_number(), round as u64);
            check_iter_against_model(&mut t.iter(), &entries, &mut rng, 300);
            check_gets_against_model(&t, &entries, &mut rng);
        }
    }

    #[test]
    fn table_matches_model_uncompressed() {
        check_random_tables("table_matches_model_uncompressed", Compression::None);
    }

    #[test]
    fn table_matches_model_lz4() {
        check_random_tables("table_matches_model_lz4", Compression::Lz4);
    }

    #[test]
    fn table_empty_has_no_entries() {
        for bloom in [0, 10] {
            let (bytes, summary) = build_in_memory(&[], options(4096, bloom, Compression::None));
            assert_eq!((summary.entries, summary.smallest.len()), (0, 0));
            let t = open_in_memory(bytes).expect("open");
            let mut it = t.iter();
            it.seek_to_first();
            assert!(!it.valid());
            it.seek_to_last();
            assert!(!it.valid());
            assert!(it.take_error().is_none());
            assert_eq!(get_owned(&t, b"k", 5).expect("get"), None);
        }
    }

    #[test]
    fn table_big_entry_gets_a_block_of_its_own() {
        let big = vec![7u8; 3 << 20];
        let entries: Vec<Entry> = vec![
            (ikey::make(b"a", 1, ValueKind::Put), b"small".to_vec()),
            (ikey::make(b"b", 1, ValueKind::Put), big.clone()),
            (ikey::make(b"c", 1, ValueKind::Put), b"small".to_vec()),
        ];
        for compression in [Compression::None, Compression::Lz4] {
            let (bytes, _) = build_in_memory(&entries, options(4096, 10, compression));
            let t = open_in_memory(bytes).expect("open");
            assert_eq!(t.core.index.restarts_for_test(), 3, "three data blocks");
            assert_eq!(get_owned(&t, b"b", 5).expect("get"), Some((ValueKind::Put, big.clone())));
            let mut rng = Seed::new("table_big_entry_gets_a_block_of_its_own").rng(0);
            check_iter_against_model(&mut t.iter(), &entries, &mut rng, 50);
        }
    }

    /// Needs about 2 GiB of memory: `cargo test --release -- --ignored`.
    #[test]
    #[ignore = "allocates gigabytes"]
    fn table_round_trips_512_mib_value_with_64_kib_key() {
        let key = ikey::make(&vec![b'k'; (64 << 10) - ikey::TRAILER_BYTES], 1, ValueKind::Put);
        let value = vec![0x5a_u8; 512 << 20];
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("000001.sst");
        let mut b = TableBuilder::new(
            RealFs.create(&path).expect("create"),
            options(4096, 10, Compression::None),
        );
        b.add(&key, &value).expect("add");
        b.finish().expect("finish");
        let cache = Arc::new(BlockCache::new(64 << 20));
        let t = TableReader::open(RealFs.open(&path).expect("open"), path, 1, cache).expect("open");
        let (kind, got) = t.get(ikey::user_key(&key), 1).expect("get").expect("present");
        assert_eq!(kind, ValueKind::Put);
        assert!(got == value);
    }

    #[test]
    fn table_get_reads_data_blocks_through_cache() {
        let entries: Vec<Entry> = (0..100u32)
            .map(|i| (ikey::make(&i.to_be_bytes(), 1, ValueKind::Put), vec![1; 50]))
            .collect();
        let (bytes, _) = build_in_memory(&entries, options(256, 10, Compression::None));
        let t = open_in_memory(bytes).expect("open");
        let cache = t.core.cache.clone();
        assert_eq!(
            get_owned(&t, &0u32.to_be_bytes(), 1).expect("get").map(|x| x.1),
            Some(vec![1; 50])
        );
        assert_eq!((cache.hits(), cache.misses()), (0, 1));
        assert!(get_owned(&t, &1u32.to_be_bytes(), 1).expect("get").is_some());
        assert_eq!((cache.hits(), cache.misses()), (1, 1), "same block");
        assert!(cache.usage_bytes() > 0);
    }

    /// Writes a table by hand: each data block's entries (in any order) and its index key.
    fn table_by_hand(blocks: &[(Vec<Entry>, Vec<u8>)]) -> Vec<u8> {
        let file = Arc::new(MemFile::default());
        let mut out =
            TableOutput { file: file.clone(), buf: Vec::new(), offset: 0, scratch: Vec::new() };
        let mut index = Vec::new();
        for (entries, index_key) in blocks {
            let mut data = Vec::new();
            for (k, v) in entries {
                data.push(0);
                data.push(k.len() as u8);
                data.push(v.len() as u8);
                data.extend_from_slice(k);
                data.extend_from_slice(v);
            }
            // One restart point per entry, so no order is implied between them.
            let mut at = 0u32;
            for (k, v) in entries {
                data.extend_from_slice(&at.to_le_bytes());
                at += (3 + k.len() + v.len()) as u32;
            }
            data.extend_from_slice(&(entries.len() as u32).to_le_bytes());
            let handle = out.write_block(&data, Compression::None).expect("write");
            let mut h = Vec::new();
            handle.encode_to(&mut h);
            index.push((index_key.clone(), h));
        }
        let mut builder = BlockBuilder::new(INDEX_RESTART_INTERVAL);
        for (k, h) in &index {
            builder.add(k, h);
        }
        let index = out.write_block(builder.finish(), Compression::None).expect("write");
        out.emit(&Footer { filter: BlockHandle::default(), index }.encode()).expect("write");
        out.flush().expect("write");
        file.bytes()
    }

    fn put_key(user_key: &[u8], seq: SeqNo) -> Vec<u8> {
        ikey::make(user_key, seq, ValueKind::Put)
    }

    /// Index points at empty data blocks between real ones.
    #[test]
    fn table_iter_skips_empty_data_blocks() {
        let k = put_key;
        let blocks: Vec<(Vec<Entry>, Vec<u8>)> = vec![
            (vec![], k(b"a", 0)),
            (vec![(k(b"b", 5), b"b5".to_vec()), (k(b"b", 4), b"b4".to_vec())], k(b"b", 4)),
            (vec![], k(b"c", 1)),
            (vec![], k(b"c", 0)),
            (vec![(k(b"d", 1), b"d1".to_vec())], k(b"d", 1)),
            (vec![], k(b"e", 1)),
        ];
        let model: Vec<Entry> = blocks.iter().flat_map(|b| b.0.iter().cloned()).collect();
        let t = open_in_memory(table_by_hand(&blocks)).expect("open");
        let mut rng = Seed::new("table_iter_skips_empty_data_blocks").rng(0);
        check_iter_against_model(&mut t.iter(), &model, &mut rng, 500);
        check_gets_against_model(&t, &model, &mut rng);
    }

    /// Scans `t` both ways: the keys each returned, and whether each ended in corruption.
    fn scans(t: &Arc<TableReader>) -> [(Vec<Vec<u8>>, bool); 2] {
        let mut it = t.iter();
        let mut forward = Vec::new();
        it.seek_to_first();
        while it.valid() {
            forward.push(it.key().to_vec());
            it.next();
        }
        let forward_failed = it.take_error().is_some_and(|e| e.is_corruption());
        let mut backward = Vec::new();
        it.seek_to_last();
        while it.valid() {
            backward.push(it.key().to_vec());
            it.prev();
        }
        let backward_failed = it.take_error().is_some_and(|e| e.is_corruption());
        [(forward, forward_failed), (backward, backward_failed)]
    }

    #[test]
    fn table_iter_reports_corruption_for_data_blocks_out_of_order() {
        let k = put_key;
        // Index keys increase, but the second block's key sorts before the first block's.
        let blocks = vec![
            (vec![(k(b"b", 1), vec![])], k(b"b", 1)),
            (vec![(k(b"a", 1), vec![])], k(b"c", 1)),
        ];
        let t = open_in_memory(table_by_hand(&blocks)).expect("open");
        let [forward, backward] = scans(&t);
        assert_eq!(forward, (vec![k(b"b", 1)], true));
        assert_eq!(backward, (vec![k(b"a", 1)], true));
    }

    #[test]
    fn table_iter_reports_corruption_for_an_empty_block_indexed_above_the_next_one() {
        let k = put_key;
        // A seek_for_prev for "b" would stop at the empty block and miss "a" after it.
        let blocks = vec![(vec![], k(b"w", 1)), (vec![(k(b"a", 1), vec![])], k(b"x", 1))];
        let t = open_in_memory(table_by_hand(&blocks)).expect("open");
        let [forward, backward] = scans(&t);
        assert_eq!(forward, (vec![], true));
        assert_eq!(backward, (vec![k(b"a", 1)], true));
    }

    #[test]
    fn table_iter_reports_corruption_for_a_key_above_its_index_key() {
        let k = put_key;
        // "c" sits in a block whose index key says it ends at "b": a seek for "c" would go
        // to the next block and miss it.
        let blocks = vec![
            (vec![(k(b"a", 1), vec![]), (k(b"c", 1), vec![])], k(b"b", 1)),
            (vec![(k(b"d", 1), vec![])], k(b"d", 1)),
        ];
        let t = open_in_memory(table_by_hand(&blocks)).expect("open");
        let [forward, backward] = scans(&t);
        assert_eq!(forward, (vec![k(b"a", 1)], true));
        assert_eq!(backward, (vec![k(b"d", 1)], true));
    }

    #[test]
    fn table_reader_is_shared_and_iter_is_owned() {
        fn shared<T: Send + Sync + 'static>() {}
        fn owned<T: Send + 'static>() {}
        shared::<TableReader>();
        shared::<BlockCache>();
        owned::<TableIter>();
    }

    type Outcome = (Vec<Entry>, Vec<Entry>, Vec<Option<(ValueKind, Vec<u8>)>>);

    /// Everything a reader can say about a table: both scans and a batch of gets.
    fn read_everything(bytes: Vec<u8>, probes: &[(Vec<u8>, SeqNo)]) -> Result<Outcome> {
        let t = open_in_memory(bytes)?;
        let mut it = t.iter();
        let mut forward = Vec::new();
        it.seek_to_first();
        while it.valid() {
            forward.push((it.key().to_vec(), it.value().to_vec()));
            it.next();
        }
        if let Some(e) = it.take_error() {
            return Err(e);
        }
        let mut backward = Vec::new();
        it.seek_to_last();
        while it.valid() {
            backward.push((it.key().to_vec(), it.value().to_vec()));
            it.prev();
        }
        if let Some(e) = it.take_error() {
            return Err(e);
        }
        let gets = probes.iter().map(|(uk, seq)| get_owned(&t, uk, *seq)).collect::<Result<_>>()?;
        Ok((forward, backward, gets))
    }

    #[test]
    fn table_reports_corruption_for_every_flipped_or_truncated_byte() {
        let seed = Seed::new("table_reports_corruption_for_every_flipped_or_truncated_byte");
        let mut rng = seed.rng(0);
        for (bloom, compression) in [(10, Compression::None), (0, Compression::Lz4)] {
            let mut entries = random_entries(&mut rng, 12);
            entries.push((ikey::make(&[0xff; 5], 3, ValueKind::Put), vec![b'z'; 100]));
            let (good, _) = build_in_memory(&entries, options(64, bloom, compression));
            let mut probes: Vec<(Vec<u8>, SeqNo)> =
                entries.iter().map(|(k, _)| (ikey::user_key(k).to_vec(), 500)).collect();
            probes.push((b"absent".to_vec(), 500));
            let expected = read_everything(good.clone(), &probes).expect("good table");
            assert_eq!(expected.0, entries);
            for i in 0..good.len() {
                for flip in [0x01u8, 0x80] {
                    let mut bad = good.clone();
                    bad[i] ^= flip;
                    match read_everything(bad, &probes) {
                        Ok(got) => {
                            assert_eq!(got, expected, "flip {flip:#x} at {i} changed results")
                        }
                        Err(e) => assert!(e.is_corruption(), "flip at {i}: {e}"),
                    }
                }
            }
            for len in 0..good.len() {
                let err = read_everything(good[..len].to_vec(), &probes).expect_err("truncated");
                assert!(err.is_corruption(), "truncated to {len}: {err}");
            }
            let mut longer = good.clone();
            longer.extend_from_slice(&[0; 9]);
            assert!(read_everything(longer, &probes).expect_err("extended").is_corruption());
        }
    }

    #[test]
    fn table_corruption_names_file_and_block_offset() {
        let entries: Vec<Entry> = (0..50u32)
            .map(|i| (ikey::make(&i.to_be_bytes(), 1, ValueKind::Put), vec![2; 20]))
            .collect();
        let (mut bytes, _) = build_in_memory(&entries, options(256, 0, Compression::None));
        bytes[3] ^= 0x10; // inside the first data block, at offset 0
        let t = open_in_memory(bytes).expect("index and footer are intact");
        match t.get(&0u32.to_be_bytes(), 1) {
            Err(Error::Corruption { file, offset, reason }) => {
                assert_eq!(file, PathBuf::from("000007.sst"));
                assert_eq!(offset, 0);
                assert!(reason.contains("checksum"), "{reason}");
            }
            other => panic!("expected corruption, got {other:?}"),
        }
        let mut it = t.iter();
        it.seek_to_first();
        assert!(!it.valid());
        assert!(it.take_error().is_some_and(|e| e.is_corruption()));
    }

    #[test]
    fn table_footer_round_trips_and_rejects_bad_fields() {
        let f = Footer {
            filter: BlockHandle { offset: 1, size: 2 },
            index: BlockHandle { offset: 3, size: 4 },
        };
        let good = f.encode();
        assert_eq!(Footer::decode(&good), Ok(f));
        for i in 0..FOOTER_BYTES {
            let mut bad = good;
            bad[i] ^= 0x04;
            assert!(Footer::decode(&bad).is_err(), "flip at {i}");
        }
    }

    /// The entries of the hex example in docs/format/sstable.md.
    fn example_table() -> Vec<u8> {
        let entries: Vec<Entry> = vec![
            (ikey::make(b"apple", 2, ValueKind::Put), b"red".to_vec()),
            (ikey::make(b"apple", 1, ValueKind::Delete), Vec::new()),
            (ikey::make(b"kiwi", 3, ValueKind::Put), b"green".to_vec()),
        ];
        build_in_memory(&entries, options(4096, 10, Compression::None)).0
    }

    fn hex_dump(bytes: &[u8]) -> String {
        bytes
            .chunks(16)
            .enumerate()
            .map(|(i, c)| {
                let hex: Vec<String> = c.iter().map(|b| format!("{b:02x}")).collect();
                format!("{:04x}: {}\n", i * 16, hex.join(" "))
            })
            .collect()
    }

    #[test]
    fn table_doc_hex_example_is_what_the_builder_writes() {
        let doc = include_str!("../../../../docs/format/sstable.md");
        let actual = example_table();
        assert_eq!(
            lode_testkit::doc_hex_example(doc),
            actual,
            "the builder writes:\n{}",
            hex_dump(&actual)
        );
        let t = open_in_memory(actual).expect("open");
        assert_eq!(get_owned(&t, b"apple", 1).expect("get"), Some((ValueKind::Delete, vec![])));
        assert_eq!(get_owned(&t, b"kiwi", 9).expect("get").map(|x| x.1), Some(b"green".to_vec()));
    }

    #[test]
    #[should_panic(expected = "strictly increase")]
    fn table_builder_panics_on_repeated_key_across_blocks() {
        let file = Arc::new(MemFile::default());
        let mut b = TableBuilder::new(file, options(64, 0, Compression::None));
        let key = ikey::make(b"k", 1, ValueKind::Put);
        b.add(&key, &[0; 100]).expect("add");
        let _ = b.add(&key, b"again");
    }
}
