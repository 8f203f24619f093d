//! Damaged files: flip and truncate bytes in every file type. The result is an error
//! (`Corruption` where a checksum or structure failed), or, for a WAL cut short, a clean
//! recovery of a prefix of the history; never a panic, never a value that was not written.

use lode::fs::{Fs, SimFs};
use lode::{Db, Durability, Options, WriteBatch};
use lode_testkit::{Seed, iterations};
use rand::Rng;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn options(fs: &SimFs) -> Options {
    Options::default()
        .memtable_size(4 << 10)
        .block_size(256)
        .sync_interval(Duration::ZERO)
        .fs(Arc::new(fs.clone()))
}

/// Builds a closed database with SSTs, a WAL with unflushed batches, a MANIFEST and CURRENT.
/// Returns its files and the model after each batch.
fn build() -> (Vec<(PathBuf, Vec<u8>)>, Vec<Model>) {
    let fs = SimFs::new();
    let dir = Path::new("/db");
    let db = Db::open(dir, options(&fs)).expect("open");
    let mut states = vec![Model::new()];
    for i in 0..120u32 {
        let mut model = states.last().cloned().unwrap_or_default();
        let mut b = WriteBatch::new();
        for j in 0..3 {
            let k = format!("key{:02}", (i * 7 + j * 13) % 40).into_bytes();
            if (i + j) % 5 == 4 {
                b.delete(&k);
                model.remove(&k);
            } else {
                let v = format!("value-{i}-{j}-{}", "x".repeat((i % 17) as usize)).into_bytes();
                b.put(&k, &v);
                model.insert(k, v);
            }
        }
        db.write_with(b, Durability::Sync).expect("write");
        states.push(model);
        if i == 80 {
            db.flush().expect("flush");
        }
    }
    drop(db);
    let files = fs
        .list(dir)
        .expect("list")
        .into_iter()
        .filter(|n| n != "LOCK")
        .map(|n| {
            let p = dir.join(&n);
            let bytes = fs.read_file(&p).expect("file");
            (p, bytes)
        })
        .collect();
    (files, states)
}

/// Opens a copy of `files` and reads everything: `Err` if anything failed.
fn read_all(files: &[(PathBuf, Vec<u8>)]) -> lode::Result<Model> {
    let fs = SimFs::new();
    for (p, b) in files {
        fs.write_file(p, b);
    }
    let db = Db::open(Path::new("/db"), options(&fs))?;
    let all = db
        .iter()
        .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())))
        .collect::<lode::Result<Model>>()?;
    let backward = db
        .iter()
        .rev()
        .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())))
        .collect::<lode::Result<Model>>()?;
    assert_eq!(all, backward, "forward and backward scans disagree");
    for k in all.keys() {
        let v = db.get(k)?;
        assert_eq!(v.as_deref(), all.get(k).map(Vec::as_slice), "get disagrees with the scan");
    }
    Ok(all)
}

fn kind_of(path: &Path) -> &'static str {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name.ends_with(".wal") {
        "wal"
    } else if name.ends_with(".sst") {
        "sst"
    } else if name.starts_with("MANIFEST") {
        "manifest"
    } else {
        "current"
    }
}

#[test]
fn corrupted_or_truncated_files_give_errors_or_a_prefix_never_wrong_values() {
    let seed = Seed::new("corrupted_or_truncated_files");
    let mut rng = seed.rng(0);
    let (files, states) = build();
    let clean = read_all(&files).expect("the undamaged database opens");
    assert_eq!(&clean, states.last().expect("states"));
    let kinds: Vec<&str> = files.iter().map(|f| kind_of(&f.0)).collect();
    for want in ["wal", "sst", "manifest", "current"] {
        assert!(kinds.contains(&want), "the test database has no {want} file: {kinds:?}");
    }
    let mut outcomes: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for (i, (path, bytes)) in files.iter().enumerate() {
        for trial in 0..iterations(60) {
            let mut damaged = files.clone();
            let truncate = trial % 3 == 0;
            let what = if truncate {
                let len = rng.random_range(0..bytes.len());
                damaged[i].1.truncate(len);
                format!("truncated to {len}")
            } else {
                let at = rng.random_range(0..bytes.len());
                damaged[i].1[at] ^= 1 << rng.random_range(0..8);
                format!("bit flipped at {at}")
            };
            let kind = kind_of(path);
            match read_all(&damaged) {
                Err(e) => {
                    assert!(
                        e.is_corruption(),
                        "{} {what}: expected Corruption, got {e}",
                        path.display()
                    );
                    *outcomes.entry((kind, "corruption")).or_default() += 1;
                }
                Ok(state) => {
                    assert!(
                        states.contains(&state),
                        "{} {what}: recovered a state that is no prefix of the history",
                        path.display()
                    );
                    *outcomes.entry((kind, "prefix")).or_default() += 1;
                }
            }
        }
    }
    // Flips in checksummed files must be caught, not shrugged off.
    assert!(outcomes.get(&("sst", "corruption")).copied().unwrap_or(0) > 0, "{outcomes:?}");
    assert!(outcomes.get(&("wal", "corruption")).copied().unwrap_or(0) > 0, "{outcomes:?}");
}

#[test]
fn older_wal_cut_at_a_record_boundary_is_corruption_not_a_silent_gap() {
    use lode::fs::SimOp;
    let fs = SimFs::new();
    let dir = Path::new("/db");
    let options = options(&fs);
    let db = Db::open(dir, options.clone()).expect("open");
    // The memtable switch creates its new WAL (the one create let through), and the batch that
    // filled the memtable goes into it; then the flush cannot create its SST, so both WALs stay.
    fs.fail(SimOp::Create, 1, u64::MAX);
    let mut written = 0;
    for i in 0..200u32 {
        let mut b = WriteBatch::new();
        b.put(format!("k{i:03}"), "v".repeat(100));
        if db.write_with(b, Durability::Sync).is_err() {
            break;
        }
        written += 1;
    }
    drop(db);
    fs.clear_faults();
    let mut wals: Vec<String> =
        fs.list(dir).expect("list").into_iter().filter(|n| n.ends_with(".wal")).collect();
    wals.sort();
    assert!(wals.len() >= 2, "the test needs several WALs: {wals:?} after {written} writes");
    // Cut the oldest WAL after its first record: the framing sees a clean end.
    let oldest = dir.join(&wals[0]);
    let bytes = fs.read_file(&oldest).expect("wal");
    let first_record = 12 + u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes")) as usize;
    assert!(first_record < bytes.len(), "the oldest WAL holds more than one record");
    fs.write_file(&oldest, &bytes[..first_record]);
    let err = Db::open(dir, options).expect_err("records missing before the newer WAL");
    assert!(err.is_corruption(), "{err}");
}
