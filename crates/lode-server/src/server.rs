//! The server: opens the engine, listens, accepts (maxclients, protected mode), runs the
//! background tasks (everysec sync, active expiry, ops sampling, the metrics endpoint), and
//! shuts down cleanly.
//!
//! Shutdown (SIGINT/SIGTERM in the binary, SHUTDOWN, or [`ServerHandle::shutdown`]): stop
//! accepting; every connection finishes the burst it is running, writes its replies and
//! closes; background tasks stop; a final `Db::sync`; the engine is closed when the last
//! handle drops, before [`ServerHandle::wait`] returns.

use crate::clients::Clients;
use crate::config::{Appendfsync, Config, LiveConfig};
use crate::errors;
use crate::info::ServerStats;
use crate::keyspace::Keyspace;
use crate::limits::SCAN_CURSORS_MAX;
use crate::metrics::Metrics;
use crate::slowlog::Slowlog;
use crate::{command, conn, expire, metrics_http};
use bytes::Bytes;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// The Redis version Lode reports (INFO `redis_version`, HELLO `version`): clients gate
/// features on it, so it names the Redis whose semantics Lode follows.
pub const REDIS_VERSION: &str = "7.0.15";

/// How long shutdown waits for connections to finish their current burst.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Errors starting or running the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Binding or another socket call failed.
    #[error("network: {0}")]
    Io(#[from] std::io::Error),
    /// The engine failed to open or to sync at shutdown.
    #[error("storage engine: {0}")]
    Engine(#[from] lode::Error),
    /// The data directory's keyspace records are not readable.
    #[error("keyspace: {0}")]
    Keyspace(String),
    /// A configuration value is unusable.
    #[error("configuration: {0}")]
    Config(String),
}

/// SCAN cursor numbers -> the last key each returned (see limits::SCAN_CURSORS_MAX).
#[derive(Debug)]
pub(crate) struct CursorTable {
    next: u64,
    map: HashMap<u64, Bytes>,
    order: VecDeque<u64>,
}

impl CursorTable {
    fn new() -> CursorTable {
        // A random start makes a cursor from before a restart unlikely to name a new scan.
        let next = rand::random::<u32>() as u64 + 1;
        CursorTable { next, map: HashMap::new(), order: VecDeque::new() }
    }

    /// A new cursor number standing for "after `last`".
    pub(crate) fn issue(&mut self, last: Bytes) -> u64 {
        self.next = self.next.wrapping_add(1).max(1);
        let cursor = self.next;
        self.map.insert(cursor, last);
        self.order.push_back(cursor);
        while self.order.len() > SCAN_CURSORS_MAX {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
        cursor
    }

    /// The key a cursor stands for; `None` (scan from the start) if it is unknown.
    pub(crate) fn resolve(&self, cursor: u64) -> Option<Bytes> {
        self.map.get(&cursor).cloned()
    }
}

/// State shared by every connection and background task.
#[derive(Debug)]
pub(crate) struct Shared {
    pub ks: Keyspace,
    pub live: LiveConfig,
    pub config: Config,
    pub clients: Clients,
    pub stats: ServerStats,
    pub slowlog: Slowlog,
    pub metrics: Metrics,
    pub local_addr: SocketAddr,
    /// Where the Prometheus endpoint listens, if it is on.
    pub metrics_addr: Option<SocketAddr>,
    pub run_id: String,
    pub started: Instant,
    pub last_save_unix: AtomicU64,
    cursors: Mutex<CursorTable>,
    shutdown: watch::Sender<bool>,
    me: Weak<Shared>,
}

impl Shared {
    pub(crate) fn cursors(&self) -> MutexGuard<'_, CursorTable> {
        self.cursors.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn request_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    pub(crate) fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    pub(crate) fn self_arc(&self) -> Arc<Shared> {
        self.me.upgrade().expect("Shared is alive while a command runs on it")
    }

    pub(crate) fn saved(&self) {
        self.last_save_unix.store(command::now_ms() / 1000, Ordering::Relaxed);
        self.ks.changes_since_save.store(0, Ordering::Relaxed);
    }

    /// The text of a Prometheus scrape.
    pub(crate) fn render_metrics(&self) -> String {
        self.metrics.render(self.ks.db.stats(), self.clients.count() as u64)
    }

    pub(crate) fn reset_stats(&self) {
        self.stats.reset();
        for c in [&self.ks.hits, &self.ks.misses, &self.ks.expired_keys] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// A running server.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    shutdown: watch::Sender<bool>,
    done: tokio::task::JoinHandle<Result<(), Error>>,
}

impl ServerHandle {
    /// The address it listens on (with the real port when started on port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address of the Prometheus endpoint, if `Config::metrics_port` turned it on.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// Asks it to stop; [`ServerHandle::wait`] returns once it has.
    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// A receiver that turns true when shutdown begins (SHUTDOWN or `shutdown()`).
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Waits until the server has stopped and the engine is closed.
    ///
    /// # Errors
    /// The final sync failed, or the server task panicked.
    pub async fn wait(self) -> Result<(), Error> {
        match self.done.await {
            Ok(result) => result,
            Err(e) => Err(Error::Io(std::io::Error::other(e))),
        }
    }
}

/// Opens the data directory, binds, and starts serving on the current tokio runtime.
///
/// # Errors
/// The engine cannot open the directory, the keyspace records are unreadable, or binding fails.
pub async fn start(config: Config) -> Result<ServerHandle, Error> {
    let options = lode::Options::default()
        .cache_size(config.cache_bytes)
        .memtable_size(config.memtable_bytes)
        .durability(lode::Durability::Buffered)
        .compaction_filter(std::sync::Arc::new(crate::keyspace::GarbageFilter::default()))
        // The server runs the everysec sync itself so `CONFIG SET appendfsync` can change it.
        .sync_interval(Duration::ZERO);
    let dir = config.dir.clone();
    let ks = tokio::task::spawn_blocking(move || -> Result<Keyspace, Error> {
        let db = lode::Db::open(&dir, options)?;
        Keyspace::open(db).map_err(Error::Keyspace)
    })
    .await
    .map_err(|e| Error::Io(std::io::Error::other(e)))??;
    let ip: std::net::IpAddr = config.bind.parse().map_err(|_| {
        Error::Config(format!("bind address {:?} is not an IP address", config.bind))
    })?;
    let listener = TcpListener::bind((ip, config.port)).await?;
    let addr = listener.local_addr()?;
    let metrics_listener = match config.metrics_port {
        Some(port) => Some(TcpListener::bind((ip, port)).await.map_err(|e| {
            Error::Config(format!(
                "metrics port {port} on {ip}: {e} (choose another --metrics-port)"
            ))
        })?),
        None => None,
    };
    let metrics_addr = metrics_listener.as_ref().map(TcpListener::local_addr).transpose()?;
    let (shutdown, _) = watch::channel(false);
    let shared = Arc::new_cyclic(|me| Shared {
        ks,
        live: LiveConfig::new(&config),
        config,
        clients: Clients::default(),
        stats: ServerStats::default(),
        slowlog: Slowlog::default(),
        metrics: Metrics::new(metrics_addr.is_some()),
        local_addr: addr,
        metrics_addr,
        run_id: (0..40)
            .map(|_| char::from(b"0123456789abcdef"[rand::random_range(0..16)]))
            .collect(),
        started: Instant::now(),
        last_save_unix: AtomicU64::new(command::now_ms() / 1000),
        cursors: Mutex::new(CursorTable::new()),
        shutdown: shutdown.clone(),
        me: me.clone(),
    });
    tracing::info!(%addr, dir = %shared.config.dir.display(), appendfsync = shared.live.appendfsync().name(), "lode serve: ready to accept connections");
    if let Some(metrics) = metrics_addr {
        tracing::info!("lode serve: Prometheus metrics at http://{metrics}/metrics");
    }
    let done = tokio::spawn(serve(shared, listener, metrics_listener));
    Ok(ServerHandle { addr, metrics_addr, shutdown, done })
}

/// Runs the server until SIGINT, SIGTERM or SHUTDOWN (the binary's entry point).
///
/// # Errors
/// As [`start`] and [`ServerHandle::wait`].
pub async fn run(config: Config) -> Result<(), Error> {
    let handle = start(config).await?;
    let trigger = handle.shutdown.clone();
    tokio::spawn(async move {
        let mut stop = trigger.subscribe();
        tokio::select! {
            () = signal() => {
                tracing::info!("signal received: shutting down");
                trigger.send_replace(true);
            }
            () = crate::server::stopped(&mut stop) => {}
        }
    });
    handle.wait().await
}

/// Resolves once shutdown has begun.
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn serve(
    shared: Arc<Shared>,
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
) -> Result<(), Error> {
    let mut stop = shared.shutdown_signal();
    let mut background = JoinSet::new();
    background.spawn(sync_task(Arc::clone(&shared)));
    background.spawn(cron_task(Arc::clone(&shared)));
    if let Some(metrics) = metrics_listener {
        background.spawn(metrics_http::serve(Arc::clone(&shared), metrics));
    }
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            () = crate::server::stopped(&mut stop) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => accept(&shared, &mut conns, stream, peer),
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    tracing::info!(clients = conns.len(), "shutting down: finishing connections");
    let drain = async { while conns.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_GRACE, drain).await.is_err() {
        tracing::warn!("connections did not finish in time; closing them");
        conns.shutdown().await;
    }
    while background.join_next().await.is_some() {}
    let db = shared.ks.db.clone();
    let synced = tokio::task::spawn_blocking(move || db.sync()).await;
    drop(shared);
    match synced {
        Ok(Ok(())) => {
            tracing::info!("lode serve: data synced, bye");
            Ok(())
        }
        Ok(Err(e)) => Err(Error::Engine(e)),
        Err(e) => Err(Error::Io(std::io::Error::other(e))),
    }
}

fn accept(shared: &Arc<Shared>, conns: &mut JoinSet<()>, stream: TcpStream, peer: SocketAddr) {
    shared.stats.connections_received.fetch_add(1, Ordering::Relaxed);
    shared.metrics.connections_received.inc();
    let refusal = if shared.clients.count() as u64 >= shared.live.maxclients() {
        Some(errors::MAX_CLIENTS)
    } else if refused_by_protected_mode(
        peer.ip(),
        shared.live.protected_mode(),
        shared.live.requirepass().is_some(),
    ) {
        Some(errors::DENIED_PROTECTED_MODE)
    } else {
        None
    };
    if let Some(text) = refusal {
        shared.stats.rejected_connections.fetch_add(1, Ordering::Relaxed);
        shared.metrics.connections_rejected.inc();
        tracing::warn!(%peer, reason = text, "connection refused");
        conns.spawn(async move {
            let mut stream = stream;
            let line = format!("-{text}\r\n");
            let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(line.as_bytes()))
                .await;
        });
        return;
    }
    let _ = stream.set_nodelay(true);
    // Registered here, not in the connection's task, so the next accept already counts it.
    let laddr = stream.local_addr().unwrap_or(shared.local_addr);
    let client = shared.clients.add(peer, laddr);
    conns.spawn(conn::serve(Arc::clone(shared), stream, client));
}

/// Protected mode: with no password set, only loopback clients are served.
fn refused_by_protected_mode(peer: std::net::IpAddr, protected: bool, has_password: bool) -> bool {
    protected && !has_password && !peer.to_canonical().is_loopback()
}

/// `appendfsync everysec`: sync the WAL once a second when something was written.
async fn sync_task(shared: Arc<Shared>) {
    let mut stop = shared.shutdown_signal();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut synced_seq = 0;
    loop {
        tokio::select! {
            () = crate::server::stopped(&mut stop) => return,
            _ = tick.tick() => {}
        }
        if shared.live.appendfsync() != Appendfsync::Everysec {
            continue;
        }
        let sh = Arc::clone(&shared);
        let result = tokio::task::spawn_blocking(move || {
            let seq = sh.ks.db.stats().last_seqno;
            if seq == synced_seq { Ok(seq) } else { sh.ks.db.sync().map(|()| seq) }
        })
        .await;
        match result {
            Ok(Ok(seq)) => synced_seq = seq,
            Ok(Err(e)) => tracing::error!(error = %e, "background sync failed"),
            Err(e) => tracing::error!(error = %e, "background sync panicked"),
        }
    }
}

/// The server's cron: active expiry and the ops/sec sample, every `active_expiry_interval`.
async fn cron_task(shared: Arc<Shared>) {
    let mut stop = shared.shutdown_signal();
    let mut tick = tokio::time::interval(shared.config.active_expiry_interval);
    loop {
        tokio::select! {
            () = crate::server::stopped(&mut stop) => return,
            _ = tick.tick() => {}
        }
        shared.stats.sample();
        if shared.ks.total_expires() == 0 {
            continue;
        }
        let sh = Arc::clone(&shared);
        let result =
            tokio::task::spawn_blocking(move || expire::cycle(&sh.ks, command::now_ms())).await;
        match result {
            Ok(Ok(n)) if n > 0 => tracing::debug!(keys = n, "active expiry"),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = ?e, "active expiry failed"),
            Err(e) => tracing::error!(error = %e, "active expiry panicked"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protected_mode_refuses_only_remote_clients_without_a_password() {
        let ip = |s: &str| -> std::net::IpAddr { s.parse().expect("ip") };
        assert!(refused_by_protected_mode(ip("10.1.2.3"), true, false));
        assert!(!refused_by_protected_mode(ip("10.1.2.3"), true, true));
        assert!(!refused_by_protected_mode(ip("10.1.2.3"), false, false));
        assert!(!refused_by_protected_mode(ip("127.0.0.1"), true, false));
        assert!(!refused_by_protected_mode(ip("::ffff:127.0.0.1"), true, false));
        assert!(!refused_by_protected_mode(ip("::1"), true, false));
    }

    #[test]
    fn cursor_table_forgets_the_oldest_past_its_limit() {
        let mut table = CursorTable::new();
        let first = table.issue(Bytes::from_static(b"a"));
        assert_eq!(table.resolve(first), Some(Bytes::from_static(b"a")));
        for _ in 0..SCAN_CURSORS_MAX - 1 {
            table.issue(Bytes::from_static(b"b"));
        }
        assert!(table.resolve(first).is_some(), "at the limit every cursor is kept");
        table.issue(Bytes::from_static(b"c"));
        assert_eq!(table.resolve(first), None, "one past the limit the oldest is forgotten");
        assert_eq!(table.resolve(0), None);
    }
}
