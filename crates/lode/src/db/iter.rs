//! [`Iter`]: ordered iteration over a range, in both directions, at one seqno.
//!
//! The iterator pins one `ReadState` (memtables + version) and reads at one seqno, so it sees
//! exactly the writes published before it was made. Its two ends are independent cursors: the
//! front merges every source forward from the lower bound, the back merges them backward from
//! the upper bound, and iteration stops where they meet. Each cursor is a [`Merge`]: a heap of
//! source iterators ordered by internal key. Hiding old versions and tombstones happens here.

use super::level_iter::LevelIter;
use super::merge::Merge;
use super::{Handle, Inner, ReadState};
use crate::ikey::{self, SeqNo, ValueKind};
use crate::iter::InternalIter;
use crate::memtable::MemIter;
use crate::value::{Key, Value};
use crate::{Error, Result};
use bytes::Bytes;
use std::fmt;
use std::ops::Bound;
use std::sync::Arc;

/// An iterator over `(key, value)` pairs in key order; `.rev()` (or `next_back`) walks
/// backward. Items are `Result`s: a read error is yielded once, then the iterator ends.
pub struct Iter {
    handle: Arc<Handle>,
    state: Arc<ReadState>,
    seq: SeqNo,
    lower: Bound<Vec<u8>>,
    upper: Bound<Vec<u8>>,
    front: Option<Merge>,
    back: Option<Merge>,
    /// The last key each end returned: the ends must not cross.
    front_last: Option<Bytes>,
    back_last: Option<Bytes>,
    done: bool,
    /// Keeps a snapshot registered while an iterator made from it lives.
    _snapshot: Option<Arc<super::snapshot::Registration>>,
    /// Declared last, so it drops after `state` and the cursors: then looks for files that
    /// only this iterator's read state kept alive.
    _release: ReleaseFiles,
}

/// On drop, deletes removed SSTs no reader holds any more.
struct ReleaseFiles(Arc<Inner>);

impl Drop for ReleaseFiles {
    fn drop(&mut self) {
        super::compact::delete_obsolete(&self.0);
    }
}

impl fmt::Debug for Iter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter")
            .field("seq", &self.seq)
            .field("lower", &self.lower)
            .field("upper", &self.upper)
            .finish()
    }
}

impl Iter {
    pub(crate) fn new(
        handle: Arc<Handle>,
        seq: SeqNo,
        snapshot: Option<Arc<super::snapshot::Registration>>,
        (lower, upper): (Bound<Vec<u8>>, Bound<Vec<u8>>),
    ) -> Iter {
        let state = handle.inner.read_state();
        let release = ReleaseFiles(Arc::clone(&handle.inner));
        Iter {
            handle,
            state,
            seq,
            lower,
            upper,
            front: None,
            back: None,
            front_last: None,
            back_last: None,
            done: false,
            _snapshot: snapshot,
            _release: release,
        }
    }

    fn inner(&self) -> &Inner {
        &self.handle.inner
    }

    fn sources(&self) -> Result<Vec<Box<dyn InternalIter>>> {
        let mut sources: Vec<Box<dyn InternalIter>> = Vec::new();
        for mem in std::iter::once(&self.state.mem).chain(&self.state.imms) {
            sources.push(Box::new(MemIter::new(Arc::clone(mem))));
        }
        let lo = match &self.lower {
            Bound::Included(k) | Bound::Excluded(k) => Some(k.as_slice()),
            Bound::Unbounded => None,
        };
        let hi = match &self.upper {
            Bound::Included(k) | Bound::Excluded(k) => Some(k.as_slice()),
            Bound::Unbounded => None,
        };
        for meta in &self.state.version.levels[0] {
            if meta.overlaps(lo, hi) {
                sources.push(Box::new(self.inner().table(meta)?.iter()));
            }
        }
        for files in &self.state.version.levels[1..] {
            let files: Vec<_> = files.iter().filter(|f| f.overlaps(lo, hi)).cloned().collect();
            if !files.is_empty() {
                sources.push(Box::new(LevelIter::new(Arc::clone(&self.handle.inner), files)));
            }
        }
        Ok(sources)
    }

    fn start(&mut self, forward: bool) -> Result<Merge> {
        let mut m = Merge::new(self.sources()?, forward);
        let target = if forward {
            match &self.lower {
                Bound::Included(k) => Some(ikey::first_of(k)),
                Bound::Excluded(k) => Some(ikey::last_of(k)),
                Bound::Unbounded => None,
            }
        } else {
            match &self.upper {
                Bound::Included(k) => Some(ikey::last_of(k)),
                Bound::Excluded(k) => Some(ikey::first_of(k)),
                Bound::Unbounded => None,
            }
        };
        m.seek(target.as_deref());
        Ok(m)
    }

    fn above_upper(&self, user: &[u8]) -> bool {
        match &self.upper {
            Bound::Included(k) => user > k.as_slice(),
            Bound::Excluded(k) => user >= k.as_slice(),
            Bound::Unbounded => false,
        }
    }

    fn below_lower(&self, user: &[u8]) -> bool {
        match &self.lower {
            Bound::Included(k) => user < k.as_slice(),
            Bound::Excluded(k) => user <= k.as_slice(),
            Bound::Unbounded => false,
        }
    }

    fn fail(&mut self, e: Error) -> Option<Result<(Key, Value)>> {
        self.done = true;
        Some(Err(e))
    }

    fn step_forward(&mut self) -> Option<Result<(Key, Value)>> {
        let mut m = match self.front.take() {
            Some(m) => m,
            None => match self.start(true) {
                Ok(m) => m,
                Err(e) => return self.fail(e),
            },
        };
        let out = loop {
            if !m.valid() {
                break m.error.take().map(Err);
            }
            let Some(p) = ikey::parse(m.top().key()) else {
                break Some(Err(self.bad_key()));
            };
            let user = Bytes::copy_from_slice(p.user_key);
            if self.above_upper(&user) || self.back_last.as_ref().is_some_and(|b| user >= *b) {
                break None;
            }
            if p.seq > self.seq {
                m.advance();
                continue;
            }
            let (kind, value) = (p.kind, m.top().value());
            // Skip the older versions of this key.
            m.advance();
            while m.valid() && ikey::user_key(m.top().key()) == &user[..] {
                m.advance();
            }
            if kind == ValueKind::Put {
                self.front_last = Some(user.clone());
                break Some(Ok((Key(user), Value(value))));
            }
        };
        if out.is_none() || matches!(out, Some(Err(_))) {
            self.done = true;
        }
        self.front = Some(m);
        out
    }

    fn step_backward(&mut self) -> Option<Result<(Key, Value)>> {
        let mut m = match self.back.take() {
            Some(m) => m,
            None => match self.start(false) {
                Ok(m) => m,
                Err(e) => return self.fail(e),
            },
        };
        let out = loop {
            if !m.valid() {
                break m.error.take().map(Err);
            }
            let user = Bytes::copy_from_slice(ikey::user_key(m.top().key()));
            if self.below_lower(&user) || self.front_last.as_ref().is_some_and(|f| user <= *f) {
                break None;
            }
            // Backward, a key's versions come oldest first: the last one at or below the
            // read seqno is the visible one.
            let mut visible = None;
            let mut bad = false;
            while m.valid() && ikey::user_key(m.top().key()) == &user[..] {
                match ikey::parse(m.top().key()) {
                    Some(p) if p.seq <= self.seq => visible = Some((p.kind, m.top().value())),
                    Some(_) => {}
                    None => {
                        bad = true;
                        break;
                    }
                }
                m.advance();
            }
            if bad {
                break Some(Err(self.bad_key()));
            }
            if let Some(e) = m.error.take() {
                break Some(Err(e));
            }
            if let Some((ValueKind::Put, value)) = visible {
                self.back_last = Some(user.clone());
                break Some(Ok((Key(user), Value(value))));
            }
        };
        if out.is_none() || matches!(out, Some(Err(_))) {
            self.done = true;
        }
        self.back = Some(m);
        out
    }

    fn bad_key(&self) -> Error {
        Error::corruption(&self.inner().dir, 0, "an entry has a malformed internal key")
    }
}

impl Iterator for Iter {
    type Item = Result<(Key, Value)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        self.step_forward()
    }
}

impl DoubleEndedIterator for Iter {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        self.step_backward()
    }
}
