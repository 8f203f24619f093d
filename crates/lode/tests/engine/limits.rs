//! Every limit: a test at the limit and one past it.

use lode::{Db, Error, KEY_BYTES_MAX, Options, VALUE_BYTES_MAX, WriteBatch};

fn open(dir: &std::path::Path) -> Db {
    Db::open(dir, Options::default()).expect("open")
}

#[test]
fn key_at_limit_round_trips_and_one_past_is_too_large() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open(dir.path());
    let key = vec![b'k'; KEY_BYTES_MAX];
    db.put(&key, "v").expect("key at the limit");
    db.flush().expect("flush");
    assert_eq!(db.get(&key).expect("get").as_deref(), Some(&b"v"[..]));
    let err = db.put(vec![b'k'; KEY_BYTES_MAX + 1], "v").expect_err("one past");
    assert!(matches!(err, Error::TooLarge { what: "key", .. }), "{err}");
    let mut b = WriteBatch::new();
    b.put("fine", "x");
    b.delete(vec![0u8; KEY_BYTES_MAX + 1]);
    assert!(
        matches!(db.write(b), Err(Error::TooLarge { .. })),
        "a batch with one bad op writes nothing"
    );
    assert_eq!(db.get("fine").expect("get"), None);
    drop(db);
    let db = open(dir.path());
    assert_eq!(db.get(&key).expect("get after reopen").as_deref(), Some(&b"v"[..]));
}

#[test]
fn value_at_limit_round_trips_through_wal_flush_and_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open(dir.path());
    let mut value = vec![0u8; VALUE_BYTES_MAX];
    for (i, chunk) in value.chunks_mut(1 << 20).enumerate() {
        chunk.fill(i as u8);
    }
    db.put("big", &value).expect("value at the limit");
    assert!(db.get("big").expect("get").is_some_and(|v| v[..] == value[..]), "from the memtable");
    drop(db);
    let db = open(dir.path());
    assert!(db.get("big").expect("get").is_some_and(|v| v[..] == value[..]), "after WAL replay");
    db.flush().expect("flush");
    assert!(db.get("big").expect("get").is_some_and(|v| v[..] == value[..]), "from the SST");
    drop(value);
    let err = db.put("bigger", vec![0u8; VALUE_BYTES_MAX + 1]).expect_err("one past");
    assert!(matches!(err, Error::TooLarge { what: "value", .. }), "{err}");
}
