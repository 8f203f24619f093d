//! Hash commands: every command and option against Redis 7.0's replies and error strings,
//! RESP3 shapes, MULTI, the output limit, and a seeded model test.

use crate::{TestServer, fails, q};
use rand::Rng;
use redis::Value;
use std::collections::{BTreeMap, BTreeSet};

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

fn hgetall(con: &mut redis::Connection, key: &str) -> BTreeMap<String, String> {
    q(con, &["HGETALL", key])
}

fn info_stat(con: &mut redis::Connection, field: &str) -> u64 {
    let info: String = q(con, &["INFO", "stats"]);
    let prefix = format!("{field}:");
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in {info}"))
}

#[test]
fn hset_hget_hdel_hlen_hgetall_hmset() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(q::<i64>(&mut con, &["HSET", "h", "a", "1", "b", "2"]), 2);
    assert_eq!(q::<i64>(&mut con, &["HSET", "h", "a", "9", "c", "3", "c", "4"]), 1);
    assert_eq!(q::<String>(&mut con, &["HMSET", "h", "d", "5"]), "OK");
    assert_eq!(q::<Option<String>>(&mut con, &["HGET", "h", "a"]), Some("9".into()));
    assert_eq!(q::<Option<String>>(&mut con, &["HGET", "h", "c"]), Some("4".into()));
    assert_eq!(q::<Option<String>>(&mut con, &["HGET", "nokey", "a"]), None);
    assert_eq!(q::<i64>(&mut con, &["HLEN", "h"]), 4);
    assert_eq!(q::<i64>(&mut con, &["HLEN", "nokey"]), 0);
    let want: BTreeMap<String, String> =
        [("a", "9"), ("b", "2"), ("c", "4"), ("d", "5")].map(|(f, v)| (f.into(), v.into())).into();
    assert_eq!(hgetall(&mut con, "h"), want);
    assert_eq!(hgetall(&mut con, "nokey"), BTreeMap::new());
    assert_eq!(q::<i64>(&mut con, &["HDEL", "h", "a", "a", "zz"]), 1);
    assert_eq!(q::<i64>(&mut con, &["HDEL", "nokey", "a"]), 0);
    assert_eq!(q::<i64>(&mut con, &["HLEN", "h"]), 3);
    for args in [&["HMSET", "h", "a"][..], &["HMSET", "h", "a", "1", "b"]] {
        assert_eq!(fails(&mut con, args), "ERR wrong number of arguments for 'hmset' command");
    }
    assert_eq!(
        fails(&mut con, &["HSET", "h", "a", "1", "b"]),
        "ERR wrong number of arguments for 'hset' command"
    );
    assert_eq!(fails(&mut con, &["HGET", "h"]), "ERR wrong number of arguments for 'hget' command");
    assert_eq!(q::<i64>(&mut con, &["HDEL", "h", "b", "c", "d"]), 3);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "h"]), 0, "the last HDEL deletes the hash");
    assert_eq!(q::<String>(&mut con, &["SET", "s", "x"]), "OK");
    for args in [
        &["HSET", "s", "a", "1"][..],
        &["HMSET", "s", "a", "1"],
        &["HGET", "s", "a"],
        &["HDEL", "s", "a"],
        &["HLEN", "s"],
        &["HGETALL", "s"],
    ] {
        assert_eq!(fails(&mut con, args), WRONGTYPE, "{args:?}");
    }
}

#[test]
fn hsetnx_hmget_hexists_hstrlen_hkeys_hvals() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(q::<i64>(&mut con, &["HSETNX", "h", "a", "1"]), 1, "creates the hash");
    assert_eq!(q::<i64>(&mut con, &["HSETNX", "h", "a", "2"]), 0);
    assert_eq!(q::<i64>(&mut con, &["HSETNX", "h", "bb", "hello"]), 1);
    assert_eq!(q::<Option<String>>(&mut con, &["HGET", "h", "a"]), Some("1".into()));
    assert_eq!(q::<i64>(&mut con, &["HLEN", "h"]), 2);
    assert_eq!(
        q::<Vec<Option<String>>>(&mut con, &["HMGET", "h", "bb", "zz", "a", "a"]),
        vec![Some("hello".into()), None, Some("1".into()), Some("1".into())]
    );
    assert_eq!(q::<Vec<Option<String>>>(&mut con, &["HMGET", "nokey", "a", "b"]), vec![None, None]);
    assert_eq!(q::<i64>(&mut con, &["HEXISTS", "h", "a"]), 1);
    assert_eq!(q::<i64>(&mut con, &["HEXISTS", "h", "zz"]), 0);
    assert_eq!(q::<i64>(&mut con, &["HEXISTS", "nokey", "a"]), 0);
    assert_eq!(q::<i64>(&mut con, &["HSTRLEN", "h", "bb"]), 5);
    assert_eq!(q::<i64>(&mut con, &["HSTRLEN", "h", "zz"]), 0);
    assert_eq!(q::<i64>(&mut con, &["HSTRLEN", "nokey", "a"]), 0);
    assert_eq!(q::<Vec<String>>(&mut con, &["HKEYS", "h"]), vec!["a", "bb"]);
    assert_eq!(q::<Vec<String>>(&mut con, &["HVALS", "h"]), vec!["1", "hello"]);
    assert_eq!(q::<Vec<String>>(&mut con, &["HKEYS", "nokey"]), Vec::<String>::new());
    assert_eq!(q::<Vec<String>>(&mut con, &["HVALS", "nokey"]), Vec::<String>::new());
    assert_eq!(
        fails(&mut con, &["HSETNX", "h", "a"]),
        "ERR wrong number of arguments for 'hsetnx' command"
    );
    assert_eq!(
        fails(&mut con, &["HMGET", "h"]),
        "ERR wrong number of arguments for 'hmget' command"
    );
    assert_eq!(q::<String>(&mut con, &["SET", "s", "x"]), "OK");
    for args in [
        &["HSETNX", "s", "a", "1"][..],
        &["HMGET", "s", "a"],
        &["HEXISTS", "s", "a"],
        &["HSTRLEN", "s", "a"],
        &["HKEYS", "s"],
        &["HVALS", "s"],
    ] {
        assert_eq!(fails(&mut con, args), WRONGTYPE, "{args:?}");
    }
}

#[test]
fn hincrby_follows_redis() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(q::<i64>(&mut con, &["HINCRBY", "h", "n", "5"]), 5, "creates hash and field");
    assert_eq!(q::<i64>(&mut con, &["HINCRBY", "h", "n", "-7"]), -2);
    assert_eq!(q::<Option<String>>(&mut con, &["HGET", "h", "n"]), Some("-2".into()));
    assert_eq!(q::<i64>(&mut con, &["HSET", "h", "max", "9223372036854775807"]), 1);
    assert_eq!(
        fails(&mut con, &["HINCRBY", "h", "max", "1"]),
        "ERR increment or decrement would overflow"
    );
    assert_eq!(q::<i64>(&mut con, &["HINCRBY", "h", "max", "-1"]), i64::MAX - 1);
    assert_eq!(q::<i64>(&mut con, &["HSET", "h", "min", "-9223372036854775808"]), 1);
    assert_eq!(
        fails(&mut con, &["HINCRBY", "h", "min", "-1"]),
        "ERR increment or decrement would overflow"
    );
    assert_eq!(q::<i64>(&mut con, &["HINCRBY", "h", "min", "0"]), i64::MIN);
    for bad in ["abc", " 1", "1 ", "1.5", "", "01x"] {
        let _: i64 = q(&mut con, &["HSET", "h", "bad", bad]);
        assert_eq!(
            fails(&mut con, &["HINCRBY", "h", "bad", "1"]),
            "ERR hash value is not an integer",
            "{bad:?}"
        );
    }
    assert_eq!(
        fails(&mut con, &["HINCRBY", "h", "n", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        fails(&mut con, &["HINCRBY", "h", "n", "9223372036854775808"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(q::<String>(&mut con, &["SET", "s", "x"]), "OK");
    // The increment is parsed before the key's type is checked.
    assert_eq!(
        fails(&mut con, &["HINCRBY", "s", "n", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(fails(&mut con, &["HINCRBY", "s", "n", "1"]), WRONGTYPE);
    // A failed increment writes nothing.
    assert_eq!(
        q::<Option<String>>(&mut con, &["HGET", "h", "max"]),
        Some((i64::MAX - 1).to_string())
    );
    assert_eq!(q::<i64>(&mut con, &["EXPIRE", "h", "1000"]), 1);
    assert_eq!(q::<i64>(&mut con, &["HINCRBY", "h", "n", "1"]), -1);
    assert!(q::<i64>(&mut con, &["TTL", "h"]) > 990, "HINCRBY keeps the TTL");
}

#[test]
fn hincrbyfloat_computes_and_prints_as_redis_long_double() {
    let server = TestServer::start();
    let mut con = server.client();
    let incr = |con: &mut redis::Connection, field: &str, by: &str| -> String {
        q(con, &["HINCRBYFLOAT", "h", field, by])
    };
    assert_eq!(incr(&mut con, "f", "10.5"), "10.5");
    assert_eq!(incr(&mut con, "f", "0.1"), "10.6");
    assert_eq!(incr(&mut con, "f", "-5.0e3"), "-4989.39999999999999991", "long double, not f64");
    assert_eq!(incr(&mut con, "f", "0x10"), "-4973.39999999999999991", "hex, as strtold reads it");
    assert_eq!(incr(&mut con, "g", "3"), "3");
    assert_eq!(incr(&mut con, "g", "1.0e-1"), "3.1");
    // Redis's exact 80-bit result, printed with %.17Lf and trimmed.
    assert_eq!(
        incr(&mut con, "big", "1e308"),
        "99999999999999999996685879655845645660560099847415567207797047994921734868838061872100\
         126921888539320446747225054013223152134749593960583597420814430196418767959100019603190\
         778663109604507106667939153395788938914560543563061268364901618630217086589253444881623\
         791300855757318142424510452728255046343928578048"
    );
    assert_eq!(q::<i64>(&mut con, &["HSET", "h", "int", "-9223372036854775808"]), 1);
    assert_eq!(incr(&mut con, "int", "1.5"), "-9223372036854775806.5");
    assert_eq!(q::<i64>(&mut con, &["HSET", "h", "text", "abc", "sp", " 1"]), 2);
    for field in ["text", "sp"] {
        assert_eq!(
            fails(&mut con, &["HINCRBYFLOAT", "h", field, "1"]),
            "ERR hash value is not a float"
        );
    }
    assert_eq!(fails(&mut con, &["HINCRBYFLOAT", "h", "f", "x"]), "ERR value is not a valid float");
    assert_eq!(
        fails(&mut con, &["HINCRBYFLOAT", "h", "f", "1e5000"]),
        "ERR value is not a valid float"
    );
    for inf in ["inf", "-inf", "+Infinity"] {
        assert_eq!(
            fails(&mut con, &["HINCRBYFLOAT", "h", "f", inf]),
            "ERR value is NaN or Infinity"
        );
    }
    assert_eq!(q::<i64>(&mut con, &["HSET", "h", "huge", "1e4932"]), 1);
    assert_eq!(
        fails(&mut con, &["HINCRBYFLOAT", "h", "huge", "1e4932"]),
        "ERR increment would produce NaN or Infinity"
    );
    assert_eq!(q::<String>(&mut con, &["SET", "s", "x"]), "OK");
    assert_eq!(fails(&mut con, &["HINCRBYFLOAT", "s", "f", "x"]), "ERR value is not a valid float");
    assert_eq!(fails(&mut con, &["HINCRBYFLOAT", "s", "f", "inf"]), "ERR value is NaN or Infinity");
    assert_eq!(fails(&mut con, &["HINCRBYFLOAT", "s", "f", "1"]), WRONGTYPE);
    assert_eq!(q::<Option<String>>(&mut con, &["HGET", "h", "huge"]), Some("1e4932".into()));
    let mut con3 = server.client_resp3();
    let v: Value =
        redis::cmd("HINCRBYFLOAT").arg("h").arg("g").arg("1").query(&mut con3).expect("ok");
    assert_eq!(v, Value::BulkString(b"4.1".to_vec()), "a bulk string in RESP3 too");
}

#[test]
fn hrandfield_counts_options_and_shapes() {
    let server = TestServer::start();
    let mut con = server.client();
    let fields = ["a", "b", "c"];
    assert_eq!(q::<i64>(&mut con, &["HSET", "h", "a", "1", "b", "2", "c", "3"]), 3);
    let one: String = q(&mut con, &["HRANDFIELD", "h"]);
    assert!(fields.contains(&one.as_str()));
    assert_eq!(q::<Option<String>>(&mut con, &["HRANDFIELD", "nokey"]), None);
    for (count, len) in [("2", 2), ("3", 3), ("100", 3), ("1", 1)] {
        let got: Vec<String> = q(&mut con, &["HRANDFIELD", "h", count]);
        assert_eq!(got.len(), len, "{count}");
        assert_eq!(got.iter().collect::<BTreeSet<_>>().len(), len, "distinct for {count}");
        assert!(got.iter().all(|f| fields.contains(&f.as_str())));
    }
    let got: Vec<String> = q(&mut con, &["HRANDFIELD", "h", "-50"]);
    assert_eq!(got.len(), 50, "a negative count repeats");
    assert_eq!(got.iter().collect::<BTreeSet<_>>().len(), 3, "50 picks of 3 fields cover them");
    let pairs: Vec<String> = q(&mut con, &["HRANDFIELD", "h", "-7", "WITHVALUES"]);
    assert_eq!(pairs.len(), 14);
    for pair in pairs.chunks(2) {
        assert_eq!(q::<String>(&mut con, &["HGET", "h", &pair[0]]), pair[1]);
    }
    let pairs: BTreeMap<String, String> = q(&mut con, &["HRANDFIELD", "h", "5", "withvalues"]);
    assert_eq!(pairs, hgetall(&mut con, "h"));
    for args in [
        &["HRANDFIELD", "h", "0"][..],
        &["HRANDFIELD", "h", "0", "WITHVALUES"],
        &["HRANDFIELD", "nokey", "-3"],
    ] {
        assert_eq!(q::<Vec<String>>(&mut con, args), Vec::<String>::new(), "{args:?}");
    }
    assert_eq!(
        fails(&mut con, &["HRANDFIELD", "h", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        fails(&mut con, &["HRANDFIELD", "h", "-0"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(fails(&mut con, &["HRANDFIELD", "h", "1", "foo"]), "ERR syntax error");
    assert_eq!(
        fails(&mut con, &["HRANDFIELD", "nokey", "1", "WITHVALUES", "x"]),
        "ERR syntax error"
    );
    assert_eq!(
        fails(&mut con, &["HRANDFIELD", "h", "-9223372036854775808"]),
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    );
    for edge in ["-4611686018427387904", "4611686018427387904"] {
        assert_eq!(
            fails(&mut con, &["HRANDFIELD", "h", edge, "WITHVALUES"]),
            "ERR value is out of range"
        );
    }
    assert_eq!(q::<String>(&mut con, &["SET", "s", "x"]), "OK");
    assert_eq!(fails(&mut con, &["HRANDFIELD", "s"]), WRONGTYPE);
    assert_eq!(fails(&mut con, &["HRANDFIELD", "s", "0"]), WRONGTYPE);
    assert_eq!(
        fails(&mut con, &["HRANDFIELD", "s", "x"]),
        "ERR value is not an integer or out of range"
    );
    // RESP3: an array of [field, value] arrays (not a map), a null for a missing key.
    let mut con3 = server.client_resp3();
    let v: Value =
        redis::cmd("HRANDFIELD").arg("h").arg(-2).arg("WITHVALUES").query(&mut con3).expect("ok");
    let Value::Array(items) = v else { panic!("{v:?}") };
    assert_eq!(items.len(), 2);
    for item in items {
        let Value::Array(pair) = item else { panic!("{item:?}") };
        assert_eq!(pair.len(), 2);
    }
    let v: Value = redis::cmd("HRANDFIELD").arg("nokey").query(&mut con3).expect("ok");
    assert_eq!(v, Value::Nil);
    let v: Value = redis::cmd("HRANDFIELD").arg("h").arg(2).query(&mut con3).expect("ok");
    assert!(matches!(&v, Value::Array(a) if a.len() == 2), "{v:?}");
}

/// A hash bigger than the exact-pick size: descents for small counts, one pass for big ones.
#[test]
fn hrandfield_on_a_big_hash_returns_real_distinct_fields() {
    let server = TestServer::start();
    let mut con = server.client();
    let n = 1000;
    let mut cmd = redis::cmd("HSET");
    cmd.arg("h");
    for i in 0..n {
        cmd.arg(format!("f{i:04}")).arg(format!("v{i}"));
    }
    assert_eq!(cmd.query::<i64>(&mut con).expect("hset"), n);
    for count in [1, 5, 15, 100, 999, 1000, 5000] {
        let got: Vec<String> = q(&mut con, &["HRANDFIELD", "h", &count.to_string(), "WITHVALUES"]);
        let want = count.min(n) as usize;
        assert_eq!(got.len(), 2 * want, "{count}");
        let fields: BTreeSet<&String> = got.iter().step_by(2).collect();
        assert_eq!(fields.len(), want, "distinct for {count}");
        for pair in got.chunks(2) {
            assert_eq!(pair[1], format!("v{}", pair[0][1..].parse::<u32>().expect("digits")));
        }
    }
    for count in [-1i64, -10, -100, -3000] {
        let got: Vec<String> = q(&mut con, &["HRANDFIELD", "h", &count.to_string()]);
        assert_eq!(got.len(), count.unsigned_abs() as usize);
        assert!(got.iter().all(|f| f.len() == 5 && f.starts_with('f')));
    }
    let got: Vec<String> = q(&mut con, &["HRANDFIELD", "h", "-3000"]);
    assert!(got.iter().collect::<BTreeSet<_>>().len() > 900, "3000 picks of 1000 cover most");
}

#[test]
fn hscan_iterates_every_field_once_and_follows_redis_errors() {
    let server = TestServer::start();
    let mut con = server.client();
    let n = 500;
    let mut cmd = redis::cmd("HSET");
    cmd.arg("h");
    for i in 0..n {
        cmd.arg(format!("k{i}")).arg(i);
    }
    assert_eq!(cmd.query::<i64>(&mut con).expect("hset"), n);
    let scan_all = |con: &mut redis::Connection, extra: &[&str]| -> BTreeMap<String, String> {
        let mut cursor = "0".to_string();
        let mut seen = BTreeMap::new();
        let mut calls = 0;
        loop {
            let mut args = vec!["HSCAN", "h", &cursor];
            args.extend_from_slice(extra);
            let (next, items): (String, Vec<String>) = q(con, &args);
            for pair in items.chunks(2) {
                assert!(
                    seen.insert(pair[0].clone(), pair[1].clone()).is_none(),
                    "{} twice",
                    pair[0]
                );
            }
            calls += 1;
            assert!(calls < 10_000, "the scan ends");
            if next == "0" {
                return seen;
            }
            cursor = next;
        }
    };
    let all = scan_all(&mut con, &["COUNT", "7"]);
    assert_eq!(all.len(), n as usize);
    assert_eq!(all.get("k42").map(String::as_str), Some("42"));
    let prefixed = scan_all(&mut con, &["MATCH", "k4*", "COUNT", "3"]);
    assert_eq!(prefixed.len(), 111, "k4, k40..k49, k400..k499");
    let suffixed = scan_all(&mut con, &["MATCH", "*9", "COUNT", "1000"]);
    assert_eq!(suffixed.len(), 50);
    let exact = scan_all(&mut con, &["MATCH", "k7"]);
    assert_eq!(exact.keys().collect::<Vec<_>>(), vec!["k7"]);
    // COUNT counts examined fields: a page of 10 by default.
    let (next, items): (String, Vec<String>) = q(&mut con, &["HSCAN", "h", "0"]);
    assert_ne!(next, "0");
    assert_eq!(items.len(), 20);
    // An unknown cursor restarts the scan (keys may repeat, none is lost).
    let (_, again): (String, Vec<String>) = q(&mut con, &["HSCAN", "h", "98765432109876"]);
    assert_eq!(again, items);
    // A cursor of another hash starts that hash from its beginning.
    assert_eq!(q::<i64>(&mut con, &["HSET", "other", "x", "1"]), 1);
    let (done, other): (String, Vec<String>) = q(&mut con, &["HSCAN", "other", &next]);
    assert_eq!((done.as_str(), other), ("0", vec!["x".to_string(), "1".to_string()]));
    // Fields present for the whole scan are returned even as others come and go.
    let mut cursor = "0".to_string();
    let mut seen = BTreeSet::new();
    let mut i = 0;
    loop {
        let (next, items): (String, Vec<String>) =
            q(&mut con, &["HSCAN", "h", &cursor, "COUNT", "25"]);
        seen.extend(items.into_iter().step_by(2));
        let _: i64 = q(&mut con, &["HSET", "h", &format!("new{i}"), "x"]);
        let _: i64 = q(&mut con, &["HDEL", "h", &format!("k{}", 499 - i)]);
        i += 1;
        if next == "0" {
            break;
        }
        cursor = next;
    }
    for j in 0..(n - i) {
        assert!(seen.contains(&format!("k{j}")), "k{j} was present throughout");
    }
    // Redis's argument checks, in its order: cursor, key, options.
    assert_eq!(fails(&mut con, &["HSCAN", "h", "x"]), "ERR invalid cursor");
    assert_eq!(fails(&mut con, &["HSCAN", "nokey", "x"]), "ERR invalid cursor");
    assert_eq!(fails(&mut con, &["HSCAN", "h", " 0"]), "ERR invalid cursor");
    assert_eq!(fails(&mut con, &["HSCAN", "h", "18446744073709551616"]), "ERR invalid cursor");
    for bad in [
        &["COUNT", "0"][..],
        &["COUNT", "-1"],
        &["MATCH"],
        &["foo", "bar"],
        &["NOVALUES"],
        &["TYPE", "hash"],
    ] {
        let mut args = vec!["HSCAN", "h", "0"];
        args.extend_from_slice(bad);
        assert_eq!(fails(&mut con, &args), "ERR syntax error", "{bad:?}");
    }
    assert_eq!(
        fails(&mut con, &["HSCAN", "h", "0", "COUNT", "x"]),
        "ERR value is not an integer or out of range"
    );
    let (c, items): (String, Vec<String>) = q(&mut con, &["HSCAN", "nokey", "0", "COUNT", "0"]);
    assert_eq!((c.as_str(), items.len()), ("0", 0), "a missing key ends the scan before options");
    let (c, _): (String, Vec<String>) = q(&mut con, &["HSCAN", "other", "-1"]);
    assert_eq!(c, "0", "a negative cursor wraps as strtoul does");
    let (c, _): (String, Vec<String>) = q(&mut con, &["HSCAN", "other", ""]);
    assert_eq!(c, "0");
    assert_eq!(q::<String>(&mut con, &["SET", "s", "x"]), "OK");
    assert_eq!(fails(&mut con, &["HSCAN", "s", "0", "COUNT", "0"]), WRONGTYPE);
    // A huge COUNT reserves nothing.
    let (c, items): (String, Vec<String>) =
        q(&mut con, &["HSCAN", "other", "0", "COUNT", "9223372036854775807"]);
    assert_eq!((c.as_str(), items.len()), ("0", 2));
}

#[test]
fn hash_reads_count_keyspace_hits_and_misses() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(q::<i64>(&mut con, &["HSET", "h", "a", "1"]), 1);
    let (hits, misses) =
        (info_stat(&mut con, "keyspace_hits"), info_stat(&mut con, "keyspace_misses"));
    for cmd in ["HGET", "HEXISTS", "HSTRLEN", "HMGET"] {
        let _: redis::Value = q(&mut con, &[cmd, "h", "a"]);
        let _: redis::Value = q(&mut con, &[cmd, "nokey", "a"]);
    }
    for cmd in ["HLEN", "HGETALL", "HKEYS", "HVALS", "HRANDFIELD"] {
        let _: redis::Value = q(&mut con, &[cmd, "h"]);
        let _: redis::Value = q(&mut con, &[cmd, "nokey"]);
    }
    assert_eq!(info_stat(&mut con, "keyspace_hits"), hits + 9);
    assert_eq!(info_stat(&mut con, "keyspace_misses"), misses + 9);
}

#[test]
fn hash_replies_past_the_output_limit_close_the_client() {
    let server = TestServer::start();
    let mut admin = server.client();
    let value = "v".repeat(10_000);
    let mut cmd = redis::cmd("HSET");
    cmd.arg("h");
    for i in 0..300 {
        cmd.arg(format!("f{i}")).arg(&value);
    }
    assert_eq!(cmd.query::<i64>(&mut admin).expect("hset"), 300);
    let set = ["CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0 0"];
    assert_eq!(q::<String>(&mut admin, &set), "OK");
    for args in [
        &["HGETALL", "h"][..],
        &["HVALS", "h"],
        &["HRANDFIELD", "h", "-1000", "WITHVALUES"],
        &["HRANDFIELD", "h", "300", "WITHVALUES"],
        // A count no reply could hold: stopped by the limit, never sized by the count.
        &["HRANDFIELD", "h", "-9223372036854775807"],
        &["HSCAN", "h", "0", "COUNT", "1000"],
    ] {
        let mut con = server.client();
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        assert!(cmd.query::<redis::Value>(&mut con).is_err(), "{args:?} passes the limit");
    }
    let keys: Vec<String> = q(&mut admin, &["HKEYS", "h"]);
    assert_eq!(keys.len(), 300, "a small reply is still served");
}

#[test]
fn hash_commands_in_multi_see_their_own_writes() {
    let server = TestServer::start();
    let mut con = server.client();
    let replies: (i64, i64, String, i64, Vec<String>, i64) = redis::pipe()
        .atomic()
        .cmd("HSETNX")
        .arg("h")
        .arg("n")
        .arg("1")
        .cmd("HINCRBY")
        .arg("h")
        .arg("n")
        .arg("41")
        .cmd("HINCRBYFLOAT")
        .arg("h")
        .arg("n")
        .arg("0.5")
        .cmd("HSTRLEN")
        .arg("h")
        .arg("n")
        .cmd("HKEYS")
        .arg("h")
        .cmd("HDEL")
        .arg("h")
        .arg("n")
        .query(&mut con)
        .expect("exec");
    assert_eq!(replies, (1, 42, "42.5".into(), 4, vec!["n".to_string()], 1));
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "h"]), 0);
}

#[test]
fn hash_element_limit_refuses_whole_commands() {
    let server = TestServer::start();
    let mut con = server.client();
    let limit = lode_server::ELEMENT_KEY_BYTES_MAX;
    let key = "k".repeat(10);
    let at = "f".repeat(limit - key.len());
    let past = "f".repeat(limit - key.len() + 1);
    assert_eq!(q::<i64>(&mut con, &["HSETNX", &key, &at, "1"]), 1);
    assert_eq!(q::<i64>(&mut con, &["HINCRBY", &key, &at, "1"]), 2);
    for args in [
        &["HSETNX", &key, &past, "1"][..],
        &["HINCRBY", &key, &past, "1"],
        &["HINCRBYFLOAT", &key, &past, "1"],
    ] {
        let err = fails(&mut con, args);
        assert!(err.starts_with("ERR element too large"), "{err}");
    }
    assert_eq!(q::<i64>(&mut con, &["HLEN", &key]), 1);
    assert_eq!(q::<i64>(&mut con, &["HEXISTS", &key, &past]), 0);
}

/// One random hash operation on the server and on the model (field -> value); the replies
/// must agree.
fn model_step(
    con: &mut redis::Connection,
    model: &mut BTreeMap<String, BTreeMap<String, String>>,
    rng: &mut impl Rng,
) {
    let key = format!("h{}", rng.random_range(0..3));
    let field = |rng: &mut dyn rand::RngCore| format!("f{}", rng.random_range(0..12));
    let hash = model.entry(key.clone()).or_default();
    match rng.random_range(0..14) {
        0 | 1 => {
            let (f, v) = (field(rng), rng.random_range(-5..50).to_string());
            let added = i64::from(hash.insert(f.clone(), v.clone()).is_none());
            assert_eq!(q::<i64>(con, &["HSET", &key, &f, &v]), added);
        }
        2 => {
            let (f, v) = (field(rng), rng.random_range(0..9).to_string());
            let added = !hash.contains_key(&f);
            if added {
                hash.insert(f.clone(), v.clone());
            }
            assert_eq!(q::<i64>(con, &["HSETNX", &key, &f, &v]), i64::from(added));
        }
        3 => {
            let (a, b) = (field(rng), field(rng));
            let n = i64::from(hash.remove(&a).is_some()) + i64::from(hash.remove(&b).is_some());
            assert_eq!(q::<i64>(con, &["HDEL", &key, &a, &b]), n);
        }
        4 => {
            let (f, by) = (field(rng), rng.random_range(-100..100i64));
            let old = hash.get(&f).cloned().unwrap_or_else(|| "0".into());
            match old.parse::<i64>() {
                Ok(n) => {
                    hash.insert(f.clone(), (n + by).to_string());
                    assert_eq!(q::<i64>(con, &["HINCRBY", &key, &f, &by.to_string()]), n + by);
                }
                Err(_) => assert_eq!(
                    fails(con, &["HINCRBY", &key, &f, &by.to_string()]),
                    "ERR hash value is not an integer"
                ),
            }
        }
        5 => {
            let f = field(rng);
            assert_eq!(q::<Option<String>>(con, &["HGET", &key, &f]), hash.get(&f).cloned());
            assert_eq!(q::<i64>(con, &["HEXISTS", &key, &f]), i64::from(hash.contains_key(&f)));
            let len = hash.get(&f).map_or(0, String::len) as i64;
            assert_eq!(q::<i64>(con, &["HSTRLEN", &key, &f]), len);
        }
        6 => {
            let fs = [field(rng), field(rng), field(rng)];
            let want: Vec<Option<String>> = fs.iter().map(|f| hash.get(f).cloned()).collect();
            assert_eq!(
                q::<Vec<Option<String>>>(con, &["HMGET", &key, &fs[0], &fs[1], &fs[2]]),
                want
            );
        }
        7 => {
            assert_eq!(q::<i64>(con, &["HLEN", &key]), hash.len() as i64);
            assert_eq!(hgetall(con, &key), *hash);
            let keys: Vec<String> = hash.keys().cloned().collect();
            assert_eq!(q::<Vec<String>>(con, &["HKEYS", &key]), keys);
            let vals: Vec<String> = hash.values().cloned().collect();
            assert_eq!(q::<Vec<String>>(con, &["HVALS", &key]), vals);
        }
        8 => {
            let count = rng.random_range(-20..20i64);
            let got: Vec<String> = q(con, &["HRANDFIELD", &key, &count.to_string(), "WITHVALUES"]);
            let want = if count < 0 {
                count.unsigned_abs() as usize
            } else {
                (count as usize).min(hash.len())
            };
            let want = if hash.is_empty() { 0 } else { want };
            assert_eq!(got.len(), 2 * want, "HRANDFIELD {count} of {}", hash.len());
            for pair in got.chunks(2) {
                assert_eq!(hash.get(&pair[0]), Some(&pair[1]));
            }
        }
        9 => {
            let count = rng.random_range(1..6).to_string();
            let pattern = ["*", "f1*", "*3", "f?"][rng.random_range(0..4)];
            let mut cursor = "0".to_string();
            let mut seen = BTreeMap::new();
            loop {
                let (next, items): (String, Vec<String>) =
                    q(con, &["HSCAN", &key, &cursor, "MATCH", pattern, "COUNT", &count]);
                for pair in items.chunks(2) {
                    seen.insert(pair[0].clone(), pair[1].clone());
                }
                if next == "0" {
                    break;
                }
                cursor = next;
            }
            let want: BTreeMap<String, String> = hash
                .iter()
                .filter(|(f, _)| match pattern {
                    "f1*" => f.starts_with("f1"),
                    "*3" => f.ends_with('3'),
                    "f?" => f.len() == 2,
                    _ => true,
                })
                .map(|(f, v)| (f.clone(), v.clone()))
                .collect();
            assert_eq!(seen, want, "HSCAN MATCH {pattern}");
        }
        10 => {
            let existed = !hash.is_empty();
            hash.clear();
            assert_eq!(q::<i64>(con, &["DEL", &key]), i64::from(existed));
        }
        11 => {
            let f = field(rng);
            let by = ["0.5", "-1.25", "3"][rng.random_range(0..3)];
            let old: Option<f64> = hash.get(&f).map_or(Some(0.0), |v| v.parse().ok());
            match old {
                Some(old) => {
                    let got: String = q(con, &["HINCRBYFLOAT", &key, &f, by]);
                    let want = old + by.parse::<f64>().expect("float");
                    assert_eq!(got.parse::<f64>().expect("float reply"), want, "{old} + {by}");
                    hash.insert(f, got);
                }
                None => assert_eq!(
                    fails(con, &["HINCRBYFLOAT", &key, &f, by]),
                    "ERR hash value is not a float"
                ),
            }
        }
        _ => {
            let exists = !hash.is_empty();
            assert_eq!(q::<i64>(con, &["EXISTS", &key]), i64::from(exists));
            let ty = if exists { "hash" } else { "none" };
            assert_eq!(q::<String>(con, &["TYPE", &key]), ty);
        }
    }
    if model.get(&key).is_some_and(BTreeMap::is_empty) {
        model.remove(&key);
    }
}

#[test]
fn hash_commands_match_a_model_under_random_operations() {
    let seed = lode_testkit::Seed::new("hash_commands_match_a_model_under_random_operations");
    let mut rng = seed.rng(0);
    let server = TestServer::start();
    let mut con = server.client();
    let mut model = BTreeMap::new();
    for _ in 0..lode_testkit::iterations(1500) {
        model_step(&mut con, &mut model, &mut rng);
    }
    assert_eq!(q::<i64>(&mut con, &["DBSIZE"]), model.len() as i64);
}
