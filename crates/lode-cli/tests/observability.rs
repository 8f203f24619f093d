//! What an operator of the real `lode serve` sees: no metrics listener unless
//! `--metrics-port` is given; with it, Prometheus text at `/metrics`; and, at the default log
//! level, one stderr line per flush and per compaction with its sizes.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use support::{Server, connect, free_port};

fn spawn(dir: &std::path::Path, port: u16, extra: &[&str]) -> Server {
    let mut args = vec!["--memtable-size", "1mb"];
    args.extend_from_slice(extra);
    support::start(&dir.join("data"), port, &args)
        .unwrap_or_else(|log| panic!("lode serve did not start:\n{log}"))
}

/// SHUTDOWN, then the exit status (bounded wait).
fn shutdown(mut con: redis::Connection, mut server: Server) -> (std::process::ExitStatus, String) {
    let _ = redis::cmd("SHUTDOWN").query::<()>(&mut con);
    let status = server.wait_exit(Duration::from_secs(60));
    (status, server.log())
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
    let server = spawn(dir.path(), port, &[]);
    let pid = server.pid();
    let con = connect(port);
    assert_eq!(listeners_of(pid), 1, "only the RESP listener");
    let (status, log) = shutdown(con, server);
    assert!(status.success(), "{status}");
    assert!(!log.contains("metrics"), "{log}");
}

#[test]
fn serve_with_metrics_port_serves_metrics_and_logs_flushes_and_compactions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (port, metrics_port) = (free_port(), free_port());
    let server = spawn(dir.path(), port, &["--metrics-port", &metrics_port.to_string()]);
    let pid = server.pid();
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
    // The compaction the four flushes trigger runs in the background; its log line says when
    // it is done, and then the counter must show it.
    server.wait_log("compaction finished", Duration::from_secs(30));
    let response = scrape(metrics_port);
    assert!(response.contains("\nlode_compactions_total 1\n"), "{response}");

    let (status, log) = shutdown(con, server);
    assert!(status.success(), "{status}");
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
