//! Bad input: random bytes, huge declared lengths, truncated and nested frames, a million tiny
//! pipelined commands. The server answers with Redis's error and closes where Redis closes,
//! and keeps serving everyone else with bounded memory.

use crate::{TestServer, error_reply, q, raw_exchange, read_replies};
use lode_resp::Reply;
use rand::Rng;
use std::io::Write;
use std::time::{Duration, Instant};

fn still_serving(server: &TestServer) {
    let mut con = server.client();
    assert_eq!(q::<String>(&mut con, &["SET", "alive", "yes"]), "OK");
    assert_eq!(q::<String>(&mut con, &["GET", "alive"]), "yes");
}

#[test]
fn protocol_errors_answer_once_then_close() {
    let server = TestServer::start();
    let cases: &[(&[u8], &str)] = &[
        (b"*99999999999\r\n", "ERR Protocol error: invalid multibulk length"),
        (b"*1\r\n$2000000000\r\n", "ERR Protocol error: invalid bulk length"),
        (b"*1\r\n$-1\r\n", "ERR Protocol error: invalid bulk length"),
        (b"*x\r\n", "ERR Protocol error: invalid multibulk length"),
        (b"*1\r\n*1\r\n$4\r\nPING\r\n", "ERR Protocol error: expected '$', got '*'"),
        (b"SET \"a b\r\n", "ERR Protocol error: unbalanced quotes in request"),
    ];
    for (bytes, error) in cases {
        let mut raw = server.raw();
        let (replies, closed) = raw_exchange(&mut raw, bytes, 2);
        assert_eq!(replies, vec![error_reply(error)], "{:?}", String::from_utf8_lossy(bytes));
        assert!(closed, "closed after a protocol error");
    }
    // Requests before the bad frame are answered first.
    let mut raw = server.raw();
    let (replies, closed) = raw_exchange(&mut raw, b"PING\r\n*1\r\nx\r\n", 3);
    assert_eq!(
        replies,
        vec![Reply::simple("PONG"), error_reply("ERR Protocol error: expected '$', got 'x'")]
    );
    assert!(closed);
    // `*0`, `*-1` and empty lines are skipped, as in Redis.
    let mut raw = server.raw();
    let (replies, _) = raw_exchange(&mut raw, b"*0\r\n*-1\r\n\r\n\r\nPING\r\n", 1);
    assert_eq!(replies, vec![Reply::simple("PONG")]);
    still_serving(&server);
}

#[test]
fn truncated_frames_wait_and_a_closed_half_frame_is_dropped() {
    let server = TestServer::start();
    for bytes in [&b"*2\r\n$3\r\nGET\r\n$1"[..], b"*3\r\n$3\r\nSET\r\n", b"*1\r\n$4\r\nPI", b"PIN"]
    {
        let mut raw = server.raw();
        raw.write_all(bytes).expect("write");
        raw.shutdown(std::net::Shutdown::Write).expect("half close");
        let (replies, closed) = read_replies(&mut raw, 1);
        assert!(replies.is_empty() && closed, "{bytes:?}: {replies:?}");
    }
    // A frame split across many writes is decoded the same.
    let mut raw = server.raw();
    for b in b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n" {
        raw.write_all(&[*b]).expect("write");
    }
    let (replies, _) = read_replies(&mut raw, 1);
    assert_eq!(replies, vec![Reply::ok()]);
    still_serving(&server);
}

#[test]
fn random_bytes_never_hurt_the_server() {
    let seed = lode_testkit::Seed::new("random_bytes_never_hurt_the_server");
    let mut rng = seed.rng(0);
    let server = TestServer::start();
    for _ in 0..lode_testkit::iterations(40) {
        let len = rng.random_range(1..4096);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        match rng.random_range(0..3) {
            0 => bytes[0] = b'*',
            1 => bytes.splice(0..0, b"*2\r\n$".iter().copied()).for_each(drop),
            _ => {}
        }
        let mut raw = server.raw();
        let _ = raw.write_all(&bytes);
        let _ = raw.shutdown(std::net::Shutdown::Write);
        let _ = read_replies_lenient(&mut raw);
    }
    still_serving(&server);
}

/// Reads until the server closes, tolerating replies to whatever the random bytes said.
fn read_replies_lenient(raw: &mut std::net::TcpStream) -> usize {
    let mut total = 0;
    let mut chunk = [0u8; 8192];
    loop {
        match std::io::Read::read(raw, &mut chunk) {
            Ok(0) | Err(_) => return total,
            Ok(n) => total += n,
        }
    }
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()))
        .map_or(0, |pages| pages * 4096)
}

#[test]
fn a_million_pipelined_commands_with_bounded_memory_while_others_are_served() {
    const N: usize = 1_000_000;
    let server = TestServer::start();
    let rss_before = rss_bytes();
    let mut raw = server.raw();
    let mut writer = raw.try_clone().expect("clone");
    let started = Instant::now();
    let feeder = std::thread::spawn(move || {
        let chunk = b"PING\r\n".repeat(10_000);
        for _ in 0..N / 10_000 {
            writer.write_all(&chunk).expect("write pipeline");
        }
    });
    // Another client is served meanwhile.
    let mut other = server.client();
    for i in 0..200 {
        let (): () = redis::cmd("SET").arg("side").arg(i).query(&mut other).expect("side set");
    }
    let mut pongs = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    let mut tail = 0usize;
    while pongs < N {
        let n = std::io::Read::read(&mut raw, &mut buf[tail..]).expect("read pongs");
        assert!(n > 0, "server closed after {pongs} replies");
        let have = tail + n;
        let whole = have / 7;
        assert!(buf[..whole * 7].chunks(7).all(|c| c == b"+PONG\r\n"));
        pongs += whole;
        buf.copy_within(whole * 7..have, 0);
        tail = have - whole * 7;
        assert!(started.elapsed() < Duration::from_secs(300), "pipeline too slow: {pongs} replies");
    }
    feeder.join().expect("feeder");
    assert_eq!(pongs, N);
    let grew = rss_bytes().saturating_sub(rss_before);
    assert!(grew < 256 << 20, "RSS grew by {grew} bytes");
    still_serving(&server);
}
