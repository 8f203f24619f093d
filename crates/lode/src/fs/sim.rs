//! [`SimFs`]: an in-memory file system for crash and fault tests.
//!
//! Tests run the engine on it instead of [`super::RealFs`], then pull the plug at any point and
//! check that recovery finds every acknowledged write.
//!
//! # Model
//! - A file is a node holding its bytes (`data`) and how many of them are durable
//!   (`synced_len`). `append` extends `data`; [`WritableFile::sync`] sets `synced_len` to the
//!   whole length. Handles share the node, so they keep working after the name is removed or
//!   renamed, as on POSIX; `create` of an existing name empties that node in place.
//! - Names live in two maps from path to node: *live*, which every call sees and which
//!   `create`, `rename` and `remove` change, and *durable*, what a crash leaves.
//!   `sync_dir(dir)` replaces the durable entries whose parent is `dir` with the live ones, so
//!   removals become durable too. Directories are durable as soon as `create_dir_all` returns.
//!   `truncate` is durable at once (the real one fsyncs): the kept bytes count as synced.
//! - [`SimFs::crash`] is power loss and reboot: the live names revert to the durable ones, each
//!   file keeps its synced bytes plus a prefix of its unsynced tail whose length the seed picks
//!   (none, all, or anything between), locks are released, and every handle opened before
//!   fails from then on. Directories, injected faults and stats survive it.
//! - [`SimFs::crash_after`] stops the machine at a chosen mutating call (create, append, sync,
//!   rename, remove, truncate, sync_dir); [`SimFs::fail`] makes one kind of call fail.
//!
//! Every call checks, in order: is the machine stopped, is the handle from before a crash, is
//! the stop due (mutating calls only), is a fault due. A call failing any check has no effect.
//!
//! # Concurrency
//! One mutex guards the whole state; each node has its own, only ever taken while holding the
//! state's. Nothing outside this module runs while either is held.

use super::{Fs, FsLock, ReadableFile, WritableFile};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// A kind of call that [`SimFs::fail`] can make fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimOp {
    /// [`Fs::create`].
    Create,
    /// [`WritableFile::append`].
    Append,
    /// [`WritableFile::sync`].
    Sync,
    /// [`Fs::rename`].
    Rename,
    /// [`Fs::remove`].
    Remove,
    /// [`Fs::hard_link`].
    Link,
    /// [`Fs::truncate`].
    Truncate,
    /// [`Fs::sync_dir`].
    SyncDir,
    /// [`Fs::open`].
    Open,
    /// [`ReadableFile::read_exact_at`].
    Read,
}

/// Number of [`SimOp`] variants: the length of the fault table.
const SIM_OP_COUNT: usize = 10;

impl SimOp {
    /// Mutating calls count toward [`SimFs::crash_after`].
    fn is_mutating(self) -> bool {
        !matches!(self, SimOp::Open | SimOp::Read)
    }
}

/// Counts of successful calls since the [`SimFs`] was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SimFsStats {
    /// Files created.
    pub creates: u64,
    /// Appends.
    pub appends: u64,
    /// Bytes appended.
    pub bytes_appended: u64,
    /// File syncs.
    pub syncs: u64,
    /// Directory syncs.
    pub sync_dirs: u64,
    /// Renames.
    pub renames: u64,
    /// Removals.
    pub removes: u64,
}

/// An in-memory file system that loses unsynced data on [`SimFs::crash`] and fails calls on
/// demand. Clones share the same files. See the module docs for the model.
#[derive(Debug, Clone, Default)]
pub struct SimFs {
    state: Arc<Mutex<State>>,
}

/// A file's contents; `synced_len <= data.len()`.
#[derive(Default)]
struct Node {
    data: Vec<u8>,
    synced_len: usize,
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node")
            .field("len", &self.data.len())
            .field("synced_len", &self.synced_len)
            .finish()
    }
}

type NodeRef = Arc<Mutex<Node>>;

#[derive(Debug, Clone, Copy)]
struct Fault {
    /// Successful calls still to let through.
    skip: u64,
    /// Calls still to fail after that; `u64::MAX` is forever.
    count: u64,
}

#[derive(Debug, Default)]
struct State {
    live: BTreeMap<PathBuf, NodeRef>,
    durable: BTreeMap<PathBuf, NodeRef>,
    dirs: BTreeSet<PathBuf>,
    /// Held locks: path to the token of the guard that holds it.
    locks: HashMap<PathBuf, u64>,
    /// Tokens are never reused, so a guard from before a crash cannot release a newer lock.
    next_lock_token: u64,
    /// Bumped by every crash; handles remember the one they were opened in.
    generation: u64,
    stopped: bool,
    /// Mutating calls still allowed before the machine stops, when armed.
    calls_before_stop: Option<u64>,
    faults: [Option<Fault>; SIM_OP_COUNT],
    stats: SimFsStats,
}

fn lock_state(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

fn lock_node(node: &NodeRef) -> MutexGuard<'_, Node> {
    node.lock().unwrap_or_else(|e| e.into_inner())
}

fn stopped_error() -> io::Error {
    io::Error::other("simulated power loss: the machine is stopped")
}

fn not_found(what: &str, path: &Path) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("no such {what}: {}", path.display()))
}

fn parent_of(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new(""))
}

/// Runs `f` on the state after the checks every call makes (see the module docs). `generation`
/// is the handle's, or `None` for calls on the file system itself.
fn call<T>(
    state: &Mutex<State>,
    op: Option<SimOp>,
    generation: Option<u64>,
    f: impl FnOnce(&mut State) -> io::Result<T>,
) -> io::Result<T> {
    let mut state = lock_state(state);
    state.begin(op, generation)?;
    let result = f(&mut state);
    if let (Ok(_), Some(op)) = (&result, op) {
        state.succeeded(op);
    }
    result
}

impl State {
    fn begin(&mut self, op: Option<SimOp>, generation: Option<u64>) -> io::Result<()> {
        if self.stopped {
            return Err(stopped_error());
        }
        if generation.is_some_and(|g| g != self.generation) {
            return Err(io::Error::other("handle opened before a simulated crash"));
        }
        let Some(op) = op else { return Ok(()) };
        if op.is_mutating() {
            match self.calls_before_stop {
                Some(0) => {
                    self.stopped = true;
                    return Err(stopped_error());
                }
                Some(n) => self.calls_before_stop = Some(n - 1),
                None => {}
            }
        }
        if let Some(fault) = &mut self.faults[op as usize]
            && fault.skip == 0
            && fault.count > 0
        {
            if fault.count != u64::MAX {
                fault.count -= 1;
            }
            return Err(io::Error::other("injected fault"));
        }
        Ok(())
    }

    fn succeeded(&mut self, op: SimOp) {
        if let Some(fault) = &mut self.faults[op as usize] {
            fault.skip = fault.skip.saturating_sub(1);
        }
    }

    fn dir_exists(&self, dir: &Path) -> bool {
        dir.as_os_str().is_empty() || dir == Path::new("/") || self.dirs.contains(dir)
    }

    /// Checks that `path` can name a file: it has a file name, is not a directory, and its
    /// directory exists.
    fn check_file_path(&self, path: &Path) -> io::Result<()> {
        if path.file_name().is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("not a file path: {}", path.display()),
            ));
        }
        if self.dirs.contains(path) {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                format!("is a directory: {}", path.display()),
            ));
        }
        if !self.dir_exists(parent_of(path)) {
            return Err(not_found("directory", parent_of(path)));
        }
        Ok(())
    }

    fn live_node(&self, path: &Path) -> io::Result<NodeRef> {
        self.live.get(path).cloned().ok_or_else(|| not_found("file", path))
    }

    /// Power loss and reboot; see [`SimFs::crash`].
    fn crash(&mut self, seed: u64) {
        let mut rng = SplitMix64(seed);
        // Keyed by node address, so a node durable under two names stays one node.
        let mut survivors: HashMap<*const Mutex<Node>, NodeRef> = HashMap::new();
        let mut durable = BTreeMap::new();
        for (path, node) in &self.durable {
            let survivor = survivors.entry(Arc::as_ptr(node)).or_insert_with(|| {
                let node = lock_node(node);
                let kept =
                    node.synced_len + kept_tail_len(&mut rng, node.data.len() - node.synced_len);
                Arc::new(Mutex::new(Node { data: node.data[..kept].to_vec(), synced_len: kept }))
            });
            durable.insert(path.clone(), Arc::clone(survivor));
        }
        self.live = durable.clone();
        self.durable = durable;
        self.locks.clear();
        self.generation += 1;
        self.stopped = false;
        self.calls_before_stop = None;
    }
}

/// How many of `unsynced` bytes a crash keeps. A quarter of crashes keep none, a quarter keep
/// all, and the rest a uniform length, because the extremes are the common cases on a real disk.
fn kept_tail_len(rng: &mut SplitMix64, unsynced: usize) -> usize {
    if unsynced == 0 {
        return 0;
    }
    match rng.next_u64() % 4 {
        0 => 0,
        1 => unsynced,
        // At most `unsynced`, so the cast back to usize is lossless.
        _ => (rng.next_u64() % (unsynced as u64 + 1)) as usize,
    }
}

/// SplitMix64: a small, well-mixed generator, so the crate needs `rand` only in tests.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl SimFs {
    /// An empty file system with no directories but the root.
    pub fn new() -> SimFs {
        SimFs::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock_state(&self.state)
    }

    /// Power loss now, then reboot. Every handle opened before fails from now on. The names
    /// revert to what [`Fs::sync_dir`] made durable; each file keeps its synced bytes plus a
    /// prefix of its unsynced tail whose length is drawn from `seed` (from none to all of it).
    /// Locks are released, and a stop armed by [`SimFs::crash_after`] is cleared.
    pub fn crash(&self, seed: u64) {
        self.state().crash(seed);
    }

    /// Arms a power loss after `n` more mutating calls (create, append, sync, rename, remove,
    /// truncate, sync_dir): call `n + 1` and every later call of any kind fails with an I/O
    /// error, as if the machine had stopped, until [`SimFs::crash`] reboots it.
    pub fn crash_after(&self, n: u64) {
        self.state().calls_before_stop = Some(n);
    }

    /// True once an armed [`SimFs::crash_after`] has stopped the machine, until the next crash.
    pub fn is_stopped(&self) -> bool {
        self.state().stopped
    }

    /// After `skip` more successful calls of `op`, fails the next `count` calls of `op` with an
    /// [`io::ErrorKind::Other`] error "injected fault" (`u64::MAX` for `count` is forever).
    /// Replaces any earlier fault on `op`. A failed call has no effect.
    pub fn fail(&self, op: SimOp, skip: u64, count: u64) {
        self.state().faults[op as usize] = Some(Fault { skip, count });
    }

    /// Removes every fault set by [`SimFs::fail`].
    pub fn clear_faults(&self) {
        self.state().faults = Default::default();
    }

    /// Counts of successful calls so far.
    pub fn stats(&self) -> SimFsStats {
        self.state().stats
    }

    /// The current (live, synced or not) bytes of the file at `path`, if there is one.
    pub fn read_file(&self, path: &Path) -> Option<Vec<u8>> {
        let state = self.state();
        state.live.get(path).map(|node| lock_node(node).data.clone())
    }

    /// Replaces the contents of the file at `path` with `data`, creating it and its directories
    /// if needed; the contents and the name are durable at once. Open handles see the new bytes.
    /// For corruption tests: no check, fault or count applies.
    pub fn write_file(&self, path: &Path, data: &[u8]) {
        let mut state = self.state();
        let node = match state.live.get(path) {
            Some(node) => Arc::clone(node),
            None => {
                let node = NodeRef::default();
                state.live.insert(path.to_path_buf(), Arc::clone(&node));
                node
            }
        };
        *lock_node(&node) = Node { data: data.to_vec(), synced_len: data.len() };
        state.durable.insert(path.to_path_buf(), node);
        let dirs: Vec<PathBuf> = parent_of(path).ancestors().map(Path::to_path_buf).collect();
        state.dirs.extend(dirs);
    }
}

impl Fs for SimFs {
    fn create(&self, path: &Path) -> io::Result<Arc<dyn WritableFile>> {
        call(&self.state, Some(SimOp::Create), None, |state| {
            state.check_file_path(path)?;
            let node = match state.live.get(path) {
                Some(node) => {
                    *lock_node(node) = Node::default();
                    Arc::clone(node)
                }
                None => {
                    let node = NodeRef::default();
                    state.live.insert(path.to_path_buf(), Arc::clone(&node));
                    node
                }
            };
            state.stats.creates += 1;
            Ok(Arc::new(SimWritable {
                state: Arc::clone(&self.state),
                node,
                generation: state.generation,
                path: path.to_path_buf(),
            }) as Arc<dyn WritableFile>)
        })
    }

    fn open(&self, path: &Path) -> io::Result<Arc<dyn ReadableFile>> {
        call(&self.state, Some(SimOp::Open), None, |state| {
            let node = state.live_node(path)?;
            let len = lock_node(&node).data.len() as u64;
            Ok(Arc::new(SimReadable {
                state: Arc::clone(&self.state),
                node,
                generation: state.generation,
                path: path.to_path_buf(),
                len,
            }) as Arc<dyn ReadableFile>)
        })
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        call(&self.state, Some(SimOp::Rename), None, |state| {
            let node = state.live_node(from)?;
            state.check_file_path(to)?;
            state.live.remove(from);
            state.live.insert(to.to_path_buf(), node);
            state.stats.renames += 1;
            Ok(())
        })
    }

    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        call(&self.state, Some(SimOp::Link), None, |state| {
            let node = state.live_node(from)?;
            state.check_file_path(to)?;
            if state.live.contains_key(to) {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} exists", to.display()),
                ));
            }
            state.live.insert(to.to_path_buf(), node);
            Ok(())
        })
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        call(&self.state, Some(SimOp::Remove), None, |state| {
            state.live.remove(path).ok_or_else(|| not_found("file", path))?;
            state.stats.removes += 1;
            Ok(())
        })
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        call(&self.state, Some(SimOp::Truncate), None, |state| {
            let node = state.live_node(path)?;
            let mut node = lock_node(&node);
            let len = usize::try_from(len).ok().filter(|&len| len <= node.data.len()).ok_or_else(
                || {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("cannot extend {} by truncating it to {len} bytes", path.display()),
                    )
                },
            )?;
            node.data.truncate(len);
            node.synced_len = len;
            Ok(())
        })
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        call(&self.state, None, None, |state| {
            if !state.dir_exists(dir) {
                return Err(not_found("directory", dir));
            }
            Ok(state
                .live
                .keys()
                .filter(|path| path.parent() == Some(dir))
                .filter_map(|path| path.file_name()?.to_str().map(str::to_owned))
                .collect())
        })
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        call(&self.state, None, None, |state| {
            if let Some(file) = dir.ancestors().find(|a| state.live.contains_key(*a)) {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("a file is in the way: {}", file.display()),
                ));
            }
            let dirs: Vec<PathBuf> = dir.ancestors().map(Path::to_path_buf).collect();
            state.dirs.extend(dirs);
            Ok(())
        })
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        call(&self.state, Some(SimOp::SyncDir), None, |state| {
            if !state.dir_exists(dir) {
                return Err(not_found("directory", dir));
            }
            state.durable.retain(|path, _| path.parent() != Some(dir));
            let entries: Vec<(PathBuf, NodeRef)> = state
                .live
                .iter()
                .filter(|(path, _)| path.parent() == Some(dir))
                .map(|(path, node)| (path.clone(), Arc::clone(node)))
                .collect();
            state.durable.extend(entries);
            state.stats.sync_dirs += 1;
            Ok(())
        })
    }

    fn lock(&self, path: &Path) -> io::Result<FsLock> {
        call(&self.state, None, None, |state| {
            state.check_file_path(path)?;
            if state.locks.contains_key(path) {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    format!("lock is held: {}", path.display()),
                ));
            }
            // Like the real one, locking creates the file (its name durable only after sync_dir).
            state.live.entry(path.to_path_buf()).or_default();
            let token = state.next_lock_token;
            state.next_lock_token += 1;
            state.locks.insert(path.to_path_buf(), token);
            let guard =
                SimLockGuard { state: Arc::clone(&self.state), path: path.to_path_buf(), token };
            Ok(FsLock::new(Box::new(guard)))
        })
    }
}

/// A file open for appending.
struct SimWritable {
    state: Arc<Mutex<State>>,
    node: NodeRef,
    generation: u64,
    path: PathBuf,
}

impl fmt::Debug for SimWritable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimWritable")
            .field("path", &self.path)
            .field("generation", &self.generation)
            .finish()
    }
}

impl WritableFile for SimWritable {
    fn append(&self, data: &[u8]) -> io::Result<()> {
        call(&self.state, Some(SimOp::Append), Some(self.generation), |state| {
            lock_node(&self.node).data.extend_from_slice(data);
            state.stats.appends += 1;
            state.stats.bytes_appended += data.len() as u64;
            Ok(())
        })
    }

    fn sync(&self) -> io::Result<()> {
        call(&self.state, Some(SimOp::Sync), Some(self.generation), |state| {
            let mut node = lock_node(&self.node);
            node.synced_len = node.data.len();
            state.stats.syncs += 1;
            Ok(())
        })
    }
}

/// A file open for reading; reads see the node's current bytes.
struct SimReadable {
    state: Arc<Mutex<State>>,
    node: NodeRef,
    generation: u64,
    path: PathBuf,
    len: u64,
}

impl fmt::Debug for SimReadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimReadable")
            .field("path", &self.path)
            .field("generation", &self.generation)
            .field("len", &self.len)
            .finish()
    }
}

impl ReadableFile for SimReadable {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        call(&self.state, Some(SimOp::Read), Some(self.generation), |_| {
            let node = lock_node(&self.node);
            let range = usize::try_from(offset)
                .ok()
                .and_then(|start| Some(start..start.checked_add(buf.len())?))
                .filter(|range| range.end <= node.data.len())
                .ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "read of {} bytes at {offset} past the end of {} ({} bytes)",
                            buf.len(),
                            self.path.display(),
                            node.data.len()
                        ),
                    )
                })?;
            buf.copy_from_slice(&node.data[range]);
            Ok(())
        })
    }

    fn len(&self) -> u64 {
        self.len
    }
}

/// Holds a lock in [`SimFs`]; releases it on drop unless a crash released it first.
struct SimLockGuard {
    state: Arc<Mutex<State>>,
    path: PathBuf,
    token: u64,
}

impl fmt::Debug for SimLockGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimLockGuard")
            .field("path", &self.path)
            .field("token", &self.token)
            .finish()
    }
}

impl Drop for SimLockGuard {
    fn drop(&mut self) {
        let mut state = lock_state(&self.state);
        if state.locks.get(&self.path) == Some(&self.token) {
            state.locks.remove(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lode_testkit::{Seed, iterations};
    use rand::Rng;
    use std::collections::BTreeSet;

    const DIR: &str = "/db";

    fn path(name: &str) -> PathBuf {
        Path::new(DIR).join(name)
    }

    fn fs_with_dir() -> io::Result<SimFs> {
        let fs = SimFs::new();
        fs.create_dir_all(Path::new(DIR))?;
        Ok(fs)
    }

    fn names(fs: &SimFs) -> io::Result<Vec<String>> {
        fs.list(Path::new(DIR))
    }

    fn read_all(fs: &SimFs, name: &str) -> io::Result<Vec<u8>> {
        let file = fs.open(&path(name))?;
        let mut buf = vec![0; file.len() as usize];
        file.read_exact_at(&mut buf, 0)?;
        Ok(buf)
    }

    /// A file named `name` with `synced` synced bytes then `unsynced` more, its name durable.
    fn file_with_tail(fs: &SimFs, name: &str, synced: &[u8], unsynced: &[u8]) -> io::Result<()> {
        let file = fs.create(&path(name))?;
        file.append(synced)?;
        file.sync()?;
        file.append(unsynced)?;
        fs.sync_dir(Path::new(DIR))
    }

    #[test]
    fn crash_keeps_synced_bytes_and_a_prefix_of_the_unsynced_tail() -> io::Result<()> {
        for seed in 0..200 {
            let fs = fs_with_dir()?;
            file_with_tail(&fs, "a", b"synced", b"unsynced")?;
            fs.crash(seed);
            let data = read_all(&fs, "a")?;
            assert!(data.len() >= 6, "seed {seed}: synced bytes lost");
            assert!(b"syncedunsynced".starts_with(&data), "seed {seed}: not a prefix: {data:?}");
        }
        Ok(())
    }

    #[test]
    fn crash_reaches_every_tail_length_by_seed() -> io::Result<()> {
        let tail = b"12345";
        let mut seen = BTreeSet::new();
        for seed in 0..1000 {
            let fs = fs_with_dir()?;
            file_with_tail(&fs, "a", b"s", tail)?;
            fs.crash(seed);
            seen.insert(read_all(&fs, "a")?.len() - 1);
        }
        assert_eq!(seen, (0..=tail.len()).collect::<BTreeSet<_>>());
        Ok(())
    }

    #[test]
    fn crash_keeps_synced_file_whole() -> io::Result<()> {
        let fs = fs_with_dir()?;
        file_with_tail(&fs, "a", b"all synced", b"")?;
        fs.crash(7);
        assert_eq!(read_all(&fs, "a")?, b"all synced");
        Ok(())
    }

    #[test]
    fn crash_forgets_file_created_without_sync_dir() -> io::Result<()> {
        let fs = fs_with_dir()?;
        let file = fs.create(&path("a"))?;
        file.append(b"x")?;
        file.sync()?;
        fs.crash(1);
        assert_eq!(names(&fs)?, Vec::<String>::new());
        assert_eq!(
            fs.open(&path("a")).expect_err("the call should fail").kind(),
            io::ErrorKind::NotFound
        );
        Ok(())
    }

    #[test]
    fn crash_reverts_rename_without_sync_dir() -> io::Result<()> {
        let fs = fs_with_dir()?;
        file_with_tail(&fs, "a", b"x", b"")?;
        fs.rename(&path("a"), &path("b"))?;
        assert_eq!(names(&fs)?, ["b"]);
        fs.crash(1);
        assert_eq!(names(&fs)?, ["a"]);
        fs.rename(&path("a"), &path("b"))?;
        fs.sync_dir(Path::new(DIR))?;
        fs.crash(1);
        assert_eq!(names(&fs)?, ["b"]);
        assert_eq!(read_all(&fs, "b")?, b"x");
        Ok(())
    }

    #[test]
    fn crash_restores_removal_without_sync_dir() -> io::Result<()> {
        let fs = fs_with_dir()?;
        file_with_tail(&fs, "a", b"x", b"")?;
        fs.remove(&path("a"))?;
        fs.crash(1);
        assert_eq!(names(&fs)?, ["a"]);
        fs.remove(&path("a"))?;
        fs.sync_dir(Path::new(DIR))?;
        fs.crash(1);
        assert_eq!(names(&fs)?, Vec::<String>::new());
        Ok(())
    }

    #[test]
    fn sync_dir_makes_only_its_own_entries_durable() -> io::Result<()> {
        let fs = fs_with_dir()?;
        fs.create_dir_all(Path::new("/other"))?;
        fs.create(&path("a"))?;
        fs.create(Path::new("/other/b"))?;
        fs.sync_dir(Path::new(DIR))?;
        fs.crash(1);
        assert_eq!(names(&fs)?, ["a"]);
        assert_eq!(fs.list(Path::new("/other"))?, Vec::<String>::new());
        Ok(())
    }

    #[test]
    fn create_in_missing_directory_is_not_found() {
        let fs = SimFs::new();
        let err = fs.create(Path::new("/nope/a")).expect_err("the call should fail");
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert_eq!(
            fs.list(Path::new("/nope")).expect_err("the call should fail").kind(),
            io::ErrorKind::NotFound
        );
    }

    #[test]
    fn handle_keeps_working_after_its_name_is_removed() -> io::Result<()> {
        let fs = fs_with_dir()?;
        let writer = fs.create(&path("a"))?;
        writer.append(b"abc")?;
        let reader = fs.open(&path("a"))?;
        fs.remove(&path("a"))?;
        writer.append(b"def")?;
        let mut buf = [0; 6];
        reader.read_exact_at(&mut buf, 0)?;
        assert_eq!(&buf, b"abcdef");
        assert_eq!(reader.len(), 3);
        Ok(())
    }

    #[test]
    fn read_past_end_is_unexpected_eof() -> io::Result<()> {
        let fs = fs_with_dir()?;
        fs.create(&path("a"))?.append(b"abc")?;
        let reader = fs.open(&path("a"))?;
        let mut buf = [0; 2];
        reader.read_exact_at(&mut buf, 1)?;
        assert_eq!(&buf, b"bc");
        let err = reader.read_exact_at(&mut buf, 2).expect_err("the call should fail");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        let err = reader.read_exact_at(&mut buf, u64::MAX).expect_err("the call should fail");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        Ok(())
    }

    #[test]
    fn truncate_shortens_durably() -> io::Result<()> {
        let fs = fs_with_dir()?;
        file_with_tail(&fs, "a", b"abcdef", b"ghi")?;
        fs.truncate(&path("a"), 4)?;
        assert_eq!(fs.read_file(&path("a")).as_deref(), Some(&b"abcd"[..]));
        let err = fs.truncate(&path("a"), 5).expect_err("the call should fail");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        fs.crash(3);
        assert_eq!(read_all(&fs, "a")?, b"abcd");
        Ok(())
    }

    #[test]
    fn crash_after_stops_at_call_n_plus_one() -> io::Result<()> {
        let fs = fs_with_dir()?;
        fs.crash_after(3);
        let file = fs.create(&path("a"))?;
        file.append(b"x")?;
        fs.open(&path("a"))?; // Reads do not count.
        file.sync()?;
        assert!(!fs.is_stopped());
        assert!(file.append(b"y").is_err());
        assert!(fs.is_stopped());
        assert!(fs.open(&path("a")).is_err());
        assert!(fs.list(Path::new(DIR)).is_err());
        assert_eq!(fs.stats().appends, 1);
        fs.crash(1);
        assert!(!fs.is_stopped());
        fs.create(&path("b"))?;
        Ok(())
    }

    #[test]
    fn crash_fails_old_handles() -> io::Result<()> {
        let fs = fs_with_dir()?;
        file_with_tail(&fs, "a", b"abc", b"")?;
        let writer = fs.create(&path("b"))?;
        let reader = fs.open(&path("a"))?;
        fs.crash(1);
        assert!(writer.append(b"x").is_err());
        assert!(writer.sync().is_err());
        assert!(reader.read_exact_at(&mut [0; 1], 0).is_err());
        assert_eq!(read_all(&fs, "a")?, b"abc");
        Ok(())
    }

    #[test]
    fn fault_fires_after_skip_for_count_calls() -> io::Result<()> {
        let fs = fs_with_dir()?;
        let file = fs.create(&path("a"))?;
        fs.fail(SimOp::Sync, 2, 2);
        let results: Vec<bool> = (0..6).map(|_| file.sync().is_ok()).collect();
        assert_eq!(results, [true, true, false, false, true, true]);
        let err = {
            fs.fail(SimOp::Append, 0, u64::MAX);
            file.append(b"x").expect_err("the call should fail")
        };
        assert_eq!(err.kind(), io::ErrorKind::Other);
        assert_eq!(err.to_string(), "injected fault");
        assert!(file.append(b"x").is_err());
        assert_eq!(fs.read_file(&path("a")).as_deref(), Some(&b""[..]));
        fs.clear_faults();
        file.append(b"x")?;
        assert_eq!(fs.stats().syncs, 4);
        Ok(())
    }

    #[test]
    fn fault_skip_counts_only_successful_calls() -> io::Result<()> {
        let fs = fs_with_dir()?;
        fs.fail(SimOp::Open, 1, 1);
        assert!(fs.open(&path("missing")).is_err()); // NotFound: not a success.
        fs.create(&path("a"))?;
        fs.open(&path("a"))?;
        assert_eq!(
            fs.open(&path("a")).expect_err("the call should fail").to_string(),
            "injected fault"
        );
        fs.open(&path("a"))?;
        Ok(())
    }

    #[test]
    fn lock_is_exclusive_until_dropped() -> io::Result<()> {
        let fs = fs_with_dir()?;
        let lock = fs.lock(&path("LOCK"))?;
        let err = fs.lock(&path("LOCK")).expect_err("the call should fail");
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        drop(lock);
        fs.lock(&path("LOCK"))?;
        Ok(())
    }

    #[test]
    fn crash_releases_locks_and_old_guards_release_nothing() -> io::Result<()> {
        let fs = fs_with_dir()?;
        let old = fs.lock(&path("LOCK"))?;
        fs.crash(1);
        let new = fs.lock(&path("LOCK"))?;
        drop(old);
        let err = fs.lock(&path("LOCK")).expect_err("the call should fail");
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        drop(new);
        fs.lock(&path("LOCK"))?;
        Ok(())
    }

    #[test]
    fn write_file_is_durable_at_once() -> io::Result<()> {
        let fs = fs_with_dir()?;
        let reader = {
            fs.create(&path("a"))?.append(b"old")?;
            fs.open(&path("a"))?
        };
        fs.write_file(&path("a"), b"new!");
        reader.read_exact_at(&mut [0; 4], 0)?;
        fs.crash(1);
        assert_eq!(read_all(&fs, "a")?, b"new!");
        Ok(())
    }

    #[test]
    fn stats_count_successful_calls() -> io::Result<()> {
        let fs = fs_with_dir()?;
        let file = fs.create(&path("a"))?;
        file.append(b"abc")?;
        file.append(b"de")?;
        file.sync()?;
        fs.rename(&path("a"), &path("b"))?;
        fs.sync_dir(Path::new(DIR))?;
        fs.remove(&path("b"))?;
        assert!(fs.remove(&path("b")).is_err());
        let expected = SimFsStats {
            creates: 1,
            appends: 2,
            bytes_appended: 5,
            syncs: 1,
            sync_dirs: 1,
            renames: 1,
            removes: 1,
        };
        assert_eq!(fs.stats(), expected);
        Ok(())
    }

    #[test]
    fn concurrent_appends_and_syncs_lose_nothing() -> io::Result<()> {
        let fs = fs_with_dir()?;
        let files: Vec<_> =
            (0..4).map(|i| fs.create(&path(&i.to_string()))).collect::<Result<_, _>>()?;
        std::thread::scope(|scope| {
            for file in &files {
                scope.spawn(|| {
                    for _ in 0..100 {
                        file.append(b"abc").expect("append");
                        file.sync().expect("sync");
                    }
                });
            }
        });
        fs.sync_dir(Path::new(DIR))?;
        fs.crash(1);
        for i in 0..4 {
            assert_eq!(read_all(&fs, &i.to_string())?.len(), 300);
        }
        assert_eq!(fs.stats().appends, 400);
        Ok(())
    }

    /// The model: file contents by id, and the live and durable namespaces as path to id.
    #[derive(Default)]
    struct Model {
        files: Vec<(Vec<u8>, usize)>,
        live: BTreeMap<PathBuf, usize>,
        durable: BTreeMap<PathBuf, usize>,
    }

    #[test]
    fn random_ops_match_model_after_crash() -> io::Result<()> {
        let seed = Seed::new("random_ops_match_model_after_crash");
        let dirs = [Path::new("/d1"), Path::new("/d2")];
        let paths: Vec<PathBuf> =
            dirs.iter().flat_map(|d| ["a", "b", "c"].map(|n| d.join(n))).collect();
        for round in 0..iterations(50) {
            let mut rng = seed.rng(round as u64);
            let fs = SimFs::new();
            for dir in dirs {
                fs.create_dir_all(dir)?;
            }
            let mut model = Model::default();
            let mut writers: Vec<(usize, Arc<dyn WritableFile>)> = Vec::new();
            for _ in 0..rng.random_range(1..60) {
                let path = &paths[rng.random_range(0..paths.len())];
                match rng.random_range(0..7) {
                    0 => {
                        let id = match model.live.get(path) {
                            Some(&id) => {
                                model.files[id] = (Vec::new(), 0);
                                id
                            }
                            None => {
                                model.files.push((Vec::new(), 0));
                                model.live.insert(path.clone(), model.files.len() - 1);
                                model.files.len() - 1
                            }
                        };
                        writers.push((id, fs.create(path)?));
                    }
                    1 | 2 if !writers.is_empty() => {
                        let (id, writer) = &writers[rng.random_range(0..writers.len())];
                        let data: Vec<u8> =
                            (0..rng.random_range(1..8)).map(|_| rng.random()).collect();
                        writer.append(&data)?;
                        model.files[*id].0.extend_from_slice(&data);
                    }
                    3 if !writers.is_empty() => {
                        let (id, writer) = &writers[rng.random_range(0..writers.len())];
                        writer.sync()?;
                        model.files[*id].1 = model.files[*id].0.len();
                    }
                    4 => {
                        let to = &paths[rng.random_range(0..paths.len())];
                        let result = fs.rename(path, to);
                        match model.live.remove(path) {
                            Some(id) => {
                                result?;
                                model.live.insert(to.clone(), id);
                            }
                            None => assert!(result.is_err()),
                        }
                    }
                    5 => {
                        let result = fs.remove(path);
                        assert_eq!(result.is_ok(), model.live.remove(path).is_some());
                    }
                    _ => {
                        let dir = dirs[rng.random_range(0..dirs.len())];
                        fs.sync_dir(dir)?;
                        model.durable.retain(|p, _| p.parent() != Some(dir));
                        let entries = model.live.iter().filter(|(p, _)| p.parent() == Some(dir));
                        model.durable.extend(entries.map(|(p, &id)| (p.clone(), id)));
                    }
                }
                for p in &paths {
                    let expected = model.live.get(p).map(|&id| model.files[id].0.clone());
                    assert_eq!(fs.read_file(p), expected, "live {}", p.display());
                }
            }
            fs.crash(rng.random());
            for dir in dirs {
                let expected: Vec<String> = model
                    .durable
                    .keys()
                    .filter(|p| p.parent() == Some(dir))
                    .filter_map(|p| Some(p.file_name()?.to_str()?.to_owned()))
                    .collect();
                assert_eq!(fs.list(dir)?, expected, "durable names in {}", dir.display());
            }
            let mut kept_by_id: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
            for (p, &id) in &model.durable {
                let data = fs.read_file(p).expect("a durable file survives a crash");
                let (full, synced_len) = &model.files[id];
                assert!(data.len() >= *synced_len, "{} lost synced bytes", p.display());
                assert!(
                    full.starts_with(&data),
                    "{} is not a prefix of what was written",
                    p.display()
                );
                let first = kept_by_id.entry(id).or_insert_with(|| data.clone());
                assert_eq!(*first, data, "one file under two names differs");
            }
            for p in &paths {
                assert_eq!(fs.read_file(p).is_some(), model.durable.contains_key(p));
            }
        }
        Ok(())
    }
}
