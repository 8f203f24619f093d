//! `lode-bench`: runs engine workloads against Lode and prints throughput and latency.
//!
//! Each workload runs in order on one database (a fill before the reads that need it), with
//! seeded keys so runs are comparable. Every row names its durability mode. The peer engines
//! (RocksDB, fjall, redb, sled, LMDB) join this harness behind a cargo feature.
//!
//! Example: `cargo run --release -p lode-bench -- --workloads fillrandom,readrandom --num 1000000`

use anyhow::{Context, Result, bail};
use clap::Parser;
use hdrhistogram::Histogram;
use lode::{Db, Durability, Options};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Engine workloads against Lode.
#[derive(Debug, Clone, Parser)]
#[command(version)]
struct Args {
    /// Comma-separated workloads, run in this order: fillrandom, readrandom, fillseq, readseq,
    /// readmissing, overwrite (random keys below --keys), fillsync (Sync puts from --threads
    /// threads), settle (wait for flushes and compactions), compact (full manual compaction).
    /// After `settle` then `compact`, space amplification is the ratio of the two sizes.
    /// `name:count` runs that workload `count` times instead of --num.
    #[arg(long, default_value = "fillrandom,readrandom")]
    workloads: String,
    /// Operations per workload (fillsync: in total, over all threads).
    #[arg(long, default_value_t = 1_000_000)]
    num: u64,
    /// Key space for readrandom and overwrite (default: --num).
    #[arg(long)]
    keys: Option<u64>,
    /// Memtable size in bytes.
    #[arg(long, default_value_t = 64 << 20)]
    memtable_bytes: usize,
    /// Immutable memtables that may wait for flush.
    #[arg(long, default_value_t = 2)]
    max_immutable: usize,
    /// Writer threads for fillsync.
    #[arg(long, default_value_t = 1)]
    threads: u64,
    /// Bytes per value.
    #[arg(long, default_value_t = 100)]
    value_bytes: usize,
    /// Seed for key order and values.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Data directory (default: a fresh temporary directory, removed afterwards).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Block cache size in bytes.
    #[arg(long, default_value_t = 64 << 20)]
    cache_bytes: usize,
    /// Append one JSON object per result to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Stop a workload after this many seconds (its figures cover what ran).
    #[arg(long, default_value_t = 300)]
    seconds_max: u64,
}

/// The value for key `i`: its index in the first 8 bytes (so reads can check they got the
/// right value), then the fixed filler.
fn value_for(i: u64, filler: &[u8]) -> Vec<u8> {
    let mut v = filler.to_vec();
    let n = v.len().min(8);
    v[..n].copy_from_slice(&i.to_le_bytes()[..n]);
    v
}

/// Whether `v` is the value written for key `i`.
fn value_matches(v: &[u8], i: u64) -> bool {
    let n = v.len().min(8);
    v[..n] == i.to_le_bytes()[..n]
}

/// A pseudo-random order of `0..n` computed on the fly (no table: a 20M-key fill must not
/// spend 160 MB of the harness's memory on its key order). An affine map `x * a + b` modulo a
/// power of two is a bijection for odd `a`; values at or past `n` are mapped again until they
/// fall inside (cycle walking), which keeps it a bijection on `0..n`.
struct Permutation {
    n: u64,
    mask: u64,
    a: u64,
    b: u64,
}

impl Permutation {
    fn new(n: u64, seed: u64) -> Permutation {
        let mask = n.max(2).next_power_of_two() - 1;
        Permutation {
            n,
            mask,
            a: (seed | 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1,
            b: seed.rotate_left(17),
        }
    }

    fn at(&self, i: u64) -> u64 {
        let mut x = i;
        loop {
            x = (x.wrapping_mul(self.a).wrapping_add(self.b)) & self.mask;
            x ^= x >> 7;
            x = x.wrapping_mul(self.a) & self.mask;
            if x < self.n {
                return x;
            }
        }
    }
}

/// The 16-byte key for index `i`.
fn key(i: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k.copy_from_slice(format!("{i:016}").as_bytes());
    k
}

struct Outcome {
    workload: String,
    durability: &'static str,
    threads: u64,
    ops: u64,
    elapsed: Duration,
    latency: Histogram<u64>,
    fsyncs: u64,
    found: u64,
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}

fn timed(latency: &mut Histogram<u64>, f: impl FnOnce() -> Result<bool>) -> Result<bool> {
    let start = Instant::now();
    let r = f()?;
    latency.saturating_record(start.elapsed().as_nanos() as u64);
    Ok(r)
}

fn run(db: &Db, args: &Args, spec: &str) -> Result<Outcome> {
    let (workload, num) = match spec.split_once(':') {
        Some((w, n)) => (w, n.parse().with_context(|| format!("bad count in {spec:?}"))?),
        None => (spec, args.num),
    };
    let args = &Args { num, keys: Some(args.keys.unwrap_or(args.num)), ..args.clone() };
    let mut rng = StdRng::seed_from_u64(args.seed ^ 0x5eed);
    let value: Vec<u8> = (0..args.value_bytes).map(|_| rng.random()).collect();
    let mut latency = histogram();
    let deadline = Instant::now() + Duration::from_secs(args.seconds_max);
    let syncs_before = db.stats().wal_syncs;
    let start = Instant::now();
    let mut ops = 0;
    let mut found = 0;
    let mut durability = "buffered";
    let mut threads = 1;
    match workload {
        "fillrandom" | "fillseq" => {
            let order = Permutation::new(args.num, rng.random());
            let random = workload == "fillrandom";
            for j in 0..args.num {
                let i = if random { order.at(j) } else { j };
                let v = value_for(i, &value);
                timed(&mut latency, || Ok(db.put(key(i), &v).map(|_| true)?))?;
                ops += 1;
                if ops % 4096 == 0 && Instant::now() > deadline {
                    break;
                }
            }
        }
        "overwrite" => {
            let keys = args.keys.unwrap_or(args.num);
            for _ in 0..args.num {
                let i = rng.random_range(0..keys);
                let v = value_for(i, &value);
                timed(&mut latency, || Ok(db.put(key(i), &v).map(|_| true)?))?;
                ops += 1;
                if ops % 4096 == 0 && Instant::now() > deadline {
                    break;
                }
            }
        }
        "settle" => {
            // Background work done and the memtable flushed by the engine's idle flush (one
            // sync interval without writes): what a database that stopped being written to
            // looks like on disk. Polls, bounded, as a harness may.
            for _ in 0..6000 {
                db.wait_idle()?;
                let s = db.stats();
                if s.memory.memtable_bytes == 0 && s.immutable_memtables == 0 {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            db.wait_idle()?;
            ops = 1;
        }
        "compact" => {
            db.compact()?;
            ops = 1;
        }
        "readrandom" | "readmissing" => {
            let keys = args.keys.unwrap_or(args.num);
            for _ in 0..args.num {
                let i = rng.random_range(0..keys);
                let k = if workload == "readmissing" { key(keys + i) } else { key(i) };
                let right =
                    timed(&mut latency, || Ok(db.get(k)?.is_some_and(|v| value_matches(&v, i))))?;
                found += u64::from(right);
                ops += 1;
                if ops % 4096 == 0 && Instant::now() > deadline {
                    break;
                }
            }
        }
        "readseq" => {
            let mut previous: Option<lode::Key> = None;
            for item in db.iter() {
                let (k, v) = item?;
                let i: u64 =
                    std::str::from_utf8(&k).ok().and_then(|s| s.parse().ok()).unwrap_or(u64::MAX);
                let ordered = previous.as_ref().is_none_or(|p| *p < k);
                found += u64::from(ordered && value_matches(&v, i));
                previous = Some(k);
                ops += 1;
                if ops >= args.num || (ops % 4096 == 0 && Instant::now() > deadline) {
                    break;
                }
            }
        }
        "fillsync" => {
            durability = "sync";
            threads = args.threads.max(1);
            let per_thread = args.num / threads;
            let results: Vec<Result<(u64, Histogram<u64>)>> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..threads)
                    .map(|t| {
                        let (db, value) = (db.clone(), value.clone());
                        s.spawn(move || -> Result<(u64, Histogram<u64>)> {
                            let mut latency = histogram();
                            let mut n = 0;
                            for j in 0..per_thread {
                                let i = t * per_thread + j;
                                let mut b = lode::WriteBatch::new();
                                b.put(key(i), value_for(i, &value));
                                timed(&mut latency, || {
                                    Ok(db.write_with(b, Durability::Sync).map(|_| true)?)
                                })?;
                                n += 1;
                                if n % 256 == 0 && Instant::now() > deadline {
                                    break;
                                }
                            }
                            Ok((n, latency))
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().expect("writer thread")).collect()
            });
            for r in results {
                let (n, h) = r?;
                ops += n;
                latency.add(h).context("merge histograms")?;
            }
        }
        other => bail!("unknown workload {other:?}"),
    }
    let elapsed = start.elapsed();
    let fsyncs = db.stats().wal_syncs - syncs_before;
    Ok(Outcome {
        workload: workload.to_string(),
        durability,
        threads,
        ops,
        elapsed,
        latency,
        fsyncs,
        found,
    })
}

fn main() -> Result<()> {
    let args = Args::parse();
    let tmp;
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir().context("create a temporary directory")?;
            tmp.path().join("db")
        }
    };
    let options = Options::default()
        .cache_size(args.cache_bytes)
        .memtable_size(args.memtable_bytes)
        .max_immutable_memtables(args.max_immutable);
    let db = Db::open(&dir, options).with_context(|| format!("open {}", dir.display()))?;
    let mut settled_bytes = None;
    let mut compacted_bytes = None;
    println!(
        "| workload | durability | threads | ops | seconds | ops/s | p50 us | p99 us | fsyncs/write |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut json = match &args.json {
        Some(p) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .with_context(|| format!("open {}", p.display()))?,
        ),
        None => None,
    };
    for workload in args.workloads.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        let o = run(&db, &args, workload)?;
        match o.workload.as_str() {
            "settle" => settled_bytes = Some(dir_bytes(&dir)?),
            "compact" => compacted_bytes = Some(dir_bytes(&dir)?),
            _ => {}
        }
        let secs = o.elapsed.as_secs_f64();
        let rate = o.ops as f64 / secs.max(1e-9);
        let p50 = o.latency.value_at_quantile(0.5) as f64 / 1000.0;
        let p99 = o.latency.value_at_quantile(0.99) as f64 / 1000.0;
        let writes =
            matches!(o.workload.as_str(), "fillrandom" | "fillseq" | "fillsync" | "overwrite");
        let per_write = if writes {
            format!("{:.3}", o.fsyncs as f64 / o.ops.max(1) as f64)
        } else {
            "-".into()
        };
        println!(
            "| {} | {} | {} | {} | {:.2} | {:.0} | {:.1} | {:.1} | {} |",
            o.workload, o.durability, o.threads, o.ops, secs, rate, p50, p99, per_write
        );
        if o.workload.starts_with("read") && o.workload != "readmissing" && o.found < o.ops {
            bail!(
                "{}: only {} of {} reads returned the right value in order",
                o.workload,
                o.found,
                o.ops
            );
        }
        if let Some(f) = json.as_mut() {
            writeln!(
                f,
                "{{\"engine\":\"lode\",\"workload\":\"{}\",\"durability\":\"{}\",\"threads\":{},\"num\":{},\"ops_per_sec\":{:.1},\"p50_us\":{:.2},\"p99_us\":{:.2},\"fsyncs_per_write\":{}}}",
                o.workload,
                o.durability,
                o.threads,
                o.ops,
                rate,
                p50,
                p99,
                if writes { per_write.clone() } else { "null".into() }
            )?;
        }
    }
    let s = db.stats();
    println!();
    println!(
        "write amplification {:.2} (WAL {} + flush {} + compaction {} bytes for {} user bytes)",
        s.write_amplification(),
        s.wal_bytes_written,
        s.flush_bytes_written,
        s.compaction_bytes_written,
        s.user_bytes_written
    );
    if let (Some(settled), Some(compacted)) = (settled_bytes, compacted_bytes) {
        println!(
            "space amplification {:.3} ({settled} bytes settled, {compacted} after a full compaction)",
            settled as f64 / compacted.max(1) as f64
        );
    }
    println!(
        "levels (files) {:?}; stalls {} us ({} slowdowns, {} stops); block cache hit rate {:.3}",
        s.level_files,
        s.stall_micros,
        s.write_slowdowns,
        s.write_stops,
        s.block_cache_hit_rate()
    );
    println!(
        "memory: block cache {} (of which index+filter charged), memtables {}; peak RSS {}",
        s.memory.block_cache_bytes,
        s.memory.memtable_bytes,
        peak_rss_bytes().map_or("unknown".to_string(), |b| format!("{} MiB", b >> 20))
    );
    Ok(())
}

/// Bytes of the files in `dir`.
fn dir_bytes(dir: &std::path::Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        total += entry?.metadata()?.len();
    }
    Ok(total)
}

/// The process's peak resident set size (VmHWM), on Linux.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_is_a_bijection_on_0_to_n() {
        for n in [1u64, 2, 3, 1000, 1 << 12, 5000] {
            let p = Permutation::new(n, 42);
            let mut seen = vec![false; n as usize];
            for i in 0..n {
                let x = p.at(i);
                assert!(x < n && !seen[x as usize], "n {n}: {x} repeated or out of range");
                seen[x as usize] = true;
            }
        }
    }
}
