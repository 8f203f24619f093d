use crate::{TestServer, eventually, fails, q};
use std::collections::BTreeSet;
use std::time::Duration;

#[test]
fn del_exists_type_touch_dbsize() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(q::<String>(&mut con, &["MSET", "a", "1", "b", "2", "c", "3"]), "OK");
    assert_eq!(q::<i64>(&mut con, &["DBSIZE"]), 3);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "a", "a", "zz"]), 2);
    assert_eq!(q::<i64>(&mut con, &["TOUCH", "a", "zz"]), 1);
    assert_eq!(q::<String>(&mut con, &["TYPE", "a"]), "string");
    assert_eq!(q::<String>(&mut con, &["TYPE", "zz"]), "none");
    assert_eq!(q::<i64>(&mut con, &["DEL", "a", "b", "zz"]), 2);
    assert_eq!(q::<i64>(&mut con, &["UNLINK", "c"]), 1);
    assert_eq!(q::<i64>(&mut con, &["DBSIZE"]), 0);
}

#[test]
fn rename_renamenx_copy() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(fails(&mut con, &["RENAME", "nope", "x"]), "ERR no such key");
    assert_eq!(fails(&mut con, &["RENAMENX", "nope", "x"]), "ERR no such key");
    assert_eq!(q::<String>(&mut con, &["SET", "a", "1", "EX", "100"]), "OK");
    assert_eq!(q::<String>(&mut con, &["RENAME", "a", "b"]), "OK");
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "a"]), 0);
    assert!(q::<i64>(&mut con, &["TTL", "b"]) > 0, "RENAME keeps the TTL");
    assert_eq!(q::<String>(&mut con, &["RENAME", "b", "b"]), "OK");
    assert_eq!(q::<String>(&mut con, &["SET", "c", "3"]), "OK");
    assert_eq!(q::<i64>(&mut con, &["RENAMENX", "b", "c"]), 0);
    assert_eq!(q::<i64>(&mut con, &["RENAMENX", "b", "d"]), 1);
    assert_eq!(q::<i64>(&mut con, &["DBSIZE"]), 2);
    assert_eq!(q::<i64>(&mut con, &["COPY", "d", "c"]), 0);
    assert_eq!(q::<i64>(&mut con, &["COPY", "d", "c", "REPLACE"]), 1);
    assert_eq!(q::<String>(&mut con, &["GET", "c"]), "1");
    assert_eq!(q::<i64>(&mut con, &["COPY", "d", "e", "DB", "0"]), 1);
    assert_eq!(q::<i64>(&mut con, &["COPY", "missing", "e"]), 0);
    assert_eq!(
        fails(&mut con, &["COPY", "d", "d"]),
        "ERR source and destination objects are the same"
    );
    assert_eq!(fails(&mut con, &["COPY", "d", "f", "DB", "16"]), "ERR DB index is out of range");
    assert_eq!(fails(&mut con, &["COPY", "d", "f", "BOGUS"]), "ERR syntax error");
}

#[test]
fn keys_and_scan_see_every_key_exactly_once() {
    let server = TestServer::start();
    let mut con = server.client();
    let mut pipe = redis::pipe();
    for i in 0..1000 {
        pipe.cmd("SET").arg(format!("user:{i:04}")).arg(i).ignore();
    }
    for i in 0..100 {
        pipe.cmd("SET").arg(format!("other:{i}")).arg(i).ignore();
    }
    let (): () = pipe.query(&mut con).expect("pipeline");
    let all: Vec<String> = q(&mut con, &["KEYS", "*"]);
    assert_eq!(all.len(), 1100);
    let users: Vec<String> = q(&mut con, &["KEYS", "user:00[0-4]?"]);
    assert_eq!(users.len(), 50);
    let one: Vec<String> = q(&mut con, &["KEYS", "other:7"]);
    assert_eq!(one, vec!["other:7".to_string()]);

    for (pattern, count, want) in
        [(None, "7", 1100), (Some("user:*"), "100", 1000), (Some("*:5*"), "10", 11)]
    {
        let mut seen = BTreeSet::new();
        let mut cursor = "0".to_string();
        let mut calls = 0;
        loop {
            let mut cmd = redis::cmd("SCAN");
            cmd.arg(&cursor).arg("COUNT").arg(count);
            if let Some(p) = pattern {
                cmd.arg("MATCH").arg(p);
            }
            let (next, page): (String, Vec<String>) = cmd.query(&mut con).expect("scan");
            for k in page {
                assert!(seen.insert(k), "a key repeated without writes in between");
            }
            calls += 1;
            assert!(calls < 2000, "SCAN terminates");
            if next == "0" {
                break;
            }
            assert!(next.parse::<u64>().is_ok(), "numeric cursor");
            cursor = next;
        }
        assert_eq!(seen.len(), want, "{pattern:?}");
    }
    let (_, page): (String, Vec<String>) =
        redis::cmd("SCAN").arg(0).arg("TYPE").arg("hash").query(&mut con).expect("scan");
    assert!(page.is_empty());
    assert_eq!(fails(&mut con, &["SCAN", "x"]), "ERR invalid cursor");
    assert_eq!(fails(&mut con, &["SCAN", "0", "COUNT", "0"]), "ERR syntax error");
    assert_eq!(fails(&mut con, &["SCAN", "0", "FOO", "1"]), "ERR syntax error");
}

#[test]
fn randomkey_returns_every_key_eventually_and_nil_when_empty() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(q::<Option<String>>(&mut con, &["RANDOMKEY"]), None);
    assert_eq!(q::<String>(&mut con, &["MSET", "foo", "x", "bar", "y"]), "OK");
    let mut seen = BTreeSet::new();
    for _ in 0..200 {
        seen.insert(q::<String>(&mut con, &["RANDOMKEY"]));
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec!["bar".to_string(), "foo".to_string()]);
}

#[test]
fn ttl_family_and_expire_options() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(q::<i64>(&mut con, &["TTL", "k"]), -2);
    assert_eq!(q::<i64>(&mut con, &["EXPIRE", "k", "10"]), 0);
    assert_eq!(q::<String>(&mut con, &["SET", "k", "v"]), "OK");
    assert_eq!(q::<i64>(&mut con, &["TTL", "k"]), -1);
    assert_eq!(q::<i64>(&mut con, &["EXPIRETIME", "k"]), -1);
    assert_eq!(q::<i64>(&mut con, &["EXPIRE", "k", "100", "XX"]), 0);
    assert_eq!(
        q::<i64>(&mut con, &["EXPIRE", "k", "100", "GT"]),
        0,
        "no TTL counts as infinite for GT"
    );
    assert_eq!(q::<i64>(&mut con, &["EXPIRE", "k", "100", "NX"]), 1);
    assert_eq!(q::<i64>(&mut con, &["EXPIRE", "k", "200", "NX"]), 0);
    assert_eq!(q::<i64>(&mut con, &["EXPIRE", "k", "50", "GT"]), 0);
    assert_eq!(q::<i64>(&mut con, &["EXPIRE", "k", "200", "GT"]), 1);
    assert_eq!(q::<i64>(&mut con, &["EXPIRE", "k", "300", "LT"]), 0);
    assert_eq!(q::<i64>(&mut con, &["PEXPIRE", "k", "150000", "LT"]), 1);
    let pttl: i64 = q(&mut con, &["PTTL", "k"]);
    assert!((140_000..=150_000).contains(&pttl), "{pttl}");
    assert_eq!(q::<i64>(&mut con, &["EXPIREAT", "k", "4102444800"]), 1);
    assert_eq!(q::<i64>(&mut con, &["EXPIRETIME", "k"]), 4_102_444_800);
    assert_eq!(q::<i64>(&mut con, &["PEXPIREAT", "k", "4102444800123"]), 1);
    assert_eq!(q::<i64>(&mut con, &["PEXPIRETIME", "k"]), 4_102_444_800_123);
    assert_eq!(q::<i64>(&mut con, &["PERSIST", "k"]), 1);
    assert_eq!(q::<i64>(&mut con, &["PERSIST", "k"]), 0);
    assert_eq!(q::<i64>(&mut con, &["EXPIRE", "k", "-1"]), 1, "a past time deletes");
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "k"]), 0);
    assert_eq!(
        fails(&mut con, &["EXPIRE", "k", "1", "NX", "XX"]),
        "ERR NX and XX, GT or LT options at the same time are not compatible"
    );
    assert_eq!(
        fails(&mut con, &["EXPIRE", "k", "1", "GT", "LT"]),
        "ERR GT and LT options at the same time are not compatible"
    );
    assert_eq!(fails(&mut con, &["EXPIRE", "k", "1", "YY"]), "ERR Unsupported option YY");
    assert_eq!(
        fails(&mut con, &["EXPIRE", "k", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        fails(&mut con, &["EXPIRE", "k", "9223372036854775807"]),
        "ERR invalid expire time in 'expire' command"
    );
}

#[test]
fn expired_keys_vanish_lazily_and_actively() {
    let server = TestServer::with(|c| c.active_expiry_interval = Duration::from_millis(10));
    let mut con = server.client();
    let mut pipe = redis::pipe();
    for i in 0..300 {
        pipe.cmd("SET").arg(format!("short:{i}")).arg("v").arg("PX").arg(30).ignore();
    }
    pipe.cmd("SET").arg("long").arg("v").arg("EX").arg(1000).ignore();
    let (): () = pipe.query(&mut con).expect("pipeline");
    assert_eq!(q::<i64>(&mut con, &["DBSIZE"]), 301);
    assert!(
        eventually(Duration::from_secs(10), || q::<i64>(&mut con, &["DBSIZE"]) == 1),
        "the active cycle deletes expired keys"
    );
    assert_eq!(q::<Option<String>>(&mut con, &["GET", "short:5"]), None);
    let info: String = q(&mut con, &["INFO", "keyspace"]);
    assert!(info.contains("db0:keys=1,expires=1"), "{info}");
    let stats: String = q(&mut con, &["INFO", "stats"]);
    assert!(stats.contains("expired_keys:300"), "{stats}");
}
