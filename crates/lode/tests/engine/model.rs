//! Model test: random operation streams against a `BTreeMap`, under default and tiny sizes.
//!
//! Every read's answer is recorded; the model, the default-sized engine and the tiny-sized
//! engine (memtables and blocks so small that every path through flush and multi-file reads
//! runs) must all give the same answers.

use lode::fs::SimFs;
use lode::{Db, Durability, Options, Snapshot, WriteBatch};
use lode_testkit::{Seed, iterations};
use rand::Rng;
use rand::rngs::StdRng;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

#[derive(Debug, Clone)]
enum Op {
    Put(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
    Batch(Vec<(Vec<u8>, Option<Vec<u8>>)>),
    Get(Vec<u8>),
    Range(Bound<Vec<u8>>, Bound<Vec<u8>>, bool),
    Prefix(Vec<u8>, bool),
    /// Read alternately from both ends.
    Zigzag,
    TakeSnapshot,
    ReadSnapshot(usize, Vec<u8>),
    DropSnapshot(usize),
    Flush,
    Compact,
    WaitIdle,
    Reopen,
}

/// Keys from a tiny alphabet (prefixes of each other, empty, 0x00 and 0xff bytes), or, in a
/// wide stream, mostly from a keyspace of thousands so data spreads over several levels.
fn key(rng: &mut StdRng) -> Vec<u8> {
    if WIDE.with(|w| w.get()) && rng.random_bool(0.9) {
        return format!("w{:05}", rng.random_range(0..4000)).into_bytes();
    }
    const ALPHABET: &[u8] = b"ab\x00\xff";
    let len = rng.random_range(0..4);
    (0..len).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())]).collect()
}

thread_local! {
    /// Whether `stream` draws from the wide keyspace (set per test thread).
    static WIDE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn value(rng: &mut StdRng) -> Vec<u8> {
    let len =
        if rng.random_bool(0.05) { rng.random_range(100..3000) } else { rng.random_range(0..12) };
    (0..len).map(|_| rng.random()).collect()
}

fn bound(rng: &mut StdRng) -> Bound<Vec<u8>> {
    match rng.random_range(0..3) {
        0 => Bound::Unbounded,
        1 => Bound::Included(key(rng)),
        _ => Bound::Excluded(key(rng)),
    }
}

fn stream(rng: &mut StdRng, n: usize) -> Vec<Op> {
    (0..n)
        .map(|_| match rng.random_range(0..100) {
            0..30 => Op::Put(key(rng), value(rng)),
            30..40 => Op::Delete(key(rng)),
            40..48 => Op::Batch(
                (0..rng.random_range(0..6))
                    .map(|_| (key(rng), rng.random_bool(0.7).then(|| value(rng))))
                    .collect(),
            ),
            48..62 => Op::Get(key(rng)),
            62..70 => Op::Range(bound(rng), bound(rng), rng.random_bool(0.5)),
            70..74 => Op::Prefix(key(rng), rng.random_bool(0.5)),
            74..77 => Op::Zigzag,
            77..81 => Op::TakeSnapshot,
            81..88 => Op::ReadSnapshot(rng.random_range(0..8), key(rng)),
            88..91 => Op::DropSnapshot(rng.random_range(0..8)),
            91..95 => Op::Flush,
            95..96 => Op::Compact,
            96..98 => Op::WaitIdle,
            _ => Op::Reopen,
        })
        .collect()
}

fn valid_range(lo: &Bound<Vec<u8>>, hi: &Bound<Vec<u8>>) -> bool {
    // BTreeMap::range panics on inverted ranges; the engine returns nothing for them.
    match (lo, hi) {
        (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => {
            a < b || (a == b && matches!((lo, hi), (Bound::Included(_), Bound::Included(_))))
        }
        _ => true,
    }
}

type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

fn collect(iter: lode::Iter, reverse: bool) -> Pairs {
    let items: Vec<_> = if reverse { iter.rev().collect() } else { iter.collect() };
    items
        .into_iter()
        .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())).expect("iteration"))
        .collect()
}

fn model_range(m: &Model, lo: &Bound<Vec<u8>>, hi: &Bound<Vec<u8>>, reverse: bool) -> Pairs {
    if !valid_range(lo, hi) {
        return Vec::new();
    }
    let mut v: Pairs =
        m.range((lo.clone(), hi.clone())).map(|(k, v)| (k.clone(), v.clone())).collect();
    if reverse {
        v.reverse();
    }
    v
}

/// What a run did to the tree.
#[derive(Debug, Default)]
struct Shape {
    compactions: u64,
    /// The most levels below L0 that held files at once, sampled after each write.
    levels_used: usize,
}

/// Runs `ops` on a database in `dir`, checking each read against the model; returns the
/// answers in order and what the tree went through.
fn run(ops: &[Op], options: &Options, dir: &Path) -> (Vec<String>, Shape) {
    let mut shape = Shape::default();
    let open = || Db::open(dir, options.clone()).expect("open");
    let mut db = open();
    let mut model = Model::new();
    let mut snaps: Vec<(Snapshot, Model)> = Vec::new();
    let mut answers = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        if i % 64 == 0 {
            let levels = db.stats().level_files[1..].iter().filter(|&&n| n > 0).count();
            shape.levels_used = shape.levels_used.max(levels);
        }
        match op {
            Op::Put(k, v) => {
                db.put(k, v).expect("put");
                model.insert(k.clone(), v.clone());
            }
            Op::Delete(k) => {
                db.delete(k).expect("delete");
                model.remove(k);
            }
            Op::Batch(items) => {
                let mut b = WriteBatch::new();
                for (k, v) in items {
                    match v {
                        Some(v) => {
                            b.put(k, v);
                            model.insert(k.clone(), v.clone());
                        }
                        None => {
                            b.delete(k);
                            model.remove(k);
                        }
                    }
                }
                let durability = if i % 2 == 0 { Durability::Sync } else { Durability::Buffered };
                db.write_with(b, durability).expect("batch");
            }
            Op::Get(k) => {
                let got = db.get(k).expect("get").map(|v| v.to_vec());
                assert_eq!(got.as_ref(), model.get(k), "op {i}: get {k:?}");
                answers.push(format!("{got:?}"));
            }
            Op::Range(lo, hi, rev) => {
                let got = collect(db.range::<Vec<u8>, _>((lo.clone(), hi.clone())), *rev);
                assert_eq!(
                    got,
                    model_range(&model, lo, hi, *rev),
                    "op {i}: range {lo:?}..{hi:?} rev {rev}"
                );
                answers.push(format!("{got:?}"));
            }
            Op::Prefix(p, rev) => {
                let got = collect(db.prefix(p), *rev);
                let mut want: Pairs = model
                    .iter()
                    .filter(|(k, _)| k.starts_with(p))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if *rev {
                    want.reverse();
                }
                assert_eq!(got, want, "op {i}: prefix {p:?} rev {rev}");
                answers.push(format!("{got:?}"));
            }
            Op::Zigzag => {
                let mut it = db.iter();
                let mut got = Vec::new();
                let mut front = true;
                loop {
                    let next = if front { it.next() } else { it.next_back() };
                    let Some(item) = next else { break };
                    let (k, _) = item.expect("zigzag");
                    got.push((front, k.to_vec()));
                    front = !front;
                }
                // The fronts ascend, the backs descend, and together they are every key once.
                let mut keys: Vec<Vec<u8>> = got.iter().map(|g| g.1.clone()).collect();
                keys.sort();
                assert_eq!(keys, model.keys().cloned().collect::<Vec<_>>(), "op {i}: zigzag");
                answers.push(format!("{got:?}"));
            }
            Op::TakeSnapshot => snaps.push((db.snapshot(), model.clone())),
            Op::ReadSnapshot(n, k) => {
                if let Some((s, m)) = snaps.get(*n % snaps.len().max(1)) {
                    let got = s.get(k).expect("snapshot get").map(|v| v.to_vec());
                    assert_eq!(got.as_ref(), m.get(k), "op {i}: snapshot get {k:?}");
                    let all = collect(s.iter(), *n % 2 == 0);
                    let mut want: Pairs = m.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                    if *n % 2 == 0 {
                        want.reverse();
                    }
                    assert_eq!(all, want, "op {i}: snapshot iteration");
                    answers.push(format!("{got:?}{all:?}"));
                }
            }
            Op::DropSnapshot(n) => {
                if !snaps.is_empty() {
                    let n = *n % snaps.len();
                    snaps.remove(n);
                }
            }
            Op::Flush => db.flush().expect("flush"),
            Op::Compact => {
                db.compact().expect("compact");
                let s = db.stats();
                assert!(
                    s.level_files[..6].iter().all(|&n| n == 0),
                    "op {i}: compact left upper levels: {s:?}"
                );
            }
            Op::WaitIdle => db.wait_idle().expect("wait idle"),
            Op::Reopen => {
                shape.compactions += db.stats().compactions;
                snaps.clear();
                drop(db);
                db = open();
                let all = collect(db.iter(), false);
                let want: Pairs = model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                assert_eq!(all, want, "op {i}: contents after reopen");
            }
        }
    }
    shape.compactions += db.stats().compactions;
    (answers, shape)
}

/// Sizes so small that every stream flushes often and compacts through several levels.
fn tiny() -> Options {
    Options::default()
        .memtable_size(4 << 10)
        .block_size(64)
        .target_file_size(4 << 10)
        .level_base_size(8 << 10)
        .sync_interval(std::time::Duration::ZERO)
}

#[test]
fn model_wide_keyspace_compacts_through_levels_and_matches_btreemap() {
    let seed = Seed::new("model_wide_keyspace");
    WIDE.with(|w| w.set(true));
    for round in 0..iterations(2) {
        let mut rng = seed.rng(round as u64);
        let ops = stream(&mut rng, 6000);
        let (small, shape) = run(&ops, &sim(tiny()), Path::new("/db"));
        let (normal, _) = run(&ops, &sim(Options::default()), Path::new("/db"));
        assert_eq!(normal, small, "round {round}: tiny sizes changed an answer");
        assert!(shape.compactions > 0, "round {round}: {shape:?}");
        assert!(
            shape.levels_used >= 2,
            "round {round}: never more than one level below L0: {shape:?}"
        );
    }
}

fn sim(options: Options) -> Options {
    options.fs(Arc::new(SimFs::new()))
}

#[test]
fn model_random_streams_match_btreemap_under_default_and_tiny_sizes() {
    let seed = Seed::new("model_random_streams");
    for round in 0..iterations(6) {
        let mut rng = seed.rng(round as u64);
        let ops = stream(&mut rng, 1500);
        let (normal, _) = run(&ops, &sim(Options::default()), Path::new("/db"));
        let (small, shape) = run(&ops, &sim(tiny()), Path::new("/db"));
        assert_eq!(normal, small, "round {round}: tiny sizes changed an answer");
        assert!(shape.compactions > 0, "round {round}: tiny sizes ran no compaction");
    }
}

#[test]
fn model_stream_on_real_files_with_lz4_matches_simulated_files() {
    let seed = Seed::new("model_stream_on_real_files");
    let mut rng = seed.rng(0);
    let ops = stream(&mut rng, 800);
    let dir = tempfile::tempdir().expect("tempdir");
    let options = tiny().compression(lode::Compression::Lz4);
    let (real, _) =
        run(&ops, &options.clone().fs(Arc::new(lode::fs::RealFs)), &dir.path().join("db"));
    let (simulated, _) = run(&ops, &sim(options), Path::new("/db"));
    assert_eq!(real, simulated);
}
