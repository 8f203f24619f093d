//! sled 0.34 (the stable engine, not the 1.0 alphas): `apply_batch` per write; buffered writes
//! wait in sled's own buffers for its background flush (every 500 ms, its default), durable
//! ones call `flush()` after the batch. sled's flush writes its log with
//! `sync_file_range(WAIT_BEFORE | WRITE | WAIT_AFTER)`, which neither flushes the disk's cache
//! nor the file's metadata (sled issue #1452): its durable rows promise less than the others'.

use super::{Durability, Engine, EngineOptions, Op, Reader};
use anyhow::{Context, Result};
use std::path::Path;
use std::time::Instant;

pub struct SledEngine {
    db: sled::Db,
    description: String,
}

impl SledEngine {
    pub fn open(dir: &Path, options: &EngineOptions) -> Result<SledEngine> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(options.cache_bytes)
            .flush_every_ms(Some(500))
            .open()
            .with_context(|| format!("open {}", dir.display()))?;
        let description = format!(
            "sled 0.34.7; cache_capacity={} flush_every_ms=500 (no compression feature); \
             durable = flush(), which syncs its log with sync_file_range, not fdatasync",
            options.cache_bytes
        );
        Ok(SledEngine { db, description })
    }
}

impl Engine for SledEngine {
    fn name(&self) -> &'static str {
        "sled"
    }

    fn write(&self, ops: &[Op<'_>], durability: Durability) -> Result<()> {
        let mut batch = sled::Batch::default();
        for op in ops {
            match *op {
                Op::Put(k, v) => batch.insert(k, v),
                Op::Delete(k) => batch.remove(k),
            }
        }
        self.db.apply_batch(batch)?;
        if durability == Durability::Durable {
            self.db.flush()?;
        }
        Ok(())
    }

    fn reader(&self) -> Result<Box<dyn Reader + '_>> {
        Ok(Box::new(SledReader { db: &self.db }))
    }

    fn settle(&self, _deadline: Instant) -> Result<()> {
        self.db.flush()?;
        Ok(())
    }

    fn describe(&self) -> String {
        self.description.clone()
    }
}

struct SledReader<'a> {
    db: &'a sled::Db,
}

impl Reader for SledReader<'_> {
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
