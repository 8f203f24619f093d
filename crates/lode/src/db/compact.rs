//! Compaction: the job that merges SSTs down the tree, the thread that runs it, manual
//! compaction, and the deletion of files no reader holds any more.
//!
//! A job merges its inputs in internal-key order, keeps what some reader can see
//! ([`crate::retain`]), drops tombstones every reader sees at the bottom of the tree, and cuts
//! outputs at `target_file_size`, always between two user keys (so files of a level never
//! share a user key). Outputs and the directory are fsynced before one MANIFEST edit swaps
//! inputs for outputs. A task that only moves a file down a level rewrites nothing.
//!
//! Removed files are not deleted at once: readers may still hold a version that names them.
//! Each goes on the obsolete list with a weak reference; it is deleted once the last version
//! holding it is gone (checked after every flush and compaction, and at close).
//!
//! Concurrency: one compaction runs at a time (`compaction_lock`, shared with manual
//! compaction); flushes run beside it on their own thread. The MANIFEST lock orders their
//! edits, and compaction is the only remover of files, so its inputs are still there when it
//! installs.
//!
//! Each finished task logs one `info` line (levels, input and output files and bytes, the
//! picker's reason, duration); a failed one an `error`.

use super::merge::Merge;
use super::output::Output;
use super::{Inner, lock};
use crate::compaction::{Picker, Task};
use crate::files;
use crate::filter::{FilterContext, FilterDecision};
use crate::ikey::{self, ValueKind};
use crate::iter::InternalIter;
use crate::retain::Retainer;
use crate::stats::Counters;
use crate::version::{FileMeta, VersionEdit};
use crate::{Error, Result};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// Runs one task to completion and installs its result.
fn run_task(inner: &Inner, task: &Task) -> Result<()> {
    let started = Instant::now();
    let mut edit = VersionEdit::default();
    for f in &task.inputs {
        edit.deleted_files.push((task.level, f.number));
    }
    for f in &task.overlaps {
        edit.deleted_files.push((task.output_level, f.number));
    }
    if task.is_trivial_move() {
        let file = &task.inputs[0];
        edit.new_files.push((task.output_level, FileMeta::clone(file)));
        install(inner, edit, &[])?;
        tracing::info!(
            from_level = task.level,
            to_level = task.output_level,
            file = file.number,
            bytes = file.file_bytes,
            reason = task.reason.name(),
            "compaction moved a file down"
        );
        return Ok(());
    }
    let outputs = merge(inner, task)?;
    let output_files = outputs.len();
    let written: u64 = outputs.iter().map(|f| f.file_bytes).sum();
    let read: u64 = task.all_inputs().map(|f| f.file_bytes).sum();
    edit.new_files.extend(outputs.into_iter().map(|f| (task.output_level, f)));
    let removed: Vec<Arc<FileMeta>> = task.all_inputs().cloned().collect();
    install(inner, edit, &removed)?;
    Counters::add(&inner.counters.compaction_bytes_written, written);
    Counters::add(&inner.counters.compaction_bytes_read, read);
    Counters::add(&inner.counters.compactions, 1);
    tracing::info!(
        from_level = task.level,
        to_level = task.output_level,
        input_files = removed.len(),
        input_bytes = read,
        output_files,
        output_bytes = written,
        reason = task.reason.name(),
        duration = ?started.elapsed(),
        "compaction finished"
    );
    Ok(())
}

/// Releases a compaction filter's horizon snapshot when the merge ends, however it ends.
struct HorizonPin<'a> {
    inner: &'a Inner,
    seq: Option<u64>,
}

impl Drop for HorizonPin<'_> {
    fn drop(&mut self) {
        if let Some(seq) = self.seq {
            self.inner.release_snapshot(seq);
        }
    }
}

/// Merges the task's inputs into new SSTs, durably (files and directory fsynced).
fn merge(inner: &Inner, task: &Task) -> Result<Vec<FileMeta>> {
    let mut sources: Vec<Box<dyn InternalIter>> = Vec::new();
    for f in task.all_inputs() {
        sources.push(Box::new(inner.table(f)?.iter()));
    }
    let mut m = Merge::new(sources, true);
    m.seek(None);
    // A filter reads at the oldest seqno any reader sees, pinned as a snapshot until the
    // merge ends so the versions it reads stay in the tree.
    let horizon = inner.opts.compaction_filter.as_ref().map(|_| inner.register_horizon());
    let _unpin = HorizonPin { inner, seq: horizon };
    let ctx = FilterContext { inner, seq: horizon.unwrap_or(0) };
    let snapshots: Vec<u64> = lock(&inner.snapshots).keys().copied().collect();
    let mut retain = Retainer::new(snapshots);
    let fs = inner.fs.as_ref();
    let mut outputs = Vec::new();
    let mut current: Option<Output> = None;
    let mut last_user: Vec<u8> = Vec::new();
    let result = (|| -> Result<()> {
        while m.valid() {
            let key = m.top().key();
            let Some(p) = ikey::parse(key) else {
                return Err(Error::corruption(
                    &inner.dir,
                    0,
                    "compaction input has a malformed key",
                ));
            };
            let decision = retain.keep(p.user_key, p.seq);
            let new_key = p.user_key != last_user.as_slice();
            let mut kind = p.kind;
            if let Some(filter) = &inner.opts.compaction_filter
                && kind == ValueKind::Put
                && decision.newest
                && decision.seen_by_all
                && filter.filter(&ctx, p.user_key, &m.top().value()) == FilterDecision::Remove
            {
                // Every reader sees this version: it becomes a tombstone, which the bottom
                // level drops below (older versions are in the same stripe and shadowed).
                kind = ValueKind::Delete;
                Counters::add(&inner.counters.compaction_filter_removed, 1);
            }
            let drop_tombstone =
                kind == ValueKind::Delete && task.bottommost && decision.seen_by_all;
            if decision.keep && !drop_tombstone {
                if let Some(out) = current
                    .take_if(|o| new_key && o.estimated_bytes() >= inner.opts.target_file_bytes)
                {
                    outputs.extend(out.finish(fs)?);
                }
                let out = match current.as_mut() {
                    Some(o) => o,
                    None => {
                        let number = inner.next_file_number.fetch_add(1, Ordering::AcqRel);
                        current.insert(Output::create(fs, &inner.dir, &inner.opts, number)?)
                    }
                };
                if kind == p.kind {
                    out.add(key, kind, &m.top().value())?;
                } else {
                    out.add(&ikey::make(p.user_key, p.seq, kind), kind, &[])?;
                }
                if new_key {
                    last_user.clear();
                    last_user.extend_from_slice(p.user_key);
                }
            }
            m.advance();
        }
        if let Some(e) = m.error.take() {
            return Err(e);
        }
        if let Some(out) = current.take() {
            outputs.extend(out.finish(fs)?);
        }
        fs.sync_dir(&inner.dir)?;
        Ok(())
    })();
    if let Err(e) = result {
        // Outputs not yet in the MANIFEST are orphans; remove what we can (open removes the rest).
        for f in &outputs {
            let _ = fs.remove(&files::sst_path(&inner.dir, f.number));
        }
        return Err(e);
    }
    Ok(outputs)
}

/// Appends `edit` to the MANIFEST, installs the new version, and queues `removed` for deletion.
fn install(inner: &Inner, mut edit: VersionEdit, removed: &[Arc<FileMeta>]) -> Result<()> {
    let mut m = lock(&inner.manifest);
    edit.next_file_number = Some(inner.next_file_number.load(Ordering::Acquire));
    inner.install(&mut m, &edit, None)?;
    drop(m);
    lock(&inner.obsolete).extend(removed.iter().map(|f| (f.number, Arc::downgrade(f))));
    delete_obsolete(inner);
    Ok(())
}

/// Deletes removed files that no version holds any more. Called after every flush and
/// compaction, when an iterator is dropped, when `wait_idle` finds the tree idle, and at close,
/// so a file outlives its last reader by at most the next of those events.
pub(crate) fn delete_obsolete(inner: &Inner) {
    let dead: Vec<u64> = {
        let mut list = lock(&inner.obsolete);
        let (dead, alive): (Vec<_>, Vec<_>) =
            list.drain(..).partition(|(_, w)| w.strong_count() == 0);
        *list = alive;
        dead.into_iter().map(|(n, _)| n).collect()
    };
    for number in dead {
        inner.tables.remove(&number);
        // A failure leaves an orphan that the next open removes.
        let _ = inner.fs.remove(&files::sst_path(&inner.dir, number));
    }
}

/// The next task, judged on the current version.
fn pick(inner: &Inner) -> Option<Task> {
    let version = Arc::clone(&lock(&inner.manifest).version);
    inner.picker.pick(&version)
}

/// The compaction thread: runs tasks while the picker finds any, until shutdown.
pub(crate) fn run_compactor(inner: Arc<Inner>) {
    loop {
        {
            let mut bg = lock(&inner.bg);
            loop {
                if bg.shutdown || inner.failed.load(Ordering::Acquire) {
                    return;
                }
                if pick(&inner).is_some() {
                    break;
                }
                bg = inner.bg_cv.wait(bg).unwrap_or_else(|e| e.into_inner());
            }
        }
        if let Err(e) = compact_once(&inner, |v| inner.picker.pick(v)) {
            tracing::error!(error = %e, "compaction failed: writes are refused until the database is reopened");
            inner.fail(format!("compaction failed: {e}"));
            return;
        }
    }
}

/// Picks (under the compaction lock, so the version cannot move under the task) and runs one
/// task. Returns whether there was one.
fn compact_once(
    inner: &Inner,
    choose: impl Fn(&crate::version::Version) -> Option<Task>,
) -> Result<bool> {
    let _one_at_a_time = lock(&inner.compaction_lock);
    let version = Arc::clone(&lock(&inner.manifest).version);
    let Some(task) = choose(&version) else {
        return Ok(false);
    };
    drop(version);
    lock(&inner.bg).compacting = true;
    let result = run_task(inner, &task);
    drop(task);
    delete_obsolete(inner);
    let mut bg = lock(&inner.bg);
    bg.compacting = false;
    inner.bg_cv.notify_all();
    drop(bg);
    result.map(|()| true)
}

/// `Db::compact`: flushes, then merges each level into the next, down to the last, and
/// rewrites the last level if it holds tombstones. Returns when done. Each step is judged on
/// the version of the moment, so flushes and background compactions may run between steps.
pub(crate) fn compact_all(inner: &Inner) -> Result<()> {
    super::flush::flush_all(inner)?;
    for step in 0..crate::version::LEVELS {
        inner.check_writable()?;
        if let Err(e) = compact_once(inner, |v| Picker::manual_step(v, step)) {
            tracing::error!(error = %e, "manual compaction failed: writes are refused until the database is reopened");
            inner.fail(format!("compaction failed: {e}"));
            return Err(e);
        }
    }
    Ok(())
}

/// `Db::compact_range`: as [`compact_all`], each step limited to the files that overlap
/// `lo..=hi` (all of L0 when any of it does).
pub(crate) fn compact_range(inner: &Inner, lo: &[u8], hi: &[u8]) -> Result<()> {
    super::flush::flush_all(inner)?;
    for step in 0..crate::version::LEVELS {
        inner.check_writable()?;
        if let Err(e) = compact_once(inner, |v| Picker::range_step(v, step, Some((lo, hi)))) {
            tracing::error!(error = %e, "manual compaction failed: writes are refused until the database is reopened");
            inner.fail(format!("compaction failed: {e}"));
            return Err(e);
        }
    }
    Ok(())
}

/// `Db::wait_idle`: returns once no flush or compaction is running or due.
pub(crate) fn wait_idle(inner: &Inner) -> Result<()> {
    let mut bg = lock(&inner.bg);
    loop {
        inner.check_writable()?;
        if bg.shutdown {
            return Err(Error::Closed);
        }
        if inner.read_state().imms.is_empty() && !bg.compacting && pick(inner).is_none() {
            // A reader (this function's own pick, say) may have held a removed file when the
            // compaction checked; now is a good moment to look again.
            delete_obsolete(inner);
            return Ok(());
        }
        bg = inner.bg_cv.wait(bg).unwrap_or_else(|e| e.into_inner());
    }
}
