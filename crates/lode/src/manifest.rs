//! The MANIFEST and CURRENT: the durable history of versions (docs/format/manifest.md).
//!
//! A MANIFEST is a file of checksummed records (the WAL's framing, [`crate::record`]), each one
//! encoded [`VersionEdit`]. The first record of a MANIFEST describes the whole version; later
//! ones are deltas. An edit is durable (appended and fsynced) before the version it makes is
//! installed, and before any file it makes obsolete is deleted.
//!
//! `CURRENT` names the live MANIFEST: one line with the name, a second with its CRC32C in hex.
//! It is replaced atomically: write `CURRENT.tmp`, fsync it, rename it over `CURRENT`, fsync
//! the directory. A new MANIFEST is written on every open, so none grows without bound across
//! restarts.

use crate::files::{self, CURRENT, CURRENT_TMP, FileKind};
use crate::fs::{Fs, WritableFile, read_small_file};
use crate::ikey::SeqNo;
use crate::record::{self, Next, RecordReader};
use crate::version::{Version, VersionEdit};
use crate::{Error, Result};
use std::path::Path;
use std::sync::Arc;

/// CURRENT is two short lines; anything longer is not ours.
const CURRENT_BYTES_MAX: u64 = 256;

/// What `CURRENT` contains for the MANIFEST numbered `number`.
pub(crate) fn current_contents(number: u64) -> String {
    let name = files::manifest_name(number);
    format!("{name}\n{:08x}\n", crc32c::crc32c(name.as_bytes()))
}

/// The MANIFEST number `CURRENT` names, or `None` when there is no `CURRENT` (a new database).
pub(crate) fn read_current(fs: &dyn Fs, dir: &Path) -> Result<Option<u64>> {
    let path = dir.join(CURRENT);
    let bytes = match read_small_file(fs, &path, CURRENT_BYTES_MAX) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            return Err(Error::corruption(&path, 0, e.to_string()));
        }
        Err(e) => return Err(e.into()),
    };
    let bad = |why: &str| Error::corruption(&path, 0, why.to_string());
    let text = std::str::from_utf8(&bytes).map_err(|_| bad("CURRENT is not text"))?;
    let mut lines = text.split_terminator('\n');
    let (Some(name), Some(crc), None) = (lines.next(), lines.next(), lines.next()) else {
        return Err(bad("CURRENT does not have two lines"));
    };
    if format!("{:08x}", crc32c::crc32c(name.as_bytes())) != crc || !text.ends_with('\n') {
        return Err(bad("CURRENT checksum mismatch"));
    }
    match files::parse(name) {
        Some((FileKind::Manifest, n)) => Ok(Some(n)),
        _ => Err(bad("CURRENT does not name a MANIFEST")),
    }
}

/// Points `CURRENT` at MANIFEST `number`, atomically and durably.
pub(crate) fn set_current(fs: &dyn Fs, dir: &Path, number: u64) -> Result<()> {
    let tmp = dir.join(CURRENT_TMP);
    let file = fs.create(&tmp)?;
    file.append(current_contents(number).as_bytes())?;
    file.sync()?;
    drop(file);
    fs.rename(&tmp, &dir.join(CURRENT))?;
    fs.sync_dir(dir)?;
    Ok(())
}

/// The state a MANIFEST replays to.
#[derive(Debug, Default)]
pub(crate) struct Replayed {
    pub version: Version,
    pub log_number: u64,
    pub next_file_number: u64,
    pub last_seqno: SeqNo,
}

impl Replayed {
    /// The state of a MANIFEST numbered `number` before its first edit.
    pub(crate) fn new(number: u64) -> Replayed {
        Replayed { next_file_number: number + 1, ..Replayed::default() }
    }

    /// Applies the next edit of the MANIFEST; `Err(reason)` if it does not fit the version.
    pub(crate) fn apply(&mut self, edit: &VersionEdit) -> Result<(), String> {
        self.version = self.version.apply(edit)?;
        if let Some(n) = edit.log_number {
            self.log_number = self.log_number.max(n);
        }
        if let Some(n) = edit.next_file_number {
            self.next_file_number = self.next_file_number.max(n);
        }
        if let Some(s) = edit.last_seqno {
            self.last_seqno = self.last_seqno.max(s);
        }
        Ok(())
    }
}

/// Replays MANIFEST `number`. A torn tail (an edit whose append was cut short by a crash)
/// is ignored: that edit never took effect. Any other damage is corruption.
pub(crate) fn replay(fs: &dyn Fs, dir: &Path, number: u64) -> Result<Replayed> {
    let path = dir.join(files::manifest_name(number));
    let file = fs.open(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::corruption(&path, 0, "CURRENT names a MANIFEST that does not exist")
        } else {
            e.into()
        }
    })?;
    let mut reader = RecordReader::new(file, &path);
    let mut state = Replayed::new(number);
    let mut records = 0;
    // A torn tail (`Next::Torn`) ends replay like the end of the file does.
    while let Next::Record { offset, payload } = reader.next()? {
        let edit =
            VersionEdit::decode(&payload).map_err(|why| Error::corruption(&path, offset, why))?;
        state.apply(&edit).map_err(|why| Error::corruption(&path, offset, why))?;
        records += 1;
    }
    if records == 0 {
        return Err(Error::corruption(&path, 0, "MANIFEST holds no complete edit"));
    }
    Ok(state)
}

/// The MANIFEST being appended to.
#[derive(Debug)]
pub(crate) struct ManifestWriter {
    file: Arc<dyn WritableFile>,
}

impl ManifestWriter {
    /// Creates MANIFEST `number` holding `first` (the whole version), durably, and returns it.
    /// The caller then points CURRENT at it.
    pub(crate) fn create(
        fs: &dyn Fs,
        dir: &Path,
        number: u64,
        first: &VersionEdit,
    ) -> Result<ManifestWriter> {
        let file = fs.create(&dir.join(files::manifest_name(number)))?;
        let w = ManifestWriter { file };
        w.append(first)?;
        fs.sync_dir(dir)?;
        Ok(w)
    }

    /// Appends an edit and fsyncs it.
    pub(crate) fn append(&self, edit: &VersionEdit) -> Result<()> {
        let mut buf = Vec::new();
        record::encode(&mut buf, &edit.encode());
        self.file.append(&buf)?;
        self.file.sync()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::SimFs;
    use crate::ikey::{self, ValueKind};
    use crate::version::FileMeta;

    #[test]
    fn current_round_trips_and_rejects_damage() {
        let fs = SimFs::new();
        let dir = Path::new("/db");
        fs.create_dir_all(dir).expect("mkdir");
        assert_eq!(read_current(&fs, dir).expect("no CURRENT"), None);
        set_current(&fs, dir, 12).expect("set");
        assert_eq!(read_current(&fs, dir).expect("read"), Some(12));
        let good = current_contents(12).into_bytes();
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x01;
            fs.write_file(&dir.join(CURRENT), &bad);
            let r = read_current(&fs, dir);
            assert!(r.as_ref().is_err_and(Error::is_corruption), "byte {i}: {r:?}");
        }
    }

    #[test]
    fn manifest_replays_edits_and_ignores_torn_tail() {
        let fs = SimFs::new();
        let dir = Path::new("/db");
        fs.create_dir_all(dir).expect("mkdir");
        let f = |n| FileMeta {
            number: n,
            file_bytes: 10,
            smallest: ikey::make(b"a", 1, ValueKind::Put),
            largest: ikey::make(b"b", 1, ValueKind::Put),
            entries: 2,
            tombstones: 0,
        };
        let first =
            VersionEdit { log_number: Some(2), next_file_number: Some(5), ..Default::default() };
        let w = ManifestWriter::create(&fs, dir, 3, &first).expect("create");
        w.append(&VersionEdit {
            new_files: vec![(0, f(6))],
            last_seqno: Some(40),
            ..Default::default()
        })
        .expect("append");
        let r = replay(&fs, dir, 3).expect("replay");
        assert_eq!((r.log_number, r.next_file_number, r.last_seqno), (2, 5, 40));
        assert_eq!(r.version.levels[0].len(), 1);

        let path = dir.join(files::manifest_name(3));
        let bytes = fs.read_file(&path).expect("exists");
        fs.write_file(&path, &bytes[..bytes.len() - 3]);
        let r = replay(&fs, dir, 3).expect("torn tail is not an error");
        assert_eq!(r.version.levels[0].len(), 0, "the torn edit did not take effect");
        fs.write_file(&path, &bytes[..5]);
        assert!(replay(&fs, dir, 3).is_err_and(|e| e.is_corruption()), "no complete edit");
    }
}

#[cfg(test)]
mod doc_tests {
    use crate::ikey::{self, ValueKind};
    use crate::version::{FileMeta, VersionEdit};

    #[test]
    fn current_doc_example_matches_encoder() {
        let doc = include_str!("../../../docs/format/manifest.md");
        let contents = super::current_contents(12);
        assert!(doc.contains(&format!("```\n{contents}```")), "CURRENT for 12 is:\n{contents}");
    }

    #[test]
    fn manifest_doc_hex_example_matches_encoder() {
        let edit = VersionEdit {
            log_number: Some(7),
            next_file_number: Some(9),
            last_seqno: Some(300),
            new_files: vec![(
                0,
                FileMeta {
                    number: 8,
                    file_bytes: 1000,
                    smallest: ikey::make(b"a", 1, ValueKind::Put),
                    largest: ikey::make(b"b", 2, ValueKind::Delete),
                    entries: 20,
                    tombstones: 3,
                },
            )],
            deleted_files: vec![(0, 5)],
        };
        let mut got = Vec::new();
        crate::record::encode(&mut got, &edit.encode());
        let want = lode_testkit::doc_hex_example(include_str!("../../../docs/format/manifest.md"));
        let hex: Vec<String> = got.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(got, want, "encoder produces: {}", hex.join(" "));
    }
}
