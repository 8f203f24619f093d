//! KRANGE, Lode's ordered range scan over keys: bounds, direction, paging, values, limits,
//! transactions, and a randomized comparison with a `BTreeMap` model.

use crate::{TestServer, eventually, fails, q};
use lode_server::limits::{
    KRANGE_EXAMINED_MAX, KRANGE_LIMIT_DEFAULT, KRANGE_LIMIT_MAX, KRANGE_PAGE_BYTES_MAX,
};
use rand::Rng;
use rand::rngs::StdRng;
use redis::Value;
use std::collections::BTreeMap;
use std::ops::{Bound, RangeBounds};
use std::time::Duration;

/// A page: the bound to resume from (None when the range is done) and the replied elements.
type Page = (Option<Vec<u8>>, Vec<Vec<u8>>);

fn krange(con: &mut redis::Connection, args: &[&[u8]]) -> Page {
    let mut cmd = redis::cmd("KRANGE");
    for a in args {
        cmd.arg(*a);
    }
    cmd.query(con).unwrap_or_else(|e| panic!("KRANGE {args:?}: {e}"))
}

fn strings(items: &[Vec<u8>]) -> Vec<String> {
    items.iter().map(|k| String::from_utf8_lossy(k).into_owned()).collect()
}

/// Every key of `min..max` (and options), paging with the returned bound; also the pages.
fn all_pages(con: &mut redis::Connection, min: &str, max: &str, opts: &[&str]) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut first = min.as_bytes().to_vec();
    for _ in 0..10_000 {
        let mut args: Vec<&[u8]> = vec![&first, max.as_bytes()];
        args.extend(opts.iter().map(|o| o.as_bytes()));
        let (next, items) = krange(con, &args);
        pages.push(strings(&items));
        match next {
            Some(bound) => first = bound,
            None => return pages,
        }
    }
    panic!("KRANGE {min} {max} {opts:?} did not finish in 10,000 pages");
}

fn set_many(con: &mut redis::Connection, keys: impl Iterator<Item = String>, value: &str) {
    let keys: Vec<String> = keys.collect();
    for chunk in keys.chunks(1000) {
        let mut cmd = redis::cmd("MSET");
        for k in chunk {
            cmd.arg(k).arg(value);
        }
        let (): () = cmd.query(con).expect("mset");
    }
}

#[test]
fn krange_bounds_directions_and_paging() {
    let server = TestServer::start();
    let mut con = server.client();
    set_many(&mut con, ["a", "b", "ba", "c", "d"].iter().map(|k| k.to_string()), "v");
    let one = |con: &mut redis::Connection, args: &[&str]| -> Page {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        krange(con, &args)
    };
    let keys =
        |page: Page| (page.0.map(|b| String::from_utf8_lossy(&b).into_owned()), strings(&page.1));
    let s = |v: &[&str]| v.iter().map(|k| k.to_string()).collect::<Vec<_>>();
    assert_eq!(keys(one(&mut con, &["-", "+"])), (None, s(&["a", "b", "ba", "c", "d"])));
    assert_eq!(keys(one(&mut con, &["[b", "(c"])), (None, s(&["b", "ba"])));
    assert_eq!(keys(one(&mut con, &["(b", "[c"])), (None, s(&["ba", "c"])));
    assert_eq!(keys(one(&mut con, &["[c", "[b", "REV"])), (None, s(&["c", "ba", "b"])));
    assert_eq!(keys(one(&mut con, &["+", "-", "rev"])), (None, s(&["d", "c", "ba", "b", "a"])));
    assert_eq!(keys(one(&mut con, &["(d", "(a", "REV"])), (None, s(&["c", "ba", "b"])));
    // Empty ranges, in both directions, answer an empty page and no bound.
    for empty in [
        &["+", "-"][..],
        &["-", "+", "REV"],
        &["[c", "[b"],
        &["(b", "(b"],
        &["[b", "(b"],
        &["+", "+"],
        &["-", "-"],
        &["[zz", "+"],
    ] {
        assert_eq!(keys(one(&mut con, empty)), (None, vec![]), "{empty:?}");
    }
    assert_eq!(keys(one(&mut con, &["[b", "[b"])), (None, s(&["b"])));
    // A full page whose next key exists gives the bound to continue from.
    assert_eq!(keys(one(&mut con, &["-", "+", "LIMIT", "2"])), (Some("(b".into()), s(&["a", "b"])));
    assert_eq!(
        keys(one(&mut con, &["(b", "+", "LIMIT", "2"])),
        (Some("(c".into()), s(&["ba", "c"]))
    );
    assert_eq!(keys(one(&mut con, &["(c", "+", "LIMIT", "2"])), (None, s(&["d"])));
    assert_eq!(keys(one(&mut con, &["+", "-", "REV", "LIMIT", "4"])).0, Some("(b".into()));
    // A page that ends exactly at the last key says so: no empty page after it.
    assert_eq!(keys(one(&mut con, &["(c", "+", "LIMIT", "1"])), (None, s(&["d"])));
    assert_eq!(all_pages(&mut con, "-", "+", &["LIMIT", "2"]).len(), 3);
    assert_eq!(all_pages(&mut con, "+", "-", &["REV", "LIMIT", "5"]).len(), 1);
    // Keys are bytes: the empty key, 0x00 and 0xff sort as bytes do.
    let (): () = redis::cmd("MSET")
        .arg(b"")
        .arg("e")
        .arg(b"\x00")
        .arg("z")
        .arg(b"\xff\xff")
        .arg("f")
        .query(&mut con)
        .expect("mset");
    let (_, all) = krange(&mut con, &[b"-", b"+"]);
    assert_eq!(all.first().map(Vec::as_slice), Some(&b""[..]));
    assert_eq!(all.get(1).map(Vec::as_slice), Some(&b"\x00"[..]));
    assert_eq!(all.last().map(Vec::as_slice), Some(&b"\xff\xff"[..]));
    let (_, top) = krange(&mut con, &[b"+", b"(\xff", b"REV"]);
    assert_eq!(top, vec![b"\xff\xff".to_vec()]);
    let (_, bottom) = krange(&mut con, &[b"(", b"[", b"REV"]);
    assert_eq!(bottom, Vec::<Vec<u8>>::new(), "( of the empty key excludes it");
    let (_, bottom) = krange(&mut con, &[b"[", b"-", b"REV"]);
    assert_eq!(bottom, vec![b"".to_vec()]);
    // A bound longer than any key the server stores is just a bound.
    let long = format!("[{}", "b".repeat(70_000));
    assert_eq!(keys(one(&mut con, &["-", &long, "LIMIT", "3"])).1, s(&["", "\0", "a"]));
}

#[test]
fn krange_default_limit_and_limit_max() {
    let server = TestServer::start();
    let mut con = server.client();
    set_many(&mut con, (0..=KRANGE_LIMIT_MAX).map(|i| format!("k{i:06}")), "v");
    let (next, page) = krange(&mut con, &[b"-", b"+"]);
    assert_eq!(page.len(), KRANGE_LIMIT_DEFAULT);
    assert_eq!(next, Some(format!("(k{:06}", KRANGE_LIMIT_DEFAULT - 1).into_bytes()));
    let max = KRANGE_LIMIT_MAX.to_string();
    let (next, page) = krange(&mut con, &[b"-", b"+", b"LIMIT", max.as_bytes()]);
    assert_eq!(page.len(), KRANGE_LIMIT_MAX, "a page of LIMIT_MAX keys");
    assert_eq!(next, Some(format!("(k{:06}", KRANGE_LIMIT_MAX - 1).into_bytes()));
    let (next, page) = krange(&mut con, &[&next.expect("bound"), b"+", b"LIMIT", max.as_bytes()]);
    assert_eq!((next, strings(&page)), (None, vec![format!("k{KRANGE_LIMIT_MAX:06}")]));
    let past = (KRANGE_LIMIT_MAX + 1).to_string();
    let err = fails(&mut con, &["KRANGE", "-", "+", "LIMIT", &past]);
    assert_eq!(
        err,
        format!(
            "ERR LIMIT must be between 1 and {KRANGE_LIMIT_MAX}: read more keys by passing the \
             bound KRANGE returns to the next call"
        )
    );
}

#[test]
fn krange_examines_at_most_examined_max_keys_per_call() {
    let server = TestServer::start();
    let mut con = server.client();
    // TYPE hash matches none of these string keys, so every key is examined and skipped.
    set_many(&mut con, (0..KRANGE_EXAMINED_MAX).map(|i| format!("k{i:06}")), "v");
    let at_limit = all_pages(&mut con, "-", "+", &["TYPE", "hash"]);
    assert_eq!(at_limit.len(), 2, "the cap is reached at the last key, whose end is not yet seen");
    let (next, page) = krange(&mut con, &[b"-", b"+", b"TYPE", b"hash"]);
    assert_eq!(next, Some(format!("(k{:06}", KRANGE_EXAMINED_MAX - 1).into_bytes()));
    assert!(page.is_empty());
    let (): () = redis::cmd("DEL")
        .arg(format!("k{:06}", KRANGE_EXAMINED_MAX - 1))
        .query(&mut con)
        .expect("del");
    let under = all_pages(&mut con, "-", "+", &["TYPE", "hash"]);
    assert_eq!(under, vec![Vec::<String>::new()], "one key under the cap: one call");
    set_many(
        &mut con,
        (KRANGE_EXAMINED_MAX - 1..=KRANGE_EXAMINED_MAX).map(|i| format!("k{i:06}")),
        "v",
    );
    // One past the cap: the first call stops after KRANGE_EXAMINED_MAX keys, the next
    // resumes after the last key examined and finds the rest.
    let (next, _) = krange(&mut con, &[b"-", b"+", b"TYPE", b"hash"]);
    assert_eq!(next, Some(format!("(k{:06}", KRANGE_EXAMINED_MAX - 1).into_bytes()));
    let (next, page) = krange(&mut con, &[&next.expect("bound"), b"+", b"TYPE", b"hash"]);
    assert_eq!((next, page.len()), (None, 0));
    // Same in reverse, and the keys found before the cap come back with the bound.
    let (next, page) = krange(&mut con, &[b"+", b"-", b"REV", b"TYPE", b"string", b"LIMIT", b"3"]);
    assert_eq!(strings(&page), ["k100000", "k099999", "k099998"]);
    assert_eq!(next, Some(b"(k099998".to_vec()));
    let (next, _) = krange(&mut con, &[b"+", b"-", b"REV", b"TYPE", b"hash"]);
    assert_eq!(next, Some(b"(k000001".to_vec()));
}

#[test]
fn krange_page_bytes_at_the_limit_and_one_past() {
    let server = TestServer::start();
    let mut con = server.client();
    let half = KRANGE_PAGE_BYTES_MAX / 2;
    // Key and value bytes of both keys: exactly the limit.
    let (): () = redis::cmd("MSET")
        .arg("a")
        .arg(vec![b'x'; half - 1])
        .arg("b")
        .arg(vec![b'y'; half - 1])
        .arg("c")
        .arg(vec![b'z'; KRANGE_PAGE_BYTES_MAX * 2])
        .query(&mut con)
        .expect("mset");
    let flat = |con: &mut redis::Connection, args: &[&str]| -> (Option<String>, Vec<usize>) {
        let mut cmd = redis::cmd("KRANGE");
        cmd.arg(args);
        let (next, items): (Option<String>, Vec<Vec<u8>>) = cmd.query(con).expect("krange");
        (next, items.iter().map(Vec::len).collect())
    };
    assert_eq!(
        flat(&mut con, &["-", "[b", "WITHVALUES"]),
        (None, vec![1, half - 1, 1, half - 1]),
        "at the limit: one page"
    );
    let (): () = redis::cmd("APPEND").arg("b").arg("y").query(&mut con).expect("append");
    assert_eq!(
        flat(&mut con, &["-", "[b", "WITHVALUES"]),
        (Some("(a".into()), vec![1, half - 1]),
        "one byte past it: the page ends before b"
    );
    assert_eq!(flat(&mut con, &["(a", "[b", "WITHVALUES"]), (None, vec![1, half]));
    // A value bigger than a page still comes back, alone; without values keys are small.
    assert_eq!(flat(&mut con, &["(a", "+", "WITHVALUES"]), (Some("(b".into()), vec![1, half]));
    assert_eq!(
        flat(&mut con, &["(b", "+", "WITHVALUES"]),
        (None, vec![1, KRANGE_PAGE_BYTES_MAX * 2])
    );
    assert_eq!(flat(&mut con, &["-", "+"]), (None, vec![1, 1, 1]));
}

#[test]
fn krange_reply_past_the_output_limit_closes_the_client() {
    const HARD: usize = 1 << 20;
    let server = TestServer::with(|c| {
        c.client_output_buffer_limit.normal =
            lode_server::OutputBufferLimit { hard_bytes: HARD as u64, soft_bytes: 0, soft_secs: 0 };
    });
    let mut admin = server.client();
    let (): () = redis::cmd("MSET")
        .arg("big")
        .arg(vec![b'x'; HARD])
        .arg("small")
        .arg("v")
        .query(&mut admin)
        .expect("mset");
    let mut con = server.client();
    let (_, keys) = krange(&mut con, &[b"-", b"+"]);
    assert_eq!(strings(&keys), ["big", "small"], "keys alone fit");
    let mut cmd = redis::cmd("KRANGE");
    cmd.arg(&["-", "+", "WITHVALUES"]);
    assert!(cmd.query::<Value>(&mut con).is_err(), "a value past the limit closes the client");
    let disconnections: String = q(&mut admin, &["INFO", "stats"]);
    assert!(disconnections.contains("client_output_buffer_limit_disconnections:1"));
    let (_, keys) = krange(&mut admin, &[b"(big", b"+", b"WITHVALUES"]);
    assert_eq!(strings(&keys), ["small", "v"], "the server serves on");
}

#[test]
fn krange_withvalues_shapes_and_type_filter() {
    let server = TestServer::start();
    let mut con = server.client();
    set_many(&mut con, ["a", "b"].iter().map(|k| k.to_string()), "1");
    let (next, flat): (Option<String>, Vec<String>) =
        redis::cmd("KRANGE").arg(&["-", "+", "WITHVALUES"]).query(&mut con).expect("krange");
    assert_eq!((next, flat), (None, vec!["a".into(), "1".into(), "b".into(), "1".into()]));
    let mut con3 = server.client_resp3();
    let reply: Value = redis::cmd("KRANGE")
        .arg(&["+", "-", "REV", "WITHVALUES"])
        .query(&mut con3)
        .expect("krange");
    let pair = |k: &str, v: &str| {
        Value::Array(vec![Value::BulkString(k.into()), Value::BulkString(v.into())])
    };
    assert_eq!(
        reply,
        Value::Array(vec![Value::Nil, Value::Array(vec![pair("b", "1"), pair("a", "1")])])
    );
    let reply: Value =
        redis::cmd("KRANGE").arg(&["-", "+", "LIMIT", "1"]).query(&mut con3).expect("krange");
    assert_eq!(
        reply,
        Value::Array(vec![
            Value::BulkString(b"(a".to_vec()),
            Value::Array(vec![Value::BulkString(b"a".to_vec())])
        ])
    );
    for (kind, want) in [("string", 2), ("STRING", 2), ("hash", 0), ("zset", 0), ("stream", 0)] {
        let (_, page) = krange(&mut con, &[b"-", b"+", b"TYPE", kind.as_bytes()]);
        assert_eq!(page.len(), want, "TYPE {kind}");
    }
}

#[test]
fn krange_errors() {
    let server = TestServer::start();
    let mut con = server.client();
    let bad_range = "ERR min or max not valid string range item";
    for (args, want) in [
        (&["KRANGE", "a", "+"][..], bad_range),
        (&["KRANGE", "-", "b"], bad_range),
        (&["KRANGE", "", "+"], bad_range),
        (&["KRANGE", "-x", "+"], bad_range),
        (&["KRANGE", "+", "-x", "REV"], bad_range),
        (&["KRANGE", "-", "+", "BOGUS"], "ERR syntax error"),
        (&["KRANGE", "-", "+", "LIMIT"], "ERR syntax error"),
        (&["KRANGE", "-", "+", "TYPE"], "ERR syntax error"),
        (&["KRANGE", "-", "+", "LIMIT", "x"], "ERR value is not an integer or out of range"),
        (&["KRANGE", "-", "+", "TYPE", "strings"], "ERR unknown type name 'strings'"),
        (&["KRANGE", "-"], "ERR wrong number of arguments for 'krange' command"),
    ] {
        assert_eq!(fails(&mut con, args), want, "{args:?}");
    }
    for limit in ["0", "-1", "10001", "99999999999999999"] {
        let err = fails(&mut con, &["KRANGE", "-", "+", "LIMIT", limit]);
        assert!(err.starts_with("ERR LIMIT must be between 1 and 10000"), "{limit}: {err}");
    }
}

#[test]
fn krange_skips_expired_keys() {
    let server = TestServer::start();
    let mut con = server.client();
    set_many(&mut con, ["a", "c", "e"].iter().map(|k| k.to_string()), "v");
    for k in ["b", "d", "f"] {
        let (): () =
            redis::cmd("SET").arg(k).arg("v").arg("PX").arg(1).query(&mut con).expect("set");
    }
    assert!(eventually(Duration::from_secs(10), || q::<i64>(&mut con, &["PTTL", "f"]) == -2));
    assert_eq!(all_pages(&mut con, "-", "+", &["LIMIT", "1"]), [["a"], ["c"], ["e"]]);
    assert_eq!(all_pages(&mut con, "+", "-", &["REV", "LIMIT", "2"]), [vec!["e", "c"], vec!["a"]]);
}

#[test]
fn krange_in_multi_and_in_a_write_burst_sees_pending_writes() {
    let server = TestServer::start();
    let mut con = server.client();
    set_many(&mut con, ["b", "d"].iter().map(|k| k.to_string()), "old");
    let (keys, values): (Vec<Value>, Vec<Value>) = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg("c")
        .arg("new")
        .ignore()
        .cmd("DEL")
        .arg("d")
        .ignore()
        .cmd("SET")
        .arg("b")
        .arg("changed")
        .ignore()
        .cmd("KRANGE")
        .arg(&["-", "+"])
        .cmd("KRANGE")
        .arg(&["+", "-", "REV", "WITHVALUES"])
        .query(&mut con)
        .expect("exec");
    let bulk = |s: &str| Value::BulkString(s.into());
    assert_eq!(keys, vec![Value::Nil, Value::Array(vec![bulk("b"), bulk("c")])]);
    assert_eq!(
        values,
        vec![Value::Nil, Value::Array(vec![bulk("c"), bulk("new"), bulk("b"), bulk("changed")])]
    );
    // A pipelined burst (no MULTI) with a write reads through the same overlay.
    let (page,): ((Option<String>, Vec<String>),) = redis::pipe()
        .cmd("SET")
        .arg("a")
        .arg("1")
        .ignore()
        .cmd("DEL")
        .arg("c")
        .ignore()
        .cmd("KRANGE")
        .arg(&["-", "+", "LIMIT", "1"])
        .query(&mut con)
        .expect("pipeline");
    assert_eq!(page, (Some("(a".into()), vec!["a".into()]));
    assert_eq!(all_pages(&mut con, "-", "+", &[]), [["a", "b"]]);
}

#[test]
fn krange_stays_in_the_selected_database() {
    let server = TestServer::start();
    let mut con = server.client();
    for db in ["14", "15", "0", "1"] {
        let _: String = q(&mut con, &["SELECT", db]);
        set_many(&mut con, ["k"].iter().map(|k| format!("{k}{db}")), "v");
    }
    let _: String = q(&mut con, &["SELECT", "15"]);
    assert_eq!(all_pages(&mut con, "-", "+", &[]), [["k15"]]);
    assert_eq!(all_pages(&mut con, "+", "-", &["REV"]), [["k15"]]);
    let _: String = q(&mut con, &["SELECT", "0"]);
    assert_eq!(all_pages(&mut con, "+", "-", &["REV"]), [["k0"]]);
}

/// The model: live keys and their values. Expired keys are removed from it when set.
type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn random_key(rng: &mut StdRng) -> Vec<u8> {
    const ALPHABET: &[u8] = b"\x00ab(\xff";
    let len = rng.random_range(0..4);
    (0..len).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())]).collect()
}

fn random_bound(rng: &mut StdRng) -> Vec<u8> {
    match rng.random_range(0..10) {
        0 => b"-".to_vec(),
        1 => b"+".to_vec(),
        n => {
            let mut b = vec![if n % 2 == 0 { b'[' } else { b'(' }];
            b.extend(random_key(rng));
            b
        }
    }
}

/// A range of model keys, `(lo, hi)`.
type ModelRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// The range a (min, max) pair of bounds means; `None` if it is empty.
fn model_range(min: &[u8], max: &[u8]) -> Option<ModelRange> {
    let lo = match min {
        b"-" => Bound::Unbounded,
        b"+" => return None,
        [b'[', k @ ..] => Bound::Included(k.to_vec()),
        [b'(', k @ ..] => Bound::Excluded(k.to_vec()),
        _ => unreachable!("a generated bound"),
    };
    let hi = match max {
        b"+" => Bound::Unbounded,
        b"-" => return None,
        [b'[', k @ ..] => Bound::Included(k.to_vec()),
        [b'(', k @ ..] => Bound::Excluded(k.to_vec()),
        _ => unreachable!("a generated bound"),
    };
    let empty = match (&lo, &hi) {
        (Bound::Included(a), Bound::Included(b)) => a > b,
        (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => {
            a >= b
        }
        _ => false,
    };
    (!empty).then_some((lo, hi))
}

/// The keys of `model` a page starting at `first` (with `last` as the other bound) covers,
/// in the scan's order.
fn model_keys(model: &Model, first: &[u8], last: &[u8], rev: bool) -> Vec<(Vec<u8>, Vec<u8>)> {
    let (min, max) = if rev { (last, first) } else { (first, last) };
    let Some(range) = model_range(min, max) else { return Vec::new() };
    let it = model.range::<Vec<u8>, _>(range).map(|(k, v)| (k.clone(), v.clone()));
    if rev { it.rev().collect() } else { it.collect() }
}

/// A random write, applied to the model; returns keys set to expire at once (to wait for).
fn random_write(rng: &mut StdRng, model: &mut Model, cmd: &mut redis::Pipeline) -> Option<Vec<u8>> {
    let key = random_key(rng);
    match rng.random_range(0..10) {
        0..=5 => {
            let value = format!("v{}", rng.random_range(0..1000)).into_bytes();
            cmd.cmd("SET").arg(&key).arg(&value).ignore();
            model.insert(key, value);
            None
        }
        6..=7 => {
            cmd.cmd("DEL").arg(&key).ignore();
            model.remove(&key);
            None
        }
        8 => {
            // Expires in 1 ms: dead once PTTL says so; never returned again.
            cmd.cmd("SET").arg(&key).arg("gone").arg("PX").arg(1).ignore();
            model.remove(&key);
            Some(key)
        }
        _ => {
            // Lives past the test; its TTL must not hide it.
            let value = b"ttl".to_vec();
            cmd.cmd("SET").arg(&key).arg(&value).arg("EX").arg(100_000).ignore();
            model.insert(key, value);
            None
        }
    }
}

/// A random KRANGE: its two bounds, and its options both parsed and as arguments.
#[derive(Debug)]
struct Query {
    first: Vec<u8>,
    last: Vec<u8>,
    rev: bool,
    limit: usize,
    with_values: bool,
    opts: Vec<Vec<u8>>,
}

fn random_query(rng: &mut StdRng) -> Query {
    let (first, last) = (random_bound(rng), random_bound(rng));
    let rev = rng.random_bool(0.5);
    let limit = if rng.random_bool(0.2) { KRANGE_LIMIT_DEFAULT } else { rng.random_range(1..6) };
    let with_values = rng.random_bool(0.3);
    let mut opts: Vec<Vec<u8>> = Vec::new();
    if rev {
        opts.push(b"REV".to_vec());
    }
    if limit != KRANGE_LIMIT_DEFAULT || rng.random_bool(0.5) {
        opts.extend([b"LIMIT".to_vec(), limit.to_string().into_bytes()]);
    }
    if with_values {
        opts.push(b"WITHVALUES".to_vec());
    }
    if rng.random_bool(0.2) {
        opts.extend([b"TYPE".to_vec(), b"string".to_vec()]);
    }
    Query { first, last, rev, limit, with_values, opts }
}

/// Splits a RESP2 page's elements into (key, value) pairs.
fn page_pairs(items: Vec<Vec<u8>>, with_values: bool) -> Vec<(Vec<u8>, Vec<u8>)> {
    if with_values {
        items.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect()
    } else {
        items.into_iter().map(|k| (k, Vec::new())).collect()
    }
}

/// Checks one page against the model: the first `limit` keys after `first`, and a resume
/// bound exactly when keys remain, lying between the page's last key and the next one.
fn check_page(
    model: &Model,
    (first, last, rev, limit, with_values): (&[u8], &[u8], bool, usize, bool),
    (next, items): Page,
) -> Option<Vec<u8>> {
    let want = model_keys(model, first, last, rev);
    let got = page_pairs(items, with_values);
    let shown: Vec<(Vec<u8>, Vec<u8>)> = want
        .iter()
        .take(limit)
        .map(|(k, v)| (k.clone(), if with_values { v.clone() } else { Vec::new() }))
        .collect();
    assert_eq!(got, shown, "page of {first:?}..{last:?} rev={rev} limit={limit}");
    let rest = want.get(limit).map(|(k, _)| k.clone());
    match (&next, rest) {
        (None, None) => {}
        (Some(bound), Some(next_key)) => {
            let key = bound.strip_prefix(b"(").expect("the bound is exclusive");
            let last_shown = &shown.last().expect("a bound follows a full page").0;
            let between = if rev {
                key <= &last_shown[..] && key > &next_key[..]
            } else {
                key >= &last_shown[..] && key < &next_key[..]
            };
            assert!(between, "bound {bound:?} after {last_shown:?}, before {next_key:?}");
        }
        (next, rest) => panic!("bound {next:?} but the model's next key is {rest:?}"),
    }
    next
}

fn wait_expired(con: &mut redis::Connection, keys: &mut Vec<Vec<u8>>) {
    for key in keys.drain(..) {
        let gone = eventually(Duration::from_secs(10), || {
            redis::cmd("PTTL").arg(&key).query::<i64>(con).expect("pttl") == -2
        });
        assert!(gone, "a 1 ms TTL expired");
    }
}

#[test]
fn krange_agrees_with_a_btreemap_model() {
    let seed = lode_testkit::Seed::new("krange_agrees_with_a_btreemap_model");
    let mut rng = seed.rng(0);
    let server = TestServer::start();
    let mut con = server.client();
    // Neighbouring databases hold keys that must never show up.
    let db = [0, 7, 15][rng.random_range(0..3)];
    for other in [db.max(1) - 1, (db + 1).min(15)].into_iter().filter(|&d| d != db) {
        let _: String = q(&mut con, &["SELECT", &other.to_string()]);
        set_many(&mut con, ["", "a", "\u{7f}"].iter().map(|k| k.to_string()), "noise");
    }
    let _: String = q(&mut con, &["SELECT", &db.to_string()]);
    let mut model = Model::new();
    let mut expiring = Vec::new();
    let (mut pages, mut keys_seen) = (0usize, 0usize);
    for _ in 0..lode_testkit::iterations(150) {
        let mut writes = redis::pipe();
        for _ in 0..rng.random_range(1..12) {
            expiring.extend(random_write(&mut rng, &mut model, &mut writes));
        }
        let (): () = writes.query(&mut con).expect("writes");
        expiring.retain(|k| !model.contains_key(k));
        wait_expired(&mut con, &mut expiring);
        let Query { first, last, rev, limit, with_values, opts } = random_query(&mut rng);
        match rng.random_range(0..4) {
            // Inside MULTI, or a pipelined write burst: writes then one page, one transaction.
            0 | 1 => {
                let mut pipe = redis::pipe();
                if rng.random_bool(0.5) {
                    pipe.atomic();
                }
                for _ in 0..rng.random_range(1..6) {
                    expiring.extend(random_write(&mut rng, &mut model, &mut pipe));
                }
                expiring.retain(|k| !model.contains_key(k));
                pipe.cmd("KRANGE").arg(&first).arg(&last).arg(&opts);
                let (page,): (Page,) = pipe.query(&mut con).expect("burst");
                // A 1 ms TTL set in this burst may or may not have passed when its KRANGE
                // ran: check only pages whose range holds no such key.
                let in_range =
                    model_range(if rev { &last } else { &first }, if rev { &first } else { &last });
                let racy = in_range.is_some_and(|r| expiring.iter().any(|k| r.contains(k)));
                if !racy {
                    keys_seen += page.1.len();
                    check_page(&model, (&first, &last, rev, limit, with_values), page);
                    pages += 1;
                }
                wait_expired(&mut con, &mut expiring);
            }
            // Page through the whole range, with writes between pages.
            _ => {
                let mut bound = first.clone();
                for _ in 0..1000 {
                    let mut args: Vec<&[u8]> = vec![&bound, &last];
                    args.extend(opts.iter().map(Vec::as_slice));
                    let page = krange(&mut con, &args);
                    keys_seen += page.1.len();
                    pages += 1;
                    let q = (&bound[..], &last[..], rev, limit, with_values);
                    let Some(next) = check_page(&model, q, page) else { break };
                    bound = next;
                    if rng.random_bool(0.3) {
                        let mut writes = redis::pipe();
                        expiring.extend(random_write(&mut rng, &mut model, &mut writes));
                        let (): () = writes.query(&mut con).expect("write");
                        expiring.retain(|k| !model.contains_key(k));
                        wait_expired(&mut con, &mut expiring);
                    }
                }
            }
        }
    }
    assert!(
        pages > 100 && keys_seen > 100,
        "the test exercised paging: {pages} pages, {keys_seen} keys"
    );
}
