//! The `lode-bench` command line. The default command runs the engine harness: each engine in
//! a child process of its own (`engine-run`, hidden), engines in a shuffled order per round,
//! rows collected as JSON lines, then Markdown tables on stdout and an optional SVG chart.
//! `lode-bench server` runs the server harness; `lode-bench report` redraws tables and the
//! chart from a results file.
//!
//! Example: `cargo run --release -p lode-bench --features peers -- --engines lode,rocksdb
//! --workloads fillrandom,readrandom --num 1000000 --json results.jsonl --chart results.svg`

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use lode_bench::engines::{self, EngineOptions};
use lode_bench::keys::{VALUE_BYTES_MAX, VALUE_BYTES_MIN};
use lode_bench::report::{self, Row};
use lode_bench::runner::{self, Plan};
use lode_bench::server::{self, ServerPlan};
use lode_bench::{chart, machine, workloads};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Lode's benchmark harness: engines side by side (lode always; rocksdb, fjall, redb, sled and
/// lmdb when built with `--features peers`), one Markdown table per workload on stdout.
///
/// Every engine gets the same seeded keys (16 bytes) and values, the same cache budget and no
/// compression; every row names its durability (buffered: no fsync on the write path;
/// durable: synced before the write returns), and tables never mix the two. Each workload
/// has an operation count and a time cap (a capped row says so), each engine a time budget
/// (workloads past it are skipped). Each engine first passes a correctness script; every read
/// of every workload is checked. docs/benchmarks.md has the commands and the results.
#[derive(Debug, Parser)]
#[command(name = "lode-bench", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// `lode serve` and `redis-server` side by side on 127.0.0.1 with the same appendfsync,
    /// driven in turn by redis-benchmark; prints the same tables (ratios against Redis).
    ///
    /// Needs a release build of lode (`cargo build --release -p lode-cli`) and Debian's
    /// redis-server and redis-tools. Each server keeps its data on disk in --dir.
    Server(ServerArgs),
    /// Print the tables of a results file (JSON lines) again, and draw its chart.
    Report(ReportArgs),
    /// Run one engine and print its rows as JSON lines (the harness runs this per engine).
    #[command(hide = true)]
    EngineRun(EngineRunArgs),
    /// The writer `recover` kills with SIGKILL.
    #[command(hide = true)]
    RecoverChild(RecoverChildArgs),
}

/// Sizes as Redis writes them: bytes, or k/kb/m/mb/g/gb (k = 1000, kb = 1024).
fn parse_size(text: &str) -> Result<u64, String> {
    let lower = text.trim().to_ascii_lowercase();
    let split = lower.find(|c: char| !c.is_ascii_digit()).unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let n: u64 = digits.parse().map_err(|_| format!("{text:?} is not a size like 64mb or 1gb"))?;
    let mul: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1 << 10,
        "m" => 1000 * 1000,
        "mb" => 1 << 20,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1 << 30,
        _ => return Err(format!("{text:?} has an unknown unit (use b, kb, mb or gb)")),
    };
    n.checked_mul(mul).ok_or_else(|| format!("{text:?} is too large"))
}

fn parse_value_bytes(text: &str) -> Result<usize, String> {
    let n = parse_size(text)?;
    if !(VALUE_BYTES_MIN as u64..=VALUE_BYTES_MAX as u64).contains(&n) {
        return Err(format!(
            "values must be {VALUE_BYTES_MIN} bytes (they carry their key's index) to {} \
             (1mb), not {n}",
            VALUE_BYTES_MAX
        ));
    }
    Ok(n as usize)
}

fn parse_scale(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if x > 0.0 && x <= 100.0 => Ok(x),
        _ => Err(format!("{text:?}: a factor above 0, at most 100 (0.5 halves every cap)")),
    }
}

#[derive(Debug, Clone, Args)]
struct RunArgs {
    /// Comma-separated engines (default: every engine this build has: lode, plus rocksdb,
    /// fjall, redb, sled and lmdb with `--features peers`).
    #[arg(long, value_delimiter = ',')]
    engines: Vec<String>,
    /// Comma-separated workloads, run in this order (default: all of fillseq, fillrandom,
    /// readrandom, overwrite, fillsync, fillsync_8t, seekrandom, readseq, readmissing,
    /// readrandom_2t, deleterandom, recover, fill64k, readwhilewriting). Also: settle (wait
    /// for flushes and compactions), compact (full compaction). `name:count` sets a
    /// workload's operation count (default: in proportion to --num, as the protocol's).
    #[arg(long)]
    workloads: Option<String>,
    /// Keys in the key space: fills write this many; the other workloads' counts follow it.
    #[arg(long, default_value_t = 1_000_000)]
    num: u64,
    /// Bytes per value (8b to 1mb).
    #[arg(long, default_value = "100", value_parser = parse_value_bytes)]
    value_size: usize,
    /// Block cache of every engine that has one (LMDB uses the OS page cache).
    #[arg(long, default_value = "256mb", value_parser = parse_size)]
    cache_size: u64,
    /// Memtable size of the LSM engines (lode, rocksdb, fjall).
    #[arg(long, default_value = "64mb", value_parser = parse_size)]
    memtable_size: u64,
    /// Seed of keys, values and orders (the same for every engine).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Multiplies every workload's time cap (0.5 for the protocol's fast profile).
    #[arg(long, default_value = "1", value_parser = parse_scale)]
    cap_scale: f64,
    /// Seconds each engine may take in all; later workloads are reported as skipped.
    #[arg(long, default_value_t = 90)]
    budget_secs: u64,
    /// Run the whole suite this many times (engines in a new random order each time).
    #[arg(long, default_value_t = 1)]
    rounds: u32,
    /// Run engines in the order given instead of a random one per round.
    #[arg(long)]
    no_shuffle: bool,
    /// Append one JSON object per result to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Draw ops/s per workload per engine into this SVG file.
    #[arg(long)]
    chart: Option<PathBuf>,
    /// Where databases are made (on a real disk, not tmpfs; default: a temporary directory).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Drop the OS page cache before each engine (writes /proc/sys/vm/drop_caches; root).
    #[arg(long)]
    drop_caches: bool,
    /// No progress bars.
    #[arg(long)]
    quiet: bool,
}

#[derive(Debug, Args)]
struct EngineRunArgs {
    #[arg(long)]
    engine: String,
    #[arg(long)]
    round: u32,
    #[arg(long)]
    engine_dir: PathBuf,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Args)]
struct RecoverChildArgs {
    #[arg(long)]
    engine: String,
    #[arg(long)]
    dir: PathBuf,
    #[arg(long)]
    num: u64,
    #[arg(long)]
    count: u64,
    #[arg(long)]
    seed: u64,
    #[arg(long)]
    value_bytes: usize,
    #[arg(long)]
    cache_bytes: u64,
    #[arg(long)]
    memtable_bytes: u64,
}

#[derive(Debug, Args)]
struct ServerArgs {
    /// The lode binary (default: `lode` next to this program, i.e. target/release/lode).
    #[arg(long)]
    lode: Option<PathBuf>,
    /// appendfsync modes to compare, in order.
    #[arg(long, value_delimiter = ',', default_value = "everysec,always")]
    appendfsync: Vec<String>,
    /// redis-benchmark tests.
    #[arg(long, value_delimiter = ',', default_value = "set,get,incr,mset")]
    tests: Vec<String>,
    /// Requests per test without pipelining (-P 1).
    #[arg(long, default_value_t = 100_000)]
    requests_p1: u64,
    /// Requests per test with -P 16.
    #[arg(long, default_value_t = 400_000)]
    requests_p16: u64,
    /// Parallel connections (-c).
    #[arg(long, default_value_t = 50)]
    clients: u32,
    /// Bytes per value (-d).
    #[arg(long, default_value_t = 100)]
    value_size: usize,
    /// Random key space (-r).
    #[arg(long, default_value_t = 1_000_000)]
    keyspace: u64,
    /// Seconds one redis-benchmark run may take before it is stopped (and the run fails).
    #[arg(long, default_value_t = 120)]
    cap_secs: u64,
    /// Repetitions (fresh servers each time).
    #[arg(long, default_value_t = 1)]
    rounds: u32,
    /// Append one JSON object per result to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Draw requests/s per test per server into this SVG file.
    #[arg(long)]
    chart: Option<PathBuf>,
    /// Where the servers keep their data (default: a temporary directory).
    #[arg(long)]
    dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ReportArgs {
    /// The results file (JSON lines from --json).
    input: PathBuf,
    /// Draw the chart into this SVG file.
    #[arg(long)]
    chart: Option<PathBuf>,
    /// The engine ratios are against (default: lode, or redis for server results).
    #[arg(long)]
    baseline: Option<String>,
    /// The chart's title.
    #[arg(long, default_value = "lode-bench results")]
    title: String,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        None => run_all(&cli.run),
        Some(Cmd::EngineRun(a)) => engine_run(&a),
        Some(Cmd::RecoverChild(a)) => runner::recover_child(
            &a.engine,
            &a.dir,
            a.num,
            a.count,
            a.seed,
            a.value_bytes,
            &EngineOptions {
                cache_bytes: a.cache_bytes,
                memtable_bytes: a.memtable_bytes,
                kv_separation: false,
            },
        ),
        Some(Cmd::Server(a)) => server_run(&a),
        Some(Cmd::Report(a)) => report_run(&a),
    }
}

fn workload_list(args: &RunArgs) -> Result<Vec<(String, Option<u64>)>> {
    match &args.workloads {
        Some(text) => runner::parse_workloads(text),
        None => Ok(workloads::WORKLOADS.iter().map(|w| (w.to_string(), None)).collect()),
    }
}

fn engine_list(args: &RunArgs) -> Result<Vec<String>> {
    if args.engines.is_empty() {
        let all: Vec<String> = engines::ENGINES
            .iter()
            .filter(|e| engines::available(e))
            .map(|e| e.to_string())
            .collect();
        if all.len() == 1 {
            eprintln!("note: built without `--features peers`, so only lode runs");
        }
        return Ok(all);
    }
    for e in &args.engines {
        if !engines::ENGINES.contains(&e.as_str()) {
            bail!("unknown engine {e:?}: choose from {}", engines::ENGINES.join(", "));
        }
        if !engines::available(e) {
            bail!(
                "{e} is a peer engine, and this lode-bench was built without them: build with \
                 `--features peers` (docs/benchmarks.md has RocksDB's build)"
            );
        }
    }
    Ok(args.engines.clone())
}

/// The flags that make a child run the same suite.
fn forwarded(args: &RunArgs) -> Vec<String> {
    let mut v = vec![
        "--num".to_string(),
        args.num.to_string(),
        "--value-size".into(),
        args.value_size.to_string(),
        "--cache-size".into(),
        args.cache_size.to_string(),
        "--memtable-size".into(),
        args.memtable_size.to_string(),
        "--seed".into(),
        args.seed.to_string(),
        "--cap-scale".into(),
        args.cap_scale.to_string(),
        "--budget-secs".into(),
        args.budget_secs.to_string(),
    ];
    if let Some(w) = &args.workloads {
        v.push("--workloads".into());
        v.push(w.clone());
    }
    if args.quiet {
        v.push("--quiet".into());
    }
    v
}

fn open_json(path: Option<&Path>) -> Result<Option<std::fs::File>> {
    path.map(|p| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .with_context(|| format!("open {}", p.display()))
    })
    .transpose()
}

fn summary(row: &Row) -> String {
    format!(
        "{} {} ({}): {} ops/s{}",
        row.engine,
        row.workload,
        row.durability,
        row.ops_per_sec.map_or("-".into(), |x| format!("{x:.0}")),
        if row.status == "ok" { String::new() } else { format!(" [{}]", row.status) }
    )
}

fn run_all(args: &RunArgs) -> Result<()> {
    // Checked here, before any engine starts, and parsed again by each child.
    workload_list(args)?;
    let engines = engine_list(args)?;
    if args.rounds == 0 {
        bail!("--rounds must be at least 1");
    }
    let tmp;
    let base = match &args.dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir().context("create a temporary directory")?;
            tmp.path().to_path_buf()
        }
    };
    std::fs::create_dir_all(&base).with_context(|| format!("create {}", base.display()))?;
    let mut json = open_json(args.json.as_deref())?;
    let mut rows: Vec<Row> = machine::probe(&base)?;
    for r in &rows {
        eprintln!("{}", summary(r));
        if let Some(f) = json.as_mut() {
            writeln!(f, "{}", r.to_json())?;
        }
    }
    let exe = std::env::current_exe().context("find this program")?;
    let mut failures = Vec::new();
    for round in 1..=args.rounds {
        let mut order = engines.clone();
        if !args.no_shuffle {
            order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(args.seed ^ u64::from(round)));
        }
        eprintln!("round {round}: {}", order.join(", "));
        for engine in &order {
            if args.drop_caches {
                drop_caches();
            }
            let engine_dir = base.join(format!("{engine}-{round}"));
            let mut child = Command::new(&exe)
                .args(["engine-run", "--engine", engine, "--round", &round.to_string()])
                .arg("--engine-dir")
                .arg(&engine_dir)
                .args(forwarded(args))
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .spawn()
                .with_context(|| format!("start the {engine} run"))?;
            let stdout = child.stdout.take().expect("piped");
            for line in BufReader::new(stdout).lines() {
                let line = line?;
                // An engine that prints to stdout must not cost the run its results.
                let Ok(row) = serde_json::from_str::<Row>(&line) else {
                    eprintln!("{engine} printed: {line}");
                    continue;
                };
                eprintln!("{}", summary(&row));
                if let Some(f) = json.as_mut() {
                    writeln!(f, "{}", row.to_json())?;
                }
                rows.push(row);
            }
            let status = child.wait()?;
            let _ = std::fs::remove_dir_all(&engine_dir);
            if !status.success() {
                failures.push(format!("{engine} (round {round})"));
            }
        }
    }
    print_tables(
        &rows,
        &workloads::WORKLOADS.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        "lode",
        &format!("lode-bench results ({} keys)", args.num),
    );
    if let Some(path) = &args.chart {
        let title = format!(
            "lode-bench: {} keys, {} B values, ops/s per workload (mean of {} round(s), one run)",
            args.num, args.value_size, args.rounds
        );
        write_chart(
            &rows,
            &workloads::WORKLOADS.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            &title,
            path,
        )?;
    }
    if !failures.is_empty() {
        bail!(
            "failed (see the errors above; their rows up to the failure are in the tables): {}",
            failures.join(", ")
        );
    }
    Ok(())
}

fn drop_caches() {
    // Best effort: the page cache is shared, so this needs root and slows every neighbour.
    if std::fs::write("/proc/sys/vm/drop_caches", "3").is_err() {
        eprintln!("note: could not drop the page cache (needs root); going on without");
    }
}

fn print_tables(rows: &[Row], order: &[String], baseline: &str, heading: &str) {
    let order: Vec<&str> = order.iter().map(String::as_str).collect();
    let machine: Vec<&Row> = rows.iter().filter(|r| r.engine == "machine").collect();
    let results: Vec<Row> = rows.iter().filter(|r| r.engine != "machine").cloned().collect();
    println!("## {heading}");
    for m in machine {
        println!(
            "machine: {} {:.0}/s (p50 {} us, p99 {} us)",
            m.workload,
            m.ops_per_sec.unwrap_or(0.0),
            m.p50_us.map_or("-".into(), |x| format!("{x:.0}")),
            m.p99_us.map_or("-".into(), |x| format!("{x:.0}")),
        );
    }
    print!("{}", report::matrix(&results, &order, "lode"));
    println!("\n### Every row");
    print!("{}", report::markdown(&results, &order, baseline));
}

fn write_chart(rows: &[Row], order: &[String], title: &str, path: &Path) -> Result<()> {
    let order: Vec<&str> = order.iter().map(String::as_str).collect();
    let results: Vec<Row> = rows.iter().filter(|r| r.engine != "machine").cloned().collect();
    std::fs::write(path, chart::svg(&results, &order, title))
        .with_context(|| format!("write {}", path.display()))?;
    eprintln!("chart: {}", path.display());
    Ok(())
}

fn engine_run(a: &EngineRunArgs) -> Result<()> {
    let plan = Plan {
        engine: a.engine.clone(),
        workloads: workload_list(&a.run)?,
        num: a.run.num,
        value_bytes: a.run.value_size,
        seed: a.run.seed,
        options: EngineOptions {
            cache_bytes: a.run.cache_size,
            memtable_bytes: a.run.memtable_size,
            kv_separation: false,
        },
        cap_scale: a.run.cap_scale,
        budget: Duration::from_secs(a.run.budget_secs),
        dir: a.engine_dir.clone(),
        round: a.round,
        progress: !a.run.quiet,
        exe: std::env::current_exe().ok(),
    };
    std::fs::create_dir_all(&plan.dir)?;
    let mut out = std::io::stdout();
    let result = runner::run_engine(&plan, &mut |row| {
        let _ = writeln!(out, "{}", row.to_json());
        let _ = out.flush();
    });
    let _ = std::fs::remove_dir_all(&plan.dir);
    result
}

fn server_run(a: &ServerArgs) -> Result<()> {
    let lode = match &a.lode {
        Some(p) => p.clone(),
        None => std::env::current_exe()?.with_file_name("lode"),
    };
    if !lode.exists() {
        bail!(
            "{} does not exist: build it with `cargo build --release -p lode-cli`, or pass --lode",
            lode.display()
        );
    }
    let tmp;
    let dir = match &a.dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir().context("create a temporary directory")?;
            tmp.path().to_path_buf()
        }
    };
    let plan = ServerPlan {
        lode,
        fsync: a.appendfsync.clone(),
        tests: a.tests.clone(),
        pipelines: vec![(1, a.requests_p1), (16, a.requests_p16)],
        clients: a.clients,
        value_bytes: a.value_size,
        keyspace: a.keyspace,
        cap: Duration::from_secs(a.cap_secs),
        rounds: a.rounds.max(1),
        dir,
    };
    let mut json = open_json(a.json.as_deref())?;
    let mut rows = Vec::new();
    server::run(&plan, &mut |row| {
        eprintln!("{}", summary(&row));
        if let Some(f) = json.as_mut() {
            let _ = writeln!(f, "{}", row.to_json());
        }
        rows.push(row);
    })?;
    let order = server::workload_order(&plan);
    println!(
        "## lode serve vs redis-server ({} clients, {} B values, -r {})",
        a.clients, a.value_size, a.keyspace
    );
    let order_refs: Vec<&str> = order.iter().map(String::as_str).collect();
    print!("{}", report::matrix(&rows, &order_refs, "lode"));
    println!("\n### Every row");
    print!("{}", report::markdown(&rows, &order_refs, "redis"));
    if let Some(path) = &a.chart {
        let title = format!(
            "lode serve vs redis-server: requests/s, {} clients, {} B values (mean of {} round(s))",
            a.clients, a.value_size, plan.rounds
        );
        write_chart(&rows, &order, &title, path)?;
    }
    Ok(())
}

fn report_run(a: &ReportArgs) -> Result<()> {
    let text =
        std::fs::read_to_string(&a.input).with_context(|| format!("read {}", a.input.display()))?;
    let rows =
        report::parse_rows(&text).map_err(|e| anyhow::anyhow!("{}: {e}", a.input.display()))?;
    let server = rows.iter().any(|r| r.engine == "redis");
    let baseline =
        a.baseline.clone().unwrap_or_else(|| if server { "redis" } else { "lode" }.into());
    let mut order: Vec<String> = workloads::WORKLOADS.iter().map(|s| s.to_string()).collect();
    for p in [1, 16] {
        for t in ["set", "get", "incr", "mset"] {
            order.push(server::workload_name(t, p));
        }
    }
    let num = rows.iter().find(|r| r.engine != "machine").map_or(0, |r| r.num);
    let heading = if server {
        format!("lode serve vs redis-server ({num} requests per test at -P 1)")
    } else {
        format!("lode-bench results ({num} keys)")
    };
    print_tables(&rows, &order, &baseline, &heading);
    if let Some(path) = &a.chart {
        write_chart(&rows, &order, &a.title, path)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn sizes_read_like_redis() {
        assert_eq!(parse_size("256mb"), Ok(256 << 20));
        assert_eq!(parse_size("64k"), Ok(64_000));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("12q").expect_err("bad unit").contains("unknown unit"));
        assert!(parse_size("99999999999gb").expect_err("overflow").contains("too large"));
    }

    #[test]
    fn value_sizes_are_checked_at_both_limits() {
        assert_eq!(parse_value_bytes("8"), Ok(VALUE_BYTES_MIN));
        assert!(parse_value_bytes("7").is_err());
        assert_eq!(parse_value_bytes("1mb"), Ok(VALUE_BYTES_MAX));
        assert!(parse_value_bytes(&(VALUE_BYTES_MAX + 1).to_string()).is_err());
    }

    #[test]
    fn cap_scale_must_be_positive_and_bounded() {
        assert_eq!(parse_scale("0.5"), Ok(0.5));
        assert_eq!(parse_scale("100"), Ok(100.0));
        assert!(parse_scale("0").is_err());
        assert!(parse_scale("100.5").is_err());
        assert!(parse_scale("fast").is_err());
    }

    #[test]
    fn a_child_gets_every_flag_that_shapes_the_run() {
        let cli = Cli::parse_from([
            "lode-bench",
            "--num",
            "500",
            "--workloads",
            "fillseq",
            "--value-size",
            "1kb",
            "--cache-size",
            "8mb",
            "--cap-scale",
            "0.5",
            "--quiet",
        ]);
        let child = Cli::parse_from(
            ["lode-bench", "engine-run", "--engine", "lode", "--round", "1", "--engine-dir", "d"]
                .into_iter()
                .map(String::from)
                .chain(forwarded(&cli.run)),
        );
        let Some(Cmd::EngineRun(a)) = child.command else { panic!("not an engine run") };
        assert_eq!(a.run.num, 500);
        assert_eq!(a.run.value_size, 1024);
        assert_eq!(a.run.cache_size, 8 << 20);
        assert_eq!(a.run.cap_scale, 0.5);
        assert_eq!(a.run.workloads.as_deref(), Some("fillseq"));
        assert!(a.run.quiet);
    }
}
