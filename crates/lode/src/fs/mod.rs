//! The file-system seam: every byte the engine reads or writes goes through [`Fs`].
//!
//! [`RealFs`] is the operating system's file system. [`SimFs`] is an in-memory one for tests:
//! it forgets everything that was not synced when told to crash, and it can fail any call on
//! demand, so tests can simulate power loss at every sync point and I/O errors anywhere.
//!
//! The engine only ever appends to files it created, reads files at offsets, renames, removes,
//! truncates a torn WAL tail, lists a directory and syncs it. Durability follows POSIX: a file's
//! bytes are durable after [`WritableFile::sync`], and its *name* (creation, rename, removal) is
//! durable after [`Fs::sync_dir`] on its directory.

mod real;
mod sim;

pub use real::RealFs;
pub use sim::{SimFs, SimFsStats, SimOp};

use std::fmt::Debug;
use std::io;
use std::path::Path;
use std::sync::Arc;

/// A file system the engine runs on. See the module docs for the durability model.
pub trait Fs: Send + Sync + Debug + 'static {
    /// Creates `path` (truncating it if it exists) and opens it for appending.
    fn create(&self, path: &Path) -> io::Result<Arc<dyn WritableFile>>;
    /// Opens an existing file for reading at offsets.
    fn open(&self, path: &Path) -> io::Result<Arc<dyn ReadableFile>>;
    /// Atomically renames `from` to `to`, replacing `to`.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes a file.
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Makes `to` a second name for the file `from` (a hard link); `to` must not exist.
    /// Like a creation, the new name is durable after `sync_dir` of its directory.
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Shortens a file to `len` bytes and makes the new length durable.
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()>;
    /// Names of the entries in a directory (files only matter to the engine).
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// Creates a directory and its parents.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// Makes the creations, renames and removals of entries in `dir` durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Takes an exclusive lock on `path` (creating it), held until the guard is dropped.
    /// Fails with [`io::ErrorKind::WouldBlock`] when someone else holds it.
    fn lock(&self, path: &Path) -> io::Result<FsLock>;
}

/// A file open for appending. Appends are serialized by the caller; `sync` may run
/// concurrently with an append (the background WAL sync does this).
pub trait WritableFile: Send + Sync + Debug {
    /// Appends all of `data` at the end of the file.
    fn append(&self, data: &[u8]) -> io::Result<()>;
    /// Makes every appended byte durable (fdatasync).
    fn sync(&self) -> io::Result<()>;
}

/// A file open for reading at offsets, from any number of threads at once.
pub trait ReadableFile: Send + Sync + Debug {
    /// Fills `buf` from `offset`; reading past the end is an `UnexpectedEof` error.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// The file's length when it was opened.
    fn len(&self) -> u64;
    /// True when the file was empty when opened.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An exclusive lock on a file; dropping it releases the lock.
#[derive(Debug)]
pub struct FsLock {
    _held: Box<dyn Debug + Send + Sync>,
}

impl FsLock {
    pub(crate) fn new(held: Box<dyn Debug + Send + Sync>) -> FsLock {
        FsLock { _held: held }
    }
}

#[allow(dead_code)] // used to read CURRENT and the manifest
/// Reads a whole (small) file; `limit` bounds the allocation.
pub(crate) fn read_small_file(fs: &dyn Fs, path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let file = fs.open(path)?;
    let len = file.len();
    if len > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is {len} bytes, more than the {limit} expected", path.display()),
        ));
    }
    let mut buf = vec![0; len as usize];
    file.read_exact_at(&mut buf, 0)?;
    Ok(buf)
}
