//! The registry of connected clients: ids, names, CLIENT LIST lines, CLIENT KILL.
//!
//! Concurrency: each connection owns an `Arc<ClientHandle>`; the registry's map is locked only
//! to add, remove, list or find clients. A kill sets a flag and wakes the connection, which
//! closes itself after its current burst.

use bytes::Bytes;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// What CLIENT LIST shows about a client and the client can change.
#[derive(Debug, Default)]
pub(crate) struct ClientMeta {
    pub name: Option<Bytes>,
    /// The selected database.
    pub db: u8,
    pub last_command: String,
    pub resp: u8,
    /// Commands queued in MULTI, or -1 outside one.
    pub multi: i64,
    /// Waiting in a blocking command (BLPOP and the like): flag `b`.
    pub blocked: bool,
}

/// One connected client.
#[derive(Debug)]
pub(crate) struct ClientHandle {
    pub id: u64,
    pub addr: SocketAddr,
    pub laddr: SocketAddr,
    pub created: Instant,
    pub last_active: Mutex<Instant>,
    pub meta: Mutex<ClientMeta>,
    pub killed: AtomicBool,
    pub kill_signal: tokio::sync::Notify,
}

impl ClientHandle {
    pub(crate) fn meta(&self) -> MutexGuard<'_, ClientMeta> {
        self.meta.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn touch(&self) {
        *self.last_active.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
    }

    pub(crate) fn kill(&self) {
        self.killed.store(true, Ordering::Relaxed);
        self.kill_signal.notify_one();
    }

    pub(crate) fn is_killed(&self) -> bool {
        self.killed.load(Ordering::Relaxed)
    }

    /// The CLIENT LIST / CLIENT INFO line (no trailing newline), in Redis 7.0's field order.
    pub(crate) fn line(&self) -> String {
        let meta = self.meta();
        let idle = self.last_active.lock().unwrap_or_else(|e| e.into_inner()).elapsed().as_secs();
        let name =
            meta.name.as_ref().map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default();
        let flags = if meta.multi >= 0 {
            "x"
        } else if meta.blocked {
            "b"
        } else {
            "N"
        };
        format!(
            "id={} addr={} laddr={} fd=0 name={} age={} idle={} flags={} db={} sub=0 psub=0 ssub=0 \
             multi={} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 \
             tot-mem=0 events=r cmd={} user=default redir=-1 resp={}",
            self.id,
            self.addr,
            self.laddr,
            name,
            self.created.elapsed().as_secs(),
            idle,
            flags,
            meta.db,
            meta.multi,
            if meta.last_command.is_empty() { "NULL" } else { &meta.last_command },
            meta.resp,
        )
    }
}

/// Every connected client.
#[derive(Debug, Default)]
pub(crate) struct Clients {
    next_id: AtomicU64,
    map: Mutex<BTreeMap<u64, Arc<ClientHandle>>>,
}

impl Clients {
    fn map(&self) -> MutexGuard<'_, BTreeMap<u64, Arc<ClientHandle>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a new client; it stays listed until [`Clients::remove`].
    pub(crate) fn add(&self, addr: SocketAddr, laddr: SocketAddr) -> Arc<ClientHandle> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let now = Instant::now();
        let handle = Arc::new(ClientHandle {
            id,
            addr,
            laddr,
            created: now,
            last_active: Mutex::new(now),
            meta: Mutex::new(ClientMeta { resp: 2, multi: -1, ..ClientMeta::default() }),
            killed: AtomicBool::new(false),
            kill_signal: tokio::sync::Notify::new(),
        });
        self.map().insert(id, Arc::clone(&handle));
        handle
    }

    pub(crate) fn remove(&self, id: u64) {
        self.map().remove(&id);
    }

    pub(crate) fn count(&self) -> usize {
        self.map().len()
    }

    pub(crate) fn all(&self) -> Vec<Arc<ClientHandle>> {
        self.map().values().cloned().collect()
    }
}
