//! LMDB through lmdb-rkv (LMDB 0.9.24 bundled; heed, the usual binding, makes opening an
//! environment `unsafe`, which this workspace forbids). One write transaction per write. The
//! environment is opened with `MDB_NOSYNC`, so a buffered commit does no fsync (an OS crash may
//! undo the last commits; a killed process loses nothing); a durable write commits and then
//! forces `mdb_env_sync`. Map size 16 GiB. No cache of its own: reads go through the OS page
//! cache. Reads use one read transaction per `Reader`.

use super::{Durability, Engine, EngineOptions, Op, Reader};
use anyhow::{Context, Result};
// The lmdb-rkv package's library is named `lmdb`.
use lmdb::{
    Cursor, Database, Environment, EnvironmentFlags, RoTransaction, Transaction, WriteFlags,
};
use std::path::Path;
use std::time::Instant;

/// LMDB's map size: the most the file may grow to.
const MAP_BYTES: usize = 16 << 30;

pub struct LmdbEngine {
    env: Environment,
    db: Database,
}

impl LmdbEngine {
    pub fn open(dir: &Path, _options: &EngineOptions) -> Result<LmdbEngine> {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        let env = Environment::new()
            .set_flags(EnvironmentFlags::NO_SYNC)
            .set_map_size(MAP_BYTES)
            .open(dir)
            .with_context(|| format!("open {}", dir.display()))?;
        let db = env.open_db(None)?;
        Ok(LmdbEngine { env, db })
    }
}

impl Engine for LmdbEngine {
    fn name(&self) -> &'static str {
        "lmdb"
    }

    fn write(&self, ops: &[Op<'_>], durability: Durability) -> Result<()> {
        let mut txn = self.env.begin_rw_txn()?;
        for op in ops {
            match *op {
                Op::Put(k, v) => txn.put(self.db, &k, &v, WriteFlags::empty())?,
                Op::Delete(k) => match txn.del(self.db, &k, None) {
                    Ok(()) | Err(lmdb::Error::NotFound) => {}
                    Err(e) => return Err(e.into()),
                },
            }
        }
        txn.commit()?;
        if durability == Durability::Durable {
            self.env.sync(true)?;
        }
        Ok(())
    }

    fn reader(&self) -> Result<Box<dyn Reader + '_>> {
        Ok(Box::new(LmdbReader { txn: self.env.begin_ro_txn()?, db: self.db }))
    }

    /// Syncs what `MDB_NOSYNC` commits left to the OS, as a flush does for the LSM engines.
    fn settle(&self, _deadline: Instant) -> Result<()> {
        Ok(self.env.sync(true)?)
    }

    fn describe(&self) -> String {
        format!(
            "lmdb-rkv 0.14 (LMDB 0.9.24); MDB_NOSYNC (+ mdb_env_sync for durable writes) map_size={MAP_BYTES}"
        )
    }
}

struct LmdbReader<'env> {
    txn: RoTransaction<'env>,
    db: Database,
}

impl Reader for LmdbReader<'_> {
    fn get(&mut self, key: &[u8], out: &mut Vec<u8>) -> Result<bool> {
        match self.txn.get(self.db, &key) {
            Ok(v) => {
                out.clear();
                out.extend_from_slice(v);
                Ok(true)
            }
            Err(lmdb::Error::NotFound) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    fn scan(
        &mut self,
        from: &[u8],
        n: usize,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<usize> {
        let mut cursor = self.txn.open_ro_cursor(self.db)?;
        let mut seen = 0;
        // LMDB refuses an empty key (MDB_BAD_VALSIZE), even to position a cursor.
        let iter = if from.is_empty() { cursor.iter_start() } else { cursor.iter_from(from) };
        for item in iter.take(n) {
            let (k, v) = item?;
            seen += 1;
            if !f(k, v) {
                break;
            }
        }
        Ok(seen)
    }
}
