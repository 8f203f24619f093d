//! RocksDB through the `rocksdb` crate: one `WriteBatch` per write, `sync=false` (WAL written
//! with write(2)) or `sync=true`. Options from the benchmark protocol: LRU block cache,
//! bloom filter 10 bits per key, index and filter blocks charged to the cache, two background
//! jobs, `bytes_per_sync` 1 MiB, no compression; BlobDB (key-value separation) for fill64k.

use super::{Durability, Engine, EngineOptions, Op, Reader, poll_until};
use anyhow::{Context, Result};
use rocksdb::{BlockBasedOptions, Cache, DB, DBCompressionType, Options, WriteBatch, WriteOptions};
use std::path::Path;
use std::time::Instant;

pub struct RocksEngine {
    db: DB,
    description: String,
}

impl RocksEngine {
    pub fn open(dir: &Path, options: &EngineOptions) -> Result<RocksEngine> {
        let cache = Cache::new_lru_cache(usize::try_from(options.cache_bytes)?)
            .context("create the RocksDB block cache")?;
        let mut table = BlockBasedOptions::default();
        table.set_block_cache(&cache);
        table.set_bloom_filter(10.0, false);
        table.set_cache_index_and_filter_blocks(true);
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.set_block_based_table_factory(&table);
        opts.set_compression_type(DBCompressionType::None);
        opts.set_max_background_jobs(2);
        opts.set_bytes_per_sync(1 << 20);
        opts.set_write_buffer_size(usize::try_from(options.memtable_bytes)?);
        if options.kv_separation {
            opts.set_enable_blob_files(true);
            opts.set_min_blob_size(4096);
        }
        let db = DB::open(&opts, dir).with_context(|| format!("open {}", dir.display()))?;
        let description = format!(
            "rocksdb crate 0.20.1 ({}); lru_cache={} bloom_bits=10 \
             cache_index_and_filter_blocks=true max_background_jobs=2 bytes_per_sync=1048576 \
             write_buffer_size={} compression=none{}",
            linked_library(),
            options.cache_bytes,
            options.memtable_bytes,
            if options.kv_separation { " enable_blob_files=true min_blob_size=4096" } else { "" }
        );
        Ok(RocksEngine { db, description })
    }
}

impl Engine for RocksEngine {
    fn name(&self) -> &'static str {
        "rocksdb"
    }

    fn write(&self, ops: &[Op<'_>], durability: Durability) -> Result<()> {
        let mut batch = WriteBatch::default();
        for op in ops {
            match *op {
                Op::Put(k, v) => batch.put(k, v),
                Op::Delete(k) => batch.delete(k),
            }
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(durability == Durability::Durable);
        Ok(self.db.write_opt(batch, &wo)?)
    }

    fn reader(&self) -> Result<Box<dyn Reader + '_>> {
        Ok(Box::new(RocksReader { db: &self.db }))
    }

    fn settle(&self, deadline: Instant) -> Result<()> {
        self.db.flush()?;
        // The crate has no wait-for-compaction call at this version: poll the properties.
        poll_until(deadline, || {
            let running = self.db.property_int_value("rocksdb.num-running-compactions")?;
            let pending = self.db.property_int_value("rocksdb.compaction-pending")?;
            let flushes = self.db.property_int_value("rocksdb.num-running-flushes")?;
            Ok(running == Some(0) && pending == Some(0) && flushes == Some(0))
        })
    }

    fn compact(&self) -> Result<()> {
        self.db.compact_range::<&[u8], &[u8]>(None, None);
        Ok(())
    }

    fn describe(&self) -> String {
        self.description.clone()
    }
}

struct RocksReader<'a> {
    db: &'a DB,
}

impl Reader for RocksReader<'_> {
    fn get(&mut self, key: &[u8], out: &mut Vec<u8>) -> Result<bool> {
        Ok(match self.db.get_pinned(key)? {
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
        let mut it = self.db.raw_iterator();
        it.seek(from);
        let mut seen = 0;
        while seen < n && it.valid() {
            let (Some(k), Some(v)) = (it.key(), it.value()) else { break };
            seen += 1;
            if !f(k, v) {
                break;
            }
            it.next();
        }
        it.status()?;
        Ok(seen)
    }
}

/// Which RocksDB this process runs: a shared library named in /proc/self/maps (the system's,
/// linked through ROCKSDB_LIB_DIR), else the 7.9.2 that librocksdb-sys bundles.
fn linked_library() -> String {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    maps.lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|p| p.contains("librocksdb.so"))
        .map_or_else(|| "bundled RocksDB 7.9.2".to_string(), |p| format!("shared {p}"))
}
