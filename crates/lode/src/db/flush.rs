//! Flush: immutable memtables become L0 SSTs.
//!
//! The flush thread takes the oldest immutable memtable, writes it as an SST (keeping only
//! the versions a live snapshot or the present can see, [`crate::retain`]), fsyncs the file
//! and the directory, appends a version edit to the MANIFEST and fsyncs it, installs the new
//! version together with the memtable's removal (one `ReadState` swap, so no reader sees the
//! data twice or not at all), and only then deletes the memtable's WAL. Each finished flush
//! logs one `info` line (memtable bytes, SST bytes, entries, file, duration); a failed one an
//! `error`.

use super::output::Output;
use super::{Inner, lock};
use crate::fs::Fs;
use crate::ikey;
use crate::memtable::Memtable;
use crate::options::Options;
use crate::retain::Retainer;
use crate::stats::Counters;
use crate::version::{FileMeta, VersionEdit};
use crate::{Error, Result};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// Writes `mem` as SST `number`, durably. `None` when nothing in it needed keeping.
pub(crate) fn write_table(
    fs: &dyn Fs,
    dir: &Path,
    options: &Options,
    mem: &Memtable,
    number: u64,
    snapshots: Vec<u64>,
) -> Result<Option<FileMeta>> {
    let mut out = Output::create(fs, dir, options, number)?;
    let mut retain = Retainer::new(snapshots);
    let mut ikey_buf = Vec::new();
    for (user, seq, kind, value) in mem.entries() {
        if !retain.keep(&user, seq).keep {
            continue;
        }
        ikey_buf.clear();
        ikey::append(&mut ikey_buf, &user, seq, kind);
        out.add(&ikey_buf, kind, &value)?;
    }
    let meta = out.finish(fs)?;
    if meta.is_some() {
        fs.sync_dir(dir)?;
    }
    Ok(meta)
}

/// Flushes the oldest immutable memtable. Returns false when there was none.
fn flush_oldest(inner: &Inner) -> Result<bool> {
    let Some(imm) = inner.read_state().imms.last().cloned() else {
        return Ok(false);
    };
    let started = Instant::now();
    let snapshots: Vec<u64> = lock(&inner.snapshots).keys().copied().collect();
    let number = inner.next_file_number.fetch_add(1, Ordering::AcqRel);
    let meta = write_table(inner.fs.as_ref(), &inner.dir, &inner.opts, &imm, number, snapshots)?;
    let (sst_bytes, entries) = meta.as_ref().map_or((0, 0), |m| (m.file_bytes, m.entries));
    let file = meta.is_some().then_some(number);
    Counters::add(&inner.counters.flush_bytes_written, sst_bytes);

    let mut m = lock(&inner.manifest);
    // WALs older than the oldest memtable still in memory are no longer needed.
    let log_number = {
        let rs = inner.read_state();
        let n = rs.imms.len();
        if n >= 2 { rs.imms[n - 2].wal_number() } else { rs.mem.wal_number() }
    };
    let edit = VersionEdit {
        log_number: Some(log_number),
        next_file_number: Some(inner.next_file_number.load(Ordering::Acquire)),
        last_seqno: Some(imm.max_seq()),
        new_files: meta.into_iter().map(|f| (0, f)).collect(),
        deleted_files: Vec::new(),
    };
    inner.install(&mut m, &edit, Some(&imm))?;
    drop(m);
    // The WAL is obsolete now; a failure to remove it only leaves a file the next open removes.
    super::checkpoint::remove_wal(inner, imm.wal_number());
    super::compact::delete_obsolete(inner);
    Counters::add(&inner.counters.flushes, 1);
    tracing::info!(
        memtable_bytes = imm.approximate_bytes(),
        sst_bytes,
        entries,
        file,
        duration = ?started.elapsed(),
        "flush finished"
    );
    Ok(true)
}

/// The flush thread: flushes whenever an immutable memtable waits, until shutdown.
pub(crate) fn run_flusher(inner: Arc<Inner>) {
    loop {
        {
            let mut bg = lock(&inner.bg);
            loop {
                if bg.shutdown || inner.failed.load(Ordering::Acquire) {
                    return;
                }
                if !inner.read_state().imms.is_empty() {
                    break;
                }
                bg = inner.bg_cv.wait(bg).unwrap_or_else(|e| e.into_inner());
            }
        }
        if let Err(e) = flush_oldest(&inner) {
            tracing::error!(error = %e, "flush failed: writes are refused until the database is reopened");
            inner.fail(format!("flush failed: {e}"));
            return;
        }
        let _bg = lock(&inner.bg);
        inner.bg_cv.notify_all();
    }
}

/// `Db::flush`: freezes the active memtable if it holds anything, then waits until every
/// memtable frozen so far is in an SST.
pub(crate) fn flush_all(inner: &Inner) -> Result<()> {
    inner.check_writable()?;
    {
        let mut w = lock(&inner.write);
        inner.check_writable()?;
        if !w.mem.is_empty() {
            super::commit::switch_memtable(inner, &mut w)?;
        }
    }
    let waiting: Vec<Arc<Memtable>> = inner.read_state().imms.clone();
    let mut bg = lock(&inner.bg);
    loop {
        inner.check_writable()?;
        let rs = inner.read_state();
        if !rs.imms.iter().any(|m| waiting.iter().any(|w| Arc::ptr_eq(m, w))) {
            return Ok(());
        }
        if bg.shutdown {
            return Err(Error::Closed);
        }
        bg = inner.bg_cv.wait(bg).unwrap_or_else(|e| e.into_inner());
    }
}
