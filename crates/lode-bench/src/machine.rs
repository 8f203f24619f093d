//! The machine's facts, re-measured at the start of every run (the disk's fsync latency moves
//! by 10x for minutes at a time on shared machines): fdatasync after a small append, and
//! sequential write throughput. Reported as rows of engine `machine`, which charts leave out.

use crate::report::Row;
use crate::workloads::histogram;
use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;
use std::time::Instant;

/// Appends (and fdatasyncs) in the fsync probe.
pub const FSYNC_PROBES: u64 = 100;
/// Bytes of the sequential write probe.
pub const SEQ_WRITE_BYTES: usize = 32 << 20;

/// Measures both probes in `dir`, leaving nothing behind.
///
/// # Errors
/// The file could not be written or synced.
pub fn probe(dir: &Path) -> Result<Vec<Row>> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("probe");
    let mut f = std::fs::File::create(&path).context("create the probe file")?;
    let mut latency = histogram();
    let record = [0x5au8; 128];
    let start = Instant::now();
    for _ in 0..FSYNC_PROBES {
        let t = Instant::now();
        f.write_all(&record)?;
        f.sync_data()?;
        latency.saturating_record(t.elapsed().as_nanos().try_into().unwrap_or(u64::MAX));
    }
    let fsync_secs = start.elapsed().as_secs_f64();
    drop(f);
    let mut f = std::fs::File::create(&path)?;
    let chunk = vec![0xa5u8; 1 << 20];
    let start = Instant::now();
    for _ in 0..SEQ_WRITE_BYTES / chunk.len() {
        f.write_all(&chunk)?;
    }
    f.sync_data()?;
    let write_secs = start.elapsed().as_secs_f64();
    drop(f);
    std::fs::remove_file(&path)?;
    let us = |q: f64| Some(latency.value_at_quantile(q) as f64 / 1000.0);
    let base = Row {
        engine: "machine".into(),
        durability: "durable".into(),
        status: "ok".into(),
        round: 1,
        threads: 1,
        ..Row::default()
    };
    Ok(vec![
        Row {
            workload: "fdatasync_128b".into(),
            ops: FSYNC_PROBES,
            seconds: fsync_secs,
            ops_per_sec: Some(FSYNC_PROBES as f64 / fsync_secs),
            p50_us: us(0.5),
            p99_us: us(0.99),
            max_us: Some(latency.max() as f64 / 1000.0),
            latency_per: "append + fdatasync".into(),
            ..base.clone()
        },
        Row {
            workload: "seq_write_mib".into(),
            ops: (SEQ_WRITE_BYTES >> 20) as u64,
            seconds: write_secs,
            ops_per_sec: Some((SEQ_WRITE_BYTES >> 20) as f64 / write_secs),
            latency_per: "MiB (ops/s is MiB/s)".into(),
            ..base
        },
    ])
}
