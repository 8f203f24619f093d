//! The clients blocked in BLPOP, BRPOP, BLMOVE and BRPOPLPUSH: who waits on which key, in the
//! order they blocked (Redis's `blocking_keys`).
//!
//! Role: a blocking command that finds all its lists empty registers a [`Waiter`] here (under
//! the keyspace's write lock, so no push can commit between its look and its registration) and
//! its connection awaits the reply. A write that puts a list at a waited key records the key as
//! ready in its `Tx`; after each top-level command the burst serves the ready keys
//! (commands/lists.rs, `serve_blocked`): it takes the waiters in order, pops for them in its own
//! `Tx`, and hands each its reply once the batch is committed ([`Delivery`]). So the pop and
//! the push are one atomic batch, the first client blocked is served first, and the element is
//! never lost: a waiter leaves the registry either served (its reply is sent after the commit)
//! or cancelled by its own connection (timeout, disconnect, kill), never both.
//!
//! Concurrency: one mutex over the maps, held for map updates only; [`BlockedClients::any`] is
//! an atomic, so writes pay nothing while no client is blocked.

use crate::keyspace::DbIndex;
use bytes::Bytes;
use lode_resp::Reply;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use tokio::sync::oneshot;

/// What a blocked client does once one of its keys holds a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BlockOp {
    /// BLPOP (`left`) or BRPOP: reply `[key, element]`.
    Pop { left: bool },
    /// BLMOVE or BRPOPLPUSH: pop at `from_left`'s end, push onto `to_key` at `to_left`'s end,
    /// reply the element.
    Move { to_key: Bytes, from_left: bool, to_left: bool },
}

/// One blocked client, as the serving burst sees it.
#[derive(Debug)]
pub(crate) struct Waiter {
    pub db: DbIndex,
    /// Its keys, without duplicates, in the order it named them.
    pub keys: Vec<Bytes>,
    pub op: BlockOp,
    reply_to: oneshot::Sender<Reply>,
}

impl Waiter {
    /// Its connection has gone (the receiver was dropped): serving it would lose an element.
    pub(crate) fn is_gone(&self) -> bool {
        self.reply_to.is_closed()
    }

    /// The reply for this waiter, sent once the batch that served it is committed.
    pub(crate) fn answer(self, reply: Reply) -> Delivery {
        Delivery { reply_to: self.reply_to, reply }
    }
}

/// A served waiter's reply, held until the batch that served it is committed.
#[derive(Debug)]
pub(crate) struct Delivery {
    reply_to: oneshot::Sender<Reply>,
    reply: Reply,
}

impl Delivery {
    /// Sends the reply; `failed` (a commit or sync that failed) replaces it with that error.
    pub(crate) fn send(self, failed: Option<&Reply>) {
        let reply = failed.cloned().unwrap_or(self.reply);
        // A receiver gone since (the client left) just drops the reply, as Redis drops the
        // output of a client that disconnects.
        let _ = self.reply_to.send(reply);
    }
}

/// A registration: what the blocked connection keeps to await and to cancel it.
#[derive(Debug)]
pub(crate) struct Registration {
    pub token: u64,
    pub reply: oneshot::Receiver<Reply>,
}

#[derive(Debug, Default)]
struct Registry {
    /// Tokens of the waiters on each key, first blocked first.
    by_key: HashMap<(DbIndex, Bytes), VecDeque<u64>>,
    waiters: HashMap<u64, Waiter>,
    next_token: u64,
}

/// See the module docs.
#[derive(Debug, Default)]
pub(crate) struct BlockedClients {
    count: AtomicUsize,
    inner: Mutex<Registry>,
}

impl BlockedClients {
    fn inner(&self) -> MutexGuard<'_, Registry> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Blocked clients (INFO's `blocked_clients`).
    pub(crate) fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// Whether any client is blocked: the cheap check a write makes first.
    pub(crate) fn any(&self) -> bool {
        self.count() > 0
    }

    /// Whether a client waits on `key` in `db`.
    pub(crate) fn is_waited(&self, db: DbIndex, key: &Bytes) -> bool {
        self.any() && self.inner().by_key.contains_key(&(db, key.clone()))
    }

    /// Blocks a client on `keys` (duplicates count once) until it is served or cancels.
    pub(crate) fn register(&self, db: DbIndex, keys: &[Bytes], op: BlockOp) -> Registration {
        let mut unique: Vec<Bytes> = Vec::with_capacity(keys.len());
        for key in keys {
            if !unique.contains(key) {
                unique.push(key.clone());
            }
        }
        let (reply_to, reply) = oneshot::channel();
        let mut inner = self.inner();
        inner.next_token += 1;
        let token = inner.next_token;
        for key in &unique {
            inner.by_key.entry((db, key.clone())).or_default().push_back(token);
        }
        inner.waiters.insert(token, Waiter { db, keys: unique, op, reply_to });
        self.count.fetch_add(1, Ordering::Relaxed);
        Registration { token, reply }
    }

    /// Removes a waiter that is still blocked (timeout, disconnect). False if it is not there:
    /// it was served, and its reply comes once the serving batch is committed.
    pub(crate) fn cancel(&self, token: u64) -> bool {
        let mut inner = self.inner();
        let found = BlockedClients::remove(&mut inner, token).is_some();
        if found {
            self.count.fetch_sub(1, Ordering::Relaxed);
        }
        found
    }

    /// Takes the first client blocked on `key` in `db` out of the registry (off all its keys).
    pub(crate) fn take_first(&self, db: DbIndex, key: &Bytes) -> Option<Waiter> {
        let mut inner = self.inner();
        let token = *inner.by_key.get(&(db, key.clone()))?.front()?;
        let waiter = BlockedClients::remove(&mut inner, token)?;
        self.count.fetch_sub(1, Ordering::Relaxed);
        Some(waiter)
    }

    fn remove(inner: &mut Registry, token: u64) -> Option<Waiter> {
        let waiter = inner.waiters.remove(&token)?;
        for key in &waiter.keys {
            let id = (waiter.db, key.clone());
            if let Some(queue) = inner.by_key.get_mut(&id) {
                queue.retain(|&t| t != token);
                if queue.is_empty() {
                    inner.by_key.remove(&id);
                }
            }
        }
        Some(waiter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &'static str) -> Bytes {
        Bytes::from_static(s.as_bytes())
    }

    #[test]
    fn waiters_are_taken_first_blocked_first_and_leave_every_key() {
        let blocked = BlockedClients::default();
        let db = DbIndex::ZERO;
        let a =
            blocked.register(db, &[key("k1"), key("k2"), key("k1")], BlockOp::Pop { left: true });
        let b = blocked.register(db, &[key("k2")], BlockOp::Pop { left: false });
        assert_eq!(blocked.count(), 2);
        assert!(blocked.is_waited(db, &key("k1")));
        let first = blocked.take_first(db, &key("k2")).expect("a waits on k2");
        assert_eq!(first.keys, [key("k1"), key("k2")], "duplicates count once");
        assert!(!blocked.is_waited(db, &key("k1")), "a left k1 too");
        assert!(!blocked.cancel(a.token), "a was served: too late to cancel");
        assert_eq!(
            blocked.take_first(db, &key("k2")).map(|w| w.op),
            Some(BlockOp::Pop { left: false })
        );
        assert!(!blocked.cancel(b.token));
        assert_eq!(blocked.count(), 0);
        assert!(!blocked.is_waited(db, &key("k2")));
    }

    #[test]
    fn a_cancelled_waiter_is_never_served_and_a_gone_one_is_seen() {
        let blocked = BlockedClients::default();
        let db = DbIndex::ZERO;
        let other = DbIndex::new(1).expect("db 1");
        let a = blocked.register(db, &[key("k")], BlockOp::Pop { left: true });
        assert!(blocked.take_first(other, &key("k")).is_none(), "another database's key");
        assert!(blocked.cancel(a.token));
        assert!(blocked.take_first(db, &key("k")).is_none());
        let b = blocked.register(db, &[key("k")], BlockOp::Pop { left: true });
        drop(b.reply);
        assert!(blocked.take_first(db, &key("k")).expect("b").is_gone());
        assert_eq!(blocked.count(), 0);
    }

    #[test]
    fn a_delivery_carries_the_reply_or_the_failure() {
        let blocked = BlockedClients::default();
        let db = DbIndex::ZERO;
        let mut a = blocked.register(db, &[key("k")], BlockOp::Pop { left: true });
        let waiter = blocked.take_first(db, &key("k")).expect("a");
        waiter.answer(Reply::Integer(1)).send(None);
        assert_eq!(a.reply.try_recv().ok(), Some(Reply::Integer(1)));
        let mut b = blocked.register(db, &[key("k")], BlockOp::Pop { left: true });
        let waiter = blocked.take_first(db, &key("k")).expect("b");
        waiter.answer(Reply::Integer(1)).send(Some(&Reply::error("ERR failed")));
        assert_eq!(b.reply.try_recv().ok(), Some(Reply::error("ERR failed")));
    }
}
