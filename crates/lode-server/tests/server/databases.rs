//! Logical databases: SELECT, per-database keys, counters, expiry and WATCH; COPY ... DB, MOVE,
//! FLUSHDB against FLUSHALL; counters that survive a restart.

use crate::{TestServer, eventually, fails, q};
use redis::Value;
use std::time::Duration;

#[test]
fn select_isolates_databases_from_0_to_15() {
    let server = TestServer::start();
    let mut con = server.client();
    let _: String = q(&mut con, &["SET", "k", "db0"]);
    assert_eq!(q::<String>(&mut con, &["SELECT", "15"]), "OK", "the last database");
    assert_eq!(q::<Option<String>>(&mut con, &["GET", "k"]), None);
    assert_eq!(q::<i64>(&mut con, &["DBSIZE"]), 0);
    let _: String = q(&mut con, &["SET", "k", "db15"]);
    assert_eq!(q::<Vec<String>>(&mut con, &["KEYS", "*"]), vec!["k"]);
    assert_eq!(fails(&mut con, &["SELECT", "16"]), "ERR DB index is out of range");
    assert_eq!(fails(&mut con, &["SELECT", "-1"]), "ERR DB index is out of range");
    assert_eq!(
        fails(&mut con, &["SELECT", "2147483648"]),
        "ERR value is out of range, must be between -2147483648 and 2147483647"
    );
    assert_eq!(q::<String>(&mut con, &["GET", "k"]), "db15", "a failed SELECT keeps the db");
    let mut other = server.client();
    assert_eq!(q::<String>(&mut other, &["GET", "k"]), "db0", "each connection has its own");
    let info: String = q(&mut other, &["INFO", "keyspace"]);
    assert!(
        info.contains("db0:keys=1,expires=0,avg_ttl=0\r\ndb15:keys=1,expires=0,avg_ttl=0\r\n"),
        "{info}"
    );
    let client: String = q(&mut con, &["CLIENT", "INFO"]);
    assert!(client.contains(" db=15 "), "{client}");
}

#[test]
fn copy_and_move_between_databases_keep_the_ttl() {
    let server = TestServer::start();
    let mut con = server.client();
    let _: String = q(&mut con, &["SET", "a", "1", "EX", "1000"]);
    assert_eq!(q::<i64>(&mut con, &["COPY", "a", "a", "DB", "1"]), 1, "same name, other db");
    assert_eq!(
        fails(&mut con, &["COPY", "a", "a", "DB", "0"]),
        "ERR source and destination objects are the same"
    );
    assert_eq!(q::<i64>(&mut con, &["COPY", "a", "a", "DB", "1"]), 0, "exists there");
    let _: String = q(&mut con, &["SET", "a", "2"]);
    assert_eq!(q::<i64>(&mut con, &["COPY", "a", "a", "DB", "1", "REPLACE"]), 1);
    assert_eq!(q::<i64>(&mut con, &["MOVE", "a", "2"]), 1);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "a"]), 0);
    assert_eq!(q::<i64>(&mut con, &["MOVE", "a", "2"]), 0, "gone from the source");
    assert_eq!(
        fails(&mut con, &["MOVE", "a", "0"]),
        "ERR source and destination objects are the same"
    );
    assert_eq!(fails(&mut con, &["MOVE", "a", "16"]), "ERR DB index is out of range");
    let _: String = q(&mut con, &["SET", "t", "v", "PX", "5000000"]);
    assert_eq!(q::<i64>(&mut con, &["MOVE", "t", "3"]), 1);
    let _: String = q(&mut con, &["SELECT", "1"]);
    assert_eq!(q::<String>(&mut con, &["GET", "a"]), "2");
    assert_eq!(q::<i64>(&mut con, &["TTL", "a"]), -1, "REPLACE copied the persistent value");
    let _: String = q(&mut con, &["SET", "b", "x"]);
    assert_eq!(q::<i64>(&mut con, &["MOVE", "b", "2"]), 1);
    let _: String = q(&mut con, &["SELECT", "2"]);
    assert_eq!(q::<Vec<String>>(&mut con, &["MGET", "a", "b"]), vec!["2", "x"]);
    let _: String = q(&mut con, &["SELECT", "3"]);
    let ttl: i64 = q(&mut con, &["TTL", "t"]);
    assert!((4990..=5000).contains(&ttl), "MOVE keeps the TTL: {ttl}");
    let info: String = q(&mut con, &["INFO", "keyspace"]);
    for line in ["db1:keys=1,expires=0", "db2:keys=2,expires=0", "db3:keys=1,expires=1"] {
        assert!(info.contains(line), "{line} in {info}");
    }
    assert!(!info.contains("db0:"), "{info}");
}

#[test]
fn flushdb_empties_one_database_and_flushall_every_one() {
    let server = TestServer::start();
    let mut con = server.client();
    for db in ["0", "1", "2"] {
        let _: String = q(&mut con, &["SELECT", db]);
        let _: String = q(&mut con, &["MSET", "a", "1", "b", "2"]);
        let _: i64 = q(&mut con, &["EXPIRE", "a", "1000"]);
    }
    let _: String = q(&mut con, &["SELECT", "1"]);
    assert_eq!(q::<String>(&mut con, &["FLUSHDB"]), "OK");
    assert_eq!(q::<i64>(&mut con, &["DBSIZE"]), 0);
    let info: String = q(&mut con, &["INFO", "keyspace"]);
    assert!(info.contains("db0:keys=2,expires=1") && info.contains("db2:keys=2,expires=1"));
    assert!(!info.contains("db1:"), "{info}");
    assert_eq!(q::<String>(&mut con, &["FLUSHALL"]), "OK");
    let info: String = q(&mut con, &["INFO", "keyspace"]);
    assert_eq!(info.trim_end(), "# Keyspace");
}

#[test]
fn active_expiry_reaches_every_database() {
    let server = TestServer::start();
    let mut con = server.client();
    let _: String = q(&mut con, &["SELECT", "9"]);
    // Expired at once but, like Redis, counted until reclaimed.
    let _: String = q(&mut con, &["SET", "gone", "v", "PXAT", "1"]);
    let _: String = q(&mut con, &["SET", "kept", "v", "EX", "1000"]);
    assert!(
        eventually(Duration::from_secs(10), || q::<i64>(&mut con, &["DBSIZE"]) == 1),
        "the active cycle deletes db 9's expired key"
    );
    let info: String = q(&mut con, &["INFO", "keyspace"]);
    assert!(info.contains("db9:keys=1,expires=1"), "{info}");
}

#[test]
fn watch_is_per_database() {
    let server = TestServer::start();
    let mut con = server.client();
    let mut other = server.client();
    assert_eq!(q::<String>(&mut con, &["WATCH", "k"]), "OK");
    let _: String = q(&mut other, &["SELECT", "1"]);
    let _: String = q(&mut other, &["SET", "k", "elsewhere"]);
    let _: String = q(&mut con, &["MULTI"]);
    let _: String = q(&mut con, &["SET", "k", "mine"]);
    let ran: Value = q(&mut con, &["EXEC"]);
    assert_eq!(ran, Value::Array(vec![Value::Okay]), "a write to db 1 leaves db 0's k alone");
    let _: String = q(&mut con, &["SELECT", "1"]);
    assert_eq!(q::<String>(&mut con, &["WATCH", "k"]), "OK");
    let _: String = q(&mut other, &["SET", "k", "changed"]);
    let _: String = q(&mut con, &["MULTI"]);
    let _: String = q(&mut con, &["SET", "k", "mine"]);
    assert_eq!(q::<Value>(&mut con, &["EXEC"]), Value::Nil);
    assert_eq!(q::<String>(&mut con, &["WATCH", "k"]), "OK");
    let _: String = q(&mut other, &["FLUSHALL"]);
    let _: String = q(&mut con, &["MULTI"]);
    assert_eq!(q::<Value>(&mut con, &["EXEC"]), Value::Nil, "FLUSHALL touches a watched key");
}

#[test]
fn select_inside_multi_sticks_and_reset_returns_to_db_0() {
    let server = TestServer::start();
    let mut con = server.client();
    let _: String = q(&mut con, &["MULTI"]);
    assert_eq!(q::<String>(&mut con, &["SELECT", "3"]), "QUEUED");
    assert_eq!(q::<String>(&mut con, &["SET", "in3", "1"]), "QUEUED");
    assert_eq!(q::<String>(&mut con, &["UNWATCH"]), "QUEUED");
    let _: Value = q(&mut con, &["EXEC"]);
    assert_eq!(q::<String>(&mut con, &["GET", "in3"]), "1", "still in db 3 after EXEC");
    assert_eq!(q::<String>(&mut con, &["RESET"]), "RESET");
    assert_eq!(q::<i64>(&mut con, &["DBSIZE"]), 0, "RESET selects db 0");
}

#[test]
fn per_database_counters_survive_a_restart() {
    let server = TestServer::start();
    let mut con = server.client();
    for (db, n) in [("0", 1), ("5", 3), ("15", 2)] {
        let _: String = q(&mut con, &["SELECT", db]);
        for i in 0..n {
            let _: String = q(&mut con, &["SET", &format!("k{i}"), "v", "EX", "1000"]);
        }
        let _: i64 = q(&mut con, &["PERSIST", "k0"]);
    }
    let _: String = q(&mut con, &["SELECT", "5"]);
    let _: i64 = q(&mut con, &["DEL", "k1"]);
    drop(con);
    let server = TestServer::in_dir(server.stop(), |_| {});
    let mut con = server.client();
    let info: String = q(&mut con, &["INFO", "keyspace"]);
    for line in ["db0:keys=1,expires=0", "db5:keys=2,expires=1", "db15:keys=2,expires=1"] {
        assert!(info.contains(line), "{line} in {info}");
    }
    let _: String = q(&mut con, &["SELECT", "5"]);
    assert_eq!(q::<i64>(&mut con, &["DBSIZE"]), 2);
    assert_eq!(q::<Vec<String>>(&mut con, &["KEYS", "*"]), vec!["k0", "k2"]);
}
