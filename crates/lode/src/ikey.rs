//! Internal keys: a user key plus the seqno and kind of the write that made it.
//!
//! Layout (docs/format/sstable.md): `user_key ‖ !(seqno << 8 | kind)` with the 8-byte trailer
//! big-endian and inverted, so that comparing (user key bytewise, then trailer bytewise) puts
//! a user key's newest version first. Memtables and SSTs both order entries this way.

use std::cmp::Ordering;

/// Sequence number of a write. Every operation in a batch gets its own; 56 bits are usable.
pub type SeqNo = u64;

/// The largest seqno a write may get.
pub(crate) const SEQNO_MAX: SeqNo = (1 << 56) - 1;

/// Bytes in the trailer after the user key.
pub(crate) const TRAILER_BYTES: usize = 8;

/// What an entry records for its user key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum ValueKind {
    /// A tombstone: the key was deleted.
    Delete = 0,
    /// The key was set to the entry's value.
    Put = 1,
}

impl ValueKind {
    pub(crate) fn from_u8(b: u8) -> Option<ValueKind> {
        match b {
            0 => Some(ValueKind::Delete),
            1 => Some(ValueKind::Put),
            _ => None,
        }
    }
}

/// The kind byte used in seek targets: larger than any real kind, so a target
/// `(key, seq, SEEK_KIND)` sorts before every entry of `key` with seqno <= `seq`.
const SEEK_KIND: u64 = 0xff;

fn trailer_bytes(seq: SeqNo, kind: u64) -> [u8; 8] {
    debug_assert!(seq <= SEQNO_MAX);
    (!((seq << 8) | kind)).to_be_bytes()
}

/// Appends the internal key for an entry.
#[allow(dead_code)] // used by the memtable and db layer
pub(crate) fn append(buf: &mut Vec<u8>, user_key: &[u8], seq: SeqNo, kind: ValueKind) {
    buf.extend_from_slice(user_key);
    buf.extend_from_slice(&trailer_bytes(seq, kind as u64));
}

/// Builds the internal key for an entry.
#[allow(dead_code)] // used by the memtable and db layer
pub(crate) fn make(user_key: &[u8], seq: SeqNo, kind: ValueKind) -> Vec<u8> {
    let mut buf = Vec::with_capacity(user_key.len() + TRAILER_BYTES);
    append(&mut buf, user_key, seq, kind);
    buf
}

/// A seek target: the first entry at or after it is the newest version of `user_key`
/// with seqno <= `seq` (or a later user key).
pub(crate) fn seek_target(user_key: &[u8], seq: SeqNo) -> Vec<u8> {
    let mut buf = Vec::with_capacity(user_key.len() + TRAILER_BYTES);
    buf.extend_from_slice(user_key);
    buf.extend_from_slice(&trailer_bytes(seq, SEEK_KIND));
    buf
}

/// The smallest internal key with this user key (sorts before all its entries).
#[allow(dead_code)] // used by the memtable and db layer
pub(crate) fn first_of(user_key: &[u8]) -> Vec<u8> {
    seek_target(user_key, SEQNO_MAX)
}

/// The largest internal key with this user key (sorts after all its entries).
#[allow(dead_code)] // used by the memtable and db layer
pub(crate) fn last_of(user_key: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(user_key.len() + TRAILER_BYTES);
    buf.extend_from_slice(user_key);
    buf.extend_from_slice(&[0xff; TRAILER_BYTES]);
    buf
}

/// An internal key split into its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Parsed<'a> {
    pub user_key: &'a [u8],
    pub seq: SeqNo,
    pub kind: ValueKind,
}

/// Splits an internal key; `None` if it is too short or its kind byte is unknown.
pub(crate) fn parse(ikey: &[u8]) -> Option<Parsed<'_>> {
    let split = ikey.len().checked_sub(TRAILER_BYTES)?;
    let (user_key, trailer) = ikey.split_at(split);
    let t = !u64::from_be_bytes(trailer.try_into().ok()?);
    let kind = ValueKind::from_u8((t & 0xff) as u8)?;
    Some(Parsed { user_key, seq: t >> 8, kind })
}

/// The user-key part of an internal key (the whole slice if it is too short to have a trailer).
pub(crate) fn user_key(ikey: &[u8]) -> &[u8] {
    &ikey[..ikey.len().saturating_sub(TRAILER_BYTES)]
}

/// Orders internal keys: user key ascending, then seqno descending.
pub(crate) fn compare(a: &[u8], b: &[u8]) -> Ordering {
    let sa = a.len().saturating_sub(TRAILER_BYTES);
    let sb = b.len().saturating_sub(TRAILER_BYTES);
    a[..sa].cmp(&b[..sb]).then_with(|| a[sa..].cmp(&b[sb..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_orders_user_key_then_newest_first() {
        let a1 = make(b"a", 1, ValueKind::Put);
        let a9 = make(b"a", 9, ValueKind::Delete);
        let ab = make(b"ab", 100, ValueKind::Put);
        assert_eq!(compare(&a9, &a1), Ordering::Less);
        assert_eq!(compare(&a1, &ab), Ordering::Less, "a < ab even though a's trailer is larger");
        assert_eq!(compare(&first_of(b"a"), &a9), Ordering::Less);
        assert_eq!(compare(&last_of(b"a"), &a1), Ordering::Greater);
        assert_eq!(compare(&last_of(b"a"), &ab), Ordering::Less);
    }

    #[test]
    fn seek_target_lands_on_newest_visible_version() {
        let a5 = make(b"a", 5, ValueKind::Put);
        let a7 = make(b"a", 7, ValueKind::Put);
        let t = seek_target(b"a", 5);
        assert_eq!(compare(&t, &a5), Ordering::Less);
        assert_eq!(compare(&a7, &t), Ordering::Less);
    }

    #[test]
    fn parse_round_trips_and_rejects_garbage() {
        let k = make(b"key", 42, ValueKind::Delete);
        let p = parse(&k).expect("valid key");
        assert_eq!((p.user_key, p.seq, p.kind), (&b"key"[..], 42, ValueKind::Delete));
        assert!(parse(b"short").is_none());
        assert!(parse(&seek_target(b"k", 3)).is_none(), "seek kind is not a real kind");
    }
}
