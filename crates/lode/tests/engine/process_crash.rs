//! A real process killed with SIGKILL: a child writes batches with `Durability::Sync` and
//! reports each ack on stdout; the parent kills it at a random ack count and checks that every
//! acknowledged batch is there after reopen, and that no batch is there in part.

use lode::{Db, Durability, Options, WriteBatch};
use lode_testkit::{Seed, iterations};
use rand::Rng;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_DIR: &str = "LODE_CRASH_CHILD_DIR";
const CHILD_ROUND: &str = "LODE_CRASH_CHILD_ROUND";
const KEYS_PER_BATCH: usize = 4;
/// The child stops by itself after this many batches or this long, if nobody kills it.
const CHILD_BATCHES_MAX: u32 = 50_000;
const CHILD_SECONDS_MAX: u64 = 60;

fn batch_key(round: u32, batch: u32, j: usize) -> String {
    format!("r{round:02}-b{batch:06}-{j}")
}

/// The child's body; a no-op unless the parent started this binary as a child.
#[test]
fn process_crash_child() {
    let (Ok(dir), Ok(round)) = (std::env::var(CHILD_DIR), std::env::var(CHILD_ROUND)) else {
        return;
    };
    let round: u32 = round.parse().expect("round");
    let db = Db::open(&dir, Options::default().memtable_size(64 << 10)).expect("child open");
    let started = Instant::now();
    for batch in 0..CHILD_BATCHES_MAX {
        if started.elapsed() > Duration::from_secs(CHILD_SECONDS_MAX) {
            break;
        }
        let mut b = WriteBatch::new();
        for j in 0..KEYS_PER_BATCH {
            b.put(
                batch_key(round, batch, j),
                format!("{batch}-{}", "v".repeat(batch as usize % 200)),
            );
        }
        db.write_with(b, Durability::Sync).expect("child write");
        println!("ack {batch}");
    }
}

#[test]
fn process_killed_with_sigkill_keeps_every_acknowledged_batch() {
    let seed = Seed::new("process_killed_with_sigkill");
    let mut rng = seed.rng(0);
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = std::env::current_exe().expect("test binary");
    for round in 0..iterations(4) as u32 {
        let kill_after: u32 = rng.random_range(1..400);
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "process_crash::process_crash_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR, dir.path())
            .env(CHILD_ROUND, round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("stdout");
        let mut acked: Option<u32> = None;
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("read child");
            if let Some(n) = line.strip_prefix("ack ") {
                acked = Some(n.parse().expect("ack number"));
                if acked >= Some(kill_after) {
                    break;
                }
            }
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        let acked = acked.expect("the child acknowledged nothing");

        let db = Db::open(dir.path(), Options::default()).expect("reopen after kill");
        let mut batch = 0;
        loop {
            let present: Vec<bool> = (0..KEYS_PER_BATCH)
                .map(|j| db.get(batch_key(round, batch, j)).expect("get").is_some())
                .collect();
            if present.iter().all(|p| !p) {
                break;
            }
            assert!(
                present.iter().all(|p| *p),
                "round {round}: batch {batch} is there only in part"
            );
            batch += 1;
        }
        assert!(
            batch > acked,
            "round {round}: acked up to {acked} but only {batch} batches survived"
        );
        let stray = db.prefix(format!("r{round:02}-")).count();
        assert_eq!(
            stray,
            batch as usize * KEYS_PER_BATCH,
            "round {round}: a batch after a gap survived"
        );
    }
}
