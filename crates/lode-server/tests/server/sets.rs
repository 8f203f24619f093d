//! Set commands: every command and option against Redis 7.0's replies and error strings,
//! RESP3 shapes, MULTI, the element limit, random picks, and a seeded model test.

use crate::{TestServer, fails, q};
use rand::Rng;
use redis::Value;
use std::collections::{BTreeMap, BTreeSet};

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

fn members(con: &mut redis::Connection, key: &str) -> BTreeSet<String> {
    q(con, &["SMEMBERS", key])
}

fn set_of(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// SADD of many members in one command.
fn sadd_many(
    con: &mut redis::Connection,
    key: &str,
    items: impl IntoIterator<Item = String>,
) -> i64 {
    let mut cmd = redis::cmd("SADD");
    cmd.arg(key);
    for m in items {
        cmd.arg(m);
    }
    cmd.query(con).expect("sadd")
}

#[test]
fn sadd_srem_smembers_sismember_smismember_scard() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(q::<i64>(&mut con, &["SADD", "s", "a", "b", "a", "c"]), 3);
    assert_eq!(q::<i64>(&mut con, &["SADD", "s", "a", "d"]), 1);
    assert_eq!(q::<i64>(&mut con, &["SADD", "s", "a"]), 0);
    assert_eq!(members(&mut con, "s"), set_of(&["a", "b", "c", "d"]));
    assert_eq!(members(&mut con, "nokey"), BTreeSet::new());
    assert_eq!(q::<i64>(&mut con, &["SCARD", "s"]), 4);
    assert_eq!(q::<i64>(&mut con, &["SCARD", "nokey"]), 0);
    assert_eq!(q::<i64>(&mut con, &["SISMEMBER", "s", "a"]), 1);
    assert_eq!(q::<i64>(&mut con, &["SISMEMBER", "s", "z"]), 0);
    assert_eq!(q::<i64>(&mut con, &["SISMEMBER", "nokey", "a"]), 0);
    assert_eq!(q::<Vec<i64>>(&mut con, &["SMISMEMBER", "s", "a", "z", "d", "a"]), vec![1, 0, 1, 1]);
    assert_eq!(q::<Vec<i64>>(&mut con, &["SMISMEMBER", "nokey", "a", "b"]), vec![0, 0]);
    assert_eq!(q::<i64>(&mut con, &["SREM", "s", "a", "a", "zz"]), 1);
    assert_eq!(q::<i64>(&mut con, &["SREM", "nokey", "a"]), 0);
    assert_eq!(q::<i64>(&mut con, &["SCARD", "s"]), 3);
    assert_eq!(q::<i64>(&mut con, &["SADD", "e", ""]), 1, "the empty member");
    assert_eq!(q::<i64>(&mut con, &["SISMEMBER", "e", ""]), 1);
    assert_eq!(q::<i64>(&mut con, &["SREM", "s", "b", "c", "d"]), 3);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "s"]), 0, "the last SREM deletes the set");
    assert_eq!(q::<String>(&mut con, &["TYPE", "e"]), "set");
    for (args, name) in [
        (&["SADD", "s"][..], "sadd"),
        (&["SREM", "s"], "srem"),
        (&["SMISMEMBER", "s"], "smismember"),
        (&["SCARD"], "scard"),
    ] {
        assert_eq!(
            fails(&mut con, args),
            format!("ERR wrong number of arguments for '{name}' command")
        );
    }
    assert_eq!(q::<String>(&mut con, &["SET", "str", "x"]), "OK");
    for args in [
        &["SADD", "str", "a"][..],
        &["SREM", "str", "a"],
        &["SMEMBERS", "str"],
        &["SISMEMBER", "str", "a"],
        &["SMISMEMBER", "str", "a"],
        &["SCARD", "str"],
        &["SPOP", "str"],
        &["SPOP", "str", "1"],
        &["SRANDMEMBER", "str"],
        &["SRANDMEMBER", "str", "0"],
        &["SSCAN", "str", "0"],
    ] {
        assert_eq!(fails(&mut con, args), WRONGTYPE, "{args:?}");
    }
    assert_eq!(fails(&mut con, &["HSET", "e", "f", "v"]), WRONGTYPE);
    // RESP3: SMEMBERS is a set, SMISMEMBER an array.
    let mut con3 = server.client_resp3();
    let v: Value = redis::cmd("SMEMBERS").arg("e").query(&mut con3).expect("ok");
    assert_eq!(v, Value::Set(vec![Value::BulkString(Vec::new())]));
    let v: Value = redis::cmd("SMEMBERS").arg("nokey").query(&mut con3).expect("ok");
    assert_eq!(v, Value::Set(Vec::new()));
    let v: Value = redis::cmd("SMISMEMBER").arg("e").arg("").query(&mut con3).expect("ok");
    assert_eq!(v, Value::Array(vec![Value::Int(1)]));
}

#[test]
fn spop_and_srandmember_follow_redis() {
    let server = TestServer::start();
    let mut con = server.client();
    let all = set_of(&["a", "b", "c", "d", "e"]);
    assert_eq!(q::<i64>(&mut con, &["SADD", "s", "a", "b", "c", "d", "e"]), 5);
    let one: String = q(&mut con, &["SRANDMEMBER", "s"]);
    assert!(all.contains(&one));
    for (count, len) in [("0", 0), ("3", 3), ("5", 5), ("99", 5)] {
        let got: Vec<String> = q(&mut con, &["SRANDMEMBER", "s", count]);
        assert_eq!(got.len(), len);
        let distinct: BTreeSet<String> = got.into_iter().collect();
        assert_eq!(distinct.len(), len);
        assert!(distinct.is_subset(&all));
    }
    let got: Vec<String> = q(&mut con, &["SRANDMEMBER", "s", "-100"]);
    assert_eq!(got.len(), 100);
    assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), all, "100 picks of 5 cover them");
    assert_eq!(q::<Option<String>>(&mut con, &["SRANDMEMBER", "nokey"]), None);
    assert_eq!(q::<Vec<String>>(&mut con, &["SRANDMEMBER", "nokey", "-3"]), Vec::<String>::new());
    assert_eq!(
        fails(&mut con, &["SRANDMEMBER", "s", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        fails(&mut con, &["SRANDMEMBER", "nokey", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        fails(&mut con, &["SRANDMEMBER", "s", "-9223372036854775808"]),
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    );
    assert_eq!(fails(&mut con, &["SRANDMEMBER", "s", "1", "2"]), "ERR syntax error");
    assert_eq!(q::<i64>(&mut con, &["SCARD", "s"]), 5, "SRANDMEMBER removes nothing");

    let popped: String = q(&mut con, &["SPOP", "s"]);
    assert!(all.contains(&popped));
    assert_eq!(q::<i64>(&mut con, &["SISMEMBER", "s", &popped]), 0);
    let two: Vec<String> = q(&mut con, &["SPOP", "s", "2"]);
    assert_eq!(two.iter().collect::<BTreeSet<_>>().len(), 2);
    assert_eq!(q::<i64>(&mut con, &["SCARD", "s"]), 2);
    let mut gone: BTreeSet<String> = two.into_iter().collect();
    gone.insert(popped);
    assert_eq!(members(&mut con, "s"), all.difference(&gone).cloned().collect());
    assert_eq!(q::<Vec<String>>(&mut con, &["SPOP", "s", "0"]), Vec::<String>::new());
    let rest: BTreeSet<String> = q(&mut con, &["SPOP", "s", "9223372036854775807"]);
    assert_eq!(rest.len(), 2);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "s"]), 0, "popping every member deletes the set");
    assert_eq!(q::<Option<String>>(&mut con, &["SPOP", "nokey"]), None);
    assert_eq!(q::<Vec<String>>(&mut con, &["SPOP", "nokey", "2"]), Vec::<String>::new());
    for bad in ["-1", "x", "9223372036854775808"] {
        assert_eq!(
            fails(&mut con, &["SPOP", "nokey", bad]),
            "ERR value is out of range, must be positive"
        );
    }
    assert_eq!(fails(&mut con, &["SPOP", "s", "1", "2"]), "ERR syntax error");
    assert_eq!(q::<i64>(&mut con, &["SADD", "one", "x"]), 1);
    assert_eq!(q::<String>(&mut con, &["SPOP", "one"]), "x");
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "one"]), 0);
    // RESP3: SPOP with a count is a set, SRANDMEMBER with a count an array, null when missing.
    assert_eq!(q::<i64>(&mut con, &["SADD", "s", "a", "b"]), 2);
    let mut con3 = server.client_resp3();
    let v: Value = redis::cmd("SRANDMEMBER").arg("s").arg(5).query(&mut con3).expect("ok");
    assert!(matches!(&v, Value::Array(a) if a.len() == 2), "{v:?}");
    let v: Value = redis::cmd("SPOP").arg("nokey").arg(1).query(&mut con3).expect("ok");
    assert_eq!(v, Value::Set(Vec::new()));
    let v: Value = redis::cmd("SPOP").arg("s").arg(1).query(&mut con3).expect("ok");
    assert!(matches!(&v, Value::Set(a) if a.len() == 1), "{v:?}");
    let v: Value = redis::cmd("SPOP").arg("nokey").query(&mut con3).expect("ok");
    assert_eq!(v, Value::Nil);
}

/// Sets bigger than the exact-pick size: picks are members, distinct where asked, and the
/// descent spreads over fixed-width members.
#[test]
fn random_picks_on_big_sets() {
    let server = TestServer::start();
    let mut con = server.client();
    let n = 300;
    assert_eq!(sadd_many(&mut con, "s", (0..n).map(|i| format!("m{i:03}"))), n);
    // Counts below n / 64 use descents; each descent must land on a member.
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    for _ in 0..200 {
        let got: Vec<String> = q(&mut con, &["SRANDMEMBER", "s", "-4"]);
        assert_eq!(got.len(), 4);
        for m in got {
            *counts.entry(m).or_default() += 1;
        }
    }
    assert!(counts.keys().all(|m| m.len() == 4 && m.starts_with('m')));
    // 800 uniform picks of 300 reach about 280 members, none more than ~12 times.
    assert!(counts.len() > 200, "{} distinct", counts.len());
    assert!(counts.values().all(|&c| c <= 25), "{counts:?}");
    for count in [3, 4, 200, 299, 300] {
        let got: Vec<String> = q(&mut con, &["SRANDMEMBER", "s", &count.to_string()]);
        assert_eq!(got.iter().collect::<BTreeSet<_>>().len(), count, "{count}");
    }
    let popped: Vec<String> = q(&mut con, &["SPOP", "s", "4"]);
    assert_eq!(popped.iter().collect::<BTreeSet<_>>().len(), 4);
    let popped_more: Vec<String> = q(&mut con, &["SPOP", "s", "150"]);
    assert_eq!(popped_more.iter().collect::<BTreeSet<_>>().len(), 150);
    assert_eq!(q::<i64>(&mut con, &["SCARD", "s"]), n - 154);
    let left = members(&mut con, "s");
    assert_eq!(left.len(), n as usize - 154);
    assert!(popped.iter().chain(&popped_more).all(|m| !left.contains(m)));
    for _ in 0..20 {
        let m: String = q(&mut con, &["SPOP", "s"]);
        assert!(left.contains(&m));
    }
    assert_eq!(q::<i64>(&mut con, &["SCARD", "s"]), n - 174);
    // Members of different lengths and a skewed trie still give members only.
    let odd = (0..500)
        .map(|i| if i % 7 == 0 { format!("{i}") } else { format!("x{i}-{}", "y".repeat(i % 13)) });
    let odd: BTreeSet<String> = odd.collect();
    assert_eq!(sadd_many(&mut con, "odd", odd.iter().cloned()), 500);
    for _ in 0..30 {
        let m: String = q(&mut con, &["SRANDMEMBER", "odd"]);
        assert!(odd.contains(&m), "{m}");
    }
    let got: Vec<String> = q(&mut con, &["SRANDMEMBER", "odd", "6"]);
    assert_eq!(got.iter().collect::<BTreeSet<_>>().len(), 6);
    assert!(got.iter().all(|m| odd.contains(m)));
}

#[test]
fn smove_follows_redis() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(q::<i64>(&mut con, &["SADD", "a", "x", "y"]), 2);
    assert_eq!(q::<i64>(&mut con, &["SADD", "b", "y"]), 1);
    assert_eq!(q::<String>(&mut con, &["SET", "str", "v"]), "OK");
    assert_eq!(q::<i64>(&mut con, &["SMOVE", "a", "b", "x"]), 1);
    assert_eq!(members(&mut con, "a"), set_of(&["y"]));
    assert_eq!(members(&mut con, "b"), set_of(&["x", "y"]));
    assert_eq!(q::<i64>(&mut con, &["SMOVE", "a", "b", "y"]), 1, "already in the destination");
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "a"]), 0, "the emptied source is deleted");
    assert_eq!(members(&mut con, "b"), set_of(&["x", "y"]));
    assert_eq!(q::<i64>(&mut con, &["SMOVE", "b", "new", "x"]), 1);
    assert_eq!(members(&mut con, "new"), set_of(&["x"]));
    assert_eq!(q::<i64>(&mut con, &["SMOVE", "b", "new", "zz"]), 0);
    assert_eq!(q::<i64>(&mut con, &["SMOVE", "nokey", "b", "y"]), 0);
    assert_eq!(q::<i64>(&mut con, &["SMOVE", "nokey", "str", "y"]), 0, "a missing source first");
    assert_eq!(q::<i64>(&mut con, &["SMOVE", "b", "b", "y"]), 1, "same key: membership");
    assert_eq!(q::<i64>(&mut con, &["SMOVE", "b", "b", "zz"]), 0);
    assert_eq!(fails(&mut con, &["SMOVE", "b", "str", "y"]), WRONGTYPE);
    assert_eq!(fails(&mut con, &["SMOVE", "b", "str", "zz"]), WRONGTYPE);
    assert_eq!(fails(&mut con, &["SMOVE", "str", "b", "y"]), WRONGTYPE);
    assert_eq!(members(&mut con, "b"), set_of(&["y"]), "a refused SMOVE moves nothing");
    assert_eq!(
        fails(&mut con, &["SMOVE", "b", "c"]),
        "ERR wrong number of arguments for 'smove' command"
    );
}

#[test]
fn sinter_sunion_sdiff_sintercard_and_their_stores() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(q::<i64>(&mut con, &["SADD", "s1", "a", "b", "c", "d"]), 4);
    assert_eq!(q::<i64>(&mut con, &["SADD", "s2", "c", "d", "e"]), 3);
    assert_eq!(q::<i64>(&mut con, &["SADD", "s3", "d", "z"]), 2);
    assert_eq!(q::<String>(&mut con, &["SET", "str", "x"]), "OK");
    let read = |con: &mut redis::Connection, args: &[&str]| -> BTreeSet<String> { q(con, args) };
    assert_eq!(read(&mut con, &["SINTER", "s1", "s2"]), set_of(&["c", "d"]));
    assert_eq!(read(&mut con, &["SINTER", "s1", "s2", "s3"]), set_of(&["d"]));
    assert_eq!(read(&mut con, &["SINTER", "s1"]), set_of(&["a", "b", "c", "d"]));
    assert_eq!(read(&mut con, &["SINTER", "s1", "s1"]), set_of(&["a", "b", "c", "d"]));
    assert_eq!(read(&mut con, &["SINTER", "s1", "nokey"]), BTreeSet::new());
    assert_eq!(
        read(&mut con, &["SUNION", "s1", "s2", "nokey", "s3"]),
        set_of(&["a", "b", "c", "d", "e", "z"])
    );
    assert_eq!(read(&mut con, &["SUNION", "nokey"]), BTreeSet::new());
    assert_eq!(read(&mut con, &["SDIFF", "s1", "s2"]), set_of(&["a", "b"]));
    assert_eq!(read(&mut con, &["SDIFF", "s1", "s2", "s3", "nokey"]), set_of(&["a", "b"]));
    assert_eq!(read(&mut con, &["SDIFF", "s1", "s1"]), BTreeSet::new());
    assert_eq!(read(&mut con, &["SDIFF", "nokey", "s1"]), BTreeSet::new());
    assert_eq!(read(&mut con, &["SDIFF", "s2"]), set_of(&["c", "d", "e"]));
    // Every key's type is checked, even after a missing key.
    for cmd in ["SINTER", "SUNION", "SDIFF"] {
        assert_eq!(fails(&mut con, &[cmd, "nokey", "str"]), WRONGTYPE, "{cmd}");
        assert_eq!(fails(&mut con, &[cmd, "s1", "str"]), WRONGTYPE, "{cmd}");
    }
    assert_eq!(q::<i64>(&mut con, &["SINTERCARD", "2", "s1", "s2"]), 2);
    assert_eq!(q::<i64>(&mut con, &["SINTERCARD", "2", "s1", "s2", "LIMIT", "1"]), 1);
    assert_eq!(
        q::<i64>(&mut con, &["SINTERCARD", "2", "s1", "s2", "limit", "0"]),
        2,
        "0 = no limit"
    );
    assert_eq!(q::<i64>(&mut con, &["SINTERCARD", "2", "s1", "s2", "LIMIT", "1", "LIMIT", "5"]), 2);
    assert_eq!(q::<i64>(&mut con, &["SINTERCARD", "1", "s1", "LIMIT", "9223372036854775807"]), 4);
    assert_eq!(q::<i64>(&mut con, &["SINTERCARD", "1", "nokey"]), 0);
    for (args, err) in [
        (&["SINTERCARD", "0", "s1"][..], "ERR numkeys should be greater than 0"),
        (&["SINTERCARD", "-1", "s1"], "ERR numkeys should be greater than 0"),
        (&["SINTERCARD", "x", "s1"], "ERR numkeys should be greater than 0"),
        (&["SINTERCARD", "99999999999999999999", "s1"], "ERR numkeys should be greater than 0"),
        (
            &["SINTERCARD", "3", "s1", "s2"],
            "ERR Number of keys can't be greater than number of args",
        ),
        (&["SINTERCARD", "1", "s1", "LIMIT", "-1"], "ERR LIMIT can't be negative"),
        (&["SINTERCARD", "1", "s1", "LIMIT", "x"], "ERR LIMIT can't be negative"),
        (&["SINTERCARD", "1", "s1", "LIMIT"], "ERR syntax error"),
        (&["SINTERCARD", "1", "s1", "foo"], "ERR syntax error"),
        (&["SINTERCARD", "1", "s1", "LIMIT", "1", "extra"], "ERR syntax error"),
        (&["SINTERCARD", "1", "str"], WRONGTYPE),
        (&["SINTERCARD", "1"], "ERR wrong number of arguments for 'sintercard' command"),
    ] {
        assert_eq!(fails(&mut con, args), err, "{args:?}");
    }

    assert_eq!(q::<i64>(&mut con, &["SINTERSTORE", "d", "s1", "s2"]), 2);
    assert_eq!(members(&mut con, "d"), set_of(&["c", "d"]));
    assert_eq!(q::<i64>(&mut con, &["SUNIONSTORE", "d", "s1", "s2"]), 5);
    assert_eq!(members(&mut con, "d"), set_of(&["a", "b", "c", "d", "e"]));
    assert_eq!(q::<i64>(&mut con, &["SDIFFSTORE", "d", "s1", "s2"]), 2);
    assert_eq!(members(&mut con, "d"), set_of(&["a", "b"]));
    assert_eq!(q::<i64>(&mut con, &["SINTERSTORE", "d", "s1", "nokey"]), 0);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "d"]), 0, "an empty result deletes the destination");
    assert_eq!(q::<i64>(&mut con, &["SDIFFSTORE", "d", "nokey"]), 0);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "d"]), 0);
    // The destination is overwritten whatever it held, its TTL dropped.
    assert_eq!(q::<i64>(&mut con, &["SINTERSTORE", "str", "s1", "s2"]), 2);
    assert_eq!(q::<String>(&mut con, &["TYPE", "str"]), "set");
    assert_eq!(q::<i64>(&mut con, &["HSET", "h", "f", "v"]), 1);
    assert_eq!(q::<i64>(&mut con, &["EXPIRE", "h", "100"]), 1);
    assert_eq!(q::<i64>(&mut con, &["SUNIONSTORE", "h", "s3"]), 2);
    assert_eq!(q::<i64>(&mut con, &["TTL", "h"]), -1);
    assert_eq!(members(&mut con, "h"), set_of(&["d", "z"]));
    assert_eq!(q::<i64>(&mut con, &["SUNIONSTORE", "h", "nokey"]), 0);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "h"]), 0);
    // A destination that is also a source.
    assert_eq!(q::<i64>(&mut con, &["SDIFFSTORE", "s1", "s1", "s2"]), 2);
    assert_eq!(members(&mut con, "s1"), set_of(&["a", "b"]));
    assert_eq!(q::<i64>(&mut con, &["SUNIONSTORE", "s1", "s1", "s3"]), 4);
    assert_eq!(members(&mut con, "s1"), set_of(&["a", "b", "d", "z"]));
    assert_eq!(q::<i64>(&mut con, &["SINTERSTORE", "s1", "s1", "s3"]), 2);
    assert_eq!(members(&mut con, "s1"), set_of(&["d", "z"]));
    assert_eq!(q::<String>(&mut con, &["SET", "str", "x"]), "OK");
    for cmd in ["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"] {
        assert_eq!(fails(&mut con, &[cmd, "d", "s1", "str"]), WRONGTYPE, "{cmd}");
        assert_eq!(
            fails(&mut con, &[cmd, "d"]),
            format!("ERR wrong number of arguments for '{}' command", cmd.to_lowercase())
        );
    }
    // RESP3: the read forms are sets.
    let mut con3 = server.client_resp3();
    for cmd in ["SINTER", "SUNION", "SDIFF"] {
        let v: Value = redis::cmd(cmd).arg("s1").arg("nokey").query(&mut con3).expect("ok");
        assert!(matches!(v, Value::Set(_)), "{cmd}: {v:?}");
    }
}

/// Sets bigger than a page (128 members), so the paged scans, the merge and the probes cross
/// page boundaries.
#[test]
fn multi_set_commands_on_sets_bigger_than_a_page() {
    let server = TestServer::start();
    let mut con = server.client();
    let (a, b, c): (BTreeSet<u32>, BTreeSet<u32>, BTreeSet<u32>) = (
        (0..1000).filter(|i| i % 2 == 0).collect(),
        (0..1000).filter(|i| i % 3 == 0).collect(),
        (0..1000).filter(|i| i % 5 == 0).collect(),
    );
    let name = |i: &u32| format!("m{i}");
    for (key, set) in [("a", &a), ("b", &b), ("c", &c)] {
        assert_eq!(sadd_many(&mut con, key, set.iter().map(name)), set.len() as i64);
    }
    let names = |s: BTreeSet<u32>| -> BTreeSet<String> { s.iter().map(name).collect() };
    let inter = names(a.iter().filter(|i| b.contains(i) && c.contains(i)).copied().collect());
    let union = names(a.iter().chain(&b).chain(&c).copied().collect());
    let diff = names(a.iter().filter(|i| !b.contains(i) && !c.contains(i)).copied().collect());
    assert_eq!(q::<BTreeSet<String>>(&mut con, &["SINTER", "a", "b", "c"]), inter);
    assert_eq!(q::<i64>(&mut con, &["SINTERCARD", "3", "a", "b", "c"]), inter.len() as i64);
    assert_eq!(q::<i64>(&mut con, &["SINTERCARD", "3", "c", "b", "a", "LIMIT", "10"]), 10);
    let got: Vec<String> = q(&mut con, &["SUNION", "c", "a", "b", "a"]);
    assert_eq!(got.len(), union.len(), "each member once");
    assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), union);
    assert_eq!(q::<BTreeSet<String>>(&mut con, &["SDIFF", "a", "b", "c"]), diff);
    assert_eq!(q::<i64>(&mut con, &["SUNIONSTORE", "u", "a", "b", "c"]), union.len() as i64);
    assert_eq!(members(&mut con, "u"), union);
    assert_eq!(q::<i64>(&mut con, &["SCARD", "u"]), union.len() as i64);
    assert_eq!(q::<i64>(&mut con, &["SINTERSTORE", "i", "u", "a", "b", "c"]), inter.len() as i64);
    assert_eq!(members(&mut con, "i"), inter);
    assert_eq!(q::<i64>(&mut con, &["SDIFFSTORE", "a", "a", "b", "c"]), diff.len() as i64);
    assert_eq!(members(&mut con, "a"), diff);
}

#[test]
fn sscan_iterates_every_member_once() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(sadd_many(&mut con, "s", (0..300).map(|i| format!("m{i}"))), 300);
    let mut cursor = "0".to_string();
    let mut seen = BTreeSet::new();
    let mut calls = 0;
    loop {
        let (next, items): (String, Vec<String>) =
            q(&mut con, &["SSCAN", "s", &cursor, "COUNT", "17"]);
        for m in items {
            assert!(seen.insert(m.clone()), "{m} twice");
        }
        calls += 1;
        if next == "0" {
            break;
        }
        cursor = next;
    }
    assert_eq!(seen.len(), 300);
    assert_eq!(calls, 18, "300 members, 17 per page");
    let (next, items): (String, Vec<String>) =
        q(&mut con, &["SSCAN", "s", "0", "MATCH", "m29*", "COUNT", "1000"]);
    assert_eq!(next, "0");
    assert_eq!(items.len(), 11);
    let (next, items): (String, Vec<String>) = q(&mut con, &["SSCAN", "nokey", "0"]);
    assert_eq!((next.as_str(), items.len()), ("0", 0));
    assert_eq!(fails(&mut con, &["SSCAN", "s", "x"]), "ERR invalid cursor");
    assert_eq!(fails(&mut con, &["SSCAN", "s", "0", "COUNT", "0"]), "ERR syntax error");
    assert_eq!(fails(&mut con, &["SSCAN", "s", "0", "MATCH"]), "ERR syntax error");
    let mut con3 = server.client_resp3();
    let v: Value =
        redis::cmd("SSCAN").arg("s").arg(0).arg("MATCH").arg("m7").query(&mut con3).expect("ok");
    let Value::Array(parts) = v else { panic!("{v:?}") };
    assert_eq!(parts.len(), 2);
    assert!(matches!(&parts[1], Value::Array(_)), "members are an array, not a set");
}

#[test]
fn set_element_limit_refuses_whole_commands() {
    let server = TestServer::start();
    let mut con = server.client();
    let limit = lode_server::ELEMENT_KEY_BYTES_MAX;
    let key = "k".repeat(10);
    let at = "m".repeat(limit - key.len());
    let past = "m".repeat(limit - key.len() + 1);
    assert_eq!(q::<i64>(&mut con, &["SADD", &key, &at, "small"]), 2);
    let err = fails(&mut con, &["SADD", &key, "other", &past]);
    assert!(err.starts_with("ERR element too large"), "{err}");
    assert_eq!(q::<i64>(&mut con, &["SCARD", &key]), 2, "nothing of it was written");
    assert_eq!(q::<i64>(&mut con, &["SISMEMBER", &key, &past]), 0);
    // `at` fits under `key` but not under a longer key: refused, nothing moved or written.
    let longer = "k".repeat(11);
    let err = fails(&mut con, &["SMOVE", &key, &longer, &at]);
    assert!(err.starts_with("ERR element too large"), "{err}");
    assert_eq!(q::<i64>(&mut con, &["SISMEMBER", &key, &at]), 1);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", &longer]), 0);
    assert_eq!(q::<i64>(&mut con, &["SADD", &longer, "old"]), 1);
    let err = fails(&mut con, &["SUNIONSTORE", &longer, &key]);
    assert!(err.starts_with("ERR element too large"), "{err}");
    assert_eq!(members(&mut con, &longer), set_of(&["old"]), "the destination is untouched");
    assert_eq!(q::<i64>(&mut con, &["SMOVE", &key, &longer, "small"]), 1);
}

#[test]
fn set_commands_in_multi_see_their_own_writes() {
    let server = TestServer::start();
    let mut con = server.client();
    let replies: (i64, i64, i64, Vec<String>, i64, String) = redis::pipe()
        .atomic()
        .cmd("SADD")
        .arg("a")
        .arg("x")
        .arg("y")
        .cmd("SMOVE")
        .arg("a")
        .arg("b")
        .arg("x")
        .cmd("SUNIONSTORE")
        .arg("c")
        .arg("a")
        .arg("b")
        .cmd("SINTER")
        .arg("c")
        .arg("b")
        .cmd("SREM")
        .arg("a")
        .arg("y")
        .cmd("TYPE")
        .arg("a")
        .query(&mut con)
        .expect("exec");
    assert_eq!(replies, (2, 1, 2, vec!["x".to_string()], 1, "none".into()));
}

#[test]
fn set_replies_past_the_output_limit_close_the_client() {
    let server = TestServer::start();
    let mut admin = server.client();
    let member = |i: u32| format!("{i:05}{}", "m".repeat(5000));
    assert_eq!(sadd_many(&mut admin, "s", (0..400).map(member)), 400);
    let set = ["CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0 0"];
    assert_eq!(q::<String>(&mut admin, &set), "OK");
    for args in [
        &["SMEMBERS", "s"][..],
        &["SUNION", "s"],
        &["SINTER", "s", "s"],
        &["SRANDMEMBER", "s", "-9223372036854775807"],
        &["SRANDMEMBER", "s", "400"],
    ] {
        let mut con = server.client();
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        assert!(cmd.query::<Value>(&mut con).is_err(), "{args:?} passes the limit");
    }
    assert_eq!(
        q::<i64>(&mut admin, &["SUNIONSTORE", "copy", "s"]),
        400,
        "a store replies a number"
    );
    assert_eq!(q::<i64>(&mut admin, &["SCARD", "copy"]), 400);
}

/// One random set operation on the server and the model; the replies must agree.
fn model_step(
    con: &mut redis::Connection,
    model: &mut BTreeMap<String, BTreeSet<String>>,
    rng: &mut impl Rng,
) {
    let key = |rng: &mut dyn rand::RngCore| format!("s{}", rng.random_range(0..4));
    let member = |rng: &mut dyn rand::RngCore| format!("m{}", rng.random_range(0..15));
    let (k, k2, k3) = (key(rng), key(rng), key(rng));
    let get = |model: &BTreeMap<String, BTreeSet<String>>, k: &str| {
        model.get(k).cloned().unwrap_or_default()
    };
    match rng.random_range(0..13) {
        0 | 1 => {
            let ms = [member(rng), member(rng), member(rng)];
            let set = model.entry(k.clone()).or_default();
            let added = ms.iter().filter(|m| set.insert(m.to_string())).count() as i64;
            assert_eq!(q::<i64>(con, &["SADD", &k, &ms[0], &ms[1], &ms[2]]), added);
        }
        2 => {
            let ms = [member(rng), member(rng)];
            let set = model.entry(k.clone()).or_default();
            let removed = ms.iter().filter(|m| set.remove(*m)).count() as i64;
            assert_eq!(q::<i64>(con, &["SREM", &k, &ms[0], &ms[1]]), removed);
        }
        3 => {
            let set = get(model, &k);
            let m = member(rng);
            assert_eq!(q::<i64>(con, &["SISMEMBER", &k, &m]), i64::from(set.contains(&m)));
            assert_eq!(q::<i64>(con, &["SCARD", &k]), set.len() as i64);
            assert_eq!(members(con, &k), set);
            let m2 = member(rng);
            let want = vec![i64::from(set.contains(&m)), i64::from(set.contains(&m2))];
            assert_eq!(q::<Vec<i64>>(con, &["SMISMEMBER", &k, &m, &m2]), want);
        }
        4 => {
            let set = model.entry(k.clone()).or_default();
            if rng.random_bool(0.5) {
                let got: Option<String> = q(con, &["SPOP", &k]);
                match got {
                    Some(m) => assert!(set.remove(&m), "SPOP gave {m}, not a member"),
                    None => assert!(set.is_empty()),
                }
            } else {
                let count = rng.random_range(0..6usize);
                let got: Vec<String> = q(con, &["SPOP", &k, &count.to_string()]);
                assert_eq!(got.len(), count.min(set.len()));
                for m in got {
                    assert!(set.remove(&m), "SPOP gave {m}, not a member (or twice)");
                }
            }
        }
        5 => {
            let set = get(model, &k);
            let count = rng.random_range(-8..8i64);
            let got: Vec<String> = q(con, &["SRANDMEMBER", &k, &count.to_string()]);
            let want = if set.is_empty() {
                0
            } else if count < 0 {
                count.unsigned_abs() as usize
            } else {
                (count as usize).min(set.len())
            };
            assert_eq!(got.len(), want);
            assert!(got.iter().all(|m| set.contains(m)));
            if count > 0 {
                assert_eq!(got.iter().collect::<BTreeSet<_>>().len(), want, "distinct");
            }
        }
        6 => {
            let m = member(rng);
            let moved = model.get(&k).is_some_and(|s| s.contains(&m));
            if moved && k != k2 {
                model.entry(k.clone()).or_default().remove(&m);
                model.entry(k2.clone()).or_default().insert(m.clone());
            }
            assert_eq!(q::<i64>(con, &["SMOVE", &k, &k2, &m]), i64::from(moved));
        }
        7 => {
            let (a, b, c) = (get(model, &k), get(model, &k2), get(model, &k3));
            let inter: BTreeSet<String> =
                a.iter().filter(|m| b.contains(*m) && c.contains(*m)).cloned().collect();
            let union: BTreeSet<String> = a.iter().chain(&b).chain(&c).cloned().collect();
            let diff: BTreeSet<String> =
                a.iter().filter(|m| !b.contains(*m) && !c.contains(*m)).cloned().collect();
            assert_eq!(q::<BTreeSet<String>>(con, &["SINTER", &k, &k2, &k3]), inter);
            assert_eq!(q::<BTreeSet<String>>(con, &["SUNION", &k, &k2, &k3]), union);
            assert_eq!(q::<BTreeSet<String>>(con, &["SDIFF", &k, &k2, &k3]), diff);
            let limit = rng.random_range(0..4usize);
            let card = if limit == 0 { inter.len() } else { inter.len().min(limit) };
            assert_eq!(
                q::<i64>(con, &["SINTERCARD", "3", &k, &k2, &k3, "LIMIT", &limit.to_string()]),
                card as i64
            );
        }
        8 => {
            let dest = key(rng);
            let (a, b) = (get(model, &k), get(model, &k2));
            let (cmd, result): (&str, BTreeSet<String>) = match rng.random_range(0..3) {
                0 => ("SINTERSTORE", a.intersection(&b).cloned().collect()),
                1 => ("SUNIONSTORE", a.union(&b).cloned().collect()),
                _ => ("SDIFFSTORE", a.difference(&b).cloned().collect()),
            };
            assert_eq!(q::<i64>(con, &[cmd, &dest, &k, &k2]), result.len() as i64, "{cmd}");
            model.insert(dest, result);
        }
        9 => {
            let set = get(model, &k);
            let count = rng.random_range(1..5).to_string();
            let mut cursor = "0".to_string();
            let mut seen = BTreeSet::new();
            loop {
                let (next, items): (String, Vec<String>) =
                    q(con, &["SSCAN", &k, &cursor, "COUNT", &count]);
                seen.extend(items);
                if next == "0" {
                    break;
                }
                cursor = next;
            }
            assert_eq!(seen, set);
        }
        10 => {
            let existed = model.remove(&k).is_some_and(|s| !s.is_empty());
            assert_eq!(q::<i64>(con, &["DEL", &k]), i64::from(existed));
        }
        11 => {
            let set = get(model, &k);
            let got: Option<String> = q(con, &["SRANDMEMBER", &k]);
            assert_eq!(got.is_some(), !set.is_empty());
            assert!(got.is_none_or(|m| set.contains(&m)));
        }
        _ => {
            let exists = model.get(&k).is_some_and(|s| !s.is_empty());
            assert_eq!(q::<String>(con, &["TYPE", &k]), if exists { "set" } else { "none" });
        }
    }
    model.retain(|_, s| !s.is_empty());
}

#[test]
fn set_commands_match_a_model_under_random_operations() {
    let seed = lode_testkit::Seed::new("set_commands_match_a_model_under_random_operations");
    let mut rng = seed.rng(0);
    let server = TestServer::start();
    let mut con = server.client();
    let mut model = BTreeMap::new();
    for _ in 0..lode_testkit::iterations(1500) {
        model_step(&mut con, &mut model, &mut rng);
    }
    assert_eq!(q::<i64>(&mut con, &["DBSIZE"]), model.len() as i64);
}

#[test]
fn command_info_names_set_and_hash_categories_and_movable_keys() {
    let server = TestServer::start();
    let mut con = server.client();
    let info: Vec<Value> = q(&mut con, &["COMMAND", "INFO", "sintercard", "smove", "hincrbyfloat"]);
    let words = |v: &Value| -> Vec<String> {
        let Value::Array(items) = v else { panic!("{v:?}") };
        items.iter().map(|i| redis::from_redis_value_ref::<String>(i).expect("word")).collect()
    };
    let fields = |v: &Value| -> Vec<Value> {
        let Value::Array(items) = v else { panic!("{v:?}") };
        items.clone()
    };
    let sintercard = fields(&info[0]);
    assert_eq!(sintercard[1], Value::Int(-3));
    assert_eq!(words(&sintercard[2]), vec!["readonly", "movablekeys"]);
    assert_eq!(&sintercard[3..6], &[Value::Int(0), Value::Int(0), Value::Int(0)]);
    assert_eq!(words(&sintercard[6]), vec!["@read", "@set", "@slow"]);
    let smove = fields(&info[1]);
    assert_eq!(&smove[3..6], &[Value::Int(1), Value::Int(2), Value::Int(1)]);
    assert_eq!(words(&smove[6]), vec!["@write", "@set", "@fast"]);
    let hincrbyfloat = fields(&info[2]);
    assert_eq!(words(&hincrbyfloat[2]), vec!["write", "denyoom", "fast"]);
    assert_eq!(words(&hincrbyfloat[6]), vec!["@write", "@hash", "@fast"]);
}

/// At and one past the thresholds: exact picks up to 128 members (descents above), pages of
/// 128 members, one pass for a pick per 64 members.
#[test]
fn picks_and_pages_at_their_thresholds() {
    let server = TestServer::start();
    let mut con = server.client();
    for n in [127i64, 128, 129, 256, 257] {
        let key = format!("s{n}");
        let all: BTreeSet<String> = (0..n).map(|i| format!("m{i:03}")).collect();
        assert_eq!(sadd_many(&mut con, &key, all.iter().cloned()), n);
        assert_eq!(q::<BTreeSet<String>>(&mut con, &["SUNION", &key]), all, "{n}");
        assert_eq!(q::<i64>(&mut con, &["SINTERCARD", "2", &key, &key]), n);
        for count in [1, 4, 5, n - 1, n] {
            let got: Vec<String> = q(&mut con, &["SRANDMEMBER", &key, &count.to_string()]);
            let distinct: BTreeSet<String> = got.iter().cloned().collect();
            assert_eq!(distinct.len() as i64, count, "{count} of {n}");
            assert!(distinct.is_subset(&all));
            let got: Vec<String> = q(&mut con, &["SRANDMEMBER", &key, &(-count).to_string()]);
            assert_eq!(got.len() as i64, count);
            assert!(got.iter().all(|m| all.contains(m)));
        }
        let one: String = q(&mut con, &["SPOP", &key]);
        assert!(all.contains(&one));
        let some: Vec<String> = q(&mut con, &["SPOP", &key, "3"]);
        assert_eq!(some.iter().collect::<BTreeSet<_>>().len(), 3);
        assert!(!some.contains(&one));
        assert_eq!(q::<i64>(&mut con, &["SCARD", &key]), n - 4);
    }
}
