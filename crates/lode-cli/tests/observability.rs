//! What an operator of the real `lode serve` sees: no metrics listener unless
//! `--metrics-port` is given; with it, Prometheus text at `/metrics`; and, at the default log
//! level, one stderr line per flush and per compaction with its sizes.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn spawn(dir: &Path, port: u16, extra: &[&str]) -> Child {
    let stderr = File::create(dir.join("stderr.log")).expect("log file");
    Command::new(env!("CARGO_BIN_EXE_lode"))
        .args(["serve", "--port", &port.to_string(), "--memtable-size", "1mb"])
        .args(extra)
        .arg("--dir")
        .arg(dir.join("data"))
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::from(stderr))
        .spawn()
        .expect("spawn lode serve")
}

/// A connection that has had a PING answered: the server is past binding every listener.
fn connect(port: u16) -> redis::Connection {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).expect("url");
    let start = Instant::now();
    loop {
        let attempt = client
            .get_connection()
            .and_then(|mut con| redis::cmd("PING").query::<String>(&mut con).map(|_| con));
        match attempt {
            Ok(con) => return con,
            Err(e) => {
                assert!(start.elapsed() < Duration::from_secs(30), "server never came up: {e}");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// SHUTDOWN, then the exit status (bounded wait).
fn shutdown(mut con: redis::Connection, child: Child) -> ExitStatus {
    let _ = redis::cmd("SHUTDOWN").query::<()>(&mut con);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut child = child;
        let _ = tx.send(child.wait());
    });
    rx.recv_timeout(Duration::from_secs(60)).expect("exits after SHUTDOWN").expect("wait")
}

/// Inodes of the TCP sockets in LISTEN state on this machine.
fn listening_inodes() -> Vec<String> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else { continue };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() > 9 && fields[3] == "0A" {
                inodes.push(fields[9].to_string());
            }
        }
    }
    inodes
}

/// How many listening TCP sockets the process `pid` holds.
fn listeners_of(pid: u32) -> usize {
    let listening = listening_inodes();
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("the child's fds")
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter_map(|target| {
            let t = target.to_string_lossy().into_owned();
            Some(t.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
        })
        .filter(|inode| listening.contains(inode))
        .count()
}

fn scrape(port: u16) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("metrics connect");
    s.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: lode\r\n\r\n").expect("write");
    let mut response = String::new();
    s.read_to_string(&mut response).expect("read");
    response
}

#[test]
fn serve_has_no_metrics_listener_without_the_flag() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let child = spawn(dir.path(), port, &[]);
    let pid = child.id();
    let con = connect(port);
    assert_eq!(listeners_of(pid), 1, "only the RESP listener");
    assert!(shutdown(con, child).success());
    let log = std::fs::read_to_string(dir.path().join("stderr.log")).expect("log");
    assert!(!log.contains("metrics"), "{log}");
}

#[test]
fn serve_with_metrics_port_serves_metrics_and_logs_flushes_and_compactions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (port, metrics_port) = (free_port(), free_port());
    let child = spawn(dir.path(), port, &["--metrics-port", &metrics_port.to_string()]);
    let pid = child.id();
    let mut con = connect(port);
    assert_eq!(listeners_of(pid), 2, "the RESP listener and the metrics listener");
    // Four flushes (SAVE) make L0 reach its compaction trigger.
    for round in 0..4 {
        for i in 0..100 {
            let (): () = redis::cmd("SET")
                .arg(format!("key{i}"))
                .arg(format!("value{round}"))
                .query(&mut con)
                .expect("set");
        }
        let (): () = redis::cmd("SAVE").query(&mut con).expect("save");
    }

    let response = scrape(metrics_port);
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.contains("\nlode_commands_total{command=\"set\"} 400\n"), "{response}");
    assert!(response.contains("\nlode_flushes_total 4\n"), "{response}");
    assert!(response.ends_with("# EOF\n"));
    // The compaction the four flushes trigger runs in the background: nothing to wait on from
    // outside but its counter, so poll it (bounded).
    let start = Instant::now();
    while !scrape(metrics_port).contains("\nlode_compactions_total 1\n") {
        assert!(start.elapsed() < Duration::from_secs(30), "no compaction after four flushes");
        std::thread::sleep(Duration::from_millis(20));
    }

    let status = shutdown(con, child);
    assert!(status.success(), "{status}");
    let log = std::fs::read_to_string(dir.path().join("stderr.log")).expect("log");
    assert!(
        log.contains(&format!("Prometheus metrics at http://127.0.0.1:{metrics_port}/metrics")),
        "{log}"
    );
    let flushes: Vec<&str> = log.lines().filter(|l| l.contains("flush finished")).collect();
    assert!(flushes.len() >= 4, "{log}");
    for line in &flushes {
        assert!(line.contains("INFO"), "{line}");
        for field in ["memtable_bytes=", "sst_bytes=", "entries=", "file=", "duration="] {
            assert!(line.contains(field), "{field} missing in {line}");
        }
    }
    let compaction = log
        .lines()
        .find(|l| l.contains("compaction finished"))
        .unwrap_or_else(|| panic!("no compaction line in {log}"));
    for field in [
        "from_level=0",
        "to_level=",
        "input_files=4",
        "input_bytes=",
        "output_files=",
        "output_bytes=",
        "reason=\"l0-files\"",
        "duration=",
    ] {
        assert!(compaction.contains(field), "{field} missing in {compaction}");
    }
}
