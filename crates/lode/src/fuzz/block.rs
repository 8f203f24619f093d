//! The block harness: untrusted bytes as one SST block, and the block contents the SST
//! harness assembles tables from.

use super::input::Input;
use super::walk::{Entry, check_scans, scan_backward, scan_forward, walk};
use crate::encoding::put_varint;
use crate::ikey;
use crate::iter::InternalIter;
use crate::sst::{
    BLOCK_TRAILER_BYTES, BLOCK_TYPE_LZ4, Block, BlockBuilder, BlockIter, trailer, unseal,
};
use bytes::Bytes;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Most entries a harness puts in one block or table: enough for several restart intervals.
const ENTRIES_MAX: usize = 48;

/// Sorted entries with distinct `(user key, seqno)` and empty tombstones, as a flush writes them.
pub(crate) fn sorted_entries(input: &mut Input<'_>) -> Vec<Entry> {
    let n = input.below(ENTRIES_MAX + 1);
    let mut entries: Vec<Entry> = (0..n)
        .map(|_| {
            let key = input.internal_key();
            let put = ikey::parse(&key).is_some_and(|p| p.kind == ikey::ValueKind::Put);
            (key, if put { input.value() } else { Vec::new() })
        })
        .collect();
    entries.sort_by(|a, b| ikey::compare(&a.0, &b.0));
    entries.dedup_by(|b, a| {
        let (a, b) = (ikey::parse(&a.0), ikey::parse(&b.0));
        a.map(|p| (p.user_key, p.seq)) == b.map(|p| (p.user_key, p.seq))
    });
    entries
}

/// Lays out a block the way [`BlockBuilder`] does, but for entries in any order (and an index
/// of arbitrary values): what a bug or a forger could have written, checksummed and all.
pub(crate) fn encode_block(entries: &[Entry], restart_interval: usize) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut restarts: Vec<u32> = Vec::new();
    let mut last: &[u8] = &[];
    for (i, (key, value)) in entries.iter().enumerate() {
        let shared = if i % restart_interval.max(1) == 0 {
            restarts.push(u32::try_from(buf.len()).expect("harness blocks are small"));
            0
        } else {
            last.iter().zip(key).take_while(|(a, b)| a == b).count()
        };
        put_varint(&mut buf, shared as u64);
        put_varint(&mut buf, (key.len() - shared) as u64);
        put_varint(&mut buf, value.len() as u64);
        buf.extend_from_slice(&key[shared..]);
        buf.extend_from_slice(value);
        last = key;
    }
    for r in &restarts {
        buf.extend_from_slice(&r.to_le_bytes());
    }
    buf.extend_from_slice(&(restarts.len() as u32).to_le_bytes());
    buf
}

/// Block contents chosen by the input, and the entries they hold when that is known.
pub(crate) fn block_contents(input: &mut Input<'_>) -> (Vec<u8>, Option<Vec<Entry>>) {
    match input.u8() % 4 {
        // Raw bytes.
        0 => (input.chunk(600).to_vec(), None),
        // Entries in the input's order (often out of order), prefix-compressed.
        1 => {
            let n = input.below(ENTRIES_MAX + 1);
            let entries: Vec<Entry> =
                (0..n).map(|_| (input.internal_key(), input.value())).collect();
            (encode_block(&entries, 1 + input.below(16)), None)
        }
        // A valid block, then bytes flipped where the input says.
        _ => {
            let entries = sorted_entries(input);
            let mut b = BlockBuilder::new(1 + input.below(16));
            for (k, v) in &entries {
                b.add(k, v);
            }
            let mut bytes = b.finish().to_vec();
            let flips = input.below(4);
            for _ in 0..flips {
                let at = input.below(bytes.len());
                bytes[at] ^= input.u8();
            }
            let unchanged = flips == 0;
            (bytes, unchanged.then_some(entries))
        }
    }
}

/// The last key of block contents, when they parse that far.
pub(crate) fn last_key(contents: &[u8]) -> Option<Vec<u8>> {
    let block = Block::parse(Bytes::copy_from_slice(contents)).ok()?;
    let mut it = BlockIter::new(block, path(), 0);
    it.seek_to_last();
    it.valid().then(|| it.key().to_vec())
}

/// The user keys of block contents, as far as a scan gets.
pub(crate) fn user_keys_of(contents: &[u8]) -> Vec<Vec<u8>> {
    let Ok(block) = Block::parse(Bytes::copy_from_slice(contents)) else { return Vec::new() };
    let mut it = BlockIter::new(block, path(), 0);
    let mut keys = Vec::new();
    it.seek_to_first();
    while it.valid() {
        keys.push(ikey::user_key(it.key()).to_vec());
        it.next();
    }
    keys
}

fn path() -> Arc<Path> {
    Arc::from(PathBuf::from("000007.sst"))
}

/// Checks block contents: parsing fails cleanly, or every scan and walk keeps the iterator's
/// invariants (see [`super::walk`]) and matches `expected` when given.
pub(crate) fn check_block(contents: Vec<u8>, expected: Option<&[Entry]>, input: &mut Input<'_>) {
    let block = match Block::parse(Bytes::from(contents)) {
        Ok(block) => block,
        Err(why) => {
            assert!(expected.is_none(), "a block the builder wrote does not parse: {why}");
            return;
        }
    };
    let mut it = BlockIter::new(block, path(), 0);
    let forward = scan_forward(&mut it);
    let backward = scan_backward(&mut it);
    let model = check_scans(&forward, &backward, expected);
    if expected.is_some() {
        assert!(forward.error.is_none() && backward.error.is_none(), "a valid block failed");
    }
    walk(&mut it, model.as_deref(), input, 64);
}

/// See [`super::fuzz_block_iter`].
pub(crate) fn fuzz_block_iter(data: &[u8]) {
    let mut input = Input::new(data);
    if input.one_in(4) {
        // Stored bytes as read from disk, with a trailer from the input or one that verifies
        // (so decompression of arbitrary bytes is reached).
        let block_type = input.u8() % 3;
        let stored = input.chunk(1200);
        let mut disk = stored.to_vec();
        if input.bool() {
            disk.extend_from_slice(&trailer(stored, block_type));
        }
        let n = disk.len();
        let lz4 = n >= BLOCK_TRAILER_BYTES && disk[n - BLOCK_TRAILER_BYTES] == BLOCK_TYPE_LZ4;
        let claimed = disk.get(..4).map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")));
        if let Ok(contents) = unseal(disk) {
            if lz4 {
                assert_eq!(Some(contents.len() as u32), claimed, "LZ4 block length");
            }
            check_block(contents.to_vec(), None, &mut input);
        }
        return;
    }
    let (contents, expected) = block_contents(&mut input);
    check_block(contents, expected.as_deref(), &mut input);
}
