//! Lode through the harness: a `WriteBatch` per write, `Durability::Buffered` (WAL written
//! with write(2)) or `Durability::Sync` (fdatasync, shared by concurrent writers).

use super::{Durability, Engine, EngineOptions, Op, Reader};
use anyhow::{Context, Result};
use std::path::Path;
use std::time::Instant;

pub struct LodeEngine {
    db: lode::Db,
    options: EngineOptions,
}

impl LodeEngine {
    pub fn open(dir: &Path, options: &EngineOptions) -> Result<LodeEngine> {
        let opts = lode::Options::default()
            .cache_size(usize::try_from(options.cache_bytes).context("cache size")?)
            .memtable_size(usize::try_from(options.memtable_bytes).context("memtable size")?)
            .compression(lode::Compression::None);
        let db = lode::Db::open(dir, opts).with_context(|| format!("open {}", dir.display()))?;
        Ok(LodeEngine { db, options: options.clone() })
    }
}

impl Engine for LodeEngine {
    fn name(&self) -> &'static str {
        "lode"
    }

    fn write(&self, ops: &[Op<'_>], durability: Durability) -> Result<()> {
        let mut batch = lode::WriteBatch::new();
        for op in ops {
            match *op {
                Op::Put(k, v) => batch.put(k, v),
                Op::Delete(k) => batch.delete(k),
            }
        }
        let d = match durability {
            Durability::Buffered => lode::Durability::Buffered,
            Durability::Durable => lode::Durability::Sync,
        };
        Ok(self.db.write_with(batch, d)?)
    }

    fn reader(&self) -> Result<Box<dyn Reader + '_>> {
        Ok(Box::new(LodeReader { db: &self.db }))
    }

    fn settle(&self, _deadline: Instant) -> Result<()> {
        self.db.flush()?;
        Ok(self.db.wait_idle()?)
    }

    fn syncs(&self) -> Option<u64> {
        Some(self.db.stats().wal_syncs)
    }

    fn compact(&self) -> Result<()> {
        Ok(self.db.compact()?)
    }

    fn describe(&self) -> String {
        format!(
            "lode {} (workspace); cache_size={} memtable_size={} compression=none",
            env!("CARGO_PKG_VERSION"),
            self.options.cache_bytes,
            self.options.memtable_bytes
        )
    }
}

struct LodeReader<'a> {
    db: &'a lode::Db,
}

impl Reader for LodeReader<'_> {
    fn get(&mut self, key: &[u8], out: &mut Vec<u8>) -> Result<bool> {
        Ok(match self.db.get(key)? {
            Some(v) => {
                out.clear();
                out.extend_from_slice(&v);
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
        for item in self.db.range(from..).take(n) {
            let (k, v) = item?;
            seen += 1;
            if !f(&k, &v) {
                break;
            }
        }
        Ok(seen)
    }
}
