//! The workloads of the benchmark protocol (shared research notes, engines.md §15.4), each a
//! function of an open engine, the keys it holds and a deadline, returning what it measured.
//! Every read checks its answer against [`Live`]: a wrong value, a missing key or a key out of
//! order ends the run with an error instead of a number.
//!
//! Writes use atomic batches (1,000 for fills, 100 for overwrite and deletes, 16 for 64 KiB
//! values, 1 for durable puts); latency is recorded per batch for batched phases and per
//! operation otherwise. Every loop stops at its operation count or its deadline, whichever
//! comes first.

use crate::engines::{Durability, Engine, Op};
use crate::keys::{KEY_BYTES, KeySpace, Live, Permutation, Values, mix};
use anyhow::{Context, Result, bail};
use hdrhistogram::Histogram;
use indicatif::ProgressBar;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The suite, in the protocol's order.
pub const WORKLOADS: &[&str] = &[
    "fillseq",
    "fillrandom",
    "readrandom",
    "overwrite",
    "fillsync",
    "fillsync_8t",
    "seekrandom",
    "readseq",
    "readmissing",
    "readrandom_2t",
    "deleterandom",
    "recover",
    "fill64k",
    "readwhilewriting",
];

/// Workloads that may be named but are not in the default suite: `settle` waits for
/// background work, `compact` runs a full compaction (space amplification after it).
pub const EXTRA_WORKLOADS: &[&str] = &["settle", "compact"];

/// Keys per batch in the fill phases (db_bench's `--batch_size=1000`).
pub const FILL_BATCH: usize = 1000;
/// Keys per batch for overwrite and deletes.
pub const UPDATE_BATCH: usize = 100;
/// Values per batch in fill64k.
pub const LARGE_BATCH: usize = 16;
/// Bytes of fill64k's values.
pub const LARGE_VALUE_BYTES: usize = 64 << 10;
/// Writer threads of fillsync_8t.
pub const SYNC_THREADS: u64 = 8;
/// Reader threads of readrandom_2t.
pub const READ_THREADS: u64 = 2;
/// Pairs read per seek in seekrandom: the seek and ten `next()`s.
pub const SEEK_PAIRS: usize = 11;
/// The writer's rate in readwhilewriting.
pub const WRITER_OPS_PER_SEC: u64 = 20_000;

/// The time cap of a workload at scale 1 (the protocol's caps).
pub fn cap(workload: &str) -> Duration {
    Duration::from_secs(match workload {
        "fillseq" | "overwrite" | "recover" | "readwhilewriting" => 10,
        "fillrandom" | "fill64k" => 15,
        "readrandom" | "deleterandom" => 8,
        "fillsync" => 6,
        "readmissing" => 3,
        "settle" | "compact" => 60,
        _ => 5,
    })
}

/// The operations a workload runs for a key space of `n` when not given a count: the
/// protocol's counts for N = 2,000,000, in proportion.
pub fn default_count(workload: &str, n: u64) -> u64 {
    let count = match workload {
        "readrandom" | "overwrite" | "readrandom_2t" | "readwhilewriting" => n / 2,
        "fillsync" => n / 100,
        "fillsync_8t" => (n / 100).max(SYNC_THREADS),
        "seekrandom" => n / 20,
        "readmissing" | "recover" => n / 10,
        "deleterandom" => n / 4,
        "fill64k" => n / 256,
        "settle" | "compact" => 1,
        _ => n,
    };
    count.max(1)
}

/// The durability of a workload's writes (reads carry their database's: buffered).
pub fn durability(workload: &str) -> Durability {
    match workload {
        "fillsync" | "fillsync_8t" | "recover" => Durability::Durable,
        _ => Durability::Buffered,
    }
}

/// What one workload measured.
#[derive(Debug)]
pub struct Measured {
    /// Operations done.
    pub ops: u64,
    /// Time the operations took (not counting settling afterwards).
    pub elapsed: Duration,
    /// Latency samples in nanoseconds.
    pub latency: Histogram<u64>,
    /// What one sample covers.
    pub latency_per: String,
    /// Whether the deadline ended it.
    pub capped: bool,
    /// Bytes of keys and values written (for write amplification; 0 for reads).
    pub logical_bytes: u64,
    /// Threads issuing operations.
    pub threads: u32,
    /// Further figures.
    pub extra: BTreeMap<String, f64>,
}

impl Measured {
    /// Nothing measured yet; samples will each cover `latency_per`.
    pub fn new(latency_per: &str) -> Measured {
        Measured {
            ops: 0,
            elapsed: Duration::ZERO,
            latency: histogram(),
            latency_per: latency_per.to_string(),
            capped: false,
            logical_bytes: 0,
            threads: 1,
            extra: BTreeMap::new(),
        }
    }
}

/// A latency histogram from 1 ns to 60 s, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}

fn record(h: &mut Histogram<u64>, since: Instant) {
    h.saturating_record(since.elapsed().as_nanos().try_into().unwrap_or(u64::MAX));
}

/// The data and limits every workload shares.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The key space: indices `0..n`.
    pub n: u64,
    /// Keys.
    pub keys: KeySpace,
    /// Values of the run's length.
    pub values: Values,
    /// Seed for orders and random choices.
    pub seed: u64,
}

impl Spec {
    fn rng(&self, workload: &str, thread: u64) -> StdRng {
        let h = workload.bytes().fold(0u64, |h, b| mix(h ^ u64::from(b)));
        StdRng::seed_from_u64(mix(self.seed ^ h ^ mix(thread)))
    }

    fn entry_bytes(&self) -> u64 {
        (KEY_BYTES + self.values.len()) as u64
    }
}

/// A batch of keys and values, reused across batches.
struct Batch {
    keys: Vec<[u8; KEY_BYTES]>,
    values: Vec<u8>,
    value_len: usize,
    scratch: Vec<u8>,
}

impl Batch {
    fn new(value_len: usize) -> Batch {
        Batch { keys: Vec::new(), values: Vec::new(), value_len, scratch: Vec::new() }
    }

    fn clear(&mut self) {
        self.keys.clear();
        self.values.clear();
    }

    fn push(&mut self, keys: &KeySpace, values: &Values, i: u64) {
        self.keys.push(keys.key(i));
        values.fill(i, &mut self.scratch);
        self.values.extend_from_slice(&self.scratch);
    }

    fn puts(&self) -> Vec<Op<'_>> {
        self.keys
            .iter()
            .zip(self.values.chunks(self.value_len))
            .map(|(k, v)| Op::Put(k, v))
            .collect()
    }

    fn deletes(&self) -> Vec<Op<'_>> {
        self.keys.iter().map(|k| Op::Delete(k)).collect()
    }
}

/// fillseq / fillrandom: keys `from..count` of the fill order of `0..n` (ascending or a
/// seeded random order) into the database, in atomic buffered batches of [`FILL_BATCH`].
/// `from` is 0 for a fill of an empty database, or where a capped fill stopped, to complete it.
#[allow(clippy::too_many_arguments)]
pub fn fill(
    engine: &dyn Engine,
    spec: &Spec,
    live: &mut Live,
    from: u64,
    count: u64,
    random: bool,
    deadline: Instant,
    bar: &ProgressBar,
) -> Result<Measured> {
    if count > spec.n {
        bail!("a fill of {count} keys does not fit a key space of {}", spec.n);
    }
    let order = Permutation::new(spec.n, mix(spec.seed ^ 0xf111));
    let mut m = Measured::new(&format!("batch of {FILL_BATCH}"));
    let mut batch = Batch::new(spec.values.len());
    let start = Instant::now();
    let mut j = from;
    while j < count {
        batch.clear();
        let end = (j + FILL_BATCH as u64).min(count);
        for k in j..end {
            let i = if random { order.at(k) } else { k };
            batch.push(&spec.keys, &spec.values, i);
        }
        let t = Instant::now();
        engine.write(&batch.puts(), Durability::Buffered)?;
        record(&mut m.latency, t);
        for k in j..end {
            live.insert(if random { order.at(k) } else { k });
        }
        bar.inc(end - j);
        m.ops += end - j;
        j = end;
        if j < count && Instant::now() > deadline {
            m.capped = true;
            break;
        }
    }
    m.elapsed = start.elapsed();
    m.logical_bytes = m.ops * spec.entry_bytes();
    Ok(m)
}

/// overwrite: `count` updates of random held keys in buffered batches of [`UPDATE_BATCH`].
pub fn overwrite(
    engine: &dyn Engine,
    spec: &Spec,
    live: &Live,
    count: u64,
    deadline: Instant,
    bar: &ProgressBar,
) -> Result<Measured> {
    let mut rng = spec.rng("overwrite", 0);
    let mut m = Measured::new(&format!("batch of {UPDATE_BATCH}"));
    let mut batch = Batch::new(spec.values.len());
    let start = Instant::now();
    while m.ops < count {
        batch.clear();
        let n = (count - m.ops).min(UPDATE_BATCH as u64);
        for _ in 0..n {
            let i = live.pick(&mut rng).context("overwrite needs a loaded database")?;
            batch.push(&spec.keys, &spec.values, i);
        }
        let t = Instant::now();
        engine.write(&batch.puts(), Durability::Buffered)?;
        record(&mut m.latency, t);
        m.ops += n;
        bar.inc(n);
        if m.ops < count && Instant::now() > deadline {
            m.capped = true;
            break;
        }
    }
    m.elapsed = start.elapsed();
    m.logical_bytes = m.ops * spec.entry_bytes();
    Ok(m)
}

/// One writer thread's keys written, latencies, and whether the deadline stopped it.
type Written = (Vec<u64>, Histogram<u64>, bool);

/// fillsync / fillsync_8t: `count` durable single-key puts of random keys from `threads`
/// threads (`count / threads` each). Written keys join `live`.
#[allow(clippy::too_many_arguments)]
pub fn fill_sync(
    engine: &dyn Engine,
    spec: &Spec,
    live: &mut Live,
    count: u64,
    threads: u64,
    workload: &str,
    deadline: Instant,
    bar: &ProgressBar,
) -> Result<Measured> {
    let per_thread = (count / threads).max(1);
    let start = Instant::now();
    let results: Vec<Result<Written>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let bar = bar.clone();
                s.spawn(move || -> Result<Written> {
                    let mut rng = spec.rng(workload, t);
                    let mut latency = histogram();
                    let mut written = Vec::new();
                    let mut value = Vec::new();
                    let mut capped = false;
                    for j in 0..per_thread {
                        let i = rng.random_range(0..spec.n);
                        let key = spec.keys.key(i);
                        spec.values.fill(i, &mut value);
                        let t0 = Instant::now();
                        engine.write(&[Op::Put(&key, &value)], Durability::Durable)?;
                        record(&mut latency, t0);
                        written.push(i);
                        bar.inc(1);
                        if j + 1 < per_thread && Instant::now() > deadline {
                            capped = true;
                            break;
                        }
                    }
                    Ok((written, latency, capped))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("writer thread panicked")).collect()
    });
    let mut m = Measured::new("op");
    m.elapsed = start.elapsed();
    m.threads = threads as u32;
    for r in results {
        let (written, latency, capped) = r?;
        m.ops += written.len() as u64;
        m.capped |= capped;
        m.latency.add(latency).context("merge histograms")?;
        for i in written {
            live.insert(i);
        }
    }
    m.logical_bytes = m.ops * spec.entry_bytes();
    Ok(m)
}

/// readrandom / readrandom_2t: `count` gets of random held keys from `threads` threads, each
/// through one reader for the whole phase; every value checked.
pub fn read_random(
    engine: &dyn Engine,
    spec: &Spec,
    live: &Live,
    count: u64,
    threads: u64,
    deadline: Instant,
    bar: &ProgressBar,
) -> Result<Measured> {
    if live.count() == 0 {
        bail!("readrandom needs a loaded database");
    }
    let per_thread = (count / threads).max(1);
    let start = Instant::now();
    let results: Vec<Result<(u64, Histogram<u64>, bool)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let bar = bar.clone();
                s.spawn(move || -> Result<(u64, Histogram<u64>, bool)> {
                    let mut rng = spec.rng("readrandom", t);
                    let mut reader = engine.reader()?;
                    let mut latency = histogram();
                    let mut out = Vec::new();
                    let mut done = 0;
                    while done < per_thread {
                        let i = live.pick(&mut rng).expect("the database holds keys");
                        let key = spec.keys.key(i);
                        let t0 = Instant::now();
                        let found = reader.get(&key, &mut out)?;
                        record(&mut latency, t0);
                        if !found || !spec.values.matches(&out, i) {
                            bail!(
                                "{}: key {i} read {} instead of its value",
                                engine.name(),
                                if found { "another value" } else { "nothing" }
                            );
                        }
                        done += 1;
                        if checkpoint(done, 1024, &bar, deadline) {
                            return Ok((done, latency, done < per_thread));
                        }
                    }
                    Ok((done, latency, false))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("reader thread panicked")).collect()
    });
    let mut m = Measured::new("op");
    m.elapsed = start.elapsed();
    m.threads = threads as u32;
    for r in results {
        let (done, latency, capped) = r?;
        m.ops += done;
        m.capped |= capped;
        m.latency.add(latency).context("merge histograms")?;
    }
    Ok(m)
}

/// After the `done`-th operation: every `every` operations, advances the progress bar and
/// says whether the phase's deadline has passed (the clock is read only then, not per op).
fn checkpoint(done: u64, every: u64, bar: &ProgressBar, deadline: Instant) -> bool {
    if !done.is_multiple_of(every) {
        return false;
    }
    bar.inc(every);
    Instant::now() > deadline
}

/// readmissing: `count` gets of keys that were never written (inside the key range).
pub fn read_missing(
    engine: &dyn Engine,
    spec: &Spec,
    count: u64,
    deadline: Instant,
    bar: &ProgressBar,
) -> Result<Measured> {
    let mut rng = spec.rng("readmissing", 0);
    let mut reader = engine.reader()?;
    let mut m = Measured::new("op");
    let mut out = Vec::new();
    let start = Instant::now();
    while m.ops < count {
        let i = rng.random_range(0..spec.n);
        let key = spec.keys.missing_key(i);
        let t0 = Instant::now();
        let found = reader.get(&key, &mut out)?;
        record(&mut m.latency, t0);
        if found {
            bail!("{}: a key never written (near index {i}) was found", engine.name());
        }
        m.ops += 1;
        if checkpoint(m.ops, 1024, bar, deadline) && m.ops < count {
            m.capped = true;
            break;
        }
    }
    m.elapsed = start.elapsed();
    Ok(m)
}

/// seekrandom: `count` seeks to random keys, reading [`SEEK_PAIRS`] pairs from each; every
/// pair must be the next held key in order with its value.
pub fn seek_random(
    engine: &dyn Engine,
    spec: &Spec,
    live: &Live,
    count: u64,
    deadline: Instant,
    bar: &ProgressBar,
) -> Result<Measured> {
    let mut rng = spec.rng("seekrandom", 0);
    let mut reader = engine.reader()?;
    let mut m = Measured::new(&format!("seek + {} next", SEEK_PAIRS - 1));
    let start = Instant::now();
    while m.ops < count {
        let from = rng.random_range(0..spec.n);
        let mut expected = live.next_from(from);
        let mut wrong = None;
        let t0 = Instant::now();
        let seen = reader.scan(&spec.keys.key(from), SEEK_PAIRS, &mut |k, v| {
            let got = spec.keys.index_of(k);
            if got.is_none() || got != expected || !spec.values.matches(v, got.unwrap_or(0)) {
                wrong = Some(got);
                return false;
            }
            expected = live.next_from(got.unwrap_or(0) + 1);
            true
        })?;
        record(&mut m.latency, t0);
        let wanted = {
            let mut c = 0;
            let mut at = live.next_from(from);
            while let Some(i) = at {
                if c == SEEK_PAIRS {
                    break;
                }
                c += 1;
                at = live.next_from(i + 1);
            }
            c
        };
        if let Some(got) = wrong {
            bail!("{}: a seek to index {from} read {got:?}, not the next held key", engine.name());
        }
        if seen != wanted {
            bail!("{}: a seek to index {from} read {seen} pairs, not {wanted}", engine.name());
        }
        m.ops += 1;
        if checkpoint(m.ops, 256, bar, deadline) && m.ops < count {
            m.capped = true;
            break;
        }
    }
    m.elapsed = start.elapsed();
    Ok(m)
}

/// readseq: a forward scan of the whole database (at most `count` pairs), checked pair by
/// pair: every held key once, in order, with its value.
pub fn read_seq(
    engine: &dyn Engine,
    spec: &Spec,
    live: &Live,
    count: u64,
    deadline: Instant,
    bar: &ProgressBar,
) -> Result<Measured> {
    let mut reader = engine.reader()?;
    let mut m = Measured::new("op");
    let mut expected = live.next_from(0);
    let mut wrong = None;
    let mut capped = false;
    let mut seen: u64 = 0;
    let start = Instant::now();
    let limit = usize::try_from(count).unwrap_or(usize::MAX);
    reader.scan(&[], limit, &mut |k, v| {
        let got = spec.keys.index_of(k);
        if got.is_none() || got != expected || !spec.values.matches(v, got.unwrap_or(0)) {
            wrong = Some((seen, got));
            return false;
        }
        expected = live.next_from(got.unwrap_or(0) + 1);
        seen += 1;
        if checkpoint(seen, 4096, bar, deadline) {
            capped = true;
            return false;
        }
        true
    })?;
    m.elapsed = start.elapsed();
    if let Some((at, got)) = wrong {
        bail!("{}: readseq pair {at} was {got:?}, not the next held key", engine.name());
    }
    if !capped && seen < count && seen != live.count() {
        bail!("{}: readseq read {seen} pairs, the database holds {}", engine.name(), live.count());
    }
    m.ops = seen;
    m.capped = capped;
    // One sample per pair would measure the clock: readseq reports throughput only.
    Ok(m)
}

/// deleterandom: `count` deletes of held keys (in a seeded order) in buffered batches of
/// [`UPDATE_BATCH`], then `count * 2 / 5` gets over the whole key space, each checked
/// against what is held (reads/s in `extra`).
pub fn delete_random(
    engine: &dyn Engine,
    spec: &Spec,
    live: &mut Live,
    count: u64,
    deadline: Instant,
    bar: &ProgressBar,
) -> Result<Measured> {
    let order = Permutation::new(spec.n, mix(spec.seed ^ 0xde1e7e));
    let mut m = Measured::new(&format!("batch of {UPDATE_BATCH}"));
    let mut batch = Batch::new(spec.values.len());
    let mut picked = Vec::with_capacity(UPDATE_BATCH);
    let start = Instant::now();
    let mut j = 0;
    while m.ops < count && j < spec.n {
        batch.clear();
        picked.clear();
        while picked.len() < UPDATE_BATCH && m.ops + (picked.len() as u64) < count && j < spec.n {
            let i = order.at(j);
            j += 1;
            if live.contains(i) {
                batch.keys.push(spec.keys.key(i));
                picked.push(i);
            }
        }
        if picked.is_empty() {
            break;
        }
        let t = Instant::now();
        engine.write(&batch.deletes(), Durability::Buffered)?;
        record(&mut m.latency, t);
        for &i in &picked {
            live.remove(i);
        }
        m.ops += picked.len() as u64;
        bar.inc(picked.len() as u64);
        if m.ops < count && Instant::now() > deadline {
            m.capped = true;
            break;
        }
    }
    m.elapsed = start.elapsed();
    m.logical_bytes = m.ops * KEY_BYTES as u64;
    // Reads over the whole key space: a quarter of them now land on deleted keys.
    let gets = (count * 2 / 5).max(1);
    let mut rng = spec.rng("deleterandom", 0);
    let mut reader = engine.reader()?;
    let mut out = Vec::new();
    let read_start = Instant::now();
    let mut done = 0;
    while done < gets && (!done.is_multiple_of(1024) || Instant::now() <= deadline) {
        let i = rng.random_range(0..spec.n);
        let found = reader.get(&spec.keys.key(i), &mut out)?;
        if found != live.contains(i) || (found && !spec.values.matches(&out, i)) {
            bail!(
                "{}: after deletes, key {i} read {} but it is {}",
                engine.name(),
                if found { "a value" } else { "nothing" },
                if live.contains(i) { "held" } else { "deleted" }
            );
        }
        done += 1;
    }
    m.extra.insert("reads_per_sec".into(), done as f64 / read_start.elapsed().as_secs_f64());
    Ok(m)
}

/// fill64k: `count` values of [`LARGE_VALUE_BYTES`] under random keys in buffered batches of
/// [`LARGE_BATCH`] into an empty database, then as many checked random gets (reads/s in
/// `extra`). The caller opens the engine with key-value separation where it has it.
pub fn fill_large(
    engine: &dyn Engine,
    spec: &Spec,
    count: u64,
    deadline: Instant,
    bar: &ProgressBar,
) -> Result<(Measured, Live)> {
    let values = Values::new(spec.seed, LARGE_VALUE_BYTES);
    let order = Permutation::new(count, mix(spec.seed ^ 0x64));
    let mut live = Live::new(count);
    let mut m = Measured::new(&format!("batch of {LARGE_BATCH}"));
    let mut batch = Batch::new(LARGE_VALUE_BYTES);
    let start = Instant::now();
    let mut j = 0;
    while j < count {
        batch.clear();
        let end = (j + LARGE_BATCH as u64).min(count);
        for k in j..end {
            batch.push(&spec.keys, &values, order.at(k));
        }
        let t = Instant::now();
        engine.write(&batch.puts(), Durability::Buffered)?;
        record(&mut m.latency, t);
        for k in j..end {
            live.insert(order.at(k));
        }
        bar.inc(end - j);
        m.ops += end - j;
        j = end;
        if j < count && Instant::now() > deadline {
            m.capped = true;
            break;
        }
    }
    m.elapsed = start.elapsed();
    m.logical_bytes = m.ops * (KEY_BYTES + LARGE_VALUE_BYTES) as u64;
    let mut rng = spec.rng("fill64k", 0);
    let mut reader = engine.reader()?;
    let mut out = Vec::new();
    let read_start = Instant::now();
    let mut done = 0;
    while done < m.ops && (!done.is_multiple_of(64) || Instant::now() <= deadline) {
        let i = live.pick(&mut rng).expect("fill64k wrote values");
        if !reader.get(&spec.keys.key(i), &mut out)? || !values.matches(&out, i) {
            bail!("{}: 64 KiB value {i} did not read back", engine.name());
        }
        done += 1;
    }
    m.extra.insert("reads_per_sec".into(), done as f64 / read_start.elapsed().as_secs_f64());
    Ok((m, live))
}

/// readwhilewriting: one reader doing checked gets of held keys (`count`, or until the
/// deadline) while one writer overwrites random held keys with buffered single puts at
/// [`WRITER_OPS_PER_SEC`]. The row is the reader's; the writer's figures go in `extra`. The
/// reader takes a fresh view every 1,024 gets, so it sees the writer's work (and a B-tree
/// engine is not made to keep old pages for one long read transaction).
pub fn read_while_writing(
    engine: &dyn Engine,
    spec: &Spec,
    live: &Live,
    count: u64,
    deadline: Instant,
    bar: &ProgressBar,
) -> Result<Measured> {
    if live.count() == 0 {
        bail!("readwhilewriting needs a loaded database");
    }
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    let (reads, writes) = std::thread::scope(|s| {
        let writer = s.spawn(|| -> Result<(u64, Histogram<u64>)> {
            let mut rng = spec.rng("readwhilewriting-writer", 0);
            let mut latency = histogram();
            let mut value = Vec::new();
            let mut n: u64 = 0;
            let begun = Instant::now();
            while !stop.load(Ordering::Relaxed) && Instant::now() <= deadline {
                // Pacing: the n-th write is due n / rate seconds after the start.
                let due = begun + Duration::from_secs_f64(n as f64 / WRITER_OPS_PER_SEC as f64);
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                let i = live.pick(&mut rng).expect("the database holds keys");
                let key = spec.keys.key(i);
                spec.values.fill(i, &mut value);
                let t0 = Instant::now();
                engine.write(&[Op::Put(&key, &value)], Durability::Buffered)?;
                record(&mut latency, t0);
                n += 1;
            }
            Ok((n, latency))
        });
        let reads = (|| -> Result<Measured> {
            let mut m = Measured::new("op");
            let mut rng = spec.rng("readwhilewriting", 0);
            let mut out = Vec::new();
            while m.ops < count {
                let mut reader = engine.reader()?;
                for _ in 0..1024.min(count - m.ops) {
                    let i = live.pick(&mut rng).expect("the database holds keys");
                    let t0 = Instant::now();
                    let found = reader.get(&spec.keys.key(i), &mut out)?;
                    record(&mut m.latency, t0);
                    if !found || !spec.values.matches(&out, i) {
                        bail!("{}: key {i} read wrong while being written", engine.name());
                    }
                    m.ops += 1;
                }
                bar.inc(1024);
                if m.ops < count && Instant::now() > deadline {
                    m.capped = true;
                    break;
                }
            }
            m.elapsed = start.elapsed();
            Ok(m)
        })();
        stop.store(true, Ordering::Relaxed);
        (reads, writer.join().expect("writer thread panicked"))
    });
    let mut m = reads?;
    let (written, wl) = writes?;
    m.threads = 2;
    m.logical_bytes = written * spec.entry_bytes();
    m.extra.insert("writes_per_sec".into(), written as f64 / m.elapsed.as_secs_f64());
    m.extra.insert("writer_p99_us".into(), wl.value_at_quantile(0.99) as f64 / 1000.0);
    m.extra.insert("writer_max_us".into(), wl.max() as f64 / 1000.0);
    Ok(m)
}

/// settle: waits for the engine's background work (bounded by `deadline`).
pub fn settle(engine: &dyn Engine, deadline: Instant) -> Result<Measured> {
    let mut m = Measured::new("op");
    let start = Instant::now();
    engine.settle(deadline)?;
    m.elapsed = start.elapsed();
    m.ops = 1;
    Ok(m)
}

/// compact: one full compaction.
pub fn compact(engine: &dyn Engine) -> Result<Measured> {
    let mut m = Measured::new("op");
    let start = Instant::now();
    engine.compact()?;
    m.elapsed = start.elapsed();
    m.ops = 1;
    Ok(m)
}
