//! The memtable: recent writes in memory, ordered by internal key.
//!
//! Write path: the commit leader inserts every op of a group after the WAL append, then
//! publishes the group's last seqno; readers never see a seqno above the published one, so a
//! batch becomes visible all at once. Read path: `get` finds the newest version at or below a
//! seqno; [`MemIter`] walks entries for the merge.
//!
//! Concurrency: a lock-free skiplist (crossbeam); one writer (the commit leader) and any
//! number of readers. A filter of the user keys (a blocked bloom filter of atomic words) lets
//! `get` skip the skiplist search for a key the memtable does not hold: the leader sets a key's
//! bits before it publishes the seqno, so a reader that may see an entry also sees its bits. Keys and values are `Bytes` slices of the batch payload, so a value is
//! stored once. Once full, a memtable is frozen (immutable) and flushed to an L0 SST.

use crate::Error;
use crate::ikey::{self, SeqNo, ValueKind};
use crate::iter::InternalIter;
use bytes::Bytes;
use crossbeam_skiplist::SkipMap;
use std::cmp::Ordering;
use std::collections::VecDeque;
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering as AtomicOrdering};

/// Per-entry bookkeeping charged on top of key and value bytes (skiplist node, `Bytes` handles).
const ENTRY_OVERHEAD_BYTES: usize = 80;

/// Filter bits per entry a memtable can hold (each entry is charged at least
/// [`ENTRY_OVERHEAD_BYTES`]): about 1-2% false positives when full of small entries.
const FILTER_BITS_PER_ENTRY: usize = 10;
/// Bits set per key, all in one 512-bit block (one cache line).
const FILTER_PROBES: u32 = 6;
const FILTER_BLOCK_WORDS: usize = 8;

/// A blocked bloom filter over user keys that the writer fills while readers test it. It has
/// no false negatives however full it gets (an overfull one only answers "maybe" more often).
#[derive(Debug)]
struct KeyFilter {
    words: Box<[AtomicU64]>,
    /// Blocks - 1 (a power of two).
    block_mask: u64,
}

impl KeyFilter {
    /// A filter for a memtable of `capacity_bytes`.
    fn new(capacity_bytes: usize) -> KeyFilter {
        let entries = capacity_bytes / ENTRY_OVERHEAD_BYTES;
        let bits = entries.saturating_mul(FILTER_BITS_PER_ENTRY);
        let blocks = bits.div_ceil(FILTER_BLOCK_WORDS * 64).max(1).next_power_of_two();
        let words = (0..blocks * FILTER_BLOCK_WORDS).map(|_| AtomicU64::new(0)).collect();
        KeyFilter { words, block_mask: blocks as u64 - 1 }
    }

    /// The words and bits `hash` sets: the block from the low bits, the probes from the high.
    fn probes(&self, hash: u64) -> impl Iterator<Item = (usize, u64)> + use<> {
        let base = (hash & self.block_mask) as usize * FILTER_BLOCK_WORDS;
        let mut h = (hash >> 32) as u32;
        let delta = h.rotate_left(15) | 1;
        (0..FILTER_PROBES).map(move |_| {
            let bit = (h & 511) as usize;
            h = h.wrapping_add(delta);
            (base + bit / 64, 1u64 << (bit % 64))
        })
    }

    fn add(&self, hash: u64) {
        for (word, mask) in self.probes(hash) {
            // Relaxed: the commit leader's Release store of the visible seqno publishes it.
            self.words[word].fetch_or(mask, AtomicOrdering::Relaxed);
        }
    }

    fn may_contain(&self, hash: u64) -> bool {
        self.probes(hash)
            .all(|(word, mask)| self.words[word].load(AtomicOrdering::Relaxed) & mask != 0)
    }
}

/// The hash of a user key that the memtable filter uses; `get` takes it so the caller hashes
/// once for every memtable it asks.
pub(crate) fn key_hash(user_key: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(user_key)
}

/// The longest user key a skiplist node holds in place; longer keys are a `Bytes` handle into
/// their batch. A search compares the key of every node it passes: in place, that costs no
/// extra cache miss (a handle's bytes are elsewhere in memory).
const INLINE_KEY_BYTES: usize = 23;

/// A memtable's user key, in place when short.
#[derive(Clone)]
pub(crate) enum UserKey {
    Inline { len: u8, bytes: [u8; INLINE_KEY_BYTES] },
    Shared(Bytes),
}

impl UserKey {
    fn inline(key: &[u8]) -> Option<UserKey> {
        let mut bytes = [0u8; INLINE_KEY_BYTES];
        bytes.get_mut(..key.len())?.copy_from_slice(key);
        Some(UserKey::Inline { len: key.len() as u8, bytes })
    }

    fn copied(key: &[u8]) -> UserKey {
        UserKey::inline(key).unwrap_or_else(|| UserKey::Shared(Bytes::copy_from_slice(key)))
    }

    fn from_bytes(key: Bytes) -> UserKey {
        UserKey::inline(&key).unwrap_or(UserKey::Shared(key))
    }
}

impl std::ops::Deref for UserKey {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            UserKey::Inline { len, bytes } => &bytes[..usize::from(*len)],
            UserKey::Shared(b) => b,
        }
    }
}

impl PartialEq for UserKey {
    fn eq(&self, other: &UserKey) -> bool {
        self[..] == other[..]
    }
}

impl Eq for UserKey {}

impl std::fmt::Debug for UserKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", Bytes::copy_from_slice(self))
    }
}

/// A memtable key: user key ascending, then `seq << 8 | kind` descending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MemKey {
    user: UserKey,
    tag: u64,
}

impl Ord for MemKey {
    fn cmp(&self, other: &MemKey) -> Ordering {
        self.user[..].cmp(&other.user[..]).then_with(|| other.tag.cmp(&self.tag))
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
        MemKey { user: UserKey::copied(&ikey[..split]), tag: !u64::from_be_bytes(trailer) }
    }
}

/// An in-memory table of recent writes.
#[derive(Debug)]
pub(crate) struct Memtable {
    map: SkipMap<MemKey, Bytes>,
    filter: KeyFilter,
    bytes: AtomicUsize,
    max_seq: AtomicU64,
    /// The WAL whose records this memtable holds.
    wal_number: u64,
    /// That WAL's size, recorded when the memtable is frozen.
    wal_bytes: AtomicU64,
}

impl Memtable {
    /// An empty memtable for `wal_number`'s records; its key filter is sized for
    /// `capacity_bytes` (a memtable past that still works, with more false positives).
    pub(crate) fn new(wal_number: u64, capacity_bytes: usize) -> Memtable {
        Memtable {
            map: SkipMap::new(),
            filter: KeyFilter::new(capacity_bytes),
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
        self.filter.add(key_hash(&key));
        let user = UserKey::from_bytes(key);
        self.map.insert(MemKey { user, tag: (seq << 8) | kind as u64 }, value);
        self.bytes.fetch_add(charge, AtomicOrdering::Relaxed);
        self.max_seq.fetch_max(seq, AtomicOrdering::Relaxed);
    }

    /// The newest entry for `key` with seqno <= `seq`; `hash` is [`key_hash`] of `key`.
    pub(crate) fn get(&self, key: &[u8], hash: u64, seq: SeqNo) -> Option<(ValueKind, Bytes)> {
        if !self.filter.may_contain(hash) {
            return None;
        }
        let target = MemKey { user: UserKey::copied(key), tag: (seq << 8) | 0xff };
        let entry = self.map.lower_bound(Bound::Included(&target))?;
        if entry.key().user[..] != *key {
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
    pub(crate) fn entries(&self) -> impl Iterator<Item = (UserKey, SeqNo, ValueKind, Bytes)> + '_ {
        self.map.iter().filter_map(|e| {
            let kind = ValueKind::from_u8((e.key().tag & 0xff) as u8)?;
            Some((e.key().user.clone(), e.key().tag >> 8, kind, e.value().clone()))
        })
    }
}

/// Entries a forward step reads ahead after a seek; doubled at each refill while a scan goes
/// on, up to [`READ_AHEAD_MAX`].
const READ_AHEAD_MIN: usize = 4;
/// The most entries read ahead in one walk of the skiplist.
const READ_AHEAD_MAX: usize = 64;

/// An owning cursor over a memtable, free of borrows so it can live in a user's iterator.
/// Moving forward, it walks the skiplist once per batch of entries and keeps the batch (key
/// and value handles) in `ahead`, so a scan pays one O(log n) search per batch instead of per
/// entry. Entries inserted after a batch was read are not in it; they carry seqnos above
/// every reader's (the commit leader inserts before it publishes a seqno), so no reader would
/// show them. Backward steps search from the current key each time.
#[derive(Debug)]
pub(crate) struct MemIter {
    mem: Arc<Memtable>,
    current: Option<(MemKey, Bytes)>,
    /// The entries after `current`, in order (forward movement only).
    ahead: VecDeque<(MemKey, Bytes)>,
    /// Entries to read at the next refill.
    ahead_batch: usize,
    ikey: Vec<u8>,
}

impl MemIter {
    pub(crate) fn new(mem: Arc<Memtable>) -> MemIter {
        MemIter {
            mem,
            current: None,
            ahead: VecDeque::new(),
            ahead_batch: READ_AHEAD_MIN,
            ikey: Vec::new(),
        }
    }

    /// Positions at the first entry in `bound..` and reads the next `ahead_batch` after it.
    fn forward(&mut self, bound: Bound<&MemKey>) {
        self.ahead.clear();
        let mut entries = self
            .mem
            .map
            .range((bound, Bound::Unbounded))
            .take(self.ahead_batch + 1)
            .map(|e| (e.key().clone(), e.value().clone()));
        let first = entries.next();
        self.ahead.extend(entries);
        self.set(first);
    }

    fn set(&mut self, entry: Option<(MemKey, Bytes)>) {
        self.ikey.clear();
        if let Some((k, _)) = &entry {
            self.ikey.extend_from_slice(&k.user);
            self.ikey.extend_from_slice(&(!k.tag).to_be_bytes());
        }
        self.current = entry;
    }

    fn upper(&mut self, bound: Bound<&MemKey>) {
        self.ahead.clear();
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
        self.ahead_batch = READ_AHEAD_MIN;
        self.forward(Bound::Included(&MemKey::from_internal(target)));
    }
    fn seek_for_prev(&mut self, target: &[u8]) {
        self.upper(Bound::Included(&MemKey::from_internal(target)));
    }
    fn seek_to_first(&mut self) {
        self.ahead_batch = READ_AHEAD_MIN;
        self.forward(Bound::Unbounded);
    }
    fn seek_to_last(&mut self) {
        self.upper(Bound::Unbounded);
    }
    fn next(&mut self) {
        if let Some(e) = self.ahead.pop_front() {
            self.set(Some(e));
        } else if let Some((k, _)) = self.current.take() {
            self.ahead_batch = (self.ahead_batch * 2).min(READ_AHEAD_MAX);
            self.forward(Bound::Excluded(&k));
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
    use rand::Rng;

    #[test]
    fn memtable_get_returns_newest_visible_version() {
        let m = Memtable::new(1, 1 << 20);
        m.insert(Bytes::from_static(b"k"), 1, ValueKind::Put, Bytes::from_static(b"v1"));
        m.insert(Bytes::from_static(b"k"), 3, ValueKind::Delete, Bytes::new());
        m.insert(Bytes::from_static(b"k"), 5, ValueKind::Put, Bytes::from_static(b"v5"));
        m.insert(Bytes::from_static(b"ka"), 2, ValueKind::Put, Bytes::from_static(b"x"));
        let get = |key: &[u8], seq| m.get(key, key_hash(key), seq);
        assert_eq!(get(b"k", 0), None);
        assert_eq!(get(b"k", 2), Some((ValueKind::Put, Bytes::from_static(b"v1"))));
        assert_eq!(get(b"k", 4).map(|e| e.0), Some(ValueKind::Delete));
        assert_eq!(get(b"k", 9), Some((ValueKind::Put, Bytes::from_static(b"v5"))));
        assert_eq!(get(b"", 9), None);
    }

    #[test]
    fn mem_iter_walks_internal_order_both_ways() {
        let m = Arc::new(Memtable::new(1, 1 << 20));
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

    #[test]
    fn mem_iter_read_ahead_keeps_order_across_refills_and_turns() {
        let m = Arc::new(Memtable::new(1, 1 << 20));
        let n = 1000u64;
        for i in 0..n {
            let key = Bytes::from(format!("k{i:05}"));
            m.insert(key, i + 1, ValueKind::Put, Bytes::from(i.to_string()));
        }
        let want = |i: u64| ikey::make(format!("k{i:05}").as_bytes(), i + 1, ValueKind::Put);
        let mut it = MemIter::new(m);
        // A full forward walk crosses many refills (4, 8, ... 64 entries).
        it.seek_to_first();
        for i in 0..n {
            assert!(it.valid(), "ended before entry {i}");
            assert_eq!(it.key(), &want(i)[..], "entry {i}");
            assert_eq!(it.value(), Bytes::from(i.to_string()));
            it.next();
        }
        assert!(!it.valid());
        // Seek, step forward past a refill, turn back, turn forward again.
        it.seek(&ikey::first_of(b"k00500"));
        for i in 500..520 {
            assert_eq!(it.key(), &want(i)[..]);
            it.next();
        }
        for i in (515..520).rev() {
            it.prev();
            assert_eq!(it.key(), &want(i)[..], "back to {i}");
        }
        for i in 516..600 {
            it.next();
            assert_eq!(it.key(), &want(i)[..], "forward again to {i}");
        }
        // A seek after read-ahead forgets it.
        it.seek(&ikey::first_of(b"k00010"));
        assert_eq!(it.key(), &want(10)[..]);
        it.next();
        assert_eq!(it.key(), &want(11)[..]);
    }

    #[test]
    fn mem_iter_inserts_during_a_scan_never_hide_or_reorder_older_entries() {
        // The scan reads at seqno 500; while it walks, the "commit leader" inserts newer
        // entries just ahead of the cursor (inside the read-ahead), far ahead, and behind.
        let m = Arc::new(Memtable::new(1, 1 << 20));
        let n = 500u64;
        let key = |i: u64| Bytes::from(format!("k{i:05}"));
        for i in 0..n {
            m.insert(key(2 * i), i + 1, ValueKind::Put, Bytes::from("old"));
        }
        let mut next_seq = n + 1;
        let mut it = MemIter::new(Arc::clone(&m));
        it.seek_to_first();
        let (mut seen, mut last): (Vec<Vec<u8>>, Option<Vec<u8>>) = (Vec::new(), None);
        let mut step = 0u64;
        while it.valid() {
            assert!(step < 5 * n + 1, "the scan does not end");
            let k = it.key().to_vec();
            if let Some(prev) = &last {
                assert!(prev < &k, "the scan went back or repeated at step {step}");
            }
            let p = ikey::parse(&k).expect("an internal key");
            // Inserting only at old entries bounds the scan (4 new entries per old one).
            if p.seq <= n {
                assert_eq!(it.value(), Bytes::from("old"));
                seen.push(p.user_key.to_vec());
                let at: u64 =
                    std::str::from_utf8(&p.user_key[1..]).expect("utf8").parse().expect("n");
                for target in [at + 1, at + 2, at + 40, at.saturating_sub(3)] {
                    m.insert(key(target), next_seq, ValueKind::Put, Bytes::from("new"));
                    next_seq += 1;
                }
            }
            last = Some(k);
            it.next();
            step += 1;
        }
        let want: Vec<Vec<u8>> = (0..n).map(|i| key(2 * i).to_vec()).collect();
        assert_eq!(seen, want, "the entries at or below the scan's seqno, each once, in order");
    }

    #[test]
    fn mem_filter_never_hides_a_key_and_skips_most_absent_ones() {
        let seed = lode_testkit::Seed::new("mem_filter");
        let mut rng = seed.rng(0);
        // Filled to the entry count the filter is sized for, and a memtable whose filter is
        // far too small (sized for nothing): every key must still be found.
        let capacity = 64 << 10;
        let n = (capacity / ENTRY_OVERHEAD_BYTES) as u64;
        for (m, label) in [(Memtable::new(1, capacity), "sized"), (Memtable::new(1, 0), "overfull")]
        {
            let keys: Vec<Bytes> =
                (0..n).map(|_| Bytes::from(rng.random::<u64>().to_be_bytes().to_vec())).collect();
            for (i, k) in keys.iter().enumerate() {
                m.insert(k.clone(), i as u64 + 1, ValueKind::Put, Bytes::from_static(b"v"));
            }
            for k in &keys {
                assert!(m.get(k, key_hash(k), n).is_some(), "{label}: a held key was not found");
            }
            let absent = (0..10_000u64)
                .filter(|i| m.filter.may_contain(key_hash(format!("absent{i}").as_bytes())))
                .count();
            if label == "sized" {
                assert!(absent < 500, "{absent} of 10,000 absent keys passed the filter");
            }
        }
    }

    #[test]
    fn mem_keys_in_place_and_shared_order_as_bytes() {
        // Keys on both sides of INLINE_KEY_BYTES with shared prefixes: gets and a scan agree
        // with plain byte order.
        let seed = lode_testkit::Seed::new("mem_keys_in_place_and_shared");
        let mut rng = seed.rng(0);
        let m = Arc::new(Memtable::new(1, 1 << 20));
        let mut model = std::collections::BTreeMap::new();
        for seq in 1..=lode_testkit::iterations(2000) as u64 {
            let len = rng.random_range(0..=INLINE_KEY_BYTES + 3);
            let key: Vec<u8> = (0..len).map(|_| rng.random_range(b'a'..=b'c')).collect();
            let value = Bytes::from(seq.to_string());
            m.insert(Bytes::from(key.clone()), seq, ValueKind::Put, value.clone());
            model.insert(key, value);
        }
        for (k, v) in &model {
            assert_eq!(m.get(k, key_hash(k), u64::MAX >> 8), Some((ValueKind::Put, v.clone())));
        }
        let mut it = MemIter::new(Arc::clone(&m));
        it.seek_to_first();
        let mut newest = Vec::new();
        while it.valid() {
            let p = ikey::parse(it.key()).expect("an internal key");
            if newest.last().is_none_or(|(k, _): &(Vec<u8>, Bytes)| k[..] != *p.user_key) {
                newest.push((p.user_key.to_vec(), it.value()));
            }
            it.next();
        }
        let want: Vec<(Vec<u8>, Bytes)> = model.into_iter().collect();
        assert_eq!(newest, want);
    }
}
