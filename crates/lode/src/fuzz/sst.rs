//! The SST harness: untrusted bytes opened as a table, three ways.
//!
//! - Raw: the input is the file.
//! - Assembled: the input chooses the blocks (raw, out of order, or valid and then damaged),
//!   their compression and index keys, and the harness writes them with correct checksums,
//!   index and footer, so the reader's checks beyond the checksums are what is tested.
//! - Built then damaged: a table the builder wrote from the input's entries, then one byte
//!   flipped, the file cut short or extended: every read returns the original entries or an
//!   error, never a different answer.

use super::block::{block_contents, encode_block, last_key, sorted_entries, user_keys_of};
use super::input::Input;
use super::walk::{Entry, check_scans, scan_backward, scan_forward, walk};
use crate::Compression;
use crate::fs::{Fs, SimFs};
use crate::ikey::{self, SeqNo, ValueKind};
use crate::sst::{
    BlockCache, BlockHandle, Footer, TableBuilder, TableOptions, TableReader, seal, trailer,
};
use std::path::Path;
use std::sync::Arc;

const PATH: &str = "/db/000007.sst";

/// Appends `raw` to `file` as a block (compressed if the input says so and it shrinks), with a
/// trailer that verifies unless the input asks for a bad one.
fn write_block(file: &mut Vec<u8>, raw: &[u8], input: &mut Input<'_>) -> BlockHandle {
    let mode = input.u8();
    let compression = if mode & 1 == 1 { Compression::Lz4 } else { Compression::None };
    let mut scratch = Vec::new();
    let (stored, block_type) = seal(raw, compression, &mut scratch);
    let mut trailer = trailer(stored, block_type);
    if mode & 0x80 != 0 {
        trailer[1] ^= 1;
    }
    let handle = BlockHandle { offset: file.len() as u64, size: stored.len() as u64 };
    file.extend_from_slice(stored);
    file.extend_from_slice(&trailer);
    handle
}

/// A table laid out by the harness from blocks the input chooses; true when its filter (if any)
/// holds every user key its blocks hold (else a get may miss a key a scan finds: a filter is a
/// hint that no check can verify).
fn assemble(input: &mut Input<'_>) -> (Vec<u8>, bool) {
    let mut file = Vec::new();
    let mut index: Vec<Entry> = Vec::new();
    let mut user_keys: Vec<Vec<u8>> = Vec::new();
    for _ in 0..input.below(5) {
        let (contents, _) = block_contents(input);
        user_keys.extend(user_keys_of(&contents));
        let mut handle = write_block(&mut file, &contents, input);
        let key = match input.u8() % 4 {
            0 => input.internal_key(),
            _ => last_key(&contents).unwrap_or_else(|| input.internal_key()),
        };
        if input.one_in(8) {
            handle = BlockHandle { offset: u64::from(input.u16()), size: u64::from(input.u16()) };
        }
        let mut value = Vec::new();
        handle.encode_to(&mut value);
        index.push((key, value));
    }
    let filter_choice = input.u8() % 3;
    let filter = match filter_choice {
        0 => BlockHandle::default(),
        1 => {
            let mut bloom = crate::sst::BloomBuilder::new(1 + input.below(20) as u32);
            for k in &user_keys {
                bloom.add(k);
            }
            write_block(&mut file, &bloom.finish(), input)
        }
        _ => {
            let raw = input.chunk(64);
            write_block(&mut file, raw, input)
        }
    };
    let index = write_block(&mut file, &encode_block(&index, 1), input);
    file.extend_from_slice(&Footer { filter, index }.encode());
    (file, filter_choice != 2)
}

/// A table the builder writes from the input's entries, and those entries.
fn build(input: &mut Input<'_>) -> (Vec<u8>, Vec<Entry>) {
    let entries = sorted_entries(input);
    let opts = TableOptions {
        block_bytes: 64 << input.below(7),
        bloom_bits_per_key: if input.bool() { 10 } else { 0 },
        compression: if input.bool() { Compression::Lz4 } else { Compression::None },
    };
    let fs = SimFs::new();
    let path = Path::new(PATH);
    fs.create_dir_all(Path::new("/db")).expect("in-memory mkdir");
    let mut b = TableBuilder::new(fs.create(path).expect("in-memory create"), opts);
    for (k, v) in &entries {
        b.add(k, v).expect("in-memory write");
    }
    b.finish().expect("in-memory write");
    (fs.read_file(path).expect("just written"), entries)
}

/// One flip, a cut or an extension, as the input says; false if the bytes are unchanged.
fn damage(bytes: &mut Vec<u8>, input: &mut Input<'_>) -> bool {
    match input.u8() % 4 {
        0 => false,
        1 => {
            let at = input.below(bytes.len());
            bytes[at] ^= input.u8().max(1);
            true
        }
        2 => {
            let len = input.below(bytes.len());
            bytes.truncate(len);
            true
        }
        _ => {
            let tail = input.chunk(80);
            bytes.extend_from_slice(tail);
            !tail.is_empty()
        }
    }
}

/// The newest entry of `user_key` with seqno <= `seq` in sorted `entries`, as `get` gives it
/// (a tombstone's value, which the builder never writes, is not returned).
fn model_get(entries: &[Entry], user_key: &[u8], seq: SeqNo) -> Option<(ValueKind, Vec<u8>)> {
    entries.iter().find_map(|(k, v)| {
        let p = ikey::parse(k).expect("model keys are internal keys");
        let value = if p.kind == ValueKind::Put { v.clone() } else { Vec::new() };
        (p.user_key == user_key && p.seq <= seq).then_some((p.kind, value))
    })
}

/// Opens `bytes` as an SST and checks every way of reading it. `expected` is what the table
/// holds, and whether the bytes were damaged since it was written; `filter_complete`, that a
/// filter, if there is one, was built from every key.
fn check_table(
    bytes: &[u8],
    expected: Option<(&[Entry], bool)>,
    filter_complete: bool,
    input: &mut Input<'_>,
) {
    let fs = SimFs::new();
    let path = Path::new(PATH);
    fs.write_file(path, bytes);
    let file = fs.open(path).expect("just written");
    let cache_bytes = if input.bool() { 0 } else { 1 << 20 };
    let cache = Arc::new(BlockCache::new(cache_bytes));
    let intact = expected.is_some_and(|(_, damaged)| !damaged);
    let table = match TableReader::open(file, path.to_owned(), 7, cache) {
        Ok(t) => Arc::new(t),
        Err(e) => {
            assert!(e.is_corruption(), "open: {e}");
            assert!(!intact, "an intact table does not open: {e}");
            return;
        }
    };
    let mut it = table.iter();
    let forward = scan_forward(&mut it);
    let backward = scan_backward(&mut it);
    let model = check_scans(&forward, &backward, expected.map(|e| e.0));
    if intact {
        assert!(forward.error.is_none() && backward.error.is_none(), "an intact table fails");
    }
    let model = model.as_deref();
    for _ in 0..input.below(12) {
        let user_key = match model {
            Some(m) if !m.is_empty() && input.bool() => {
                ikey::user_key(&m[input.below(m.len())].0).to_vec()
            }
            _ => input.user_key(),
        };
        let seq = match input.u8() {
            0xff => ikey::SEQNO_MAX,
            s => SeqNo::from(s),
        };
        let got = table.get(&user_key, seq).map(|r| r.map(|(kind, v)| (kind, v.to_vec())));
        match (got, model) {
            (Ok(got), Some(m)) => {
                if got.is_some() || filter_complete || table.may_contain(&user_key) {
                    assert_eq!(got, model_get(m, &user_key, seq), "get({user_key:?}, {seq})");
                }
            }
            (Ok(_), None) => {}
            (Err(e), _) => {
                assert!(e.is_corruption(), "get: {e}");
                assert!(!intact, "get on an intact table fails: {e}");
            }
        }
        if let Some(m) = model
            && filter_complete
            && !table.may_contain(&user_key)
        {
            assert_eq!(model_get(m, &user_key, ikey::SEQNO_MAX), None, "bloom false negative");
        }
    }
    walk(&mut it, model, input, 64);
}

/// See [`super::fuzz_sst_reader`].
pub(crate) fn fuzz_sst_reader(data: &[u8]) {
    let mut input = Input::new(data);
    match input.u8() % 3 {
        0 => {
            let n = usize::from(input.u16());
            let bytes = input.bytes(n);
            check_table(bytes, None, false, &mut input);
        }
        1 => {
            let (bytes, filter_complete) = assemble(&mut input);
            check_table(&bytes, None, filter_complete, &mut input);
        }
        _ => {
            let (mut bytes, entries) = build(&mut input);
            let damaged = damage(&mut bytes, &mut input);
            check_table(&bytes, Some((&entries, damaged)), true, &mut input);
        }
    }
}
