//! One client connection: read -> decode -> run bursts -> write, until the client leaves.
//!
//! Loop: read what the socket has into a bounded query buffer; decode every whole request in
//! it; run them as bursts (`command::run_burst`: engine work on a blocking thread, one call per
//! burst, never one per command); write all the replies; only then read again. So a client that
//! pipelines gets its replies in one write, and one that does not read them holds at most one
//! burst of replies ([`BURST_OUTPUT_BYTES_MAX`]) in the server: the rest waits in its own socket
//! buffers. A socket that accepts no reply bytes for `write_stall_timeout` is a stalled reader
//! and is dropped.
//!
//! A protocol error is answered once, after the replies of the requests before it, and the
//! connection is closed, as Redis does.

use crate::command::{self, Needs};
use crate::limits::{BURST_COMMANDS_MAX, BURST_OUTPUT_BYTES_MAX, READ_CHUNK_BYTES};
use crate::server::Shared;
use crate::session::Session;
use bytes::BytesMut;
use lode_resp::{PreAuthLimits, ProtocolError, Reply, Request, RequestDecoder, RequestLimits};
use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub(crate) async fn serve(shared: Arc<Shared>, stream: TcpStream, peer: SocketAddr) {
    let laddr = stream.local_addr().unwrap_or(shared.local_addr);
    let client = shared.clients.add(peer, laddr);
    tracing::debug!(id = client.id, %peer, "client connected");
    let authed = shared.live.requirepass().is_none();
    let mut session = Some(Session::new(Arc::clone(&client), authed));
    if let Err(e) = run(&shared, stream, &mut session).await {
        tracing::debug!(id = client.id, error = %e, "client connection ended");
    }
    if let Some(mut s) = session {
        s.unwatch_all(&shared.ks);
    }
    shared.clients.remove(client.id);
}

fn limits(session: &Session) -> RequestLimits {
    if session.authed {
        RequestLimits::REDIS
    } else {
        RequestLimits::REDIS.with_pre_auth(PreAuthLimits::REDIS)
    }
}

/// Moves whole requests from `buf` to `queue` (up to a burst's worth). Before AUTH it stops
/// after an AUTH or HELLO, so the requests after it are decoded with the limits it earns.
fn decode(
    decoder: &mut RequestDecoder,
    buf: &mut BytesMut,
    queue: &mut VecDeque<Request>,
) -> Option<ProtocolError> {
    let pre_auth = decoder.limits().pre_auth.is_some();
    while queue.len() < BURST_COMMANDS_MAX {
        match decoder.decode(buf) {
            Ok(Some(req)) => {
                let authenticates = pre_auth
                    && req.first().is_some_and(|n| {
                        n.eq_ignore_ascii_case(b"auth") || n.eq_ignore_ascii_case(b"hello")
                    });
                queue.push_back(req);
                if authenticates {
                    return None;
                }
            }
            Ok(None) => return None,
            Err(e) => return Some(e),
        }
    }
    None
}

async fn run(
    shared: &Arc<Shared>,
    mut stream: TcpStream,
    slot: &mut Option<Session>,
) -> io::Result<()> {
    let client = Arc::clone(&slot.as_ref().expect("session present").client);
    let mut decoder = RequestDecoder::with_limits(limits(slot.as_ref().expect("session present")));
    let mut buf = BytesMut::with_capacity(16 << 10);
    let mut out = BytesMut::new();
    let mut queue: VecDeque<Request> = VecDeque::new();
    let mut stop = shared.shutdown_signal();
    let stall = shared.config.write_stall_timeout;
    loop {
        let mut protocol_error = decode(&mut decoder, &mut buf, &mut queue);
        while !queue.is_empty() {
            let needs = command::needs(&queue);
            let mut session = slot.take().expect("session present");
            let keep_open = if needs == Needs::Nothing {
                let keep = command::run_burst(shared, &mut session, &mut queue, &mut out, needs);
                *slot = Some(session);
                keep
            } else {
                let sh = Arc::clone(shared);
                let (mut q, mut o) = (std::mem::take(&mut queue), std::mem::take(&mut out));
                let (s, q, o, keep) = tokio::task::spawn_blocking(move || {
                    let keep = command::run_burst(&sh, &mut session, &mut q, &mut o, needs);
                    (session, q, o, keep)
                })
                .await
                .map_err(io::Error::other)?;
                (queue, out) = (q, o);
                *slot = Some(s);
                keep
            };
            let session = slot.as_mut().expect("session present");
            if !keep_open {
                return Ok(());
            }
            // Counted before the write, so a client that has its reply sees it counted.
            shared.metrics.net_written_bytes.inc_by(out.len() as u64);
            write_all(&mut stream, &out, stall).await?;
            out.clear();
            if out.capacity() > BURST_OUTPUT_BYTES_MAX {
                out = BytesMut::new();
            }
            if session.close_after_reply || client.is_killed() || shutting_down(&stop) {
                return Ok(());
            }
            decoder.set_limits(limits(session));
            if protocol_error.is_none() {
                protocol_error = decode(&mut decoder, &mut buf, &mut queue);
            }
        }
        if let Some(e) = protocol_error {
            tracing::debug!(
                id = client.id,
                error = e.message(),
                "protocol error: closing the client"
            );
            let session = slot.as_ref().expect("session present");
            Reply::error(e.message().to_string()).encode(session.proto, &mut out);
            shared.metrics.net_written_bytes.inc_by(out.len() as u64);
            write_all(&mut stream, &out, stall).await?;
            return Ok(());
        }
        if buf.capacity() - buf.len() < READ_CHUNK_BYTES / 4 {
            buf.reserve(READ_CHUNK_BYTES);
        }
        let idle = shared.live.timeout_secs();
        let read = async {
            if idle == 0 {
                Ok(stream.read_buf(&mut buf).await)
            } else {
                tokio::time::timeout(Duration::from_secs(idle), stream.read_buf(&mut buf)).await
            }
        };
        tokio::select! {
            result = read => match result {
                Ok(Ok(0)) => return Ok(()),
                Ok(Ok(n)) => {
                    client.touch();
                    shared.metrics.net_read_bytes.inc_by(n as u64);
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => {
                    tracing::debug!(id = client.id, "idle timeout: closing the client");
                    return Ok(());
                }
            },
            () = client.kill_signal.notified() => return Ok(()),
            () = crate::server::stopped(&mut stop) => return Ok(()),
        }
    }
}

fn shutting_down(stop: &tokio::sync::watch::Receiver<bool>) -> bool {
    *stop.borrow()
}

/// Writes `data`, failing if the socket takes no bytes for `stall`.
async fn write_all(stream: &mut TcpStream, data: &[u8], stall: Duration) -> io::Result<()> {
    let mut pos = 0;
    while pos < data.len() {
        match tokio::time::timeout(stall, stream.write(&data[pos..])).await {
            Ok(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(Ok(n)) => pos += n,
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "client stopped reading replies",
                ));
            }
        }
    }
    Ok(())
}
