//! The Prometheus endpoint (`Config::metrics_port`): off by default; when on, `GET /metrics`
//! over plain HTTP returns OpenMetrics text whose counters move by exactly what the clients
//! did, and whose engine numbers follow the engine.

use crate::{TestServer, eventually, q, raw_exchange};
use lode_server::limits::{METRICS_CONNECTIONS_MAX, METRICS_REQUEST_BYTES_MAX};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

fn with_metrics() -> TestServer {
    TestServer::with(|c| c.metrics_port = Some(0))
}

/// Sends `request` and reads the whole response (the server closes after one).
fn http(addr: SocketAddr, request: &[u8]) -> (String, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    s.write_all(request).expect("write");
    let mut response = Vec::new();
    s.read_to_end(&mut response).expect("read");
    let text = String::from_utf8(response).expect("utf-8");
    let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
    (head.to_string(), body.to_string())
}

/// One family's samples by series (`name{labels}`), after checking the text is well-formed
/// OpenMetrics: every sample line is `name{labels} value` under a `# TYPE` of its family, and
/// the text ends with `# EOF`.
fn parse(text: &str) -> BTreeMap<String, f64> {
    assert!(text.ends_with("\n# EOF\n"), "no EOF marker: {text}");
    let mut families: Vec<(String, String)> = Vec::new();
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix("# ") {
            let mut words = comment.splitn(3, ' ');
            match (words.next(), words.next(), words.next()) {
                (Some("TYPE"), Some(name), Some(kind)) => {
                    assert!(
                        ["counter", "gauge", "histogram"].contains(&kind),
                        "type {kind} in {line}"
                    );
                    families.push((name.to_string(), kind.to_string()));
                }
                (Some("HELP" | "UNIT"), Some(_), Some(_)) | (Some("EOF"), None, None) => {}
                _ => panic!("unexpected comment line {line:?}"),
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value: {line}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("bad value in {line:?}"));
        let name_end = series.find('{').unwrap_or(series.len());
        let name = &series[..name_end];
        assert!(
            !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                && !name.starts_with(|c: char| c.is_ascii_digit()),
            "bad metric name in {line:?}"
        );
        assert!(name.starts_with("lode_"), "{line}");
        if name_end < series.len() {
            let labels = &series[name_end..];
            assert!(labels.starts_with('{') && labels.ends_with('}'), "bad labels in {line:?}");
            for pair in labels[1..labels.len() - 1].split(',') {
                let (key, quoted) = pair.split_once('=').unwrap_or_else(|| panic!("{line}"));
                assert!(key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{line}");
                assert!(quoted.len() >= 2 && quoted.starts_with('"') && quoted.ends_with('"'));
            }
        }
        let (family, kind) = families.last().unwrap_or_else(|| panic!("no TYPE before {line}"));
        let suffixes: &[&str] = match kind.as_str() {
            "counter" => &["_total"],
            "histogram" => &["_bucket", "_sum", "_count"],
            _ => &[""],
        };
        assert!(
            suffixes.iter().any(|s| name.strip_suffix(s) == Some(family.as_str())),
            "{name} is not a sample of the family {family} ({kind})"
        );
        assert!(samples.insert(series.to_string(), value).is_none(), "series twice: {line}");
    }
    samples
}

fn scrape(addr: SocketAddr) -> BTreeMap<String, f64> {
    let (head, body) = http(addr, b"GET /metrics HTTP/1.1\r\nHost: lode\r\n\r\n");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.contains("Content-Type: application/openmetrics-text; version=1.0.0; charset=utf-8"),
        "{head}"
    );
    assert!(head.contains(&format!("Content-Length: {}\r\n", body.len())), "{head}");
    parse(&body)
}

fn value(samples: &BTreeMap<String, f64>, series: &str) -> f64 {
    samples.get(series).copied().unwrap_or(0.0)
}

#[test]
fn metrics_endpoint_is_off_by_default() {
    assert_eq!(lode_server::Config::default().metrics_port, None);
    let server = TestServer::start();
    assert_eq!(server.metrics, None, "no endpoint unless a metrics port is set");
    let mut con = server.client();
    let got: Vec<String> = q(&mut con, &["CONFIG", "GET", "metrics-port"]);
    assert_eq!(got, ["metrics-port", "0"]);
}

#[test]
fn metrics_count_commands_errors_latency_clients_and_bytes() {
    let server = with_metrics();
    let addr = server.metrics.expect("metrics endpoint on");
    assert_eq!(addr.ip(), server.addr.ip(), "bound to the server's bind address");
    // The raw client is the only client, so the byte counters' moves are exact.
    let mut raw = server.raw();
    let (replies, _) =
        raw_exchange(&mut raw, b"*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$12\r\nmetrics-port\r\n", 1);
    let port = lode_resp::Reply::bulk(addr.port().to_string());
    assert_eq!(
        replies[0],
        lode_resp::Reply::Array(vec![lode_resp::Reply::bulk("metrics-port"), port])
    );
    let before = scrape(addr);
    let (mut sent, mut received) = (0, 0);
    let mut exchange = |request: &[u8], reply: &[u8]| {
        let (replies, closed) = raw_exchange(&mut raw, request, 1);
        assert!(!closed && replies.len() == 1);
        let mut encoded = bytes::BytesMut::new();
        replies[0].encode(lode_resp::Protocol::Resp2, &mut encoded);
        assert_eq!(&encoded[..], reply, "{}", String::from_utf8_lossy(&encoded));
        sent += request.len();
        received += reply.len();
    };
    for _ in 0..5 {
        exchange(b"*1\r\n$4\r\nPING\r\n", b"+PONG\r\n");
    }
    for i in 0..3 {
        exchange(format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\n{i}\r\n").as_bytes(), b"+OK\r\n");
    }
    exchange(b"*1\r\n$3\r\nGET\r\n", b"-ERR wrong number of arguments for 'get' command\r\n");
    exchange(b"*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n", b":3\r\n");
    exchange(b"*3\r\n$6\r\nAPPEND\r\n$1\r\nk\r\n$1\r\nx\r\n", b":2\r\n");
    exchange(
        b"*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n",
        b"-ERR value is not an integer or out of range\r\n",
    );
    exchange(
        b"*1\r\n$6\r\nNOSUCH\r\n",
        b"-ERR unknown command 'NOSUCH', with args beginning with: \r\n",
    );
    let after = scrape(addr);
    let delta = |series: &str| value(&after, series) - value(&before, series);

    assert_eq!(delta("lode_commands_total{command=\"ping\"}"), 5.0);
    assert_eq!(delta("lode_commands_total{command=\"set\"}"), 3.0);
    assert_eq!(delta("lode_commands_total{command=\"incr\"}"), 2.0);
    assert_eq!(delta("lode_commands_total{command=\"get\"}"), 0.0, "refused, not run");
    assert_eq!(delta("lode_command_errors_total{command=\"get\"}"), 1.0);
    assert_eq!(delta("lode_command_errors_total{command=\"incr\"}"), 1.0);
    assert_eq!(delta("lode_command_errors_total{command=\"unknown\"}"), 1.0);
    assert_eq!(delta("lode_command_errors_total{command=\"set\"}"), 0.0);

    let count = "lode_command_duration_seconds_count{command=\"set\"}";
    assert_eq!(delta(count), 3.0);
    assert_eq!(
        value(&after, "lode_command_duration_seconds_bucket{le=\"+Inf\",command=\"set\"}"),
        value(&after, count)
    );
    let buckets: Vec<f64> = after
        .iter()
        .filter(|(k, _)| {
            k.starts_with("lode_command_duration_seconds_bucket{")
                && k.ends_with(",command=\"set\"}")
        })
        .map(|(_, v)| *v)
        .collect();
    assert_eq!(buckets.len(), 17, "16 bounds and +Inf");
    assert!(value(&after, "lode_command_duration_seconds_sum{command=\"set\"}") > 0.0);

    assert_eq!(delta("lode_net_read_bytes_total"), sent as f64);
    assert_eq!(delta("lode_net_written_bytes_total"), received as f64);
    assert_eq!(value(&after, "lode_connected_clients"), 1.0, "scrapes are not clients");
    assert_eq!(value(&after, "lode_connections_received_total"), 1.0);
    assert_eq!(value(&after, "lode_connections_rejected_total"), 0.0);
}

#[test]
fn metrics_follow_the_engine_through_writes_flushes_and_compactions() {
    let server = with_metrics();
    let addr = server.metrics.expect("metrics endpoint on");
    let mut con = server.client();
    let first = scrape(addr);
    assert_eq!(value(&first, "lode_flushes_total"), 0.0);
    for round in 0..4 {
        for i in 0..50 {
            let _: String = q(&mut con, &["SET", &format!("key{i}"), &format!("value{round}")]);
        }
        let written = scrape(addr);
        assert!(value(&written, "lode_memory_bytes{component=\"memtables\"}") > 0.0);
        let info: String = q(&mut con, &["INFO", "persistence"]);
        let wal: f64 = info
            .lines()
            .find_map(|l| l.strip_prefix("lode_wal_bytes_written:"))
            .and_then(|v| v.parse().ok())
            .expect("INFO has lode_wal_bytes_written");
        assert_eq!(value(&written, "lode_wal_written_bytes_total"), wal, "as INFO says");
        assert!(wal > 0.0);
        let _: String = q(&mut con, &["SAVE"]);
        if round == 0 {
            let saved = scrape(addr);
            assert_eq!(value(&saved, "lode_flushes_total"), 1.0);
            assert!(value(&saved, "lode_flush_written_bytes_total") > 0.0);
            assert_eq!(value(&saved, "lode_level_files{level=\"0\"}"), 1.0);
            assert!(value(&saved, "lode_level_bytes{level=\"0\"}") > 0.0);
        }
    }
    // Four L0 files make the background compaction run (nothing to wait on from outside but
    // its counters: poll with a deadline).
    let compacted = eventually(Duration::from_secs(30), || {
        value(&scrape(addr), "lode_compactions_total") >= 1.0
    });
    assert!(compacted, "no compaction after four flushes");
    let done = scrape(addr);
    assert!(value(&done, "lode_compaction_read_bytes_total") > 0.0);
    assert!(value(&done, "lode_compaction_written_bytes_total") > 0.0);
    assert!(done.contains_key("lode_write_stall_seconds_total"));
    assert!(done.contains_key("lode_block_cache_hits_total"));
    assert!(done.contains_key("lode_pending_compaction_bytes"));
}

#[test]
fn metrics_endpoint_answers_other_requests_with_http_errors() {
    let server = with_metrics();
    let addr = server.metrics.expect("metrics endpoint on");
    let status =
        |request: &[u8]| http(addr, request).0.lines().next().unwrap_or_default().to_string();
    assert_eq!(status(b"GET / HTTP/1.1\r\n\r\n"), "HTTP/1.1 404 Not Found");
    assert_eq!(status(b"POST /metrics HTTP/1.1\r\n\r\n"), "HTTP/1.1 405 Method Not Allowed");
    assert_eq!(status(b"hello\r\n\r\n"), "HTTP/1.1 400 Bad Request");
    assert_eq!(status(b"GET /metrics?name=x HTTP/1.0\r\n\r\n"), "HTTP/1.1 200 OK");
    let (head, body) = http(addr, b"HEAD /metrics HTTP/1.1\r\n\r\n");
    assert!(head.starts_with("HTTP/1.1 200 OK") && body.is_empty(), "{head}");

    let request = |len: usize| {
        let mut r = b"GET /metrics HTTP/1.1\r\nX-Pad: ".to_vec();
        r.resize(len - 4, b'a');
        r.extend_from_slice(b"\r\n\r\n");
        r
    };
    assert_eq!(status(&request(METRICS_REQUEST_BYTES_MAX)), "HTTP/1.1 200 OK");
    assert_eq!(
        status(&request(METRICS_REQUEST_BYTES_MAX + 1)),
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
}

#[test]
fn metrics_endpoint_serves_at_most_its_connection_limit() {
    let server = with_metrics();
    let addr = server.metrics.expect("metrics endpoint on");
    // Connections that never send a request each hold a slot (until the request timeout).
    let mut idle: Vec<TcpStream> = (0..METRICS_CONNECTIONS_MAX - 1)
        .map(|_| TcpStream::connect(addr).expect("connect"))
        .collect();
    // The listener accepts in order: this is the last slot. The scraper keeps its connection
    // open after the answer, so the server still holds the slot (it waits for the close):
    // a scrape that closed could free the slot at any moment and make the next step racy.
    let mut last = TcpStream::connect(addr).expect("connect");
    last.write_all(b"GET /metrics HTTP/1.1\r\nHost: lode\r\n\r\n").expect("send");
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("lode_connected_clients") {
        let n = last.read(&mut chunk).expect("read");
        assert!(n > 0, "the scrape at the limit was closed unanswered");
        got.extend_from_slice(&chunk[..n]);
    }
    assert!(got.starts_with(b"HTTP/1.1 200 OK\r\n"));
    idle.push(last);
    // One past the limit is answered at once (it need not send its request: had it sent one,
    // closing with the request unread could reset the connection before the answer arrives).
    let mut past = TcpStream::connect(addr).expect("connect");
    past.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    let mut answer = String::new();
    past.read_to_string(&mut answer).expect("read");
    assert!(answer.starts_with("HTTP/1.1 503 Service Unavailable\r\n"), "{answer}");
    drop(idle);
}

#[test]
fn metrics_count_refused_connections() {
    let server = TestServer::with(|c| {
        c.metrics_port = Some(0);
        c.maxclients = 1;
    });
    let addr = server.metrics.expect("metrics endpoint on");
    let mut first = server.raw();
    let (replies, _) = raw_exchange(&mut first, b"PING\r\n", 1);
    assert_eq!(replies, [lode_resp::Reply::simple("PONG")]);
    let mut second = server.raw();
    let (replies, _) = crate::read_replies(&mut second, 1);
    assert_eq!(replies, [crate::error_reply("ERR max number of clients reached")]);
    let samples = scrape(addr);
    assert_eq!(value(&samples, "lode_connections_received_total"), 2.0);
    assert_eq!(value(&samples, "lode_connections_rejected_total"), 1.0);
    assert_eq!(value(&samples, "lode_connected_clients"), 1.0);
}
