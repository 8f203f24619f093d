//! The public API's contract: handles, locking, snapshots, concurrency, group commit.

use lode::{Db, Durability, Error, Options, WriteBatch};
use lode_testkit::{Seed, iterations};
use rand::Rng;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn handles_and_snapshots_are_send_and_sync() {
    assert_send_sync::<Db>();
    assert_send_sync::<lode::Snapshot>();
    fn assert_send<T: Send>() {}
    assert_send::<lode::Iter>();
}

#[test]
fn second_open_is_locked_and_dropping_the_last_handle_releases_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path(), Options::default()).expect("open");
    let clone = db.clone();
    assert!(matches!(Db::open(dir.path(), Options::default()), Err(Error::Locked(_))));
    db.put("k", "v").expect("put");
    drop(db);
    assert!(
        matches!(Db::open(dir.path(), Options::default()), Err(Error::Locked(_))),
        "a clone still holds it"
    );
    drop(clone);
    let db = Db::open(dir.path(), Options::default()).expect("reopen after the last handle");
    assert_eq!(db.get("k").expect("get").as_deref(), Some(&b"v"[..]));
}

#[test]
fn snapshot_sees_exactly_what_was_committed_before_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path(), Options::default().memtable_size(4096)).expect("open");
    for i in 0..100 {
        db.put(format!("k{i:03}"), "old").expect("put");
    }
    let snap = db.snapshot();
    for i in 0..100 {
        if i % 2 == 0 {
            db.put(format!("k{i:03}"), "new").expect("put");
        } else {
            db.delete(format!("k{i:03}")).expect("delete");
        }
    }
    db.put("k999", "later").expect("put");
    db.flush().expect("flush");
    assert_eq!(snap.get("k001").expect("get").as_deref(), Some(&b"old"[..]));
    assert_eq!(snap.get("k999").expect("get"), None);
    let all: Vec<_> = snap.iter().map(|r| r.expect("iter")).collect();
    assert_eq!(all.len(), 100);
    assert!(all.iter().all(|(_, v)| v[..] == b"old"[..]));
    assert_eq!(db.iter().count(), 51);
    let moved = std::thread::spawn(move || snap.prefix("k00").count()).join().expect("thread");
    assert_eq!(moved, 10);
}

#[test]
fn concurrent_readers_see_batches_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path(), Options::default().memtable_size(16 << 10)).expect("open");
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (db, stop) = (db.clone(), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut checks = 0u64;
                while !stop.load(Ordering::Relaxed) && checks < 2_000_000 {
                    let snap = db.snapshot();
                    let a = snap.get("a").expect("get");
                    let b = snap.get("b").expect("get");
                    assert_eq!(a, b, "a batch was seen half applied");
                    let scanned: Vec<_> = snap.iter().map(|r| r.expect("iter").1).collect();
                    assert!(scanned.windows(2).all(|w| w[0] == w[1]), "scan saw half a batch");
                    checks += 1;
                }
            })
        })
        .collect();
    for i in 0..3000u32 {
        let mut b = WriteBatch::new();
        b.put("a", i.to_be_bytes());
        b.put("b", i.to_be_bytes());
        db.write(b).expect("write");
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.join().expect("reader");
    }
}

#[test]
fn scans_during_writes_see_exactly_the_writes_before_them() {
    // Write i puts a seeded random key with value i, one seqno each, so what a scan may see is
    // writes 0..n for some n: every value below n once, none above. The keys land behind, at
    // and ahead of a running scan's cursor, inside and past the memtable's read-ahead.
    let seed = Seed::new("scans_during_writes");
    let dir = tempfile::tempdir().expect("tempdir");
    // A small memtable: scans also cross immutable memtables and fresh SSTs.
    let db = Db::open(dir.path(), Options::default().memtable_size(256 << 10)).expect("open");
    let writes = iterations(20_000) as u64;
    let writer = {
        let db = db.clone();
        let mut rng = seed.rng(0);
        std::thread::spawn(move || {
            for i in 0..writes {
                let k: u64 = rng.random();
                db.put(format!("{k:016x}"), i.to_be_bytes()).expect("put");
            }
        })
    };
    let mut scans = 0u64;
    loop {
        // Read before the scan: a finished writer's writes are all published.
        let finished = writer.is_finished();
        let mut values: Vec<u64> = db
            .iter()
            .map(|r| {
                let v = r.expect("iter").1;
                u64::from_be_bytes(v[..].try_into().expect("an 8-byte value"))
            })
            .collect();
        values.sort_unstable();
        let n = values.len() as u64;
        assert!(values.iter().copied().eq(0..n), "scan {scans} is not writes 0..{n}");
        scans += 1;
        if finished {
            assert_eq!(n, writes, "the last scan sees every write");
            break;
        }
    }
    writer.join().expect("writer");
}

#[test]
fn a_get_on_another_thread_sees_every_acknowledged_put() {
    // The writer announces each put after it returns; a reader that sees the announcement
    // must find the key (the memtable's key filter must never hide a published entry).
    let seed = Seed::new("get_after_acknowledged_put");
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path(), Options::default().memtable_size(256 << 10)).expect("open");
    let writes = iterations(20_000) as u64;
    let keys: Arc<Vec<String>> = {
        let mut rng = seed.rng(0);
        Arc::new((0..writes).map(|_| format!("{:016x}", rng.random::<u64>())).collect())
    };
    let acked = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let writer = {
        let (db, keys, acked) = (db.clone(), Arc::clone(&keys), Arc::clone(&acked));
        std::thread::spawn(move || {
            for (i, k) in keys.iter().enumerate() {
                db.put(k, "v").expect("put");
                acked.store(i as u64 + 1, Ordering::Release);
            }
        })
    };
    let mut checked = 0u64;
    loop {
        let finished = writer.is_finished();
        let n = acked.load(Ordering::Acquire);
        if n > 0 {
            let k = &keys[n as usize - 1];
            assert!(db.get(k).expect("get").is_some(), "put {n} was acknowledged but not found");
            checked += 1;
        }
        if finished {
            break;
        }
    }
    writer.join().expect("writer");
    assert_eq!(acked.load(Ordering::Acquire), writes);
    assert!(checked > 0);
}

#[test]
fn group_commit_shares_fsyncs_among_concurrent_sync_writers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path(), Options::default()).expect("open");
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let db = db.clone();
            std::thread::spawn(move || {
                for i in 0..150 {
                    let mut b = WriteBatch::new();
                    b.put(format!("t{t}-{i}"), "v");
                    db.write_with(b, Durability::Sync).expect("write");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("writer");
    }
    let s = db.stats();
    assert_eq!(s.batches_written, 1200);
    assert!(
        s.wal_syncs * 2 <= s.batches_written,
        "{} fsyncs for {} writes",
        s.wal_syncs,
        s.batches_written
    );
    assert_eq!(db.iter().count(), 1200);
}

#[test]
fn concurrent_syncs_make_every_earlier_buffered_write_durable() {
    let fs = lode::fs::SimFs::new();
    let options =
        Options::default().sync_interval(std::time::Duration::ZERO).fs(Arc::new(fs.clone()));
    let db = Db::open("/db", options.clone()).expect("open");
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let db = db.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    db.put(format!("t{t}-{i}"), "v").expect("buffered write");
                    db.sync().expect("sync");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let s = db.stats();
    assert!(s.wal_syncs <= 400, "more fsyncs ({}) than sync calls", s.wal_syncs);
    db.sync().expect("idle sync");
    assert_eq!(db.stats().wal_syncs, s.wal_syncs, "nothing unsynced: no fsync");
    // Power loss right now: every write acknowledged before a returned sync must be there.
    fs.crash(7);
    drop(db);
    let db = Db::open("/db", options).expect("reopen");
    assert_eq!(db.iter().count(), 400);
}
