//! fjall: one `Database` with one keyspace; a batch per write, persisted with
//! `PersistMode::Buffer` (journal written with write(2)) or `PersistMode::SyncData`. Built
//! without its `lz4` feature, so nothing is compressed; key-value separation for fill64k.

use super::{Durability, Engine, EngineOptions, Op, Reader, poll_until};
use anyhow::{Context, Result};
use fjall::{Database, Keyspace, KeyspaceCreateOptions, KvSeparationOptions, PersistMode};
use std::path::Path;
use std::time::Instant;

pub struct FjallEngine {
    db: Database,
    ks: Keyspace,
    description: String,
}

impl FjallEngine {
    pub fn open(dir: &Path, options: &EngineOptions) -> Result<FjallEngine> {
        let db = Database::builder(dir)
            .cache_size(options.cache_bytes)
            .open()
            .with_context(|| format!("open {}", dir.display()))?;
        let memtable = options.memtable_bytes;
        let separate = options.kv_separation;
        let ks = db.keyspace("bench", || {
            let o = KeyspaceCreateOptions::default().max_memtable_size(memtable);
            if separate { o.with_kv_separation(Some(KvSeparationOptions::default())) } else { o }
        })?;
        let description = format!(
            "fjall 3.1 (no lz4 feature: no compression); cache_size={} max_memtable_size={}{}",
            options.cache_bytes,
            memtable,
            if separate { " kv_separation=default (values >= 1 KiB)" } else { "" }
        );
        Ok(FjallEngine { db, ks, description })
    }
}

impl Engine for FjallEngine {
    fn name(&self) -> &'static str {
        "fjall"
    }

    fn write(&self, ops: &[Op<'_>], durability: Durability) -> Result<()> {
        let mode = match durability {
            Durability::Buffered => PersistMode::Buffer,
            Durability::Durable => PersistMode::SyncData,
        };
        let mut batch = self.db.batch().durability(Some(mode));
        for op in ops {
            match *op {
                Op::Put(k, v) => batch.insert(&self.ks, k, v),
                Op::Delete(k) => batch.remove(&self.ks, k),
            }
        }
        Ok(batch.commit()?)
    }

    fn reader(&self) -> Result<Box<dyn Reader + '_>> {
        Ok(Box::new(FjallReader { ks: &self.ks }))
    }

    fn settle(&self, deadline: Instant) -> Result<()> {
        self.ks.rotate_memtable_and_wait()?;
        poll_until(deadline, || Ok(self.db.active_compactions() == 0))
    }

    fn compact(&self) -> Result<()> {
        Ok(self.ks.major_compact()?)
    }

    fn describe(&self) -> String {
        self.description.clone()
    }
}

struct FjallReader<'a> {
    ks: &'a Keyspace,
}

impl Reader for FjallReader<'_> {
    fn get(&mut self, key: &[u8], out: &mut Vec<u8>) -> Result<bool> {
        Ok(match self.ks.get(key)? {
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
        for guard in self.ks.range(from..).take(n) {
            let (k, v) = guard.into_inner()?;
            seen += 1;
            if !f(&k, &v) {
                break;
            }
        }
        Ok(seen)
    }
}
