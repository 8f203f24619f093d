//! Versions and version edits: which SSTs make up the database (docs/format/manifest.md).
//!
//! A [`Version`] is an immutable list of SST files per level; readers hold an `Arc` of one for
//! as long as they read. A [`VersionEdit`] is a delta (files added and removed, plus counters)
//! and is what the MANIFEST records. Applying an edit makes a new version; the old one lives
//! on until its last reader lets go.
//!
//! Edit encoding: a sequence of fields, each a varint tag followed by its values:
//! `1 log_number` · `2 next_file_number` · `3 last_seqno` (varints) ·
//! `4 new_file: level, number, file_bytes (varints), smallest, largest (length-prefixed),
//! entries, tombstones (varints)` ·
//! `5 deleted_file: level, number (varints)`. Unknown tags are corruption.

use crate::encoding::{Decoder, put_length_prefixed, put_varint};
use crate::files;
use crate::ikey::{self, SeqNo};
use std::sync::Arc;

/// Levels in the tree (L0 to L6).
pub(crate) const LEVELS: usize = 7;

/// An SST in a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileMeta {
    pub number: u64,
    pub file_bytes: u64,
    /// Smallest and largest internal keys in the file.
    pub smallest: Vec<u8>,
    pub largest: Vec<u8>,
    /// Entries in the file, and how many of them are tombstones: the picker compacts
    /// tombstone-heavy files sooner, so deleted space comes back.
    pub entries: u64,
    pub tombstones: u64,
}

impl FileMeta {
    /// True when the file may hold user keys in `[lo, hi]` (either side open).
    pub(crate) fn overlaps(&self, lo: Option<&[u8]>, hi: Option<&[u8]>) -> bool {
        let small = ikey::user_key(&self.smallest);
        let large = ikey::user_key(&self.largest);
        lo.is_none_or(|lo| large >= lo) && hi.is_none_or(|hi| small <= hi)
    }
}

const TAG_LOG_NUMBER: u64 = 1;
const TAG_NEXT_FILE: u64 = 2;
const TAG_LAST_SEQNO: u64 = 3;
const TAG_NEW_FILE: u64 = 4;
const TAG_DELETED_FILE: u64 = 5;

/// A change to the set of files, as the MANIFEST records it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct VersionEdit {
    /// WALs numbered below this are no longer needed.
    pub log_number: Option<u64>,
    pub next_file_number: Option<u64>,
    pub last_seqno: Option<SeqNo>,
    pub new_files: Vec<(usize, FileMeta)>,
    pub deleted_files: Vec<(usize, u64)>,
}

impl VersionEdit {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (tag, v) in [
            (TAG_LOG_NUMBER, self.log_number),
            (TAG_NEXT_FILE, self.next_file_number),
            (TAG_LAST_SEQNO, self.last_seqno),
        ] {
            if let Some(v) = v {
                put_varint(&mut out, tag);
                put_varint(&mut out, v);
            }
        }
        for (level, f) in &self.new_files {
            put_varint(&mut out, TAG_NEW_FILE);
            put_varint(&mut out, *level as u64);
            put_varint(&mut out, f.number);
            put_varint(&mut out, f.file_bytes);
            put_length_prefixed(&mut out, &f.smallest);
            put_length_prefixed(&mut out, &f.largest);
            put_varint(&mut out, f.entries);
            put_varint(&mut out, f.tombstones);
        }
        for (level, number) in &self.deleted_files {
            put_varint(&mut out, TAG_DELETED_FILE);
            put_varint(&mut out, *level as u64);
            put_varint(&mut out, *number);
        }
        out
    }

    /// Decodes an edit; `Err(reason)` on malformed bytes.
    pub(crate) fn decode(bytes: &[u8]) -> Result<VersionEdit, String> {
        let mut d = Decoder::new(bytes);
        let mut e = VersionEdit::default();
        let short = || "edit is cut short".to_string();
        while !d.is_empty() {
            match d.varint().ok_or_else(short)? {
                TAG_LOG_NUMBER => e.log_number = Some(file_number(d.varint().ok_or_else(short)?)?),
                TAG_NEXT_FILE => {
                    e.next_file_number = Some(file_number(d.varint().ok_or_else(short)?)?);
                }
                TAG_LAST_SEQNO => {
                    let seqno = d.varint().ok_or_else(short)?;
                    if seqno > ikey::SEQNO_MAX {
                        return Err(format!("last seqno {seqno} is past the largest seqno"));
                    }
                    e.last_seqno = Some(seqno);
                }
                TAG_NEW_FILE => {
                    let level = level(d.varint().ok_or_else(short)?)?;
                    let number = file_number(d.varint().ok_or_else(short)?)?;
                    let file_bytes = d.varint().ok_or_else(short)?;
                    let smallest = d.length_prefixed().ok_or_else(short)?.to_vec();
                    let largest = d.length_prefixed().ok_or_else(short)?.to_vec();
                    let entries = d.varint().ok_or_else(short)?;
                    let tombstones = d.varint().ok_or_else(short)?;
                    if ikey::parse(&smallest).is_none() || ikey::parse(&largest).is_none() {
                        return Err(format!("file {number} has a malformed key range"));
                    }
                    if ikey::compare(&smallest, &largest) == std::cmp::Ordering::Greater {
                        return Err(format!(
                            "file {number} has its smallest key above its largest"
                        ));
                    }
                    if tombstones > entries {
                        return Err(format!("file {number} has more tombstones than entries"));
                    }
                    let f = FileMeta { number, file_bytes, smallest, largest, entries, tombstones };
                    e.new_files.push((level, f));
                }
                TAG_DELETED_FILE => {
                    let level = level(d.varint().ok_or_else(short)?)?;
                    e.deleted_files.push((level, file_number(d.varint().ok_or_else(short)?)?));
                }
                tag => return Err(format!("unknown edit tag {tag}")),
            }
        }
        Ok(e)
    }
}

fn file_number(v: u64) -> Result<u64, String> {
    if v > files::FILE_NUMBER_MAX {
        return Err(format!("file number {v} is past the limit of {}", files::FILE_NUMBER_MAX));
    }
    Ok(v)
}

fn level(v: u64) -> Result<usize, String> {
    usize::try_from(v).ok().filter(|&l| l < LEVELS).ok_or_else(|| format!("level {v} out of range"))
}

/// The SSTs of the database at one point in time.
#[derive(Debug, Clone)]
pub(crate) struct Version {
    /// `levels[0]` newest first (by file number); deeper levels ordered by smallest key.
    pub levels: Vec<Vec<Arc<FileMeta>>>,
}

impl Default for Version {
    fn default() -> Version {
        Version { levels: vec![Vec::new(); LEVELS] }
    }
}

impl Version {
    /// The version after `edit`; `Err(reason)` if the edit does not fit this version.
    pub(crate) fn apply(&self, edit: &VersionEdit) -> Result<Version, String> {
        let mut levels = self.levels.clone();
        // Files an edit deletes and adds again (a move down a level) keep their `Arc`: readers
        // of older versions and obsolete-file tracking must see one file, not two.
        let mut moved: Vec<Arc<FileMeta>> = Vec::new();
        for (level, number) in &edit.deleted_files {
            let files = &mut levels[*level];
            let Some(i) = files.iter().position(|f| f.number == *number) else {
                return Err(format!("edit deletes file {number}, which is not in L{level}"));
            };
            moved.push(files.remove(i));
        }
        for (level, f) in &edit.new_files {
            if levels.iter().flatten().any(|g| g.number == f.number) {
                return Err(format!("edit adds file {} twice", f.number));
            }
            let same = moved.iter().find(|g| g.number == f.number && ***g == *f).cloned();
            levels[*level].push(same.unwrap_or_else(|| Arc::new(f.clone())));
        }
        levels[0].sort_by_key(|f| std::cmp::Reverse(f.number));
        for files in levels.iter_mut().skip(1) {
            files.sort_by(|a, b| ikey::compare(&a.smallest, &b.smallest));
        }
        let v = Version { levels };
        v.check_invariants()?;
        Ok(v)
    }

    /// Files in L1 and deeper do not overlap within their level.
    pub(crate) fn check_invariants(&self) -> Result<(), String> {
        for (level, files) in self.levels.iter().enumerate().skip(1) {
            for pair in files.windows(2) {
                if ikey::compare(&pair[0].largest, &pair[1].smallest) != std::cmp::Ordering::Less {
                    return Err(format!(
                        "L{level} files {} and {} overlap",
                        pair[0].number, pair[1].number
                    ));
                }
            }
        }
        Ok(())
    }

    /// Every file, any level.
    pub(crate) fn files(&self) -> impl Iterator<Item = &Arc<FileMeta>> {
        self.levels.iter().flatten()
    }

    /// An edit that recreates this version from nothing (the first record of a new MANIFEST).
    pub(crate) fn snapshot_edit(&self) -> VersionEdit {
        let new_files = self
            .levels
            .iter()
            .enumerate()
            .flat_map(|(l, files)| files.iter().map(move |f| (l, FileMeta::clone(f))))
            .collect();
        VersionEdit { new_files, ..VersionEdit::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ikey::ValueKind;

    fn meta(number: u64, lo: &[u8], hi: &[u8]) -> FileMeta {
        FileMeta {
            number,
            file_bytes: 100,
            smallest: ikey::make(lo, 5, ValueKind::Put),
            largest: ikey::make(hi, 1, ValueKind::Delete),
            entries: 10,
            tombstones: 1,
        }
    }

    #[test]
    fn edit_round_trips() {
        let e = VersionEdit {
            log_number: Some(4),
            next_file_number: Some(9),
            last_seqno: Some(1 << 40),
            new_files: vec![(0, meta(7, b"a", b"z")), (2, meta(8, b"", b"\xff"))],
            deleted_files: vec![(1, 3)],
        };
        assert_eq!(VersionEdit::decode(&e.encode()), Ok(e));
    }

    #[test]
    fn edit_decode_rejects_bad_tags_levels_and_truncation() {
        assert!(VersionEdit::decode(&[99, 1]).is_err());
        let e = VersionEdit { new_files: vec![(0, meta(7, b"a", b"z"))], ..Default::default() };
        let bytes = e.encode();
        for cut in 1..bytes.len() {
            assert!(VersionEdit::decode(&bytes[..cut]).is_err(), "cut {cut}");
        }
        assert!(VersionEdit::decode(&[TAG_DELETED_FILE as u8, LEVELS as u8, 1]).is_err());
    }

    #[test]
    fn edit_decode_accepts_file_numbers_at_limit_and_rejects_one_past() {
        let max = files::FILE_NUMBER_MAX;
        let edits = |n: u64| {
            [
                VersionEdit { log_number: Some(n), ..Default::default() },
                VersionEdit { next_file_number: Some(n), ..Default::default() },
                VersionEdit { new_files: vec![(1, meta(n, b"a", b"b"))], ..Default::default() },
                VersionEdit { deleted_files: vec![(1, n)], ..Default::default() },
            ]
        };
        for edit in edits(max) {
            assert_eq!(VersionEdit::decode(&edit.encode()), Ok(edit));
        }
        for edit in edits(max + 1).into_iter().chain(edits(u64::MAX)) {
            assert!(VersionEdit::decode(&edit.encode()).is_err(), "{edit:?}");
        }
    }

    #[test]
    fn edit_decode_accepts_last_seqno_at_limit_and_rejects_one_past() {
        let at = VersionEdit { last_seqno: Some(ikey::SEQNO_MAX), ..Default::default() };
        assert_eq!(VersionEdit::decode(&at.encode()), Ok(at));
        let past = VersionEdit { last_seqno: Some(ikey::SEQNO_MAX + 1), ..Default::default() };
        assert!(VersionEdit::decode(&past.encode()).is_err());
        let max = VersionEdit { last_seqno: Some(u64::MAX), ..Default::default() };
        assert!(VersionEdit::decode(&max.encode()).is_err());
    }

    #[test]
    fn edit_decode_rejects_a_file_whose_smallest_key_is_above_its_largest() {
        let inverted =
            VersionEdit { new_files: vec![(1, meta(7, b"z", b"a"))], ..Default::default() };
        let err = VersionEdit::decode(&inverted.encode()).expect_err("inverted range");
        assert!(err.contains("smallest key above its largest"), "{err}");
        // One user key, newest version first: smallest and largest may share the user key.
        let one_key =
            VersionEdit { new_files: vec![(1, meta(8, b"k", b"k"))], ..Default::default() };
        assert_eq!(VersionEdit::decode(&one_key.encode()), Ok(one_key));
    }

    #[test]
    fn version_apply_keeps_a_moved_file_the_same_arc() {
        let v = Version::default()
            .apply(&VersionEdit { new_files: vec![(4, meta(7, b"a", b"c"))], ..Default::default() })
            .expect("applies");
        let moved = v
            .apply(&VersionEdit {
                deleted_files: vec![(4, 7)],
                new_files: vec![(5, meta(7, b"a", b"c"))],
                ..Default::default()
            })
            .expect("applies");
        assert!(Arc::ptr_eq(&v.levels[4][0], &moved.levels[5][0]), "one file, one Arc");
    }

    #[test]
    fn version_apply_orders_l0_newest_first_and_rejects_bad_edits() {
        let v = Version::default();
        let e = VersionEdit {
            new_files: vec![(0, meta(3, b"a", b"c")), (0, meta(5, b"b", b"d"))],
            ..Default::default()
        };
        let v = v.apply(&e).expect("applies");
        assert_eq!(v.levels[0].iter().map(|f| f.number).collect::<Vec<_>>(), vec![5, 3]);
        assert!(v.apply(&e).is_err(), "adding a file twice");
        let del = VersionEdit { deleted_files: vec![(1, 3)], ..Default::default() };
        assert!(v.apply(&del).is_err(), "deleting a file from the wrong level");
        let overlap = VersionEdit {
            new_files: vec![(1, meta(10, b"a", b"m")), (1, meta(11, b"k", b"z"))],
            ..Default::default()
        };
        assert!(v.apply(&overlap).is_err());
    }
}
