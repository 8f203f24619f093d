//! Starting the real `lode serve` for a test: a free loopback port, readiness read from its
//! log (the "ready to accept connections" line), not guessed by retrying or sleeping, and a
//! guard that kills the server if the test fails before stopping it.

#![allow(dead_code)] // each test binary uses its own part of this module

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// How long a starting server may take (recovery of a large WAL included).
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A free port on 127.0.0.1 (bound, then released for the server to take).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// What the log reader has seen.
#[derive(Debug, Default)]
struct Log {
    text: String,
    ready: bool,
    /// The server closed its stderr: it has exited (or is exiting).
    closed: bool,
}

/// A running `lode serve`; killed on drop if it is still running.
#[derive(Debug)]
pub struct Server {
    child: Child,
    log: Arc<(Mutex<Log>, Condvar)>,
}

impl Server {
    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the server has logged so far.
    pub fn log(&self) -> String {
        self.log.0.lock().expect("log").text.clone()
    }

    /// Waits until the log holds `text` (a line the server logs when something happened in
    /// the background, such as a finished compaction). Panics after `timeout`.
    pub fn wait_log(&self, text: &str, timeout: Duration) {
        let (lock, cv) = &*self.log;
        let log = lock.lock().expect("log");
        let (log, waited) = cv
            .wait_timeout_while(log, timeout, |l| !l.text.contains(text) && !l.closed)
            .expect("log");
        assert!(
            !waited.timed_out() && log.text.contains(text),
            "lode serve never logged {text:?} within {timeout:?}:\n{}",
            log.text
        );
    }

    /// kill -9, and reap it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the server to exit by itself (after SHUTDOWN, say): its closing stderr says
    /// so. Panics after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let (lock, cv) = &*self.log;
        let log = lock.lock().expect("log");
        let (log, waited) = cv.wait_timeout_while(log, timeout, |l| !l.closed).expect("log");
        assert!(!waited.timed_out(), "lode serve did not exit within {timeout:?}");
        drop(log);
        self.child.wait().expect("reap lode serve")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
    }
}

/// Starts `lode serve --port PORT --dir DIR ARGS...` with `RUST_LOG=info` (the binary's
/// default level, set so a developer's own RUST_LOG cannot hide the ready line) and waits for its ready line. `Err` with its log when it
/// exits first. Its stderr keeps being read, so it never blocks on a full pipe.
pub fn start(dir: &Path, port: u16, args: &[&str]) -> Result<Server, String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lode"))
        .args(["serve", "--port", &port.to_string()])
        .args(args)
        .arg("--dir")
        .arg(dir)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn lode serve");
    let stderr = child.stderr.take().expect("stderr");
    let log: Arc<(Mutex<Log>, Condvar)> = Arc::default();
    let reader = Arc::clone(&log);
    std::thread::spawn(move || {
        let (lock, cv) = &*reader;
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let mut l = lock.lock().expect("log");
            l.ready |= line.contains("ready to accept connections");
            l.text.push_str(&line);
            l.text.push('\n');
            cv.notify_all();
        }
        lock.lock().expect("log").closed = true;
        cv.notify_all();
    });
    let mut server = Server { child, log };
    let (lock, cv) = &*server.log;
    let state = lock.lock().expect("log");
    let (state, waited) =
        cv.wait_timeout_while(state, START_TIMEOUT, |l| !l.ready && !l.closed).expect("log");
    if waited.timed_out() {
        drop(state);
        panic!("lode serve neither became ready nor exited within {START_TIMEOUT:?}");
    }
    if !state.ready {
        let text = state.text.clone();
        drop(state);
        let _ = server.child.wait();
        return Err(text);
    }
    drop(state);
    Ok(server)
}

/// A connection to a server that [`start`] saw ready.
pub fn connect(port: u16) -> redis::Connection {
    redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .expect("url")
        .get_connection()
        .expect("connect to a ready server")
}
