//! End-to-end tests of `lode serve`: a server started in-process on 127.0.0.1 port 0 with a
//! temporary data directory, driven by the `redis` crate (and by raw sockets for bad input).
//! Readiness needs no waiting: `start` returns once the listener is bound.

mod auth;
mod client_limits;
mod collections;
mod connection;
mod databases;
mod durability;
mod hashes;
mod keys;
mod krange;
mod limits;
mod lists;
mod metrics;
mod protocol;
mod server_commands;
mod sets;
mod slowlog;
mod strings;
mod transactions;
mod zsets;

use lode_server::{Config, ServerHandle};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A server running on its own tokio runtime, stopped (and its engine closed) on drop.
#[derive(Debug)]
pub struct TestServer {
    pub addr: SocketAddr,
    /// The Prometheus endpoint, when `Config::metrics_port` is set.
    pub metrics: Option<SocketAddr>,
    pub dir: tempfile::TempDir,
    runtime: Option<tokio::runtime::Runtime>,
    handle: Option<ServerHandle>,
}

impl TestServer {
    pub fn start() -> TestServer {
        TestServer::with(|_| {})
    }

    pub fn with(tune: impl FnOnce(&mut Config)) -> TestServer {
        TestServer::in_dir(tempfile::tempdir().expect("tempdir"), tune)
    }

    pub fn in_dir(dir: tempfile::TempDir, tune: impl FnOnce(&mut Config)) -> TestServer {
        let mut config = Config {
            port: 0,
            dir: dir.path().to_path_buf(),
            cache_bytes: 8 << 20,
            memtable_bytes: 4 << 20,
            ..Config::default()
        };
        tune(&mut config);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let handle = runtime.block_on(lode_server::start(config)).expect("server starts");
        TestServer {
            addr: handle.local_addr(),
            metrics: handle.metrics_addr(),
            dir,
            runtime: Some(runtime),
            handle: Some(handle),
        }
    }

    pub fn url(&self) -> String {
        format!("redis://{}/", self.addr)
    }

    pub fn client(&self) -> redis::Connection {
        redis::Client::open(self.url()).expect("url").get_connection().expect("connect")
    }

    pub fn client_resp3(&self) -> redis::Connection {
        redis::Client::open(format!("{}?protocol=resp3", self.url()))
            .expect("url")
            .get_connection()
            .expect("connect")
    }

    /// A raw socket with a read timeout, for bytes no client library would send.
    pub fn raw(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
        s
    }

    /// Stops the server and waits until its engine is closed; returns the data directory.
    pub fn stop(mut self) -> tempfile::TempDir {
        self.shutdown();
        let dir = tempfile::tempdir().expect("tempdir");
        std::mem::replace(&mut self.dir, dir)
    }

    /// Waits (bounded) for the server to stop by itself (SHUTDOWN).
    pub fn wait_stopped(mut self) {
        let (rt, handle) = (self.runtime.take().expect("rt"), self.handle.take().expect("handle"));
        rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(20), handle.wait())
                .await
                .expect("server stops in time")
                .expect("clean stop");
        });
    }

    fn shutdown(&mut self) {
        if let (Some(rt), Some(handle)) = (self.runtime.take(), self.handle.take()) {
            handle.shutdown();
            rt.block_on(handle.wait()).expect("clean stop");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The full error text (`PREFIX rest`) of a failed command.
pub fn err_text(e: &redis::RedisError) -> String {
    match (e.code(), e.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        (Some(code), None) => code.to_string(),
        _ => e.to_string(),
    }
}

/// Runs a command expected to fail; returns its error text.
pub fn fails(con: &mut redis::Connection, args: &[&str]) -> String {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    match cmd.query::<redis::Value>(con) {
        Ok(v) => panic!("{args:?} succeeded with {v:?}"),
        Err(e) => err_text(&e),
    }
}

/// Runs a command, converting its reply.
pub fn q<T: redis::FromRedisValue>(con: &mut redis::Connection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(con).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// Sends raw bytes and reads replies until `n` whole replies arrived or the server closed.
pub fn raw_exchange(
    stream: &mut TcpStream,
    bytes: &[u8],
    n: usize,
) -> (Vec<lode_resp::Reply>, bool) {
    stream.write_all(bytes).expect("write");
    read_replies(stream, n)
}

/// Reads `n` replies (fewer if the connection closes); the bool says whether it closed.
pub fn read_replies(stream: &mut TcpStream, n: usize) -> (Vec<lode_resp::Reply>, bool) {
    let mut buf = Vec::new();
    let mut replies = Vec::new();
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        while replies.len() < n {
            match lode_resp::decode_reply(&buf).expect("well-formed reply") {
                Some((reply, used)) => {
                    replies.push(reply);
                    buf.drain(..used);
                }
                None => break,
            }
        }
        if replies.len() >= n {
            return (replies, false);
        }
        match stream.read(&mut chunk) {
            Ok(0) => return (replies, true),
            Ok(k) => buf.extend_from_slice(&chunk[..k]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return (replies, true),
            Err(e) => panic!("read: {e}"),
        }
    }
}

/// Polls `check` until it holds, for at most `limit` (background work with a wall-clock
/// deadline, such as key expiry, cannot be awaited any other way).
pub fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    check()
}

pub fn error_reply(text: &str) -> lode_resp::Reply {
    lode_resp::Reply::error(text.to_string())
}
