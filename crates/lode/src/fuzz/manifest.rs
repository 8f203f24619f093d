//! The MANIFEST harness: untrusted bytes as CURRENT and a MANIFEST, replayed alone and then
//! opened as a database.
//!
//! The MANIFEST is the input's raw bytes, payloads the harness frames with correct checksums,
//! or version edits chosen by the input and encoded (each followed by arbitrary bytes). CURRENT
//! is correct or the input's bytes. Checked:
//! - `read_current` accepts what `set_current` writes and fails cleanly on anything else;
//! - replay fails cleanly or yields a valid version: well-formed key ranges, files unique,
//!   levels sorted and (below L0) disjoint, counters in range; and that version holds exactly
//!   the files a simple model of the edits says;
//! - opening the database fails cleanly when replay does, and a database that opens answers
//!   reads and takes a write without a panic.

use super::input::Input;
use crate::files;
use crate::fs::SimFs;
use crate::ikey;
use crate::manifest::{self, Replayed, current_contents};
use crate::record::{self, Next, RecordReader};
use crate::version::{FileMeta, LEVELS, VersionEdit};
use crate::{Db, Options};
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const DIR: &str = "/db";

/// A counter value: usually small, sometimes at the edges of the seqno and u64 ranges.
fn number(input: &mut Input<'_>) -> u64 {
    match input.u8() {
        0xff => u64::MAX - u64::from(input.u8() % 4),
        0xfe => ikey::SEQNO_MAX - 2 + u64::from(input.u8() % 4),
        0xfd => u64::from(input.u16()) << 40,
        b => u64::from(b % 24),
    }
}

/// A file's internal key: usually well-formed, sometimes the input's bytes.
fn range_key(input: &mut Input<'_>) -> Vec<u8> {
    if input.one_in(8) { input.chunk(12).to_vec() } else { input.internal_key() }
}

/// A version edit chosen by the input.
fn edit_from(input: &mut Input<'_>) -> VersionEdit {
    let mut edit = VersionEdit::default();
    let fields = input.u8();
    if fields & 1 != 0 {
        edit.log_number = Some(number(input));
    }
    if fields & 2 != 0 {
        edit.next_file_number = Some(number(input));
    }
    if fields & 4 != 0 {
        edit.last_seqno = Some(number(input));
    }
    for _ in 0..input.below(5) {
        let entries = u64::from(input.u8());
        let meta = FileMeta {
            number: number(input),
            file_bytes: u64::from(input.u16()),
            smallest: range_key(input),
            largest: range_key(input),
            entries,
            tombstones: u64::from(input.u8()) % (entries + 2),
        };
        edit.new_files.push((input.below(LEVELS + 1), meta));
    }
    for _ in 0..input.below(3) {
        edit.deleted_files.push((input.below(LEVELS + 1), number(input)));
    }
    edit
}

/// The records replay will see: every complete record up to the end, a torn tail or damage
/// (`true` when damage ended them).
fn records_of(fs: &SimFs, path: &Path) -> (Vec<Vec<u8>>, bool) {
    let Ok(file) = crate::fs::Fs::open(fs, path) else { return (Vec::new(), true) };
    let mut reader = RecordReader::new(file, path);
    let mut out = Vec::new();
    loop {
        match reader.next() {
            Ok(Next::Record { payload, .. }) => out.push(payload),
            Ok(_) => return (out, false),
            Err(_) => return (out, true),
        }
    }
}

/// The files a sequence of edits leaves, by number, if every edit applies: each deleted file
/// exists at the level named, and no added file exists already. (Level overlap is not modelled.)
fn model_files(records: &[Vec<u8>]) -> Option<BTreeMap<u64, usize>> {
    let mut files = BTreeMap::new();
    for payload in records {
        let edit = VersionEdit::decode(payload).ok()?;
        for (level, number) in &edit.deleted_files {
            if files.remove(number) != Some(*level) {
                return None;
            }
        }
        for (level, f) in &edit.new_files {
            if files.insert(f.number, *level).is_some() {
                return None;
            }
        }
    }
    Some(files)
}

/// Checks that a replayed state is a version the engine can run on.
fn check_replayed(state: &Replayed, records: &[Vec<u8>]) {
    let version = &state.version;
    assert_eq!(version.check_invariants(), Ok(()));
    let check_file = |f: &FileMeta| {
        assert!(ikey::parse(&f.smallest).is_some() && ikey::parse(&f.largest).is_some());
        assert_ne!(
            ikey::compare(&f.smallest, &f.largest),
            Ordering::Greater,
            "file {} has its smallest key above its largest",
            f.number
        );
        assert!(f.tombstones <= f.entries);
    };
    version.files().for_each(|f| check_file(f));
    let numbers: BTreeMap<u64, usize> = version
        .levels
        .iter()
        .enumerate()
        .flat_map(|(level, files)| files.iter().map(move |f| (f.number, level)))
        .collect();
    assert_eq!(numbers.len(), version.files().count(), "a file is in the version twice");
    assert!(version.levels[0].windows(2).all(|w| w[0].number > w[1].number), "L0 order");
    for files in &version.levels[1..] {
        let sorted =
            files.windows(2).all(|w| ikey::compare(&w[0].smallest, &w[1].smallest).is_lt());
        assert!(sorted, "a level below L0 is not sorted");
    }
    assert!(state.last_seqno <= ikey::SEQNO_MAX, "last seqno {} is out of range", state.last_seqno);
    // Opening allocates a few numbers past these: they must be far from wrapping.
    let numbers_max = numbers.keys().chain([&state.log_number]).max().copied().unwrap_or(0);
    assert!(numbers_max <= files::FILE_NUMBER_MAX, "file number {numbers_max} is out of range");
    assert!(state.next_file_number <= files::FILE_NUMBER_MAX + 1, "next file number");
    let model = model_files(records).expect("replay applied edits that the model refuses");
    assert_eq!(numbers, model, "replay and the model disagree on the files");
}

/// See [`super::fuzz_manifest_replay`].
pub(crate) fn fuzz_manifest_replay(data: &[u8]) {
    let mut input = Input::new(data);
    let mode = input.u8();
    let manifest_number = 1 + input.below(3) as u64;
    let good_current = current_contents(manifest_number).into_bytes();
    let current = if mode & 1 == 0 { good_current.clone() } else { input.chunk(40).to_vec() };
    let mut file = Vec::new();
    match (mode >> 1) % 3 {
        0 => {}
        1 => {
            for _ in 0..input.below(6) {
                record::encode(&mut file, input.chunk(80));
            }
        }
        _ => {
            for _ in 0..input.below(6) {
                record::encode(&mut file, &edit_from(&mut input).encode());
            }
        }
    }
    file.extend_from_slice(input.rest());

    let fs = SimFs::new();
    let dir = Path::new(DIR);
    fs.write_file(&dir.join(files::CURRENT), &current);
    let path = dir.join(files::manifest_name(manifest_number));
    fs.write_file(&path, &file);

    let replayed = match manifest::read_current(&fs, dir) {
        Ok(Some(number)) => {
            if current == good_current {
                assert_eq!(number, manifest_number, "CURRENT names another MANIFEST");
            }
            manifest::replay(&fs, dir, number)
        }
        Ok(None) => panic!("CURRENT exists but was not found"),
        Err(e) => {
            assert!(current != good_current, "CURRENT as set_current writes it fails: {e}");
            Err(e)
        }
    };
    match &replayed {
        Ok(state) => {
            let (records, damaged) = records_of(&fs, &path);
            assert!(!damaged, "replay succeeded over a damaged MANIFEST");
            check_replayed(state, &records);
        }
        Err(e) => assert!(e.is_corruption(), "replay: {e}"),
    }

    let options = Options::default()
        .create_if_missing(false)
        .sync_interval(Duration::ZERO)
        .fs(Arc::new(fs.clone()));
    let db = match Db::open(dir, options) {
        Ok(db) => db,
        Err(e) => {
            assert!(e.is_corruption() || replayed.is_ok(), "open: {e}");
            return;
        }
    };
    assert!(replayed.is_ok(), "the database opened although replay fails");
    for key in [&b""[..], b"a", b"b\xff", b"w003"] {
        if let Err(e) = db.get(key) {
            assert!(e.is_corruption(), "get: {e}");
        }
    }
    for item in db.iter().take(64) {
        if let Err(e) = item {
            assert!(e.is_corruption(), "iterate: {e}");
            break;
        }
    }
    if db.put("k", "v").is_ok() {
        assert_eq!(db.get("k").expect("a memtable read").as_deref(), Some(&b"v"[..]));
    }
}
