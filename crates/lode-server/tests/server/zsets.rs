//! Sorted-set commands: every command and option with Redis 7.0's replies and error texts
//! (checked against redis-server 7.0.15 while writing them), RESP3 shapes, MULTI, the
//! element limit, the output limit, sets big enough to take the paths small sets skip (rank
//! walks from the back, cursor ZSCAN, sampled ZRANDMEMBER), and a seeded model test.

use crate::{TestServer, fails, q, read_replies};
use lode_resp::Reply;
use rand::Rng;
use redis::Value;
use std::collections::{BTreeMap, HashSet};
use std::io::Write;

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const SYNTAX: &str = "ERR syntax error";
const NOT_FLOAT: &str = "ERR value is not a valid float";
const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
const COUNT_OUT_OF_RANGE: &str =
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
const RANGE_NOT_FLOAT: &str = "ERR min or max is not a float";
const LEX_NOT_VALID: &str = "ERR min or max not valid string range item";

fn strings(con: &mut redis::Connection, args: &[&str]) -> Vec<String> {
    q(con, args)
}

fn with_scores(con: &mut redis::Connection, key: &str) -> Vec<String> {
    strings(con, &["ZRANGE", key, "0", "-1", "WITHSCORES"])
}

fn sv(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Sends `commands` (inline) on a RESP3 connection; returns their replies.
fn resp3(server: &TestServer, commands: &[&str]) -> Vec<Reply> {
    let mut raw = server.raw();
    let mut bytes = b"HELLO 3\r\n".to_vec();
    for c in commands {
        bytes.extend_from_slice(c.as_bytes());
        bytes.extend_from_slice(b"\r\n");
    }
    raw.write_all(&bytes).expect("write");
    let (mut replies, closed) = read_replies(&mut raw, commands.len() + 1);
    assert!(!closed, "the server answered every command");
    replies.remove(0);
    replies
}

fn bulk(s: &str) -> Reply {
    Reply::bulk(s)
}

#[test]
fn zadd_options_counts_and_errors() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(q::<i64>(&mut con, &["ZADD", "z", "1", "a", "2", "b", "1", "a"]), 2);
    assert_eq!(q::<i64>(&mut con, &["ZADD", "z", "CH", "1", "a", "1", "a", "3", "a"]), 1);
    assert_eq!(q::<i64>(&mut con, &["ZADD", "z", "CH", "3", "a", "5", "c"]), 1);
    assert_eq!(q::<i64>(&mut con, &["ZADD", "z", "NX", "CH", "9", "a", "4", "d"]), 1);
    assert_eq!(q::<i64>(&mut con, &["ZADD", "z", "XX", "CH", "7", "a", "0", "x"]), 1);
    assert_eq!(q::<i64>(&mut con, &["ZADD", "z", "GT", "CH", "5", "a", "9", "b"]), 1);
    assert_eq!(q::<i64>(&mut con, &["ZADD", "z", "LT", "CH", "8", "a", "1", "b", "6", "e"]), 2);
    assert_eq!(q::<i64>(&mut con, &["ZADD", "z", "XX", "GT", "100", "a", "1", "new"]), 0);
    assert_eq!(
        with_scores(&mut con, "z"),
        sv(&["b", "1", "d", "4", "c", "5", "e", "6", "a", "100"])
    );
    // INCR: the new score, or nil when an option stopped it.
    assert_eq!(q::<String>(&mut con, &["ZADD", "z", "INCR", "0.5", "b"]), "1.5");
    assert_eq!(q::<Option<String>>(&mut con, &["ZADD", "z", "NX", "INCR", "1", "b"]), None);
    assert_eq!(q::<Option<String>>(&mut con, &["ZADD", "z", "GT", "INCR", "-1", "b"]), None);
    assert_eq!(q::<Option<String>>(&mut con, &["ZADD", "z", "XX", "INCR", "1", "zz"]), None);
    assert_eq!(q::<String>(&mut con, &["ZADD", "z", "INCR", "2", "f"]), "2");
    assert_eq!(q::<String>(&mut con, &["ZINCRBY", "z", "-0.25", "f"]), "1.75");
    assert_eq!(q::<String>(&mut con, &["ZINCRBY", "z", "inf", "f"]), "inf");
    assert_eq!(
        fails(&mut con, &["ZINCRBY", "z", "-inf", "f"]),
        "ERR resulting score is not a number (NaN)"
    );
    assert_eq!(
        fails(&mut con, &["ZADD", "z", "INCR", "-inf", "f"]),
        "ERR resulting score is not a number (NaN)"
    );
    assert_eq!(q::<String>(&mut con, &["ZSCORE", "z", "f"]), "inf");
    // XX on a missing key creates nothing.
    assert_eq!(q::<i64>(&mut con, &["ZADD", "none", "XX", "1", "a"]), 0);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "none"]), 0);
    // Errors, none of which writes anything.
    let cases: &[(&[&str], &str)] = &[
        (
            &["ZADD", "z", "NX", "XX", "1", "a"],
            "ERR XX and NX options at the same time are not compatible",
        ),
        (
            &["ZADD", "z", "NX", "GT", "1", "a"],
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ),
        (
            &["ZADD", "z", "GT", "LT", "1", "a"],
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ),
        (
            &["ZADD", "z", "INCR", "1", "a", "2", "b"],
            "ERR INCR option supports a single increment-element pair",
        ),
        (&["ZADD", "z", "1", "a", "2"], SYNTAX),
        (&["ZADD", "z", "incr", "1"], SYNTAX),
        (&["ZADD", "z", "1"], "ERR wrong number of arguments for 'zadd' command"),
        (&["ZADD", "z", "1", "a", "x", "b"], NOT_FLOAT),
        (&["ZADD", "z", "nan", "a"], NOT_FLOAT),
        (&["ZADD", "z", "1e400", "a"], NOT_FLOAT),
        (&["ZADD", "z", " 1", "a"], NOT_FLOAT),
        (&["ZINCRBY", "z", "x", "a"], NOT_FLOAT),
        (&["ZINCRBY", "z", "nx", "a"], SYNTAX),
    ];
    for (args, want) in cases {
        assert_eq!(fails(&mut con, args), *want, "{args:?}");
    }
    assert_eq!(q::<i64>(&mut con, &["ZCARD", "z"]), 6, "refused commands wrote nothing");
    assert_eq!(q::<String>(&mut con, &["SET", "s", "v"]), "OK");
    assert_eq!(fails(&mut con, &["ZADD", "s", "1", "a"]), WRONGTYPE);
    assert_eq!(fails(&mut con, &["ZADD", "s", "x", "a"]), NOT_FLOAT, "arguments before the type");
    assert_eq!(fails(&mut con, &["ZINCRBY", "s", "1", "a"]), WRONGTYPE);
    assert_eq!(fails(&mut con, &["ZREM", "s", "a"]), WRONGTYPE);
    assert_eq!(q::<String>(&mut con, &["TYPE", "z"]), "zset");
    // ZREM deletes the key with its last member.
    assert_eq!(q::<i64>(&mut con, &["ZREM", "z", "b", "nope", "b"]), 1);
    assert_eq!(q::<i64>(&mut con, &["ZREM", "missing", "a"]), 0);
    assert_eq!(q::<i64>(&mut con, &["ZREM", "z", "a", "c", "d", "e", "f"]), 5);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "z"]), 0);
}

#[test]
fn scores_parse_and_print_as_redis_7_0() {
    let server = TestServer::start();
    let mut con = server.client();
    let cases = [
        ("0.1", "0.10000000000000001"),
        ("1e300", "1.0000000000000001e+300"),
        ("-0", "0"),
        ("inf", "inf"),
        ("-INF", "-inf"),
        ("0x10", "16"),
        ("0x1p-3", "0.125"),
        ("+5", "5"),
        (".5", "0.5"),
        ("5.", "5"),
        ("1e-310", "9.9999999999999694e-311"),
        ("1e20", "1e+20"),
        ("1e16", "10000000000000000"),
        ("1e-5", "1.0000000000000001e-05"),
        ("123456789012345678", "1.2345678901234568e+17"),
    ];
    for (i, (input, printed)) in cases.iter().enumerate() {
        let member = format!("m{i}");
        assert_eq!(q::<i64>(&mut con, &["ZADD", "z", input, &member]), 1, "{input}");
        assert_eq!(q::<String>(&mut con, &["ZSCORE", "z", &member]), *printed, "{input}");
    }
    // ZADD INCR answers the computed score; the stored -0 is 0, as Redis stores it.
    assert_eq!(q::<String>(&mut con, &["ZADD", "n", "INCR", "-0", "m"]), "-0");
    assert_eq!(q::<String>(&mut con, &["ZSCORE", "n", "m"]), "0");
    // -0 equals 0: no change, so CH counts nothing.
    assert_eq!(q::<i64>(&mut con, &["ZADD", "n", "CH", "-0", "m"]), 0);
}

#[test]
fn point_reads_and_ranks() {
    let server = TestServer::start();
    let mut con = server.client();
    q::<i64>(&mut con, &["ZADD", "z", "1", "a", "2", "b", "2", "c", "3", "d"]);
    assert_eq!(q::<Option<String>>(&mut con, &["ZSCORE", "z", "b"]), Some("2".into()));
    assert_eq!(q::<Option<String>>(&mut con, &["ZSCORE", "z", "x"]), None);
    assert_eq!(q::<Option<String>>(&mut con, &["ZSCORE", "none", "x"]), None);
    assert_eq!(
        q::<Vec<Option<String>>>(&mut con, &["ZMSCORE", "z", "a", "x", "d"]),
        vec![Some("1".into()), None, Some("3".into())]
    );
    assert_eq!(
        q::<Vec<Option<String>>>(&mut con, &["ZMSCORE", "none", "a", "b"]),
        vec![None, None]
    );
    assert_eq!(q::<i64>(&mut con, &["ZCARD", "z"]), 4);
    assert_eq!(q::<i64>(&mut con, &["ZCARD", "none"]), 0);
    for (m, rank) in [("a", 0), ("b", 1), ("c", 2), ("d", 3)] {
        assert_eq!(q::<Option<i64>>(&mut con, &["ZRANK", "z", m]), Some(rank));
        assert_eq!(q::<Option<i64>>(&mut con, &["ZREVRANK", "z", m]), Some(3 - rank));
    }
    assert_eq!(q::<Option<i64>>(&mut con, &["ZRANK", "z", "x"]), None);
    assert_eq!(q::<Option<i64>>(&mut con, &["ZREVRANK", "none", "x"]), None);
    q::<String>(&mut con, &["SET", "s", "v"]);
    for cmd in [
        &["ZSCORE", "s", "a"][..],
        &["ZMSCORE", "s", "a"],
        &["ZCARD", "s"],
        &["ZRANK", "s", "a"],
        &["ZREVRANK", "s", "a"],
    ] {
        assert_eq!(fails(&mut con, cmd), WRONGTYPE, "{cmd:?}");
    }
}

#[test]
fn reads_count_keyspace_hits_and_misses() {
    let server = TestServer::start();
    let mut con = server.client();
    q::<i64>(&mut con, &["ZADD", "z", "1", "a"]);
    q::<Option<String>>(&mut con, &["ZSCORE", "z", "a"]);
    q::<Option<String>>(&mut con, &["ZSCORE", "z", "nope"]);
    q::<Option<String>>(&mut con, &["ZSCORE", "none", "a"]);
    q::<Vec<String>>(&mut con, &["ZUNION", "2", "z", "none"]);
    let info: String = q(&mut con, &["INFO", "stats"]);
    assert!(info.contains("keyspace_hits:3\r\n"), "{info}");
    assert!(info.contains("keyspace_misses:2\r\n"), "{info}");
}

#[test]
fn range_commands_by_rank_score_and_lex() {
    let server = TestServer::start();
    let mut con = server.client();
    q::<i64>(&mut con, &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"]);
    let r = |con: &mut redis::Connection, args: &[&str]| strings(con, args);
    assert_eq!(r(&mut con, &["ZRANGE", "z", "0", "-1"]), sv(&["a", "b", "c", "d", "e"]));
    assert_eq!(r(&mut con, &["ZRANGE", "z", "-2", "100", "WITHSCORES"]), sv(&["d", "4", "e", "5"]));
    assert_eq!(r(&mut con, &["ZRANGE", "z", "-100", "1"]), sv(&["a", "b"]));
    assert!(r(&mut con, &["ZRANGE", "z", "3", "1"]).is_empty());
    assert!(r(&mut con, &["ZRANGE", "z", "5", "10"]).is_empty());
    assert_eq!(r(&mut con, &["ZRANGE", "z", "0", "1", "REV"]), sv(&["e", "d"]));
    assert_eq!(r(&mut con, &["ZREVRANGE", "z", "0", "1", "WITHSCORES"]), sv(&["e", "5", "d", "4"]));
    assert_eq!(r(&mut con, &["ZREVRANGE", "z", "-2", "-1"]), sv(&["b", "a"]));
    assert_eq!(r(&mut con, &["ZRANGE", "z", "0", "-1", "LIMIT", "0", "-1"]).len(), 5);
    // By score: bounds, open ends, LIMIT, reversed (max first).
    assert_eq!(r(&mut con, &["ZRANGEBYSCORE", "z", "(1", "3"]), sv(&["b", "c"]));
    assert_eq!(
        r(&mut con, &["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "1", "2"]),
        sv(&["b", "c"])
    );
    assert_eq!(
        r(&mut con, &["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "3", "-1"]),
        sv(&["d", "e"])
    );
    assert!(r(&mut con, &["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "-1", "2"]).is_empty());
    assert!(r(&mut con, &["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "1", "0"]).is_empty());
    assert!(r(&mut con, &["ZRANGEBYSCORE", "z", "(2", "(2"]).is_empty());
    assert_eq!(r(&mut con, &["ZRANGEBYSCORE", "z", "", "2"]), sv(&["a", "b"]), "\"\" reads as 0");
    assert_eq!(r(&mut con, &["ZRANGEBYSCORE", "z", "(", " 2"]), sv(&["a", "b"]));
    assert_eq!(r(&mut con, &["ZRANGEBYSCORE", "z", "0x2", "1e400"]), sv(&["b", "c", "d", "e"]));
    assert_eq!(
        r(&mut con, &["ZREVRANGEBYSCORE", "z", "5", "(3", "WITHSCORES", "LIMIT", "1", "5"]),
        sv(&["d", "4"])
    );
    assert_eq!(r(&mut con, &["ZRANGE", "z", "(4", "2", "BYSCORE", "REV"]), sv(&["c", "b"]));
    assert_eq!(
        r(&mut con, &["ZRANGE", "z", "2", "(4", "BYSCORE", "LIMIT", "1", "1", "WITHSCORES"]),
        sv(&["c", "3"])
    );
    // By lex (all scores equal).
    q::<i64>(&mut con, &["ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e"]);
    assert_eq!(r(&mut con, &["ZRANGEBYLEX", "l", "[b", "(d"]), sv(&["b", "c"]));
    assert_eq!(r(&mut con, &["ZRANGEBYLEX", "l", "-", "+", "LIMIT", "1", "2"]), sv(&["b", "c"]));
    assert_eq!(r(&mut con, &["ZREVRANGEBYLEX", "l", "+", "-", "LIMIT", "1", "2"]), sv(&["d", "c"]));
    assert_eq!(r(&mut con, &["ZREVRANGEBYLEX", "l", "(d", "[a"]), sv(&["c", "b", "a"]));
    assert_eq!(r(&mut con, &["ZRANGE", "l", "[c", "[b", "BYLEX", "REV"]), sv(&["c", "b"]));
    assert!(r(&mut con, &["ZRANGE", "l", "[b", "[c", "BYLEX", "REV"]).is_empty());
    assert!(r(&mut con, &["ZRANGEBYLEX", "l", "-", "+", "LIMIT", "-1", "2"]).is_empty());
    assert!(r(&mut con, &["ZRANGEBYLEX", "l", "+", "-"]).is_empty());
    assert!(
        r(&mut con, &["ZRANGEBYLEX", "l", "+\0x", "+"]).is_empty(),
        "\"+\" then a NUL is \"+\""
    );
    assert!(r(&mut con, &["ZRANGE", "none", "0", "-1"]).is_empty());
    let cases: &[(&[&str], &str)] = &[
        (
            &["ZRANGE", "z", "0", "-1", "LIMIT", "0", "1"],
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ),
        (
            &["ZRANGEBYLEX", "l", "-", "+", "WITHSCORES"],
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ),
        (&["ZRANGE", "z", "0", "1", "BYSCORE", "BYLEX"], SYNTAX),
        (&["ZRANGE", "z", "0", "1", "REV", "REV"], SYNTAX),
        (&["ZREVRANGE", "z", "0", "1", "REV"], SYNTAX),
        (&["ZRANGEBYSCORE", "z", "0", "1", "BYSCORE"], SYNTAX),
        (&["ZRANGE", "z", "0", "1", "LIMIT", "0"], SYNTAX),
        (&["ZRANGE", "z", "0", "1", "LIMIT", "0", "x", "BYSCORE"], NOT_INTEGER),
        (&["ZRANGE", "z", "a", "1"], NOT_INTEGER),
        (&["ZRANGEBYSCORE", "z", "1x", "2"], RANGE_NOT_FLOAT),
        (&["ZRANGEBYSCORE", "z", "nan", "2"], RANGE_NOT_FLOAT),
        (&["ZRANGEBYSCORE", "z", "[1", "2"], RANGE_NOT_FLOAT),
        (&["ZRANGEBYLEX", "l", "a", "+"], LEX_NOT_VALID),
        (&["ZRANGEBYLEX", "l", "", "+"], LEX_NOT_VALID),
        (&["ZRANGE", "none", "x", "1"], NOT_INTEGER),
        (&["ZRANGE", "none", "0", "1", "BYLEX"], LEX_NOT_VALID),
    ];
    for (args, want) in cases {
        assert_eq!(fails(&mut con, args), *want, "{args:?}");
    }
    q::<String>(&mut con, &["SET", "s", "v"]);
    assert_eq!(fails(&mut con, &["ZRANGE", "s", "0", "1"]), WRONGTYPE);
    assert_eq!(
        fails(&mut con, &["ZRANGE", "s", "x", "1"]),
        NOT_INTEGER,
        "arguments before the type"
    );
}

/// Redis leaves lex ranges over unequal scores unspecified; for small sets it walks in
/// score order. These answers are redis-server 7.0.15's.
#[test]
fn lex_ranges_over_unequal_scores_follow_the_redis_walk() {
    let server = TestServer::start();
    let mut con = server.client();
    let setup = ["ZADD", "z", "3", "a", "1", "b", "2", "c", "0", "d", "4", "e"];
    q::<i64>(&mut con, &setup);
    let all = sv(&["d", "b", "c", "a", "e"]);
    assert_eq!(strings(&mut con, &["ZRANGEBYLEX", "z", "-", "+"]), all);
    assert_eq!(strings(&mut con, &["ZRANGEBYLEX", "z", "[c", "+"]), all);
    assert!(strings(&mut con, &["ZRANGEBYLEX", "z", "[b", "[c"]).is_empty());
    assert!(strings(&mut con, &["ZRANGEBYLEX", "z", "-", "[b"]).is_empty());
    assert_eq!(strings(&mut con, &["ZRANGEBYLEX", "z", "[e", "+"]), sv(&["e"]));
    let mut rev = all.clone();
    rev.reverse();
    assert_eq!(strings(&mut con, &["ZREVRANGEBYLEX", "z", "+", "-"]), rev);
    assert!(strings(&mut con, &["ZREVRANGEBYLEX", "z", "[c", "-"]).is_empty());
    assert_eq!(q::<i64>(&mut con, &["ZLEXCOUNT", "z", "[b", "[d"]), 4);
    assert_eq!(q::<i64>(&mut con, &["ZLEXCOUNT", "z", "[a", "[c"]), 0);
    assert_eq!(q::<i64>(&mut con, &["ZREMRANGEBYLEX", "z", "[c", "[d"]), 4);
    assert_eq!(strings(&mut con, &["ZRANGE", "z", "0", "-1"]), sv(&["e"]));
}

#[test]
fn counts_by_score_and_lex() {
    let server = TestServer::start();
    let mut con = server.client();
    q::<i64>(&mut con, &["ZADD", "z", "1", "a", "2", "b", "3", "c", "-inf", "m", "inf", "p"]);
    assert_eq!(q::<i64>(&mut con, &["ZCOUNT", "z", "-inf", "+inf"]), 5);
    assert_eq!(q::<i64>(&mut con, &["ZCOUNT", "z", "(1", "3"]), 2);
    assert_eq!(q::<i64>(&mut con, &["ZCOUNT", "z", "(-inf", "(inf"]), 3);
    assert_eq!(q::<i64>(&mut con, &["ZCOUNT", "z", "3", "1"]), 0);
    assert_eq!(q::<i64>(&mut con, &["ZCOUNT", "none", "1", "2"]), 0);
    assert_eq!(fails(&mut con, &["ZCOUNT", "z", "a", "1"]), RANGE_NOT_FLOAT);
    q::<i64>(&mut con, &["ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d"]);
    let cases = [
        ("-", "+", 4),
        ("[b", "[d", 3),
        ("(b", "[d", 2),
        ("+", "-", 0),
        ("-", "-", 0),
        ("[a", "[a", 1),
        ("(a", "[a", 0),
    ];
    for (min, max, want) in cases {
        assert_eq!(q::<i64>(&mut con, &["ZLEXCOUNT", "l", min, max]), want, "{min} {max}");
    }
    assert_eq!(fails(&mut con, &["ZLEXCOUNT", "l", "a", "+"]), LEX_NOT_VALID);
    q::<String>(&mut con, &["SET", "s", "v"]);
    assert_eq!(fails(&mut con, &["ZCOUNT", "s", "1", "2"]), WRONGTYPE);
    assert_eq!(fails(&mut con, &["ZLEXCOUNT", "s", "-", "+"]), WRONGTYPE);
}

#[test]
fn pops_and_range_removals() {
    let server = TestServer::start();
    let mut con = server.client();
    q::<i64>(&mut con, &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"]);
    assert_eq!(strings(&mut con, &["ZPOPMIN", "z"]), sv(&["a", "1"]));
    assert_eq!(strings(&mut con, &["ZPOPMAX", "z", "2"]), sv(&["e", "5", "d", "4"]));
    assert!(strings(&mut con, &["ZPOPMIN", "z", "0"]).is_empty());
    assert!(strings(&mut con, &["ZPOPMIN", "none"]).is_empty());
    assert_eq!(
        fails(&mut con, &["ZPOPMIN", "z", "-1"]),
        "ERR value is out of range, must be positive"
    );
    assert_eq!(
        fails(&mut con, &["ZPOPMIN", "z", "x"]),
        "ERR value is out of range, must be positive"
    );
    assert_eq!(fails(&mut con, &["ZPOPMIN", "z", "1", "2"]), SYNTAX);
    assert_eq!(
        strings(&mut con, &["ZPOPMIN", "z", "9223372036854775807"]),
        sv(&["b", "2", "c", "3"])
    );
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "z"]), 0, "popping the last member deletes the key");

    q::<i64>(&mut con, &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"]);
    assert_eq!(q::<i64>(&mut con, &["ZREMRANGEBYRANK", "z", "-100", "-4"]), 2);
    assert_eq!(q::<i64>(&mut con, &["ZREMRANGEBYRANK", "z", "5", "10"]), 0);
    assert_eq!(q::<i64>(&mut con, &["ZREMRANGEBYSCORE", "z", "(3", "4"]), 1);
    assert_eq!(q::<i64>(&mut con, &["ZREMRANGEBYSCORE", "z", "5", "3"]), 0);
    assert_eq!(strings(&mut con, &["ZRANGE", "z", "0", "-1"]), sv(&["c", "e"]));
    assert_eq!(q::<i64>(&mut con, &["ZREMRANGEBYSCORE", "z", "-inf", "+inf"]), 2);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "z"]), 0);
    q::<i64>(&mut con, &["ZADD", "l", "0", "a", "0", "b", "0", "c"]);
    assert_eq!(q::<i64>(&mut con, &["ZREMRANGEBYLEX", "l", "(a", "+"]), 2);
    assert_eq!(q::<i64>(&mut con, &["ZREMRANGEBYLEX", "l", "-", "+"]), 1);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "l"]), 0);
    q::<i64>(&mut con, &["ZADD", "r", "0", "a", "0", "b"]);
    assert_eq!(q::<i64>(&mut con, &["ZREMRANGEBYRANK", "r", "0", "-1"]), 2);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "r"]), 0);
    assert_eq!(q::<i64>(&mut con, &["ZREMRANGEBYRANK", "none", "0", "-1"]), 0);
    let cases: &[(&[&str], &str)] = &[
        (&["ZREMRANGEBYRANK", "z", "a", "1"], NOT_INTEGER),
        (&["ZREMRANGEBYSCORE", "z", "a", "1"], RANGE_NOT_FLOAT),
        (&["ZREMRANGEBYLEX", "none", "a", "1"], LEX_NOT_VALID),
    ];
    for (args, want) in cases {
        assert_eq!(fails(&mut con, args), *want, "{args:?}");
    }
    q::<String>(&mut con, &["SET", "s", "v"]);
    for cmd in [
        &["ZPOPMIN", "s", "0"][..],
        &["ZPOPMAX", "s"],
        &["ZREMRANGEBYRANK", "s", "0", "1"],
        &["ZREMRANGEBYSCORE", "s", "0", "1"],
        &["ZREMRANGEBYLEX", "s", "-", "+"],
    ] {
        assert_eq!(fails(&mut con, cmd), WRONGTYPE, "{cmd:?}");
    }
}

#[test]
fn union_inter_diff_and_their_store_forms() {
    let server = TestServer::start();
    let mut con = server.client();
    q::<i64>(&mut con, &["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    q::<i64>(&mut con, &["ZADD", "y", "10", "b", "20", "c", "30", "d"]);
    let r = |con: &mut redis::Connection, args: &[&str]| strings(con, args);
    assert_eq!(
        r(&mut con, &["ZUNION", "2", "z", "y", "WITHSCORES"]),
        sv(&["a", "1", "b", "12", "c", "23", "d", "30"])
    );
    assert_eq!(
        r(&mut con, &["ZUNION", "2", "z", "y", "WEIGHTS", "1", "2", "WITHSCORES"]),
        sv(&["a", "1", "b", "22", "c", "43", "d", "60"])
    );
    assert_eq!(
        r(&mut con, &["ZUNION", "2", "z", "y", "AGGREGATE", "max", "WITHSCORES"]),
        sv(&["a", "1", "b", "10", "c", "20", "d", "30"])
    );
    assert_eq!(
        r(
            &mut con,
            &["ZUNION", "2", "z", "y", "WEIGHTS", "1", "2", "WEIGHTS", "3", "4", "WITHSCORES"]
        ),
        sv(&["a", "3", "b", "46", "c", "89", "d", "120"])
    );
    assert_eq!(
        r(&mut con, &["ZINTER", "2", "z", "y", "AGGREGATE", "MIN", "WITHSCORES"]),
        sv(&["b", "2", "c", "3"])
    );
    assert_eq!(r(&mut con, &["ZINTER", "2", "z", "y"]), sv(&["b", "c"]));
    assert!(r(&mut con, &["ZINTER", "2", "z", "none"]).is_empty());
    assert_eq!(r(&mut con, &["ZDIFF", "2", "z", "y", "WITHSCORES"]), sv(&["a", "1"]));
    assert!(r(&mut con, &["ZDIFF", "2", "z", "z"]).is_empty());
    assert!(r(&mut con, &["ZDIFF", "2", "none", "z"]).is_empty());
    assert_eq!(
        r(&mut con, &["ZUNION", "1", "z", "WEIGHTS", "inf", "WITHSCORES"]),
        sv(&["a", "inf", "b", "inf", "c", "inf"])
    );
    // Redis's NaN rules: 0 * inf counts as 0, inf + -inf as 0; MIN/MAX never pick a NaN.
    q::<i64>(&mut con, &["ZADD", "w", "0", "a", "inf", "b", "-inf", "c"]);
    assert_eq!(
        r(&mut con, &["ZUNION", "2", "w", "w", "WEIGHTS", "0", "1", "WITHSCORES"]),
        sv(&["c", "-inf", "a", "0", "b", "inf"])
    );
    assert_eq!(
        r(&mut con, &["ZINTER", "2", "w", "w", "WEIGHTS", "1", "0", "WITHSCORES"]),
        sv(&["a", "0", "b", "0", "c", "0"])
    );
    assert_eq!(
        r(&mut con, &["ZUNION", "2", "w", "w", "WEIGHTS", "1", "-1", "WITHSCORES"]),
        sv(&["a", "0", "b", "0", "c", "0"])
    );
    assert_eq!(
        r(
            &mut con,
            &["ZUNION", "2", "w", "w", "WEIGHTS", "1", "-1", "AGGREGATE", "min", "WITHSCORES"]
        ),
        sv(&["b", "-inf", "c", "-inf", "a", "0"])
    );
    assert_eq!(
        r(&mut con, &["ZUNION", "2", "w", "w", "WEIGHTS", "0", "0", "WITHSCORES"]),
        sv(&["a", "0", "b", "0", "c", "0"])
    );
    // STORE: the destination is replaced (type and TTL too), or deleted by an empty result.
    q::<String>(&mut con, &["SET", "dst", "string"]);
    q::<i64>(&mut con, &["EXPIRE", "dst", "100"]);
    assert_eq!(q::<i64>(&mut con, &["ZUNIONSTORE", "dst", "2", "z", "y"]), 4);
    assert_eq!(q::<i64>(&mut con, &["TTL", "dst"]), -1);
    assert_eq!(with_scores(&mut con, "dst"), sv(&["a", "1", "b", "12", "c", "23", "d", "30"]));
    assert_eq!(
        q::<i64>(&mut con, &["ZINTERSTORE", "dst", "2", "dst", "y", "WEIGHTS", "1", "-1"]),
        3
    );
    assert_eq!(with_scores(&mut con, "dst"), sv(&["d", "0", "b", "2", "c", "3"]));
    assert_eq!(
        q::<i64>(&mut con, &["ZDIFFSTORE", "z", "2", "z", "y"]),
        1,
        "the destination may be an input"
    );
    assert_eq!(with_scores(&mut con, "z"), sv(&["a", "1"]));
    assert_eq!(q::<i64>(&mut con, &["ZDIFFSTORE", "dst", "1", "none"]), 0);
    assert_eq!(
        q::<i64>(&mut con, &["EXISTS", "dst"]),
        0,
        "an empty result deletes the destination"
    );
    let cases: &[(&[&str], &str)] = &[
        (&["ZUNION", "0", "z"], "ERR at least 1 input key is needed for 'zunion' command"),
        (&["ZINTER", "-1", "z"], "ERR at least 1 input key is needed for 'zinter' command"),
        (
            &["ZDIFFSTORE", "d", "0", "z"],
            "ERR at least 1 input key is needed for 'zdiffstore' command",
        ),
        (&["ZUNION", "3", "z", "y"], SYNTAX),
        (&["ZUNION", "x", "z"], NOT_INTEGER),
        (&["ZUNION", "2", "z", "y", "FOO"], SYNTAX),
        (&["ZUNION", "2", "z", "y", "WEIGHTS", "1"], SYNTAX),
        (&["ZUNION", "2", "z", "y", "WEIGHTS", "1", "x"], "ERR weight value is not a float"),
        (&["ZUNION", "2", "z", "y", "AGGREGATE", "foo"], SYNTAX),
        (&["ZUNION", "2", "z", "y", "AGGREGATE"], SYNTAX),
        (&["ZDIFF", "2", "z", "y", "WEIGHTS", "1", "2"], SYNTAX),
        (&["ZDIFF", "2", "z", "y", "AGGREGATE", "sum"], SYNTAX),
        (&["ZUNIONSTORE", "d", "2", "z", "y", "WITHSCORES"], SYNTAX),
    ];
    for (args, want) in cases {
        assert_eq!(fails(&mut con, args), *want, "{args:?}");
    }
    q::<String>(&mut con, &["SET", "s", "v"]);
    assert_eq!(fails(&mut con, &["ZUNION", "2", "z", "s"]), WRONGTYPE);
    assert_eq!(
        fails(&mut con, &["ZUNION", "2", "z", "s", "FOO"]),
        WRONGTYPE,
        "types before options"
    );
    assert_eq!(fails(&mut con, &["ZINTERSTORE", "d", "2", "s", "z"]), WRONGTYPE);
    assert_eq!(q::<i64>(&mut con, &["ZINTERSTORE", "s", "1", "z"]), 1, "any type is overwritten");
    assert_eq!(q::<String>(&mut con, &["TYPE", "s"]), "zset");
}

#[test]
fn zrangestore_stores_any_range_form() {
    let server = TestServer::start();
    let mut con = server.client();
    q::<i64>(&mut con, &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"]);
    assert_eq!(q::<i64>(&mut con, &["ZRANGESTORE", "d", "z", "1", "2"]), 2);
    assert_eq!(with_scores(&mut con, "d"), sv(&["b", "2", "c", "3"]));
    assert_eq!(
        q::<i64>(
            &mut con,
            &["ZRANGESTORE", "d", "z", "4", "(2", "BYSCORE", "REV", "LIMIT", "0", "1"]
        ),
        1
    );
    assert_eq!(with_scores(&mut con, "d"), sv(&["d", "4"]));
    assert_eq!(q::<i64>(&mut con, &["ZRANGESTORE", "z", "z", "0", "0"]), 1, "source = destination");
    assert_eq!(with_scores(&mut con, "z"), sv(&["a", "1"]));
    assert_eq!(q::<i64>(&mut con, &["ZRANGESTORE", "d", "z", "5", "10"]), 0);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "d"]), 0);
    assert_eq!(q::<i64>(&mut con, &["ZRANGESTORE", "d", "none", "0", "-1"]), 0);
    assert_eq!(fails(&mut con, &["ZRANGESTORE", "d", "z", "0", "-1", "WITHSCORES"]), SYNTAX);
    q::<String>(&mut con, &["SET", "s", "v"]);
    assert_eq!(fails(&mut con, &["ZRANGESTORE", "d", "s", "0", "-1"]), WRONGTYPE);
}

#[test]
fn zrandmember_on_small_and_big_sets() {
    let server = TestServer::start();
    let mut con = server.client();
    q::<i64>(&mut con, &["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    let members: HashSet<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
    let one: String = q(&mut con, &["ZRANDMEMBER", "z"]);
    assert_eq!(
        fails(&mut con, &["ZRANDMEMBER", "z", "-9223372036854775808"]),
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    );
    assert!(members.contains(&one));
    let two = strings(&mut con, &["ZRANDMEMBER", "z", "2"]);
    assert_eq!(two.len(), 2);
    assert_ne!(two[0], two[1], "a positive count gives distinct members");
    assert_eq!(
        strings(&mut con, &["ZRANDMEMBER", "z", "10", "WITHSCORES"]),
        sv(&["a", "1", "b", "2", "c", "3"])
    );
    let many = strings(&mut con, &["ZRANDMEMBER", "z", "-20", "WITHSCORES"]);
    assert_eq!(many.len(), 40);
    for pair in many.chunks(2) {
        let want = match pair[0].as_str() {
            "a" => "1",
            "b" => "2",
            "c" => "3",
            other => panic!("not a member: {other}"),
        };
        assert_eq!(pair[1], want);
    }
    assert!(strings(&mut con, &["ZRANDMEMBER", "z", "0"]).is_empty());
    assert!(strings(&mut con, &["ZRANDMEMBER", "none", "-5", "WITHSCORES"]).is_empty());
    assert_eq!(q::<Option<String>>(&mut con, &["ZRANDMEMBER", "none"]), None);
    assert_eq!(fails(&mut con, &["ZRANDMEMBER", "z", "1", "withscore"]), SYNTAX);
    assert_eq!(fails(&mut con, &["ZRANDMEMBER", "z", "1", "WITHSCORES", "x"]), SYNTAX);
    assert_eq!(fails(&mut con, &["ZRANDMEMBER", "z", "x"]), NOT_INTEGER);
    assert_eq!(
        fails(&mut con, &["ZRANDMEMBER", "z", "-4611686018427387904", "WITHSCORES"]),
        "ERR value is out of range"
    );
    assert!(
        strings(&mut con, &["ZRANDMEMBER", "none", "-4611686018427387903", "WITHSCORES"])
            .is_empty()
    );
    // -LONG_MIN does not fit: refused before the key is read, as SRANDMEMBER and HRANDFIELD do
    // (not streamed until the output limit closes the client).
    for key in ["z", "none"] {
        for extra in [&[][..], &["WITHSCORES"][..]] {
            let args = [&["ZRANDMEMBER", key, "-9223372036854775808"][..], extra].concat();
            assert_eq!(fails(&mut con, &args), COUNT_OUT_OF_RANGE, "{args:?}");
        }
    }
    q::<String>(&mut con, &["SET", "s", "v"]);
    assert_eq!(fails(&mut con, &["ZRANDMEMBER", "s"]), WRONGTYPE);
    assert_eq!(fails(&mut con, &["ZRANDMEMBER", "s", "0"]), WRONGTYPE);

    // Past the uniform size: the sampled paths. Members of two shapes (numeric, and a
    // shared prefix) so the descent has branches to take.
    let n = 3000usize;
    let mut all: BTreeMap<String, String> = BTreeMap::new();
    let mut args = vec!["ZADD".to_string(), "big".into()];
    for i in 0..n {
        let m = if i % 2 == 0 { format!("{i}") } else { format!("member:{i:05}") };
        all.insert(m.clone(), (i % 7).to_string());
        args.push((i % 7).to_string());
        args.push(m);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(q::<usize>(&mut con, &args), n);
    let mut seen = HashSet::new();
    for _ in 0..200 {
        let m: String = q(&mut con, &["ZRANDMEMBER", "big"]);
        assert!(all.contains_key(&m), "{m}");
        seen.insert(m);
    }
    assert!(seen.len() > 50, "200 picks found {} members", seen.len());
    for count in ["10", "1400", "2999"] {
        let got = strings(&mut con, &["ZRANDMEMBER", "big", count, "WITHSCORES"]);
        let want: usize = count.parse().expect("count");
        assert_eq!(got.len(), want * 2);
        let distinct: HashSet<&String> = got.iter().step_by(2).collect();
        assert_eq!(distinct.len(), want, "distinct members for a positive count");
        for pair in got.chunks(2) {
            assert_eq!(all.get(&pair[0]), Some(&pair[1]), "{pair:?}");
        }
    }
    let got = strings(&mut con, &["ZRANDMEMBER", "big", "-500"]);
    assert_eq!(got.len(), 500);
    assert!(got.iter().all(|m| all.contains_key(m)));
    assert_eq!(strings(&mut con, &["ZRANDMEMBER", "big", "5000"]).len(), n);
}

#[test]
fn zscan_small_sets_in_one_call_big_ones_by_cursor() {
    let server = TestServer::start();
    let mut con = server.client();
    q::<i64>(&mut con, &["ZADD", "z", "3", "c", "1", "b", "2", "q"]);
    let (cursor, items): (String, Vec<String>) = q(&mut con, &["ZSCAN", "z", "0", "COUNT", "1"]);
    assert_eq!((cursor.as_str(), items), ("0", sv(&["b", "1", "q", "2", "c", "3"])), "score order");
    let (_, items): (String, Vec<String>) = q(&mut con, &["ZSCAN", "z", "0", "MATCH", "q*"]);
    assert_eq!(items, sv(&["q", "2"]));
    let (cursor, items): (String, Vec<String>) = q(&mut con, &["ZSCAN", "none", "0", "COUNT", "0"]);
    assert_eq!((cursor.as_str(), items.len()), ("0", 0), "a missing key reads no options");
    let cases: &[(&[&str], &str)] = &[
        (&["ZSCAN", "z", "x"], "ERR invalid cursor"),
        (&["ZSCAN", "z", " 5"], "ERR invalid cursor"),
        (&["ZSCAN", "z", "18446744073709551616"], "ERR invalid cursor"),
        (&["ZSCAN", "z", "0", "COUNT", "0"], SYNTAX),
        (&["ZSCAN", "z", "0", "COUNT", "x"], NOT_INTEGER),
        (&["ZSCAN", "z", "0", "MATCH"], SYNTAX),
        (&["ZSCAN", "z", "0", "TYPE", "zset"], SYNTAX),
    ];
    for (args, want) in cases {
        assert_eq!(fails(&mut con, args), *want, "{args:?}");
    }
    q::<String>(&mut con, &["SET", "s", "v"]);
    assert_eq!(fails(&mut con, &["ZSCAN", "s", "0"]), WRONGTYPE);
    assert_eq!(fails(&mut con, &["ZSCAN", "s", "x"]), "ERR invalid cursor");

    let n = 500usize;
    let mut args = vec!["ZADD".to_string(), "big".into()];
    for i in 0..n {
        args.push(format!("{}.5", i % 10));
        args.push(format!("m{i:04}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(q::<usize>(&mut con, &args), n);
    let mut cursor = "0".to_string();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut calls = 0;
    loop {
        let (next, items): (String, Vec<String>) =
            q(&mut con, &["ZSCAN", "big", &cursor, "COUNT", "7"]);
        calls += 1;
        assert!(items.len() <= 14);
        for pair in items.chunks(2) {
            assert!(seen.insert(pair[0].clone(), pair[1].clone()).is_none(), "{} twice", pair[0]);
        }
        if next == "0" {
            break;
        }
        cursor = next;
        assert!(calls < 1000, "the scan ends");
    }
    assert_eq!(seen.len(), n);
    assert!(calls >= n / 7, "{calls} calls");
    assert_eq!(seen.get("m0013").map(String::as_str), Some("3.5"));
    let (_, items): (String, Vec<String>) =
        q(&mut con, &["ZSCAN", "big", "0", "MATCH", "m00*", "COUNT", "1000"]);
    assert_eq!(items.len(), 200);
}

#[test]
fn big_sets_rank_and_range_from_the_nearer_end() {
    let server = TestServer::start();
    let mut con = server.client();
    let n = 2000i64;
    let mut args = vec!["ZADD".to_string(), "z".into()];
    for i in 0..n {
        args.push((i / 3).to_string());
        args.push(format!("m{i:05}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(q::<i64>(&mut con, &args), n);
    for i in [0, 1, 63, 64, 65, 700, 999, 1000, 1500, 1935, 1998, 1999] {
        let m = format!("m{i:05}");
        assert_eq!(q::<i64>(&mut con, &["ZRANK", "z", &m]), i, "{m}");
        assert_eq!(q::<i64>(&mut con, &["ZREVRANK", "z", &m]), n - 1 - i, "{m}");
    }
    assert_eq!(
        strings(&mut con, &["ZRANGE", "z", "1997", "-1"]),
        sv(&["m01997", "m01998", "m01999"])
    );
    assert_eq!(
        strings(&mut con, &["ZRANGE", "z", "-3", "-2", "WITHSCORES"]),
        sv(&["m01997", "665", "m01998", "666"])
    );
    assert_eq!(strings(&mut con, &["ZRANGE", "z", "1", "2", "REV"]), sv(&["m01998", "m01997"]));
    assert_eq!(
        strings(&mut con, &["ZREVRANGE", "z", "1997", "1999"]),
        sv(&["m00002", "m00001", "m00000"])
    );
    assert_eq!(
        strings(&mut con, &["ZRANGEBYSCORE", "z", "(665", "+inf"]),
        sv(&["m01998", "m01999"])
    );
    assert_eq!(q::<i64>(&mut con, &["ZCOUNT", "z", "100", "(200"]), 300);
    assert_eq!(q::<i64>(&mut con, &["ZREMRANGEBYRANK", "z", "1", "-2"]), n - 2);
    assert_eq!(strings(&mut con, &["ZRANGE", "z", "0", "-1"]), sv(&["m00000", "m01999"]));
    assert_eq!(q::<i64>(&mut con, &["ZREMRANGEBYRANK", "z", "0", "-1"]), 2);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "z"]), 0);
}

#[test]
fn resp3_shapes() {
    let server = TestServer::start();
    let mut con = server.client();
    q::<i64>(&mut con, &["ZADD", "z", "0.5", "a", "2", "b"]);
    let replies = resp3(
        &server,
        &[
            "ZSCORE z a",
            "ZSCORE z nope",
            "ZMSCORE z a nope",
            "ZRANGE z 0 -1 WITHSCORES",
            "ZRANGE z 0 -1",
            "ZRANDMEMBER z 5 WITHSCORES",
            "ZINCRBY z 1 b",
            "ZADD z XX INCR 1 nope",
            "ZUNION 1 z WITHSCORES",
            "ZPOPMIN z",
            "ZPOPMAX z 1",
            "ZRANDMEMBER none",
            "ZRANGE none 0 -1",
        ],
    );
    let pair = |m: &str, s: f64| Reply::Array(vec![bulk(m), Reply::Double(s)]);
    assert_eq!(
        replies,
        vec![
            Reply::Double(0.5),
            Reply::Null,
            Reply::Array(vec![Reply::Double(0.5), Reply::Null]),
            Reply::Array(vec![pair("a", 0.5), pair("b", 2.0)]),
            Reply::Array(vec![bulk("a"), bulk("b")]),
            Reply::Array(vec![pair("a", 0.5), pair("b", 2.0)]),
            Reply::Double(3.0),
            Reply::Null,
            Reply::Array(vec![pair("a", 0.5), pair("b", 3.0)]),
            Reply::Array(vec![bulk("a"), Reply::Double(0.5)]),
            Reply::Array(vec![pair("b", 3.0)]),
            Reply::Null,
            Reply::Array(vec![]),
        ]
    );
}

#[test]
fn multi_exec_sees_its_own_writes_and_commits_once() {
    let server = TestServer::start();
    let mut con = server.client();
    let replies: (i64, Vec<String>, i64, i64, Vec<String>, i64) = redis::pipe()
        .atomic()
        .cmd("ZADD")
        .arg("z")
        .arg("1")
        .arg("a")
        .arg("2")
        .arg("b")
        .arg("3")
        .arg("c")
        .cmd("ZRANGE")
        .arg("z")
        .arg("0")
        .arg("-1")
        .cmd("ZREM")
        .arg("z")
        .arg("b")
        .cmd("ZRANK")
        .arg("z")
        .arg("c")
        .cmd("ZPOPMAX")
        .arg("z")
        .cmd("ZUNIONSTORE")
        .arg("d")
        .arg("2")
        .arg("z")
        .arg("z")
        .query(&mut con)
        .expect("exec");
    assert_eq!(replies, (3, sv(&["a", "b", "c"]), 1, 1, sv(&["c", "3"]), 1));
    assert_eq!(with_scores(&mut con, "d"), sv(&["a", "2"]));
    assert_eq!(with_scores(&mut con, "z"), sv(&["a", "1"]));
}

#[test]
fn copy_rename_and_restart_keep_the_score_index() {
    let server = TestServer::start();
    let mut con = server.client();
    q::<i64>(&mut con, &["ZADD", "z", "2", "b", "1", "a", "3", "c"]);
    assert_eq!(q::<i64>(&mut con, &["COPY", "z", "z2"]), 1);
    assert_eq!(q::<String>(&mut con, &["RENAME", "z", "z3"]), "OK");
    assert_eq!(q::<i64>(&mut con, &["ZADD", "z2", "0", "c"]), 0);
    let dir = server.stop();
    let server = TestServer::in_dir(dir, |_| {});
    let mut con = server.client();
    assert_eq!(with_scores(&mut con, "z3"), sv(&["a", "1", "b", "2", "c", "3"]));
    assert_eq!(strings(&mut con, &["ZRANGEBYSCORE", "z2", "-inf", "1"]), sv(&["c", "a"]));
    assert_eq!(q::<i64>(&mut con, &["ZRANK", "z3", "c"]), 2);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "z"]), 0);
}

#[test]
fn element_key_limit_at_and_past() {
    let server = TestServer::start();
    let mut con = server.client();
    let limit = lode_server::ELEMENT_KEY_BYTES_MAX;
    let key = "k".repeat(100);
    let at = "m".repeat(limit - key.len());
    let past = "m".repeat(limit - key.len() + 1);
    assert_eq!(q::<i64>(&mut con, &["ZADD", &key, "1", &at]), 1);
    assert_eq!(q::<String>(&mut con, &["ZSCORE", &key, &at]), "1");
    assert_eq!(q::<i64>(&mut con, &["ZRANK", &key, &at]), 0);
    let err = fails(&mut con, &["ZADD", &key, "2", "ok", "3", &past]);
    assert!(err.starts_with("ERR element too large"), "{err}");
    assert_eq!(q::<i64>(&mut con, &["ZCARD", &key]), 1, "a refused command writes nothing");
    assert_eq!(q::<Option<String>>(&mut con, &["ZSCORE", &key, &past]), None);
    // A longer destination key pushes the member past the limit: refused, nothing stored.
    let longer = "k".repeat(101);
    let err = fails(&mut con, &["ZUNIONSTORE", &longer, "1", &key]);
    assert!(err.starts_with("ERR element too large"), "{err}");
    assert_eq!(q::<i64>(&mut con, &["EXISTS", &longer]), 0);
    // Refused inside MULTI, it takes back only its own writes.
    let exec: redis::RedisResult<Value> = redis::pipe()
        .atomic()
        .cmd("ZADD")
        .arg("other")
        .arg("1")
        .arg("a")
        .cmd("ZUNIONSTORE")
        .arg(&longer)
        .arg("1")
        .arg(&key)
        .cmd("ZADD")
        .arg("other")
        .arg("2")
        .arg("b")
        .query(&mut con);
    let err = exec.expect_err("the refused command's error comes back");
    assert!(err.to_string().contains("element too large"), "{err}");
    assert_eq!(with_scores(&mut con, "other"), sv(&["a", "1", "b", "2"]));
    assert_eq!(q::<i64>(&mut con, &["EXISTS", &longer]), 0);
    let err = fails(&mut con, &["ZRANGESTORE", &longer, &key, "0", "-1"]);
    assert!(err.starts_with("ERR element too large"), "{err}");
    assert_eq!(q::<i64>(&mut con, &["EXISTS", &longer]), 0);
}

#[test]
fn replies_past_the_output_limit_close_the_client() {
    use lode_server::OutputBufferLimit;
    const HARD: u64 = 64 << 10;
    let server = TestServer::with(|c| {
        c.client_output_buffer_limit.normal =
            OutputBufferLimit { hard_bytes: HARD, soft_bytes: 0, soft_secs: 0 };
    });
    let mut con = server.client();
    let mut args = vec!["ZADD".to_string(), "z".into()];
    for i in 0..2000 {
        args.push(i.to_string());
        args.push(format!("member-{i:032}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(q::<i64>(&mut con, &args), 2000);
    assert_eq!(
        strings(&mut con, &["ZRANGE", "z", "0", "99"]).len(),
        100,
        "a small range is served"
    );
    for cmd in [
        &["ZRANGE", "z", "0", "-1", "WITHSCORES"][..],
        &["ZRANGEBYSCORE", "z", "-inf", "+inf"],
        &["ZUNION", "1", "z"],
        &["ZRANDMEMBER", "z", "-100000"],
        &["ZSCAN", "z", "0", "COUNT", "100000"],
    ] {
        let mut c = server.client();
        let mut req = redis::cmd(cmd[0]);
        for a in &cmd[1..] {
            req.arg(*a);
        }
        assert!(req.query::<Value>(&mut c).is_err(), "{cmd:?} closes the client");
    }
    assert_eq!(q::<i64>(&mut con, &["ZCARD", "z"]), 2000);
}

// ---- The model test ----------------------------------------------------------------------

/// Redis's sorted-set semantics, written plainly: a map per key, sorted on demand.
#[derive(Debug, Default)]
struct Model {
    sets: BTreeMap<String, BTreeMap<String, f64>>,
}

/// `%.17g` of the scores this test uses (integers, quarters, infinities), so the model
/// needs no formatter of its own.
fn fmt(v: f64) -> String {
    if v.is_infinite() {
        return if v < 0.0 { "-inf" } else { "inf" }.into();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.into();
    }
    format!("{v}")
}

fn sorted(set: &BTreeMap<String, f64>) -> Vec<(String, f64)> {
    let mut v: Vec<(String, f64)> = set.iter().map(|(m, s)| (m.clone(), *s)).collect();
    v.sort_by(|a, b| a.1.partial_cmp(&b.1).expect("no NaN").then_with(|| a.0.cmp(&b.0)));
    v
}

fn bulk_v(s: &str) -> Value {
    Value::BulkString(s.as_bytes().to_vec())
}

fn listing(items: &[(String, f64)], withscores: bool) -> Value {
    let mut out = Vec::new();
    for (m, s) in items {
        out.push(bulk_v(m));
        if withscores {
            out.push(bulk_v(&fmt(*s)));
        }
    }
    Value::Array(out)
}

fn lex_gte(min: &str, m: &str) -> bool {
    match min {
        "-" => true,
        "+" => false,
        _ if min.starts_with('[') => m >= &min[1..],
        _ => m > &min[1..],
    }
}

fn lex_lte(max: &str, m: &str) -> bool {
    match max {
        "+" => true,
        "-" => false,
        _ if max.starts_with('[') => m <= &max[1..],
        _ => m < &max[1..],
    }
}

fn lex_empty(min: &str, max: &str) -> bool {
    let rank = |b: &str| match b {
        "-" => (0, String::new()),
        "+" => (2, String::new()),
        _ => (1, b[1..].to_string()),
    };
    let (a, b) = (rank(min), rank(max));
    let excl = |x: &str| !x.starts_with('[');
    a > b || (a == b && (excl(min) || excl(max)))
}

/// Redis's listpack walk for lex ranges (see the unequal-scores test above).
fn lex_walk(
    items: &[(String, f64)],
    min: &str,
    max: &str,
    rev: bool,
    offset: i64,
    limit: i64,
) -> Vec<(String, f64)> {
    let n = items.len();
    if n == 0
        || lex_empty(min, max)
        || !lex_gte(min, &items[n - 1].0)
        || !lex_lte(max, &items[0].0)
        || offset < 0
    {
        return Vec::new();
    }
    let order: Vec<usize> = if rev { (0..n).rev().collect() } else { (0..n).collect() };
    let reached = |m: &str| if rev { lex_lte(max, m) } else { lex_gte(min, m) };
    let inside = |m: &str| if rev { lex_gte(min, m) } else { lex_lte(max, m) };
    let Some(start) = order.iter().position(|&i| reached(&items[i].0)) else { return Vec::new() };
    if !inside(&items[order[start]].0) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for &i in order.iter().skip(start + offset as usize) {
        if (limit >= 0 && out.len() as i64 >= limit) || !inside(&items[i].0) {
            break;
        }
        out.push(items[i].clone());
    }
    out
}

fn score_bound(b: &str) -> (f64, bool) {
    let (ex, t) = match b.strip_prefix('(') {
        Some(t) => (true, t),
        None => (false, b),
    };
    let v = match t {
        "-inf" => f64::NEG_INFINITY,
        "+inf" | "inf" => f64::INFINITY,
        _ => t.parse().expect("a test bound"),
    };
    (v, ex)
}

fn in_score_range(min: (f64, bool), max: (f64, bool), s: f64) -> bool {
    (if min.1 { s > min.0 } else { s >= min.0 }) && (if max.1 { s < max.0 } else { s <= max.0 })
}

fn clamp(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 { start + len } else { start }.max(0);
    let end = if end < 0 { end + len } else { end };
    if start > end || start >= len {
        return None;
    }
    Some((start as usize, end.min(len - 1) as usize))
}

impl Model {
    fn set(&mut self, key: &str) -> &mut BTreeMap<String, f64> {
        self.sets.entry(key.to_string()).or_default()
    }

    fn items(&self, key: &str) -> Vec<(String, f64)> {
        self.sets.get(key).map(sorted).unwrap_or_default()
    }

    fn tidy(&mut self, key: &str) {
        if self.sets.get(key).is_some_and(BTreeMap::is_empty) {
            self.sets.remove(key);
        }
    }

    fn store(&mut self, key: &str, items: Vec<(String, f64)>) -> Value {
        let n = items.len() as i64;
        // Stored scores lose the sign of zero, as Redis's listpack loses it.
        let items = items.into_iter().map(|(m, s)| (m, if s == 0.0 { 0.0 } else { s }));
        self.sets.insert(key.to_string(), items.collect());
        self.tidy(key);
        Value::Int(n)
    }
}

#[test]
fn zset_model_matches_redis_semantics() {
    let seed = lode_testkit::Seed::new("zset_model_matches_redis_semantics");
    let mut rng = seed.rng(0);
    let server = TestServer::start();
    let mut con = server.client();
    let mut model = Model::default();
    // "zl" only ever holds score 0, so its lex ranges take the seek path.
    let keys = ["z0", "z1", "z2", "zl"];
    let scores = ["0", "1", "-1", "2", "2.5", "-0.25", "3", "inf", "-inf", "5", "0.5"];
    let bounds = ["-inf", "+inf", "0", "(0", "1", "(1", "2.5", "(2.5", "-1", "(5", "5"];
    let lexes = ["-", "+", "[a", "(a", "[m1", "(m1", "[m5", "(m3", "[b", "[", "(m"];
    let steps = lode_testkit::iterations(1500);
    for step in 0..steps {
        let key = keys[rng.random_range(0..keys.len())];
        let member = |rng: &mut rand::rngs::StdRng| format!("m{}", rng.random_range(0..12));
        let score =
            |rng: &mut rand::rngs::StdRng| scores[rng.random_range(0..scores.len())].to_string();
        let idx = |rng: &mut rand::rngs::StdRng| rng.random_range(-8i64..8).to_string();
        let mut expect_nan = false;
        let (args, want): (Vec<String>, Value) = match rng.random_range(0..22) {
            0..=3 => {
                let (nx, xx, gt, lt, ch) = match rng.random_range(0..8) {
                    0 => (true, false, false, false, false),
                    1 => (false, true, false, false, true),
                    2 => (false, false, true, false, true),
                    3 => (false, false, false, true, false),
                    4 => (false, true, true, false, false),
                    _ => (false, false, false, false, rng.random_bool(0.5)),
                };
                let mut args = vec!["ZADD".to_string(), key.into()];
                for (on, word) in [(nx, "NX"), (xx, "XX"), (gt, "GT"), (lt, "LT"), (ch, "CH")] {
                    if on {
                        args.push(word.into());
                    }
                }
                let pairs: Vec<(String, String)> = (0..rng.random_range(1..4))
                    .map(|_| (score(&mut rng), member(&mut rng)))
                    .map(|(s, m)| (if key == "zl" { "0".into() } else { s }, m))
                    .collect();
                let exists = model.sets.contains_key(key);
                let (mut added, mut changed) = (0, 0);
                if exists || !xx {
                    let set = model.set(key);
                    for (s, m) in &pairs {
                        let s = score_bound(s).0;
                        match set.get(m).copied() {
                            Some(cur) => {
                                if nx || (lt && s >= cur) || (gt && s <= cur) {
                                    continue;
                                }
                                if s != cur {
                                    set.insert(m.clone(), s);
                                    changed += 1;
                                }
                            }
                            None if xx => {}
                            None => {
                                set.insert(m.clone(), s);
                                added += 1;
                            }
                        }
                    }
                    model.tidy(key);
                }
                for (s, m) in pairs {
                    args.push(s);
                    args.push(m);
                }
                (args, Value::Int(if ch { added + changed } else { added }))
            }
            4 => {
                let (s, m) = (score(&mut rng), member(&mut rng));
                let key = if key == "zl" { "z0" } else { key };
                let inc = score_bound(&s).0;
                let cur = model.sets.get(key).and_then(|z| z.get(&m)).copied();
                let new = cur.map_or(inc, |c| c + inc);
                let want = if new.is_nan() {
                    expect_nan = true;
                    Value::Nil
                } else {
                    model.set(key).insert(m.clone(), new);
                    bulk_v(&fmt(new))
                };
                (vec!["ZINCRBY".into(), key.into(), s, m], want)
            }
            5 => {
                let ms: Vec<String> =
                    (0..rng.random_range(1..4)).map(|_| member(&mut rng)).collect();
                let mut n = 0;
                if let Some(set) = model.sets.get_mut(key) {
                    for m in &ms {
                        n += i64::from(set.remove(m).is_some());
                    }
                }
                model.tidy(key);
                let mut args = vec!["ZREM".to_string(), key.into()];
                args.extend(ms);
                (args, Value::Int(n))
            }
            6 => {
                let m = member(&mut rng);
                let want = model
                    .sets
                    .get(key)
                    .and_then(|z| z.get(&m))
                    .map_or(Value::Nil, |s| bulk_v(&fmt(*s)));
                (vec!["ZSCORE".into(), key.into(), m], want)
            }
            7 => {
                let m = member(&mut rng);
                let rev = rng.random_bool(0.5);
                let items = model.items(key);
                let want = match items.iter().position(|(x, _)| *x == m) {
                    Some(r) => Value::Int(if rev { items.len() - 1 - r } else { r } as i64),
                    None => Value::Nil,
                };
                (vec![if rev { "ZREVRANK" } else { "ZRANK" }.into(), key.into(), m], want)
            }
            8 | 9 => {
                let (s, e) = (idx(&mut rng), idx(&mut rng));
                let (rev, ws) = (rng.random_bool(0.5), rng.random_bool(0.5));
                let mut items = model.items(key);
                if rev {
                    items.reverse();
                }
                let range = clamp(s.parse().expect("int"), e.parse().expect("int"), items.len())
                    .map_or(Vec::new(), |(a, b)| items[a..=b].to_vec());
                let mut args = vec!["ZRANGE".to_string(), key.into(), s, e];
                if rev {
                    args.push("REV".into());
                }
                if ws {
                    args.push("WITHSCORES".into());
                }
                (args, listing(&range, ws))
            }
            10 | 11 => {
                let (lo, hi) = (
                    bounds[rng.random_range(0..bounds.len())],
                    bounds[rng.random_range(0..bounds.len())],
                );
                let (rev, ws) = (rng.random_bool(0.5), rng.random_bool(0.5));
                let (off, lim) = (rng.random_range(-1i64..4), rng.random_range(-1i64..5));
                let limit = rng.random_bool(0.4);
                let mut items = model.items(key);
                if rev {
                    items.reverse();
                }
                let (min, max) = (score_bound(lo), score_bound(hi));
                let mut hits: Vec<(String, f64)> =
                    items.into_iter().filter(|(_, s)| in_score_range(min, max, *s)).collect();
                if limit {
                    hits = if off < 0 {
                        Vec::new()
                    } else {
                        hits.into_iter()
                            .skip(off as usize)
                            .take(if lim < 0 { usize::MAX } else { lim as usize })
                            .collect()
                    };
                }
                let mut args = vec![
                    if rev { "ZREVRANGEBYSCORE" } else { "ZRANGEBYSCORE" }.to_string(),
                    key.into(),
                    if rev { hi } else { lo }.into(),
                    if rev { lo } else { hi }.into(),
                ];
                if ws {
                    args.push("WITHSCORES".into());
                }
                if limit {
                    args.extend(["LIMIT".to_string(), off.to_string(), lim.to_string()]);
                }
                (args, listing(&hits, ws))
            }
            12 | 13 => {
                let (lo, hi) = (
                    lexes[rng.random_range(0..lexes.len())],
                    lexes[rng.random_range(0..lexes.len())],
                );
                let rev = rng.random_bool(0.5);
                let (off, lim) = if rng.random_bool(0.4) {
                    (rng.random_range(-1i64..4), rng.random_range(-1i64..5))
                } else {
                    (0, -1)
                };
                let got = lex_walk(&model.items(key), lo, hi, rev, off, lim);
                let mut args = vec![
                    if rev { "ZREVRANGEBYLEX" } else { "ZRANGEBYLEX" }.to_string(),
                    key.into(),
                    if rev { hi } else { lo }.into(),
                    if rev { lo } else { hi }.into(),
                ];
                if (off, lim) != (0, -1) {
                    args.extend(["LIMIT".to_string(), off.to_string(), lim.to_string()]);
                }
                (args, listing(&got, false))
            }
            14 => {
                let (lo, hi) = (
                    bounds[rng.random_range(0..bounds.len())],
                    bounds[rng.random_range(0..bounds.len())],
                );
                let (min, max) = (score_bound(lo), score_bound(hi));
                let n =
                    model.items(key).iter().filter(|(_, s)| in_score_range(min, max, *s)).count();
                (vec!["ZCOUNT".into(), key.into(), lo.into(), hi.into()], Value::Int(n as i64))
            }
            15 => {
                let (lo, hi) = (
                    lexes[rng.random_range(0..lexes.len())],
                    lexes[rng.random_range(0..lexes.len())],
                );
                let n = lex_walk(&model.items(key), lo, hi, false, 0, -1).len();
                (vec!["ZLEXCOUNT".into(), key.into(), lo.into(), hi.into()], Value::Int(n as i64))
            }
            16 => {
                let max = rng.random_bool(0.5);
                let count = rng.random_range(1..4usize);
                let mut items = model.items(key);
                if max {
                    items.reverse();
                }
                items.truncate(count);
                if let Some(set) = model.sets.get_mut(key) {
                    for (m, _) in &items {
                        set.remove(m);
                    }
                }
                model.tidy(key);
                (
                    vec![
                        if max { "ZPOPMAX" } else { "ZPOPMIN" }.into(),
                        key.into(),
                        count.to_string(),
                    ],
                    listing(&items, true),
                )
            }
            17 => {
                let items = model.items(key);
                let (args, gone): (Vec<String>, Vec<(String, f64)>) = match rng.random_range(0..3) {
                    0 => {
                        let (s, e) = (idx(&mut rng), idx(&mut rng));
                        let gone =
                            clamp(s.parse().expect("int"), e.parse().expect("int"), items.len())
                                .map_or(Vec::new(), |(a, b)| items[a..=b].to_vec());
                        (vec!["ZREMRANGEBYRANK".into(), key.into(), s, e], gone)
                    }
                    1 => {
                        let (lo, hi) = (
                            bounds[rng.random_range(0..bounds.len())],
                            bounds[rng.random_range(0..bounds.len())],
                        );
                        let (min, max) = (score_bound(lo), score_bound(hi));
                        let gone = items
                            .iter()
                            .filter(|(_, s)| in_score_range(min, max, *s))
                            .cloned()
                            .collect();
                        (vec!["ZREMRANGEBYSCORE".into(), key.into(), lo.into(), hi.into()], gone)
                    }
                    _ => {
                        let (lo, hi) = (
                            lexes[rng.random_range(0..lexes.len())],
                            lexes[rng.random_range(0..lexes.len())],
                        );
                        (
                            vec!["ZREMRANGEBYLEX".into(), key.into(), lo.into(), hi.into()],
                            lex_walk(&items, lo, hi, false, 0, -1),
                        )
                    }
                };
                if let Some(set) = model.sets.get_mut(key) {
                    for (m, _) in &gone {
                        set.remove(m);
                    }
                }
                model.tidy(key);
                (args, Value::Int(gone.len() as i64))
            }
            18 | 19 => {
                let op = rng.random_range(0..3);
                let n = rng.random_range(1..4usize);
                let srcs: Vec<&str> =
                    (0..n).map(|_| keys[rng.random_range(0..keys.len())]).collect();
                let weights: Option<Vec<f64>> = (op != 2 && rng.random_bool(0.5)).then(|| {
                    (0..n).map(|_| [1.0, 2.0, -1.0, 0.5, 0.0][rng.random_range(0..5)]).collect()
                });
                let agg = if op != 2 { rng.random_range(0..3) } else { 0 };
                let store = rng.random_bool(0.5);
                let dst = keys[rng.random_range(0..keys.len() - 1)];
                // (members in score order, weight) per input.
                let mut inputs: Vec<(Vec<(String, f64)>, f64)> = srcs
                    .iter()
                    .enumerate()
                    .map(|(i, k)| (model.items(k), weights.as_ref().map_or(1.0, |w| w[i])))
                    .collect();
                if op != 2 {
                    inputs.sort_by_key(|(items, _)| items.len());
                }
                let combine = |t: &mut f64, v: f64| match agg {
                    0 => {
                        *t += v;
                        if t.is_nan() {
                            *t = 0.0;
                        }
                    }
                    1 => *t = if v < *t { v } else { *t },
                    _ => *t = if v > *t { v } else { *t },
                };
                let w = |weight: f64, s: f64| if (weight * s).is_nan() { 0.0 } else { weight * s };
                let mut result: BTreeMap<String, f64> = BTreeMap::new();
                match op {
                    0 => {
                        for (items, weight) in &inputs {
                            for (m, s) in items {
                                let v = w(*weight, *s);
                                match result.get_mut(m) {
                                    Some(t) => combine(t, v),
                                    None => {
                                        result.insert(m.clone(), v);
                                    }
                                }
                            }
                        }
                    }
                    1 => {
                        'members: for (m, s0) in &inputs[0].0 {
                            let mut t = w(inputs[0].1, *s0);
                            for (items, weight) in &inputs[1..] {
                                let Some((_, s)) = items.iter().find(|(x, _)| x == m) else {
                                    continue 'members;
                                };
                                combine(&mut t, s * weight);
                            }
                            result.insert(m.clone(), t);
                        }
                    }
                    _ => {
                        for (m, s0) in &inputs[0].0 {
                            if inputs[1..]
                                .iter()
                                .all(|(items, _)| items.iter().all(|(x, _)| x != m))
                            {
                                result.insert(m.clone(), *s0);
                            }
                        }
                    }
                }
                let result = sorted(&result);
                let name = ["ZUNION", "ZINTER", "ZDIFF"][op];
                let mut args = vec![format!("{name}{}", if store { "STORE" } else { "" })];
                if store {
                    args.push(dst.into());
                }
                args.push(n.to_string());
                args.extend(srcs.iter().map(|s| s.to_string()));
                if let Some(ws) = &weights {
                    args.push("WEIGHTS".into());
                    args.extend(ws.iter().map(|w| fmt(*w)));
                }
                if op != 2 {
                    args.extend(["AGGREGATE".to_string(), ["SUM", "MIN", "MAX"][agg].into()]);
                }
                if store {
                    let want = model.store(dst, result);
                    (args, want)
                } else {
                    args.push("WITHSCORES".into());
                    (args, listing(&result, true))
                }
            }
            20 => {
                // A burst of members, so sets get big enough for the index's far end.
                let base = rng.random_range(0..4) * 100;
                let mut args = vec!["ZADD".to_string(), key.into()];
                let mut added = 0;
                for i in base..base + 100 {
                    let m = format!("n{i:03}");
                    let s = if key == "zl" { 0.0 } else { (i % 9) as f64 };
                    if model.set(key).insert(m.clone(), s).is_none() {
                        added += 1;
                    }
                    args.push(fmt(s));
                    args.push(m);
                }
                (args, Value::Int(added))
            }
            _ => {
                let want = model.sets.get(key).map_or(0, BTreeMap::len) as i64;
                (vec!["ZCARD".into(), key.into()], Value::Int(want))
            }
        };
        let mut cmd = redis::cmd(&args[0]);
        for a in &args[1..] {
            cmd.arg(a);
        }
        let got = cmd.query::<Value>(&mut con);
        match got {
            Err(e) if expect_nan => {
                let text = crate::err_text(&e);
                assert_eq!(
                    text, "ERR resulting score is not a number (NaN)",
                    "step {step}: {args:?}"
                );
            }
            Ok(got) if !expect_nan => assert_eq!(got, want, "step {step}: {args:?}"),
            other => panic!(
                "step {step}: {args:?} gave {other:?}, wanted {want:?} (NaN error: {expect_nan})"
            ),
        }
        if step % 100 == 99 {
            for k in keys {
                let got: Value = redis::cmd("ZRANGE")
                    .arg(k)
                    .arg("0")
                    .arg("-1")
                    .arg("WITHSCORES")
                    .query(&mut con)
                    .expect("zrange");
                assert_eq!(got, listing(&model.items(k), true), "step {step}: {k} in full");
            }
        }
    }
}
