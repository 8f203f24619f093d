//! [`WriteBatch`]: writes applied atomically, and their encoding, which is also the WAL
//! record payload (docs/format/wal.md): the batch is encoded once, as it is built, and that
//! buffer is written to the WAL and then shared by the memtable entries (no copy of values).
//!
//! Payload layout: `first_seqno: u64 | count: u32 | op*`, where an op is
//! `kind: u8 (1 put, 0 delete) | varint key_bytes | key | (put only) varint value_bytes | value`.
//! The seqno is filled in by the commit pipeline; op `i` gets `first_seqno + i`.

use crate::encoding::{Decoder, put_varint};
use crate::ikey::{SeqNo, ValueKind};
use crate::{Error, Result};
use bytes::Bytes;

/// The longest key the engine accepts: 64 KiB.
pub const KEY_BYTES_MAX: usize = 64 << 10;
/// The longest value the engine accepts: 512 MiB, Redis's string limit.
pub const VALUE_BYTES_MAX: usize = 512 << 20;
/// The largest encoded batch: 1 GiB (room for one maximal value and key with plenty to spare).
pub const BATCH_BYTES_MAX: u64 = 1 << 30;

/// Bytes before the first op.
pub(crate) const BATCH_HEADER_BYTES: usize = 12;

/// A group of puts and deletes applied all or nothing, also across a crash.
#[derive(Debug, Clone)]
pub struct WriteBatch {
    rep: Vec<u8>,
    count: u32,
    too_large: Option<(&'static str, u64, u64)>,
}

impl Default for WriteBatch {
    fn default() -> WriteBatch {
        WriteBatch::new()
    }
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> WriteBatch {
        WriteBatch { rep: vec![0; BATCH_HEADER_BYTES], count: 0, too_large: None }
    }

    /// Sets `key` to `value`. Limits are checked when the batch is written.
    pub fn put(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        let (key, value) = (key.as_ref(), value.as_ref());
        if !self.admit(key, Some(value.len())) {
            return;
        }
        self.rep.push(ValueKind::Put as u8);
        put_varint(&mut self.rep, key.len() as u64);
        self.rep.extend_from_slice(key);
        put_varint(&mut self.rep, value.len() as u64);
        self.rep.extend_from_slice(value);
        self.count += 1;
    }

    /// Deletes `key` (a no-op if it does not exist).
    pub fn delete(&mut self, key: impl AsRef<[u8]>) {
        let key = key.as_ref();
        if !self.admit(key, None) {
            return;
        }
        self.rep.push(ValueKind::Delete as u8);
        put_varint(&mut self.rep, key.len() as u64);
        self.rep.extend_from_slice(key);
        self.count += 1;
    }

    /// Checks the limits before anything is copied; the first violation is kept for `write`.
    fn admit(&mut self, key: &[u8], value_len: Option<usize>) -> bool {
        if self.too_large.is_some() {
            return false;
        }
        let violation = if key.len() > KEY_BYTES_MAX {
            Some(("key", key.len() as u64, KEY_BYTES_MAX as u64))
        } else if value_len.is_some_and(|v| v > VALUE_BYTES_MAX) {
            Some(("value", value_len.unwrap_or(0) as u64, VALUE_BYTES_MAX as u64))
        } else {
            let op_bytes = 1 + 10 + key.len() + value_len.map_or(0, |v| 10 + v);
            let total = (self.rep.len() + op_bytes) as u64;
            (total > BATCH_BYTES_MAX).then_some(("batch", total, BATCH_BYTES_MAX))
        };
        self.too_large = violation;
        violation.is_none()
    }

    /// Number of puts and deletes.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// True when the batch holds no operation.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Encoded size in bytes.
    pub fn approximate_bytes(&self) -> usize {
        self.rep.len()
    }

    /// The limit error, if an operation passed one.
    pub(crate) fn check(&self) -> Result<()> {
        match self.too_large {
            Some((what, len, max)) => Err(Error::TooLarge { what, len, max }),
            None => Ok(()),
        }
    }

    /// Stamps the first seqno and the count; returns the encoded payload.
    pub(crate) fn seal(self, first_seq: SeqNo) -> Bytes {
        let mut rep = self.rep;
        rep[0..8].copy_from_slice(&first_seq.to_le_bytes());
        rep[8..12].copy_from_slice(&self.count.to_le_bytes());
        Bytes::from(rep)
    }
}

/// One decoded operation, borrowing from the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Op {
    pub seq: SeqNo,
    pub kind: ValueKind,
    pub key: Bytes,
    pub value: Bytes,
}

/// Decodes a sealed payload (from the commit pipeline or the WAL). `Err(reason)` on bad bytes.
pub(crate) fn decode(payload: &Bytes) -> Result<(SeqNo, Vec<Op>), String> {
    let mut d = Decoder::new(payload);
    let first = d.u64().ok_or("batch header is short")?;
    let count = d.u32().ok_or("batch header is short")?;
    // Before any op: each one's seqno is `first + i`.
    if first.checked_add(u64::from(count)).is_none_or(|end| end > crate::ikey::SEQNO_MAX) {
        return Err("seqno out of range".into());
    }
    let mut ops = Vec::with_capacity((count as usize).min(payload.len() / 3 + 1));
    for i in 0..u64::from(count) {
        let kind = ValueKind::from_u8(d.u8().ok_or("op is short")?).ok_or("unknown op kind")?;
        let key = range_of(&mut d, payload, KEY_BYTES_MAX).ok_or("bad key")?;
        let value = match kind {
            ValueKind::Put => range_of(&mut d, payload, VALUE_BYTES_MAX).ok_or("bad value")?,
            ValueKind::Delete => Bytes::new(),
        };
        ops.push(Op { seq: first + i, kind, key, value });
    }
    if !d.is_empty() {
        return Err("bytes after the last op".into());
    }
    Ok((first, ops))
}

fn range_of(d: &mut Decoder<'_>, payload: &Bytes, max: usize) -> Option<Bytes> {
    let start_len = d.pos();
    let bytes = d.length_prefixed()?;
    if bytes.len() > max {
        return None;
    }
    let end = d.pos();
    let start = end - bytes.len();
    debug_assert!(start >= start_len);
    Some(payload.slice(start..end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_round_trips_through_encoding() {
        let mut b = WriteBatch::new();
        b.put("k1", "v1");
        b.delete("k2");
        b.put("", "");
        let payload = b.seal(7);
        let (first, ops) = decode(&payload).expect("decodes");
        assert_eq!(first, 7);
        assert_eq!(ops.len(), 3);
        assert_eq!((ops[0].seq, ops[0].kind, &ops[0].key[..]), (7, ValueKind::Put, &b"k1"[..]));
        assert_eq!((ops[1].seq, ops[1].kind, &ops[1].key[..]), (8, ValueKind::Delete, &b"k2"[..]));
        assert_eq!((ops[2].seq, &ops[2].value[..]), (9, &b""[..]));
    }

    #[test]
    fn batch_key_at_limit_is_accepted_and_one_past_is_too_large() {
        let mut b = WriteBatch::new();
        b.put(vec![1u8; KEY_BYTES_MAX], "v");
        assert!(b.check().is_ok());
        b.put(vec![1u8; KEY_BYTES_MAX + 1], "v");
        assert!(matches!(b.check(), Err(Error::TooLarge { what: "key", .. })));
        assert_eq!(b.len(), 1, "the oversize op is not added");
    }

    #[test]
    fn batch_bytes_limit_is_checked_before_copying() {
        let mut b = WriteBatch::new();
        b.rep.resize(BATCH_BYTES_MAX as usize - 1 - 10 - 3, 0);
        b.delete("abc");
        assert!(b.check().is_ok(), "exactly at the limit");
        b.delete("d");
        assert!(matches!(b.check(), Err(Error::TooLarge { what: "batch", .. })));
    }

    #[test]
    fn decode_rejects_garbage_without_panicking() {
        let seed = lode_testkit::Seed::new("decode_rejects_garbage");
        let mut rng = seed.rng(0);
        use rand::Rng;
        for _ in 0..lode_testkit::iterations(2000) {
            let len = rng.random_range(0..64);
            let bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            let _ = decode(&Bytes::from(bytes));
        }
        let mut bad = vec![0u8; 12];
        bad[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&Bytes::from(bad)).is_err(), "huge count, no ops");
    }

    #[test]
    fn decode_rejects_seqnos_past_the_limit_before_numbering_ops() {
        let mut b = WriteBatch::new();
        b.put("k", "v");
        b.delete("d");
        for first in [u64::MAX, u64::MAX - 1, crate::ikey::SEQNO_MAX - 1] {
            let r = decode(&b.clone().seal(first));
            assert_eq!(r, Err("seqno out of range".to_string()), "first seqno {first}");
        }
        // The last op may take seqno SEQNO_MAX - 1: `first + count` stays at the limit.
        let (first, ops) = decode(&b.seal(crate::ikey::SEQNO_MAX - 2)).expect("in range");
        assert_eq!((first, ops[1].seq), (crate::ikey::SEQNO_MAX - 2, crate::ikey::SEQNO_MAX - 1));
    }
}

#[cfg(test)]
mod doc_tests {
    use super::*;

    /// The record a WAL holds for the example batch of docs/format/wal.md.
    pub(crate) fn example_record() -> Vec<u8> {
        let mut b = WriteBatch::new();
        b.put("k1", "v1");
        b.delete("k2");
        let mut out = Vec::new();
        crate::record::encode(&mut out, &b.seal(1));
        out
    }

    #[test]
    fn wal_doc_hex_example_matches_encoder() {
        let doc = include_str!("../../../docs/format/wal.md");
        let want = lode_testkit::doc_hex_example(doc);
        let got = example_record();
        let hex: Vec<String> = got.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(got, want, "encoder produces: {}", hex.join(" "));
    }
}
