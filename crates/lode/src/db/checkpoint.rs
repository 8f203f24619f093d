//! Online checkpoints: a consistent copy of the database in another directory, taken while
//! writes go on, that opens as a normal database.
//!
//! Under the write lock (briefly) the checkpoint pins WAL deletion, loads the published seqno
//! and then the read state, and notes how many bytes of the active WAL are written (seqno
//! first: every write at or below it was appended before it was published). It then works
//! with no engine lock held: hard links to the version's SSTs (the pinned `Arc<Version>` keeps
//! them from deletion), copies of the WALs of the memtables not yet flushed (whole for frozen
//! ones, the noted prefix of the active one, which ends on a commit-group boundary), a new
//! MANIFEST describing that version, and CURRENT. Everything is fsynced before it returns.

use super::{Inner, lock};
use crate::files;
use crate::fs::Fs;
use crate::manifest::{self, ManifestWriter};
use crate::{Error, Result};
use std::path::Path;
use std::sync::atomic::Ordering;

const COPY_CHUNK_BYTES: u64 = 1 << 20;

pub(crate) fn checkpoint(inner: &Inner, target: &Path) -> Result<()> {
    let fs = inner.fs.as_ref();
    if fs.list(target).is_ok_and(|names| !names.is_empty()) {
        return Err(Error::InvalidArgument(format!(
            "checkpoint directory {} is not empty; give a new or empty directory",
            target.display()
        )));
    }
    fs.create_dir_all(target)?;
    lock(&inner.wal_pins).0 += 1;
    let result = (|| {
        let (seq, state, active_wal, active_bytes) = {
            let w = lock(&inner.write);
            let seq = inner.visible_seq.load(Ordering::Acquire);
            let state = inner.read_state();
            (seq, state, w.wal.number, w.wal.written.load(Ordering::Acquire))
        };
        for meta in state.version.files() {
            let name = files::sst_path(target, meta.number);
            fs.hard_link(&files::sst_path(&inner.dir, meta.number), &name)?;
        }
        let mut oldest_wal = active_wal;
        for imm in &state.imms {
            copy_prefix(
                fs,
                &files::wal_path(&inner.dir, imm.wal_number()),
                &files::wal_path(target, imm.wal_number()),
                None,
            )?;
            oldest_wal = oldest_wal.min(imm.wal_number());
        }
        copy_prefix(
            fs,
            &files::wal_path(&inner.dir, active_wal),
            &files::wal_path(target, active_wal),
            Some(active_bytes),
        )?;
        let number = inner.next_file_number.fetch_add(1, Ordering::AcqRel);
        let mut first = state.version.snapshot_edit();
        first.log_number = Some(oldest_wal);
        first.next_file_number = Some(number + 1);
        first.last_seqno = Some(seq);
        ManifestWriter::create(fs, target, number, &first)?;
        manifest::set_current(fs, target, number)?;
        fs.sync_dir(target)?;
        Ok(())
    })();
    let deferred = {
        let mut pins = lock(&inner.wal_pins);
        pins.0 -= 1;
        if pins.0 == 0 { std::mem::take(&mut pins.1) } else { Vec::new() }
    };
    for number in deferred {
        let _ = fs.remove(&files::wal_path(&inner.dir, number));
    }
    result
}

/// Copies `from` to `to` (the first `limit` bytes, or all), fsynced.
fn copy_prefix(fs: &dyn Fs, from: &Path, to: &Path, limit: Option<u64>) -> Result<()> {
    let source = fs.open(from)?;
    let len = limit.map_or(source.len(), |l| l.min(source.len()));
    let out = fs.create(to)?;
    let mut buf = Vec::new();
    let mut at = 0;
    while at < len {
        let n = (len - at).min(COPY_CHUNK_BYTES);
        buf.resize(n as usize, 0);
        source.read_exact_at(&mut buf, at)?;
        out.append(&buf)?;
        at += n;
    }
    out.sync()?;
    Ok(())
}

/// Removes a WAL that a flush made obsolete, unless a checkpoint is copying WALs: then it
/// waits for the last checkpoint to finish.
pub(crate) fn remove_wal(inner: &Inner, number: u64) {
    {
        let mut pins = lock(&inner.wal_pins);
        if pins.0 > 0 {
            pins.1.push(number);
            return;
        }
    }
    // A failure leaves a WAL below log_number, which the next open removes.
    let _ = inner.fs.remove(&files::wal_path(&inner.dir, number));
}
