//! SST blocks: prefix-compressed runs of sorted internal keys, and the trailer that seals them.
//!
//! Role: the [`BlockBuilder`] lays out data and index blocks on the write path (flush and
//! compaction); [`seal`] adds the compression type and CRC32C; on the read path [`unseal`]
//! verifies and decompresses what came off disk, [`Block::parse`] checks the restart array
//! and [`BlockIter`] walks the entries in both directions. Format: docs/format/sstable.md
//! ("Blocks" and "Block trailer"). This file does no I/O.
//!
//! Invariants: keys added to a builder strictly increase (an `assert!`); a parsed [`Block`]
//! has a restart array that lies inside it, starts at 0 and increases, so restart lookups
//! cannot go out of bounds. Entries are decoded with bounds checks and their order is checked
//! again while iterating, in both directions, as are restart points falling on entries that
//! share no key bytes: bad bytes become `Error::Corruption`, never a panic or an answer that
//! depends on the direction or the seek that reached it.
//!
//! Concurrency: a [`Block`] is immutable (`Bytes`) and shared between iterators and the block
//! cache; a [`BlockIter`] belongs to one thread at a time.

use crate::encoding::{Decoder, put_varint};
use crate::ikey;
use crate::iter::InternalIter;
use crate::{Compression, Error, Result};
use bytes::Bytes;
use std::cmp::Ordering;
use std::path::Path;
use std::sync::Arc;

/// Largest block, stored or uncompressed. One entry may hold a 64 KiB key and a 512 MiB
/// value, so this leaves room; a length past it in a file is corruption.
pub(crate) const BLOCK_BYTES_MAX: usize = 1 << 30;

/// Bytes after every block on disk: compression type (1) and CRC32C (4).
pub(crate) const BLOCK_TRAILER_BYTES: usize = 5;

/// Entries between restart points in a data block.
pub(crate) const DATA_RESTART_INTERVAL: usize = 16;

/// Entries between restart points in an index block: every entry, so a seek is one binary
/// search with no scan.
pub(crate) const INDEX_RESTART_INTERVAL: usize = 1;

/// Worst-case bytes an entry costs beyond its key and value: three varints of at most 5 bytes
/// (lengths below 2^32) and a restart offset.
const ENTRY_OVERHEAD_MAX: usize = 3 * 5 + 4;

/// Largest key plus value in one entry: an entry alone must fit in a block with its restart
/// count.
pub(crate) const ENTRY_BYTES_MAX: usize = BLOCK_BYTES_MAX - ENTRY_OVERHEAD_MAX - 4;

/// Most an LZ4 block can expand when decompressed (a match of 255 bytes costs one byte), so a
/// claimed uncompressed length beyond `stored * LZ4_EXPANSION_MAX` is corruption.
pub(crate) const LZ4_EXPANSION_MAX: u64 = 255;

/// Bytes of the uncompressed length that precedes the LZ4 data of a compressed block.
const LZ4_LENGTH_BYTES: usize = 4;

/// Compression type byte: stored as is.
pub(crate) const BLOCK_TYPE_NONE: u8 = 0;
/// Compression type byte: `u32 LE uncompressed length ‖ LZ4 block`.
pub(crate) const BLOCK_TYPE_LZ4: u8 = 1;

/// Refuses an entry that could not fit in a block by itself.
///
/// # Errors
/// [`Error::TooLarge`] when `key_bytes + value_bytes` is over [`ENTRY_BYTES_MAX`].
pub(crate) fn check_entry_bytes(key_bytes: usize, value_bytes: usize) -> Result<()> {
    let len = key_bytes.saturating_add(value_bytes);
    if len > ENTRY_BYTES_MAX {
        return Err(Error::TooLarge {
            what: "SST entry",
            len: len as u64,
            max: ENTRY_BYTES_MAX as u64,
        });
    }
    Ok(())
}

/// Where a block is in its file: its offset and stored length (trailer excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct BlockHandle {
    pub offset: u64,
    pub size: u64,
}

impl BlockHandle {
    /// Appends the varint form used as an index entry's value.
    pub(crate) fn encode_to(&self, buf: &mut Vec<u8>) {
        put_varint(buf, self.offset);
        put_varint(buf, self.size);
    }

    /// Decodes the varint form; `None` unless `input` is exactly one handle.
    pub(crate) fn decode(input: &[u8]) -> Option<BlockHandle> {
        let mut d = Decoder::new(input);
        let handle = BlockHandle { offset: d.varint()?, size: d.varint()? };
        d.is_empty().then_some(handle)
    }

    /// Checks that the block and its trailer lie below `end` and within the limit.
    /// Returns the stored length as a `usize`.
    ///
    /// # Errors
    /// A reason string when the handle points outside `[0, end)` or is over the limit.
    pub(crate) fn check(&self, end: u64) -> Result<usize, String> {
        if self.size > BLOCK_BYTES_MAX as u64 {
            return Err(format!(
                "block of {} bytes is larger than the limit of {BLOCK_BYTES_MAX}",
                self.size
            ));
        }
        let block_end = self
            .offset
            .checked_add(self.size)
            .and_then(|e| e.checked_add(BLOCK_TRAILER_BYTES as u64));
        match block_end {
            Some(block_end) if block_end <= end => Ok(self.size as usize),
            _ => Err(format!(
                "block at {} of {} bytes runs past the end of the block area at {end}",
                self.offset, self.size
            )),
        }
    }
}

/// Lays out one block: prefix-compressed entries, then the restart array.
#[derive(Debug)]
pub(crate) struct BlockBuilder {
    buf: Vec<u8>,
    restarts: Vec<u32>,
    restart_interval: usize,
    since_restart: usize,
    last_key: Vec<u8>,
}

impl BlockBuilder {
    pub(crate) fn new(restart_interval: usize) -> BlockBuilder {
        assert!(restart_interval > 0, "restart interval must be positive");
        BlockBuilder {
            buf: Vec::new(),
            restarts: Vec::new(),
            restart_interval,
            since_restart: 0,
            last_key: Vec::new(),
        }
    }

    /// Appends an entry. The caller has checked it against [`check_entry_bytes`].
    ///
    /// # Panics
    /// If `key` is not strictly greater than the previous key in [`ikey::compare`] order.
    pub(crate) fn add(&mut self, key: &[u8], value: &[u8]) {
        if !self.restarts.is_empty() {
            assert!(
                ikey::compare(&self.last_key, key) == Ordering::Less,
                "keys added to a block must strictly increase"
            );
        }
        let shared = if self.restarts.is_empty() || self.since_restart == self.restart_interval {
            let offset = u32::try_from(self.buf.len()).expect("blocks are below 4 GiB");
            self.restarts.push(offset);
            self.since_restart = 0;
            0
        } else {
            self.last_key.iter().zip(key).take_while(|(a, b)| a == b).count()
        };
        // Room for the entry and the finished restart array at once, so a huge value is
        // copied into the block once and never moved by a later reallocation.
        let room = ENTRY_OVERHEAD_MAX + key.len() - shared + value.len();
        self.buf.reserve(room + 4 * self.restarts.len() + 4);
        put_varint(&mut self.buf, shared as u64);
        put_varint(&mut self.buf, (key.len() - shared) as u64);
        put_varint(&mut self.buf, value.len() as u64);
        self.buf.extend_from_slice(&key[shared..]);
        self.buf.extend_from_slice(value);
        self.last_key.clear();
        self.last_key.extend_from_slice(key);
        self.since_restart += 1;
    }

    /// True when no entry was added since the last reset.
    pub(crate) fn is_empty(&self) -> bool {
        self.restarts.is_empty()
    }

    /// Bytes the block would have if finished now.
    pub(crate) fn current_bytes(&self) -> usize {
        self.buf.len() + 4 * self.restarts.len() + 4
    }

    /// Appends the restart array and returns the finished block. Call [`Self::reset`] before
    /// adding again.
    pub(crate) fn finish(&mut self) -> &[u8] {
        for r in &self.restarts {
            self.buf.extend_from_slice(&r.to_le_bytes());
        }
        let count = u32::try_from(self.restarts.len()).expect("restart count below 2^32");
        self.buf.extend_from_slice(&count.to_le_bytes());
        &self.buf
    }

    /// Empties the builder for the next block, releasing a buffer a huge entry grew.
    pub(crate) fn reset(&mut self) {
        const KEEP_BYTES_MAX: usize = 4 << 20;
        if self.buf.capacity() > KEEP_BYTES_MAX {
            self.buf = Vec::new();
        }
        self.buf.clear();
        self.restarts.clear();
        self.since_restart = 0;
        self.last_key.clear();
    }
}

/// The CRC32C a trailer holds: over the stored bytes and then the type byte.
fn block_crc(stored: &[u8], block_type: u8) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(stored), &[block_type])
}

/// The trailer that follows `stored` on disk.
pub(crate) fn trailer(stored: &[u8], block_type: u8) -> [u8; BLOCK_TRAILER_BYTES] {
    let crc = block_crc(stored, block_type).to_le_bytes();
    [block_type, crc[0], crc[1], crc[2], crc[3]]
}

/// Chooses the stored form of `raw`: LZ4 into `scratch` if asked and it shrinks the block,
/// else `raw` itself. Returns the stored bytes and the type byte.
pub(crate) fn seal<'a>(
    raw: &'a [u8],
    compression: Compression,
    scratch: &'a mut Vec<u8>,
) -> (&'a [u8], u8) {
    if compression == Compression::Lz4 && lz4_compress(raw, scratch) {
        (scratch.as_slice(), BLOCK_TYPE_LZ4)
    } else {
        (raw, BLOCK_TYPE_NONE)
    }
}

/// Writes `u32 LE len ‖ lz4(raw)` into `out`; true if that is smaller than `raw`.
fn lz4_compress(raw: &[u8], out: &mut Vec<u8>) -> bool {
    let Ok(len) = u32::try_from(raw.len()) else {
        return false;
    };
    out.clear();
    out.resize(LZ4_LENGTH_BYTES + lz4_flex::block::get_maximum_output_size(raw.len()), 0);
    out[..LZ4_LENGTH_BYTES].copy_from_slice(&len.to_le_bytes());
    match lz4_flex::block::compress_into(raw, &mut out[LZ4_LENGTH_BYTES..]) {
        Ok(n) => {
            out.truncate(LZ4_LENGTH_BYTES + n);
            out.len() < raw.len()
        }
        Err(_) => false,
    }
}

/// Checks an LZ4 block's claimed uncompressed length before anything is allocated for it.
///
/// # Errors
/// A reason string when `claimed` is over [`BLOCK_BYTES_MAX`] or more than LZ4 could expand
/// `stored_bytes` to.
pub(crate) fn check_lz4_uncompressed_bytes(
    stored_bytes: usize,
    claimed: u64,
) -> Result<usize, String> {
    if claimed > BLOCK_BYTES_MAX as u64 {
        return Err(format!(
            "uncompressed block of {claimed} bytes is larger than the limit of {BLOCK_BYTES_MAX}"
        ));
    }
    if claimed > (stored_bytes as u64).saturating_mul(LZ4_EXPANSION_MAX) {
        return Err(format!(
            "{stored_bytes} LZ4 bytes cannot expand to the claimed {claimed} bytes"
        ));
    }
    Ok(claimed as usize)
}

/// Verifies `stored ‖ trailer` as read from disk and returns the block contents.
///
/// # Errors
/// A reason string on a checksum mismatch, an unknown type or bad LZ4 data.
pub(crate) fn unseal(mut buf: Vec<u8>) -> Result<Bytes, String> {
    let Some(n) = buf.len().checked_sub(BLOCK_TRAILER_BYTES) else {
        return Err("block shorter than its trailer".into());
    };
    let block_type = buf[n];
    let stored_crc = u32::from_le_bytes([buf[n + 1], buf[n + 2], buf[n + 3], buf[n + 4]]);
    let actual_crc = block_crc(&buf[..n], block_type);
    if stored_crc != actual_crc {
        return Err(format!(
            "block checksum mismatch: stored {stored_crc:#010x}, computed {actual_crc:#010x}"
        ));
    }
    match block_type {
        BLOCK_TYPE_NONE => {
            buf.truncate(n);
            Ok(Bytes::from(buf))
        }
        BLOCK_TYPE_LZ4 => {
            let stored = &buf[..n];
            let Some((len, data)) = stored.split_first_chunk::<LZ4_LENGTH_BYTES>() else {
                return Err("LZ4 block shorter than its length prefix".into());
            };
            let len = check_lz4_uncompressed_bytes(n, u64::from(u32::from_le_bytes(*len)))?;
            let mut out = vec![0u8; len];
            match lz4_flex::block::decompress_into(data, &mut out) {
                Ok(got) if got == len => Ok(Bytes::from(out)),
                Ok(got) => Err(format!("LZ4 block decompressed to {got} bytes, not {len}")),
                Err(e) => Err(format!("bad LZ4 data: {e}")),
            }
        }
        t => Err(format!("unknown block compression type {t}")),
    }
}

/// A verified block with a validated restart array.
#[derive(Debug, Clone)]
pub(crate) struct Block {
    data: Bytes,
    /// Where the entries end and the restart array begins.
    restarts_offset: usize,
    restarts: usize,
}

impl Block {
    /// Validates the restart array of block contents.
    ///
    /// # Errors
    /// A reason string when the restart array does not fit or is out of order.
    pub(crate) fn parse(data: Bytes) -> Result<Block, String> {
        let Some(count_at) = data.len().checked_sub(4) else {
            return Err(format!("block of {} bytes has no restart count", data.len()));
        };
        let count = u32::from_le_bytes(data[count_at..].try_into().expect("4 bytes"));
        let restarts = count as usize;
        let Some(restarts_offset) = (restarts as u64)
            .checked_mul(4)
            .and_then(|b| (count_at as u64).checked_sub(b))
            .map(|o| o as usize)
        else {
            return Err(format!("{count} restart points do not fit in {} bytes", data.len()));
        };
        let block = Block { data, restarts_offset, restarts };
        if restarts == 0 && restarts_offset != 0 {
            return Err("block has entries but no restart points".into());
        }
        let mut prev = None;
        for i in 0..restarts {
            let r = block.restart(i);
            let ok = match prev {
                None => r == 0,
                Some(p) => r > p,
            };
            if !ok || r >= restarts_offset {
                return Err(format!("restart point {i} at {r} is out of order or out of bounds"));
            }
            prev = Some(r);
        }
        Ok(block)
    }

    /// Restart points in the block (in an index block, one per entry).
    #[cfg(test)]
    pub(crate) fn restarts_for_test(&self) -> usize {
        self.restarts
    }

    /// True when the block has no entries.
    pub(crate) fn is_empty(&self) -> bool {
        self.restarts == 0
    }

    fn restart(&self, i: usize) -> usize {
        let at = self.restarts_offset + 4 * i;
        let bytes = self.data[at..at + 4].try_into().expect("restart array checked by parse");
        u32::from_le_bytes(bytes) as usize
    }

    /// The full key of the entry at restart point `i` (which shares nothing with the one before).
    fn restart_key(&self, i: usize) -> Result<&[u8], String> {
        let r = self.restart(i);
        let mut d = Decoder::new(&self.data[r..self.restarts_offset]);
        let (Some(shared), Some(unshared), Some(_)) = (d.varint(), d.varint(), d.varint()) else {
            return Err(format!("bad entry header at restart point {i} (offset {r})"));
        };
        if shared != 0 {
            return Err(format!("entry at restart point {i} shares {shared} key bytes"));
        }
        let Some(key) = usize::try_from(unshared).ok().and_then(|n| d.bytes(n)) else {
            return Err(format!("key at restart point {i} runs past the entries"));
        };
        Ok(key)
    }
}

/// A cursor over a [`Block`]'s entries, in both directions.
///
/// Moving back goes to the restart point before the current entry and scans forward, as
/// LevelDB does, so `prev` costs up to one restart interval of decoding.
#[derive(Debug)]
pub(crate) struct BlockIter {
    block: Block,
    file: Arc<Path>,
    block_offset: u64,
    /// Offset of the current entry; `restarts_offset` when invalid.
    current: usize,
    /// Offset just past the current entry: where the next one starts.
    next: usize,
    /// The restart point at or before `current`.
    restart_index: usize,
    key: Vec<u8>,
    scratch: Vec<u8>,
    /// The key a backward step left, to check the step against.
    left_key: Vec<u8>,
    value: (usize, usize),
    err: Option<Error>,
}

impl BlockIter {
    /// An iterator over `block`, which is at `block_offset` in `file` (for error messages).
    /// It starts unpositioned.
    pub(crate) fn new(block: Block, file: Arc<Path>, block_offset: u64) -> BlockIter {
        let end = block.restarts_offset;
        BlockIter {
            block,
            file,
            block_offset,
            current: end,
            next: end,
            restart_index: 0,
            key: Vec::new(),
            scratch: Vec::new(),
            left_key: Vec::new(),
            value: (0, 0),
            err: None,
        }
    }

    /// True when the iterator stopped on bad bytes and still holds the error.
    pub(crate) fn has_error(&self) -> bool {
        self.err.is_some()
    }

    fn invalidate(&mut self) {
        self.current = self.block.restarts_offset;
        self.next = self.block.restarts_offset;
        self.key.clear();
    }

    fn corrupt(&mut self, reason: String) {
        self.err = Some(Error::corruption(&*self.file, self.block_offset, reason));
        self.invalidate();
    }

    fn seek_to_restart(&mut self, i: usize) {
        self.key.clear();
        self.restart_index = i;
        self.next = self.block.restart(i);
    }

    /// Decodes the entry at `self.next`; false at the end of the entries or on bad bytes.
    fn parse_next(&mut self) -> bool {
        self.current = self.next;
        let end = self.block.restarts_offset;
        if self.current >= end {
            // Every restart point up to the last entry was passed; one left is inside that entry.
            if self.restart_index + 1 < self.block.restarts {
                let r = self.block.restart(self.restart_index + 1);
                self.corrupt(format!("restart point {r} is inside the last entry"));
                return false;
            }
            self.invalidate();
            return false;
        }
        let mut d = Decoder::new(&self.block.data[self.current..end]);
        let (Some(shared), Some(unshared), Some(value_len)) = (d.varint(), d.varint(), d.varint())
        else {
            self.corrupt(format!("bad entry header at offset {} in block", self.current));
            return false;
        };
        let delta = usize::try_from(unshared).ok().and_then(|n| d.bytes(n));
        let value_start = self.current + d.pos();
        let value = usize::try_from(value_len).ok().and_then(|n| d.bytes(n));
        let (Some(delta), Some(_), true) = (delta, value, shared <= self.key.len() as u64) else {
            self.corrupt(format!("entry at offset {} runs past its block", self.current));
            return false;
        };
        // Seeks and backward steps start decoding at restart points, so a scan that passes
        // one must find an entry starting there that shares nothing, or they would disagree.
        while self.restart_index + 1 < self.block.restarts {
            let r = self.block.restart(self.restart_index + 1);
            if r > self.current {
                break;
            }
            if r < self.current {
                self.corrupt(format!("restart point {r} is inside an entry"));
                return false;
            }
            self.restart_index += 1;
        }
        if shared != 0 && self.block.restart(self.restart_index) == self.current {
            self.corrupt(format!("entry at restart point {} shares key bytes", self.current));
            return false;
        }
        let had_prev = !self.key.is_empty();
        std::mem::swap(&mut self.key, &mut self.scratch);
        self.key.clear();
        self.key.extend_from_slice(&self.scratch[..shared as usize]);
        self.key.extend_from_slice(delta);
        if ikey::parse(&self.key).is_none() {
            self.corrupt(format!("malformed internal key at offset {}", self.current));
            return false;
        }
        if had_prev && ikey::compare(&self.scratch, &self.key) != Ordering::Less {
            self.corrupt(format!("key at offset {} is out of order", self.current));
            return false;
        }
        self.value = (value_start, value_start + value_len as usize);
        self.next = self.value.1;
        true
    }
}

impl InternalIter for BlockIter {
    fn valid(&self) -> bool {
        self.current < self.block.restarts_offset
    }

    fn key(&self) -> &[u8] {
        debug_assert!(self.valid());
        &self.key
    }

    fn value(&self) -> Bytes {
        debug_assert!(self.valid());
        self.block.data.slice(self.value.0..self.value.1)
    }

    fn seek(&mut self, target: &[u8]) {
        if self.err.is_some() || self.block.is_empty() {
            return self.invalidate();
        }
        // The last restart point whose key is < target; the answer is at or after it.
        let (mut left, mut right) = (0, self.block.restarts - 1);
        while left < right {
            let mid = (left + right).div_ceil(2);
            match self.block.restart_key(mid) {
                Ok(k) if ikey::compare(k, target) == Ordering::Less => left = mid,
                Ok(_) => right = mid - 1,
                Err(reason) => return self.corrupt(reason),
            }
        }
        self.seek_to_restart(left);
        while self.parse_next() {
            if ikey::compare(&self.key, target) != Ordering::Less {
                return;
            }
        }
    }

    fn seek_for_prev(&mut self, target: &[u8]) {
        self.seek(target);
        if self.err.is_some() {
            return;
        }
        if !self.valid() {
            self.seek_to_last();
        } else if ikey::compare(&self.key, target) == Ordering::Greater {
            self.prev();
        }
    }

    fn seek_to_first(&mut self) {
        if self.err.is_some() || self.block.is_empty() {
            return self.invalidate();
        }
        self.seek_to_restart(0);
        self.parse_next();
    }

    fn seek_to_last(&mut self) {
        if self.err.is_some() || self.block.is_empty() {
            return self.invalidate();
        }
        self.seek_to_restart(self.block.restarts - 1);
        while self.parse_next() && self.next < self.block.restarts_offset {}
    }

    fn next(&mut self) {
        debug_assert!(self.valid());
        self.parse_next();
    }

    fn prev(&mut self) {
        debug_assert!(self.valid());
        let original = self.current;
        // parse_next checks order within the scan from a restart point; the step back to the
        // previous interval's last entry is checked here, against the key we leave.
        std::mem::swap(&mut self.key, &mut self.left_key);
        while self.block.restart(self.restart_index) >= original {
            if self.restart_index == 0 {
                return self.invalidate();
            }
            self.restart_index -= 1;
        }
        self.seek_to_restart(self.restart_index);
        while self.parse_next() {
            match self.next.cmp(&original) {
                Ordering::Less => {}
                Ordering::Equal if ikey::compare(&self.key, &self.left_key) == Ordering::Less => {
                    return;
                }
                Ordering::Equal => {
                    return self.corrupt(format!("key at offset {} is out of order", self.current));
                }
                Ordering::Greater => {
                    return self.corrupt(format!("no entry ends at offset {original}"));
                }
            }
        }
    }

    fn take_error(&mut self) -> Option<Error> {
        self.err.take()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ikey::ValueKind;
    use lode_testkit::{Seed, iterations};
    use rand::Rng;
    use rand::rngs::StdRng;
    use std::path::PathBuf;

    pub(crate) type Entry = (Vec<u8>, Vec<u8>);

    /// Random sorted entries: short user keys from a tiny alphabet (so keys are often prefixes
    /// of each other, and empty), several versions each, Puts and Deletes, small and large values.
    pub(crate) fn random_entries(rng: &mut StdRng, n: usize) -> Vec<Entry> {
        let mut out: Vec<Entry> = Vec::with_capacity(n);
        let hot = random_user_key(rng);
        for _ in 0..n {
            let user_key = if rng.random_bool(0.2) { hot.clone() } else { random_user_key(rng) };
            let seq = rng.random_range(0..1000);
            let kind = if rng.random_bool(0.2) { ValueKind::Delete } else { ValueKind::Put };
            let value = match kind {
                ValueKind::Delete => Vec::new(),
                ValueKind::Put if rng.random_bool(0.05) => {
                    vec![rng.random(); rng.random_range(100..400)]
                }
                ValueKind::Put => (0..rng.random_range(0..20)).map(|_| rng.random()).collect(),
            };
            out.push((ikey::make(&user_key, seq, kind), value));
        }
        out.sort_by(|a, b| ikey::compare(&a.0, &b.0));
        // One entry per (user key, seqno): a table never holds two.
        out.dedup_by(|b, a| {
            let (a, b) = (ikey::parse(&a.0), ikey::parse(&b.0));
            a.map(|p| (p.user_key, p.seq)) == b.map(|p| (p.user_key, p.seq))
        });
        out
    }

    pub(crate) fn random_user_key(rng: &mut StdRng) -> Vec<u8> {
        let len = rng.random_range(0..4);
        (0..len).map(|_| b"ab\x00\xff"[rng.random_range(0..4)]).collect()
    }

    /// A seek target: sometimes an exact key, sometimes a seek key between versions.
    pub(crate) fn random_target(rng: &mut StdRng, entries: &[Entry]) -> Vec<u8> {
        if !entries.is_empty() && rng.random_bool(0.3) {
            return entries[rng.random_range(0..entries.len())].0.clone();
        }
        let user_key = random_user_key(rng);
        match rng.random_range(0..4) {
            0 => ikey::first_of(&user_key),
            1 => ikey::last_of(&user_key),
            2 => ikey::seek_target(&user_key, rng.random_range(0..1001)),
            _ => ikey::make(&user_key, rng.random_range(0..1001), ValueKind::Put),
        }
    }

    /// Drives `it` through random seeks and steps in both directions and checks every
    /// position against the sorted `model`.
    pub(crate) fn check_iter_against_model(
        it: &mut dyn InternalIter,
        model: &[Entry],
        rng: &mut StdRng,
        steps: usize,
    ) {
        let check = |it: &dyn InternalIter, pos: Option<usize>, what: &str| match pos {
            Some(i) => {
                assert!(it.valid(), "{what}: expected entry {i} of {}, got invalid", model.len());
                assert_eq!(it.key(), &model[i].0[..], "{what}: key at {i}");
                assert_eq!(&it.value()[..], &model[i].1[..], "{what}: value at {i}");
            }
            None => assert!(!it.valid(), "{what}: expected invalid"),
        };
        // Full scans both ways.
        it.seek_to_first();
        for i in 0..model.len() {
            check(it, Some(i), "forward scan");
            it.next();
        }
        check(it, None, "after forward scan");
        it.seek_to_last();
        for i in (0..model.len()).rev() {
            check(it, Some(i), "backward scan");
            it.prev();
        }
        check(it, None, "after backward scan");
        // Every key, and the seek keys just before and after each user key's versions.
        for (i, (key, _)) in model.iter().enumerate() {
            it.seek(key);
            check(it, Some(i), "seek to an existing key");
            it.seek_for_prev(key);
            check(it, Some(i), "seek_for_prev to an existing key");
            let user_key = ikey::user_key(key);
            let first = ikey::first_of(user_key);
            it.seek(&first);
            let pos = model.iter().position(|e| ikey::compare(&e.0, &first) != Ordering::Less);
            check(it, pos, "seek before a user key");
            let last = ikey::last_of(user_key);
            it.seek_for_prev(&last);
            let pos = model.iter().rposition(|e| ikey::compare(&e.0, &last) != Ordering::Greater);
            check(it, pos, "seek_for_prev after a user key");
        }
        // Random walk.
        let mut pos: Option<usize> = None;
        for _ in 0..steps {
            let op = rng.random_range(0..6);
            if pos.is_none() && op >= 4 {
                continue;
            }
            let what;
            match op {
                0 => {
                    let t = random_target(rng, model);
                    it.seek(&t);
                    pos = model.iter().position(|e| ikey::compare(&e.0, &t) != Ordering::Less);
                    what = "seek";
                }
                1 => {
                    let t = random_target(rng, model);
                    it.seek_for_prev(&t);
                    pos = model.iter().rposition(|e| ikey::compare(&e.0, &t) != Ordering::Greater);
                    what = "seek_for_prev";
                }
                2 => {
                    it.seek_to_first();
                    pos = (!model.is_empty()).then_some(0);
                    what = "seek_to_first";
                }
                3 => {
                    it.seek_to_last();
                    pos = model.len().checked_sub(1);
                    what = "seek_to_last";
                }
                4 => {
                    it.next();
                    pos = pos.map(|p| p + 1).filter(|&p| p < model.len());
                    what = "next";
                }
                _ => {
                    it.prev();
                    pos = pos.and_then(|p| p.checked_sub(1));
                    what = "prev";
                }
            }
            check(it, pos, what);
        }
        assert!(it.take_error().is_none());
    }

    fn build_block(entries: &[Entry], restart_interval: usize) -> Block {
        let mut b = BlockBuilder::new(restart_interval);
        for (k, v) in entries {
            b.add(k, v);
        }
        Block::parse(Bytes::copy_from_slice(b.finish())).expect("own block parses")
    }

    fn iter_of(block: Block) -> BlockIter {
        BlockIter::new(block, Arc::from(PathBuf::from("test.sst")), 0)
    }

    #[test]
    fn block_round_trips_and_matches_model_for_random_keys() {
        let seed = Seed::new("block_round_trips_and_matches_model_for_random_keys");
        let mut rng = seed.rng(0);
        for round in 0..iterations(200) {
            let n = rng.random_range(0..120);
            let entries = random_entries(&mut rng, n);
            let interval = [1, 2, 3, 16][round % 4];
            let block = build_block(&entries, interval);
            let mut it = iter_of(block);
            check_iter_against_model(&mut it, &entries, &mut rng, 200);
        }
    }

    #[test]
    fn block_empty_is_invalid_everywhere() {
        let mut it = iter_of(build_block(&[], 16));
        it.seek_to_first();
        assert!(!it.valid());
        it.seek_to_last();
        assert!(!it.valid());
        it.seek(b"anything");
        assert!(!it.valid());
        it.seek_for_prev(&ikey::last_of(b"zzz"));
        assert!(!it.valid());
        assert!(it.take_error().is_none());
    }

    #[test]
    #[should_panic(expected = "strictly increase")]
    fn block_builder_panics_on_keys_out_of_order() {
        let mut b = BlockBuilder::new(16);
        b.add(&ikey::make(b"b", 1, ValueKind::Put), b"");
        b.add(&ikey::make(b"a", 1, ValueKind::Put), b"");
    }

    #[test]
    #[should_panic(expected = "strictly increase")]
    fn block_builder_panics_on_out_of_order_key_at_restart_point() {
        let mut b = BlockBuilder::new(1);
        b.add(&ikey::make(b"b", 1, ValueKind::Put), b"");
        b.add(&ikey::make(b"b", 1, ValueKind::Put), b"");
    }

    #[test]
    fn block_parse_rejects_bad_restart_arrays() {
        let bad: [&[u8]; 5] = [
            &[],
            &[1, 0, 0],
            &[9, 1, 0, 0, 0], // one restart point that does not fit
            &[0, 0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0], // restart 0 must be 0
            &[0xff, 0xff, 0xff, 0xff], // 2^32 - 1 restarts in 4 bytes
        ];
        for b in bad {
            assert!(Block::parse(Bytes::copy_from_slice(b)).is_err(), "{b:?}");
        }
        assert!(Block::parse(Bytes::from_static(&[0, 0, 0, 0])).is_ok(), "empty block");
    }

    #[test]
    fn block_iter_reports_corruption_on_garbage_entries() {
        let seed = Seed::new("block_iter_reports_corruption_on_garbage_entries");
        let mut rng = seed.rng(0);
        let entries = random_entries(&mut rng, 40);
        let good = build_block(&entries, 4);
        for i in 0..good.restarts_offset {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut bytes = good.data.to_vec();
                bytes[i] ^= flip;
                // Restart array intact: entries decode with checks, never a panic.
                let Ok(block) = Block::parse(Bytes::from(bytes)) else {
                    continue;
                };
                let mut it = iter_of(block);
                it.seek_to_first();
                while it.valid() {
                    it.next();
                }
                it.seek_to_last();
                while it.valid() {
                    it.prev();
                }
                it.seek(&random_target(&mut rng, &entries));
                let _ = it.take_error();
            }
        }
    }

    /// A block laid out by hand: `(shared, key bytes after the shared ones, value)` per entry,
    /// then the restart array as given (nothing is checked, so it can be wrong).
    fn raw_block(entries: &[(u64, Vec<u8>, &[u8])], restarts: &[u32]) -> Block {
        let mut buf = Vec::new();
        for (shared, delta, value) in entries {
            put_varint(&mut buf, *shared);
            put_varint(&mut buf, delta.len() as u64);
            put_varint(&mut buf, value.len() as u64);
            buf.extend_from_slice(delta);
            buf.extend_from_slice(value);
        }
        for r in restarts {
            buf.extend_from_slice(&r.to_le_bytes());
        }
        buf.extend_from_slice(&(restarts.len() as u32).to_le_bytes());
        Block::parse(Bytes::from(buf)).expect("restart array in bounds and increasing")
    }

    /// Scans `block` backward; the keys returned, and whether it ended in corruption.
    fn scan_back(block: Block) -> (Vec<Vec<u8>>, bool) {
        let mut it = iter_of(block);
        let mut keys = Vec::new();
        it.seek_to_last();
        while it.valid() {
            keys.push(it.key().to_vec());
            it.prev();
        }
        (keys, it.take_error().is_some_and(|e| e.is_corruption()))
    }

    #[test]
    fn block_iter_reports_corruption_when_a_backward_step_goes_up() {
        // Restart intervals each in order, but the second sorts before the first.
        let (b, a) = (ikey::make(b"b", 1, ValueKind::Put), ikey::make(b"a", 1, ValueKind::Put));
        let entry_len = 3 + b.len() as u32;
        let block = raw_block(&[(0, b, b""), (0, a.clone(), b"")], &[0, entry_len]);
        let (keys, corrupt) = scan_back(block);
        assert_eq!(keys, vec![a], "the last entry, then the step back is refused");
        assert!(corrupt);
    }

    #[test]
    fn block_iter_reports_corruption_for_a_restart_point_inside_an_entry() {
        // The first entry's key hides an entry of its own 3 bytes in, where a restart point
        // says an entry starts; a scan from 0 and a seek to that point would disagree.
        let inner = ikey::make(b"zz", 1, ValueKind::Put);
        let mut hidden = vec![0u8, inner.len() as u8, 0];
        hidden.extend_from_slice(&inner);
        let first = ikey::make(&hidden, 1, ValueKind::Put);
        let second = ikey::make(b"zzz", 1, ValueKind::Put);
        let block = raw_block(&[(0, first, b""), (0, second, b"")], &[0, 3]);
        let mut it = iter_of(block);
        it.seek_to_first();
        assert!(it.valid());
        it.next();
        assert!(!it.valid());
        assert!(it.take_error().is_some_and(|e| e.is_corruption()));
    }

    #[test]
    fn block_iter_reports_corruption_for_a_restart_point_inside_the_last_entry() {
        // The only entry's value hides an entry where a second restart point says one starts:
        // a scan ends after the real entry, a backward scan starts at the hidden one.
        let hidden_key = ikey::make(b"zz", 1, ValueKind::Put);
        let mut value = vec![0u8, hidden_key.len() as u8, 0];
        value.extend_from_slice(&hidden_key);
        let key = ikey::make(b"a", 1, ValueKind::Put);
        let at = 3 + key.len() as u32;
        let block = raw_block(&[(0, key, &value)], &[0, at]);
        let mut it = iter_of(block);
        it.seek_to_first();
        assert!(it.valid());
        it.next();
        assert!(!it.valid());
        assert!(it.take_error().is_some_and(|e| e.is_corruption()), "the scan passes the point");
    }

    #[test]
    fn block_iter_reports_corruption_for_a_restart_entry_that_shares_key_bytes() {
        let (a1, a2) = (ikey::make(b"aa", 2, ValueKind::Put), ikey::make(b"ab", 1, ValueKind::Put));
        let entry_len = 3 + a1.len() as u32;
        let block = raw_block(&[(0, a1, b""), (1, a2[1..].to_vec(), b"")], &[0, entry_len]);
        let mut it = iter_of(block.clone());
        it.seek_to_first();
        assert!(it.valid());
        it.next();
        assert!(!it.valid(), "a scan must not accept what a seek to that restart point refuses");
        assert!(it.take_error().is_some_and(|e| e.is_corruption()));
        assert_eq!(scan_back(block), (Vec::new(), true));
    }

    #[test]
    fn block_handle_round_trips_and_checks_bounds() {
        let h = BlockHandle { offset: 300, size: 70_000 };
        let mut buf = Vec::new();
        h.encode_to(&mut buf);
        assert_eq!(BlockHandle::decode(&buf), Some(h));
        assert_eq!(BlockHandle::decode(&buf[..buf.len() - 1]), None);
        buf.push(0);
        assert_eq!(BlockHandle::decode(&buf), None, "trailing bytes");
        let end = 300 + 70_000 + BLOCK_TRAILER_BYTES as u64;
        assert_eq!(h.check(end), Ok(70_000));
        assert!(h.check(end - 1).is_err());
        assert!(BlockHandle { offset: u64::MAX, size: 1 }.check(u64::MAX).is_err());
        let at_limit = BlockHandle { offset: 0, size: BLOCK_BYTES_MAX as u64 };
        assert!(at_limit.check(u64::MAX).is_ok());
        let past_limit = BlockHandle { offset: 0, size: BLOCK_BYTES_MAX as u64 + 1 };
        assert!(past_limit.check(u64::MAX).is_err());
    }

    #[test]
    fn block_entry_limit_accepts_limit_and_refuses_one_past() {
        assert!(check_entry_bytes(64 << 10, (512 << 20) as usize).is_ok());
        assert!(check_entry_bytes(0, ENTRY_BYTES_MAX).is_ok());
        assert!(check_entry_bytes(10, ENTRY_BYTES_MAX - 10).is_ok());
        let err = check_entry_bytes(10, ENTRY_BYTES_MAX - 9).expect_err("one past the limit");
        assert!(matches!(err, Error::TooLarge { .. }), "{err}");
        assert!(check_entry_bytes(usize::MAX, usize::MAX).is_err());
    }

    #[test]
    fn block_lz4_length_limit_accepts_limit_and_refuses_one_past() {
        let max = BLOCK_BYTES_MAX as u64;
        assert_eq!(check_lz4_uncompressed_bytes(usize::MAX, max), Ok(BLOCK_BYTES_MAX));
        assert!(check_lz4_uncompressed_bytes(usize::MAX, max + 1).is_err());
        assert_eq!(check_lz4_uncompressed_bytes(100, 100 * LZ4_EXPANSION_MAX), Ok(25_500));
        assert!(check_lz4_uncompressed_bytes(100, 100 * LZ4_EXPANSION_MAX + 1).is_err());
    }

    #[test]
    fn block_lz4_expansion_of_real_data_stays_within_bound() {
        let raw = vec![0u8; 1 << 20];
        let mut scratch = Vec::new();
        let (stored, t) = seal(&raw, Compression::Lz4, &mut scratch);
        assert_eq!(t, BLOCK_TYPE_LZ4);
        assert!(check_lz4_uncompressed_bytes(stored.len(), raw.len() as u64).is_ok());
    }

    #[test]
    fn block_seal_unseal_round_trips_and_detects_damage() {
        let seed = Seed::new("block_seal_unseal_round_trips_and_detects_damage");
        let mut rng = seed.rng(0);
        for compression in [Compression::None, Compression::Lz4] {
            let entries = random_entries(&mut rng, 200);
            let mut b = BlockBuilder::new(16);
            for (k, v) in &entries {
                b.add(k, v);
            }
            let raw = b.finish().to_vec();
            let mut scratch = Vec::new();
            let (stored, t) = seal(&raw, compression, &mut scratch);
            let expected_type = match compression {
                Compression::None => BLOCK_TYPE_NONE,
                Compression::Lz4 => BLOCK_TYPE_LZ4,
            };
            assert_eq!(t, expected_type, "this data compresses");
            let mut disk = stored.to_vec();
            disk.extend_from_slice(&trailer(stored, t));
            assert_eq!(unseal(disk.clone()).as_deref(), Ok(&raw[..]));
            for i in 0..disk.len() {
                let mut bad = disk.clone();
                bad[i] ^= 1 << rng.random_range(0..8);
                assert!(unseal(bad).is_err(), "flip at {i} went unnoticed");
            }
            assert!(unseal(disk[..4].to_vec()).is_err());
        }
        // Incompressible data is stored as is.
        let raw: Vec<u8> = (0..300).map(|_| rng.random()).collect();
        let mut scratch = Vec::new();
        assert_eq!(seal(&raw, Compression::Lz4, &mut scratch).1, BLOCK_TYPE_NONE);
    }

    #[test]
    fn block_unseal_rejects_unknown_type_and_lying_lz4_length() {
        let stored = [1u8, 2, 3];
        let mut disk = stored.to_vec();
        disk.extend_from_slice(&trailer(&stored, 7));
        assert!(unseal(disk).expect_err("type 7").contains("unknown"));
        // A valid checksum over an LZ4 block whose length prefix lies.
        let mut scratch = Vec::new();
        let raw = vec![5u8; 1000];
        let (stored, t) = seal(&raw, Compression::Lz4, &mut scratch);
        let mut lying = stored.to_vec();
        lying[..4].copy_from_slice(&999u32.to_le_bytes());
        lying.extend_from_slice(&trailer(&lying.clone(), t));
        assert!(unseal(lying).is_err());
    }
}
