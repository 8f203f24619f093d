//! The server harness: `lode serve` and `redis-server` side by side on 127.0.0.1, each with
//! its data on disk and the same fsync policy (`appendfsync everysec`, then `always`), driven
//! in turn by `redis-benchmark` (the same tests, clients, value size and key space for both,
//! alternating which server goes first). Each redis-benchmark run is bounded by its request
//! count and by `timeout`. Rows are the engine harness's, so the same tables and chart apply.

use crate::procfs;
use crate::report::Row;
use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long a server may take to say it is ready.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// One server comparison.
#[derive(Debug, Clone)]
pub struct ServerPlan {
    /// The `lode` binary.
    pub lode: PathBuf,
    /// fsync policies to run, in order (`everysec`, `always`).
    pub fsync: Vec<String>,
    /// redis-benchmark tests (`set`, `get`, `incr`, `mset`).
    pub tests: Vec<String>,
    /// Pipeline depths and the requests to send at each.
    pub pipelines: Vec<(u32, u64)>,
    /// Parallel connections.
    pub clients: u32,
    /// Bytes per value.
    pub value_bytes: usize,
    /// Random key space (`-r`).
    pub keyspace: u64,
    /// Cap on each redis-benchmark run.
    pub cap: Duration,
    /// Repetitions.
    pub rounds: u32,
    /// Where the servers keep their data.
    pub dir: PathBuf,
}

/// Requests for `test` out of a budget of `requests`: MSET sets 10 keys per request, so it
/// gets a tenth (the same keys written as SET), which keeps its runs inside the cap.
pub fn requests_for(test: &str, requests: u64) -> u64 {
    if test.eq_ignore_ascii_case("mset") { (requests / 10).max(1) } else { requests }
}

/// The workload name of a test at a pipeline depth: `set_p16`.
pub fn workload_name(test: &str, pipeline: u32) -> String {
    format!("{}_p{pipeline}", test.to_ascii_lowercase())
}

/// The workload order for tables and charts.
pub fn workload_order(plan: &ServerPlan) -> Vec<String> {
    let mut order = Vec::new();
    for &(p, _) in &plan.pipelines {
        for t in &plan.tests {
            order.push(workload_name(t, p));
        }
    }
    order
}

/// A redis-benchmark `--csv` result line.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchLine {
    /// Test name as redis-benchmark prints it (`SET`, `MSET (10 keys)`).
    pub test: String,
    /// Requests per second.
    pub rps: f64,
    /// Median latency in ms.
    pub p50_ms: Option<f64>,
    /// 99th percentile latency in ms.
    pub p99_ms: Option<f64>,
    /// Largest latency in ms.
    pub max_ms: Option<f64>,
}

/// Parses redis-benchmark's `--csv` output (a header line naming the columns, then one line
/// per test), finding columns by name.
///
/// # Errors
/// No header, or a line whose requests per second is not a number.
pub fn parse_csv(text: &str) -> Result<Vec<BenchLine>> {
    let unquote = |s: &str| s.trim().trim_matches('"').to_string();
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<String> =
        lines.next().context("redis-benchmark printed nothing")?.split(',').map(unquote).collect();
    let col = |name: &str| header.iter().position(|h| h == name);
    let (Some(test), Some(rps)) = (col("test"), col("rps")) else {
        bail!("redis-benchmark's CSV header has no test and rps columns: {header:?}");
    };
    let (p50, p99, max) = (col("p50_latency_ms"), col("p99_latency_ms"), col("max_latency_ms"));
    lines
        .map(|l| {
            let cells: Vec<String> = l.split("\",\"").map(unquote).collect();
            let num = |i: Option<usize>| i.and_then(|i| cells.get(i)).and_then(|c| c.parse().ok());
            Ok(BenchLine {
                test: cells.get(test).cloned().unwrap_or_default(),
                rps: num(Some(rps)).with_context(|| format!("no requests/s in {l:?}"))?,
                p50_ms: num(p50),
                p99_ms: num(p99),
                max_ms: num(max),
            })
        })
        .collect()
}

/// A server process, killed and reaped when dropped.
struct Server {
    name: &'static str,
    child: Child,
    port: u16,
    dir: PathBuf,
    options: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads `stream` line by line on a thread of its own (a server must never block on a full
/// pipe), sending each line until it closes.
fn lines_of(stream: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                // Nobody listens any more: keep draining so the server never blocks.
                continue;
            }
        }
    });
    rx
}

/// Waits for the line `ready` picks an answer from, up to [`START_TIMEOUT`].
fn wait_for<T>(
    rx: &mpsc::Receiver<String>,
    what: &str,
    mut ready: impl FnMut(&str) -> Option<T>,
) -> Result<T> {
    let deadline = std::time::Instant::now() + START_TIMEOUT;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(t) = ready(&line) {
                    return Ok(t);
                }
                seen.push(line);
            }
            Err(_) => bail!("{what} did not become ready; its output:\n{}", seen.join("\n")),
        }
    }
}

fn start_lode(plan: &ServerPlan, fsync: &str, dir: &Path) -> Result<Server> {
    let mut child = Command::new(&plan.lode)
        .args(["serve", "--bind", "127.0.0.1", "--port", "0", "--appendfsync", fsync, "--dir"])
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| {
            format!(
                "start {} (build it with `cargo build --release -p lode-cli`, or pass --lode)",
                plan.lode.display()
            )
        })?;
    let rx = lines_of(child.stderr.take().expect("piped"));
    let port = wait_for(&rx, "lode serve", |line| {
        line.contains("ready to accept connections")
            .then(|| line.split_whitespace().find_map(|w| w.strip_prefix("addr=")))
            .flatten()
            .and_then(|a| a.rsplit(':').next())
            .and_then(|p| p.parse().ok())
    });
    let port = match port {
        Ok(p) => p,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
    };
    Ok(Server {
        name: "lode",
        child,
        port,
        dir: dir.to_path_buf(),
        options: format!("lode serve --appendfsync {fsync} (defaults otherwise)"),
    })
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("find a free port")?;
    Ok(l.local_addr()?.port())
}

fn start_redis(fsync: &str, dir: &Path) -> Result<Server> {
    let port = free_port()?;
    let mut child = Command::new("redis-server")
        .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", ""])
        .args(["--appendonly", "yes", "--appendfsync", fsync, "--dir"])
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("start redis-server (apt-get install -y redis-server)")?;
    let rx = lines_of(child.stdout.take().expect("piped"));
    if let Err(e) =
        wait_for(&rx, "redis-server", |l| l.contains("Ready to accept connections").then_some(()))
    {
        let _ = child.kill();
        let _ = child.wait();
        return Err(e);
    }
    Ok(Server {
        name: "redis",
        child,
        port,
        dir: dir.to_path_buf(),
        options: format!("redis-server --appendonly yes --appendfsync {fsync} --save ''"),
    })
}

fn benchmark(
    plan: &ServerPlan,
    port: u16,
    test: &str,
    pipeline: u32,
    requests: u64,
) -> Result<BenchLine> {
    let out = Command::new("timeout")
        .arg(plan.cap.as_secs().max(1).to_string())
        .arg("redis-benchmark")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-t", test])
        .args(["-d", &plan.value_bytes.to_string(), "-r", &plan.keyspace.to_string()])
        .args(["-c", &plan.clients.to_string(), "-n", &requests.to_string()])
        .args(["-P", &pipeline.to_string(), "--csv"])
        .stdin(Stdio::null())
        .output()
        .context("run redis-benchmark (apt-get install -y redis-tools)")?;
    if !out.status.success() {
        bail!(
            "redis-benchmark -t {test} -P {pipeline} on port {port} failed ({}; 124 is the \
             {} s cap): {}",
            out.status,
            plan.cap.as_secs(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let lines = parse_csv(&String::from_utf8_lossy(&out.stdout))?;
    lines.into_iter().next().with_context(|| format!("redis-benchmark -t {test} gave no result"))
}

/// Runs `plan`, calling `emit` with each row.
///
/// # Errors
/// A server did not start or a benchmark run failed.
pub fn run(plan: &ServerPlan, emit: &mut dyn FnMut(Row)) -> Result<()> {
    let mut turn = 0usize;
    for fsync in &plan.fsync {
        for round in 1..=plan.rounds {
            let lode_dir = plan.dir.join(format!("lode-{fsync}-{round}"));
            let redis_dir = plan.dir.join(format!("redis-{fsync}-{round}"));
            for d in [&lode_dir, &redis_dir] {
                let _ = std::fs::remove_dir_all(d);
                std::fs::create_dir_all(d).with_context(|| format!("create {}", d.display()))?;
            }
            let servers = [start_lode(plan, fsync, &lode_dir)?, start_redis(fsync, &redis_dir)?];
            let mut rows = Vec::new();
            for &(pipeline, requests) in &plan.pipelines {
                for test in &plan.tests {
                    // Alternate which server goes first, so neither always runs on a
                    // machine the other has just warmed or dirtied.
                    turn += 1;
                    for k in 0..servers.len() {
                        let s = &servers[(k + turn) % servers.len()];
                        eprintln!(
                            "server: {} appendfsync {fsync}, {test} -P {pipeline}, {requests} requests",
                            s.name
                        );
                        let requests = requests_for(test, requests);
                        let mut row = Row {
                            engine: s.name.to_string(),
                            workload: workload_name(test, pipeline),
                            durability: fsync.clone(),
                            num: requests,
                            latency_per: "request".into(),
                            threads: plan.clients,
                            round,
                            options: s.options.clone(),
                            extra: BTreeMap::new(),
                            ..Row::default()
                        };
                        // A run that fails or hits its cap is a row that says so, not the
                        // end of the comparison.
                        match benchmark(plan, s.port, test, pipeline, requests) {
                            Ok(line) => {
                                let ms = |x: Option<f64>| x.map(|v| v * 1000.0);
                                row.ops = requests;
                                row.seconds = requests as f64 / line.rps.max(1e-9);
                                row.ops_per_sec = Some(line.rps);
                                row.p50_us = ms(line.p50_ms);
                                row.p99_us = ms(line.p99_ms);
                                row.max_us = ms(line.max_ms);
                                row.status = "ok".into();
                            }
                            Err(e) => {
                                eprintln!("server: {e:#}");
                                row.status = format!("failed: {e:#}");
                            }
                        }
                        rows.push(row);
                    }
                }
            }
            for mut row in rows {
                let s = servers.iter().find(|s| s.name == row.engine).expect("a server ran it");
                row.peak_rss_bytes = procfs::peak_rss_bytes_of(s.child.id());
                if let Ok(bytes) = procfs::disk_usage(&s.dir) {
                    row.extra.insert("disk_mib".into(), bytes as f64 / f64::from(1 << 20));
                }
                emit(row);
            }
            drop(servers);
            let _ = std::fs::remove_dir_all(&lode_dir);
            let _ = std::fs::remove_dir_all(&redis_dir);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_csv_reads_redis_benchmark_7_output() {
        let text = "\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\",\"p95_latency_ms\",\"p99_latency_ms\",\"max_latency_ms\"\n\"MSET (10 keys)\",\"61050.06\",\"0.771\",\"0.160\",\"0.711\",\"1.247\",\"2.031\",\"7.999\"\n";
        let lines = parse_csv(text).expect("parse");
        assert_eq!(
            lines,
            vec![BenchLine {
                test: "MSET (10 keys)".into(),
                rps: 61050.06,
                p50_ms: Some(0.711),
                p99_ms: Some(2.031),
                max_ms: Some(7.999),
            }]
        );
    }

    #[test]
    fn parse_csv_refuses_output_without_a_header_or_a_rate() {
        assert!(parse_csv("").is_err());
        assert!(parse_csv("\"a\",\"b\"\n\"x\",\"y\"\n").is_err());
        assert!(parse_csv("\"test\",\"rps\"\n\"SET\",\"fast\"\n").is_err());
    }

    #[test]
    fn mset_gets_a_tenth_of_the_requests_as_it_sets_ten_keys_each() {
        assert_eq!(requests_for("mset", 400_000), 40_000);
        assert_eq!(requests_for("MSET", 5), 1);
        assert_eq!(requests_for("set", 400_000), 400_000);
    }

    #[test]
    fn workload_names_carry_the_pipeline_depth() {
        assert_eq!(workload_name("SET", 16), "set_p16");
        let plan = ServerPlan {
            lode: PathBuf::new(),
            fsync: vec![],
            tests: vec!["set".into(), "get".into()],
            pipelines: vec![(1, 10), (16, 10)],
            clients: 1,
            value_bytes: 1,
            keyspace: 1,
            cap: Duration::from_secs(1),
            rounds: 1,
            dir: PathBuf::new(),
        };
        assert_eq!(workload_order(&plan), ["set_p1", "get_p1", "set_p16", "get_p16"]);
    }
}
