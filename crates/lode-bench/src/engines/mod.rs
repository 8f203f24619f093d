//! The one interface every engine is measured through, and an adapter per engine.
//!
//! Engines differ only behind [`Engine`] and [`Reader`]: the workloads (workloads.rs) call the
//! same methods with the same keys for all of them. Lode is always built; the peers (RocksDB,
//! fjall, redb, sled, LMDB) only with the `peers` cargo feature, so the default build and CI
//! never compile them.
//!
//! Fairness rules the adapters follow (docs/benchmarks.md lists them per engine): one atomic
//! batch per [`Engine::write`] (one write transaction for the B-tree engines); compression
//! off; the same block-cache budget wherever an engine has a cache; reads through a
//! [`Reader`], which is one read transaction for redb and LMDB and a plain handle for the LSM
//! engines.

use anyhow::{Result, bail};
use std::path::Path;
use std::time::Instant;

#[cfg(feature = "peers")]
mod fjall;
#[cfg(feature = "peers")]
mod lmdb;
mod lode;
#[cfg(feature = "peers")]
mod redb;
#[cfg(feature = "peers")]
mod rocksdb;
#[cfg(feature = "peers")]
mod sled;

/// Every engine the harness knows, in the order tables list them.
pub const ENGINES: &[&str] = &["lode", "rocksdb", "fjall", "redb", "sled", "lmdb"];

/// How durable a write is when the engine acknowledges it. Never mixed in one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// No fsync on the write path (the WAL or data file is still written; what a crash of
    /// the process loses differs per engine, see docs/benchmarks.md).
    Buffered,
    /// Synced to the disk (fdatasync or fsync) before the write returns.
    Durable,
}

impl Durability {
    /// The label every result row carries.
    pub fn label(self) -> &'static str {
        match self {
            Durability::Buffered => "buffered",
            Durability::Durable => "durable",
        }
    }
}

/// One change in a write batch.
#[derive(Debug, Clone, Copy)]
pub enum Op<'a> {
    /// Set a key.
    Put(&'a [u8], &'a [u8]),
    /// Delete a key (absent keys are fine).
    Delete(&'a [u8]),
}

/// What every engine is opened with.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Block cache bytes (engines that have a cache; LMDB uses the OS page cache).
    pub cache_bytes: u64,
    /// Memtable bytes (the LSM engines).
    pub memtable_bytes: u64,
    /// Store large values apart from the keys where the engine can (fill64k).
    pub kv_separation: bool,
}

/// An open database under test.
pub trait Engine: Send + Sync {
    /// The engine's name (one of [`ENGINES`]).
    fn name(&self) -> &'static str;
    /// Applies `ops` atomically with the given durability.
    fn write(&self, ops: &[Op<'_>], durability: Durability) -> Result<()>;
    /// A view to read through. Its reads see every write acknowledged before it was made.
    fn reader(&self) -> Result<Box<dyn Reader + '_>>;
    /// Waits for background flushes and compactions to finish, or `deadline`.
    fn settle(&self, deadline: Instant) -> Result<()>;
    /// WAL fsyncs so far, if the engine counts them.
    fn syncs(&self) -> Option<u64> {
        None
    }
    /// A full compaction, where the engine has one.
    fn compact(&self) -> Result<()> {
        bail!("{} has no full compaction in this harness", self.name())
    }
    /// The engine's version and every option set away from its defaults, for the results.
    fn describe(&self) -> String;
}

/// Reads from one view of a database.
pub trait Reader {
    /// Copies the value of `key` into `out`; false if the key is absent.
    fn get(&mut self, key: &[u8], out: &mut Vec<u8>) -> Result<bool>;
    /// Calls `f` on up to `n` pairs in key order from the first key at or after `from`,
    /// stopping early when `f` returns false. Returns the pairs visited.
    fn scan(
        &mut self,
        from: &[u8],
        n: usize,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<usize>;
}

/// Whether this build can open `name`.
pub fn available(name: &str) -> bool {
    name == "lode" || (cfg!(feature = "peers") && ENGINES.contains(&name))
}

/// Opens (creating if needed) the database of engine `name` in `dir`.
///
/// # Errors
/// An unknown engine, a peer in a build without the `peers` feature, or the engine's error.
pub fn open(name: &str, dir: &Path, options: &EngineOptions) -> Result<Box<dyn Engine>> {
    if !ENGINES.contains(&name) {
        bail!("unknown engine {name:?}: choose from {}", ENGINES.join(", "));
    }
    if name == "lode" {
        return Ok(Box::new(lode::LodeEngine::open(dir, options)?));
    }
    open_peer(name, dir, options)
}

#[cfg(feature = "peers")]
fn open_peer(name: &str, dir: &Path, options: &EngineOptions) -> Result<Box<dyn Engine>> {
    Ok(match name {
        "rocksdb" => Box::new(rocksdb::RocksEngine::open(dir, options)?),
        "fjall" => Box::new(fjall::FjallEngine::open(dir, options)?),
        "redb" => Box::new(redb::RedbEngine::open(dir, options)?),
        "sled" => Box::new(sled::SledEngine::open(dir, options)?),
        "lmdb" => Box::new(lmdb::LmdbEngine::open(dir, options)?),
        other => bail!("no adapter for {other}"),
    })
}

#[cfg(not(feature = "peers"))]
fn open_peer(name: &str, _dir: &Path, _options: &EngineOptions) -> Result<Box<dyn Engine>> {
    bail!(
        "{name} is a peer engine, and this lode-bench was built without them: \
         build with `--features peers` (see docs/benchmarks.md for RocksDB's build)"
    )
}

/// Polls `done` until it holds or `deadline` passes, for engines that offer no event to wait
/// on (a harness may poll; 10 ms steps, bounded by the phase's cap).
#[cfg_attr(not(feature = "peers"), allow(dead_code))]
fn poll_until(deadline: Instant, mut done: impl FnMut() -> Result<bool>) -> Result<()> {
    while !done()? && Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    Ok(())
}
