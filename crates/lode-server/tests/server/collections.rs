//! What every collection type shares: metadata plus versioned elements (docs/format/keys.md,
//! "Collections"). Hashes stand in for all of them here; each type's own file tests its
//! commands.

use crate::{TestServer, fails, q};
use std::collections::BTreeMap;
use std::time::Duration;

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

fn hgetall(con: &mut redis::Connection, key: &str) -> BTreeMap<String, String> {
    q(con, &["HGETALL", key])
}

#[test]
fn hash_basics_and_wrongtype_both_ways() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(q::<i64>(&mut con, &["HSET", "h", "a", "1", "b", "2", "a", "3"]), 2);
    assert_eq!(q::<Option<String>>(&mut con, &["HGET", "h", "a"]), Some("3".into()));
    assert_eq!(q::<Option<String>>(&mut con, &["HGET", "h", "zz"]), None);
    assert_eq!(q::<i64>(&mut con, &["HLEN", "h"]), 2);
    assert_eq!(q::<String>(&mut con, &["TYPE", "h"]), "hash");
    assert_eq!(fails(&mut con, &["GET", "h"]), WRONGTYPE);
    assert_eq!(fails(&mut con, &["INCR", "h"]), WRONGTYPE);
    assert_eq!(q::<String>(&mut con, &["SET", "s", "v"]), "OK");
    assert_eq!(fails(&mut con, &["HSET", "s", "f", "v"]), WRONGTYPE);
    assert_eq!(fails(&mut con, &["HGET", "s", "f"]), WRONGTYPE);
    assert_eq!(
        fails(&mut con, &["HSET", "h", "a"]),
        "ERR wrong number of arguments for 'hset' command"
    );
    assert_eq!(q::<i64>(&mut con, &["HDEL", "h", "a", "zz"]), 1);
    assert_eq!(q::<i64>(&mut con, &["HDEL", "h", "b"]), 1);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "h"]), 0, "an emptied hash is deleted");
    assert_eq!(q::<i64>(&mut con, &["DBSIZE"]), 1);
}

#[test]
fn delete_overwrite_and_recreate_never_see_old_elements() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(q::<i64>(&mut con, &["HSET", "h", "a", "1", "b", "2"]), 2);
    assert_eq!(q::<i64>(&mut con, &["DEL", "h"]), 1);
    assert_eq!(q::<i64>(&mut con, &["HSET", "h", "c", "3"]), 1);
    assert_eq!(hgetall(&mut con, "h"), BTreeMap::from([("c".into(), "3".into())]));
    assert_eq!(q::<String>(&mut con, &["SET", "h", "string now"]), "OK");
    assert_eq!(q::<String>(&mut con, &["GET", "h"]), "string now");
    assert_eq!(q::<i64>(&mut con, &["DEL", "h"]), 1);
    assert_eq!(q::<i64>(&mut con, &["HSET", "h", "d", "4"]), 1);
    assert_eq!(hgetall(&mut con, "h"), BTreeMap::from([("d".into(), "4".into())]));
    assert_eq!(q::<i64>(&mut con, &["HLEN", "h"]), 1);
}

#[test]
fn rename_copy_move_carry_the_elements_and_the_ttl() {
    let server = TestServer::start();
    let mut con = server.client();
    let want = BTreeMap::from([("a".to_string(), "1".to_string()), ("b".into(), "2".into())]);
    assert_eq!(q::<i64>(&mut con, &["HSET", "h", "a", "1", "b", "2"]), 2);
    assert_eq!(q::<i64>(&mut con, &["EXPIRE", "h", "1000"]), 1);
    assert_eq!(q::<String>(&mut con, &["RENAME", "h", "h2"]), "OK");
    assert_eq!(hgetall(&mut con, "h"), BTreeMap::new());
    assert_eq!(hgetall(&mut con, "h2"), want);
    assert!(q::<i64>(&mut con, &["TTL", "h2"]) > 990);
    assert_eq!(q::<i64>(&mut con, &["COPY", "h2", "h3"]), 1);
    assert_eq!(q::<i64>(&mut con, &["HSET", "h2", "c", "3"]), 1);
    assert_eq!(hgetall(&mut con, "h3"), want, "a copy is independent of its source");
    assert_eq!(q::<i64>(&mut con, &["MOVE", "h3", "5"]), 1);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "h3"]), 0);
    assert_eq!(q::<String>(&mut con, &["SELECT", "5"]), "OK");
    assert_eq!(hgetall(&mut con, "h3"), want);
    assert_eq!(q::<String>(&mut con, &["TYPE", "h3"]), "hash");
    assert_eq!(q::<i64>(&mut con, &["COPY", "h3", "h2", "DB", "0", "REPLACE"]), 1);
    assert_eq!(q::<String>(&mut con, &["SELECT", "0"]), "OK");
    assert_eq!(hgetall(&mut con, "h2"), want, "REPLACE drops the old elements");
    let (cursor, keys): (String, Vec<String>) = q(&mut con, &["SCAN", "0", "TYPE", "hash"]);
    assert_eq!((cursor.as_str(), keys), ("0", vec!["h2".to_string()]));
}

#[test]
fn multi_exec_across_types_is_one_batch_and_sees_its_own_writes() {
    let server = TestServer::start();
    let mut con = server.client();
    let replies: (String, i64, String, i64, Option<String>, i64) = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg("s")
        .arg("1")
        .cmd("HSET")
        .arg("h")
        .arg("f")
        .arg("v")
        .cmd("RENAME")
        .arg("h")
        .arg("g")
        .cmd("HSET")
        .arg("g")
        .arg("f2")
        .arg("v2")
        .cmd("HGET")
        .arg("g")
        .arg("f")
        .cmd("HLEN")
        .arg("g")
        .query(&mut con)
        .expect("exec");
    assert_eq!(replies, ("OK".into(), 1, "OK".into(), 1, Some("v".into()), 2));
}

#[test]
fn collections_survive_restart_and_versions_are_never_reused() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(q::<i64>(&mut con, &["HSET", "h", "old", "1"]), 1);
    assert_eq!(q::<i64>(&mut con, &["DEL", "h"]), 1);
    let dir = server.stop();
    let server = TestServer::in_dir(dir, |_| {});
    let mut con = server.client();
    // A new hash after the restart must not take the deleted one's version (its element is
    // still on disk until compaction drops it).
    assert_eq!(q::<i64>(&mut con, &["HSET", "h", "new", "2"]), 1);
    assert_eq!(hgetall(&mut con, "h"), BTreeMap::from([("new".into(), "2".into())]));
    assert_eq!(q::<i64>(&mut con, &["HLEN", "h"]), 1);
}

#[test]
fn element_key_limit_at_and_past() {
    let server = TestServer::start();
    let mut con = server.client();
    let limit = lode_server::ELEMENT_KEY_BYTES_MAX;
    let key = "k".repeat(100);
    let at = "f".repeat(limit - key.len());
    let past = "f".repeat(limit - key.len() + 1);
    assert_eq!(q::<i64>(&mut con, &["HSET", &key, &at, "v"]), 1);
    assert_eq!(q::<Option<String>>(&mut con, &["HGET", &key, &at]), Some("v".into()));
    let err = fails(&mut con, &["HSET", &key, "ok", "1", &past, "v"]);
    assert!(err.starts_with("ERR element too large"), "{err}");
    assert_eq!(q::<i64>(&mut con, &["HLEN", &key]), 1, "a refused command writes nothing");
    // RENAME to a longer key would push the element past the limit: refused, nothing moved.
    let longer = "k".repeat(101);
    let err = fails(&mut con, &["RENAME", &key, &longer]);
    assert!(err.starts_with("ERR element too large"), "{err}");
    assert_eq!(q::<i64>(&mut con, &["HLEN", &key]), 1);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", &longer]), 0);
}

fn info_u64(con: &mut redis::Connection, field: &str) -> u64 {
    let info: String = q(con, &["INFO", "persistence"]);
    info.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("INFO has no {field}"))
}

/// Fills `key` with `n` fields of 100-byte values, 1,000 per HSET.
fn fill_hash(con: &mut redis::Connection, key: &str, n: u64) {
    let value = "v".repeat(100);
    let mut i = 0;
    while i < n {
        let mut cmd = redis::cmd("HSET");
        cmd.arg(key);
        for j in i..(i + 1_000).min(n) {
            cmd.arg(format!("field:{j:08}")).arg(&value);
        }
        let _: i64 = cmd.query(con).expect("HSET");
        i += 1_000;
    }
}

#[test]
fn a_deleted_or_expired_big_collection_gives_its_space_back_and_a_small_one_waits() {
    let server = TestServer::start();
    let mut con = server.client();
    let n = lode_server::RECLAIM_MIN_ELEMENTS;
    fill_hash(&mut con, "big", n);
    fill_hash(&mut con, "dies", n);
    fill_hash(&mut con, "small", n - 1);
    assert_eq!(q::<String>(&mut con, &["SAVE"]), "OK");
    let full = info_u64(&mut con, "lode_sst_bytes");
    assert!(full > 3 * n * 100, "{full} bytes on disk");

    // DEL answers from the metadata alone; the reclaimer compacts the element range.
    assert_eq!(q::<i64>(&mut con, &["DEL", "big", "small"]), 2);
    assert!(
        crate::eventually(Duration::from_secs(60), || {
            info_u64(&mut con, "lode_reclaim_compactions") >= 1
        }),
        "the deleted hash's range was never compacted"
    );
    assert!(info_u64(&mut con, "lode_compaction_filter_removed") >= n);
    // Expiry (the active cycle deletes the metadata) queues the same.
    assert_eq!(q::<i64>(&mut con, &["PEXPIRE", "dies", "1"]), 1);
    assert!(
        crate::eventually(Duration::from_secs(60), || {
            info_u64(&mut con, "lode_reclaim_compactions") >= 2
        }),
        "the expired hash's range was never compacted"
    );
    assert!(info_u64(&mut con, "lode_compaction_filter_removed") >= 2 * n);
    assert_eq!(q::<i64>(&mut con, &["DBSIZE"]), 0);
    let after = info_u64(&mut con, "lode_sst_bytes");
    assert!(after < full / 2, "{after} bytes left of {full}");
    // "small" was under the threshold: no compaction of its own was queued for it.
    assert_eq!(info_u64(&mut con, "lode_reclaim_compactions"), 2);
    fill_hash(&mut con, "big", 10);
    assert_eq!(q::<i64>(&mut con, &["HLEN", "big"]), 10, "a new hash at the old key is fine");
}
