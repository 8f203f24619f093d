//! [`ManifestReader`]: the version edits of one MANIFEST, decoded and replayed with the
//! engine's own code (docs/format/manifest.md).

use super::{Damage, InternalKey, file_number};
use crate::Result;
use crate::fs::{Fs, RealFs};
use crate::ikey::SeqNo;
use crate::manifest::Replayed;
use crate::record::{HEADER_BYTES, Next, RecordReader};
use crate::version::VersionEdit;
use std::collections::VecDeque;
use std::path::Path;

/// An SST a version edit adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFile {
    /// Its level, 0 to 6.
    pub level: usize,
    /// Its file number (`NNNNNN.sst`).
    pub number: u64,
    /// Its length in bytes.
    pub file_bytes: u64,
    /// Its smallest internal key.
    pub smallest: InternalKey,
    /// Its largest internal key.
    pub largest: InternalKey,
    /// Entries it holds.
    pub entries: u64,
    /// How many of them are tombstones.
    pub tombstones: u64,
}

/// An SST a version edit removes from a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeletedFile {
    /// The level it leaves.
    pub level: usize,
    /// Its file number.
    pub number: u64,
}

/// One verified MANIFEST record: a version edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestEdit {
    /// Offset of the record in the file.
    pub offset: u64,
    /// Bytes of the record, header included.
    pub record_bytes: u64,
    /// WALs numbered below this are no longer needed.
    pub log_number: Option<u64>,
    /// The next file number to hand out.
    pub next_file_number: Option<u64>,
    /// The largest seqno in any SST.
    pub last_seqno: Option<SeqNo>,
    /// SSTs added.
    pub new_files: Vec<NewFile>,
    /// SSTs removed.
    pub deleted_files: Vec<DeletedFile>,
}

/// What reading a MANIFEST found next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestItem {
    /// A record that verified and decoded.
    Edit(ManifestEdit),
    /// A torn tail: an edit whose append a crash cut short. Recovery ignores it. Last.
    Torn {
        /// Where the torn record starts.
        offset: u64,
        /// Bytes from there to the end of the file.
        bytes: u64,
    },
    /// A record that failed its checksum or did not decode, an edit that does not apply to
    /// the version before it (it follows that edit's [`ManifestItem::Edit`]), or a MANIFEST
    /// with no complete edit. Any of these makes the engine refuse to open.
    Damaged(Damage),
}

/// Reads and replays the edits of one MANIFEST. An iterator of [`ManifestItem`]s.
#[derive(Debug)]
pub struct ManifestReader {
    records: RecordReader,
    file_bytes: u64,
    /// The version so far; `None` once any damage made it unknown.
    state: Option<Replayed>,
    edits: u64,
    queued: VecDeque<ManifestItem>,
    done: bool,
}

impl ManifestReader {
    /// Opens a MANIFEST for reading.
    ///
    /// # Errors
    /// [`crate::Error::Io`] if it cannot be opened.
    pub fn open(path: impl AsRef<Path>) -> Result<ManifestReader> {
        let path = path.as_ref();
        let file = RealFs.open(path)?;
        let file_bytes = file.len();
        Ok(ManifestReader {
            records: RecordReader::new(file, path),
            file_bytes,
            state: Some(Replayed::new(file_number(path))),
            edits: 0,
            queued: VecDeque::new(),
            done: false,
        })
    }

    /// The file's length when it was opened.
    pub fn file_bytes(&self) -> u64 {
        self.file_bytes
    }

    /// Bytes of the file read so far (all of it once the iterator is done): for progress.
    pub fn position(&self) -> u64 {
        if self.done { self.file_bytes } else { self.records.position() }
    }

    /// What the edits read so far replay to, as recovery would see it; `None` once anything
    /// was damaged (recovery would refuse the MANIFEST) or before the first complete edit.
    pub(crate) fn replayed(&self) -> Option<&Replayed> {
        self.state.as_ref().filter(|_| self.edits > 0)
    }

    fn damaged(&mut self, damage: Damage) -> ManifestItem {
        self.state = None;
        ManifestItem::Damaged(damage)
    }

    /// At the end of the records: a MANIFEST with no complete edit is damaged.
    fn finish(&mut self) {
        self.done = true;
        if self.edits == 0 && self.state.is_some() {
            let damage = self
                .damaged(Damage { offset: 0, reason: "MANIFEST holds no complete edit".into() });
            self.queued.push_back(damage);
        }
    }

    fn edit(&mut self, offset: u64, payload: &[u8]) -> ManifestItem {
        let record_bytes = (HEADER_BYTES + payload.len()) as u64;
        let edit = match VersionEdit::decode(payload) {
            Ok(edit) => edit,
            Err(reason) => return self.damaged(Damage { offset, reason }),
        };
        self.edits += 1;
        if let Some(state) = &mut self.state
            && let Err(why) = state.apply(&edit)
        {
            let damage =
                self.damaged(Damage { offset, reason: format!("edit does not apply: {why}") });
            self.queued.push_back(damage);
        }
        let key = |k: &[u8]| InternalKey::parse(k).expect("VersionEdit::decode checked the key");
        ManifestItem::Edit(ManifestEdit {
            offset,
            record_bytes,
            log_number: edit.log_number,
            next_file_number: edit.next_file_number,
            last_seqno: edit.last_seqno,
            new_files: edit
                .new_files
                .iter()
                .map(|(level, f)| NewFile {
                    level: *level,
                    number: f.number,
                    file_bytes: f.file_bytes,
                    smallest: key(&f.smallest),
                    largest: key(&f.largest),
                    entries: f.entries,
                    tombstones: f.tombstones,
                })
                .collect(),
            deleted_files: edit
                .deleted_files
                .iter()
                .map(|&(level, number)| DeletedFile { level, number })
                .collect(),
        })
    }
}

impl Iterator for ManifestReader {
    type Item = ManifestItem;

    fn next(&mut self) -> Option<ManifestItem> {
        if let Some(item) = self.queued.pop_front() {
            return Some(item);
        }
        if self.done {
            return None;
        }
        match self.records.next() {
            Ok(Next::Record { offset, payload }) => Some(self.edit(offset, &payload)),
            Ok(Next::End) => {
                self.finish();
                self.queued.pop_front()
            }
            Ok(Next::Torn { offset }) => {
                self.finish();
                Some(ManifestItem::Torn { offset, bytes: self.file_bytes - offset })
            }
            Err(e) => {
                let damage = Damage::from_error(e, self.records.position());
                if !self.records.skip_damaged() {
                    self.done = true;
                }
                Some(self.damaged(damage))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ikey::{self, ValueKind};
    use crate::record;
    use crate::version::FileMeta;

    fn meta(number: u64, lo: &[u8], hi: &[u8]) -> FileMeta {
        FileMeta {
            number,
            file_bytes: 1000 + number,
            smallest: ikey::make(lo, 5, ValueKind::Put),
            largest: ikey::make(hi, 1, ValueKind::Delete),
            entries: 10,
            tombstones: 1,
        }
    }

    fn manifest(edits: &[VersionEdit]) -> Vec<u8> {
        let mut out = Vec::new();
        for e in edits {
            record::encode(&mut out, &e.encode());
        }
        out
    }

    fn read_all(bytes: &[u8]) -> (Vec<ManifestItem>, Option<(usize, u64)>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("MANIFEST-000003");
        std::fs::write(&path, bytes).expect("write");
        let mut r = ManifestReader::open(&path).expect("open");
        let items: Vec<ManifestItem> = r.by_ref().collect();
        assert_eq!(r.position(), bytes.len() as u64);
        let state = r.replayed().map(|s| (s.version.files().count(), s.next_file_number));
        (items, state)
    }

    fn edits() -> Vec<VersionEdit> {
        vec![
            VersionEdit {
                log_number: Some(4),
                next_file_number: Some(9),
                last_seqno: Some(77),
                new_files: vec![(0, meta(7, b"a", b"m")), (1, meta(8, b"n", b"z"))],
                ..Default::default()
            },
            VersionEdit { deleted_files: vec![(0, 7)], ..Default::default() },
        ]
    }

    #[test]
    fn manifest_reader_decodes_and_replays_edits() {
        let (items, state) = read_all(&manifest(&edits()));
        assert_eq!(state, Some((1, 9)));
        let [ManifestItem::Edit(a), ManifestItem::Edit(b)] = &items[..] else {
            panic!("{items:?}")
        };
        assert_eq!((a.offset, a.log_number, a.last_seqno), (0, Some(4), Some(77)));
        let f = &a.new_files[1];
        assert_eq!((f.level, f.number, f.file_bytes, f.entries, f.tombstones), (1, 8, 1008, 10, 1));
        assert_eq!((&f.smallest.user_key[..], f.smallest.seqno), (&b"n"[..], 5));
        assert_eq!(b.deleted_files, vec![DeletedFile { level: 0, number: 7 }]);
        assert_eq!(b.offset, a.record_bytes);
    }

    #[test]
    fn manifest_reader_reports_an_edit_that_does_not_apply_and_forgets_the_version() {
        let mut e = edits();
        e.push(VersionEdit { deleted_files: vec![(3, 8)], ..Default::default() });
        let (items, state) = read_all(&manifest(&e));
        assert_eq!(state, None);
        assert_eq!(items.len(), 4, "{items:?}");
        let ManifestItem::Edit(third) = &items[2] else { panic!("{items:?}") };
        assert!(
            matches!(&items[3], ManifestItem::Damaged(d) if d.offset == third.offset && d.reason.contains("not in L3"))
        );
    }

    #[test]
    fn manifest_reader_reports_torn_tail_empty_file_and_bad_checksum() {
        let good = manifest(&edits());
        let (items, state) = read_all(&good[..good.len() - 1]);
        assert!(matches!(items.last(), Some(ManifestItem::Torn { .. })), "{items:?}");
        assert_eq!(state, Some((2, 9)), "the torn edit did not take effect");

        let (items, state) = read_all(&good[..5]);
        assert_eq!(state, None);
        assert!(
            matches!(&items[..], [ManifestItem::Torn { offset: 0, bytes: 5 }, ManifestItem::Damaged(d)] if d.reason.contains("no complete edit")),
            "{items:?}"
        );

        let mut bad = good.clone();
        let last = bad.len() - 2;
        bad[last] ^= 1;
        let (items, state) = read_all(&bad);
        assert_eq!(state, None);
        assert!(
            matches!(&items[1], ManifestItem::Damaged(d) if d.reason.contains("checksum")),
            "{items:?}"
        );
    }
}
