//! The Prometheus endpoint: `GET /metrics` over HTTP/1.1 on `--metrics-port` (off unless set),
//! bound to the server's `bind` address, answering the OpenMetrics text of [`crate::metrics`].
//!
//! Just enough HTTP for a scraper: one request per connection (`Connection: close`), the
//! request head read up to [`METRICS_REQUEST_BYTES_MAX`] within [`METRICS_REQUEST_TIMEOUT`],
//! any body ignored; `GET` and `HEAD` of `/metrics` (a query string is ignored) get 200, other
//! paths 404, other methods 405, a head too long 431, anything unreadable 400; after the
//! answer, up to another [`METRICS_REQUEST_BYTES_MAX`] bytes are read and dropped until the
//! scraper closes, so the close does not reset the connection under its answer. At most
//! [`METRICS_CONNECTIONS_MAX`] scrapes are served at once; more are answered 503 and closed.
//! The request parser ([`parse_head`]) is a pure function of bytes.

use crate::limits::{METRICS_CONNECTIONS_MAX, METRICS_REQUEST_BYTES_MAX};
use crate::server::Shared;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// How long a scraper has to send its request head, and to take the reply.
pub(crate) const METRICS_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What a request head asks for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Head {
    /// No blank line yet, and still within the limit: read more.
    Incomplete,
    /// `GET /metrics` (`body` false for `HEAD`).
    Metrics { body: bool },
    /// A response without a scrape: status line and text.
    Refuse(u16, &'static str),
}

/// Reads what a request head in `buf` asks for.
pub(crate) fn parse_head(buf: &[u8]) -> Head {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n");
    let Some(end) = end.filter(|&e| e + 4 <= METRICS_REQUEST_BYTES_MAX) else {
        return if buf.len() >= METRICS_REQUEST_BYTES_MAX {
            Head::Refuse(431, "Request Header Fields Too Large")
        } else {
            Head::Incomplete
        };
    };
    let line = buf[..end].split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Head::Refuse(400, "Bad Request");
    };
    if !version.starts_with(b"HTTP/1.") {
        return Head::Refuse(400, "Bad Request");
    }
    let path = target.split(|&b| b == b'?').next().unwrap_or_default();
    if path != b"/metrics" {
        return Head::Refuse(404, "Not Found");
    }
    match method {
        b"GET" => Head::Metrics { body: true },
        b"HEAD" => Head::Metrics { body: false },
        _ => Head::Refuse(405, "Method Not Allowed"),
    }
}

fn response(status: u16, reason: &str, content_type: &str, body: &str, send_body: bool) -> Vec<u8> {
    let allow = if status == 405 { "Allow: GET, HEAD\r\n" } else { "" };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         {allow}Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if send_body {
        out.extend_from_slice(body.as_bytes());
    }
    out
}

fn refusal(status: u16, reason: &'static str) -> Vec<u8> {
    let body = match status {
        404 => "Not found: the metrics are at /metrics\n".to_string(),
        _ => format!("{reason}\n"),
    };
    response(status, reason, "text/plain; charset=utf-8", &body, true)
}

/// Accepts scrapers until shutdown.
pub(crate) async fn serve(shared: Arc<Shared>, listener: TcpListener) {
    let mut stop = shared.shutdown_signal();
    let mut scrapes = JoinSet::new();
    loop {
        tokio::select! {
            () = crate::server::stopped(&mut stop) => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) if scrapes.len() >= METRICS_CONNECTIONS_MAX => {
                    // Best effort: a scraper past the limit is told so without waiting on it.
                    let _ = stream.try_write(&refusal(503, "Service Unavailable"));
                }
                Ok((stream, _)) => {
                    scrapes.spawn(answer(Arc::clone(&shared), stream));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics: accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            Some(_) = scrapes.join_next(), if !scrapes.is_empty() => {}
        }
    }
}

/// Reads one request and answers it (bounded in bytes and time).
async fn answer(shared: Arc<Shared>, mut stream: TcpStream) {
    let exchange = async {
        let mut buf = Vec::with_capacity(1024);
        const CHUNK_BYTES: usize = 1024;
        let mut chunk = [0u8; CHUNK_BYTES];
        let head = loop {
            match parse_head(&buf) {
                Head::Incomplete => {}
                done => break done,
            }
            let room = METRICS_REQUEST_BYTES_MAX - buf.len();
            let n = stream.read(&mut chunk[..room.min(CHUNK_BYTES)]).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let reply = match head {
            Head::Metrics { body } => {
                let text = shared.render_metrics();
                response(200, "OK", CONTENT_TYPE, &text, body)
            }
            Head::Refuse(status, reason) => refusal(status, reason),
            Head::Incomplete => return Ok(()),
        };
        stream.write_all(&reply).await?;
        stream.shutdown().await?;
        // Closing with request bytes unread would reset the connection, which can destroy the
        // answer in flight: read (a bounded amount of) what the scraper still sends.
        let mut drained = 0;
        while drained < METRICS_REQUEST_BYTES_MAX {
            match stream.read(&mut chunk).await? {
                0 => break,
                n => drained += n,
            }
        }
        Ok::<(), std::io::Error>(())
    };
    match tokio::time::timeout(METRICS_REQUEST_TIMEOUT, exchange).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::debug!(error = %e, "metrics: scrape connection failed"),
        Err(_) => tracing::debug!("metrics: scraper too slow, closed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head_of_len(len: usize) -> Vec<u8> {
        let start = b"GET /metrics HTTP/1.1\r\nX-Pad: ";
        let end = b"\r\n\r\n";
        let mut head = start.to_vec();
        head.resize(len - end.len(), b'a');
        head.extend_from_slice(end);
        assert_eq!(head.len(), len);
        head
    }

    #[test]
    fn parse_head_routes_requests() {
        assert_eq!(
            parse_head(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Head::Metrics { body: true }
        );
        assert_eq!(
            parse_head(b"HEAD /metrics?x=1 HTTP/1.0\r\n\r\n"),
            Head::Metrics { body: false }
        );
        assert_eq!(parse_head(b"GET / HTTP/1.1\r\n\r\n"), Head::Refuse(404, "Not Found"));
        assert_eq!(
            parse_head(b"POST /metrics HTTP/1.1\r\n\r\n"),
            Head::Refuse(405, "Method Not Allowed")
        );
        assert_eq!(parse_head(b"GET /metrics\r\n\r\n"), Head::Refuse(400, "Bad Request"));
        assert_eq!(parse_head(b"PRI * HTTP/2.0\r\n\r\n"), Head::Refuse(400, "Bad Request"));
        assert_eq!(parse_head(b"GET /metrics HTTP/2.0\r\n\r\n"), Head::Refuse(400, "Bad Request"));
        assert_eq!(parse_head(b"\x00\xff \r\n\r\n"), Head::Refuse(400, "Bad Request"));
        assert_eq!(parse_head(b"GET /metrics HTTP/1.1\r\n"), Head::Incomplete);
        assert_eq!(parse_head(b""), Head::Incomplete);
    }

    #[test]
    fn parse_head_takes_a_head_at_the_limit_and_refuses_one_past_it() {
        assert_eq!(
            parse_head(&head_of_len(METRICS_REQUEST_BYTES_MAX)),
            Head::Metrics { body: true }
        );
        let past = head_of_len(METRICS_REQUEST_BYTES_MAX + 1);
        assert_eq!(parse_head(&past), Head::Refuse(431, "Request Header Fields Too Large"));
        // As the reader sees it: it stops reading at the limit, blank line not yet there.
        assert_eq!(
            parse_head(&past[..METRICS_REQUEST_BYTES_MAX]),
            Head::Refuse(431, "Request Header Fields Too Large")
        );
        assert_eq!(parse_head(&past[..METRICS_REQUEST_BYTES_MAX - 1]), Head::Incomplete);
    }
}
