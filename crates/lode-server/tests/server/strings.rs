use crate::{TestServer, fails, q};
use redis::Value;

#[test]
fn set_get_with_options_follow_redis() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(q::<String>(&mut con, &["SET", "k", "v1"]), "OK");
    assert_eq!(q::<String>(&mut con, &["GET", "k"]), "v1");
    assert_eq!(q::<Option<String>>(&mut con, &["SET", "k", "v2", "NX"]), None);
    assert_eq!(q::<Option<String>>(&mut con, &["SET", "new", "v", "XX"]), None);
    assert_eq!(q::<Option<String>>(&mut con, &["GET", "new"]), None);
    assert_eq!(q::<String>(&mut con, &["SET", "k", "v2", "XX", "GET"]), "v1");
    assert_eq!(q::<Option<String>>(&mut con, &["SET", "fresh", "x", "NX", "GET"]), None);
    assert_eq!(q::<String>(&mut con, &["GET", "fresh"]), "x");
    assert_eq!(q::<String>(&mut con, &["SET", "t", "v", "EX", "100"]), "OK");
    let ttl: i64 = q(&mut con, &["TTL", "t"]);
    assert!((99..=100).contains(&ttl), "{ttl}");
    assert_eq!(q::<String>(&mut con, &["SET", "t", "w", "KEEPTTL"]), "OK");
    assert!(q::<i64>(&mut con, &["PTTL", "t"]) > 98_000);
    assert_eq!(q::<String>(&mut con, &["SET", "t", "w"]), "OK");
    assert_eq!(q::<i64>(&mut con, &["TTL", "t"]), -1);
    assert_eq!(q::<String>(&mut con, &["SET", "p", "v", "PX", "100000"]), "OK");
    assert!(q::<i64>(&mut con, &["PTTL", "p"]) > 99_000);
    assert_eq!(q::<String>(&mut con, &["SET", "a", "v", "EXAT", "4102444800"]), "OK");
    assert_eq!(q::<i64>(&mut con, &["EXPIRETIME", "a"]), 4_102_444_800);
    assert_eq!(q::<String>(&mut con, &["SET", "a", "v", "PXAT", "1000"]), "OK");
    assert_eq!(q::<Option<String>>(&mut con, &["GET", "a"]), None, "an expiry in the past deletes");

    // The same unit may repeat, the last value counting (Redis checks only other units).
    assert_eq!(q::<String>(&mut con, &["SET", "r", "v", "EX", "10", "ex", "200"]), "OK");
    assert!((199..=200).contains(&q::<i64>(&mut con, &["TTL", "r"])));
    assert_eq!(
        fails(&mut con, &["SET", "r", "v", "EX", "10", "EX", "GET"]),
        "ERR value is not an integer or out of range"
    );

    assert_eq!(fails(&mut con, &["SET", "k", "v", "NX", "XX"]), "ERR syntax error");
    assert_eq!(fails(&mut con, &["SET", "k", "v", "EX", "10", "PX", "10"]), "ERR syntax error");
    assert_eq!(fails(&mut con, &["SET", "k", "v", "EX", "10", "KEEPTTL"]), "ERR syntax error");
    assert_eq!(fails(&mut con, &["SET", "k", "v", "EX"]), "ERR syntax error");
    assert_eq!(
        fails(&mut con, &["SET", "k", "v", "EX", "0"]),
        "ERR invalid expire time in 'set' command"
    );
    assert_eq!(
        fails(&mut con, &["SET", "k", "v", "EX", "-5"]),
        "ERR invalid expire time in 'set' command"
    );
    assert_eq!(
        fails(&mut con, &["SET", "k", "v", "EX", "9223372036854775807"]),
        "ERR invalid expire time in 'set' command"
    );
    assert_eq!(
        fails(&mut con, &["SET", "k", "v", "EX", "ten"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(fails(&mut con, &["SET", "k"]), "ERR wrong number of arguments for 'set' command");
    assert_eq!(
        fails(&mut con, &["GET", "a", "b"]),
        "ERR wrong number of arguments for 'get' command"
    );
}

#[test]
fn setnx_setex_getset_getdel_getex() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(q::<i64>(&mut con, &["SETNX", "k", "1"]), 1);
    assert_eq!(q::<i64>(&mut con, &["SETNX", "k", "2"]), 0);
    assert_eq!(q::<String>(&mut con, &["SETEX", "e", "100", "v"]), "OK");
    assert!(q::<i64>(&mut con, &["TTL", "e"]) >= 99);
    assert_eq!(
        fails(&mut con, &["SETEX", "e", "0", "v"]),
        "ERR invalid expire time in 'setex' command"
    );
    assert_eq!(q::<String>(&mut con, &["PSETEX", "pe", "100000", "v"]), "OK");
    assert!(q::<i64>(&mut con, &["PTTL", "pe"]) > 99_000);
    assert_eq!(
        fails(&mut con, &["PSETEX", "pe", "-1", "v"]),
        "ERR invalid expire time in 'psetex' command"
    );
    assert_eq!(q::<String>(&mut con, &["GETSET", "e", "w"]), "v");
    assert_eq!(q::<i64>(&mut con, &["TTL", "e"]), -1, "GETSET clears the TTL");
    assert_eq!(q::<Option<String>>(&mut con, &["GETSET", "none", "w"]), None);
    assert_eq!(q::<String>(&mut con, &["GETDEL", "none"]), "w");
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "none"]), 0);
    assert_eq!(q::<Option<String>>(&mut con, &["GETDEL", "none"]), None);
    assert_eq!(q::<String>(&mut con, &["GETEX", "k", "EX", "100"]), "1");
    assert!(q::<i64>(&mut con, &["TTL", "k"]) >= 99);
    assert_eq!(q::<String>(&mut con, &["GETEX", "k", "PERSIST"]), "1");
    assert_eq!(q::<i64>(&mut con, &["TTL", "k"]), -1);
    assert_eq!(q::<String>(&mut con, &["GETEX", "k", "PXAT", "1"]), "1");
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "k"]), 0);
    assert_eq!(q::<Option<String>>(&mut con, &["GETEX", "missing"]), None);
    assert_eq!(fails(&mut con, &["GETEX", "k", "EX", "1", "PERSIST"]), "ERR syntax error");
    assert_eq!(fails(&mut con, &["GETEX", "k", "PERSIST", "PX", "1"]), "ERR syntax error");
    assert_eq!(fails(&mut con, &["GETEX", "k", "EX", "1", "PX", "1"]), "ERR syntax error");
    // An option may repeat; the last value counts.
    let _: String = q(&mut con, &["SET", "g", "1"]);
    assert_eq!(q::<String>(&mut con, &["GETEX", "g", "EX", "10", "EX", "300"]), "1");
    assert!((299..=300).contains(&q::<i64>(&mut con, &["TTL", "g"])));
    assert_eq!(q::<String>(&mut con, &["GETEX", "g", "PERSIST", "persist"]), "1");
    assert_eq!(q::<i64>(&mut con, &["TTL", "g"]), -1);
    // Redis 7.0 looks the key up before it checks the time: a missing key is null.
    assert_eq!(q::<Option<String>>(&mut con, &["GETEX", "k", "EX", "0"]), None);
    let _: String = q(&mut con, &["SET", "k", "1"]);
    assert_eq!(
        fails(&mut con, &["GETEX", "k", "EX", "0"]),
        "ERR invalid expire time in 'getex' command"
    );
    assert_eq!(
        fails(&mut con, &["GETEX", "k", "PX", "x"]),
        "ERR value is not an integer or out of range"
    );
}

#[test]
fn mget_mset_msetnx() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(q::<String>(&mut con, &["MSET", "a", "1", "b", "2"]), "OK");
    let got: Vec<Option<String>> = q(&mut con, &["MGET", "a", "missing", "b"]);
    assert_eq!(got, vec![Some("1".into()), None, Some("2".into())]);
    assert_eq!(
        fails(&mut con, &["MSET", "a", "1", "b"]),
        "ERR wrong number of arguments for 'mset' command"
    );
    assert_eq!(q::<i64>(&mut con, &["MSETNX", "c", "3", "a", "9"]), 0);
    assert_eq!(q::<Option<String>>(&mut con, &["GET", "c"]), None, "MSETNX is all or nothing");
    assert_eq!(q::<i64>(&mut con, &["MSETNX", "c", "3", "d", "4"]), 1);
    assert_eq!(
        q::<i64>(&mut con, &["MSETNX", "x", "1", "x", "2"]),
        1,
        "duplicate keys (CVE-2023-28425)"
    );
    assert_eq!(q::<String>(&mut con, &["GET", "x"]), "2");
}

#[test]
fn append_strlen_getrange_setrange() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(q::<i64>(&mut con, &["APPEND", "s", "Hello"]), 5);
    assert_eq!(q::<i64>(&mut con, &["APPEND", "s", " World"]), 11);
    assert_eq!(q::<i64>(&mut con, &["STRLEN", "s"]), 11);
    assert_eq!(q::<i64>(&mut con, &["STRLEN", "missing"]), 0);
    for (start, end, want) in [
        ("0", "4", "Hello"),
        ("-5", "-1", "World"),
        ("-3", "-5", ""),
        ("0", "-100", "H"),
        ("5", "3", ""),
        ("0", "1000", "Hello World"),
        ("-100", "-100", "H"),
    ] {
        assert_eq!(q::<String>(&mut con, &["GETRANGE", "s", start, end]), want, "{start} {end}");
    }
    assert_eq!(q::<String>(&mut con, &["GETRANGE", "missing", "0", "-1"]), "");
    assert_eq!(q::<i64>(&mut con, &["SETRANGE", "s", "6", "Redis"]), 11);
    assert_eq!(q::<String>(&mut con, &["GET", "s"]), "Hello Redis");
    assert_eq!(q::<i64>(&mut con, &["SETRANGE", "pad", "3", "x"]), 4);
    assert_eq!(q::<Vec<u8>>(&mut con, &["GET", "pad"]), b"\0\0\0x");
    assert_eq!(q::<i64>(&mut con, &["SETRANGE", "empty", "5", ""]), 0);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "empty"]), 0);
    assert_eq!(fails(&mut con, &["SETRANGE", "s", "-1", "x"]), "ERR offset is out of range");
    assert_eq!(
        fails(&mut con, &["SETRANGE", "s", "536870911", "xx"]),
        "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
    );
}

#[test]
fn counters_follow_redis() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(q::<i64>(&mut con, &["INCR", "n"]), 1);
    assert_eq!(q::<i64>(&mut con, &["INCRBY", "n", "41"]), 42);
    assert_eq!(q::<i64>(&mut con, &["DECR", "n"]), 41);
    assert_eq!(q::<i64>(&mut con, &["DECRBY", "n", "-1"]), 42);
    assert_eq!(q::<String>(&mut con, &["SET", "n", "9223372036854775807"]), "OK");
    assert_eq!(fails(&mut con, &["INCR", "n"]), "ERR increment or decrement would overflow");
    assert_eq!(
        fails(&mut con, &["DECRBY", "n", "-9223372036854775808"]),
        "ERR decrement would overflow"
    );
    for bad in ["abc", " 1", "1 ", "01", "", "1.5", "99999999999999999999"] {
        let (): () = con.set("bad", bad).expect("set");
        assert_eq!(
            fails(&mut con, &["INCR", "bad"]),
            "ERR value is not an integer or out of range",
            "{bad:?}"
        );
    }
    assert_eq!(
        fails(&mut con, &["INCRBY", "n", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(q::<String>(&mut con, &["SET", "f", "10.50"]), "OK");
    assert_eq!(q::<String>(&mut con, &["INCRBYFLOAT", "f", "0.1"]), "10.6");
    assert_eq!(q::<String>(&mut con, &["INCRBYFLOAT", "f", "-5"]), "5.6");
    assert_eq!(q::<String>(&mut con, &["SET", "g", "5.0e3"]), "OK");
    assert_eq!(q::<String>(&mut con, &["INCRBYFLOAT", "g", "2.0e2"]), "5200");
    assert_eq!(fails(&mut con, &["INCRBYFLOAT", "g", "x"]), "ERR value is not a valid float");
    assert_eq!(
        fails(&mut con, &["INCRBYFLOAT", "g", "inf"]),
        "ERR increment would produce NaN or Infinity"
    );
    assert_eq!(q::<String>(&mut con, &["SET", "t", "1", "EX", "100"]), "OK");
    assert_eq!(q::<i64>(&mut con, &["INCR", "t"]), 2);
    assert!(q::<i64>(&mut con, &["TTL", "t"]) > 0, "INCR keeps the TTL");
    let v: Value = q(&mut con, &["GET", "nothing"]);
    assert_eq!(v, Value::Nil);
}

use redis::Commands;
