//! The WAL harness: untrusted bytes as a WAL file, read by the record reader and recovered by
//! opening a database whose only WAL they are.
//!
//! The input is either the file itself, or records the harness frames with correct checksums
//! (arbitrary payloads, or batches chosen by the input) followed by arbitrary bytes. Checked:
//! - the reader returns records, then the end, a torn tail or a corruption error, and every
//!   record it returns is exactly the framed bytes at its offset; a torn tail really is an
//!   incomplete write (too short, zeros, or a length past the end);
//! - valid records come out first, whatever follows them;
//! - a payload that decodes as a batch is internally consistent and re-encodes to the same
//!   operations; the batches the harness wrote decode to what it wrote;
//! - recovery fails exactly when the records are corrupt, a batch does not decode or the seqnos
//!   do not chain, and otherwise holds exactly what the batches wrote, and keeps working.

use super::input::Input;
use crate::batch::{self, BATCH_HEADER_BYTES, KEY_BYTES_MAX, VALUE_BYTES_MAX, WriteBatch};
use crate::fs::{Fs, SimFs};
use crate::ikey::{self, SeqNo, ValueKind};
use crate::record::{self, HEADER_BYTES, Next, RecordReader};
use crate::{Db, Options};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

const DIR: &str = "/db";

/// How reading ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    Clean,
    Torn(u64),
    Corrupt,
}

/// Reads every record of `file` (as the WAL `path`), checking each against the bytes.
fn read_all(file: &[u8], path: &Path) -> (Vec<Vec<u8>>, End) {
    let fs = SimFs::new();
    fs.write_file(path, file);
    let mut reader = RecordReader::new(fs.open(path).expect("just written"), path);
    let mut records = Vec::new();
    let mut at = 0usize;
    let end = loop {
        match reader.next() {
            Ok(Next::Record { offset, payload }) => {
                assert_eq!(offset, at as u64, "records are contiguous");
                let h = &file[at..at + HEADER_BYTES];
                assert_eq!(h, record::header(&payload), "record header at {at}");
                assert_eq!(&file[at + HEADER_BYTES..][..payload.len()], payload, "payload at {at}");
                at += HEADER_BYTES + payload.len();
                records.push(payload);
            }
            Ok(Next::End) => {
                assert_eq!(at, file.len(), "clean end before the end of the file");
                break End::Clean;
            }
            Ok(Next::Torn { offset }) => {
                assert_eq!(offset, at as u64, "torn tail not where the records stop");
                assert!(is_torn(&file[at..]), "complete bytes at {at} called a torn tail");
                break End::Torn(offset);
            }
            Err(e) => {
                assert!(e.is_corruption(), "WAL read: {e}");
                break End::Corrupt;
            }
        }
    };
    (records, end)
}

/// True when `rest` can only be an interrupted append: shorter than a header, all zeros, a
/// valid header whose payload runs past the end, or a valid header and nothing but zeros after.
fn is_torn(rest: &[u8]) -> bool {
    if rest.len() < HEADER_BYTES || rest.iter().all(|&b| b == 0) {
        return true;
    }
    let word = |i: usize| u32::from_le_bytes(rest[i..i + 4].try_into().expect("4 bytes"));
    let header_ok = crc32c::crc32c(&rest[..8]) == word(8);
    let len = word(4) as usize;
    header_ok && (HEADER_BYTES + len > rest.len() || rest[HEADER_BYTES..].iter().all(|&b| b == 0))
}

type Ops = Vec<(Vec<u8>, Option<Vec<u8>>)>;
/// A batch the harness wrote: its first seqno and operations.
type Written = (SeqNo, Ops);

/// A batch chosen by the input, and its operations.
fn batch_from(input: &mut Input<'_>) -> (WriteBatch, Ops) {
    let mut b = WriteBatch::new();
    let mut ops = Ops::new();
    for _ in 0..input.below(5) {
        let key = input.user_key();
        if input.one_in(4) {
            b.delete(&key);
            ops.push((key, None));
        } else {
            let value = input.value();
            b.put(&key, &value);
            ops.push((key, Some(value)));
        }
    }
    (b, ops)
}

/// Checks a payload that decodes as a batch; `wrote` is the batch the harness framed, if any.
fn check_batch(payload: &[u8], wrote: Option<&Written>) {
    let payload = Bytes::copy_from_slice(payload);
    let decoded = batch::decode(&payload);
    if let Some((first, ops)) = wrote {
        let in_range = first.checked_add(ops.len() as u64).is_some_and(|e| e <= ikey::SEQNO_MAX);
        assert_eq!(decoded.is_ok(), in_range, "a batch the harness wrote: {decoded:?}");
    }
    let Ok((first, decoded)) = decoded else { return };
    let count = u32::from_le_bytes(payload[8..BATCH_HEADER_BYTES].try_into().expect("header"));
    assert_eq!(decoded.len(), count as usize, "op count");
    let mut again = WriteBatch::new();
    for (i, op) in decoded.iter().enumerate() {
        assert_eq!(op.seq, first + i as u64, "seqnos are consecutive");
        assert!(op.seq <= ikey::SEQNO_MAX);
        assert!(op.key.len() <= KEY_BYTES_MAX && op.value.len() <= VALUE_BYTES_MAX);
        match op.kind {
            ValueKind::Put => again.put(&op.key, &op.value),
            ValueKind::Delete => {
                assert!(op.value.is_empty(), "a delete with a value");
                again.delete(&op.key);
            }
        }
    }
    assert_eq!(batch::decode(&again.seal(first)).as_ref(), Ok(&(first, decoded.clone())));
    if let Some((_, ops)) = wrote {
        let got: Ops = decoded
            .iter()
            .map(|op| {
                let value = (op.kind == ValueKind::Put).then(|| op.value.to_vec());
                (op.key.to_vec(), value)
            })
            .collect();
        assert_eq!(&got, ops, "a batch the harness wrote decodes differently");
    }
}

/// The files of a freshly created, closed database, and the name of its (empty) WAL.
type Template = (Vec<(PathBuf, Vec<u8>)>, PathBuf);

/// [`Template`], made once.
fn template() -> &'static Template {
    static TEMPLATE: OnceLock<Template> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let fs = SimFs::new();
        let db = Db::open(DIR, options(&fs)).expect("create a database in memory");
        drop(db);
        let dir = Path::new(DIR);
        let names = fs.list(dir).expect("list");
        let wal = names.iter().find(|n| n.ends_with(".wal")).expect("a new database has a WAL");
        let files = names
            .iter()
            .map(|n| (dir.join(n), fs.read_file(&dir.join(n)).expect("listed")))
            .collect();
        (files, dir.join(wal))
    })
}

fn options(fs: &SimFs) -> Options {
    Options::default().sync_interval(Duration::ZERO).fs(Arc::new(fs.clone()))
}

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

/// What recovery must give for these records: the contents and the last seqno, or `None`
/// where it must fail.
fn expected_recovery(records: &[Vec<u8>], end: &End) -> Option<(Model, SeqNo)> {
    if *end == End::Corrupt {
        return None;
    }
    let mut model = Model::new();
    let mut next: Option<SeqNo> = None;
    for payload in records {
        let (first, ops) = batch::decode(&Bytes::copy_from_slice(payload)).ok()?;
        // A new database's MANIFEST says seqno 0: the first batch starts at 1 at the latest.
        let chained = next.map_or(first <= 1, |n| first == n);
        if !chained {
            return None;
        }
        next = Some(first + ops.len() as u64);
        for op in ops {
            match op.kind {
                ValueKind::Put => model.insert(op.key.to_vec(), op.value.to_vec()),
                ValueKind::Delete => model.remove(&op.key[..]),
            };
        }
    }
    Some((model, next.map_or(0, |n| n.saturating_sub(1))))
}

/// Opens a database whose WAL is `file` and checks it against [`expected_recovery`].
fn check_recovery(file: &[u8], records: &[Vec<u8>], end: &End) {
    let (files, wal) = template();
    let fs = SimFs::new();
    for (path, bytes) in files {
        fs.write_file(path, bytes);
    }
    fs.write_file(wal, file);
    let expected = expected_recovery(records, end);
    let db = match (Db::open(DIR, options(&fs)), expected) {
        (Ok(db), Some((model, last_seqno))) => {
            let got: Model = db
                .iter()
                .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())))
                .collect::<crate::Result<_>>()
                .expect("read what recovery wrote");
            assert_eq!(got, model, "recovered contents");
            assert_eq!(db.stats().last_seqno, last_seqno, "recovered last seqno");
            db
        }
        (Err(e), None) => {
            assert!(e.is_corruption(), "recovery: {e}");
            return;
        }
        (Ok(_), None) => panic!("recovery accepted a WAL it must refuse"),
        (Err(e), Some(_)) => panic!("recovery refused a good WAL: {e}"),
    };
    db.put("after recovery", "x").expect("write after recovery");
    assert_eq!(db.get("after recovery").expect("read").as_deref(), Some(&b"x"[..]));
}

/// See [`super::fuzz_wal_reader`].
pub(crate) fn fuzz_wal_reader(data: &[u8]) {
    let mut input = Input::new(data);
    let mut file = Vec::new();
    // What the harness framed: each payload, and the batch it holds if the harness made one.
    let mut framed: Vec<(Vec<u8>, Option<Written>)> = Vec::new();
    if input.u8() % 2 == 1 {
        let mut next_seq: SeqNo = 1;
        for _ in 0..input.below(8) {
            if input.one_in(3) {
                framed.push((input.chunk(64).to_vec(), None));
            } else {
                let (b, ops) = batch_from(&mut input);
                let first = match input.u8() {
                    0xff => ikey::SEQNO_MAX - u64::from(input.u8()),
                    0xf0.. => SeqNo::from(input.u8()),
                    _ => next_seq,
                };
                next_seq = first.saturating_add(ops.len() as u64);
                framed.push((b.seal(first).to_vec(), Some((first, ops))));
            }
        }
        for (payload, _) in &framed {
            record::encode(&mut file, payload);
        }
    }
    file.extend_from_slice(input.rest());

    let path = Path::new(DIR).join("000001.wal");
    let (records, end) = read_all(&file, &path);
    assert!(records.len() >= framed.len(), "valid records were lost: {end:?}");
    for (i, (payload, wrote)) in framed.iter().enumerate() {
        assert_eq!(&records[i], payload, "record {i}");
        check_batch(payload, wrote.as_ref());
    }
    for payload in &records[framed.len()..] {
        check_batch(payload, None);
    }
    check_recovery(&file, &records, &end);
}
