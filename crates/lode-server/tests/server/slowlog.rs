//! SLOWLOG GET/LEN/RESET/HELP and its two directives, with Redis 7.0's reply shapes and
//! texts. `slowlog-log-slower-than 0` logs every command, which makes the log deterministic.

use crate::{TestServer, fails, q};
use redis::Value;
use std::time::{SystemTime, UNIX_EPOCH};

/// One SLOWLOG GET entry, checked for Redis's shape.
#[derive(Debug)]
struct Entry {
    id: i64,
    unix_secs: i64,
    micros: i64,
    args: Vec<String>,
    peer: String,
    name: String,
}

fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        other => panic!("not a bulk string: {other:?}"),
    }
}

fn entries(con: &mut redis::Connection, args: &[&str]) -> Vec<Entry> {
    let reply: Value = q(con, args);
    let Value::Array(items) = reply else { panic!("{reply:?}") };
    items
        .iter()
        .map(|item| {
            let Value::Array(f) = item else { panic!("{item:?}") };
            assert_eq!(f.len(), 6, "an entry has 6 fields: {f:?}");
            let int = |v: &Value| match v {
                Value::Int(n) => *n,
                other => panic!("not an integer: {other:?}"),
            };
            let Value::Array(a) = &f[3] else { panic!("{f:?}") };
            Entry {
                id: int(&f[0]),
                unix_secs: int(&f[1]),
                micros: int(&f[2]),
                args: a.iter().map(text).collect(),
                peer: text(&f[4]),
                name: text(&f[5]),
            }
        })
        .collect()
}

fn log_everything(con: &mut redis::Connection) {
    assert_eq!(q::<String>(con, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]), "OK");
    assert_eq!(q::<String>(con, &["SLOWLOG", "RESET"]), "OK");
}

fn client_addr(con: &mut redis::Connection) -> String {
    let info: String = q(con, &["CLIENT", "INFO"]);
    info.split(' ').find_map(|f| f.strip_prefix("addr=")).expect("addr field").to_string()
}

#[test]
fn slowlog_get_lists_every_command_newest_first_with_redis_fields() {
    let server = TestServer::start();
    let mut con = server.client();
    let addr = client_addr(&mut con);
    log_everything(&mut con);
    let _: String = q(&mut con, &["CLIENT", "SETNAME", "me"]);
    let _: String = q(&mut con, &["SET", "k", "v"]);
    let _: Option<String> = q(&mut con, &["GET", "k"]);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs() as i64;

    let got = entries(&mut con, &["SLOWLOG", "GET"]);
    let args: Vec<Vec<String>> = got.iter().map(|e| e.args.clone()).collect();
    assert_eq!(
        args,
        [
            vec!["GET", "k"],
            vec!["SET", "k", "v"],
            vec!["CLIENT", "SETNAME", "me"],
            vec!["SLOWLOG", "RESET"],
        ],
        "arguments as typed, newest first; RESET logs itself after clearing"
    );
    for pair in got.windows(2) {
        assert_eq!(pair[0].id, pair[1].id + 1, "ids count up: {got:?}");
    }
    for e in &got {
        assert!((e.unix_secs - now).abs() <= 5, "{e:?}");
        assert!(e.micros >= 0, "{e:?}");
        assert_eq!(e.peer, addr);
    }
    let names: Vec<&str> = got.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["me", "me", "me", ""], "the name as it was after the command ran");

    // The SLOWLOG GET above is logged now too; each SLOWLOG call below after it replies.
    assert_eq!(q::<i64>(&mut con, &["SLOWLOG", "LEN"]), 5);
    assert_eq!(entries(&mut con, &["SLOWLOG", "GET", "1"])[0].args, ["SLOWLOG", "LEN"]);
    assert_eq!(entries(&mut con, &["SLOWLOG", "GET", "0"]).len(), 0);
    assert_eq!(entries(&mut con, &["SLOWLOG", "GET", "-1"]).len(), 8);
    assert_eq!(entries(&mut con, &["SLOWLOG", "get", "1000000000000"]).len(), 9);
    let first_id = got.last().expect("entries").id;
    assert_eq!(q::<String>(&mut con, &["SLOWLOG", "RESET"]), "OK");
    let after = entries(&mut con, &["SLOWLOG", "GET"]);
    assert_eq!(after.len(), 1, "only the RESET: {after:?}");
    assert!(after[0].id > first_id + 9, "ids go on after RESET: {after:?}");
}

#[test]
fn slowlog_keeps_only_slowlog_max_len_entries() {
    let server = TestServer::start();
    let mut con = server.client();
    log_everything(&mut con);
    assert_eq!(q::<String>(&mut con, &["CONFIG", "SET", "slowlog-max-len", "3"]), "OK");
    for i in 0..10 {
        let _: String = q(&mut con, &["ECHO", &i.to_string()]);
    }
    assert_eq!(q::<i64>(&mut con, &["SLOWLOG", "LEN"]), 3);
    let got = entries(&mut con, &["SLOWLOG", "GET", "-1"]);
    let args: Vec<Vec<String>> = got.iter().map(|e| e.args.clone()).collect();
    assert_eq!(args, [vec!["SLOWLOG", "LEN"], vec!["ECHO", "9"], vec!["ECHO", "8"]]);

    assert_eq!(q::<String>(&mut con, &["CONFIG", "SET", "slowlog-max-len", "0"]), "OK");
    let _: String = q(&mut con, &["PING"]);
    assert_eq!(q::<i64>(&mut con, &["SLOWLOG", "LEN"]), 0, "max-len 0 keeps nothing");
}

#[test]
fn slowlog_threshold_decides_what_is_logged() {
    let server = TestServer::start();
    let mut con = server.client();
    let got: Vec<String> = q(&mut con, &["CONFIG", "GET", "slowlog*"]);
    let mut pairs: Vec<(String, String)> =
        got.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect();
    pairs.sort();
    assert_eq!(
        pairs,
        [
            ("slowlog-log-slower-than".to_string(), "10000".to_string()),
            ("slowlog-max-len".to_string(), "128".to_string())
        ],
        "Redis's defaults"
    );
    for (threshold, logged) in [("-1", 0), ("9223372036854775807", 0), ("0", 2)] {
        let _: String = q(&mut con, &["CONFIG", "SET", "slowlog-log-slower-than", threshold]);
        assert_eq!(q::<String>(&mut con, &["SLOWLOG", "RESET"]), "OK");
        let _: String = q(&mut con, &["PING"]);
        assert_eq!(q::<i64>(&mut con, &["SLOWLOG", "LEN"]), logged, "threshold {threshold}");
    }
}

#[test]
fn slowlog_logs_the_commands_exec_ran_but_not_exec() {
    let server = TestServer::start();
    let mut con = server.client();
    log_everything(&mut con);
    let (a, b): (String, i64) = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg("a")
        .arg("1")
        .cmd("INCR")
        .arg("a")
        .query(&mut con)
        .expect("exec");
    assert_eq!((a.as_str(), b), ("OK", 2));
    let got = entries(&mut con, &["SLOWLOG", "GET"]);
    let args: Vec<Vec<String>> = got.iter().map(|e| e.args.clone()).collect();
    assert_eq!(
        args,
        [vec!["INCR", "a"], vec!["SET", "a", "1"], vec!["MULTI"], vec!["SLOWLOG", "RESET"]]
    );
}

#[test]
fn slowlog_cuts_long_commands_and_redacts_passwords() {
    let server = TestServer::start();
    let mut con = server.client();
    log_everything(&mut con);
    let mut del = vec!["DEL".to_string()];
    del.extend((1..=40).map(|i| format!("key{i}")));
    let _: i64 = q(&mut con, &del.iter().map(String::as_str).collect::<Vec<_>>());
    let long_key = "k".repeat(200);
    let _: String = q(&mut con, &["SET", &long_key, "v"]);
    let _ = fails(&mut con, &["AUTH", "secret"]);
    let _ = fails(&mut con, &["AUTH", "someone", "secret"]);
    let _: String = q(&mut con, &["CONFIG", "SET", "requirepass", "secret"]);
    let _: String = q(&mut con, &["CONFIG", "SET", "requirepass", ""]);

    let got = entries(&mut con, &["SLOWLOG", "GET"]);
    let args: Vec<Vec<String>> = got.iter().map(|e| e.args.clone()).collect();
    assert_eq!(args[0], ["CONFIG", "SET", "requirepass", "(redacted)"]);
    assert_eq!(args[1], ["CONFIG", "SET", "requirepass", "(redacted)"]);
    assert_eq!(args[2], ["AUTH", "(redacted)", "(redacted)"]);
    assert_eq!(args[3], ["AUTH", "(redacted)"]);
    assert_eq!(args[4], ["SET", &format!("{}... (72 more bytes)", "k".repeat(128)), "v"]);
    assert_eq!(args[5].len(), 32);
    assert_eq!(args[5][..31], del[..31]);
    assert_eq!(args[5][31], "... (10 more arguments)");
}

#[test]
fn slowlog_errors_match_redis() {
    let server = TestServer::start();
    let mut con = server.client();
    let count = "ERR count should be greater than or equal to -1";
    assert_eq!(fails(&mut con, &["SLOWLOG", "GET", "-2"]), count);
    assert_eq!(fails(&mut con, &["SLOWLOG", "GET", "x"]), count);
    assert_eq!(
        fails(&mut con, &["SLOWLOG", "GET", "1", "2"]),
        "ERR unknown subcommand or wrong number of arguments for 'GET'. Try SLOWLOG HELP."
    );
    assert_eq!(
        fails(&mut con, &["SLOWLOG", "len", "x"]),
        "ERR wrong number of arguments for 'slowlog|len' command"
    );
    assert_eq!(
        fails(&mut con, &["SLOWLOG", "RESET", "x"]),
        "ERR wrong number of arguments for 'slowlog|reset' command"
    );
    assert_eq!(
        fails(&mut con, &["SLOWLOG", "foo"]),
        "ERR unknown subcommand 'foo'. Try SLOWLOG HELP."
    );
    assert_eq!(
        fails(&mut con, &["SLOWLOG"]),
        "ERR wrong number of arguments for 'slowlog' command"
    );
    let help: Vec<String> = q(&mut con, &["SLOWLOG", "HELP"]);
    assert_eq!(help.len(), 12);
    assert_eq!(help[1], "GET [<count>]");
    let set_failed = |name: &str, why: &str| {
        format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}")
    };
    assert_eq!(
        fails(&mut con, &["CONFIG", "SET", "slowlog-log-slower-than", "-2"]),
        set_failed(
            "slowlog-log-slower-than",
            "argument must be between -1 and 9223372036854775807 inclusive"
        )
    );
    assert_eq!(
        fails(&mut con, &["CONFIG", "SET", "slowlog-log-slower-than", "x"]),
        set_failed("slowlog-log-slower-than", "argument couldn't be parsed into an integer")
    );
    assert_eq!(
        fails(&mut con, &["CONFIG", "SET", "slowlog-max-len", "-1"]),
        set_failed(
            "slowlog-max-len",
            "argument must be between 0 and 9223372036854775807 inclusive"
        )
    );
    assert_eq!(
        fails(&mut con, &["CONFIG", "SET", "slowlog-max-len", "1.5"]),
        set_failed("slowlog-max-len", "argument couldn't be parsed into an integer")
    );
    let got: Vec<String> = q(&mut con, &["CONFIG", "GET", "slowlog-max-len"]);
    assert_eq!(got, ["slowlog-max-len", "128"], "a refused CONFIG SET changes nothing");
}

#[test]
fn slowlog_directives_come_from_the_config() {
    let server = TestServer::with(|c| {
        c.slowlog_log_slower_than_us = 0;
        c.slowlog_max_len = 2;
    });
    let mut con = server.client();
    for _ in 0..5 {
        let _: String = q(&mut con, &["PING"]);
    }
    assert_eq!(q::<i64>(&mut con, &["SLOWLOG", "LEN"]), 2);
}
