//! Lists: every command and option, Redis 7.0's reply shapes and error strings, WRONGTYPE,
//! MULTI, the blocking commands (woken by pushes from other connections in the order they
//! blocked, by their timeouts, cleaned up when their client leaves), and a seeded model test
//! against an in-test model of Redis's list semantics.
//!
//! Blocking tests wait on a condition, never a sleep: a client counts as blocked once INFO's
//! `blocked_clients` says so (a bounded poll: the server has no event to await), and a woken
//! client's reply is read from its socket.

use crate::{TestServer, eventually, fails, q, read_replies};
use lode_resp::Reply;
use rand::Rng;
use rand::rngs::StdRng;
use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const NOT_INTEGER: &str = "ERR value is not an integer or out of range";

fn list(con: &mut redis::Connection, key: &str) -> Vec<String> {
    q(con, &["LRANGE", key, "0", "-1"])
}

fn frame(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
    out
}

/// Sends one command on a raw socket without reading its reply.
fn send(stream: &mut TcpStream, args: &[&str]) {
    stream.write_all(&frame(args)).expect("write");
}

/// Sends one command on a raw socket and reads its reply.
fn ask(stream: &mut TcpStream, args: &[&str]) -> Reply {
    send(stream, args);
    read_one(stream)
}

fn read_one(stream: &mut TcpStream) -> Reply {
    let (mut replies, closed) = read_replies(stream, 1);
    assert!(!closed, "the server closed the connection");
    replies.pop().expect("one reply")
}

fn bulk(s: &str) -> Reply {
    Reply::Bulk(bytes::Bytes::copy_from_slice(s.as_bytes()))
}

fn pair(key: &str, value: &str) -> Reply {
    Reply::Array(vec![bulk(key), bulk(value)])
}

fn blocked_clients(con: &mut redis::Connection) -> u64 {
    let info: String = q(con, &["INFO", "clients"]);
    info.lines()
        .find_map(|l| l.strip_prefix("blocked_clients:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("INFO has no blocked_clients:\n{info}"))
}

/// Waits (bounded) until `n` clients are blocked.
fn wait_blocked(con: &mut redis::Connection, n: u64) {
    assert!(
        eventually(Duration::from_secs(20), || blocked_clients(con) == n),
        "{n} clients never showed as blocked (now {})",
        blocked_clients(con)
    );
}

/// A raw client that sent a blocking command and is now blocked in it.
fn blocked(server: &TestServer, con: &mut redis::Connection, args: &[&str]) -> TcpStream {
    let before = blocked_clients(con);
    let mut s = server.raw();
    send(&mut s, args);
    wait_blocked(con, before + 1);
    s
}

#[test]
fn pushes_pops_and_their_reply_shapes() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(q::<i64>(&mut con, &["LPUSH", "l", "a", "b", "c"]), 3);
    assert_eq!(list(&mut con, "l"), ["c", "b", "a"], "LPUSH pushes each in turn");
    assert_eq!(q::<i64>(&mut con, &["RPUSH", "l", "d", "e"]), 5);
    assert_eq!(list(&mut con, "l"), ["c", "b", "a", "d", "e"]);
    assert_eq!(q::<i64>(&mut con, &["LPUSHX", "l", "x"]), 6);
    assert_eq!(q::<i64>(&mut con, &["RPUSHX", "l", "y", "z"]), 8);
    assert_eq!(q::<i64>(&mut con, &["LPUSHX", "none", "x"]), 0);
    assert_eq!(q::<i64>(&mut con, &["RPUSHX", "none", "x"]), 0);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "none"]), 0, "the X forms create nothing");
    assert_eq!(q::<String>(&mut con, &["TYPE", "l"]), "list");
    assert_eq!(q::<i64>(&mut con, &["LLEN", "l"]), 8);
    assert_eq!(q::<i64>(&mut con, &["LLEN", "none"]), 0);

    let mut raw = server.raw();
    assert_eq!(ask(&mut raw, &["LPOP", "l"]), bulk("x"));
    assert_eq!(ask(&mut raw, &["RPOP", "l"]), bulk("z"));
    assert_eq!(ask(&mut raw, &["LPOP", "l", "2"]), Reply::Array(vec![bulk("c"), bulk("b")]));
    assert_eq!(ask(&mut raw, &["RPOP", "l", "2"]), Reply::Array(vec![bulk("y"), bulk("e")]));
    assert_eq!(ask(&mut raw, &["LPOP", "l", "0"]), Reply::Array(vec![]), "LPOP key 0");
    assert_eq!(ask(&mut raw, &["RPOP", "l", "100"]), Reply::Array(vec![bulk("d"), bulk("a")]));
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "l"]), 0, "an emptied list is deleted");
    assert_eq!(ask(&mut raw, &["LPOP", "l"]), Reply::Null, "`$-1` without a count");
    assert_eq!(ask(&mut raw, &["LPOP", "l", "1"]), Reply::NullArray, "`*-1` with one");
    assert_eq!(ask(&mut raw, &["RPOP", "l", "0"]), Reply::NullArray, "a missing key with 0");
    assert_eq!(
        ask(&mut raw, &["LPOP", "l", "-1"]),
        Reply::error("ERR value is out of range, must be positive")
    );
    assert_eq!(
        ask(&mut raw, &["RPOP", "l", "x"]),
        Reply::error("ERR value is out of range, must be positive")
    );
    assert_eq!(
        ask(&mut raw, &["LPOP", "l", "1", "2"]),
        Reply::error("ERR wrong number of arguments for 'lpop' command")
    );
    assert_eq!(
        fails(&mut con, &["RPUSH", "l"]),
        "ERR wrong number of arguments for 'rpush' command"
    );
    // RESP3: both nulls are `_`.
    let mut raw3 = server.raw();
    assert!(matches!(ask(&mut raw3, &["HELLO", "3"]), Reply::Map(_)));
    raw3.write_all(&frame(&["LPOP", "l", "1"])).expect("write");
    raw3.write_all(&frame(&["LPOP", "l"])).expect("write");
    let mut got = [0u8; 6];
    std::io::Read::read_exact(&mut raw3, &mut got).expect("two nulls");
    assert_eq!(&got, b"_\r\n_\r\n");
}

#[test]
fn lrange_lindex_lset_address_positions_like_redis() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(q::<i64>(&mut con, &["RPUSH", "l", "a", "b", "c", "d"]), 4);
    let range = |con: &mut redis::Connection, a: &str, b: &str| -> Vec<String> {
        q(con, &["LRANGE", "l", a, b])
    };
    assert_eq!(range(&mut con, "1", "2"), ["b", "c"]);
    assert_eq!(range(&mut con, "-2", "-1"), ["c", "d"]);
    assert_eq!(range(&mut con, "-100", "100"), ["a", "b", "c", "d"]);
    assert_eq!(range(&mut con, "-9223372036854775808", "9223372036854775807").len(), 4);
    assert!(range(&mut con, "9223372036854775807", "-9223372036854775808").is_empty());
    assert!(range(&mut con, "2", "1").is_empty());
    assert!(range(&mut con, "4", "10").is_empty());
    assert!(q::<Vec<String>>(&mut con, &["LRANGE", "none", "0", "-1"]).is_empty());
    assert_eq!(fails(&mut con, &["LRANGE", "l", "x", "1"]), NOT_INTEGER);
    assert_eq!(fails(&mut con, &["LRANGE", "none", "1", "99999999999999999999"]), NOT_INTEGER);

    assert_eq!(q::<Option<String>>(&mut con, &["LINDEX", "l", "0"]), Some("a".into()));
    assert_eq!(q::<Option<String>>(&mut con, &["LINDEX", "l", "-1"]), Some("d".into()));
    assert_eq!(q::<Option<String>>(&mut con, &["LINDEX", "l", "4"]), None);
    assert_eq!(q::<Option<String>>(&mut con, &["LINDEX", "l", "-5"]), None);
    assert_eq!(q::<Option<String>>(&mut con, &["LINDEX", "none", "x"]), None, "key first");
    assert_eq!(fails(&mut con, &["LINDEX", "l", "x"]), NOT_INTEGER);

    assert_eq!(q::<String>(&mut con, &["LSET", "l", "-1", "D"]), "OK");
    assert_eq!(q::<String>(&mut con, &["LSET", "l", "0", "A"]), "OK");
    assert_eq!(list(&mut con, "l"), ["A", "b", "c", "D"]);
    assert_eq!(fails(&mut con, &["LSET", "l", "4", "x"]), "ERR index out of range");
    assert_eq!(fails(&mut con, &["LSET", "l", "-5", "x"]), "ERR index out of range");
    assert_eq!(fails(&mut con, &["LSET", "none", "x", "v"]), "ERR no such key");
    assert_eq!(fails(&mut con, &["LSET", "l", "x", "v"]), NOT_INTEGER);
}

#[test]
fn linsert_moves_the_shorter_side_either_way() {
    let server = TestServer::start();
    let mut con = server.client();
    // Long enough that a walk crosses several chunks on both sides.
    let n = 3000;
    let items: Vec<String> = (0..n).map(|i| format!("e{i}")).collect();
    let mut push = vec!["RPUSH", "l"];
    push.extend(items.iter().map(String::as_str));
    assert_eq!(q::<i64>(&mut con, &push), n as i64);
    let mut model = items.clone();
    // Near the head: the head side moves; near the tail: the tail side.
    for (pivot, after, new) in [
        ("e10", false, "x1"),
        ("e2990", true, "x2"),
        ("e1500", false, "x3"),
        ("e1600", true, "x4"),
        ("e0", false, "x5"),
        ("e2999", true, "x6"),
    ] {
        let at = model.iter().position(|e| e == pivot).expect("pivot") + usize::from(after);
        model.insert(at, new.to_string());
        let place = if after { "AFTER" } else { "BEFORE" };
        assert_eq!(q::<i64>(&mut con, &["LINSERT", "l", place, pivot, new]), model.len() as i64);
        assert_eq!(list(&mut con, "l"), model, "LINSERT {place} {pivot}");
    }
    assert_eq!(q::<i64>(&mut con, &["LINSERT", "l", "before", "nope", "x"]), -1);
    assert_eq!(q::<i64>(&mut con, &["LINSERT", "none", "AFTER", "a", "x"]), 0);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "none"]), 0);
    assert_eq!(fails(&mut con, &["LINSERT", "l", "middle", "e1", "x"]), "ERR syntax error");
    assert_eq!(fails(&mut con, &["LINSERT", "none", "middle", "e1", "x"]), "ERR syntax error");
    assert_eq!(q::<Option<String>>(&mut con, &["LINDEX", "l", "1500"]), Some(model[1500].clone()));
}

#[test]
fn lrem_removes_by_count_from_either_end() {
    let server = TestServer::start();
    let mut con = server.client();
    let fill = |con: &mut redis::Connection, n: usize| -> Vec<String> {
        let _: i64 = q(con, &["DEL", "l"]);
        let items: Vec<String> =
            (0..n).map(|i| if i % 7 == 3 { "m".into() } else { format!("e{i}") }).collect();
        let mut push = vec!["RPUSH", "l"];
        push.extend(items.iter().map(String::as_str));
        let _: i64 = q(con, &push);
        items
    };
    let remove = |items: &[String], count: i64| -> (Vec<String>, i64) {
        let mut out: Vec<Option<String>> = items.iter().cloned().map(Some).collect();
        let mut left = if count == 0 { usize::MAX } else { count.unsigned_abs() as usize };
        let order: Vec<usize> =
            if count < 0 { (0..out.len()).rev().collect() } else { (0..out.len()).collect() };
        let mut removed = 0;
        for i in order {
            if left > 0 && out[i].as_deref() == Some("m") {
                out[i] = None;
                left -= 1;
                removed += 1;
            }
        }
        (out.into_iter().flatten().collect(), removed)
    };
    // Few near the head, few near the tail, all (crossing walk chunks), none.
    for count in [2, -2, 0, 300, -300, 1] {
        let items = fill(&mut con, 2500);
        let (want, removed) = remove(&items, count);
        let c = count.to_string();
        assert_eq!(q::<i64>(&mut con, &["LREM", "l", &c, "m"]), removed, "LREM {count}");
        assert_eq!(list(&mut con, "l"), want, "LREM {count}");
        assert_eq!(q::<i64>(&mut con, &["LLEN", "l"]), want.len() as i64);
    }
    assert_eq!(q::<i64>(&mut con, &["LREM", "l", "0", "absent"]), 0);
    assert_eq!(q::<i64>(&mut con, &["DEL", "l"]), 1);
    assert_eq!(q::<i64>(&mut con, &["RPUSH", "l", "m", "m"]), 2);
    assert_eq!(q::<i64>(&mut con, &["LREM", "l", "0", "m"]), 2);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "l"]), 0, "removing every element deletes it");
    assert_eq!(q::<i64>(&mut con, &["LREM", "none", "0", "m"]), 0);
    assert_eq!(fails(&mut con, &["LREM", "none", "x", "m"]), NOT_INTEGER);
}

#[test]
fn ltrim_deletes_or_copies_and_keeps_the_ttl() {
    let server = TestServer::start();
    let mut con = server.client();
    let fill = |con: &mut redis::Connection| -> Vec<String> {
        let _: i64 = q(con, &["DEL", "l"]);
        let items: Vec<String> = (0..2000).map(|i| format!("e{i}")).collect();
        let mut push = vec!["RPUSH", "l"];
        push.extend(items.iter().map(String::as_str));
        let _: i64 = q(con, &push);
        let _: i64 = q(con, &["EXPIRE", "l", "1000"]);
        items
    };
    // Keeping most deletes the trimmed positions; keeping few copies to a new version.
    for (start, stop, keep) in
        [(5i64, -6i64, 5..1995), (100, 109, 100..110), (-3, -1, 1997..2000), (0, 0, 0..1)]
    {
        let items = fill(&mut con);
        let (a, b) = (start.to_string(), stop.to_string());
        assert_eq!(q::<String>(&mut con, &["LTRIM", "l", &a, &b]), "OK");
        assert_eq!(list(&mut con, "l"), items[keep.clone()], "LTRIM {start} {stop}");
        assert!(q::<i64>(&mut con, &["TTL", "l"]) > 990, "the TTL stays");
        // The trimmed list grows at both ends as any list does.
        assert_eq!(q::<i64>(&mut con, &["LPUSH", "l", "h"]), keep.len() as i64 + 1);
        assert_eq!(q::<i64>(&mut con, &["RPUSH", "l", "t"]), keep.len() as i64 + 2);
        assert_eq!(q::<Option<String>>(&mut con, &["LINDEX", "l", "0"]), Some("h".into()));
        assert_eq!(q::<Option<String>>(&mut con, &["LINDEX", "l", "-1"]), Some("t".into()));
    }
    fill(&mut con);
    assert_eq!(q::<String>(&mut con, &["LTRIM", "l", "0", "-1"]), "OK");
    assert_eq!(q::<i64>(&mut con, &["LLEN", "l"]), 2000);
    assert_eq!(q::<String>(&mut con, &["LTRIM", "l", "5", "4"]), "OK");
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "l"]), 0, "an empty range deletes the key");
    assert_eq!(q::<String>(&mut con, &["LTRIM", "none", "0", "1"]), "OK");
    assert_eq!(fails(&mut con, &["LTRIM", "none", "x", "1"]), NOT_INTEGER);
}

#[test]
fn lpos_rank_count_maxlen() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(q::<i64>(&mut con, &["RPUSH", "k", "a", "b", "c", "a", "b", "c", "a"]), 7);
    let pos = |con: &mut redis::Connection, extra: &[&str]| -> redis::Value {
        let mut args = vec!["LPOS", "k", "a"];
        args.extend(extra);
        q(con, &args)
    };
    use redis::Value::{Array, Int, Nil};
    assert_eq!(pos(&mut con, &[]), Int(0));
    assert_eq!(pos(&mut con, &["RANK", "-1"]), Int(6));
    assert_eq!(pos(&mut con, &["RANK", "2"]), Int(3));
    assert_eq!(pos(&mut con, &["RANK", "4"]), Nil);
    assert_eq!(pos(&mut con, &["RANK", "2", "COUNT", "0"]), Array(vec![Int(3), Int(6)]));
    assert_eq!(pos(&mut con, &["COUNT", "0", "MAXLEN", "3"]), Array(vec![Int(0)]));
    assert_eq!(pos(&mut con, &["RANK", "-2", "COUNT", "2", "MAXLEN", "4"]), Array(vec![Int(3)]));
    assert_eq!(pos(&mut con, &["COUNT", "2"]), Array(vec![Int(0), Int(3)]));
    assert_eq!(pos(&mut con, &["MAXLEN", "0"]), Int(0), "MAXLEN 0 is no limit");
    // Redis negates RANK as a C long: LONG_MIN stays negative and every match reaches it.
    assert_eq!(pos(&mut con, &["RANK", "-9223372036854775808"]), Int(6));
    assert_eq!(
        pos(&mut con, &["RANK", "-9223372036854775808", "COUNT", "1"]),
        Array(vec![Int(6), Int(3), Int(0)])
    );
    assert_eq!(pos(&mut con, &["RANK", "9223372036854775807", "COUNT", "0"]), Array(vec![]));
    assert_eq!(q::<redis::Value>(&mut con, &["LPOS", "k", "z"]), Nil);
    assert_eq!(q::<redis::Value>(&mut con, &["LPOS", "k", "z", "COUNT", "2"]), Array(vec![]));
    assert_eq!(q::<redis::Value>(&mut con, &["LPOS", "none", "a"]), Nil);
    assert_eq!(q::<redis::Value>(&mut con, &["LPOS", "none", "a", "COUNT", "1"]), Array(vec![]));
    let rank_zero = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the \
                     second ... or use negative to start from the end of the list";
    assert_eq!(fails(&mut con, &["LPOS", "k", "a", "RANK", "0"]), rank_zero);
    assert_eq!(fails(&mut con, &["LPOS", "none", "a", "RANK", "0"]), rank_zero, "options first");
    assert_eq!(fails(&mut con, &["LPOS", "k", "a", "RANK", "x"]), NOT_INTEGER);
    assert_eq!(fails(&mut con, &["LPOS", "k", "a", "COUNT", "-1"]), "ERR COUNT can't be negative");
    assert_eq!(fails(&mut con, &["LPOS", "k", "a", "COUNT", "x"]), "ERR COUNT can't be negative");
    assert_eq!(
        fails(&mut con, &["LPOS", "k", "a", "MAXLEN", "-1"]),
        "ERR MAXLEN can't be negative"
    );
    assert_eq!(fails(&mut con, &["LPOS", "k", "a", "RANK"]), "ERR syntax error");
    assert_eq!(fails(&mut con, &["LPOS", "k", "a", "FOO", "1"]), "ERR syntax error");
}

#[test]
fn lmove_and_rpoplpush_move_between_and_within_lists() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(q::<i64>(&mut con, &["RPUSH", "a", "1", "2", "3"]), 3);
    assert_eq!(q::<String>(&mut con, &["LMOVE", "a", "b", "LEFT", "RIGHT"]), "1");
    assert_eq!(q::<String>(&mut con, &["LMOVE", "a", "b", "right", "left"]), "3");
    assert_eq!(list(&mut con, "b"), ["3", "1"]);
    assert_eq!(q::<String>(&mut con, &["RPOPLPUSH", "a", "b"]), "2");
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "a"]), 0, "the emptied source is deleted");
    assert_eq!(list(&mut con, "b"), ["2", "3", "1"]);
    assert_eq!(q::<String>(&mut con, &["LMOVE", "b", "b", "LEFT", "RIGHT"]), "2", "rotation");
    assert_eq!(list(&mut con, "b"), ["3", "1", "2"]);
    assert_eq!(q::<String>(&mut con, &["RPOPLPUSH", "b", "b"]), "2");
    assert_eq!(list(&mut con, "b"), ["2", "3", "1"]);
    assert_eq!(q::<String>(&mut con, &["LMOVE", "b", "b", "LEFT", "LEFT"]), "2");
    assert_eq!(list(&mut con, "b"), ["2", "3", "1"]);
    assert_eq!(q::<Option<String>>(&mut con, &["LMOVE", "none", "b", "LEFT", "LEFT"]), None);
    assert_eq!(q::<Option<String>>(&mut con, &["RPOPLPUSH", "none", "b"]), None);
    assert_eq!(fails(&mut con, &["LMOVE", "b", "c", "UP", "LEFT"]), "ERR syntax error");
    assert_eq!(fails(&mut con, &["LMOVE", "b", "c", "LEFT", "DOWN"]), "ERR syntax error");
    assert_eq!(q::<String>(&mut con, &["SET", "s", "x"]), "OK");
    assert_eq!(fails(&mut con, &["LMOVE", "b", "s", "LEFT", "LEFT"]), WRONGTYPE);
    assert_eq!(fails(&mut con, &["RPOPLPUSH", "s", "b"]), WRONGTYPE);
    assert_eq!(q::<Option<String>>(&mut con, &["RPOPLPUSH", "none", "s"]), None, "src first");
    assert_eq!(list(&mut con, "b"), ["2", "3", "1"], "a failed move changes nothing");
}

#[test]
fn every_list_command_refuses_another_type() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(q::<String>(&mut con, &["SET", "s", "x"]), "OK");
    assert_eq!(q::<i64>(&mut con, &["RPUSH", "l", "x"]), 1);
    for args in [
        &["LPUSH", "s", "a"][..],
        &["RPUSH", "s", "a"],
        &["LPUSHX", "s", "a"],
        &["RPUSHX", "s", "a"],
        &["LPOP", "s"],
        &["RPOP", "s", "0"],
        &["LLEN", "s"],
        &["LRANGE", "s", "0", "1"],
        &["LINDEX", "s", "0"],
        &["LINDEX", "s", "x"],
        &["LSET", "s", "0", "a"],
        &["LINSERT", "s", "BEFORE", "a", "b"],
        &["LREM", "s", "0", "a"],
        &["LTRIM", "s", "0", "1"],
        &["LPOS", "s", "a"],
        &["LMOVE", "s", "l", "LEFT", "LEFT"],
        &["RPOPLPUSH", "s", "l"],
        &["BLPOP", "none", "s", "0"],
        &["BRPOP", "s", "0"],
        &["BLMOVE", "s", "l", "LEFT", "LEFT", "0"],
        &["BRPOPLPUSH", "s", "l", "0"],
        &["BLMOVE", "l", "s", "LEFT", "LEFT", "0"],
    ] {
        assert_eq!(fails(&mut con, args), WRONGTYPE, "{args:?}");
    }
    assert_eq!(fails(&mut con, &["GET", "l"]), WRONGTYPE);
    assert_eq!(q::<String>(&mut con, &["GET", "s"]), "x");
    assert_eq!(list(&mut con, "l"), ["x"]);
}

#[test]
fn blocking_commands_check_their_arguments_and_pop_at_once_when_they_can() {
    let server = TestServer::start();
    let mut con = server.client();
    for (timeout, error) in [
        ("-1", "ERR timeout is negative"),
        ("-0.002", "ERR timeout is negative"),
        ("1e300", "ERR timeout is negative"),
        ("inf", "ERR timeout is negative"),
        ("9223372036854777", "ERR timeout is negative"),
        ("x", "ERR timeout is not a float or out of range"),
        ("nan", "ERR timeout is not a float or out of range"),
        ("", "ERR timeout is not a float or out of range"),
    ] {
        assert_eq!(fails(&mut con, &["BLPOP", "k", timeout]), error, "BLPOP {timeout:?}");
        assert_eq!(fails(&mut con, &["BRPOPLPUSH", "k", "d", timeout]), error);
        assert_eq!(fails(&mut con, &["BLMOVE", "k", "d", "LEFT", "LEFT", timeout]), error);
    }
    assert_eq!(fails(&mut con, &["BLMOVE", "k", "d", "UP", "LEFT", "x"]), "ERR syntax error");
    assert_eq!(
        fails(&mut con, &["BLPOP", "k"]),
        "ERR wrong number of arguments for 'blpop' command"
    );
    assert_eq!(q::<i64>(&mut con, &["RPUSH", "k2", "a", "b"]), 2);
    let mut raw = server.raw();
    assert_eq!(ask(&mut raw, &["BLPOP", "k1", "k2", "0"]), pair("k2", "a"));
    assert_eq!(ask(&mut raw, &["BRPOP", "k1", "k2", "0"]), pair("k2", "b"));
    assert_eq!(q::<i64>(&mut con, &["RPUSH", "k2", "a", "b"]), 2);
    assert_eq!(ask(&mut raw, &["BLMOVE", "k2", "d", "RIGHT", "LEFT", "0"]), bulk("b"));
    assert_eq!(ask(&mut raw, &["BRPOPLPUSH", "k2", "d", "0"]), bulk("a"));
    assert_eq!(list(&mut con, "d"), ["a", "b"]);
    assert_eq!(blocked_clients(&mut con), 0);
}

#[test]
fn blocking_commands_in_multi_answer_at_once() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(ask(&mut raw, &["MULTI"]), Reply::ok());
    for args in [
        &["BLPOP", "none", "0"][..],
        &["BRPOP", "none", "0"],
        &["BLMOVE", "none", "d", "LEFT", "LEFT", "0"],
        &["BRPOPLPUSH", "none", "d", "0"],
        &["RPUSH", "k", "v"],
        &["BLPOP", "k", "0"],
    ] {
        assert_eq!(ask(&mut raw, args), Reply::simple("QUEUED"));
    }
    assert_eq!(
        ask(&mut raw, &["EXEC"]),
        Reply::Array(vec![
            Reply::NullArray,
            Reply::NullArray,
            Reply::Null,
            Reply::Null,
            Reply::Integer(1),
            pair("k", "v"),
        ])
    );
    assert_eq!(ask(&mut raw, &["PING"]), Reply::simple("PONG"), "the client is not blocked");
}

#[test]
fn a_push_from_another_client_wakes_the_first_blocked_first() {
    let server = TestServer::start();
    let mut con = server.client();
    let mut first = blocked(&server, &mut con, &["BLPOP", "k", "0"]);
    let mut second = blocked(&server, &mut con, &["BRPOP", "other", "k", "0"]);
    let mut third = blocked(&server, &mut con, &["BLPOP", "k", "k", "0"]);
    let list_line: String = q(&mut con, &["CLIENT", "LIST"]);
    let blocked_lines: Vec<&str> = list_line.lines().filter(|l| l.contains(" flags=b ")).collect();
    assert_eq!(blocked_lines.len(), 3, "CLIENT LIST works and shows them:\n{list_line}");
    assert!(blocked_lines.iter().any(|l| l.contains(" cmd=brpop ")), "{list_line}");
    // Two elements: the first two clients, in the order they blocked.
    assert_eq!(q::<i64>(&mut con, &["RPUSH", "k", "a", "b"]), 2);
    assert_eq!(read_one(&mut first), pair("k", "a"));
    assert_eq!(read_one(&mut second), pair("k", "b"));
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "k"]), 0, "both served: the list is gone");
    wait_blocked(&mut con, 1);
    assert_eq!(q::<i64>(&mut con, &["LPUSH", "k", "c"]), 1);
    assert_eq!(read_one(&mut third), pair("k", "c"));
    wait_blocked(&mut con, 0);
    for s in [&mut first, &mut second, &mut third] {
        assert_eq!(ask(s, &["PING"]), Reply::simple("PONG"), "served clients run on");
    }
}

#[test]
fn with_appendfsync_always_a_served_client_gets_its_element_after_the_sync() {
    let server = TestServer::with(|c| c.appendfsync = lode_server::Appendfsync::Always);
    let mut con = server.client();
    let mut first = blocked(&server, &mut con, &["BLMOVE", "k", "d", "LEFT", "RIGHT", "0"]);
    let mut second = blocked(&server, &mut con, &["BRPOP", "d", "0"]);
    assert_eq!(q::<i64>(&mut con, &["RPUSH", "k", "v", "w"]), 2);
    assert_eq!(read_one(&mut first), bulk("v"));
    assert_eq!(read_one(&mut second), pair("d", "v"));
    drop(con);
    let server = TestServer::in_dir(server.stop(), |_| {});
    let mut con = server.client();
    assert_eq!(list(&mut con, "k"), ["w"], "the served pops were committed with the push");
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "d"]), 0);
}

#[test]
fn every_kind_of_write_that_makes_a_list_wakes_a_blocked_client() {
    let server = TestServer::start();
    let mut con = server.client();
    let cases: &[&[&[&str]]] = &[
        &[&["RPUSH", "src", "v"], &["LMOVE", "src", "k", "LEFT", "LEFT"]],
        &[&["RPUSH", "src", "v"], &["RPOPLPUSH", "src", "k"]],
        &[&["RPUSH", "src", "v"], &["RENAME", "src", "k"]],
        &[&["RPUSH", "src", "v"], &["COPY", "src", "k"]],
        &[&["MULTI"], &["RPUSH", "k", "v"], &["EXEC"]],
    ];
    for writes in cases {
        let _: () = q(&mut con, &["FLUSHALL"]);
        let mut waiter = blocked(&server, &mut con, &["BLPOP", "k", "0"]);
        let mut writer = server.raw();
        for w in *writes {
            ask(&mut writer, w);
        }
        assert_eq!(read_one(&mut waiter), pair("k", "v"), "{writes:?}");
    }
    // A key of another type does not wake it; the list that replaces it does.
    let _: () = q(&mut con, &["FLUSHALL"]);
    let mut waiter = blocked(&server, &mut con, &["BLPOP", "k", "0"]);
    assert_eq!(q::<String>(&mut con, &["SET", "k", "str"]), "OK");
    assert_eq!(q::<i64>(&mut con, &["DEL", "k"]), 1);
    assert_eq!(blocked_clients(&mut con), 1);
    // LPUSH then LPOP in one transaction: the list is gone when the waiter would be served.
    let mut tx = server.raw();
    for args in [&["MULTI"][..], &["LPUSH", "k", "gone"], &["LPOP", "k"], &["EXEC"]] {
        ask(&mut tx, args);
    }
    assert_eq!(blocked_clients(&mut con), 1);
    assert_eq!(q::<i64>(&mut con, &["LPUSH", "k", "v"]), 1);
    assert_eq!(read_one(&mut waiter), pair("k", "v"));
    // A pipelined push then pop from the pusher: the waiter is served between them.
    let mut waiter = blocked(&server, &mut con, &["BLPOP", "k", "0"]);
    let mut pusher = server.raw();
    pusher.write_all(&[frame(&["RPUSH", "k", "v"]), frame(&["LPOP", "k"])].concat()).expect("w");
    let (replies, _) = read_replies(&mut pusher, 2);
    assert_eq!(replies, [Reply::Integer(1), Reply::Null]);
    assert_eq!(read_one(&mut waiter), pair("k", "v"));
}

#[test]
fn blmove_serves_its_destination_in_turn_and_reports_a_wrong_destination() {
    let server = TestServer::start();
    let mut con = server.client();
    let mut mover = blocked(&server, &mut con, &["BLMOVE", "a", "b", "RIGHT", "LEFT", "0"]);
    let mut popper = blocked(&server, &mut con, &["BRPOP", "b", "0"]);
    let mut late = blocked(&server, &mut con, &["BLPOP", "a", "0"]);
    assert_eq!(q::<i64>(&mut con, &["RPUSH", "a", "1", "2", "3"]), 3);
    assert_eq!(read_one(&mut mover), bulk("3"));
    assert_eq!(read_one(&mut popper), pair("b", "3"), "the moved element woke b's client");
    assert_eq!(read_one(&mut late), pair("a", "1"));
    assert_eq!(list(&mut con, "a"), ["2"]);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "b"]), 0);
    // A destination that is not a list when the waiter is served: WRONGTYPE, nothing moved.
    let _: () = q(&mut con, &["FLUSHALL"]);
    let mut mover = blocked(&server, &mut con, &["BRPOPLPUSH", "a", "s", "0"]);
    assert_eq!(q::<String>(&mut con, &["SET", "s", "str"]), "OK");
    assert_eq!(q::<i64>(&mut con, &["RPUSH", "a", "x"]), 1);
    assert_eq!(read_one(&mut mover), Reply::error(WRONGTYPE));
    assert_eq!(list(&mut con, "a"), ["x"]);
    assert_eq!(blocked_clients(&mut con), 0);
}

#[test]
fn a_timeout_answers_a_null_array() {
    let server = TestServer::start();
    let mut raw = server.raw();
    for (args, timeout) in [
        (&["BLPOP", "k", "0.1"][..], 0.1),
        (&["BRPOP", "k", "k2", "0.05"], 0.05),
        (&["BLMOVE", "k", "d", "LEFT", "LEFT", "0.05"], 0.05),
        (&["BRPOPLPUSH", "k", "d", "0.2"], 0.2),
    ] {
        let started = Instant::now();
        assert_eq!(ask(&mut raw, args), Reply::NullArray, "{args:?}: `*-1`, as Redis answers");
        assert!(started.elapsed() >= Duration::from_secs_f64(timeout), "{args:?} waited");
    }
    assert!(matches!(ask(&mut raw, &["HELLO", "3"]), Reply::Map(_)));
    send(&mut raw, &["BLPOP", "k", "0.05"]);
    let mut got = [0u8; 3];
    std::io::Read::read_exact(&mut raw, &mut got).expect("reply");
    assert_eq!(&got, b"_\r\n", "RESP3: null");
    let mut con = server.client();
    assert_eq!(blocked_clients(&mut con), 0);
    assert_eq!(q::<i64>(&mut con, &["DBSIZE"]), 0);
}

#[test]
fn a_blocked_client_keeps_its_pipeline_and_leaves_cleanly() {
    let server = TestServer::start();
    let mut con = server.client();
    // Commands sent after a blocking one wait for it.
    let mut waiter = server.raw();
    waiter
        .write_all(&[frame(&["BLPOP", "k", "0"]), frame(&["ECHO", "after"])].concat())
        .expect("write");
    wait_blocked(&mut con, 1);
    send(&mut waiter, &["ECHO", "sent while blocked"]);
    assert_eq!(q::<i64>(&mut con, &["RPUSH", "k", "v"]), 1);
    let (replies, _) = read_replies(&mut waiter, 3);
    assert_eq!(replies, [pair("k", "v"), bulk("after"), bulk("sent while blocked")]);
    // A client that disconnects, or is killed, while blocked is no longer waiting: the next
    // push stays in the list.
    let gone = blocked(&server, &mut con, &["BLPOP", "k", "0"]);
    drop(gone);
    wait_blocked(&mut con, 0);
    let mut killed = blocked(&server, &mut con, &["BLPOP", "k", "0"]);
    let list_line: String = q(&mut con, &["CLIENT", "LIST"]);
    let id = list_line
        .lines()
        .find(|l| l.contains(" flags=b "))
        .and_then(|l| l.strip_prefix("id="))
        .and_then(|l| l.split(' ').next())
        .expect("the blocked client is listed")
        .to_string();
    assert_eq!(q::<i64>(&mut con, &["CLIENT", "KILL", "ID", &id]), 1);
    let (replies, closed) = read_replies(&mut killed, 1);
    assert!(replies.is_empty() && closed, "killed without a reply");
    wait_blocked(&mut con, 0);
    assert_eq!(q::<i64>(&mut con, &["RPUSH", "k", "kept"]), 1);
    assert_eq!(list(&mut con, "k"), ["kept"]);
    // A forever-blocked client does not hold up shutdown.
    let _forever = blocked(&server, &mut con, &["BLPOP", "nothing", "0"]);
    let _overflow = blocked(&server, &mut con, &["BLPOP", "nothing", "9223372036854775"]);
    drop(con);
    server.stop();
}

#[test]
fn a_blocked_client_waits_on_its_own_database() {
    let server = TestServer::start();
    let mut con = server.client();
    // The waiter is in db 2; a push to the same name in db 0 does not wake it.
    let mut waiter = server.raw();
    assert_eq!(ask(&mut waiter, &["SELECT", "2"]), Reply::ok());
    send(&mut waiter, &["BLPOP", "k", "0"]);
    wait_blocked(&mut con, 1);
    assert_eq!(q::<i64>(&mut con, &["RPUSH", "k", "db0"]), 1);
    assert_eq!(blocked_clients(&mut con), 1);
    assert_eq!(q::<i64>(&mut con, &["MOVE", "k", "2"]), 1, "MOVE into db 2 wakes it");
    assert_eq!(read_one(&mut waiter), pair("k", "db0"));
}

#[test]
fn a_list_key_is_at_most_the_element_key_limit_less_a_position() {
    let server = TestServer::start();
    let mut con = server.client();
    let longest = "k".repeat(lode_server::ELEMENT_KEY_BYTES_MAX - 8);
    let too_long = "k".repeat(lode_server::ELEMENT_KEY_BYTES_MAX - 7);
    assert_eq!(q::<i64>(&mut con, &["RPUSH", &longest, "v"]), 1);
    assert_eq!(q::<Option<String>>(&mut con, &["LINDEX", &longest, "0"]), Some("v".into()));
    let too_large = "ERR element too large (Lode's limit on a key plus a field or member is \
                     65514 bytes)";
    assert_eq!(fails(&mut con, &["LPUSH", &too_long, "v"]), too_large);
    assert_eq!(fails(&mut con, &["LMOVE", &longest, &too_long, "LEFT", "LEFT"]), too_large);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", &too_long]), 0);
    assert_eq!(list(&mut con, &longest), ["v"], "the failed move changed nothing");
}

#[test]
fn command_info_describes_the_list_commands_as_redis_does() {
    let server = TestServer::start();
    let mut con = server.client();
    let info: redis::Value = q(&mut con, &["COMMAND", "INFO", "blpop", "lmove", "llen"]);
    let text = format!("{info:?}");
    for word in ["blpop", "noscript", "blocking", "@list", "@blocking", "lmove", "denyoom"] {
        assert!(text.contains(word), "{word} missing from {text}");
    }
    let redis::Value::Array(entries) = info else { panic!("{text}") };
    let head = |e: &redis::Value| -> Vec<redis::Value> {
        let redis::Value::Array(fields) = e else { panic!("{e:?}") };
        vec![fields[1].clone(), fields[3].clone(), fields[4].clone(), fields[5].clone()]
    };
    use redis::Value::Int;
    assert_eq!(head(&entries[0]), [Int(-3), Int(1), Int(-2), Int(1)], "BLPOP's keys");
    assert_eq!(head(&entries[1]), [Int(5), Int(1), Int(2), Int(1)], "LMOVE's keys");
    assert_eq!(head(&entries[2]), [Int(2), Int(1), Int(1), Int(1)], "LLEN's keys");
}

#[test]
fn lists_survive_a_restart() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(q::<i64>(&mut con, &["RPUSH", "l", "a", "b", "c"]), 3);
    assert_eq!(q::<i64>(&mut con, &["LPUSH", "l", "z"]), 4);
    assert_eq!(q::<i64>(&mut con, &["LINSERT", "l", "AFTER", "b", "x"]), 5);
    drop(con);
    let dir = server.stop();
    let server = TestServer::in_dir(dir, |_| {});
    let mut con = server.client();
    assert_eq!(list(&mut con, "l"), ["z", "a", "b", "x", "c"]);
    assert_eq!(q::<i64>(&mut con, &["LLEN", "l"]), 5);
}

// ---- The model test ----

/// Redis's list semantics, in memory.
#[derive(Debug, Default)]
struct Model {
    lists: HashMap<String, VecDeque<String>>,
}

type Outcome = Result<redis::Value, String>;

fn int(n: usize) -> Outcome {
    Ok(redis::Value::Int(n as i64))
}

fn bulk_value(s: &str) -> redis::Value {
    redis::Value::BulkString(s.as_bytes().to_vec())
}

fn range_of(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let (mut s, mut e) = (start, stop);
    if s < 0 {
        s += len;
    }
    if e < 0 {
        e += len;
    }
    s = s.max(0);
    if s > e || s >= len {
        return None;
    }
    Some((s as usize, e.min(len - 1) as usize))
}

impl Model {
    fn apply(&mut self, args: &[String]) -> Outcome {
        use redis::Value::{Array, Nil, Okay};
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let key = a[1].to_string();
        let exists = self.lists.contains_key(&key);
        let out = match a[0] {
            "LPUSH" | "RPUSH" | "LPUSHX" | "RPUSHX" => {
                if a[0].ends_with('X') && !exists {
                    return int(0);
                }
                let l = self.lists.entry(key.clone()).or_default();
                for v in &a[2..] {
                    if a[0].starts_with('L') {
                        l.push_front(v.to_string());
                    } else {
                        l.push_back(v.to_string());
                    }
                }
                int(l.len())
            }
            "LPOP" | "RPOP" => {
                let left = a[0] == "LPOP";
                let Some(l) = self.lists.get_mut(&key) else {
                    return Ok(Nil);
                };
                match a.get(2) {
                    None => {
                        let v = if left { l.pop_front() } else { l.pop_back() };
                        Ok(bulk_value(&v.expect("non-empty")))
                    }
                    Some(n) => {
                        let n: usize = n.parse().expect("count");
                        let mut out = Vec::new();
                        for _ in 0..n.min(l.len()) {
                            let v = if left { l.pop_front() } else { l.pop_back() };
                            out.push(bulk_value(&v.expect("counted")));
                        }
                        Ok(Array(out))
                    }
                }
            }
            "LLEN" => int(self.lists.get(&key).map_or(0, VecDeque::len)),
            "LRANGE" => {
                let l = self.lists.get(&key).cloned().unwrap_or_default();
                let r = range_of(a[2].parse().expect("n"), a[3].parse().expect("n"), l.len());
                Ok(Array(
                    r.map_or(Vec::new(), |(s, e)| (s..=e).map(|i| bulk_value(&l[i])).collect()),
                ))
            }
            "LINDEX" => {
                let Some(l) = self.lists.get(&key) else { return Ok(Nil) };
                let i: i64 = a[2].parse().expect("n");
                let i = if i < 0 { i + l.len() as i64 } else { i };
                Ok(usize::try_from(i).ok().and_then(|i| l.get(i)).map_or(Nil, |v| bulk_value(v)))
            }
            "LSET" => {
                let Some(l) = self.lists.get_mut(&key) else {
                    return Err("ERR no such key".into());
                };
                let i: i64 = a[2].parse().expect("n");
                let i = if i < 0 { i + l.len() as i64 } else { i };
                match usize::try_from(i).ok().and_then(|i| l.get_mut(i)) {
                    Some(slot) => {
                        *slot = a[3].to_string();
                        Ok(Okay)
                    }
                    None => Err("ERR index out of range".into()),
                }
            }
            "LINSERT" => {
                let Some(l) = self.lists.get_mut(&key) else { return int(0) };
                match l.iter().position(|e| e == a[3]) {
                    None => Ok(redis::Value::Int(-1)),
                    Some(i) => {
                        l.insert(i + usize::from(a[2] == "AFTER"), a[4].to_string());
                        int(l.len())
                    }
                }
            }
            "LREM" => {
                let Some(l) = self.lists.get_mut(&key) else { return int(0) };
                let count: i64 = a[2].parse().expect("n");
                let mut left = if count == 0 { usize::MAX } else { count.unsigned_abs() as usize };
                let mut keep: Vec<Option<String>> = l.drain(..).map(Some).collect();
                let order: Vec<usize> = if count < 0 {
                    (0..keep.len()).rev().collect()
                } else {
                    (0..keep.len()).collect()
                };
                let mut removed = 0;
                for i in order {
                    if left > 0 && keep[i].as_deref() == Some(a[3]) {
                        keep[i] = None;
                        left -= 1;
                        removed += 1;
                    }
                }
                l.extend(keep.into_iter().flatten());
                int(removed)
            }
            "LTRIM" => {
                if let Some(l) = self.lists.get_mut(&key) {
                    match range_of(a[2].parse().expect("n"), a[3].parse().expect("n"), l.len()) {
                        Some((s, e)) => *l = l.drain(s..=e).collect(),
                        None => l.clear(),
                    }
                }
                Ok(Okay)
            }
            "LPOS" => {
                let (mut rank, mut count, mut maxlen) = (1i64, None, 0usize);
                for opt in a[3..].chunks(2) {
                    let n: i64 = opt[1].parse().expect("n");
                    match opt[0] {
                        "RANK" => rank = n,
                        "COUNT" => count = Some(n as usize),
                        _ => maxlen = n as usize,
                    }
                }
                let Some(l) = self.lists.get(&key) else {
                    return Ok(if count.is_some() { Array(vec![]) } else { Nil });
                };
                let indexes: Vec<usize> =
                    if rank < 0 { (0..l.len()).rev().collect() } else { (0..l.len()).collect() };
                let limit = if maxlen == 0 { l.len() } else { maxlen.min(l.len()) };
                let mut found = Vec::new();
                let mut matches = 0i64;
                for &i in indexes.iter().take(limit) {
                    if l[i] == a[2] {
                        matches += 1;
                        if matches >= rank.abs() {
                            found.push(redis::Value::Int(i as i64));
                            match count {
                                None => break,
                                Some(0) => {}
                                Some(c) if found.len() >= c => break,
                                Some(_) => {}
                            }
                        }
                    }
                }
                Ok(match count {
                    Some(_) => Array(found),
                    None => found.into_iter().next().unwrap_or(Nil),
                })
            }
            "LMOVE" | "BLMOVE" => {
                let dst = a[2].to_string();
                let Some(l) = self.lists.get_mut(&key) else { return Ok(Nil) };
                let v = if a[3] == "LEFT" { l.pop_front() } else { l.pop_back() };
                let v = v.expect("non-empty");
                let d = self.lists.entry(dst).or_default();
                if a[4] == "LEFT" {
                    d.push_front(v.clone());
                } else {
                    d.push_back(v.clone());
                }
                Ok(bulk_value(&v))
            }
            "BLPOP" | "BRPOP" => {
                let keys = &a[1..a.len() - 1];
                let Some(k) = keys.iter().find(|k| self.lists.contains_key(**k)) else {
                    return Ok(Nil);
                };
                let l = self.lists.get_mut(*k).expect("found");
                let v = if a[0] == "BLPOP" { l.pop_front() } else { l.pop_back() };
                Ok(Array(vec![bulk_value(k), bulk_value(&v.expect("non-empty"))]))
            }
            other => panic!("the model has no {other}"),
        };
        self.lists.retain(|_, l| !l.is_empty());
        out
    }
}

fn random_command(r: &mut StdRng, model: &Model) -> Vec<String> {
    const KEYS: [&str; 3] = ["k0", "k1", "k2"];
    fn key(r: &mut StdRng) -> String {
        KEYS[r.random_range(0..KEYS.len())].to_string()
    }
    fn value(r: &mut StdRng) -> String {
        ["a", "b", "c", "d"][r.random_range(0..4)].to_string()
    }
    fn end(r: &mut StdRng) -> String {
        (if r.random_bool(0.5) { "LEFT" } else { "RIGHT" }).to_string()
    }
    let s = |x: &str| x.to_string();
    let k = key(r);
    let len = model.lists.get(&k).map_or(0, VecDeque::len) as i64;
    let index = |r: &mut StdRng| r.random_range(-len - 3..=len + 3).to_string();
    match r.random_range(0..100) {
        0..=2 => {
            // A long push, so walks cross their chunks.
            let mut c = vec![s("RPUSH"), k];
            c.extend((0..r.random_range(500..1500)).map(|_| value(r)));
            c
        }
        3..=17 => {
            let name = ["LPUSH", "RPUSH", "LPUSHX", "RPUSHX"][r.random_range(0..4)];
            let mut c = vec![s(name), k];
            c.extend((0..r.random_range(1..4)).map(|_| value(r)));
            c
        }
        18..=27 => {
            let mut c = vec![s(if r.random_bool(0.5) { "LPOP" } else { "RPOP" }), k];
            if r.random_bool(0.5) {
                c.push(r.random_range(0..5).to_string());
            }
            c
        }
        28..=30 => vec![s("LLEN"), k],
        31..=38 => vec![s("LRANGE"), k, index(r), index(r)],
        39..=43 => vec![s("LINDEX"), k, index(r)],
        44..=48 => vec![s("LSET"), k, index(r), value(r)],
        49..=56 => {
            let place = s(if r.random_bool(0.5) { "BEFORE" } else { "AFTER" });
            vec![s("LINSERT"), k, place, value(r), s("x")]
        }
        57..=64 => vec![s("LREM"), k, r.random_range(-3..=3).to_string(), value(r)],
        65..=70 => vec![s("LTRIM"), k, index(r), index(r)],
        71..=80 => {
            let mut c = vec![s("LPOS"), k, value(r)];
            if r.random_bool(0.5) {
                let rank = r.random_range(1..4) * if r.random_bool(0.5) { 1 } else { -1 };
                c.extend([s("RANK"), rank.to_string()]);
            }
            if r.random_bool(0.5) {
                c.extend([s("COUNT"), r.random_range(0..4).to_string()]);
            }
            if r.random_bool(0.3) {
                c.extend([s("MAXLEN"), r.random_range(0..len + 2).to_string()]);
            }
            c
        }
        81..=88 => vec![s("LMOVE"), k, key(r), end(r), end(r)],
        // The blocking forms, on a list that has elements (they act at once).
        89..=94 if len > 0 => {
            let name = s(if r.random_bool(0.5) { "BLPOP" } else { "BRPOP" });
            let other = key(r);
            if model.lists.contains_key(&other) {
                vec![name, other, k, s("0")]
            } else {
                vec![name, k, other, s("0")]
            }
        }
        95..=99 if len > 0 => vec![s("BLMOVE"), k, key(r), end(r), end(r), s("0")],
        _ => vec![s("LLEN"), k],
    }
}

#[test]
fn random_list_commands_match_the_model() {
    let seed = lode_testkit::Seed::new("random_list_commands_match_the_model");
    let mut rng = seed.rng(0);
    let server = TestServer::start();
    let mut con = server.client();
    let mut model = Model::default();
    for step in 0..lode_testkit::iterations(1500) {
        let args = random_command(&mut rng, &model);
        let want = model.apply(&args);
        let mut cmd = redis::cmd(&args[0]);
        for a in &args[1..] {
            cmd.arg(a);
        }
        let got: Outcome = cmd.query::<redis::Value>(&mut con).map_err(|e| crate::err_text(&e));
        if args.len() > 20 {
            assert_eq!(
                got,
                want,
                "step {step}: {} {} ({} elements)",
                args[0],
                args[1],
                args.len() - 2
            );
        } else {
            assert_eq!(got, want, "step {step}: {args:?}");
        }
        if step % 50 == 0 {
            for key in ["k0", "k1", "k2"] {
                let want: Vec<String> =
                    model.lists.get(key).map(|l| l.iter().cloned().collect()).unwrap_or_default();
                assert_eq!(list(&mut con, key), want, "step {step}: {key}");
            }
        }
    }
}
