//! A real full disk (a small tmpfs): the write that meets ENOSPC fails with `Error::Io`, every
//! later write with `PreviousIo`; reads keep working; nothing acknowledged is lost or damaged;
//! reopening while the disk is still full gives an I/O error or a correct database, never
//! corruption; once space is freed, reopening recovers every acknowledged write and writes
//! resume.
//!
//! The disk fills at whatever the engine is doing: a WAL append, a flush, a compaction or a
//! MANIFEST edit. Each round draws the memtable size and the value size, so over the rounds the
//! first failure lands in each of them.

use lode::{Db, Durability, Error, Options, WriteBatch};
use lode_testkit::{Seed, SmallFs, iterations};
use rand::Rng;
use std::collections::BTreeMap;

/// The small disk: big enough for several flushes and a compaction, small enough to fill fast.
const DISK_BYTES: u64 = 16 << 20;
/// A file written first and deleted to "free space". Larger than what the database can hold
/// beside it, because after a restart compaction needs room for its outputs before it deletes
/// its inputs (docs/durability.md tells operators the same).
const BALLAST_BYTES: usize = 9 << 20;
/// A round stops writing after this many batches even if the disk never fills (it must).
const BATCHES_MAX: u32 = 200_000;

fn value(i: u32, len: usize) -> Vec<u8> {
    let mut v = format!("v{i:08}-").into_bytes();
    v.resize(len, b'a' + (i % 26) as u8);
    v
}

fn options(memtable: usize) -> Options {
    Options::default()
        .memtable_size(memtable)
        .target_file_size(memtable as u64)
        .level_base_size(4 * memtable as u64)
        .cache_size(1 << 20)
}

fn check(db: &Db, acked: &BTreeMap<Vec<u8>, Vec<u8>>, what: &str) {
    for (k, v) in acked {
        let got = db.get(k).unwrap_or_else(|e| panic!("{what}: get {k:?}: {e}"));
        assert_eq!(got.as_deref(), Some(&v[..]), "{what}: key {:?}", String::from_utf8_lossy(k));
    }
    let scanned: Vec<Vec<u8>> = db
        .iter()
        .map(|kv| kv.map(|(k, _)| k.to_vec()))
        .collect::<lode::Result<_>>()
        .unwrap_or_else(|e| panic!("{what}: iterate: {e}"));
    // Every acknowledged key is there; at most the one batch in flight when the disk filled
    // (never acknowledged) may be there too.
    let extra: Vec<_> = scanned
        .iter()
        .filter(|k| !acked.contains_key(*k))
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .collect();
    assert!(extra.len() <= 1, "{what}: unacknowledged keys {extra:?}");
    assert!(scanned.len() >= acked.len(), "{what}: scan lost keys");
}

fn fill_until_full(
    db: &Db,
    rng: &mut impl Rng,
    value_len: usize,
) -> (BTreeMap<Vec<u8>, Vec<u8>>, Error) {
    let mut acked = BTreeMap::new();
    for i in 0..BATCHES_MAX {
        let key = format!("key{i:08}").into_bytes();
        let v = value(i, value_len);
        let mut batch = WriteBatch::new();
        batch.put(&key, &v);
        let durability = if rng.random_bool(0.3) { Durability::Sync } else { Durability::Buffered };
        match db.write_with(batch, durability) {
            Ok(()) => {
                acked.insert(key, v);
            }
            Err(e) => return (acked, e),
        }
    }
    panic!("{BATCHES_MAX} batches never filled a {DISK_BYTES}-byte disk");
}

#[test]
fn full_disk_fails_writes_keeps_reads_and_recovers_every_acknowledged_write() {
    let seed =
        Seed::new("full_disk_fails_writes_keeps_reads_and_recovers_every_acknowledged_write");
    let mut rng = seed.rng(0);
    for round in 0..iterations(8) {
        let Some(disk) = SmallFs::mount(DISK_BYTES) else { return };
        let ballast = disk.path().join("ballast");
        std::fs::write(&ballast, vec![7u8; BALLAST_BYTES]).expect("ballast");
        let dir = disk.path().join("db");
        let memtable = [64 << 10, 256 << 10, 1 << 20][round % 3];
        let value_len = rng.random_range(100..4000);
        let what = format!("round {round} (memtable {memtable}, values {value_len} B)");

        let db = Db::open(&dir, options(memtable)).expect("open");
        let (acked, err) = fill_until_full(&db, &mut rng, value_len);
        assert!(acked.len() > 100, "{what}: the disk filled after only {} batches", acked.len());
        match &err {
            Error::Io(e) => {
                assert_eq!(e.kind(), std::io::ErrorKind::StorageFull, "{what}: {e}")
            }
            // A background flush or compaction met the full disk first.
            Error::PreviousIo(text) => assert!(text.contains("space"), "{what}: {text}"),
            other => panic!("{what}: a full disk gave {other:?}"),
        }
        eprintln!("{what}: full after {} batches: {err}", acked.len());
        let again = db.put("after", "full").expect_err("writes stay refused");
        assert!(matches!(again, Error::PreviousIo(_)), "{what}: {again}");
        assert!(again.to_string().contains("reopen"), "the error says what to do: {again}");
        check(&db, &acked, &format!("{what}, reads on the full disk"));
        drop(db);

        // Reopening before space is freed: a clear I/O error or a correct database.
        match Db::open(&dir, options(memtable)) {
            Ok(db) => check(&db, &acked, &format!("{what}, reopened while full")),
            Err(e @ (Error::Io(_) | Error::PreviousIo(_))) => {
                eprintln!("{what}: reopening while full: {e}")
            }
            Err(other) => panic!("{what}: reopening on a full disk gave {other:?}"),
        }

        std::fs::remove_file(&ballast).expect("free space");
        let db = Db::open(&dir, options(memtable)).expect("reopen once space is free");
        check(&db, &acked, &format!("{what}, after freeing space"));
        let mut acked = acked;
        for i in 0..100u32 {
            db.write_with(one(i), Durability::Sync).expect("writes resume");
            acked.insert(format!("resumed{i:08}").into_bytes(), b"yes".to_vec());
        }
        db.flush().expect("flush after freeing space");
        drop(db);
        let db = Db::open(&dir, options(memtable)).expect("reopen");
        check(&db, &acked, &format!("{what}, second reopen"));
    }
}

fn one(i: u32) -> WriteBatch {
    let mut b = WriteBatch::new();
    b.put(format!("resumed{i:08}"), "yes");
    b
}
