//! redb: one table `&[u8] -> &[u8]` in one file; one write transaction per write, committed
//! with `Durability::None` (buffered: made durable only by a later `Immediate` commit) or
//! `Durability::Immediate`. Reads go through one read transaction per `Reader`, as redb's own
//! benchmark does.

use super::{Durability, Engine, EngineOptions, Op, Reader};
use anyhow::{Context, Result};
use redb::{Database, ReadOnlyTable, ReadableDatabase, TableDefinition};
use std::path::Path;
use std::time::Instant;

const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("bench");

pub struct RedbEngine {
    db: Database,
    description: String,
}

impl RedbEngine {
    pub fn open(dir: &Path, options: &EngineOptions) -> Result<RedbEngine> {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        let path = dir.join("bench.redb");
        let db = Database::builder()
            .set_cache_size(usize::try_from(options.cache_bytes)?)
            .create(&path)
            .with_context(|| format!("open {}", path.display()))?;
        // The table must exist before the first read transaction opens it.
        let txn = db.begin_write()?;
        txn.open_table(TABLE)?;
        txn.commit()?;
        let description = format!("redb 4.6; cache_size={}", options.cache_bytes);
        Ok(RedbEngine { db, description })
    }
}

impl Engine for RedbEngine {
    fn name(&self) -> &'static str {
        "redb"
    }

    fn write(&self, ops: &[Op<'_>], durability: Durability) -> Result<()> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(match durability {
            Durability::Buffered => redb::Durability::None,
            Durability::Durable => redb::Durability::Immediate,
        })?;
        {
            let mut table = txn.open_table(TABLE)?;
            for op in ops {
                match *op {
                    Op::Put(k, v) => {
                        table.insert(k, v)?;
                    }
                    Op::Delete(k) => {
                        table.remove(k)?;
                    }
                }
            }
        }
        txn.commit()?;
        Ok(())
    }

    fn reader(&self) -> Result<Box<dyn Reader + '_>> {
        let table = self.db.begin_read()?.open_table(TABLE)?;
        Ok(Box::new(RedbReader { table }))
    }

    /// Buffered (`Durability::None`) commits may sit in redb's own write cache; an empty
    /// `Immediate` commit writes and syncs them, as a flush does for the LSM engines.
    fn settle(&self, _deadline: Instant) -> Result<()> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(redb::Durability::Immediate)?;
        txn.commit()?;
        Ok(())
    }

    fn describe(&self) -> String {
        self.description.clone()
    }
}

struct RedbReader {
    table: ReadOnlyTable<&'static [u8], &'static [u8]>,
}

impl Reader for RedbReader {
    fn get(&mut self, key: &[u8], out: &mut Vec<u8>) -> Result<bool> {
        Ok(match self.table.get(key)? {
            Some(v) => {
                out.clear();
                out.extend_from_slice(v.value());
                true
            }
            None => false,
        })
    }

    fn scan(
        &mut self,
        from: &[u8],
        n: usize,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<usize> {
        let mut seen = 0;
        for item in self.table.range::<&[u8]>(from..)?.take(n) {
            let (k, v) = item?;
            seen += 1;
            if !f(k.value(), v.value()) {
                break;
            }
        }
        Ok(seen)
    }
}
