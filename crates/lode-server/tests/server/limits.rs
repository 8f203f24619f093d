//! Every named limit at the limit and one past it (the limits that close a client are in
//! client_limits.rs).

use crate::{TestServer, error_reply, fails, q, raw_exchange};
use lode_resp::{
    INLINE_BYTES_MAX, MULTIBULK_ARGS_MAX, PRE_AUTH_ARGS_MAX, PRE_AUTH_BULK_BYTES_MAX, Reply,
};
use std::io::Write;
use std::time::Duration;

#[test]
fn inline_line_at_the_limit_works_and_one_past_is_refused() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let arg = "a".repeat(INLINE_BYTES_MAX - 5);
    let (replies, _) = raw_exchange(&mut raw, format!("ECHO {arg}\n").as_bytes(), 1);
    assert_eq!(replies, vec![Reply::bulk(&arg)]);
    let mut raw = server.raw();
    let (replies, closed) = raw_exchange(&mut raw, format!("ECHO {arg}a\n").as_bytes(), 2);
    assert_eq!(replies, vec![error_reply("ERR Protocol error: too big inline request")]);
    assert!(closed);
}

#[test]
fn multibulk_args_at_the_limit_work_and_one_past_is_refused() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let mut req = format!("*{MULTIBULK_ARGS_MAX}\r\n$6\r\nEXISTS\r\n").into_bytes();
    req.extend(b"$1\r\na\r\n".repeat(MULTIBULK_ARGS_MAX - 1));
    let (replies, _) = raw_exchange(&mut raw, &req, 1);
    assert_eq!(replies, vec![Reply::Integer(0)]);
    let mut raw = server.raw();
    let (replies, closed) =
        raw_exchange(&mut raw, format!("*{}\r\n", MULTIBULK_ARGS_MAX + 1).as_bytes(), 2);
    assert_eq!(replies, vec![error_reply("ERR Protocol error: invalid multibulk length")]);
    assert!(closed);
}

#[test]
fn bulk_length_at_the_limit_is_awaited_and_one_past_is_refused() {
    let server = TestServer::start();
    let mut raw = server.raw();
    raw.write_all(format!("*2\r\n$4\r\nECHO\r\n${}\r\nabc", lode_resp::BULK_BYTES_MAX).as_bytes())
        .expect("write");
    raw.set_read_timeout(Some(Duration::from_millis(300))).expect("timeout");
    let mut byte = [0u8; 1];
    let err = std::io::Read::read(&mut raw, &mut byte)
        .expect_err("no reply while the bulk is incomplete");
    assert!(
        matches!(err.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
        "{err}"
    );
    let mut raw = server.raw();
    let (replies, closed) = raw_exchange(
        &mut raw,
        format!("*2\r\n$4\r\nECHO\r\n${}\r\n", lode_resp::BULK_BYTES_MAX + 1).as_bytes(),
        2,
    );
    assert_eq!(replies, vec![error_reply("ERR Protocol error: invalid bulk length")]);
    assert!(closed);
}

#[test]
fn pre_auth_limits_at_and_past_the_limit() {
    let server = TestServer::with(|c| c.requirepass = Some("pw".into()));
    let frame = |args: usize, bulk: usize| {
        let mut out = format!("*{args}\r\n$6\r\nEXISTS\r\n").into_bytes();
        for _ in 1..args {
            out.extend(format!("${bulk}\r\n").as_bytes());
            out.extend(std::iter::repeat_n(b'k', bulk));
            out.extend(b"\r\n");
        }
        out
    };
    let noauth = error_reply("NOAUTH Authentication required.");
    let mut raw = server.raw();
    let (replies, _) =
        raw_exchange(&mut raw, &frame(PRE_AUTH_ARGS_MAX, PRE_AUTH_BULK_BYTES_MAX), 1);
    assert_eq!(replies, vec![noauth.clone()]);
    let mut raw = server.raw();
    let (replies, closed) = raw_exchange(&mut raw, &frame(PRE_AUTH_ARGS_MAX + 1, 1), 2);
    assert_eq!(replies, vec![error_reply("ERR Protocol error: unauthenticated multibulk length")]);
    assert!(closed);
    let mut raw = server.raw();
    let (replies, closed) = raw_exchange(&mut raw, &frame(2, PRE_AUTH_BULK_BYTES_MAX + 1), 2);
    assert_eq!(replies, vec![error_reply("ERR Protocol error: unauthenticated bulk length")]);
    assert!(closed);
    // After AUTH the full limits apply on the same connection.
    let mut raw = server.raw();
    let mut req = b"AUTH pw\r\n".to_vec();
    req.extend(frame(PRE_AUTH_ARGS_MAX + 1, PRE_AUTH_BULK_BYTES_MAX + 1));
    let (replies, _) = raw_exchange(&mut raw, &req, 2);
    assert_eq!(replies[0], Reply::ok());
    assert_eq!(replies[1], Reply::Integer(0));
}

#[test]
fn key_length_at_the_limit_works_and_one_past_is_refused() {
    let server = TestServer::start();
    let mut con = server.client();
    let key = "k".repeat(lode_server::USER_KEY_BYTES_MAX);
    assert_eq!(q::<String>(&mut con, &["SET", &key, "v"]), "OK");
    assert_eq!(q::<String>(&mut con, &["GET", &key]), "v");
    assert_eq!(q::<i64>(&mut con, &["EXPIRE", &key, "100"]), 1);
    let long = format!("{key}k");
    assert_eq!(
        fails(&mut con, &["SET", &long, "v"]),
        "ERR key is too long (Lode's limit is 65526 bytes)"
    );
    assert_eq!(q::<Option<String>>(&mut con, &["GET", &long]), None);
}
