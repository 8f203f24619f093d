//! KRANGE throughput: pages through every key of a running `lode serve`, forward then reverse,
//! and prints keys per second (client wall time, and the server's time in the command from
//! INFO commandstats). With `--load` it first fills the store with `--keys` 16-byte keys
//! (`key:000000000042`) and 8-byte values, in a scrambled order, by pipelined MSETs.
//!
//! ```text
//! lode serve --port 7001 --dir /tmp/krange-data &
//! cargo run --release -p lode-bench --example krange_scan -- --port 7001 --keys 10000000 --load
//! ```
//!
//! It talks to 127.0.0.1 only. Each walk checks the keys come in strict order and that it saw
//! exactly `--keys` of them.

use anyhow::{Context, Result, bail, ensure};
use clap::Parser;
use std::time::{Duration, Instant};

/// KRANGE throughput over a running server on 127.0.0.1.
#[derive(Debug, Parser)]
struct Args {
    /// The server's port on 127.0.0.1.
    #[arg(long)]
    port: u16,
    /// Keys the store holds (and loads, with --load).
    #[arg(long, default_value_t = 10_000_000)]
    keys: u64,
    /// Load the keys first.
    #[arg(long)]
    load: bool,
    /// KRANGE's LIMIT: keys per call.
    #[arg(long, default_value_t = 1000)]
    limit: usize,
    /// Keys per MSET when loading.
    #[arg(long, default_value_t = 1000)]
    batch: u64,
    /// MSETs in flight per round trip when loading.
    #[arg(long, default_value_t = 16)]
    pipeline: u64,
}

fn key(i: u64) -> String {
    format!("key:{i:012}")
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Fills the store with keys 0..n in the order i * step mod n (a permutation: step is
/// coprime with n), so the engine sees random inserts rather than an append.
fn load(con: &mut redis::Connection, args: &Args) -> Result<()> {
    let n = args.keys;
    let step = (1_000_003..).find(|s| gcd(*s, n) == 1).expect("some step is coprime with n");
    let started = Instant::now();
    let mut next = 0u64;
    while next < n {
        let mut pipe = redis::pipe();
        for _ in 0..args.pipeline {
            if next >= n {
                break;
            }
            let cmd = pipe.cmd("MSET");
            for i in next..(next + args.batch).min(n) {
                let k = ((u128::from(i) * u128::from(step)) % u128::from(n)) as u64;
                cmd.arg(key(k)).arg(format!("v{:07}", k % 10_000_000));
            }
            pipe.ignore();
            next = (next + args.batch).min(n);
        }
        let (): () = pipe.query(con).context("MSET")?;
    }
    let secs = started.elapsed().as_secs_f64();
    println!("loaded {n} keys in {secs:.1} s ({:.0} keys/s)", n as f64 / secs);
    Ok(())
}

/// Microseconds the server has spent in KRANGE (INFO commandstats).
fn krange_usec(con: &mut redis::Connection) -> Result<u64> {
    let info: String = redis::cmd("INFO").arg("commandstats").query(con)?;
    let Some(line) = info.lines().find(|l| l.starts_with("cmdstat_krange:")) else { return Ok(0) };
    let field = line.split(',').find_map(|f| f.strip_prefix("usec=")).context("usec field")?;
    Ok(field.parse()?)
}

/// One walk over every key; returns (keys, calls, wall time).
fn walk(con: &mut redis::Connection, limit: usize, rev: bool) -> Result<(u64, u64, Duration)> {
    let (mut bound, end) = if rev { (b"+".to_vec(), "-") } else { (b"-".to_vec(), "+") };
    let (mut keys, mut calls) = (0u64, 0u64);
    let mut last: Option<Vec<u8>> = None;
    let started = Instant::now();
    loop {
        let mut cmd = redis::cmd("KRANGE");
        cmd.arg(&bound).arg(end).arg("LIMIT").arg(limit);
        if rev {
            cmd.arg("REV");
        }
        let (next, page): (Option<Vec<u8>>, Vec<Vec<u8>>) = cmd.query(con).context("KRANGE")?;
        calls += 1;
        for k in page {
            if let Some(prev) = &last {
                let ordered = if rev { k < *prev } else { k > *prev };
                ensure!(ordered, "out of order: {prev:?} then {k:?}");
            }
            last = Some(k);
            keys += 1;
        }
        match next {
            Some(b) => bound = b,
            None => break,
        }
    }
    Ok((keys, calls, started.elapsed()))
}

fn main() -> Result<()> {
    let args = Args::parse();
    let url = format!("redis://127.0.0.1:{}/", args.port);
    let mut con = redis::Client::open(url)?.get_connection().context("connect")?;
    if args.load {
        load(&mut con, &args)?;
    }
    let dbsize: u64 = redis::cmd("DBSIZE").query(&mut con)?;
    if dbsize != args.keys {
        bail!(
            "the store holds {dbsize} keys, not {}: run with --load on an empty store",
            args.keys
        );
    }
    for rev in [false, true] {
        let before = krange_usec(&mut con)?;
        let (keys, calls, wall) = walk(&mut con, args.limit, rev)?;
        let server = Duration::from_micros(krange_usec(&mut con)? - before);
        ensure!(keys == args.keys, "walked {keys} keys of {}", args.keys);
        println!(
            "{:7}: {keys} keys in {calls} calls of LIMIT {}: {:.2} s, {:.0} keys/s; \
             server time in KRANGE {:.2} s, {:.0} keys/s",
            if rev { "reverse" } else { "forward" },
            args.limit,
            wall.as_secs_f64(),
            keys as f64 / wall.as_secs_f64(),
            server.as_secs_f64(),
            keys as f64 / server.as_secs_f64(),
        );
    }
    Ok(())
}
