//! [`Snapshot`]: a consistent, owned view of the database at one seqno.
//!
//! Taking a snapshot registers its seqno; flushes (and compactions) keep every version a
//! registered seqno can see. Dropping the snapshot, and every iterator made from it,
//! unregisters it.

use super::{Handle, Iter, bounds, prefix_bounds};
use crate::Result;
use crate::ikey::SeqNo;
use crate::value::Value;
use std::ops::RangeBounds;
use std::sync::Arc;

/// Keeps a seqno registered while any snapshot or iterator needs it.
#[derive(Debug)]
pub(crate) struct Registration {
    handle: Arc<Handle>,
    seq: SeqNo,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.handle.inner.release_snapshot(self.seq);
    }
}

/// A read-only view of the database as it was when [`crate::Db::snapshot`] was called.
/// Owned (no borrow of the `Db`), `Send + Sync`, and cheap to clone.
#[derive(Debug, Clone)]
pub struct Snapshot {
    reg: Arc<Registration>,
}

impl Snapshot {
    pub(crate) fn new(handle: Arc<Handle>, seq: SeqNo) -> Snapshot {
        Snapshot { reg: Arc::new(Registration { handle, seq }) }
    }

    /// The seqno of the last write this snapshot sees.
    pub fn seqno(&self) -> SeqNo {
        self.reg.seq
    }

    /// The value of `key` as of the snapshot.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Value>> {
        let inner = &self.reg.handle.inner;
        inner.get_at(&inner.read_state(), key.as_ref(), self.reg.seq)
    }

    /// Every key as of the snapshot, in order.
    pub fn iter(&self) -> Iter {
        self.range::<&[u8], _>(..)
    }

    /// The keys in `range` as of the snapshot, in order.
    pub fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> Iter {
        Iter::new(
            Arc::clone(&self.reg.handle),
            self.reg.seq,
            Some(Arc::clone(&self.reg)),
            bounds(&range),
        )
    }

    /// The keys starting with `prefix` as of the snapshot, in order.
    pub fn prefix(&self, prefix: impl AsRef<[u8]>) -> Iter {
        Iter::new(
            Arc::clone(&self.reg.handle),
            self.reg.seq,
            Some(Arc::clone(&self.reg)),
            prefix_bounds(prefix.as_ref()),
        )
    }
}
