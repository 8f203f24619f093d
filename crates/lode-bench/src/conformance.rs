//! The correctness script every adapter runs before its numbers count: puts, gets, overwrites,
//! deletes (of present and absent keys), an atomic mixed batch, a durable write, ordered scans
//! (from a key, bounded, stopped early, past the end), a fill large enough to leave the
//! memtable after `settle`, and a reopen that must give back exactly the same contents. An
//! adapter that mixes up keys, drops a delete or returns a scan out of order fails here
//! instead of producing a fast, wrong figure.

use crate::engines::{self, Durability, Engine, EngineOptions, Op};
use crate::keys::{KeySpace, Permutation, Values};
use anyhow::{Result, bail, ensure};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// Keys of the bulk part of the script.
pub const BULK_KEYS: u64 = 3000;

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn get(engine: &dyn Engine, key: &[u8]) -> Result<Option<Vec<u8>>> {
    let mut out = Vec::new();
    Ok(engine.reader()?.get(key, &mut out)?.then_some(out))
}

fn scan(engine: &dyn Engine, from: &[u8], n: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut pairs = Vec::new();
    let seen = engine.reader()?.scan(from, n, &mut |k, v| {
        pairs.push((k.to_vec(), v.to_vec()));
        true
    })?;
    ensure!(seen == pairs.len(), "scan reported {seen} pairs and gave {}", pairs.len());
    Ok(pairs)
}

/// Everything the engine holds must equal `model`, by point reads and by a full scan.
fn same_as(engine: &dyn Engine, model: &Model, when: &str) -> Result<()> {
    let all = scan(engine, &[], usize::MAX)?;
    let expected: Vec<(Vec<u8>, Vec<u8>)> =
        model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    if all != expected {
        let first_difference = all.iter().zip(&expected).position(|(a, b)| a != b);
        bail!(
            "{when}: a full scan gave {} pairs where {} are stored (first difference at {:?})",
            all.len(),
            expected.len(),
            first_difference
        );
    }
    let mut reader = engine.reader()?;
    let mut out = Vec::new();
    for (k, v) in model {
        ensure!(reader.get(k, &mut out)? && &out == v, "{when}: get({k:?}) is wrong");
    }
    Ok(())
}

fn write(
    engine: &dyn Engine,
    model: &mut Model,
    ops: &[Op<'_>],
    durability: Durability,
) -> Result<()> {
    engine.write(ops, durability)?;
    for op in ops {
        match *op {
            Op::Put(k, v) => {
                model.insert(k.to_vec(), v.to_vec());
            }
            Op::Delete(k) => {
                model.remove(k);
            }
        }
    }
    Ok(())
}

/// Runs the script on engine `name` in `dir` (created; left for the caller to remove).
/// Returns the engine's description.
///
/// # Errors
/// The first thing the engine got wrong, or its error.
pub fn check(name: &str, dir: &Path, options: &EngineOptions) -> Result<String> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    let mut model = Model::new();
    let engine = engines::open(name, dir, options)?;
    let e = &*engine;
    let description = e.describe();
    ensure!(get(e, b"a")?.is_none(), "a new database has key a");
    ensure!(scan(e, &[], 10)?.is_empty(), "a new database scans non-empty");

    for (k, v) in [(&b"a"[..], &b"1"[..]), (b"b", b"2"), (b"c", b"3")] {
        write(e, &mut model, &[Op::Put(k, v)], Durability::Buffered)?;
    }
    ensure!(get(e, b"a")? == Some(b"1".to_vec()), "put then get");
    ensure!(get(e, b"bb")?.is_none(), "get of an absent key between two present ones");
    write(e, &mut model, &[Op::Put(b"b", b"22")], Durability::Buffered)?;
    ensure!(get(e, b"b")? == Some(b"22".to_vec()), "overwrite");
    write(e, &mut model, &[Op::Delete(b"a"), Op::Delete(b"zz")], Durability::Buffered)?;
    ensure!(get(e, b"a")?.is_none(), "delete");
    write(
        e,
        &mut model,
        &[Op::Put(b"d", b"4"), Op::Delete(b"c"), Op::Put(b"e", b"5"), Op::Put(b"d", b"44")],
        Durability::Buffered,
    )?;
    ensure!(get(e, b"d")? == Some(b"44".to_vec()), "the last put of a key in a batch wins");
    ensure!(get(e, b"c")?.is_none(), "a delete inside a batch");
    write(e, &mut model, &[Op::Put(b"f", b"6")], Durability::Durable)?;
    let binary_key = [0u8, 255, 0, 1];
    write(e, &mut model, &[Op::Put(&binary_key, &[9u8; 300])], Durability::Buffered)?;
    same_as(e, &model, "after the small script")?;

    let from_c = scan(e, b"c", 2)?;
    ensure!(
        from_c == vec![(b"d".to_vec(), b"44".to_vec()), (b"e".to_vec(), b"5".to_vec())],
        "scan from an absent key, bounded to 2: {from_c:?}"
    );
    ensure!(scan(e, b"g", 10)?.is_empty(), "scan past the last key");
    let mut visited = 0;
    let seen = e.reader()?.scan(&[], 10, &mut |_, _| {
        visited += 1;
        false
    })?;
    ensure!(seen == 1 && visited == 1, "a scan stopped by its callback went on");

    // Enough keys, in random order, that the LSM engines hold them in more than a memtable
    // once settled; then overwrite and delete some.
    let keys = KeySpace::new(99);
    let values = Values::new(99, 100);
    let order = Permutation::new(BULK_KEYS, 5);
    let mut v = Vec::new();
    for chunk in (0..BULK_KEYS).collect::<Vec<_>>().chunks(250) {
        let pairs: Vec<([u8; 16], Vec<u8>)> = chunk
            .iter()
            .map(|&j| {
                let i = order.at(j);
                values.fill(i, &mut v);
                (keys.key(i), v.clone())
            })
            .collect();
        let ops: Vec<Op<'_>> = pairs.iter().map(|(k, v)| Op::Put(k, v)).collect();
        write(e, &mut model, &ops, Durability::Buffered)?;
    }
    e.settle(Instant::now() + Duration::from_secs(30))?;
    let deleted: Vec<[u8; 16]> = (0..BULK_KEYS).step_by(7).map(|i| keys.key(i)).collect();
    let ops: Vec<Op<'_>> = deleted.iter().map(|k| Op::Delete(k)).collect();
    write(e, &mut model, &ops, Durability::Buffered)?;
    let k = keys.key(1);
    write(e, &mut model, &[Op::Put(&k, b"changed")], Durability::Buffered)?;
    same_as(e, &model, "after the bulk writes")?;

    // A reader made after a write sees it.
    write(e, &mut model, &[Op::Put(b"late", b"x")], Durability::Durable)?;
    ensure!(get(e, b"late")? == Some(b"x".to_vec()), "a new reader misses a finished write");

    drop(engine);
    let engine = engines::open(name, dir, options)?;
    same_as(&*engine, &model, "after a reopen")?;
    Ok(description)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> EngineOptions {
        EngineOptions { cache_bytes: 8 << 20, memtable_bytes: 64 << 10, kv_separation: false }
    }

    #[test]
    fn conformance_passes_for_lode() {
        let dir = tempfile::tempdir().expect("tempdir");
        let description = check("lode", &dir.path().join("db"), &options()).expect("conformance");
        assert!(description.starts_with("lode"));
    }

    #[cfg(feature = "peers")]
    #[test]
    fn conformance_passes_for_every_peer() {
        for name in ["rocksdb", "fjall", "redb", "sled", "lmdb"] {
            let dir = tempfile::tempdir().expect("tempdir");
            check(name, &dir.path().join("db"), &options())
                .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        }
    }

    #[test]
    fn conformance_catches_an_engine_that_drops_deletes() {
        // A Lode adapter that ignores deletes must fail the script.
        struct DropsDeletes(Box<dyn Engine>);
        impl Engine for DropsDeletes {
            fn name(&self) -> &'static str {
                "drops-deletes"
            }
            fn write(&self, ops: &[Op<'_>], d: Durability) -> Result<()> {
                let kept: Vec<Op<'_>> =
                    ops.iter().copied().filter(|o| matches!(o, Op::Put(..))).collect();
                self.0.write(&kept, d)
            }
            fn reader(&self) -> Result<Box<dyn crate::engines::Reader + '_>> {
                self.0.reader()
            }
            fn settle(&self, deadline: Instant) -> Result<()> {
                self.0.settle(deadline)
            }
            fn describe(&self) -> String {
                String::new()
            }
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let e = DropsDeletes(engines::open("lode", dir.path(), &options()).expect("open"));
        let mut model = Model::new();
        write(&e, &mut model, &[Op::Put(b"k", b"v")], Durability::Buffered).expect("put");
        write(&e, &mut model, &[Op::Delete(b"k")], Durability::Buffered).expect("delete");
        let err = same_as(&e, &model, "after a delete").expect_err("a dropped delete");
        assert!(err.to_string().contains("full scan gave 1 pairs where 0"), "{err}");
    }

    #[test]
    fn an_unknown_engine_is_refused_with_the_list() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = check("nosuch", dir.path(), &options()).expect_err("unknown engine");
        assert!(err.to_string().contains("choose from lode, rocksdb"), "{err}");
    }

    #[cfg(not(feature = "peers"))]
    #[test]
    fn a_peer_without_the_feature_says_how_to_build_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = check("rocksdb", dir.path(), &options()).expect_err("no peers");
        assert!(err.to_string().contains("--features peers"), "{err}");
    }
}
