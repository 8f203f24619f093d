//! Starting the real `lode serve` for a test: a free loopback port, and readiness read from
//! its log (the "ready to accept connections" line), not guessed by retrying or sleeping.

#![allow(dead_code)] // each test binary uses its own part of this module

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long a starting server may take (recovery of a large WAL included).
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A free port on 127.0.0.1 (bound, then released for the server to take).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// Starts `lode serve --port PORT --dir DIR ARGS...` and waits for its ready line. `Err` with
/// its log when it exits first. Its log keeps being drained so it never blocks on stderr.
pub fn start(dir: &Path, port: u16, args: &[&str]) -> Result<Child, String> {
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
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut log = String::new();
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if line.contains("ready to accept connections") {
                let _ = tx.send(Ok(()));
            }
            log.push_str(&line);
            log.push('\n');
        }
        let _ = tx.send(Err(log));
    });
    match rx.recv_timeout(START_TIMEOUT) {
        Ok(Ok(())) => Ok(child),
        Ok(Err(log)) => {
            let _ = child.wait();
            Err(log)
        }
        Err(_) => {
            let _ = child.kill();
            panic!("lode serve neither became ready nor exited within {START_TIMEOUT:?}");
        }
    }
}

/// A connection to a server that [`start`] saw ready.
pub fn connect(port: u16) -> redis::Connection {
    redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .expect("url")
        .get_connection()
        .expect("connect to a ready server")
}
