//! [`Db`]: the engine's public handle, and the state every part of it shares.
//!
//! Write path ([`commit`]): `write` -> commit queue (the first waiting writer leads a group)
//! -> one WAL append (and one fdatasync if any member asked for Sync) -> memtable inserts ->
//! the group's last seqno published -> acks. A full memtable turns immutable; the flush thread
//! ([`flush`]) writes it as an L0 SST, records it in the MANIFEST, and deletes its WAL.
//!
//! Read path: a reader loads the published seqno, then clones the `Arc` of the current
//! [`ReadState`] (memtables + version) and reads without any lock: memtables newest first, then
//! SSTs newest first. Seqno first, state second: every write at or below the seqno is in that
//! state or a later one's memtables, which the state it gets already includes.
//!
//! Failure: a failed WAL write or fsync, or a failed flush, puts the engine in the failed
//! state: reads go on, writes return `PreviousIo` until the database is reopened.

mod checkpoint;
mod commit;
mod compact;
mod flush;
mod iter;
mod level_iter;
mod merge;
mod open;
mod output;
mod snapshot;

pub use iter::Iter;
pub(crate) use open::SeqChain;
pub use snapshot::Snapshot;

use crate::batch::WriteBatch;
use crate::compaction::Picker;
use crate::files;
use crate::fs::{Fs, FsLock, WritableFile};
use crate::ikey::{SeqNo, ValueKind};
use crate::manifest::ManifestWriter;
use crate::memtable::Memtable;
use crate::options::{Durability, Options};
use crate::sst::{BlockCache, TableReader};
use crate::stats::{Counters, MemoryStats, Stats};
use crate::value::Value;
use crate::version::{FileMeta, Version, VersionEdit};
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::fmt;
use std::ops::{Bound, RangeBounds};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread::JoinHandle;

/// Locks a mutex, carrying on past poisoning: every critical section leaves its data valid
/// (state is replaced by whole `Arc`s), so a panic elsewhere does not make it unusable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What a reader needs: the memtables and the SSTs, as of one moment.
#[derive(Debug)]
pub(crate) struct ReadState {
    pub mem: Arc<Memtable>,
    /// Immutable memtables waiting for flush, newest first.
    pub imms: Vec<Arc<Memtable>>,
    pub version: Arc<Version>,
}

/// The WAL being appended to.
#[derive(Debug)]
pub(crate) struct Wal {
    pub file: Arc<dyn WritableFile>,
    pub number: u64,
    pub written: AtomicU64,
    pub synced: AtomicU64,
}

/// Owned by the commit leader (and by `flush`/`sync`, which take it to exclude writers).
#[derive(Debug)]
pub(crate) struct WriteState {
    pub wal: Arc<Wal>,
    pub mem: Arc<Memtable>,
    pub last_seq: SeqNo,
}

/// Background-thread coordination: guarded by `Inner::bg`, signalled by `Inner::bg_cv`.
#[derive(Debug, Default)]
pub(crate) struct BgState {
    pub shutdown: bool,
    /// A compaction task is running.
    pub compacting: bool,
}

#[derive(Debug)]
pub(crate) struct ManifestState {
    pub writer: ManifestWriter,
    pub version: Arc<Version>,
}

/// The state shared by handles, snapshots, iterators and background threads.
pub(crate) struct Inner {
    pub dir: PathBuf,
    pub opts: Options,
    pub fs: Arc<dyn Fs>,
    pub lock_file: Mutex<Option<FsLock>>,
    pub read_state: Mutex<Arc<ReadState>>,
    pub visible_seq: AtomicU64,
    pub commit: commit::CommitQueue,
    pub write: Mutex<WriteState>,
    pub bg: Mutex<BgState>,
    pub bg_cv: Condvar,
    pub manifest: Mutex<ManifestState>,
    pub next_file_number: AtomicU64,
    pub failed: AtomicBool,
    pub failure: Mutex<Option<String>>,
    pub snapshots: Mutex<BTreeMap<SeqNo, usize>>,
    pub tables: quick_cache::sync::Cache<u64, Arc<TableReader>>,
    pub blocks: Arc<BlockCache>,
    pub counters: Counters,
    pub threads: Mutex<Vec<JoinHandle<()>>>,
    pub picker: Picker,
    /// One compaction at a time, background or manual.
    pub compaction_lock: Mutex<()>,
    /// The tree's shape as back-pressure sees it (L0 files, pending compaction bytes),
    /// refreshed whenever a version is installed, so writers check it without a lock.
    pub l0_files: AtomicU64,
    pub pending_compaction_bytes: AtomicU64,
    /// Checkpoints copying WALs now, and the WALs whose deletion waits for them.
    pub wal_pins: Mutex<(usize, Vec<u64>)>,
    /// Files removed from the version, deleted once no version holds them.
    pub obsolete: Mutex<Vec<(u64, Weak<FileMeta>)>>,
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inner").field("dir", &self.dir).finish_non_exhaustive()
    }
}

impl Inner {
    pub(crate) fn read_state(&self) -> Arc<ReadState> {
        Arc::clone(&lock(&self.read_state))
    }

    /// Enters the failed state: writes are refused until reopen.
    pub(crate) fn fail(&self, why: String) {
        let mut f = lock(&self.failure);
        if f.is_none() {
            *f = Some(why);
        }
        self.failed.store(true, Ordering::Release);
        drop(f);
        let _bg = lock(&self.bg);
        self.bg_cv.notify_all();
    }

    pub(crate) fn check_writable(&self) -> Result<()> {
        if self.failed.load(Ordering::Acquire) {
            let why = lock(&self.failure).clone().unwrap_or_default();
            return Err(Error::PreviousIo(why));
        }
        Ok(())
    }

    /// Makes `edit` durable in the MANIFEST, then installs the version it makes, in the same
    /// read-state swap as the removal of `flushed` (the memtable a flush just wrote), so no
    /// reader sees that data twice or not at all. The caller holds the MANIFEST lock.
    pub(crate) fn install(
        &self,
        m: &mut ManifestState,
        edit: &VersionEdit,
        flushed: Option<&Arc<Memtable>>,
    ) -> Result<()> {
        let version = m.version.apply(edit).map_err(|why| {
            Error::InvalidArgument(format!("a version edit does not apply: {why}"))
        })?;
        m.writer.append(edit)?;
        m.version = Arc::new(version);
        self.note_shape(&m.version);
        let mut rs = lock(&self.read_state);
        let imms = rs
            .imms
            .iter()
            .filter(|x| flushed.is_none_or(|f| !Arc::ptr_eq(x, f)))
            .cloned()
            .collect();
        *rs =
            Arc::new(ReadState { mem: Arc::clone(&rs.mem), imms, version: Arc::clone(&m.version) });
        Ok(())
    }

    /// Records the shape of a newly installed version for the writers' back-pressure check.
    pub(crate) fn note_shape(&self, version: &Version) {
        self.l0_files.store(version.levels[0].len() as u64, Ordering::Release);
        self.pending_compaction_bytes.store(self.picker.pending_bytes(version), Ordering::Release);
    }

    /// The reader for an SST, opened through the table cache.
    pub(crate) fn table(&self, meta: &FileMeta) -> Result<Arc<TableReader>> {
        self.tables.get_or_insert_with(&meta.number, || {
            let path = files::sst_path(&self.dir, meta.number);
            let file = self.fs.open(&path).map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    Error::corruption(&path, 0, "an SST the MANIFEST names is missing")
                } else {
                    Error::Io(e)
                }
            })?;
            TableReader::open(file, path, meta.number, Arc::clone(&self.blocks)).map(Arc::new)
        })
    }

    /// The value of `key` at seqno `seq` in `state`.
    pub(crate) fn get_at(
        &self,
        state: &ReadState,
        key: &[u8],
        seq: SeqNo,
    ) -> Result<Option<Value>> {
        let found = |kind: ValueKind, v| match kind {
            ValueKind::Put => Some(Value(v)),
            ValueKind::Delete => None,
        };
        let hash = crate::memtable::key_hash(key);
        for mem in std::iter::once(&state.mem).chain(&state.imms) {
            if let Some((kind, v)) = mem.get(key, hash, seq) {
                return Ok(found(kind, v));
            }
        }
        // L0 files overlap: all of them, newest first. Deeper levels do not: at most one
        // file per level can hold the key.
        let l0 = state.version.levels[0].iter().filter(|f| f.overlaps(Some(key), Some(key)));
        let deeper = state.version.levels[1..].iter().filter_map(|files| file_for(files, key));
        for meta in l0.chain(deeper) {
            if let Some((kind, v)) = self.table(meta)?.get(key, seq)? {
                return Ok(found(kind, v));
            }
        }
        Ok(None)
    }

    fn register_snapshot(&self) -> SeqNo {
        let mut snaps = lock(&self.snapshots);
        let seq = self.visible_seq.load(Ordering::Acquire);
        *snaps.entry(seq).or_insert(0) += 1;
        seq
    }

    /// Registers a snapshot at the oldest seqno any reader can see: the oldest live snapshot,
    /// or the newest visible seqno when there is none (a compaction filter's horizon).
    pub(crate) fn register_horizon(&self) -> SeqNo {
        let mut snaps = lock(&self.snapshots);
        let seq = match snaps.keys().next() {
            Some(&oldest) => oldest,
            None => self.visible_seq.load(Ordering::Acquire),
        };
        *snaps.entry(seq).or_insert(0) += 1;
        seq
    }

    pub(crate) fn release_snapshot(&self, seq: SeqNo) {
        let mut snaps = lock(&self.snapshots);
        if let Some(n) = snaps.get_mut(&seq) {
            *n -= 1;
            if *n == 0 {
                snaps.remove(&seq);
            }
        }
    }

    fn stats(&self) -> Stats {
        let state = self.read_state();
        let c = &self.counters;
        let mem_bytes: usize =
            std::iter::once(&state.mem).chain(&state.imms).map(|m| m.approximate_bytes()).sum();
        Stats {
            batches_written: Counters::get(&c.batches_written),
            commit_groups: Counters::get(&c.commit_groups),
            wal_bytes_written: Counters::get(&c.wal_bytes_written),
            wal_syncs: Counters::get(&c.wal_syncs),
            flushes: Counters::get(&c.flushes),
            flush_bytes_written: Counters::get(&c.flush_bytes_written),
            stall_micros: Counters::get(&c.stall_micros),
            memtable_bytes: mem_bytes as u64,
            immutable_memtables: state.imms.len() as u64,
            level_files: state.version.levels.iter().map(|l| l.len() as u64).collect(),
            level_bytes: state
                .version
                .levels
                .iter()
                .map(|l| l.iter().map(|f| f.file_bytes).sum())
                .collect(),
            block_cache_bytes: self.blocks.usage_bytes(),
            block_cache_hits: self.blocks.hits(),
            block_cache_misses: self.blocks.misses(),
            last_seqno: self.visible_seq.load(Ordering::Acquire),
            user_bytes_written: Counters::get(&c.user_bytes_written),
            compactions: Counters::get(&c.compactions),
            compaction_filter_removed: Counters::get(&c.compaction_filter_removed),
            compaction_bytes_read: Counters::get(&c.compaction_bytes_read),
            compaction_bytes_written: Counters::get(&c.compaction_bytes_written),
            pending_compaction_bytes: self.picker.pending_bytes(&state.version),
            write_slowdowns: Counters::get(&c.write_slowdowns),
            write_stops: Counters::get(&c.write_stops),
            open_tables: self.tables.len() as u64,
            memory: MemoryStats {
                block_cache_bytes: self.blocks.usage_bytes(),
                memtable_bytes: mem_bytes as u64,
                total_bytes: self.blocks.usage_bytes() + mem_bytes as u64,
            },
        }
    }

    /// Stops the background threads, syncs the WAL and releases the LOCK.
    fn close(&self) {
        {
            let mut bg = lock(&self.bg);
            bg.shutdown = true;
            self.bg_cv.notify_all();
        }
        let threads = std::mem::take(&mut *lock(&self.threads));
        for t in threads {
            let _ = t.join();
        }
        compact::delete_obsolete(self);
        if !self.failed.load(Ordering::Acquire) {
            let wal = Arc::clone(&lock(&self.write).wal);
            if wal.file.sync().is_err() {
                self.fail("the WAL sync at close failed".into());
            }
        }
        lock(&self.lock_file).take();
    }
}

/// Closes the database when the last `Db`, `Snapshot` or `Iter` goes away.
#[derive(Debug)]
pub(crate) struct Handle {
    pub inner: Arc<Inner>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.inner.close();
    }
}

/// An open database. Cheap to clone; all clones share one engine. Dropping the last handle
/// (and the last snapshot and iterator) stops background work and releases the directory.
#[derive(Clone, Debug)]
pub struct Db {
    handle: Arc<Handle>,
}

impl Db {
    /// Opens (or, with `create_if_missing`, creates) the database in `path`, recovering
    /// whatever the WAL holds.
    ///
    /// # Errors
    /// [`Error::Locked`] if another handle or process has it open; [`Error::Corruption`] if
    /// its files do not verify; [`Error::Io`] for failing I/O.
    pub fn open(path: impl AsRef<Path>, options: Options) -> Result<Db> {
        let inner = open::open(path.as_ref(), options)?;
        Ok(Db { handle: Arc::new(Handle { inner }) })
    }

    fn inner(&self) -> &Inner {
        &self.handle.inner
    }

    /// The value of `key`, if it is set.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Value>> {
        let inner = self.inner();
        let seq = inner.visible_seq.load(Ordering::Acquire);
        let state = inner.read_state();
        inner.get_at(&state, key.as_ref(), seq)
    }

    /// Sets `key` to `value`, with the database's default durability.
    pub fn put(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        let mut b = WriteBatch::new();
        b.put(key, value);
        self.write(b)
    }

    /// Deletes `key`, with the database's default durability.
    pub fn delete(&self, key: impl AsRef<[u8]>) -> Result<()> {
        let mut b = WriteBatch::new();
        b.delete(key);
        self.write(b)
    }

    /// Applies a batch atomically, with the database's default durability.
    pub fn write(&self, batch: WriteBatch) -> Result<()> {
        self.write_with(batch, self.inner().opts.durability)
    }

    /// Applies a batch atomically with the given durability.
    ///
    /// # Errors
    /// [`Error::TooLarge`] if a key, value or the batch passed its limit (nothing is written);
    /// [`Error::PreviousIo`] after an earlier failed write; [`Error::Io`] if this write failed.
    pub fn write_with(&self, batch: WriteBatch, durability: Durability) -> Result<()> {
        batch.check()?;
        commit::write(&self.handle.inner, batch, durability == Durability::Sync)
    }

    /// Every key in order (`.rev()` for descending).
    pub fn iter(&self) -> Iter {
        self.range::<&[u8], _>(..)
    }

    /// The keys in `range`, in order (`.rev()` for descending).
    pub fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> Iter {
        let seq = self.inner().visible_seq.load(Ordering::Acquire);
        Iter::new(Arc::clone(&self.handle), seq, None, bounds(&range))
    }

    /// The keys that start with `prefix`, in order.
    pub fn prefix(&self, prefix: impl AsRef<[u8]>) -> Iter {
        let (lo, hi) = prefix_bounds(prefix.as_ref());
        let seq = self.inner().visible_seq.load(Ordering::Acquire);
        Iter::new(Arc::clone(&self.handle), seq, None, (lo, hi))
    }

    /// A consistent view of the database as of now, unaffected by later writes.
    pub fn snapshot(&self) -> Snapshot {
        let seq = self.inner().register_snapshot();
        Snapshot::new(Arc::clone(&self.handle), seq)
    }

    /// Writes the memtable (and any waiting immutable ones) to SSTs; durable when it returns.
    pub fn flush(&self) -> Result<()> {
        flush::flush_all(&self.handle.inner)
    }

    /// Makes every acknowledged write durable (fdatasync of the WAL). Goes through the commit
    /// queue, so concurrent `sync` calls and `Sync` writes share one fsync.
    pub fn sync(&self) -> Result<()> {
        commit::write(&self.handle.inner, WriteBatch::new(), true)
    }

    /// Compacts the whole database into the last level (after a flush), dropping every
    /// version no snapshot needs and every tombstone. Returns when done.
    pub fn compact(&self) -> Result<()> {
        compact::compact_all(&self.handle.inner)
    }

    /// Compacts the files that hold keys in `start..=end` into the last level (after a flush),
    /// as [`Db::compact`] does for all of them: versions no snapshot needs, tombstones and
    /// what the compaction filter removes are dropped from that range. Returns when done. For
    /// reclaiming a known range soon (say, the elements of a deleted collection) without
    /// rewriting the whole database.
    pub fn compact_range(&self, start: impl AsRef<[u8]>, end: impl AsRef<[u8]>) -> Result<()> {
        compact::compact_range(&self.handle.inner, start.as_ref(), end.as_ref())
    }

    /// Writes a consistent copy of the database into `dir` (new or empty) while writes go on:
    /// hard links to the SSTs, copies of the unflushed WAL data, a MANIFEST and CURRENT. It
    /// holds every write acknowledged before the call and opens as a normal database. Hard
    /// links need `dir` on the same file system as the database.
    pub fn checkpoint(&self, dir: impl AsRef<Path>) -> Result<()> {
        checkpoint::checkpoint(&self.handle.inner, dir.as_ref())
    }

    /// Waits until no flush or compaction is running or due. For tests and tools that want a
    /// settled tree; writes may go on meanwhile (and may make more work).
    pub fn wait_idle(&self) -> Result<()> {
        compact::wait_idle(&self.handle.inner)
    }

    /// Counters and sizes.
    pub fn stats(&self) -> Stats {
        self.inner().stats()
    }

    /// The data directory.
    pub fn path(&self) -> &Path {
        &self.inner().dir
    }
}

/// The file of a sorted, non-overlapping level whose range holds `key`, if any.
fn file_for<'a>(files: &'a [Arc<FileMeta>], key: &[u8]) -> Option<&'a Arc<FileMeta>> {
    let i = files.partition_point(|f| crate::ikey::user_key(&f.largest) < key);
    files.get(i).filter(|f| crate::ikey::user_key(&f.smallest) <= key)
}

type OwnedBounds = (Bound<Vec<u8>>, Bound<Vec<u8>>);

fn bounds<K: AsRef<[u8]>, R: RangeBounds<K>>(range: &R) -> OwnedBounds {
    let own = |b: Bound<&K>| match b {
        Bound::Included(k) => Bound::Included(k.as_ref().to_vec()),
        Bound::Excluded(k) => Bound::Excluded(k.as_ref().to_vec()),
        Bound::Unbounded => Bound::Unbounded,
    };
    (own(range.start_bound()), own(range.end_bound()))
}

/// `[prefix, successor)`: the successor drops trailing 0xff bytes and increments the last.
fn prefix_bounds(prefix: &[u8]) -> OwnedBounds {
    let mut end = prefix.to_vec();
    while end.last() == Some(&0xff) {
        end.pop();
    }
    let hi = match end.last_mut() {
        Some(b) => {
            *b += 1;
            Bound::Excluded(end)
        }
        None => Bound::Unbounded,
    };
    (Bound::Included(prefix.to_vec()), hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_bounds_handle_ff_and_empty() {
        assert_eq!(prefix_bounds(b"ab").1, Bound::Excluded(b"ac".to_vec()));
        assert_eq!(prefix_bounds(b"a\xff").1, Bound::Excluded(b"b".to_vec()));
        assert_eq!(prefix_bounds(b"\xff\xff").1, Bound::Unbounded);
        assert_eq!(prefix_bounds(b"").1, Bound::Unbounded);
    }
}
