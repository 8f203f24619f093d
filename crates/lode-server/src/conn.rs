//! One client connection: read -> decode -> run bursts -> write, until the client leaves or a
//! limit closes it.
//!
//! Loop: read what the socket has into the query buffer; decode every whole request in it;
//! run them as bursts (`command::run_burst`: engine work on a blocking thread, one call per
//! burst, never one per command); write all the replies; only then read again. So a client that
//! pipelines gets its replies in one write, and one that does not read them holds at most one
//! burst of replies ([`crate::limits::BURST_OUTPUT_BYTES_MAX`]) in the server: the rest waits
//! in its own socket buffers.
//!
//! Limits (client_limits.rs has the policy, limits.rs the reasons): after every read, what the
//! client has sent of its incomplete request against `client-query-buffer-limit`; while
//! replies are written, the pending bytes against `client-output-buffer-limit` and the time
//! since the socket last took a byte against the write-stall timeout; while waiting for a
//! request, `timeout` since the last reply or since the incomplete request's first byte.
//! A client closed by a limit gets no reply, as in Redis; the reason is logged once, in
//! [`serve`].
//!
//! A protocol error is answered once, after the replies of the requests before it, and the
//! connection is closed, as Redis does.
//!
//! A blocking command (BLPOP and the like) that finds no element ends its burst; after the
//! replies before it are written, [`wait_blocked`] awaits its reply (from the burst of another
//! client that served it, blocked.rs) or its timeout, still reading the socket so a client that
//! leaves is noticed; the requests after it run once it is answered.

use crate::blocked::Registration;
use crate::client_limits::{self, LimitHit, OutputBufferLimit};
use crate::clients::ClientHandle;
use crate::command::{self, Needs};
use crate::limits::{
    BURST_COMMANDS_MAX, OUTPUT_BUFFER_KEEP_BYTES, QUERY_BUFFER_KEEP_BYTES, READ_CHUNK_BYTES,
};
use crate::server::Shared;
use crate::session::{BlockedOn, Session};
use bytes::BytesMut;
use lode_resp::{PreAuthLimits, ProtocolError, Reply, Request, RequestDecoder, RequestLimits};
use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Capacity of a new query buffer.
const QUERY_BUFFER_INITIAL_BYTES: usize = 16 << 10;

/// Request slots kept in an emptied queue; a bigger one (after a deep pipeline) is shrunk.
const QUEUE_KEEP_REQUESTS: usize = 1024;

/// Why a connection ended.
#[derive(Debug)]
enum End {
    /// The client closed, QUIT, CLIENT KILL, SHUTDOWN, a protocol error answered, or a burst
    /// that closed it (already logged there).
    Done,
    /// A limit closed it.
    Limit(LimitHit),
    /// The socket failed.
    Io(io::Error),
}

impl From<io::Error> for End {
    fn from(e: io::Error) -> End {
        End::Io(e)
    }
}

/// Serves `client` (already registered, so maxclients counts it) until it leaves.
pub(crate) async fn serve(shared: Arc<Shared>, mut stream: TcpStream, client: Arc<ClientHandle>) {
    tracing::debug!(id = client.id, peer = %client.addr, "client connected");
    let authed = shared.live.requirepass().is_none();
    let mut session = Some(Session::new(Arc::clone(&client), authed));
    // The socket closes when `stream` drops, after the reason is counted and logged.
    match run(&shared, &mut stream, &mut session).await {
        End::Done => {}
        End::Limit(hit) => {
            shared.stats.count_limit(hit);
            match hit {
                LimitHit::Idle => tracing::debug!(id = client.id, "{}", hit.describe()),
                _ => tracing::warn!(id = client.id, peer = %client.addr, "{}", hit.describe()),
            }
        }
        End::Io(e) => tracing::debug!(id = client.id, error = %e, "client connection ended"),
    }
    if let Some(mut s) = session {
        s.unwatch_all(&shared.ks);
        if let Some(blocked) = s.blocked.take() {
            shared.ks.blocked.cancel(blocked.registration.token);
        }
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

async fn run(shared: &Arc<Shared>, stream: &mut TcpStream, slot: &mut Option<Session>) -> End {
    let client = Arc::clone(&slot.as_ref().expect("session present").client);
    let mut decoder = RequestDecoder::with_limits(limits(slot.as_ref().expect("session present")));
    let mut buf = BytesMut::with_capacity(QUERY_BUFFER_INITIAL_BYTES);
    let mut out = BytesMut::new();
    let mut queue: VecDeque<Request> = VecDeque::new();
    let mut stop = shared.shutdown_signal();
    let stall = shared.config.write_stall_timeout;
    // When the last read returned, and when the first byte of the incomplete request came.
    let mut last_read = Instant::now();
    let mut partial_since: Option<Instant> = None;
    loop {
        let mut protocol_error = decode(&mut decoder, &mut buf, &mut queue);
        let completed_any = !queue.is_empty();
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
                let joined = tokio::task::spawn_blocking(move || {
                    let keep = command::run_burst(&sh, &mut session, &mut q, &mut o, needs);
                    (session, q, o, keep)
                })
                .await;
                let (s, q, o, keep) = match joined {
                    Ok(done) => done,
                    Err(e) => return End::Io(io::Error::other(e)),
                };
                (queue, out) = (q, o);
                *slot = Some(s);
                keep
            };
            let session = slot.as_mut().expect("session present");
            if !keep_open {
                return End::Done;
            }
            // Counted before the write, so a client that has its reply sees it counted.
            shared.metrics.net_written_bytes.inc_by(out.len() as u64);
            let limit = shared.live.output_limit();
            if let Err(end) = write_replies(stream, &out, limit, stall, &client).await {
                return end;
            }
            out.clear();
            if out.capacity() > OUTPUT_BUFFER_KEEP_BYTES {
                out = BytesMut::new();
            }
            if session.close_after_reply || client.is_killed() || shutting_down(&stop) {
                return End::Done;
            }
            if let Some(blocked) = session.blocked.take() {
                let waited =
                    wait_blocked(shared, stream, &mut buf, &decoder, blocked, &client, &mut stop);
                let reply = match waited.await {
                    Ok(reply) => reply,
                    Err(end) => return end,
                };
                reply.encode(session.proto, &mut out);
                shared.metrics.net_written_bytes.inc_by(out.len() as u64);
                let limit = shared.live.output_limit();
                if let Err(end) = write_replies(stream, &out, limit, stall, &client).await {
                    return end;
                }
                out.clear();
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
            let limit = shared.live.output_limit();
            return match write_replies(stream, &out, limit, stall, &client).await {
                Ok(()) => End::Done,
                Err(end) => end,
            };
        }
        let partial = !buf.is_empty() || decoder.is_mid_request();
        partial_since = match (partial, completed_any) {
            (false, _) => None,
            // Requests completed in the last read: the incomplete one began in it too.
            (true, true) => Some(last_read),
            (true, false) => partial_since.or(Some(last_read)),
        };
        if !partial && buf.capacity() > QUERY_BUFFER_KEEP_BYTES {
            buf = BytesMut::with_capacity(QUERY_BUFFER_INITIAL_BYTES);
        }
        if queue.capacity() > QUEUE_KEEP_REQUESTS {
            queue.shrink_to(QUEUE_KEEP_REQUESTS);
        }
        // Room for the next read: between requests a small buffer, reused in place, so an
        // idle or light client holds little; inside a request (it may be big) a read chunk.
        let room = if partial { READ_CHUNK_BYTES } else { QUERY_BUFFER_INITIAL_BYTES };
        if buf.capacity() - buf.len() < room / 4 {
            buf.reserve(room);
        }
        let timeout = shared.live.timeout_secs();
        let deadline = client_limits::read_deadline(timeout, Instant::now(), partial_since);
        let read = async {
            match deadline {
                None => Ok(stream.read_buf(&mut buf).await),
                Some(at) => {
                    let at = tokio::time::Instant::from_std(at);
                    tokio::time::timeout_at(at, stream.read_buf(&mut buf)).await
                }
            }
        };
        tokio::select! {
            result = read => match result {
                Ok(Ok(0)) => return End::Done,
                Ok(Ok(n)) => {
                    client.touch();
                    shared.metrics.net_read_bytes.inc_by(n as u64);
                    last_read = Instant::now();
                    let held = decoder.partial_request_bytes() + buf.len();
                    let limit = shared.live.client_query_buffer_limit();
                    if client_limits::query_buffer_over(held, limit) {
                        return End::Limit(LimitHit::QueryBuffer);
                    }
                }
                Ok(Err(e)) => return End::Io(e),
                Err(_) if partial_since.is_some() => {
                    return End::Limit(LimitHit::RequestTimeout);
                }
                Err(_) => return End::Limit(LimitHit::Idle),
            },
            () = client.kill_signal.notified() => return End::Done,
            () = crate::server::stopped(&mut stop) => return End::Done,
        }
    }
}

/// Waits for the reply of a command that blocked (BLPOP and the like; blocked.rs): served by
/// another client's push, or its timeout (a null array, as Redis answers). Meanwhile the
/// socket is read, so a client that leaves, passes its query-buffer limit, is killed or meets
/// a shutdown is noticed and its wait cancelled; what it sends is run once it is unblocked.
/// Redis's `timeout` (idle clients) does not apply to a blocked client, as in Redis.
async fn wait_blocked(
    shared: &Shared,
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    decoder: &RequestDecoder,
    blocked: BlockedOn,
    client: &ClientHandle,
    stop: &mut tokio::sync::watch::Receiver<bool>,
) -> Result<Reply, End> {
    let BlockedOn { registration, deadline } = blocked;
    let Registration { token, mut reply } = registration;
    let timeout = async {
        match deadline {
            Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(timeout);
    let served_gone = || End::Io(io::Error::other("the burst serving a blocked client failed"));
    let end = loop {
        if buf.capacity() - buf.len() < READ_CHUNK_BYTES / 4 {
            buf.reserve(READ_CHUNK_BYTES);
        }
        tokio::select! {
            served = &mut reply => break served.map_err(|_| served_gone()),
            () = &mut timeout => {
                if shared.ks.blocked.cancel(token) {
                    break Ok(Reply::NullArray);
                }
                // Served just now: the reply is sent once the serving burst commits.
                break (&mut reply).await.map_err(|_| served_gone());
            }
            read = stream.read_buf(buf) => match read {
                Ok(0) => break Err(End::Done),
                Ok(n) => {
                    client.touch();
                    shared.metrics.net_read_bytes.inc_by(n as u64);
                    let held = decoder.partial_request_bytes() + buf.len();
                    if client_limits::query_buffer_over(held, shared.live.client_query_buffer_limit()) {
                        break Err(End::Limit(LimitHit::QueryBuffer));
                    }
                }
                Err(e) => break Err(End::Io(e)),
            },
            () = client.kill_signal.notified() => break Err(End::Done),
            () = crate::server::stopped(stop) => break Err(End::Done),
        }
    };
    if end.is_err() {
        shared.ks.blocked.cancel(token);
    }
    client.meta().blocked = false;
    end
}

fn shutting_down(stop: &tokio::sync::watch::Receiver<bool>) -> bool {
    *stop.borrow()
}

/// Writes `data` (the client's pending replies), closing the client if they pass `limit`'s
/// hard limit, stay over its soft limit for its seconds, or the socket takes no byte for
/// `stall`. CLIENT KILL ends the write at once.
async fn write_replies(
    stream: &mut TcpStream,
    data: &[u8],
    limit: OutputBufferLimit,
    stall: Duration,
    client: &ClientHandle,
) -> Result<(), End> {
    let mut pos = 0;
    let mut over_soft_since = None;
    let mut progress_at = Instant::now();
    while pos < data.len() {
        let now = Instant::now();
        let soft_deadline =
            limit.check(data.len() - pos, &mut over_soft_since, now).map_err(End::Limit)?;
        let stall_deadline = progress_at + stall;
        if stall_deadline <= now {
            return Err(End::Limit(LimitHit::WriteStall));
        }
        let deadline = soft_deadline.map_or(stall_deadline, |soft| soft.min(stall_deadline));
        let at = tokio::time::Instant::from_std(deadline);
        tokio::select! {
            written = tokio::time::timeout_at(at, stream.write(&data[pos..])) => match written {
                Ok(Ok(0)) => return Err(End::Io(io::ErrorKind::WriteZero.into())),
                Ok(Ok(n)) => {
                    pos += n;
                    progress_at = Instant::now();
                }
                Ok(Err(e)) => return Err(End::Io(e)),
                // A deadline passed: the next check says which limit closes the client.
                Err(_) => {}
            },
            () = client.kill_signal.notified() => return Err(End::Done),
        }
    }
    Ok(())
}
