//! Runs the chosen workloads against one engine and turns each into a [`Row`]: the engine's
//! conformance check first, then each workload in the order given, with its time cap, under
//! the engine's time budget (workloads past it are reported as skipped). Around each workload
//! it reads the process's written bytes, CPU time and peak memory, and after a write the disk
//! usage of the database, for write and space amplification.
//!
//! The parent (main.rs) runs each engine in a child process of its own, so peak memory, written
//! bytes and background threads of one engine never show up in another's figures. `recover`
//! adds a grandchild: a writer killed with SIGKILL.

use crate::conformance;
use crate::engines::{self, Durability, Engine, EngineOptions, Op};
use crate::keys::{KeySpace, Live, Values};
use crate::procfs;
use crate::report::Row;
use crate::workloads::{self as w, Measured, Spec};
use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One engine's run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The engine.
    pub engine: String,
    /// Workloads in order, each with its operation count if given (`name:count`).
    pub workloads: Vec<(String, Option<u64>)>,
    /// Key space.
    pub num: u64,
    /// Bytes per value.
    pub value_bytes: usize,
    /// Seed of keys, values and orders.
    pub seed: u64,
    /// Block cache and memtable budgets.
    pub options: EngineOptions,
    /// Multiplies every workload's time cap.
    pub cap_scale: f64,
    /// Wall-clock budget for the whole engine.
    pub budget: Duration,
    /// Directory to make the engine's databases in (left empty afterwards).
    pub dir: PathBuf,
    /// Which repetition this is.
    pub round: u32,
    /// Draw progress bars on stderr.
    pub progress: bool,
    /// This program, to start recover's writer; `None` skips recover.
    pub exe: Option<PathBuf>,
}

/// Parses `fillrandom,readrandom:1000,...` into names and optional counts.
///
/// # Errors
/// An unknown workload or a count that is not a number.
pub fn parse_workloads(text: &str) -> Result<Vec<(String, Option<u64>)>> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|spec| {
            let (name, count) = match spec.split_once(':') {
                Some((n, c)) => {
                    (n, Some(c.parse().with_context(|| format!("bad count in {spec:?}"))?))
                }
                None => (spec, None),
            };
            if !w::WORKLOADS.contains(&name) && !w::EXTRA_WORKLOADS.contains(&name) {
                bail!(
                    "unknown workload {name:?}: choose from {}, {}",
                    w::WORKLOADS.join(", "),
                    w::EXTRA_WORKLOADS.join(", ")
                );
            }
            Ok((name.to_string(), count))
        })
        .collect()
}

/// The database the workloads share, with the keys it holds.
struct Open {
    engine: Box<dyn Engine>,
    dir: PathBuf,
    live: Live,
}

struct Runner<'p> {
    plan: &'p Plan,
    spec: Spec,
    main: Option<Open>,
    fresh_dirs: u32,
}

impl Runner<'_> {
    fn bar(&self, workload: &str, len: u64) -> ProgressBar {
        if !self.plan.progress {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>24} [{bar:30}] {human_pos}/{human_len} {per_sec} {elapsed}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix(format!("{} {workload}", self.plan.engine));
        bar
    }

    fn new_dir(&mut self, what: &str) -> Result<PathBuf> {
        self.fresh_dirs += 1;
        let dir = self.plan.dir.join(format!("{}-{what}-{}", self.plan.engine, self.fresh_dirs));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("clear {}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
        Ok(dir)
    }

    /// Closes and deletes the shared database, and opens an empty one.
    fn fresh(&mut self) -> Result<&mut Open> {
        if let Some(old) = self.main.take() {
            drop(old.engine);
            let _ = std::fs::remove_dir_all(&old.dir);
        }
        let dir = self.new_dir("db")?;
        let engine = engines::open(&self.plan.engine, &dir, &self.plan.options)?;
        Ok(self.main.insert(Open { engine, dir, live: Live::new(self.spec.n) }))
    }

    /// The shared database, filled first (unmeasured) if nothing has filled it.
    fn loaded(&mut self) -> Result<&mut Open> {
        if self.main.as_ref().is_none_or(|o| o.live.count() == 0) {
            let bar = self.bar("load", self.spec.n);
            let spec = self.spec.clone();
            let open = self.fresh()?;
            let far = Instant::now() + Duration::from_secs(3600);
            w::fill(&*open.engine, &spec, &mut open.live, 0, spec.n, true, far, &bar)?;
            open.engine.settle(far)?;
            bar.finish_and_clear();
        }
        Ok(self.main.as_mut().expect("loaded above"))
    }

    fn space_amp(dir: &Path, live_bytes: u64) -> Option<f64> {
        let used = procfs::disk_usage(dir).ok()?;
        (live_bytes > 0).then(|| used as f64 / live_bytes as f64)
    }

    /// Runs one workload; returns its measurement, its space amplification and its WAL
    /// fsyncs per write where known.
    fn run(
        &mut self,
        workload: &str,
        count: u64,
        deadline: Instant,
    ) -> Result<(Measured, Option<f64>, Option<f64>)> {
        let bar = self.bar(workload, count);
        let spec = self.spec.clone();
        let entry = spec.values.len() as u64 + crate::keys::KEY_BYTES as u64;
        let out = match workload {
            "fillseq" | "fillrandom" => {
                let settle_cap = self.scaled(Duration::from_secs(10));
                let open = self.fresh()?;
                let random = workload == "fillrandom";
                let mut m = w::fill(
                    &*open.engine,
                    &spec,
                    &mut open.live,
                    0,
                    count,
                    random,
                    deadline,
                    &bar,
                )?;
                if m.capped {
                    // The rate is measured; the rest of the keys go in unmeasured, so every
                    // engine's later workloads see the same database, not whatever its fill
                    // reached by the cap.
                    let t = Instant::now();
                    let far = t + Duration::from_secs(3600);
                    let rest = w::fill(
                        &*open.engine,
                        &spec,
                        &mut open.live,
                        m.ops,
                        count,
                        random,
                        far,
                        &bar,
                    )?;
                    m.logical_bytes += rest.logical_bytes;
                    m.extra.insert("completion_secs".into(), t.elapsed().as_secs_f64());
                }
                if random {
                    let settle_deadline = Instant::now() + settle_cap;
                    let t = Instant::now();
                    open.engine.settle(settle_deadline)?;
                    m.extra.insert("settle_secs".into(), t.elapsed().as_secs_f64());
                }
                let sa = Self::space_amp(&open.dir, open.live.count() * entry);
                (m, sa, None)
            }
            "overwrite" => {
                let open = self.loaded()?;
                let m = w::overwrite(&*open.engine, &spec, &open.live, count, deadline, &bar)?;
                let sa = Self::space_amp(&open.dir, open.live.count() * entry);
                (m, sa, None)
            }
            "fillsync" | "fillsync_8t" => {
                let threads = if workload == "fillsync" { 1 } else { w::SYNC_THREADS };
                let open = self.loaded()?;
                let before = open.engine.syncs();
                let m = w::fill_sync(
                    &*open.engine,
                    &spec,
                    &mut open.live,
                    count,
                    threads,
                    workload,
                    deadline,
                    &bar,
                )?;
                let per_op = match (before, open.engine.syncs()) {
                    (Some(b), Some(a)) => Some((a - b) as f64 / m.ops.max(1) as f64),
                    _ => None,
                };
                (m, None, per_op)
            }
            "readrandom" | "readrandom_2t" => {
                let threads = if workload == "readrandom" { 1 } else { w::READ_THREADS };
                let open = self.loaded()?;
                (
                    w::read_random(
                        &*open.engine,
                        &spec,
                        &open.live,
                        count,
                        threads,
                        deadline,
                        &bar,
                    )?,
                    None,
                    None,
                )
            }
            "readmissing" => {
                let open = self.loaded()?;
                (w::read_missing(&*open.engine, &spec, count, deadline, &bar)?, None, None)
            }
            "seekrandom" => {
                let open = self.loaded()?;
                (
                    w::seek_random(&*open.engine, &spec, &open.live, count, deadline, &bar)?,
                    None,
                    None,
                )
            }
            "readseq" => {
                let open = self.loaded()?;
                let n = if count == w::default_count("readseq", spec.n) { u64::MAX } else { count };
                bar.set_length(open.live.count());
                (w::read_seq(&*open.engine, &spec, &open.live, n, deadline, &bar)?, None, None)
            }
            "deleterandom" => {
                let open = self.loaded()?;
                let m =
                    w::delete_random(&*open.engine, &spec, &mut open.live, count, deadline, &bar)?;
                let sa = Self::space_amp(&open.dir, open.live.count() * entry);
                (m, sa, None)
            }
            "recover" => (self.recover(count, deadline, &bar)?, None, None),
            "fill64k" => {
                let dir = self.new_dir("fill64k")?;
                let options = EngineOptions { kv_separation: true, ..self.plan.options.clone() };
                let engine = engines::open(&self.plan.engine, &dir, &options)?;
                let (mut m, live) = w::fill_large(&*engine, &spec, count, deadline, &bar)?;
                let t = Instant::now();
                engine.settle(deadline.max(Instant::now() + Duration::from_secs(1)))?;
                m.extra.insert("settle_secs".into(), t.elapsed().as_secs_f64());
                let large = (crate::keys::KEY_BYTES + w::LARGE_VALUE_BYTES) as u64;
                let sa = Self::space_amp(&dir, live.count() * large);
                drop(engine);
                let _ = std::fs::remove_dir_all(&dir);
                (m, sa, None)
            }
            "readwhilewriting" => {
                let open = self.loaded()?;
                (
                    w::read_while_writing(&*open.engine, &spec, &open.live, count, deadline, &bar)?,
                    None,
                    None,
                )
            }
            "settle" => {
                let open = self.loaded()?;
                let m = w::settle(&*open.engine, deadline)?;
                let sa = Self::space_amp(&open.dir, open.live.count() * entry);
                (m, sa, None)
            }
            "compact" => {
                let open = self.loaded()?;
                let m = w::compact(&*open.engine)?;
                let sa = Self::space_amp(&open.dir, open.live.count() * entry);
                (m, sa, None)
            }
            other => bail!("unknown workload {other:?}"),
        };
        bar.finish_and_clear();
        Ok(out)
    }

    fn scaled(&self, d: Duration) -> Duration {
        d.mul_f64(self.plan.cap_scale)
    }

    /// recover: a child process writes `count` keys buffered, then one durable key, reports
    /// it, and goes on writing until it is killed with SIGKILL. Then the database is opened
    /// (timed) and every key up to the durable one must be there with its value: a durable
    /// write makes everything acknowledged before it durable in every engine here.
    fn recover(&mut self, count: u64, deadline: Instant, bar: &ProgressBar) -> Result<Measured> {
        let Some(exe) = self.plan.exe.clone() else {
            bail!("recover needs the lode-bench binary to start its writer");
        };
        let dir = self.new_dir("recover")?;
        let mut child = Command::new(exe)
            .arg("recover-child")
            .arg("--engine")
            .arg(&self.plan.engine)
            .arg("--dir")
            .arg(&dir)
            .arg("--count")
            .arg(count.to_string())
            .arg("--num")
            .arg(self.spec.n.to_string())
            .arg("--seed")
            .arg(self.plan.seed.to_string())
            .arg("--value-bytes")
            .arg(self.plan.value_bytes.to_string())
            .arg("--cache-bytes")
            .arg(self.plan.options.cache_bytes.to_string())
            .arg("--memtable-bytes")
            .arg(self.plan.options.memtable_bytes.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("start the recover writer")?;
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next());
        });
        let wait = deadline.saturating_duration_since(Instant::now()).max(Duration::from_secs(1));
        let line = rx.recv_timeout(wait);
        // SIGKILL (and reap) whatever the writer was doing.
        let _ = child.kill();
        let _ = child.wait();
        match line {
            Ok(Some(Ok(l))) if l == "durable" => {}
            Ok(other) => bail!("the recover writer failed before its durable write: {other:?}"),
            Err(_) => bail!("the recover writer did not reach its durable write within the cap"),
        }
        bar.set_position(count / 2);
        let t = Instant::now();
        let engine = engines::open(&self.plan.engine, &dir, &self.plan.options)?;
        let open_time = t.elapsed();
        let mut reader = engine.reader()?;
        let mut out = Vec::new();
        for i in 0..=count {
            if !reader.get(&self.spec.keys.key(i), &mut out)? || !self.spec.values.matches(&out, i)
            {
                bail!(
                    "{}: after SIGKILL, key {i} (written before the durable key {count}) is lost",
                    self.plan.engine
                );
            }
        }
        drop(reader);
        drop(engine);
        let _ = std::fs::remove_dir_all(&dir);
        // The figure is the time to open (in the latency columns); a rate of keys per second
        // of open would only mislead, so the row has none.
        let mut m = Measured::new("open");
        m.ops = count + 1;
        m.elapsed = open_time;
        m.extra.insert("open_ms".into(), open_time.as_secs_f64() * 1000.0);
        m.extra.insert("keys_checked".into(), (count + 1) as f64);
        m.latency.saturating_record(open_time.as_nanos().try_into().unwrap_or(u64::MAX));
        Ok(m)
    }
}

/// The writer `recover` kills: `count` buffered puts (batches of 100) of keys `0..count`, one
/// durable put of key `count`, "durable" on stdout, then buffered puts of the next keys until
/// killed or until stdin closes (the parent went away).
///
/// # Errors
/// The engine's.
pub fn recover_child(
    engine: &str,
    dir: &Path,
    num: u64,
    count: u64,
    seed: u64,
    value_bytes: usize,
    options: &EngineOptions,
) -> Result<()> {
    let e = engines::open(engine, dir, options)?;
    let keys = KeySpace::new(seed);
    let values = Values::new(seed, value_bytes);
    let put = |i: u64, durability: Durability| -> Result<()> {
        let mut v = Vec::new();
        values.fill(i, &mut v);
        e.write(&[Op::Put(&keys.key(i), &v)], durability)
    };
    let mut batch_keys = Vec::new();
    let mut batch_values = Vec::new();
    let mut v = Vec::new();
    for start in (0..count).step_by(w::UPDATE_BATCH) {
        batch_keys.clear();
        batch_values.clear();
        for i in start..(start + w::UPDATE_BATCH as u64).min(count) {
            batch_keys.push(keys.key(i));
            values.fill(i, &mut v);
            batch_values.extend_from_slice(&v);
        }
        let ops: Vec<Op<'_>> = batch_keys
            .iter()
            .zip(batch_values.chunks(value_bytes))
            .map(|(k, v)| Op::Put(k, v))
            .collect();
        e.write(&ops, Durability::Buffered)?;
    }
    put(count, Durability::Durable)?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "durable")?;
    stdout.flush()?;
    for i in count + 1..num.max(2 * count + 1) {
        put(i, Durability::Buffered)?;
    }
    // Written everything; wait for the kill (or for the parent to go away).
    let mut sink = String::new();
    let _ = std::io::stdin().read_line(&mut sink);
    Ok(())
}

/// Runs `plan`, calling `emit` with each row as it is measured.
///
/// # Errors
/// The engine failed its conformance check, a workload read a wrong answer, or an engine
/// error; rows measured before it were emitted.
pub fn run_engine(plan: &Plan, emit: &mut dyn FnMut(Row)) -> Result<()> {
    if !engines::available(&plan.engine) {
        // Same message as opening it.
        engines::open(&plan.engine, &plan.dir, &plan.options)?;
    }
    let check_dir = plan.dir.join(format!("{}-conformance", plan.engine));
    let description = conformance::check(&plan.engine, &check_dir, &plan.options)
        .with_context(|| format!("{} failed its conformance check: no numbers", plan.engine))?;
    let _ = std::fs::remove_dir_all(&check_dir);
    let mut runner = Runner {
        plan,
        spec: Spec {
            n: plan.num,
            keys: KeySpace::new(plan.seed),
            values: Values::new(plan.seed, plan.value_bytes),
            seed: plan.seed,
        },
        main: None,
        fresh_dirs: 0,
    };
    let started = Instant::now();
    for (workload, count) in &plan.workloads {
        let count = count.unwrap_or_else(|| w::default_count(workload, plan.num));
        let durability = w::durability(workload).label().to_string();
        let mut row = Row {
            engine: plan.engine.clone(),
            workload: workload.clone(),
            durability,
            num: plan.num,
            round: plan.round,
            threads: 1,
            latency_per: "op".into(),
            options: description.clone(),
            ..Row::default()
        };
        if started.elapsed() > plan.budget {
            row.status =
                format!("skipped: the engine's {} s budget ran out", plan.budget.as_secs());
            emit(row);
            continue;
        }
        procfs::reset_peak_rss();
        let written_before = procfs::write_bytes();
        let cpu_before = procfs::cpu_seconds();
        let deadline = Instant::now() + runner.scaled(w::cap(workload));
        let (m, space_amp, fsyncs_per_op) = runner.run(workload, count, deadline)?;
        let written = match (written_before, procfs::write_bytes()) {
            (Some(b), Some(a)) => Some(a.saturating_sub(b)),
            _ => None,
        };
        let secs = m.elapsed.as_secs_f64();
        row.ops = m.ops;
        row.seconds = secs;
        row.ops_per_sec =
            (m.ops > 0 && secs > 0.0 && m.latency_per != "open").then(|| m.ops as f64 / secs);
        if !m.latency.is_empty() {
            let us = |q: f64| Some(m.latency.value_at_quantile(q) as f64 / 1000.0);
            row.p50_us = us(0.5);
            row.p99_us = us(0.99);
            row.p999_us = us(0.999);
            row.max_us = Some(m.latency.max() as f64 / 1000.0);
        }
        row.latency_per = m.latency_per;
        row.write_amp = match written {
            Some(b) if m.logical_bytes > 0 => Some(b as f64 / m.logical_bytes as f64),
            _ => None,
        };
        row.space_amp = space_amp;
        row.peak_rss_bytes = procfs::peak_rss_bytes();
        row.cpu_secs = match (cpu_before, procfs::cpu_seconds()) {
            (Some(b), Some(a)) => Some(a - b),
            _ => None,
        };
        row.fsyncs_per_op = fsyncs_per_op;
        row.threads = m.threads;
        row.status = if m.capped { "capped".into() } else { "ok".into() };
        row.extra = m.extra;
        // Which database the workload saw, where it is not the full key space.
        let own_database = ["recover", "fill64k"].contains(&workload.as_str());
        let shared = runner.main.as_ref().filter(|_| !own_database);
        if let Some(open) = shared.filter(|o| o.live.count() != plan.num) {
            row.extra.insert("db_keys".into(), open.live.count() as f64);
        }
        emit(row);
    }
    if let Some(open) = runner.main.take() {
        drop(open.engine);
        let _ = std::fs::remove_dir_all(&open.dir);
    }
    Ok(())
}
