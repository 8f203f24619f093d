//! [`Session`]: one connection's protocol state (RESP version, AUTH, selected database, MULTI
//! queue, WATCHed keys, a blocking command's wait).
//!
//! Owned by the connection task and moved into the blocking call that runs each burst, so
//! commands change it without locks.

use crate::blocked::Registration;
use crate::clients::ClientHandle;
use crate::keyspace::{DbIndex, Keyspace};
use bytes::Bytes;
use lode_resp::{Protocol, Request};
use std::sync::Arc;

/// An open MULTI.
#[derive(Debug, Default)]
pub(crate) struct Multi {
    pub queued: Vec<Request>,
    /// A command was refused while queueing: EXEC answers EXECABORT.
    pub dirty: bool,
}

/// A WATCHed key: its version and live expiry when WATCH ran.
#[derive(Debug)]
pub(crate) struct WatchedKey {
    pub db: DbIndex,
    pub key: Bytes,
    pub version: u64,
    pub expire_at_ms: u64,
}

/// A blocking command waiting for a list (blocked.rs): the connection awaits `registration`'s
/// reply until `deadline` (none: forever).
#[derive(Debug)]
pub(crate) struct BlockedOn {
    pub registration: Registration,
    pub deadline: Option<std::time::Instant>,
}

/// See the module docs.
#[derive(Debug)]
pub(crate) struct Session {
    pub client: Arc<ClientHandle>,
    pub proto: Protocol,
    pub authed: bool,
    /// The database commands address (SELECT).
    pub db: DbIndex,
    pub multi: Option<Multi>,
    pub watched: Vec<WatchedKey>,
    /// QUIT, a kill of this client, or SHUTDOWN: close once the replies are written.
    pub close_after_reply: bool,
    /// The command that just ran blocked: the burst ends, the connection waits for its reply.
    pub blocked: Option<BlockedOn>,
    /// EXEC is running its queued commands: blocking commands answer at once (Redis's
    /// `CLIENT_DENY_BLOCKING`).
    pub deny_blocking: bool,
}

impl Session {
    pub(crate) fn new(client: Arc<ClientHandle>, authed: bool) -> Session {
        Session {
            client,
            proto: Protocol::Resp2,
            authed,
            db: DbIndex::ZERO,
            multi: None,
            watched: Vec::new(),
            close_after_reply: false,
            blocked: None,
            deny_blocking: false,
        }
    }

    /// Drops every WATCH (EXEC, DISCARD, UNWATCH, RESET, disconnect).
    pub(crate) fn unwatch_all(&mut self, ks: &Keyspace) {
        for w in self.watched.drain(..) {
            ks.unwatch(w.db, &w.key);
        }
    }

    /// Marks the open MULTI, if any, as failed (a command was refused while queueing).
    pub(crate) fn flag_multi_error(&mut self) {
        if let Some(multi) = &mut self.multi {
            multi.dirty = true;
        }
    }

    pub(crate) fn set_db(&mut self, db: DbIndex) {
        self.db = db;
        self.client.meta().db = db.get();
    }

    pub(crate) fn set_proto(&mut self, proto: Protocol) {
        self.proto = proto;
        self.client.meta().resp = if proto == Protocol::Resp3 { 3 } else { 2 };
    }
}
