//! Seed inputs for the fuzzers: files a real database wrote, wrapped in each harness's input
//! format (the "raw" modes), plus short operation streams for the engine harness. The
//! ignored test `fuzz_corpus_write_seeds` in tests/engine/fuzz_corpus.rs writes them into
//! `fuzz/corpus/`.

use crate::encoding::Decoder;
use crate::fs::{Fs, SimFs};
use crate::iter::InternalIter;
use crate::sst::{BLOCK_TRAILER_BYTES, Block, BlockHandle, BlockIter, FOOTER_BYTES, unseal};
use crate::{Compression, Db, Durability, Options, WriteBatch};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// A seed: the harness it is for, a file name, and the input.
pub type Seed = (&'static str, String, Vec<u8>);

const DIR: &str = "/db";

/// The files of `/db` whose names `pick` accepts, by name, as they are now.
fn files(fs: &SimFs, pick: impl Fn(&str) -> bool) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(DIR);
    let mut names = fs.list(dir).expect("list");
    names.sort();
    names
        .into_iter()
        .filter(|n| pick(n))
        .map(|n| {
            let bytes = fs.read_file(&dir.join(&n)).expect("listed");
            (n, bytes)
        })
        .collect()
}

/// Writes a small database with tiny sizes; returns it open (its WAL holds the batches since
/// the last flush) and its file system.
fn write_database(compression: Compression) -> (Db, SimFs) {
    let fs = SimFs::new();
    let options = Options::default()
        .memtable_size(4 << 10)
        .block_size(256)
        .target_file_size(4 << 10)
        .level_base_size(8 << 10)
        .compression(compression)
        .sync_interval(Duration::ZERO)
        .fs(Arc::new(fs.clone()));
    let db = Db::open(DIR, options).expect("create a database in memory");
    for i in 0..120u32 {
        let mut b = WriteBatch::new();
        b.put(
            format!("key{:03}", i * 7 % 50),
            format!("value {i} {}", "x".repeat((i % 9) as usize)),
        );
        if i % 5 == 0 {
            b.delete(format!("key{:03}", i % 50));
        }
        let durability = if i % 4 == 0 { Durability::Sync } else { Durability::Buffered };
        db.write_with(b, durability).expect("write");
        if i == 80 {
            db.compact().expect("compact");
        }
    }
    db.sync().expect("sync");
    // No flush or compaction half-written when the files are read.
    db.wait_idle().expect("wait for background work");
    (db, fs)
}

/// The on-disk bytes (stored and trailer) of every block of an SST: data, filter and index.
fn sst_blocks(sst: &[u8]) -> Vec<Vec<u8>> {
    let footer = &sst[sst.len() - FOOTER_BYTES..];
    let mut d = Decoder::new(footer);
    let mut handle =
        || BlockHandle { offset: d.u64().expect("footer"), size: d.u64().expect("footer") };
    let (filter, index) = (handle(), handle());
    let on_disk = |h: BlockHandle| {
        let start = h.offset as usize;
        sst[start..start + h.size as usize + BLOCK_TRAILER_BYTES].to_vec()
    };
    let mut out = vec![on_disk(index)];
    if filter.size > 0 {
        out.push(on_disk(filter));
    }
    let contents = unseal(on_disk(index)).expect("a real index block");
    let mut it =
        BlockIter::new(Block::parse(contents).expect("parses"), Arc::from(PathBuf::new()), 0);
    it.seek_to_first();
    while it.valid() {
        out.push(on_disk(BlockHandle::decode(&it.value()).expect("a real handle")));
        it.next();
    }
    out
}

/// Everything for every harness. The workload is fixed; file numbers may vary with the timing
/// of background work.
pub fn seed_inputs() -> Vec<Seed> {
    let mut seeds: Vec<Seed> = Vec::new();
    for (tag, compression) in [("plain", Compression::None), ("lz4", Compression::Lz4)] {
        let (db, fs) = write_database(compression);
        for (name, wal) in files(&fs, |n| n.ends_with(".wal")) {
            // Mode 0: the file as it is.
            seeds.push(("wal_reader", format!("{tag}-{name}"), [&[0u8][..], &wal].concat()));
        }
        let ssts = files(&fs, |n| n.ends_with(".sst"));
        for (name, sst) in ssts.iter().take(3) {
            // Mode 0: a u16 length, then the file; then probes and moves.
            let len = u16::try_from(sst.len()).expect("tiny SSTs");
            let input =
                [&[0u8][..], &len.to_le_bytes(), sst, b"\x06\x01abcdefgh\x00\x04\x05"].concat();
            seeds.push(("sst_reader", format!("{tag}-{name}"), input));
            for (i, block) in sst_blocks(sst).into_iter().enumerate().take(4) {
                // Mode 0 (stored bytes with their trailer), then moves.
                let len = u16::try_from(block.len()).expect("small blocks");
                let input =
                    [&[0u8, 0][..], &len.to_le_bytes(), &block, b"\x00\x00\x01\x02\x04\x05\x03"]
                        .concat();
                seeds.push(("block_iter", format!("{tag}-{name}-block{i}"), input));
            }
        }
        for (name, manifest) in files(&fs, |n| n.starts_with("MANIFEST-")) {
            // Mode 0: a good CURRENT naming MANIFEST-000001, which holds these bytes.
            seeds.push((
                "manifest_replay",
                format!("{tag}-{name}"),
                [&[0u8, 0][..], &manifest].concat(),
            ));
        }
        drop(db);
    }
    for (name, ops) in engine_streams() {
        seeds.push(("engine_model", name.to_string(), ops));
    }
    // One short input per mode of each structured harness, for the fuzzer to grow.
    for mode in 1..3u8 {
        seeds.push((
            "sst_reader",
            format!("mode{mode}"),
            [mode, 3, 1, 5, 7, 9, 0xc1, 4, 2, 1].to_vec(),
        ));
    }
    for mode in 1..4u8 {
        seeds.push((
            "block_iter",
            format!("mode{mode}"),
            [mode, mode, 9, 5, 1, 6, 2, 13, 3, 0, 4].to_vec(),
        ));
    }
    seeds.push(("wal_reader", "framed".into(), vec![1, 4, 1, 3, 5, 1, 3, 9, 2, 0, 4, 0, 1, 0, 5]));
    for mode in [2u8, 4] {
        seeds.push((
            "manifest_replay",
            format!("mode{mode}"),
            vec![mode, 0, 3, 7, 1, 2, 5, 1, 3, 1, 6, 1, 0],
        ));
    }
    seeds
}

/// Operation streams for the engine harness, in its encoding (see engine.rs): the first byte
/// picks the options, then each operation is its number and its arguments.
fn engine_streams() -> Vec<(&'static str, Vec<u8>)> {
    use super::engine::op::{
        BATCH, COMPACT, CRASH_AFTER, DELETE, FLUSH, GET, POWER_LOSS, PREFIX, PUT, RANGE,
        READ_SNAPSHOT, REOPEN, SNAPSHOT,
    };
    let mut fill = Vec::new();
    for i in 0..40u8 {
        // A key from the wide space (0xe0, then its number), a long value, sync every 4th.
        fill.extend_from_slice(&[PUT, 0xe0, i * 5, 0xc8, i, if i % 4 == 0 { 0 } else { 1 }]);
    }
    let reads = [GET, 0xe0, 10, RANGE, 1, 5, 2, 9, 2, PREFIX, 0xe0, 1, 0, READ_SNAPSHOT, 0, 6, 1];
    vec![
        (
            "basic",
            [&[0u8, PUT, 5, 3, b'a', b'b', b'c', 1, GET, 5, DELETE, 5, 0, GET, 5][..], &reads]
                .concat(),
        ),
        (
            "flush-compact",
            [&[0x11u8][..], &fill, &[SNAPSHOT, FLUSH], &fill, &[COMPACT], &reads].concat(),
        ),
        (
            "reopen",
            [&[2u8][..], &fill, &[REOPEN], &reads, &[BATCH, 3, 1, 1, 2, 0, 9, 0, 1, REOPEN]]
                .concat(),
        ),
        (
            "power-loss",
            [
                &[0x23u8][..],
                &fill[..120],
                &[CRASH_AFTER, 40],
                &fill[120..],
                &[POWER_LOSS, 7, 0],
                &reads,
            ]
            .concat(),
        ),
    ]
}
