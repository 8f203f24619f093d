//! The memtable: recent writes in memory, ordered by internal key.
//!
//! Write path: the commit leader inserts every op of a group after the WAL append, then
//! publishes the group's last seqno; readers never see a seqno above the published one, so a
//! batch becomes visible all at once. Read path: `get` finds the newest version at or below a
//! seqno; [`MemIter`] walks entries for the merge.
//!
//! Concurrency: a lock-free skiplist (crossbeam); one writer (the commit leader) and any
//! number of readers. Keys and values are `Bytes` slices of the batch payload, so a value is
//! stored once. Once full, a memtable is frozen (immutable) and flushed to an L0 SST.

use crate::Error;
use crate::ikey::{self, SeqNo, ValueKind};
use crate::iter::InternalIter;
use bytes::Bytes;
use crossbeam_skiplist::SkipMap;
use std::cmp::Ordering;
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering as AtomicOrdering};

/// Per-entry bookkeeping charged on top of key and value bytes (skiplist node, `Bytes` handles).
const ENTRY_OVERHEAD_BYTES: usize = 80;

/// A memtable key: user key ascending, then `seq << 8 | kind` descending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MemKey {
    user: Bytes,
    tag: u64,
}

impl Ord for MemKey {
    fn cmp(&self, other: &MemKey) -> Ordering {
        self.user.cmp(&other.user).then_with(|| other.tag.cmp(&self.tag))
    }
}

impl PartialOrd for MemKey {
    fn partial_cmp(&self, other: &MemKey) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl MemKey {
    fn from_internal(ikey: &[u8]) -> MemKey {
        let split = ikey.len().saturating_sub(ikey::TRAILER_BYTES);
        let mut trailer = [0xffu8; 8];
        trailer[8 - (ikey.len() - split)..].copy_from_slice(&ikey[split..]);
        MemKey { user: Bytes::copy_from_slice(&ikey[..split]), tag: !u64::from_be_bytes(trailer) }
    }
}

/// An in-memory table of recent writes.
#[derive(Debug)]
pub(crate) struct Memtable {
    map: SkipMap<MemKey, Bytes>,
    bytes: AtomicUsize,
    max_seq: AtomicU64,
    /// The WAL whose records this memtable holds.
    wal_number: u64,
    /// That WAL's size, recorded when the memtable is frozen.
    wal_bytes: AtomicU64,
}

impl Memtable {
    pub(crate) fn new(wal_number: u64) -> Memtable {
        Memtable {
            map: SkipMap::new(),
            bytes: AtomicUsize::new(0),
            max_seq: AtomicU64::new(0),
            wal_number,
            wal_bytes: AtomicU64::new(0),
        }
    }

    pub(crate) fn wal_number(&self) -> u64 {
        self.wal_number
    }

    /// The size of this memtable's WAL, once it is frozen.
    pub(crate) fn wal_bytes(&self) -> u64 {
        self.wal_bytes.load(AtomicOrdering::Relaxed)
    }

    pub(crate) fn set_wal_bytes(&self, bytes: u64) {
        self.wal_bytes.store(bytes, AtomicOrdering::Relaxed);
    }

    /// Adds an entry. Seqnos are unique per entry; the caller is the only writer.
    pub(crate) fn insert(&self, key: Bytes, seq: SeqNo, kind: ValueKind, value: Bytes) {
        let charge = key.len() + value.len() + ENTRY_OVERHEAD_BYTES;
        self.map.insert(MemKey { user: key, tag: (seq << 8) | kind as u64 }, value);
        self.bytes.fetch_add(charge, AtomicOrdering::Relaxed);
        self.max_seq.fetch_max(seq, AtomicOrdering::Relaxed);
    }

    /// The newest entry for `key` with seqno <= `seq`.
    pub(crate) fn get(&self, key: &[u8], seq: SeqNo) -> Option<(ValueKind, Bytes)> {
        let target = MemKey { user: Bytes::copy_from_slice(key), tag: (seq << 8) | 0xff };
        let entry = self.map.lower_bound(Bound::Included(&target))?;
        if entry.key().user != key {
            return None;
        }
        let kind = ValueKind::from_u8((entry.key().tag & 0xff) as u8)?;
        Some((kind, entry.value().clone()))
    }

    /// Approximate memory charged to this memtable.
    pub(crate) fn approximate_bytes(&self) -> usize {
        self.bytes.load(AtomicOrdering::Relaxed)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The largest seqno inserted.
    pub(crate) fn max_seq(&self) -> SeqNo {
        self.max_seq.load(AtomicOrdering::Relaxed)
    }

    /// The entries in internal-key order: `(user key, seq, kind, value)`.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (Bytes, SeqNo, ValueKind, Bytes)> + '_ {
        self.map.iter().filter_map(|e| {
            let kind = ValueKind::from_u8((e.key().tag & 0xff) as u8)?;
            Some((e.key().user.clone(), e.key().tag >> 8, kind, e.value().clone()))
        })
    }
}

/// An owning cursor over a memtable. Each step re-seeks from the current key (O(log n)),
/// which keeps the cursor free of borrows so it can live in a user's iterator.
#[derive(Debug)]
pub(crate) struct MemIter {
    mem: Arc<Memtable>,
    current: Option<(MemKey, Bytes)>,
    ikey: Vec<u8>,
}

impl MemIter {
    pub(crate) fn new(mem: Arc<Memtable>) -> MemIter {
        MemIter { mem, current: None, ikey: Vec::new() }
    }

    fn set(&mut self, entry: Option<(MemKey, Bytes)>) {
        self.ikey.clear();
        if let Some((k, _)) = &entry {
            self.ikey.extend_from_slice(&k.user);
            self.ikey.extend_from_slice(&(!k.tag).to_be_bytes());
        }
        self.current = entry;
    }

    fn lower(&mut self, bound: Bound<&MemKey>) {
        let e = self.mem.map.lower_bound(bound).map(|e| (e.key().clone(), e.value().clone()));
        self.set(e);
    }

    fn upper(&mut self, bound: Bound<&MemKey>) {
        let e = self.mem.map.upper_bound(bound).map(|e| (e.key().clone(), e.value().clone()));
        self.set(e);
    }
}

impl InternalIter for MemIter {
    fn valid(&self) -> bool {
        self.current.is_some()
    }
    fn key(&self) -> &[u8] {
        &self.ikey
    }
    fn value(&self) -> Bytes {
        self.current.as_ref().map(|(_, v)| v.clone()).unwrap_or_default()
    }
    fn seek(&mut self, target: &[u8]) {
        self.lower(Bound::Included(&MemKey::from_internal(target)));
    }
    fn seek_for_prev(&mut self, target: &[u8]) {
        self.upper(Bound::Included(&MemKey::from_internal(target)));
    }
    fn seek_to_first(&mut self) {
        self.lower(Bound::Unbounded);
    }
    fn seek_to_last(&mut self) {
        self.upper(Bound::Unbounded);
    }
    fn next(&mut self) {
        if let Some((k, _)) = self.current.take() {
            self.lower(Bound::Excluded(&k));
        }
    }
    fn prev(&mut self) {
        if let Some((k, _)) = self.current.take() {
            self.upper(Bound::Excluded(&k));
        }
    }
    fn take_error(&mut self) -> Option<Error> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memtable_get_returns_newest_visible_version() {
        let m = Memtable::new(1);
        m.insert(Bytes::from_static(b"k"), 1, ValueKind::Put, Bytes::from_static(b"v1"));
        m.insert(Bytes::from_static(b"k"), 3, ValueKind::Delete, Bytes::new());
        m.insert(Bytes::from_static(b"k"), 5, ValueKind::Put, Bytes::from_static(b"v5"));
        m.insert(Bytes::from_static(b"ka"), 2, ValueKind::Put, Bytes::from_static(b"x"));
        assert_eq!(m.get(b"k", 0), None);
        assert_eq!(m.get(b"k", 2), Some((ValueKind::Put, Bytes::from_static(b"v1"))));
        assert_eq!(m.get(b"k", 4).map(|e| e.0), Some(ValueKind::Delete));
        assert_eq!(m.get(b"k", 9), Some((ValueKind::Put, Bytes::from_static(b"v5"))));
        assert_eq!(m.get(b"", 9), None);
    }

    #[test]
    fn mem_iter_walks_internal_order_both_ways() {
        let m = Arc::new(Memtable::new(1));
        m.insert(Bytes::from_static(b"b"), 1, ValueKind::Put, Bytes::from_static(b"1"));
        m.insert(Bytes::from_static(b"b"), 4, ValueKind::Put, Bytes::from_static(b"4"));
        m.insert(Bytes::from_static(b"a"), 2, ValueKind::Delete, Bytes::new());
        let mut it = MemIter::new(m);
        let mut forward = Vec::new();
        it.seek_to_first();
        while it.valid() {
            forward.push(it.key().to_vec());
            it.next();
        }
        let want = vec![
            ikey::make(b"a", 2, ValueKind::Delete),
            ikey::make(b"b", 4, ValueKind::Put),
            ikey::make(b"b", 1, ValueKind::Put),
        ];
        assert_eq!(forward, want);
        let mut backward = Vec::new();
        it.seek_to_last();
        while it.valid() {
            backward.push(it.key().to_vec());
            it.prev();
        }
        backward.reverse();
        assert_eq!(backward, want);
        it.seek(&ikey::seek_target(b"b", 3));
        assert_eq!(it.key(), &ikey::make(b"b", 1, ValueKind::Put)[..]);
        it.seek_for_prev(&ikey::first_of(b"b"));
        assert_eq!(it.key(), &ikey::make(b"a", 2, ValueKind::Delete)[..]);
    }
}
