//! The write path: group commit into the WAL, then the memtable.
//!
//! Writers queue their batches. Whoever finds no leader becomes one, takes the queue (up to
//! [`GROUP_BYTES_MAX`]), and commits it: seqnos assigned, one WAL append for the group, one
//! fdatasync if any member asked for `Sync`, memtable inserts, then the group's last seqno is
//! published and every member is told. While a leader is in the WAL, the next group gathers,
//! which is what lets N durable writers share one fsync.

use super::{Inner, Wal, WriteState, lock};
use crate::batch::{self, WriteBatch};
use crate::files;
use crate::ikey::SEQNO_MAX;
use crate::memtable::Memtable;
use crate::record;
use crate::stats::Counters;
use crate::{Error, Result};
use bytes::Bytes;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// A leader stops adding batches to its group past this many bytes (the first is always taken).
const GROUP_BYTES_MAX: usize = 4 << 20;

/// A slowed-down group waits this long per L0 file past the slowdown threshold...
const SLOWDOWN_STEP: Duration = Duration::from_millis(1);
/// ...up to this many steps.
const SLOWDOWN_STEPS_MAX: u32 = 10;

/// Payloads above this size are appended on their own rather than copied into the group buffer.
const COALESCE_BYTES_MAX: usize = 64 << 10;

#[derive(Debug, Default)]
struct Queue {
    next_id: u64,
    waiting: VecDeque<(u64, WriteBatch, bool)>,
    done: HashMap<u64, Result<(), String>>,
    leader: bool,
}

/// Writers waiting to be committed.
#[derive(Debug, Default)]
pub(crate) struct CommitQueue {
    queue: Mutex<Queue>,
    cv: Condvar,
}

/// Commits `batch`, leading a group or waiting for a leader to commit it.
pub(crate) fn write(inner: &Inner, batch: WriteBatch, sync: bool) -> Result<()> {
    inner.check_writable()?;
    let cq = &inner.commit;
    let mut q = lock(&cq.queue);
    let id = q.next_id;
    q.next_id += 1;
    q.waiting.push_back((id, batch, sync));
    loop {
        if let Some(r) = q.done.remove(&id) {
            return r.map_err(|why| {
                if inner.failed.load(Ordering::Acquire) {
                    Error::PreviousIo(why)
                } else {
                    Error::Io(std::io::Error::other(why))
                }
            });
        }
        if !q.leader {
            q.leader = true;
            let mut group = Vec::new();
            let mut bytes = 0;
            while let Some(front) = q.waiting.front() {
                let n = front.1.approximate_bytes();
                if !group.is_empty() && bytes + n > GROUP_BYTES_MAX {
                    break;
                }
                bytes += n;
                group.extend(q.waiting.pop_front());
            }
            drop(q);
            let ids: Vec<u64> = group.iter().map(|g| g.0).collect();
            let result = commit_group(inner, group);
            let shared = result.as_ref().map(|_| ()).map_err(ToString::to_string);
            q = lock(&cq.queue);
            for gid in ids {
                q.done.insert(gid, shared.clone());
            }
            q.leader = false;
            cq.cv.notify_all();
            if q.done.remove(&id).is_some() {
                // Our own batch was in the group: return the leader's own error, not a copy.
                return result;
            }
            continue;
        }
        q = cq.cv.wait(q).unwrap_or_else(|e| e.into_inner());
    }
}

fn commit_group(inner: &Inner, group: Vec<(u64, WriteBatch, bool)>) -> Result<()> {
    inner.check_writable()?;
    let mut w = lock(&inner.write);
    inner.check_writable()?;
    make_room(inner, &mut w)?;
    // A batch's ops take seqnos first..first + count, and first + count stays within
    // SEQNO_MAX (batch::decode): refuse before anything is written.
    let ops: u64 = group.iter().map(|g| g.1.len() as u64).sum();
    if ops > 0 && w.last_seq.saturating_add(1 + ops) > SEQNO_MAX {
        return Err(Error::SeqnosExhausted { last: w.last_seq, max: SEQNO_MAX - 1 });
    }
    let sync = group.iter().any(|g| g.2);
    let mut seq = w.last_seq + 1;
    let mut payloads: Vec<Bytes> = Vec::with_capacity(group.len());
    for (_, b, _) in group {
        if b.is_empty() {
            continue;
        }
        let n = b.len() as u64;
        payloads.push(b.seal(seq));
        seq += n;
    }
    if let Err(e) = append_to_wal(inner, &w.wal, &payloads, sync) {
        inner.fail(format!("WAL write failed: {e}"));
        return Err(e);
    }
    let mut user_bytes = 0u64;
    for p in &payloads {
        let (_, ops) = batch::decode(p).expect("a batch this process sealed decodes");
        for op in ops {
            user_bytes += (op.key.len() + op.value.len()) as u64;
            w.mem.insert(op.key, op.seq, op.kind, op.value);
        }
    }
    let last = seq - 1;
    assert!(last >= w.last_seq, "seqnos only grow");
    w.last_seq = last;
    inner.visible_seq.store(last, Ordering::Release);
    Counters::add(&inner.counters.batches_written, payloads.len() as u64);
    Counters::add(&inner.counters.user_bytes_written, user_bytes);
    Counters::add(&inner.counters.commit_groups, 1);
    Ok(())
}

fn append_to_wal(inner: &Inner, wal: &Wal, payloads: &[Bytes], sync: bool) -> Result<()> {
    let mut buf = Vec::new();
    let mut written = 0u64;
    for p in payloads {
        if p.len() > COALESCE_BYTES_MAX {
            if !buf.is_empty() {
                wal.file.append(&buf)?;
                written += buf.len() as u64;
                buf.clear();
            }
            wal.file.append(&record::header(p))?;
            wal.file.append(p)?;
            written += (record::HEADER_BYTES + p.len()) as u64;
        } else {
            record::encode(&mut buf, p);
        }
    }
    if !buf.is_empty() {
        wal.file.append(&buf)?;
        written += buf.len() as u64;
    }
    let total = wal.written.fetch_add(written, Ordering::AcqRel) + written;
    Counters::add(&inner.counters.wal_bytes_written, written);
    if sync && wal.synced.load(Ordering::Acquire) < total {
        wal.file.sync()?;
        wal.synced.fetch_max(total, Ordering::AcqRel);
        Counters::add(&inner.counters.wal_syncs, 1);
    }
    Ok(())
}

/// Syncs the WAL if anything in it is unsynced. Used by `Db::sync` and the background syncer.
pub(crate) fn sync_wal(inner: &Inner) -> Result<()> {
    inner.check_writable()?;
    let wal = Arc::clone(&lock(&inner.write).wal);
    sync_if_needed(inner, &wal)
}

fn sync_if_needed(inner: &Inner, wal: &Wal) -> Result<()> {
    let target = wal.written.load(Ordering::Acquire);
    if wal.synced.load(Ordering::Acquire) >= target {
        return Ok(());
    }
    if let Err(e) = wal.file.sync() {
        inner.fail(format!("WAL fsync failed: {e}"));
        return Err(e.into());
    }
    wal.synced.fetch_max(target, Ordering::AcqRel);
    Counters::add(&inner.counters.wal_syncs, 1);
    Ok(())
}

/// Makes room for a group: slows or stops writers while compaction is behind, then switches
/// the memtable when it is full or the WALs have reached their cap, waiting (a stall) while too
/// many immutable memtables wait for flush.
fn make_room(inner: &Inner, w: &mut WriteState) -> Result<()> {
    throttle(inner)?;
    let imm_wal_bytes: u64 = inner.read_state().imms.iter().map(|m| m.wal_bytes()).sum();
    let wal_bytes = imm_wal_bytes + w.wal.written.load(Ordering::Acquire);
    let full = w.mem.approximate_bytes() >= inner.opts.memtable_bytes;
    if !full && (wal_bytes < inner.opts.max_wal_bytes || w.mem.is_empty()) {
        return Ok(());
    }
    let started = Instant::now();
    let mut stalled = false;
    let mut bg = lock(&inner.bg);
    while inner.read_state().imms.len() >= inner.opts.max_immutable_memtables {
        inner.check_writable()?;
        if bg.shutdown {
            return Err(Error::Closed);
        }
        stalled = true;
        bg = inner.bg_cv.wait(bg).unwrap_or_else(|e| e.into_inner());
    }
    drop(bg);
    if stalled {
        Counters::add(&inner.counters.write_stops, 1);
        Counters::add(&inner.counters.stall_micros, started.elapsed().as_micros() as u64);
    }
    switch_memtable(inner, w)
}

/// Back-pressure from the tree's shape: past the slowdown thresholds (L0 files, bytes
/// compaction is behind by) a group waits a little, more the further past; at the stop
/// thresholds it waits until compaction catches up. Compaction never needs the write path,
/// so a stop always ends (or the engine fails, which also wakes the writer).
fn throttle(inner: &Inner) -> Result<()> {
    let opts = &inner.opts;
    // The common case, without a lock: the last installed version asks for nothing.
    let shape = |inner: &Inner| {
        (
            inner.l0_files.load(Ordering::Acquire) as usize,
            inner.pending_compaction_bytes.load(Ordering::Acquire),
        )
    };
    let (l0, pending) = shape(inner);
    if write_pressure(opts, l0, pending) == Pressure::None {
        return Ok(());
    }
    let started = Instant::now();
    let (mut slowed, mut stopped) = (false, false);
    let mut bg = lock(&inner.bg);
    loop {
        inner.check_writable()?;
        if bg.shutdown {
            return Err(Error::Closed);
        }
        let (l0, pending) = shape(inner);
        match write_pressure(opts, l0, pending) {
            Pressure::Stop => {
                stopped = true;
                bg = inner.bg_cv.wait(bg).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            Pressure::Slow(delay) if !slowed => {
                slowed = true;
                bg = inner.bg_cv.wait_timeout(bg, delay).unwrap_or_else(|e| e.into_inner()).0;
                continue;
            }
            Pressure::Slow(_) | Pressure::None => {}
        }
        break;
    }
    drop(bg);
    if stopped {
        Counters::add(&inner.counters.write_stops, 1);
    } else if slowed {
        Counters::add(&inner.counters.write_slowdowns, 1);
    }
    if slowed || stopped {
        Counters::add(&inner.counters.stall_micros, started.elapsed().as_micros() as u64);
    }
    Ok(())
}

/// What the tree's shape asks of a writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pressure {
    None,
    /// Wait this long (once per group), then write.
    Slow(Duration),
    /// Wait until compaction catches up.
    Stop,
}

/// The back-pressure policy, a function of the L0 file count and the bytes compaction is
/// behind by: nothing below the slowdown thresholds, a delay growing with each L0 file past
/// the slowdown threshold (capped), and a stop at the stop thresholds.
pub(crate) fn write_pressure(
    opts: &crate::Options,
    l0_files: usize,
    pending_bytes: u64,
) -> Pressure {
    if l0_files >= opts.l0_stop_trigger || pending_bytes >= opts.pending_compaction_stop_bytes {
        return Pressure::Stop;
    }
    if l0_files >= opts.l0_slowdown_trigger
        || pending_bytes >= opts.pending_compaction_slowdown_bytes
    {
        let excess = l0_files.saturating_sub(opts.l0_slowdown_trigger) as u32 + 1;
        return Pressure::Slow(SLOWDOWN_STEP * excess.min(SLOWDOWN_STEPS_MAX));
    }
    Pressure::None
}

/// Freezes the active memtable and starts a new one with a new WAL. The old WAL is synced
/// first, so only the newest WAL can ever end in a torn write.
pub(crate) fn switch_memtable(inner: &Inner, w: &mut WriteState) -> Result<()> {
    let switched = (|| -> Result<Arc<Wal>> {
        sync_if_needed(inner, &w.wal)?;
        let number = inner.next_file_number.fetch_add(1, Ordering::AcqRel);
        let file = inner.fs.create(&files::wal_path(&inner.dir, number))?;
        inner.fs.sync_dir(&inner.dir)?;
        Ok(Arc::new(Wal { file, number, written: AtomicU64::new(0), synced: AtomicU64::new(0) }))
    })();
    let wal = match switched {
        Ok(wal) => wal,
        Err(e) => {
            inner.fail(format!("starting a new WAL failed: {e}"));
            return Err(e);
        }
    };
    let mem = Arc::new(Memtable::new(wal.number, inner.opts.memtable_bytes));
    w.mem.set_wal_bytes(w.wal.written.load(Ordering::Acquire));
    {
        let mut rs = lock(&inner.read_state);
        let mut imms = Vec::with_capacity(rs.imms.len() + 1);
        imms.push(Arc::clone(&w.mem));
        imms.extend(rs.imms.iter().cloned());
        *rs = Arc::new(super::ReadState {
            mem: Arc::clone(&mem),
            imms,
            version: Arc::clone(&rs.version),
        });
    }
    w.mem = mem;
    w.wal = wal;
    let _bg = lock(&inner.bg);
    inner.bg_cv.notify_all();
    Ok(())
}

/// The background WAL syncer: every `sync_interval`, sync what Buffered writes left unsynced.
/// It also settles an idle database: after a whole interval without a write, a non-empty
/// memtable is frozen and flushed, so its WAL stops holding disk space and compaction can bring
/// the directory back near the live size.
pub(crate) fn run_syncer(inner: Arc<Inner>, interval: std::time::Duration) {
    let mut bg = lock(&inner.bg);
    let mut batches_seen = Counters::get(&inner.counters.batches_written);
    loop {
        let deadline = Instant::now() + interval;
        while !bg.shutdown {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            bg = inner.bg_cv.wait_timeout(bg, deadline - now).unwrap_or_else(|e| e.into_inner()).0;
        }
        if bg.shutdown || inner.failed.load(Ordering::Acquire) {
            return;
        }
        drop(bg);
        let _ = sync_wal(&inner);
        let batches = Counters::get(&inner.counters.batches_written);
        if batches == batches_seen {
            flush_idle_memtable(&inner);
        }
        batches_seen = batches;
        bg = lock(&inner.bg);
    }
}

/// Freezes the active memtable if it holds anything and nothing waits for flush already.
fn flush_idle_memtable(inner: &Inner) {
    let mut w = lock(&inner.write);
    if w.mem.is_empty() || !inner.read_state().imms.is_empty() || inner.check_writable().is_err() {
        return;
    }
    // A failure here puts the engine in the failed state, which the next write reports.
    let _ = switch_memtable(inner, &mut w);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::{Fs, SimFs};
    use crate::{Db, Durability, Options};
    use std::path::Path;

    #[test]
    fn write_past_the_last_seqno_is_refused_and_nothing_is_written() {
        // A MANIFEST that says the last seqno is two below the limit: one seqno is left.
        let fs = SimFs::new();
        let options = Options::default().fs(Arc::new(fs.clone()));
        let dir = Path::new("/db");
        fs.create_dir_all(dir).expect("mkdir");
        let edit = crate::version::VersionEdit {
            log_number: Some(2),
            next_file_number: Some(3),
            last_seqno: Some(SEQNO_MAX - 2),
            ..Default::default()
        };
        crate::manifest::ManifestWriter::create(&fs, dir, 1, &edit).expect("MANIFEST");
        crate::manifest::set_current(&fs, dir, 1).expect("CURRENT");
        let db = Db::open(dir, options.clone()).expect("open");
        assert_eq!(db.stats().last_seqno, SEQNO_MAX - 2);
        let two = || {
            let mut b = WriteBatch::new();
            b.put("a", "1");
            b.put("b", "2");
            b
        };
        let err = db.write_with(two(), Durability::Sync).expect_err("two ops, one seqno left");
        assert!(matches!(err, Error::SeqnosExhausted { .. }), "{err}");
        db.sync().expect("a sync takes no seqno");
        db.put("c", "3").expect("the last seqno");
        assert_eq!(db.stats().last_seqno, SEQNO_MAX - 1);
        assert!(matches!(db.put("d", "4"), Err(Error::SeqnosExhausted { .. })));
        drop(db);
        let db = Db::open(dir, options).expect("reopen");
        let keys: Vec<Vec<u8>> =
            db.iter().map(|r| r.map(|(k, _)| k.to_vec())).collect::<Result<_>>().expect("scan");
        assert_eq!(keys, vec![b"c".to_vec()], "refused writes left nothing");
    }

    #[test]
    fn write_pressure_grows_smoothly_then_stops() {
        let o =
            crate::Options::default().l0_write_limits(12, 20).pending_compaction_limits(100, 200);
        assert_eq!(write_pressure(&o, 11, 0), Pressure::None);
        assert_eq!(write_pressure(&o, 12, 0), Pressure::Slow(SLOWDOWN_STEP));
        assert_eq!(write_pressure(&o, 15, 0), Pressure::Slow(SLOWDOWN_STEP * 4));
        assert_eq!(write_pressure(&o, 19, 0), Pressure::Slow(SLOWDOWN_STEP * 8));
        assert_eq!(write_pressure(&o, 20, 0), Pressure::Stop);
        assert_eq!(write_pressure(&o, 0, 99), Pressure::None);
        assert_eq!(write_pressure(&o, 0, 100), Pressure::Slow(SLOWDOWN_STEP));
        assert_eq!(write_pressure(&o, 0, 200), Pressure::Stop);
        let wide = crate::Options::default().l0_write_limits(1, 100);
        assert_eq!(
            write_pressure(&wide, 50, 0),
            Pressure::Slow(SLOWDOWN_STEP * SLOWDOWN_STEPS_MAX)
        );
    }
}
