//! [`check`]: verifies every checksum of every file of a closed data directory or a checkpoint,
//! and that the files agree with each other the way recovery needs them to.

use super::{Damage, InternalKey, ManifestItem, ManifestReader, SstReader, WalItem, WalReader};
use crate::db::SeqChain;
use crate::files::{self, CURRENT, CURRENT_TMP, FileKind, LOCK};
use crate::fs::{Fs, RealFs};
use crate::manifest;
use crate::version::FileMeta;
use crate::{Error, Result};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// How much a [`Finding`] matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Damage, or files that disagree: the engine would refuse to open the directory or
    /// could not serve some of its data.
    Problem,
    /// Not damage, but not expected either: a file nobody names (the next open deletes the
    /// ones that are Lode's), or one that is not Lode's.
    Warning,
    /// Expected after a crash and handled by recovery, such as a torn tail of the newest WAL.
    Note,
}

/// One thing the check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// How much it matters.
    pub severity: Severity,
    /// The file's name inside the directory.
    pub file: String,
    /// Byte offset of the record or block, where one is known.
    pub offset: Option<u64>,
    /// What is wrong, for a human.
    pub what: String,
}

/// What [`check`] verified and found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Files read: CURRENT, the MANIFEST, live SSTs and WALs.
    pub files: u64,
    /// WAL batches and MANIFEST edits that verified.
    pub records: u64,
    /// SST blocks (data, index, filter) that verified.
    pub blocks: u64,
    /// Entries of the data blocks that verified.
    pub entries: u64,
    /// Bytes covered by a checksum that verified (CURRENT and footers included).
    pub bytes: u64,
    /// Everything found, in the order found.
    pub findings: Vec<Finding>,
}

impl Report {
    /// Findings of [`Severity::Problem`].
    pub fn problems(&self) -> usize {
        self.count(Severity::Problem)
    }

    /// Findings of [`Severity::Warning`].
    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }

    /// Findings of [`Severity::Note`].
    pub fn notes(&self) -> usize {
        self.count(Severity::Note)
    }

    /// True when no problem was found (warnings and notes allowed).
    pub fn is_clean(&self) -> bool {
        self.problems() == 0
    }

    fn count(&self, s: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == s).count()
    }
}

/// Progress of a [`check`], for a progress bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckProgress {
    /// Sent once, when the files to read are known: their total length.
    Planned {
        /// Bytes the check will read.
        total_bytes: u64,
    },
    /// Sent as reading goes on: this many more bytes were read.
    Read {
        /// Bytes read since the last report.
        bytes: u64,
    },
    /// A finding, as soon as it is found (it is in the report too).
    Found(Finding),
}

/// Verifies the database in `dir`, which must not be in use: a closed database or a
/// checkpoint. Problems in its files are [`Finding`]s in the [`Report`]; `progress` hears of
/// them and of the bytes read as the check goes.
///
/// # Errors
/// Not for damage. [`Error::InvalidArgument`] when `dir` does not exist, is not a directory or
/// holds no Lode database; [`Error::Locked`] when an engine has it open (check a checkpoint
/// instead); [`Error::Io`] when it cannot be listed.
pub fn check(dir: &Path, progress: &mut dyn FnMut(CheckProgress)) -> Result<Report> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(Error::InvalidArgument(format!("{} is not a directory", dir.display())));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::InvalidArgument(format!("{} does not exist", dir.display())));
        }
        Err(e) => return Err(e.into()),
    }
    let _shared_lock = lock_shared(dir)?;
    let mut names = RealFs.list(dir)?;
    names.sort();
    let numbered: Vec<(FileKind, u64, &String)> =
        names.iter().filter_map(|n| files::parse(n).map(|(k, num)| (k, num, n))).collect();
    if numbered.is_empty() && !names.iter().any(|n| n == CURRENT) {
        return Err(Error::InvalidArgument(format!(
            "{} holds no Lode database (no CURRENT, MANIFEST, WAL or SST file); give the data directory or a checkpoint",
            dir.display()
        )));
    }
    let mut c = Checker { dir, report: Report::default(), progress };
    c.run(&names, &numbered);
    Ok(c.report)
}

/// Fails with [`Error::Locked`] if an engine holds the directory's `LOCK`; else holds a shared
/// lock on it (which an engine's exclusive lock waits out) until the guard is dropped. A
/// directory without `LOCK` (a checkpoint) needs none, and none is created.
fn lock_shared(dir: &Path) -> Result<Option<std::fs::File>> {
    let file = match std::fs::File::open(dir.join(LOCK)) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    match file.try_lock_shared() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Locked(dir.to_owned())),
        Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
    }
}

struct Checker<'a> {
    dir: &'a Path,
    report: Report,
    progress: &'a mut dyn FnMut(CheckProgress),
}

/// The directory's live set, as the MANIFEST says (when it replays).
struct Live {
    ssts: Vec<(usize, FileMeta)>,
    log_number: u64,
    last_seqno: u64,
}

impl Checker<'_> {
    fn find(&mut self, severity: Severity, file: &str, offset: Option<u64>, what: String) {
        let f = Finding { severity, file: file.to_string(), offset, what };
        (self.progress)(CheckProgress::Found(f.clone()));
        self.report.findings.push(f);
    }

    fn problem(&mut self, file: &str, offset: Option<u64>, what: impl Into<String>) {
        self.find(Severity::Problem, file, offset, what.into());
    }

    fn damage(&mut self, file: &str, d: Damage) {
        self.problem(file, Some(d.offset), d.reason);
    }

    /// An engine error met while reading `file`.
    fn error(&mut self, file: &str, e: Error) {
        match e {
            Error::Corruption { offset, reason, .. } => self.problem(file, Some(offset), reason),
            other => self.problem(file, None, other.to_string()),
        }
    }

    fn read(&mut self, bytes: u64) {
        if bytes > 0 {
            (self.progress)(CheckProgress::Read { bytes });
        }
    }

    fn len(&self, name: &str) -> u64 {
        std::fs::metadata(self.dir.join(name)).map_or(0, |m| m.len())
    }

    fn run(&mut self, names: &[String], numbered: &[(FileKind, u64, &String)]) {
        // CURRENT, then the MANIFEST it names: together they say which files are live.
        let manifest_number = self.current(names);
        let manifest_name = manifest_number.map(files::manifest_name);
        let (live, manifest_bytes) = match &manifest_name {
            Some(name) => self.manifest(name),
            None => (None, 0),
        };
        // Oldest first, as recovery replays them (numbers, not names: they may pass 6 digits).
        let wals_of = |pred: &dyn Fn(u64) -> bool| -> Vec<u64> {
            let mut wals: Vec<u64> = numbered
                .iter()
                .filter(|f| f.0 == FileKind::Wal && pred(f.1))
                .map(|f| f.1)
                .collect();
            wals.sort_unstable();
            wals
        };
        let (ssts, wals, mut chain): (Vec<(Option<usize>, FileMeta)>, Vec<u64>, _) = match &live {
            Some(live) => (
                live.ssts.iter().map(|(l, f)| (Some(*l), f.clone())).collect(),
                wals_of(&|n| n >= live.log_number),
                Some(SeqChain::new(live.last_seqno)),
            ),
            None => {
                // The MANIFEST cannot say what is live: verify every SST and WAL on their own.
                let ssts = numbered
                    .iter()
                    .filter(|f| f.0 == FileKind::Sst)
                    .map(|f| (None, FileMeta { number: f.1, ..standalone() }))
                    .collect();
                (ssts, wals_of(&|_| true), None)
            }
        };
        let planned: u64 = ssts
            .iter()
            .map(|(_, f)| self.len(&sst_name(f.number)))
            .chain(wals.iter().map(|&n| self.len(&wal_name(n))))
            .sum::<u64>()
            + self.len(CURRENT)
            + manifest_bytes;
        (self.progress)(CheckProgress::Planned { total_bytes: planned });
        self.read(self.len(CURRENT) + manifest_bytes);

        for (level, meta) in &ssts {
            self.sst(*level, meta);
        }
        if let (Some(live), Some(&first)) = (&live, wals.first())
            && first != live.log_number
        {
            let name = manifest_name.clone().unwrap_or_default();
            self.problem(
                &name,
                None,
                format!(
                    "WAL {} named by the MANIFEST is missing while newer WALs exist: an edit was lost",
                    live.log_number
                ),
            );
        }
        for (i, &number) in wals.iter().enumerate() {
            self.wal(number, i + 1 == wals.len(), &mut chain);
        }

        // Everything else in the directory.
        let live_ssts: BTreeSet<u64> = ssts.iter().map(|(_, f)| f.number).collect();
        for name in names {
            let why = match files::parse(name) {
                Some((FileKind::Sst, n)) if !live_ssts.contains(&n) => {
                    "an SST the MANIFEST does not name (left by a crash; the next open deletes it)"
                }
                Some((FileKind::Wal, n)) if !wals.contains(&n) => {
                    "a WAL older than the MANIFEST's log number, no longer needed (the next open deletes it)"
                }
                Some((FileKind::Manifest, _)) if Some(name) != manifest_name.as_ref() => {
                    "a MANIFEST that CURRENT does not name (the next open deletes it)"
                }
                Some(_) => continue,
                None if name == CURRENT || name == LOCK => continue,
                None if name == CURRENT_TMP => {
                    "a CURRENT.tmp left by a crash (the next open deletes it)"
                }
                None => "not a Lode file: nothing reads it",
            };
            self.find(Severity::Warning, name, None, why.to_string());
        }
    }

    /// Verifies CURRENT; the MANIFEST number it names.
    fn current(&mut self, names: &[String]) -> Option<u64> {
        if !names.iter().any(|n| n == CURRENT) {
            self.problem(
                CURRENT,
                None,
                "CURRENT is missing but WAL, SST or MANIFEST files are present",
            );
            return None;
        }
        self.report.files += 1;
        match manifest::read_current(&RealFs, self.dir) {
            Ok(Some(n)) => {
                self.report.bytes += self.len(CURRENT);
                Some(n)
            }
            Ok(None) => {
                self.problem(CURRENT, None, "CURRENT vanished while being checked");
                None
            }
            Err(e) => {
                self.error(CURRENT, e);
                None
            }
        }
    }

    /// Verifies and replays the MANIFEST; the live set if it replays, and its length.
    fn manifest(&mut self, name: &str) -> (Option<Live>, u64) {
        let mut reader = match ManifestReader::open(self.dir.join(name)) {
            Ok(r) => r,
            Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                self.problem(name, None, "CURRENT names this MANIFEST, which does not exist");
                return (None, 0);
            }
            Err(e) => {
                self.error(name, e);
                return (None, 0);
            }
        };
        self.report.files += 1;
        for item in reader.by_ref() {
            match item {
                ManifestItem::Edit(e) => {
                    self.report.records += 1;
                    self.report.bytes += e.record_bytes;
                }
                ManifestItem::Torn { offset, bytes } => self.find(
                    Severity::Note,
                    name,
                    Some(offset),
                    format!("torn tail of {bytes} bytes: an edit a crash cut short, which never took effect (recovery ignores it)"),
                ),
                ManifestItem::Damaged(d) => self.damage(name, d),
            }
        }
        let live = reader.replayed().map(|r| Live {
            ssts: r
                .version
                .levels
                .iter()
                .enumerate()
                .flat_map(|(l, files)| files.iter().map(move |f| (l, FileMeta::clone(f))))
                .collect(),
            log_number: r.log_number,
            last_seqno: r.last_seqno,
        });
        (live, reader.file_bytes())
    }

    /// Verifies one SST; with a `level`, also that it is what the MANIFEST says it is.
    fn sst(&mut self, level: Option<usize>, meta: &FileMeta) {
        let name = sst_name(meta.number);
        let path = self.dir.join(&name);
        let len = match std::fs::metadata(&path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let l = level.unwrap_or(0);
                return self.problem(
                    &name,
                    None,
                    format!("the MANIFEST names this SST (L{l}) but it is missing"),
                );
            }
            Err(e) => return self.problem(&name, None, e.to_string()),
        };
        if level.is_some() && len != meta.file_bytes {
            self.problem(
                &name,
                None,
                format!("the file is {len} bytes; the MANIFEST says {}", meta.file_bytes),
            );
        }
        self.report.files += 1;
        let reader = match SstReader::open(&path) {
            Ok(r) => r,
            Err(e) => {
                self.error(&name, e);
                return self.read(len);
            }
        };
        let p = *reader.properties();
        let head = (p.file_bytes - p.footer_offset)
            + p.index.disk_bytes()
            + p.filter.map_or(0, |f| f.block.disk_bytes());
        self.report.blocks += 1 + u64::from(p.filter.is_some());
        self.report.bytes += head;
        self.read(head);

        let mut seen = SstSeen::default();
        let mut filter_misses = 0u64;
        let mut first_miss = None;
        for (i, index_entry) in reader.index().iter().enumerate() {
            let block = index_entry.block;
            self.read(block.disk_bytes());
            let entries = match reader.block(i) {
                Ok(entries) => entries,
                Err(e) => {
                    seen.damaged = true;
                    self.error(&name, e);
                    continue;
                }
            };
            let lower = i.checked_sub(1).map(|j| &reader.index()[j].last_key);
            let mut block_ok = true;
            for entry in entries {
                let entry = match entry {
                    Ok(e) => e,
                    Err(e) => {
                        block_ok = false;
                        self.error(&name, e);
                        break;
                    }
                };
                let key = entry.key;
                let misfiled = key > index_entry.last_key || lower.is_some_and(|l| key <= *l);
                let unordered = seen.largest.as_ref().is_some_and(|prev| key <= *prev);
                if misfiled || unordered {
                    block_ok = false;
                    let what = if unordered {
                        "is not after the previous block's last key"
                    } else {
                        "is outside the range the index files the block under"
                    };
                    self.problem(&name, Some(block.offset), format!("key {key} {what}"));
                    break;
                }
                if !reader.may_contain(&key.user_key) {
                    filter_misses += 1;
                    first_miss.get_or_insert_with(|| key.clone());
                }
                seen.entries += 1;
                seen.tombstones += u64::from(key.kind == super::EntryKind::Delete);
                seen.smallest.get_or_insert_with(|| key.clone());
                seen.largest = Some(key);
            }
            if block_ok {
                self.report.blocks += 1;
                self.report.bytes += block.disk_bytes();
            } else {
                seen.damaged = true;
            }
        }
        self.report.entries += seen.entries;
        if let Some(key) = first_miss {
            self.problem(
                &name,
                p.filter.map(|f| f.block.offset),
                format!("the bloom filter lacks {filter_misses} of the table's keys, the first {key}: lookups of them would miss"),
            );
        }
        if level.is_some() && !seen.damaged {
            self.compare(&name, meta, &seen);
        }
    }

    /// The MANIFEST's facts about an SST against what the SST holds.
    fn compare(&mut self, name: &str, meta: &FileMeta, seen: &SstSeen) {
        let key = |k: &[u8]| InternalKey::parse(k);
        let show = |k: &Option<InternalKey>| k.as_ref().map_or("nothing".into(), |k| k.to_string());
        let mut differ = |what: &str, manifest: String, file: String| {
            self.problem(
                name,
                None,
                format!("the MANIFEST says {what} {manifest}; the file holds {file}"),
            );
        };
        if (meta.entries, meta.tombstones) != (seen.entries, seen.tombstones) {
            differ(
                "entries/tombstones",
                format!("{}/{}", meta.entries, meta.tombstones),
                format!("{}/{}", seen.entries, seen.tombstones),
            );
        }
        if key(&meta.smallest) != seen.smallest {
            differ("smallest key", show(&key(&meta.smallest)), show(&seen.smallest));
        }
        if key(&meta.largest) != seen.largest {
            differ("largest key", show(&key(&meta.largest)), show(&seen.largest));
        }
    }

    /// Verifies one WAL recovery would replay. A torn tail is a note in the newest, a problem
    /// in any other; the seqno chain is checked across WALs as recovery checks it.
    fn wal(&mut self, number: u64, newest: bool, chain: &mut Option<SeqChain>) {
        let name = wal_name(number);
        let mut reader = match WalReader::open(self.dir.join(&name)) {
            Ok(r) => r,
            Err(e) => return self.error(&name, e),
        };
        self.report.files += 1;
        let mut at = 0;
        while let Some(item) = reader.next() {
            match item {
                WalItem::Batch(b) => {
                    self.report.records += 1;
                    self.report.bytes += b.record_bytes;
                    if let Some(c) = chain
                        && let Err(why) = c.take(b.first_seqno, b.ops.len() as u64)
                    {
                        self.problem(&name, Some(b.offset), why);
                        *chain = None;
                    }
                }
                WalItem::Torn { offset, bytes } if newest => self.find(
                    Severity::Note,
                    &name,
                    Some(offset),
                    format!("torn tail of {bytes} bytes: the write in flight at a crash, never acknowledged as durable (recovery truncates it)"),
                ),
                WalItem::Torn { offset, .. } => {
                    self.problem(&name, Some(offset), "a WAL that is not the newest ends in a torn write");
                }
                WalItem::Damaged(d) => {
                    self.damage(&name, d);
                    // Batches after damage are never replayed, so the chain cannot be judged.
                    *chain = None;
                }
            }
            let pos = reader.position();
            self.read(pos.saturating_sub(at));
            at = pos;
        }
        self.read(reader.position().saturating_sub(at));
    }
}

/// What walking an SST's entries found.
#[derive(Debug, Default)]
struct SstSeen {
    entries: u64,
    tombstones: u64,
    smallest: Option<InternalKey>,
    largest: Option<InternalKey>,
    /// A block did not verify, so the counts and range are partial.
    damaged: bool,
}

/// The metadata of an SST checked on its own (the MANIFEST could not say).
fn standalone() -> FileMeta {
    FileMeta {
        number: 0,
        file_bytes: 0,
        smallest: Vec::new(),
        largest: Vec::new(),
        entries: 0,
        tombstones: 0,
    }
}

fn sst_name(number: u64) -> String {
    file_name(files::sst_path(Path::new(""), number))
}

fn wal_name(number: u64) -> String {
    file_name(files::wal_path(Path::new(""), number))
}

fn file_name(p: PathBuf) -> String {
    p.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ikey::{self, ValueKind};
    use crate::inspect::BlockRange;
    use crate::manifest::{ManifestWriter, set_current};
    use crate::record;
    use crate::sst::{TableBuilder, TableOptions};
    use crate::version::VersionEdit;
    use crate::{Compression, WriteBatch};

    /// A hand-made database: SST 7 in L1 (keys `k000`..`k049`, seqnos 1..=50), WALs 8 and 9
    /// (two batches each, seqnos 51..=58), MANIFEST 10 naming them, and CURRENT.
    struct Fixture {
        dir: tempfile::TempDir,
        sst: FileMeta,
    }

    impl Fixture {
        fn new() -> Fixture {
            let dir = tempfile::tempdir().expect("tempdir");
            let s = write_sst(&files::sst_path(dir.path(), 7), 'k');
            let sst = FileMeta {
                number: 7,
                file_bytes: s.file_bytes,
                smallest: s.smallest,
                largest: s.largest,
                entries: s.entries,
                tombstones: 5,
            };
            let f = Fixture { dir, sst };
            f.write_wal(8, &[(51, 2), (53, 2)]);
            f.write_wal(9, &[(55, 3), (58, 1)]);
            f.write_manifest(10, f.sst.clone(), 8, 50);
            f
        }

        fn path(&self) -> &Path {
            self.dir.path()
        }

        /// WAL `number` holding batches of `(first_seqno, ops)`.
        fn write_wal(&self, number: u64, batches: &[(u64, usize)]) {
            let mut out = Vec::new();
            for &(first, ops) in batches {
                let mut b = WriteBatch::new();
                for i in 0..ops {
                    b.put(format!("w{}", first + i as u64), "value");
                }
                record::encode(&mut out, &b.seal(first));
            }
            std::fs::write(files::wal_path(self.path(), number), out).expect("write");
        }

        fn write_manifest(&self, number: u64, sst: FileMeta, log_number: u64, last_seqno: u64) {
            let edit = VersionEdit {
                log_number: Some(log_number),
                next_file_number: Some(number + 1),
                last_seqno: Some(last_seqno),
                new_files: vec![(1, sst)],
                deleted_files: Vec::new(),
            };
            ManifestWriter::create(&RealFs, self.path(), number, &edit).expect("manifest");
            set_current(&RealFs, self.path(), number).expect("current");
        }

        fn check(&self) -> Report {
            check(self.path(), &mut |_| {}).expect("a database")
        }

        fn file_bytes(&self) -> u64 {
            std::fs::read_dir(self.path())
                .expect("list")
                .map(|e| e.expect("entry").metadata().expect("stat").len())
                .sum()
        }
    }

    /// The fixture's SST at `path`, its keys starting with `prefix`. Tables of two prefixes
    /// have the same layout, byte for byte where it does not depend on the keys.
    fn write_sst(path: &Path, prefix: char) -> crate::sst::TableSummary {
        let opts = TableOptions {
            block_bytes: 256,
            bloom_bits_per_key: 10,
            compression: Compression::None,
        };
        let mut b = TableBuilder::new(RealFs.create(path).expect("create"), opts);
        for i in 0..50u64 {
            let kind = if i % 10 == 3 { ValueKind::Delete } else { ValueKind::Put };
            let value = if kind == ValueKind::Put { vec![b'x'; 20] } else { Vec::new() };
            b.add(&ikey::make(format!("{prefix}{i:03}").as_bytes(), i + 1, kind), &value)
                .expect("add");
        }
        b.finish().expect("finish")
    }

    /// Copies the bytes of `range` from an SST like the fixture's but with keys starting with
    /// `prefix` into the fixture's SST: blocks whose checksums verify but whose contents lie.
    fn splice_from(f: &Fixture, prefix: char, range: BlockRange) {
        let other = f.path().join("other");
        write_sst(&other, prefix);
        let donor = std::fs::read(&other).expect("read");
        std::fs::remove_file(&other).expect("rm");
        let path = files::sst_path(f.path(), 7);
        let mut bytes = std::fs::read(&path).expect("read");
        let (start, end) = (range.offset as usize, (range.offset + range.disk_bytes()) as usize);
        assert_eq!(bytes.len(), donor.len(), "same layout");
        bytes[start..end].copy_from_slice(&donor[start..end]);
        std::fs::write(&path, bytes).expect("write");
    }

    #[test]
    fn check_finds_a_filter_that_lacks_the_tables_keys() {
        let f = Fixture::new();
        let sst = SstReader::open(files::sst_path(f.path(), 7)).expect("sst");
        let filter = sst.properties().filter.expect("a filter").block;
        splice_from(&f, 'j', filter);
        let p = problems(&f.check());
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!((&p[0].0[..], p[0].1), ("000007.sst", Some(filter.offset)));
        assert!(p[0].2.contains("bloom filter lacks"), "{p:?}");
    }

    #[test]
    fn check_finds_a_data_block_filed_out_of_order() {
        let f = Fixture::new();
        let sst = SstReader::open(files::sst_path(f.path(), 7)).expect("sst");
        let block = sst.index()[2].block;
        splice_from(&f, 'j', block); // "j..." keys sort before block 1's "k..."
        let p = problems(&f.check());
        assert_eq!((&p[0].0[..], p[0].1), ("000007.sst", Some(block.offset)), "{p:?}");
        assert!(p[0].2.contains("is not after the previous block's last key"), "{p:?}");
        let f = Fixture::new();
        splice_from(&f, 'l', block); // "l..." keys sort after what the index files block 2 under
        let p = problems(&f.check());
        assert_eq!((&p[0].0[..], p[0].1), ("000007.sst", Some(block.offset)), "{p:?}");
        assert!(p[0].2.contains("outside the range the index files the block under"), "{p:?}");
    }

    fn problems(r: &Report) -> Vec<(String, Option<u64>, String)> {
        r.findings
            .iter()
            .filter(|f| f.severity == Severity::Problem)
            .map(|f| (f.file.clone(), f.offset, f.what.clone()))
            .collect()
    }

    #[test]
    fn check_accepts_a_consistent_directory_and_counts_what_it_read() {
        let f = Fixture::new();
        let mut planned = None;
        let mut read = 0;
        let r = check(f.path(), &mut |p| match p {
            CheckProgress::Planned { total_bytes } => planned = Some(total_bytes),
            CheckProgress::Read { bytes } => read += bytes,
            CheckProgress::Found(found) => panic!("{found:?}"),
        })
        .expect("a database");
        assert_eq!(r.findings, vec![]);
        assert!(r.is_clean());
        let data_blocks =
            SstReader::open(files::sst_path(f.path(), 7)).expect("sst").index().len() as u64;
        assert!(data_blocks > 3);
        assert_eq!((r.files, r.records, r.entries), (5, 1 + 4, 50));
        assert_eq!(r.blocks, data_blocks + 2, "data blocks, the index and the filter");
        assert_eq!(r.bytes, f.file_bytes(), "every byte of every file verified");
        assert_eq!(planned, Some(r.bytes));
        assert_eq!(read, r.bytes);
    }

    #[test]
    fn check_reports_manifest_facts_that_differ_from_the_sst() {
        let f = Fixture::new();
        let mut wrong = f.sst.clone();
        wrong.entries += 1;
        wrong.largest = ikey::make(b"k049", 1, ValueKind::Put);
        wrong.file_bytes += 1;
        f.write_manifest(11, wrong, 8, 50);
        let r = f.check();
        let p = problems(&r);
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p.iter().all(|(file, ..)| file == "000007.sst"));
        assert!(p[0].2.contains("MANIFEST says"), "{p:?}");
        assert!(
            p.iter().any(|x| x.2.contains("entries/tombstones 51/5; the file holds 50/5")),
            "{p:?}"
        );
        assert!(
            p.iter().any(|x| x
                .2
                .contains("largest key \"k049\"@1 put; the file holds \"k049\"@50 put")),
            "{p:?}"
        );
        assert_eq!(r.warnings(), 1, "the old MANIFEST: {:?}", r.findings);
    }

    #[test]
    fn check_reports_a_missing_sst_and_the_wal_chain_like_recovery() {
        let f = Fixture::new();
        std::fs::remove_file(files::sst_path(f.path(), 7)).expect("rm");
        f.write_wal(9, &[(56, 3)]); // 55 expected
        let p = problems(&f.check());
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0].0, "000007.sst");
        assert!(p[0].2.contains("missing"));
        assert_eq!((&p[1].0[..], p[1].1), ("000009.wal", Some(0)));
        assert!(p[1].2.contains("seqno 56 where 55 was expected"), "{p:?}");

        let f = Fixture::new();
        f.write_wal(8, &[(52, 2)]); // at most 51 may follow the MANIFEST's 50
        assert!(problems(&f.check())[0].2.contains("seqno 52 where 51"));
        let f = Fixture::new();
        std::fs::remove_file(files::wal_path(f.path(), 8)).expect("rm");
        let p = problems(&f.check());
        assert_eq!(p[0].0, "MANIFEST-000010");
        assert!(p[0].2.contains("WAL 8 named by the MANIFEST is missing"), "{p:?}");
    }

    #[test]
    fn check_accepts_a_torn_tail_only_in_the_newest_wal_and_changes_nothing() {
        for (number, newest) in [(9, true), (8, false)] {
            let f = Fixture::new();
            let path = files::wal_path(f.path(), number);
            let bytes = std::fs::read(&path).expect("read");
            std::fs::write(&path, &bytes[..bytes.len() - 4]).expect("write");
            let before: Vec<(String, Vec<u8>)> = dir_contents(f.path());
            let r = f.check();
            assert_eq!(dir_contents(f.path()), before, "check never writes");
            let torn = r.findings.iter().find(|x| x.file == wal_name(number)).expect("found");
            if newest {
                assert_eq!((torn.severity, r.is_clean()), (Severity::Note, true), "{r:?}");
            } else {
                assert_eq!(torn.severity, Severity::Problem);
                assert!(torn.what.contains("not the newest"));
            }
            assert!(torn.offset.is_some_and(|o| o > 0 && o < bytes.len() as u64));
        }
    }

    #[test]
    fn check_names_the_file_of_every_flipped_bit() {
        use rand::Rng;
        let seed = lode_testkit::Seed::new("check_names_the_file_of_every_flipped_bit");
        let mut rng = seed.rng(0);
        let f = Fixture::new();
        let good = dir_contents(f.path());
        for _ in 0..lode_testkit::iterations(150) {
            let (name, bytes) = &good[rng.random_range(0..good.len())];
            let at = rng.random_range(0..bytes.len());
            let mut bad = bytes.clone();
            bad[at] ^= 1 << rng.random_range(0..8);
            std::fs::write(f.path().join(name), &bad).expect("write");
            let r = f.check();
            assert!(
                r.findings.iter().any(|x| x.severity == Severity::Problem && x.file == *name),
                "bit flip at {at} of {name}: {:?}",
                r.findings
            );
            std::fs::write(f.path().join(name), bytes).expect("restore");
        }
        assert!(f.check().is_clean());
    }

    fn dir_contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
        let mut out: Vec<_> = std::fs::read_dir(dir)
            .expect("list")
            .map(|e| {
                let e = e.expect("entry");
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).expect("read"),
                )
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn check_warns_about_files_nobody_names() {
        let f = Fixture::new();
        std::fs::copy(files::sst_path(f.path(), 7), files::sst_path(f.path(), 5)).expect("copy");
        f.write_wal(6, &[(1, 1)]);
        std::fs::write(f.path().join("notes.txt"), "hi").expect("write");
        std::fs::write(f.path().join(CURRENT_TMP), "x").expect("write");
        std::fs::write(f.path().join("MANIFEST-000002"), "old").expect("write");
        let r = f.check();
        assert!(r.is_clean(), "{:?}", r.findings);
        let mut warned: Vec<&str> = r.findings.iter().map(|x| x.file.as_str()).collect();
        warned.sort();
        assert_eq!(
            warned,
            ["000005.sst", "000006.wal", "CURRENT.tmp", "MANIFEST-000002", "notes.txt"]
        );
        assert_eq!(r.warnings(), 5);
        assert_eq!(r.files, 5, "unnamed files are not read");
    }

    #[test]
    fn check_without_a_manifest_verifies_every_file_on_its_own() {
        let f = Fixture::new();
        let manifest = f.path().join(files::manifest_name(10));
        let mut bytes = std::fs::read(&manifest).expect("read");
        bytes[14] ^= 0x01;
        std::fs::write(&manifest, &bytes).expect("write");
        let sst = files::sst_path(f.path(), 7);
        let mut bytes = std::fs::read(&sst).expect("read");
        bytes[3] ^= 0x01;
        std::fs::write(&sst, &bytes).expect("write");
        let r = f.check();
        let p = problems(&r);
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!((&p[0].0[..], p[0].1), ("MANIFEST-000010", Some(0)));
        assert_eq!((&p[1].0[..], p[1].1), ("000007.sst", Some(0)));
        assert!(p[1].2.contains("checksum"));
        assert_eq!(r.records, 4, "both WALs were still read");
    }

    #[test]
    fn check_reports_bad_current() {
        let f = Fixture::new();
        std::fs::write(f.path().join(CURRENT), "MANIFEST-000010\n00000000\n").expect("write");
        let p = problems(&f.check());
        assert_eq!((&p[0].0[..], p[0].1), ("CURRENT", Some(0)));
        assert!(p[0].2.contains("checksum"));
        let f = Fixture::new();
        std::fs::remove_file(f.path().join(CURRENT)).expect("rm");
        assert!(problems(&f.check())[0].2.contains("CURRENT is missing"));
        let f = Fixture::new();
        set_current(&RealFs, f.path(), 12).expect("current");
        let p = problems(&f.check());
        assert_eq!(p[0].0, "MANIFEST-000012");
        assert!(p[0].2.contains("does not exist"), "{p:?}");
    }

    #[test]
    fn check_refuses_what_is_not_a_closed_database() {
        let dir = tempfile::tempdir().expect("tempdir");
        let invalid = |p: &Path| matches!(check(p, &mut |_| {}), Err(Error::InvalidArgument(_)));
        assert!(invalid(&dir.path().join("nope")));
        assert!(invalid(dir.path()), "an empty directory");
        std::fs::write(dir.path().join("file"), "x").expect("write");
        assert!(invalid(&dir.path().join("file")));
        assert!(invalid(dir.path()), "a directory of other files");

        let path = dir.path().join("db");
        let db = crate::Db::open(&path, crate::Options::default()).expect("open");
        db.put("k", "v").expect("put");
        assert!(matches!(check(&path, &mut |_| {}), Err(Error::Locked(_))));
        db.put("k2", "v").expect("the engine is not disturbed");
        drop(db);
        let r = check(&path, &mut |_| {}).expect("closed now");
        assert!(r.is_clean(), "{:?}", r.findings);
        assert_eq!(r.records, 1 + 2, "one edit, two batches");
    }

    #[test]
    fn check_holds_a_shared_lock_that_keeps_an_engine_out() {
        let dir = tempfile::tempdir().expect("tempdir");
        drop(crate::Db::open(dir.path(), crate::Options::default()).expect("open"));
        let mut opened = None;
        check(dir.path(), &mut |p| {
            if opened.is_none() && matches!(p, CheckProgress::Planned { .. }) {
                opened = Some(crate::Db::open(dir.path(), crate::Options::default()).map(drop));
            }
        })
        .expect("clean");
        assert!(matches!(opened, Some(Err(Error::Locked(_)))), "{opened:?}");
        crate::Db::open(dir.path(), crate::Options::default()).expect("free again");
    }
}
