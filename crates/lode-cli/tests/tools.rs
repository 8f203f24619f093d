//! `lode check` and `lode dump`, run as the real binary over databases written with the
//! `lode` crate: clean directories and checkpoints pass, and one damaged byte in any file
//! type is found and named.

use lode::{Db, Options};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// Batches written after the last flush: they are the records of the newest WAL.
const WAL_BATCHES: usize = 5;

/// Keys written by [`database`]; every one survives (nothing is deleted).
fn key(i: usize) -> Vec<u8> {
    // A NUL and a high byte in every key, to see them escaped as redis-cli escapes them.
    format!("key\x00{i:05}\u{7f}").into_bytes()
}

fn escaped_key(i: usize) -> String {
    format!("\"key\\x00{i:05}\\x7f\"")
}

fn options() -> Options {
    Options::default()
        .memtable_size(16 << 10)
        .target_file_size(8 << 10)
        .level_base_size(32 << 10)
        .block_size(256)
        .sync_interval(Duration::ZERO)
}

/// A closed database with SSTs in several levels, a WAL holding [`WAL_BATCHES`] batches, and
/// a MANIFEST; returns it and the number of keys written.
fn database() -> (tempfile::TempDir, usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path(), options()).expect("open");
    let n = 3000;
    for i in 0..n - WAL_BATCHES {
        db.put(key(i), format!("value {i} {}", "v".repeat(i % 60))).expect("put");
    }
    db.flush().expect("flush");
    db.wait_idle().expect("idle");
    let levels = db.stats().level_files.iter().filter(|&&files| files > 0).count();
    assert!(levels >= 2, "SSTs in several levels: {:?}", db.stats().level_files);
    for i in n - WAL_BATCHES..n {
        db.put(key(i), "in the WAL").expect("put");
    }
    drop(db);
    (dir, n)
}

fn lode(args: &[&str], path: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lode")).args(args).arg(path).output().expect("run lode")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `lode check DIR`: its exit code and stdout.
fn check(dir: &Path) -> (i32, String) {
    let o = lode(&["check"], dir);
    (o.status.code().expect("exited"), stdout(&o))
}

/// Files in `dir` named like `NNNNNN.ext`, by number.
fn numbered(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    files.sort();
    files
}

fn manifest(dir: &Path) -> PathBuf {
    let current = std::fs::read_to_string(dir.join("CURRENT")).expect("CURRENT");
    dir.join(current.lines().next().expect("a name"))
}

fn name(p: &Path) -> String {
    p.file_name().expect("a file").to_string_lossy().into_owned()
}

/// A copy of the database directory, to damage.
fn copy_of(dir: &Path) -> tempfile::TempDir {
    let copy = tempfile::tempdir().expect("tempdir");
    for e in std::fs::read_dir(dir).expect("list") {
        let p = e.expect("entry").path();
        std::fs::copy(&p, copy.path().join(name(&p))).expect("copy");
    }
    copy
}

fn flip(path: &Path, at: u64) {
    let mut bytes = std::fs::read(path).expect("read");
    bytes[at as usize] ^= 0x10;
    std::fs::write(path, bytes).expect("write");
}

/// The number before `word` (or its singular) in `text` ("12 files" -> 12, "1 entry" -> 1).
fn count(text: &str, word: &str) -> u64 {
    let singular = match word {
        "entries" => "entry",
        "data" => "data",
        w => w.strip_suffix('s').unwrap_or(w),
    };
    let words: Vec<&str> = text.split([' ', ',', ':']).filter(|w| !w.is_empty()).collect();
    let i = words
        .iter()
        .position(|w| *w == word || *w == singular)
        .unwrap_or_else(|| panic!("{word} in {text}"));
    words[i - 1].parse().unwrap_or_else(|_| panic!("a count before {word} in {text}"))
}

#[test]
fn check_of_a_closed_database_is_clean_and_counts_right() {
    let (dir, _) = database();
    let (code, out) = check(dir.path());
    assert_eq!(code, 0, "{out}");
    let summary = out.lines().find(|l| l.starts_with("checked ")).expect("summary");
    let verdict = out.lines().last().expect("verdict");
    assert_eq!(verdict, "0 problems, 0 warnings, 0 notes: no corruption found", "{out}");

    let ssts = numbered(dir.path(), "sst");
    let wals = numbered(dir.path(), "wal");
    assert!(ssts.len() >= 3, "{ssts:?}");
    assert_eq!(wals.len(), 1, "{wals:?}");
    let files: Vec<PathBuf> = ssts
        .iter()
        .chain(&wals)
        .cloned()
        .chain([dir.path().join("CURRENT"), manifest(dir.path())])
        .collect();
    let bytes: u64 = files.iter().map(|f| std::fs::metadata(f).expect("stat").len()).sum();
    assert_eq!(count(summary, "files"), files.len() as u64, "{summary}");
    assert_eq!(count(summary, "bytes"), bytes, "every byte verified: {summary}");

    // Records and blocks, against what the dumps of each file say.
    let edits = count(&stdout(&lode(&["dump", "manifest"], &manifest(dir.path()))), "edits");
    assert!(edits >= 1);
    assert_eq!(count(summary, "records"), edits + WAL_BATCHES as u64, "{summary}");
    let (mut entries, mut blocks) = (0, 0);
    for sst in &ssts {
        let dump = stdout(&lode(&["dump", "sst"], sst));
        let last = dump.lines().last().expect("summary line");
        entries += count(last, "entries");
        blocks += count(last, "data") + 2; // and the index and the filter
    }
    assert_eq!(count(summary, "entries"), entries, "{summary}");
    assert_eq!(count(summary, "blocks"), blocks, "{summary}");
}

#[test]
fn check_of_a_checkpoint_is_clean_and_a_directory_in_use_is_refused() {
    let (dir, n) = database();
    let db = Db::open(dir.path(), options()).expect("open");
    db.put("after reopen", "in the WAL of the checkpoint").expect("put");
    let backup = tempfile::tempdir().expect("tempdir");
    let target = backup.path().join("checkpoint");
    db.checkpoint(&target).expect("checkpoint");

    let (code, out) = check(&target);
    assert_eq!(code, 0, "{out}");
    assert!(out.ends_with("0 problems, 0 warnings, 0 notes: no corruption found\n"), "{out}");
    assert!(count(&out, "records") >= 2, "at least the MANIFEST edit and the batch: {out}");

    let o = lode(&["check"], dir.path());
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("is in use") && stderr(&o).contains("checkpoint"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        db.get(key(n - 1)).expect("get").as_deref(),
        Some(&b"in the WAL"[..]),
        "not disturbed"
    );
    db.put("still", "writable").expect("the server is not disturbed");
}

/// `lode check` on a copy with one byte flipped at `at` of the file `pick` chooses: exit 1
/// and a problem line naming that file.
fn assert_flip_found(what: &str, pick: impl Fn(&Path) -> (PathBuf, u64)) {
    let (dir, _) = database();
    let copy = copy_of(dir.path());
    let (file, at) = pick(copy.path());
    flip(&file, at);
    let (code, out) = check(copy.path());
    assert_eq!(code, 1, "{what}: {out}");
    let line = format!("problem: {}", name(&file));
    assert!(out.lines().any(|l| l.starts_with(&line)), "{what}: no `{line}` in\n{out}");
    assert!(out.contains("CORRUPT"), "{out}");
}

/// The index block's offset, from an SST's footer.
fn index_offset(sst: &Path) -> u64 {
    let bytes = std::fs::read(sst).expect("read");
    let footer = &bytes[bytes.len() - 56..];
    u64::from_le_bytes(footer[16..24].try_into().expect("8 bytes"))
}

#[test]
fn check_finds_a_flipped_byte_in_an_sst_data_block() {
    assert_flip_found("SST data block", |dir| (numbered(dir, "sst")[0].clone(), 2));
}

#[test]
fn check_finds_a_flipped_byte_in_an_sst_index() {
    assert_flip_found("SST index", |dir| {
        let sst = numbered(dir, "sst").pop().expect("an SST");
        let at = index_offset(&sst) + 1;
        (sst, at)
    });
}

#[test]
fn check_finds_a_flipped_byte_in_a_wal_record() {
    assert_flip_found("WAL record", |dir| (numbered(dir, "wal")[0].clone(), 12 + 14));
}

#[test]
fn check_finds_a_flipped_byte_in_the_manifest() {
    assert_flip_found("MANIFEST", |dir| (manifest(dir), 14));
}

#[test]
fn check_finds_a_flipped_byte_in_current() {
    assert_flip_found("CURRENT", |dir| (dir.join("CURRENT"), 3));
}

#[test]
fn check_accepts_a_torn_newest_wal_and_reports_a_missing_sst() {
    let (dir, _) = database();
    let copy = copy_of(dir.path());
    let wal = numbered(copy.path(), "wal").pop().expect("a WAL");
    let len = std::fs::metadata(&wal).expect("stat").len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&wal)
        .expect("open")
        .set_len(len - 3)
        .expect("cut");
    let (code, out) = check(copy.path());
    assert_eq!(code, 0, "a torn tail is what recovery expects: {out}");
    let note = format!("note: {} at offset", name(&wal));
    assert!(out.lines().any(|l| l.starts_with(&note) && l.contains("torn tail")), "{out}");
    assert!(out.ends_with("0 problems, 0 warnings, 1 note: no corruption found\n"), "{out}");
    assert_eq!(std::fs::metadata(&wal).expect("stat").len(), len - 3, "check never truncates");

    let sst = numbered(copy.path(), "sst").remove(1);
    std::fs::remove_file(&sst).expect("rm");
    let (code, out) = check(copy.path());
    assert_eq!(code, 1, "{out}");
    let line = format!("problem: {}: the MANIFEST names this SST", name(&sst));
    assert!(out.lines().any(|l| l.starts_with(&line) && l.ends_with("but it is missing")), "{out}");
}

#[test]
fn check_usage_errors_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = lode(&["check"], &dir.path().join("nope"));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));
    let o = lode(&["check"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("holds no Lode database"), "{}", stderr(&o));
    let o = Command::new(env!("CARGO_BIN_EXE_lode")).arg("check").output().expect("run");
    assert_eq!(o.status.code(), Some(2), "no directory given");
}

#[test]
fn dumps_show_every_key_written() {
    let (dir, n) = database();
    let mut seen = BTreeSet::new();
    let mut dumps = String::new();
    for sst in numbered(dir.path(), "sst") {
        let o = lode(&["dump", "sst"], &sst);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        dumps.push_str(&stdout(&o));
    }
    let wal = numbered(dir.path(), "wal").pop().expect("a WAL");
    let o = lode(&["dump", "wal"], &wal);
    assert_eq!(o.status.code(), Some(0));
    let wal_dump = stdout(&o);
    assert!(
        wal_dump.contains(&format!("  put {} {} = 10 bytes \"in the WAL\"", n, escaped_key(n - 1))),
        "{wal_dump}"
    );
    assert!(
        wal_dump
            .ends_with(&format!("# {WAL_BATCHES} batches, {WAL_BATCHES} ops, 0 damaged records\n"))
    );
    dumps.push_str(&wal_dump);
    for i in 0..n {
        if dumps.contains(&escaped_key(i)) {
            seen.insert(i);
        }
    }
    assert_eq!(
        seen.len(),
        n,
        "keys missing from every dump: {:?}",
        (0..n).filter(|i| !seen.contains(i)).take(5).collect::<Vec<_>>()
    );

    let o = lode(&["dump", "manifest"], &manifest(dir.path()));
    assert_eq!(o.status.code(), Some(0));
    let m = stdout(&o);
    assert!(m.starts_with("# MANIFEST ") && m.contains("edit at 0: "), "{m}");
    for needle in ["  log number ", "  next file number ", "  last seqno ", "  add L"] {
        assert!(m.contains(needle), "{needle} in {m}");
    }
    assert!(m.contains(&escaped_key(0)), "the smallest key of the first SST: {m}");
}

#[test]
fn dump_limit_and_values() {
    let (dir, n) = database();
    let wal = numbered(dir.path(), "wal").pop().expect("a WAL");
    let out = stdout(&lode(&["dump", "wal", "--limit", "2"], &wal));
    assert_eq!(out.matches("batch at ").count(), 2, "{out}");
    assert!(out.contains("# stopped after 2 (--limit)"), "{out}");
    let sst = numbered(dir.path(), "sst")[0].clone();
    let out = stdout(&lode(&["dump", "sst", "--limit", "3"], &sst));
    assert_eq!(out.lines().filter(|l| l.starts_with("  \"key")).count(), 3, "{out}");
    let long = stdout(&lode(&["dump", "sst", "--values"], &sst));
    let short = stdout(&lode(&["dump", "sst"], &sst));
    assert!(
        short.contains("\"...") && !long.contains("\"..."),
        "values over 32 bytes are cut unless --values"
    );
    assert!(n > 0);
}

#[test]
fn dumps_report_damage_with_its_offset_and_go_on() {
    let (dir, _) = database();
    let copy = copy_of(dir.path());
    // The second WAL record's payload: its header verified, so the third one can be read.
    let wal = numbered(copy.path(), "wal").pop().expect("a WAL");
    let good = stdout(&lode(&["dump", "wal"], &wal));
    let offsets: Vec<u64> = good
        .lines()
        .filter_map(|l| l.strip_prefix("batch at ")?.split(':').next()?.parse().ok())
        .collect();
    flip(&wal, offsets[1] + 12 + 3);
    let o = lode(&["dump", "wal"], &wal);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains(&format!("error at {}: record payload checksum mismatch", offsets[1])),
        "{out}"
    );
    assert_eq!(out.matches("batch at ").count(), WAL_BATCHES - 1, "the others are read: {out}");

    // A data block in the middle of an SST: the blocks after it are still dumped.
    let sst = numbered(copy.path(), "sst")[0].clone();
    let good = stdout(&lode(&["dump", "sst"], &sst));
    let blocks: Vec<u64> = good
        .lines()
        .filter_map(|l| {
            l.strip_prefix("block ")?.split(" at ").nth(1)?.strip_suffix(':')?.parse().ok()
        })
        .collect();
    assert!(blocks.len() >= 3, "{good}");
    flip(&sst, blocks[1] + 1);
    let o = lode(&["dump", "sst"], &sst);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains(&format!("error at {}: block checksum mismatch", blocks[1])), "{out}");
    let entries = |s: &str| s.lines().filter(|l| l.starts_with("  \"key")).count();
    assert!(entries(&out) > 0 && entries(&out) < entries(&good));
    let after = out.split(&format!("\nblock 2 at {}:\n", blocks[2])).nth(1).expect("block 2");
    assert!(after.starts_with("  \"key"), "block 2 is dumped: {out}");

    // A damaged index: nothing of the table can be found.
    flip(&sst, index_offset(&sst) + 1);
    let o = lode(&["dump", "sst"], &sst);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains(&format!("error at {}: block checksum mismatch", index_offset(&sst))),
        "{}",
        stdout(&o)
    );

    let o = lode(&["dump", "manifest"], &copy.path().join("MANIFEST-999999"));
    assert_eq!(o.status.code(), Some(2), "a file that cannot be opened");
    assert!(stderr(&o).contains("MANIFEST-999999"), "{}", stderr(&o));
}

#[test]
fn help_is_complete() {
    let help = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_lode")).args(args).output().expect("run");
        assert_eq!(o.status.code(), Some(0), "{args:?}");
        stdout(&o)
    };
    let top = help(&["--help"]);
    assert!(top.contains("check") && top.contains("dump") && top.contains("serve"), "{top}");
    let check = help(&["check", "--help"]);
    for needle in ["<DIR>", "checkpoint", "Exit status: 0", "1 corruption", "2 could not"] {
        assert!(check.contains(needle), "{needle} in {check}");
    }
    let dump = help(&["dump", "--help"]);
    for needle in
        ["<KIND>", "<FILE>", "wal", "sst", "manifest", "--limit <N>", "--values", "Exit status"]
    {
        assert!(dump.contains(needle), "{needle} in {dump}");
    }
}
