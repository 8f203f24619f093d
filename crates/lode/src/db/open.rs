//! Opening a database: LOCK, CURRENT, MANIFEST replay, WAL replay, then a fresh start.
//!
//! Recovery replays every WAL the MANIFEST still needs into one memtable (the newest WAL may
//! end in a torn write, which is truncated away; damage anywhere else is corruption), writes
//! that memtable as an L0 SST, and writes a new MANIFEST describing the whole version, which
//! CURRENT is then switched to. Only after that are the replayed WALs, old MANIFESTs and files
//! no version names deleted. A crash at any point of this leaves either the old state or the
//! new one, both complete.

use super::commit::run_syncer;
use super::compact::run_compactor;
use super::flush::{run_flusher, write_table};
use super::{BgState, Inner, ManifestState, ReadState, Wal, WriteState, lock};
use crate::batch;
use crate::compaction::Picker;
use crate::files::{self, FileKind};
use crate::fs::Fs;
use crate::manifest::{self, ManifestWriter, Replayed};
use crate::memtable::Memtable;
use crate::options::Options;
use crate::record::{Next, RecordReader};
use crate::sst::BlockCache;
use crate::stats::Counters;
use crate::version::VersionEdit;
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

pub(crate) fn open(dir: &Path, mut opts: Options) -> Result<Arc<Inner>> {
    // Writers may stop only where compaction is sure to start, or they would wait forever.
    opts.l0_slowdown_trigger = opts.l0_slowdown_trigger.max(opts.l0_compaction_trigger);
    opts.l0_stop_trigger = opts.l0_stop_trigger.max(opts.l0_slowdown_trigger + 1);
    let fs = Arc::clone(&opts.fs);
    if opts.create_if_missing {
        fs.create_dir_all(dir)?;
    }
    let lock_file = fs.lock(&dir.join(files::LOCK)).map_err(|e| match e.kind() {
        std::io::ErrorKind::WouldBlock => Error::Locked(dir.to_owned()),
        _ => Error::Io(e),
    })?;
    let names = fs.list(dir)?;
    let numbered: Vec<(FileKind, u64)> = names.iter().filter_map(|n| files::parse(n)).collect();
    let max_number = numbered.iter().map(|f| f.1).max().unwrap_or(0);

    let current = manifest::read_current(fs.as_ref(), dir)?;
    let mut state = match current {
        Some(number) => manifest::replay(fs.as_ref(), dir, number)?,
        None => {
            if !opts.create_if_missing {
                return Err(Error::InvalidArgument(format!(
                    "{} holds no database and create_if_missing is off",
                    dir.display()
                )));
            }
            if numbered.iter().any(|f| f.0 != FileKind::Manifest) {
                return Err(Error::corruption(
                    dir.join(files::CURRENT),
                    0,
                    "CURRENT is missing but WAL or SST files are present",
                ));
            }
            Replayed { next_file_number: 1, ..Replayed::default() }
        }
    };
    state.next_file_number = state.next_file_number.max(max_number + 1);
    let next_file_number = AtomicU64::new(state.next_file_number);

    // Replay the WALs the MANIFEST still needs, oldest first.
    let mut wals: Vec<u64> = numbered
        .iter()
        .filter(|f| f.0 == FileKind::Wal && f.1 >= state.log_number)
        .map(|f| f.1)
        .collect();
    wals.sort_unstable();
    // The MANIFEST's log_number always names a WAL that was created (and is deleted only after
    // a later edit moves past it). If newer WALs exist without it, the MANIFEST lost an edit.
    if wals.first().is_some_and(|&first| first != state.log_number) {
        return Err(Error::corruption(
            dir.join(files::manifest_name(current.unwrap_or(0))),
            0,
            format!(
                "WAL {} named by the MANIFEST is missing while newer WALs exist",
                state.log_number
            ),
        ));
    }
    // Only written out, never read: its filter can stay minimal.
    let recovered = Memtable::new(0, 0);
    let mut chain = SeqChain::new(state.last_seqno);
    for (i, &number) in wals.iter().enumerate() {
        let newest = i + 1 == wals.len();
        replay_wal(fs.as_ref(), dir, number, newest, &recovered, &mut chain)?;
    }
    // `next` is 0 only after nothing but empty batches at seqno 0: no seqno was used.
    let last_seq =
        chain.next.map_or(state.last_seqno, |n| n.saturating_sub(1).max(state.last_seqno));

    // Write what the WALs held as an L0 SST, so the new MANIFEST can retire them.
    let mut version = state.version;
    if !recovered.is_empty() {
        let number = next_file_number.fetch_add(1, Ordering::AcqRel);
        if let Some(meta) = write_table(fs.as_ref(), dir, &opts, &recovered, number, Vec::new())? {
            let edit = VersionEdit { new_files: vec![(0, meta)], ..VersionEdit::default() };
            version = version.apply(&edit).map_err(|why| {
                Error::InvalidArgument(format!("recovered SST does not fit the version: {why}"))
            })?;
        }
    }

    // A new MANIFEST with the whole version, then CURRENT, then a new WAL.
    let manifest_number = next_file_number.fetch_add(1, Ordering::AcqRel);
    let wal_number = next_file_number.fetch_add(1, Ordering::AcqRel);
    let mut first = version.snapshot_edit();
    first.log_number = Some(wal_number);
    first.next_file_number = Some(wal_number + 1);
    first.last_seqno = Some(last_seq);
    let writer = ManifestWriter::create(fs.as_ref(), dir, manifest_number, &first)?;
    manifest::set_current(fs.as_ref(), dir, manifest_number)?;
    let wal_file = fs.create(&files::wal_path(dir, wal_number))?;
    fs.sync_dir(dir)?;

    // Everything the new MANIFEST does not need goes.
    let live: Vec<u64> = version.files().map(|f| f.number).collect();
    for name in &names {
        let obsolete = match files::parse(name) {
            Some((FileKind::Wal, n)) => n < wal_number,
            Some((FileKind::Manifest, n)) => n != manifest_number,
            Some((FileKind::Sst, n)) => !live.contains(&n),
            None => name == files::CURRENT_TMP,
        };
        if obsolete {
            let _ = fs.remove(&dir.join(name));
        }
    }

    let version = Arc::new(version);
    let wal = Arc::new(Wal {
        file: wal_file,
        number: wal_number,
        written: AtomicU64::new(0),
        synced: AtomicU64::new(0),
    });
    let mem = Arc::new(Memtable::new(wal_number, opts.memtable_bytes));
    let inner = Arc::new(Inner {
        dir: dir.to_owned(),
        fs: Arc::clone(&fs),
        lock_file: Mutex::new(Some(lock_file)),
        read_state: Mutex::new(Arc::new(ReadState {
            mem: Arc::clone(&mem),
            imms: Vec::new(),
            version: Arc::clone(&version),
        })),
        visible_seq: AtomicU64::new(last_seq),
        commit: Default::default(),
        write: Mutex::new(WriteState { wal, mem, last_seq }),
        bg: Mutex::new(BgState::default()),
        bg_cv: Condvar::new(),
        manifest: Mutex::new(ManifestState { writer, version }),
        next_file_number,
        failed: AtomicBool::new(false),
        failure: Mutex::new(None),
        snapshots: Mutex::new(BTreeMap::new()),
        tables: quick_cache::sync::Cache::new(opts.max_open_files),
        blocks: Arc::new(BlockCache::new(opts.cache_bytes)),
        counters: Counters::default(),
        threads: Mutex::new(Vec::new()),
        picker: Picker {
            l0_trigger: opts.l0_compaction_trigger,
            fanout: 10,
            base_level_bytes: opts.base_level_bytes,
            tombstone_ratio: 0.3,
            tombstone_min_entries: 64,
            space_amp_ratio: 0.25,
            space_amp_min_bytes: 2 * opts.target_file_bytes,
        },
        compaction_lock: Mutex::new(()),
        wal_pins: Mutex::new((0, Vec::new())),
        l0_files: AtomicU64::new(0),
        pending_compaction_bytes: AtomicU64::new(0),
        obsolete: Mutex::new(Vec::new()),
        opts,
    });
    inner.note_shape(&lock(&inner.manifest).version);
    start_threads(&inner)?;
    Ok(inner)
}

fn start_threads(inner: &Arc<Inner>) -> Result<()> {
    let mut threads = lock(&inner.threads);
    let flusher = Arc::clone(inner);
    threads.push(spawn("lode-flush", move || run_flusher(flusher))?);
    let compactor = Arc::clone(inner);
    threads.push(spawn("lode-compact", move || run_compactor(compactor))?);
    if let Some(interval) = inner.opts.sync_interval {
        let syncer = Arc::clone(inner);
        threads.push(spawn("lode-sync", move || run_syncer(syncer, interval))?);
    }
    Ok(())
}

/// Starts a background thread that logs (flush and compaction lines) to the `tracing`
/// subscriber that was current when the database was opened, if the opener had one in scope;
/// otherwise to the global default, whenever it is set.
fn spawn(name: &str, run: impl FnOnce() + Send + 'static) -> std::io::Result<JoinHandle<()>> {
    let dispatch = tracing::dispatcher::get_default(|d| d.clone());
    let scoped = !dispatch.is::<tracing::subscriber::NoSubscriber>();
    std::thread::Builder::new().name(name.into()).spawn(move || {
        if scoped {
            tracing::dispatcher::with_default(&dispatch, run);
        } else {
            run();
        }
    })
}

/// Seqnos chain without gaps: every batch takes the seqnos right after the previous one, WALs
/// are never left empty but for the active one, and the first WAL the MANIFEST needs starts
/// right after its `last_seqno` (or before it, in a checkpoint, whose MANIFEST records the
/// seqno it was taken at). A jump means records are missing: an older WAL was cut short at a
/// record boundary, which the record framing alone cannot see.
#[derive(Debug)]
pub(crate) struct SeqChain {
    /// The seqno the next batch must start at, once a batch was seen.
    next: Option<u64>,
    /// The MANIFEST's last seqno: the first batch may start at most one past it.
    sst_last: u64,
}

impl SeqChain {
    /// The chain of WALs after a MANIFEST whose `last_seqno` is `sst_last`.
    pub(crate) fn new(sst_last: u64) -> SeqChain {
        SeqChain { next: None, sst_last }
    }

    /// Takes the next batch, of `count` ops from seqno `first`; `Err(reason)` when records
    /// before it are missing.
    pub(crate) fn take(&mut self, first: u64, count: u64) -> Result<(), String> {
        let gap = match self.next {
            Some(expected) => first != expected,
            None => first > self.sst_last + 1,
        };
        if gap {
            let expected = self.next.unwrap_or(self.sst_last + 1);
            return Err(format!(
                "batch starts at seqno {first} where {expected} was expected: records before it are missing"
            ));
        }
        self.next = Some(first + count);
        Ok(())
    }
}

/// Replays WAL `number` into `mem`, checking the seqno chain. A torn tail is allowed (and
/// truncated) only in the newest WAL.
fn replay_wal(
    fs: &dyn Fs,
    dir: &Path,
    number: u64,
    newest: bool,
    mem: &Memtable,
    chain: &mut SeqChain,
) -> Result<()> {
    let path = files::wal_path(dir, number);
    let file = fs.open(&path)?;
    let mut reader = RecordReader::new(file, &path);
    loop {
        match reader.next()? {
            Next::Record { offset, payload } => {
                let payload = bytes::Bytes::from(payload);
                let (first, ops) =
                    batch::decode(&payload).map_err(|why| Error::corruption(&path, offset, why))?;
                chain
                    .take(first, ops.len() as u64)
                    .map_err(|why| Error::corruption(&path, offset, why))?;
                for op in ops {
                    mem.insert(op.key, op.seq, op.kind, op.value);
                }
            }
            Next::End => return Ok(()),
            Next::Torn { offset } if newest => {
                fs.truncate(&path, offset)?;
                return Ok(());
            }
            Next::Torn { offset } => {
                return Err(Error::corruption(
                    &path,
                    offset,
                    "a WAL that is not the newest ends in a torn write",
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::batch::WriteBatch;
    use crate::fs::{Fs, SimFs};
    use crate::{Db, Options};
    use std::path::Path;
    use std::sync::Arc;

    #[test]
    fn open_recovers_a_wal_of_one_empty_batch_at_seqno_0() {
        let fs = SimFs::new();
        let options = Options::default().fs(Arc::new(fs.clone()));
        let dir = Path::new("/db");
        drop(Db::open(dir, options.clone()).expect("create"));
        let wal = fs.list(dir).expect("list").into_iter().find(|n| n.ends_with(".wal"));
        let mut record = Vec::new();
        crate::record::encode(&mut record, &WriteBatch::new().seal(0));
        fs.write_file(&dir.join(wal.expect("a new database has a WAL")), &record);
        let db = Db::open(dir, options).expect("an empty batch is no corruption");
        assert_eq!(db.stats().last_seqno, 0);
        db.put("k", "v").expect("write");
        assert_eq!(db.stats().last_seqno, 1);
    }
}
