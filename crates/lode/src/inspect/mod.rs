//! Inspection: verify a whole data directory, or read the records of one file, for operators
//! (`lode check` and `lode dump` in crates/lode-cli).
//!
//! Role: a side path that never writes. It reads through the engine's own readers — the
//! record framing (`record.rs`), the batch and version-edit decoders, version replay,
//! the WAL seqno chain of recovery, and the SST reader and block iterator — so it accepts
//! exactly what the engine accepts and reports what the engine would refuse, with the file
//! and offset. Formats: docs/format/ (wal.md, manifest.md, sstable.md).
//!
//! - [`check`] verifies a closed database or a checkpoint: `CURRENT`, every MANIFEST record
//!   and its replay, every live SST (footer, index, filter, every data block, and that its key
//!   range and counts match the MANIFEST), every WAL record that recovery would replay (a torn
//!   tail is accepted only at the end of the newest WAL, as recovery accepts it), files the
//!   MANIFEST names that are missing or have the wrong size, and files nobody names.
//! - [`WalReader`], [`ManifestReader`] and [`SstReader`] hand out the records of one file and
//!   go on past damage wherever the format says where the next record starts.
//!
//! Invariants: nothing here creates, truncates, renames or deletes a file. Bad bytes become
//! [`Damage`] or [`Finding`]s, never a panic; every length read from disk is checked against
//! the file's size and the format's limits before anything is allocated (the engine's readers
//! do this). Data blocks are read past the block cache.
//!
//! Concurrency: [`check`] refuses a directory whose `LOCK` a running engine holds (the files
//! change under it: check a checkpoint instead) and holds a *shared* lock on `LOCK` while it
//! runs, so an engine cannot start on the directory meanwhile (it would report it locked); a
//! running engine is never disturbed. The file readers take no lock: they read the file as it
//! was when opened.

mod check;
mod manifest;
mod sst;
mod wal;

pub use check::{CheckProgress, Finding, Report, Severity, check};
pub use manifest::{DeletedFile, ManifestEdit, ManifestItem, ManifestReader, NewFile};
pub use sst::{
    BlockEntries, BlockRange, FilterInfo, IndexEntry, SstEntry, SstProperties, SstReader,
};
pub use wal::{WalBatch, WalItem, WalOp, WalReader};

use crate::Error;
use crate::ikey::{self, SeqNo, ValueKind};
use std::cmp::Ordering;
use std::fmt::{self, Write as _};
use std::path::Path;

/// What an entry or WAL operation records for its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// The key was set to a value.
    Put,
    /// The key was deleted (a tombstone).
    Delete,
}

impl EntryKind {
    fn from_kind(kind: ValueKind) -> EntryKind {
        match kind {
            ValueKind::Put => EntryKind::Put,
            ValueKind::Delete => EntryKind::Delete,
        }
    }
}

/// An internal key split into its parts: the user key, and the seqno and kind of the write
/// that made it (docs/format/sstable.md, "Internal keys").
///
/// Ordered as the engine orders internal keys: user key ascending, then newest first.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InternalKey {
    /// The key as the engine's user wrote it.
    pub user_key: Vec<u8>,
    /// The write's seqno.
    pub seqno: SeqNo,
    /// Put or delete.
    pub kind: EntryKind,
}

impl InternalKey {
    /// Splits an encoded internal key; `None` if it is malformed.
    pub(crate) fn parse(encoded: &[u8]) -> Option<InternalKey> {
        let p = ikey::parse(encoded)?;
        Some(InternalKey {
            user_key: p.user_key.to_vec(),
            seqno: p.seq,
            kind: EntryKind::from_kind(p.kind),
        })
    }
}

impl Ord for InternalKey {
    fn cmp(&self, other: &InternalKey) -> Ordering {
        let rank = |k: &InternalKey| (k.seqno, k.kind == EntryKind::Put);
        self.user_key.cmp(&other.user_key).then_with(|| rank(other).cmp(&rank(self)))
    }
}

impl PartialOrd for InternalKey {
    fn partial_cmp(&self, other: &InternalKey) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for InternalKey {
    /// `"user key"@seqno put` (or `del`), the key escaped as [`escape`] does.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            EntryKind::Put => "put",
            EntryKind::Delete => "del",
        };
        write!(f, "{}@{} {kind}", escape(&self.user_key), self.seqno)
    }
}

/// Bytes as a double-quoted string the way `redis-cli` prints them: printable ASCII as is,
/// `\\`, `\"`, `\n`, `\r`, `\t`, `\a`, `\b`, and every other byte as `\xHH`.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('"');
    out
}

/// A record or block that did not verify: where it starts and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// Byte offset of the record or block in its file.
    pub offset: u64,
    /// What failed, for a human.
    pub reason: String,
}

impl Damage {
    /// The damage an engine error describes; `at` is used when the error has no offset (I/O).
    pub(crate) fn from_error(e: Error, at: u64) -> Damage {
        match e {
            Error::Corruption { offset, reason, .. } => Damage { offset, reason },
            other => Damage { offset: at, reason: other.to_string() },
        }
    }
}

/// The number a Lode file name carries (`000012.sst`, `MANIFEST-000003`), or 0.
fn file_number(path: &Path) -> u64 {
    path.file_name().and_then(|n| n.to_str()).and_then(crate::files::parse).map_or(0, |(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_key_orders_like_the_engine() {
        let keys = [
            ikey::make(b"a", 9, ValueKind::Put),
            ikey::make(b"a", 9, ValueKind::Delete),
            ikey::make(b"a", 1, ValueKind::Put),
            ikey::make(b"ab", 100, ValueKind::Delete),
            ikey::make(b"b", 0, ValueKind::Put),
        ];
        for a in &keys {
            for b in &keys {
                let (pa, pb) = (InternalKey::parse(a), InternalKey::parse(b));
                let (pa, pb) = (pa.expect("valid"), pb.expect("valid"));
                assert_eq!(pa.cmp(&pb), ikey::compare(a, b), "{pa:?} vs {pb:?}");
            }
        }
        assert_eq!(InternalKey::parse(b"short"), None);
    }

    #[test]
    fn escape_prints_bytes_like_redis_cli() {
        assert_eq!(escape(b"plain key:1"), "\"plain key:1\"");
        assert_eq!(escape(b"\x00\x01a\xff"), "\"\\x00\\x01a\\xff\"");
        assert_eq!(escape(b"q\"b\\n\nr\rt\ta\x07b\x08"), "\"q\\\"b\\\\n\\nr\\rt\\ta\\ab\\b\"");
        assert_eq!(escape(b""), "\"\"");
        let k = InternalKey { user_key: b"k\x01".to_vec(), seqno: 9, kind: EntryKind::Delete };
        assert_eq!(k.to_string(), "\"k\\x01\"@9 del");
    }
}
