//! [`WalReader`]: the batches of one WAL file, through the engine's record reader and batch
//! decoder (docs/format/wal.md).

use super::{Damage, EntryKind};
use crate::Result;
use crate::batch;
use crate::fs::{Fs, RealFs};
use crate::ikey::SeqNo;
use crate::record::{HEADER_BYTES, Next, RecordReader};
use bytes::Bytes;
use std::path::Path;

/// One put or delete of a WAL batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalOp {
    /// The op's seqno: the batch's first seqno plus its position in the batch.
    pub seqno: SeqNo,
    /// Put or delete.
    pub kind: EntryKind,
    /// The key.
    pub key: Bytes,
    /// The value (empty for a delete).
    pub value: Bytes,
}

/// One verified WAL record: a write batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalBatch {
    /// Offset of the record in the file.
    pub offset: u64,
    /// Bytes of the record, header included.
    pub record_bytes: u64,
    /// Seqno of the first op.
    pub first_seqno: SeqNo,
    /// The ops, in order.
    pub ops: Vec<WalOp>,
}

/// What reading a WAL found next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalItem {
    /// A record that verified and decoded.
    Batch(WalBatch),
    /// A torn tail: from `offset` to the end, `bytes` of a write a crash cut short (or zeros
    /// it left). Recovery truncates it in the newest WAL and refuses it in any other. Last.
    Torn {
        /// Where the torn record starts.
        offset: u64,
        /// Bytes from there to the end of the file.
        bytes: u64,
    },
    /// A record that failed its checksum or did not decode. Reading goes on after it when its
    /// header verified (its length is trusted); otherwise this is the last item.
    Damaged(Damage),
}

/// Reads the records of one WAL front to back. An iterator of [`WalItem`]s.
#[derive(Debug)]
pub struct WalReader {
    records: RecordReader,
    file_bytes: u64,
    done: bool,
}

impl WalReader {
    /// Opens a WAL file for reading.
    ///
    /// # Errors
    /// [`crate::Error::Io`] if it cannot be opened.
    pub fn open(path: impl AsRef<Path>) -> Result<WalReader> {
        let path = path.as_ref();
        let file = RealFs.open(path)?;
        let file_bytes = file.len();
        Ok(WalReader { records: RecordReader::new(file, path), file_bytes, done: false })
    }

    /// The file's length when it was opened.
    pub fn file_bytes(&self) -> u64 {
        self.file_bytes
    }

    /// Bytes of the file read so far (all of it once the iterator is done): for progress.
    pub fn position(&self) -> u64 {
        if self.done { self.file_bytes } else { self.records.position() }
    }
}

impl Iterator for WalReader {
    type Item = WalItem;

    fn next(&mut self) -> Option<WalItem> {
        if self.done {
            return None;
        }
        match self.records.next() {
            Ok(Next::Record { offset, payload }) => {
                let record_bytes = (HEADER_BYTES + payload.len()) as u64;
                let payload = Bytes::from(payload);
                Some(match batch::decode(&payload) {
                    Ok((first_seqno, ops)) => WalItem::Batch(WalBatch {
                        offset,
                        record_bytes,
                        first_seqno,
                        ops: ops
                            .into_iter()
                            .map(|op| WalOp {
                                seqno: op.seq,
                                kind: EntryKind::from_kind(op.kind),
                                key: op.key,
                                value: op.value,
                            })
                            .collect(),
                    }),
                    Err(reason) => WalItem::Damaged(Damage { offset, reason }),
                })
            }
            Ok(Next::End) => {
                self.done = true;
                None
            }
            Ok(Next::Torn { offset }) => {
                self.done = true;
                Some(WalItem::Torn { offset, bytes: self.file_bytes - offset })
            }
            Err(e) => {
                let damage = Damage::from_error(e, self.records.position());
                if !self.records.skip_damaged() {
                    self.done = true;
                }
                Some(WalItem::Damaged(damage))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WriteBatch;
    use crate::record;

    /// A batch: its first seqno and its ops, a `None` value for a delete.
    type Batch<'a> = (u64, &'a [(&'a str, Option<&'a str>)]);

    fn wal_file(batches: &[Batch<'_>]) -> Vec<u8> {
        let mut out = Vec::new();
        for (first, ops) in batches {
            let mut b = WriteBatch::new();
            for (k, v) in *ops {
                match v {
                    Some(v) => b.put(k, v),
                    None => b.delete(k),
                }
            }
            record::encode(&mut out, &b.seal(*first));
        }
        out
    }

    fn read_all(bytes: &[u8]) -> Vec<WalItem> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("000004.wal");
        std::fs::write(&path, bytes).expect("write");
        let mut r = WalReader::open(&path).expect("open");
        let items: Vec<WalItem> = r.by_ref().collect();
        assert_eq!(r.position(), bytes.len() as u64, "the whole file is accounted for");
        items
    }

    #[test]
    fn wal_reader_decodes_batches_and_their_seqnos() {
        let bytes = wal_file(&[(1, &[("k1", Some("v1")), ("k2", None)]), (3, &[("k3", Some(""))])]);
        let items = read_all(&bytes);
        assert_eq!(items.len(), 2);
        let WalItem::Batch(b) = &items[0] else { panic!("{items:?}") };
        assert_eq!((b.offset, b.first_seqno, b.ops.len()), (0, 1, 2));
        assert_eq!(
            (b.ops[1].seqno, b.ops[1].kind, &b.ops[1].key[..]),
            (2, EntryKind::Delete, &b"k2"[..])
        );
        let WalItem::Batch(c) = &items[1] else { panic!("{items:?}") };
        assert_eq!((c.offset, c.first_seqno), (b.record_bytes, 3));
        assert_eq!(c.offset + c.record_bytes, bytes.len() as u64);
    }

    #[test]
    fn wal_reader_goes_on_past_a_damaged_payload_and_stops_at_a_damaged_header() {
        let bytes =
            wal_file(&[(1, &[("a", Some("1"))]), (2, &[("b", Some("2"))]), (3, &[("c", None)])]);
        let WalItem::Batch(first) = &read_all(&bytes)[0] else { panic!() };
        let second = first.record_bytes as usize;
        let mut bad = bytes.clone();
        bad[second + HEADER_BYTES + 2] ^= 0x20;
        let items = read_all(&bad);
        assert_eq!(items.len(), 3, "{items:?}");
        assert!(
            matches!(&items[1], WalItem::Damaged(d) if d.offset == second as u64 && d.reason.contains("checksum"))
        );
        assert!(matches!(&items[2], WalItem::Batch(b) if b.first_seqno == 3));

        for at in [1, 5, 9] {
            // The payload checksum, the length, the header checksum: the length is not trusted.
            let mut bad = bytes.clone();
            bad[second + at] ^= 0x20;
            let items = read_all(&bad);
            assert_eq!(items.len(), 2, "byte {at}: {items:?}");
            assert!(matches!(&items[1], WalItem::Damaged(d) if d.offset == second as u64));
        }
    }

    #[test]
    fn wal_reader_reports_a_torn_tail_and_an_undecodable_payload() {
        let bytes = wal_file(&[(1, &[("a", Some("1"))]), (2, &[("b", Some("2"))])]);
        let items = read_all(&bytes[..bytes.len() - 3]);
        let WalItem::Batch(first) = &items[0] else { panic!("{items:?}") };
        assert_eq!(
            items[1],
            WalItem::Torn {
                offset: first.record_bytes,
                bytes: bytes.len() as u64 - 3 - first.record_bytes
            }
        );

        let mut out = Vec::new();
        record::encode(&mut out, b"not a batch");
        let items = read_all(&out);
        assert!(matches!(&items[..], [WalItem::Damaged(d)] if d.offset == 0), "{items:?}");
    }

    #[test]
    fn wal_reader_survives_random_damage() {
        use rand::Rng;
        let seed = lode_testkit::Seed::new("wal_reader_survives_random_damage");
        let mut rng = seed.rng(0);
        let good =
            wal_file(&[(1, &[("a", Some("1")), ("bb", None)]), (3, &[("c", Some("three"))])]);
        for _ in 0..lode_testkit::iterations(300) {
            let mut bad = good.clone();
            for _ in 0..rng.random_range(1..4) {
                let i = rng.random_range(0..bad.len());
                bad[i] = rng.random();
            }
            bad.truncate(rng.random_range(0..=bad.len()));
            for item in read_all(&bad) {
                if let WalItem::Batch(b) = item {
                    let good_items = read_all(&good);
                    assert!(good_items.contains(&WalItem::Batch(b)), "a batch the file never held");
                }
            }
        }
    }
}
