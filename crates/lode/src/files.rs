//! Names of the files in a data directory: `LOCK`, `CURRENT`, `MANIFEST-NNNNNN`,
//! `NNNNNN.wal`, `NNNNNN.sst`. Every numbered file takes its number from one counter, so a
//! number is never reused.

use std::path::{Path, PathBuf};

/// The largest file number a database may hold or record. A database creating a file every
/// millisecond would take 8,900 years to get there; the room above it keeps every counter
/// derived from a file number (the next one, and the few an open allocates) far from wrapping,
/// whatever a damaged MANIFEST or a stray file name says. A number past it is corruption in a
/// MANIFEST, and not one of ours in a file name.
pub(crate) const FILE_NUMBER_MAX: u64 = 1 << 48;

pub(crate) const LOCK: &str = "LOCK";
pub(crate) const CURRENT: &str = "CURRENT";
pub(crate) const CURRENT_TMP: &str = "CURRENT.tmp";

/// The kinds of numbered files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    Wal,
    Sst,
    Manifest,
}

pub(crate) fn wal_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{number:06}.wal"))
}

pub(crate) fn sst_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{number:06}.sst"))
}

pub(crate) fn manifest_name(number: u64) -> String {
    format!("MANIFEST-{number:06}")
}

/// Parses a numbered file's name.
pub(crate) fn parse(name: &str) -> Option<(FileKind, u64)> {
    if let Some(n) = name.strip_prefix("MANIFEST-") {
        return digits(n).map(|n| (FileKind::Manifest, n));
    }
    if let Some(n) = name.strip_suffix(".wal") {
        return digits(n).map(|n| (FileKind::Wal, n));
    }
    if let Some(n) = name.strip_suffix(".sst") {
        return digits(n).map(|n| (FileKind::Sst, n));
    }
    None
}

fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().filter(|&n| n <= FILE_NUMBER_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_recognises_numbered_files_only() {
        assert_eq!(parse("000012.wal"), Some((FileKind::Wal, 12)));
        assert_eq!(parse("1234567.sst"), Some((FileKind::Sst, 1234567)));
        assert_eq!(parse("MANIFEST-000003"), Some((FileKind::Manifest, 3)));
        for bad in ["LOCK", "CURRENT", ".wal", "12a.sst", "MANIFEST-", "x.log", "-1.wal"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        assert_eq!(parse(&manifest_name(7)), Some((FileKind::Manifest, 7)));
    }

    #[test]
    fn parse_accepts_file_number_at_limit_and_ignores_one_past() {
        let at = FILE_NUMBER_MAX;
        assert_eq!(parse(&format!("{at}.sst")), Some((FileKind::Sst, at)));
        assert_eq!(parse(&manifest_name(at)), Some((FileKind::Manifest, at)));
        assert_eq!(parse(&format!("{}.wal", at + 1)), None);
        assert_eq!(parse(&format!("{}.sst", u64::MAX)), None);
    }
}
