//! The SIGKILL soak: a child process writes, the parent kills it and checks the ledger.

use super::{Budget, KEYSPACE_KEYS, Knobs, State, Totals, Write, WriteId, read_all};
use lode::Db;
use lode_testkit::Seed;
use rand::Rng;
use rand::rngs::StdRng;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

/// The child's base directory (database in `db/`, checkpoints in `cp/`), round and write budget.
const CHILD_DIR_VAR: &str = "LODE_CRASH_SOAK_CHILD_DIR";
const CHILD_ROUND_VAR: &str = "LODE_CRASH_SOAK_CHILD_ROUND";
const CHILD_WRITES_VAR: &str = "LODE_CRASH_SOAK_CHILD_WRITES";
/// The child stops by itself after this long, if nobody kills it.
const CHILD_SECONDS_MAX: u64 = 60;
/// A child left to finish must have closed by then (its writes are bounded): else it hung.
const CHILD_FINISH_SECONDS_MAX: u64 = 120;

/// After a process kill: each key holds the state its last acknowledged write left or the one
/// a write in flight gives it, and each write in flight is there whole or not at all.
fn check_after_kill(acked: &[State], in_flight: &[&Write], got: &[State]) -> Result<(), String> {
    // Writers own disjoint keys and have one write in flight each: one candidate per key.
    let mut pending: Vec<Option<(WriteId, State)>> = vec![None; acked.len()];
    for w in in_flight {
        for &(k, state) in &w.ops {
            pending[k as usize] = Some((w.id, state));
        }
    }
    for (k, (got, acked)) in got.iter().zip(acked).enumerate() {
        if got != acked && pending[k].is_none_or(|(_, state)| state != *got) {
            return Err(format!(
                "key {k} holds {got:?}; its last acknowledged write left {acked:?}, and the \
                 write in flight on it, if any: {:?}",
                pending[k]
            ));
        }
    }
    for w in in_flight {
        // Each key the write changes shows the write or the acknowledged state (checked above).
        let changed: Vec<&(u32, State)> =
            w.ops.iter().filter(|(k, s)| acked[*k as usize] != *s).collect();
        let shown = changed.iter().filter(|(k, s)| got[*k as usize] == *s).count();
        if shown != 0 && shown != changed.len() {
            return Err(format!(
                "write {:?} is there in part: {shown} of the {} keys it changes",
                w.id,
                changed.len()
            ));
        }
    }
    Ok(())
}

/// When the parent kills the child.
#[derive(Debug, Clone, Copy)]
enum Trigger {
    /// After this many acks.
    Acks(u64),
    /// When the `nth` flush, compaction, checkpoint or sync has started, and `lines_after`
    /// more reports have come.
    Admin { nth: u64, lines_after: u64 },
    /// Only at the plan's time.
    Time,
    /// Never: the child writes its budget and closes the database.
    Finish,
}

#[derive(Debug, Clone, Copy)]
struct KillPlan {
    trigger: Trigger,
    /// Time from spawn at which the child is killed if the trigger has not fired.
    after: Duration,
    /// Writes per writer the child issues before closing the database.
    writes: u32,
    /// Go on from the child's last finished checkpoint, as a restore would.
    restore: bool,
}

impl KillPlan {
    fn draw(rng: &mut StdRng, long: bool) -> KillPlan {
        let ms_max = if long { 5_000 } else { 600 };
        let trigger = match rng.random_range(0..10) {
            0..4 => Trigger::Acks(rng.random_range(1..if long { 50_000 } else { 2_000 })),
            4..7 => {
                Trigger::Admin { nth: rng.random_range(1..4), lines_after: rng.random_range(0..20) }
            }
            7..9 => Trigger::Time,
            _ => Trigger::Finish,
        };
        let writes = match trigger {
            Trigger::Finish => rng.random_range(1..if long { 3_000 } else { 300 }),
            _ => u32::MAX,
        };
        let after = Duration::from_millis(rng.random_range(1..ms_max));
        KillPlan { trigger, after, writes, restore: rng.random_bool(0.3) }
    }

    fn due(&self, run: &ChildRun) -> bool {
        match self.trigger {
            Trigger::Acks(n) => run.acks >= n,
            Trigger::Admin { nth, lines_after } => {
                run.admin_started >= nth && run.lines - run.lines_at_admin >= lines_after
            }
            Trigger::Time | Trigger::Finish => false,
        }
    }
}

/// A checkpoint the child started: the states each key may hold in it (the acknowledged one
/// when it started, and any written since).
#[derive(Debug)]
struct CheckpointWatch {
    dir: PathBuf,
    allowed: Vec<Vec<State>>,
}

/// What the parent has learnt from the child's reports.
#[derive(Debug)]
struct ChildRun {
    round: u32,
    base: PathBuf,
    opened: bool,
    ended: bool,
    error: Option<String>,
    /// Per writer, the write it reported and has not had acknowledged.
    in_flight: Vec<Option<Write>>,
    lines: u64,
    acks: u64,
    key_ops: u64,
    admin_started: u64,
    lines_at_admin: u64,
    running: Option<CheckpointWatch>,
    finished: Option<CheckpointWatch>,
}

impl ChildRun {
    fn new(round: u32, base: &Path, writers: u32) -> ChildRun {
        ChildRun {
            round,
            base: base.to_path_buf(),
            opened: false,
            ended: false,
            error: None,
            in_flight: vec![None; writers as usize],
            lines: 0,
            acks: 0,
            key_ops: 0,
            admin_started: 0,
            lines_at_admin: 0,
            running: None,
            finished: None,
        }
    }

    /// Takes one report into account, moving acknowledged writes into `acked`.
    fn apply(&mut self, line: &str, acked: &mut [State]) -> Result<(), String> {
        self.lines += 1;
        let fields: Vec<&str> = line.split_whitespace().collect();
        let bad = || format!("unreadable report {line:?}");
        match fields.first().copied() {
            Some("open") => self.opened = true,
            Some("end") => self.ended = true,
            Some("E") => self.error = Some(line.to_string()),
            Some("W") => {
                let w = Write::parse(self.round, &fields).ok_or_else(bad)?;
                if let Some(watch) = &mut self.running {
                    for &(k, state) in &w.ops {
                        watch.allowed[k as usize].push(state);
                    }
                }
                let slot = self.in_flight.get_mut(w.id.writer as usize).ok_or_else(bad)?;
                if slot.replace(w).is_some() {
                    return Err(format!("a second write in flight: {line:?}"));
                }
            }
            Some("A") => {
                let (writer, seq): (usize, u32) = match (fields.get(1), fields.get(2)) {
                    (Some(w), Some(s)) => {
                        (w.parse().map_err(|_| bad())?, s.parse().map_err(|_| bad())?)
                    }
                    _ => return Err(bad()),
                };
                let w = self.in_flight.get_mut(writer).and_then(Option::take).ok_or_else(bad)?;
                if w.id.seq != seq {
                    return Err(format!("ack {line:?} for a write not in flight: {:?}", w.id));
                }
                for &(k, state) in &w.ops {
                    acked[k as usize] = state;
                }
                self.acks += 1;
                self.key_ops += w.ops.len() as u64;
            }
            Some("B") => {
                self.admin_started += 1;
                self.lines_at_admin = self.lines;
                if fields.get(1) == Some(&"checkpoint") {
                    let n: u32 = fields.get(2).and_then(|n| n.parse().ok()).ok_or_else(bad)?;
                    let mut allowed: Vec<Vec<State>> = acked.iter().map(|s| vec![*s]).collect();
                    for w in self.in_flight.iter().flatten() {
                        for &(k, state) in &w.ops {
                            allowed[k as usize].push(state);
                        }
                    }
                    self.running = Some(CheckpointWatch {
                        dir: checkpoint_dir(&self.base, self.round, n),
                        allowed,
                    });
                }
            }
            Some("D") if fields.get(1) == Some(&"checkpoint") => {
                self.finished = Some(self.running.take().ok_or_else(bad)?);
            }
            _ => {} // the test harness's own lines
        }
        Ok(())
    }
}

fn checkpoint_dir(base: &Path, round: u32, n: u32) -> PathBuf {
    base.join("cp").join(format!("{round}-{n}"))
}

fn writer_stream(round: u32, writer: u32) -> u64 {
    1 << 40 | u64::from(round) << 8 | u64::from(writer)
}

/// The child's body; a no-op unless the parent started this binary as a child.
#[test]
fn soak_child() {
    let (Ok(base), Ok(round), Ok(writes)) = (
        std::env::var(CHILD_DIR_VAR),
        std::env::var(CHILD_ROUND_VAR),
        std::env::var(CHILD_WRITES_VAR),
    ) else {
        return;
    };
    let base = PathBuf::from(base);
    let round: u32 = round.parse().expect("round");
    let writes: u32 = writes.parse().expect("writes");
    let seed = Seed::new("sigkill::soak_child");
    // The harness has printed `test ... ` without a newline; end that line so reports start one.
    println!();
    let knobs = Knobs::draw(&mut seed.rng(u64::from(round)));
    let db = Db::open(base.join("db"), knobs.options()).expect("child open");
    println!("open");
    let deadline = Instant::now() + Duration::from_secs(CHILD_SECONDS_MAX);
    std::thread::scope(|s| {
        for writer in 0..knobs.writers {
            let (db, knobs, seed, base) = (&db, &knobs, &seed, &base);
            s.spawn(move || {
                let mut rng = seed.rng(writer_stream(round, writer));
                let mut admin = 0;
                for seq in 0..writes {
                    if Instant::now() >= deadline {
                        return;
                    }
                    if writer == 0 && rng.random_bool(knobs.admin_share) {
                        let kind =
                            ["flush", "compact", "checkpoint", "sync"][rng.random_range(0..4)];
                        println!("B {kind} {admin}");
                        let done = match kind {
                            "flush" => db.flush(),
                            "compact" => db.compact(),
                            "checkpoint" => db.checkpoint(checkpoint_dir(base, round, admin)),
                            _ => db.sync(),
                        };
                        if let Err(e) = done {
                            println!("E {kind} failed: {e}");
                            return;
                        }
                        println!("D {kind} {admin}");
                        admin += 1;
                    }
                    let id = WriteId { round, writer, seq };
                    let w = Write::draw(&mut rng, knobs, id, |rng| knobs.owned_key(rng, writer));
                    println!("{}", w.line());
                    match db.write_with(w.batch(), w.durability()) {
                        Ok(()) => println!("A {writer} {seq}"),
                        Err(e) => {
                            println!("E write {writer} {seq} failed: {e}");
                            return;
                        }
                    }
                }
            });
        }
    });
    drop(db);
    println!("end");
}

#[test]
fn soak_with_random_options_keeps_every_acknowledged_write() {
    let seed = Seed::new("sigkill::soak");
    let budget = Budget::from_env(8);
    let started = Instant::now();
    let tmp = tempfile::tempdir().expect("tempdir");
    let base = tmp.path();
    let exe = std::env::current_exe().expect("test binary");
    let mut acked: Vec<State> = vec![None; KEYSPACE_KEYS as usize];
    let mut totals = Totals::default();
    let mut round = 0;
    while budget.more(round) {
        let mut rng = seed.rng(u64::from(round));
        let knobs = Knobs::draw(&mut rng); // the child draws the same
        let plan = KillPlan::draw(&mut rng, budget.long());
        let check_knobs = Knobs::draw(&mut rng);
        let fail = |what: String| -> ! {
            panic!("round {round}: {what}\nplan {plan:?}\nchild {knobs:?}\ncheck {check_knobs:?}")
        };

        let stderr_path = base.join("child.stderr");
        let stderr = std::fs::File::create(&stderr_path).expect("child stderr file");
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_soak::sigkill::soak_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_DIR_VAR, base)
            .env(CHILD_ROUND_VAR, round.to_string())
            .env(CHILD_WRITES_VAR, plan.writes.to_string())
            .env("LODE_SEED", seed.value.to_string())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn child");
        let spawned = Instant::now();
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });

        let mut run = ChildRun::new(round, base, knobs.writers);
        let kill_at = spawned
            + match plan.trigger {
                Trigger::Finish => Duration::from_secs(CHILD_FINISH_SECONDS_MAX),
                _ => plan.after,
            };
        let mut killed = false;
        loop {
            let now = Instant::now();
            if now >= kill_at {
                killed = true;
                break;
            }
            match rx.recv_timeout(kill_at - now) {
                Ok(line) => {
                    if let Err(e) = run.apply(&line, &mut acked) {
                        let _ = child.kill(); // not left running after the test
                        fail(e);
                    }
                    if plan.due(&run) {
                        killed = true;
                        break;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        if killed {
            child.kill().expect("SIGKILL");
        }
        let status = child.wait().expect("reap child");
        // Reports written before the child died are still in the pipe.
        for line in rx.iter() {
            run.apply(&line, &mut acked).unwrap_or_else(|e| fail(e));
        }
        reader.join().expect("reader");
        let child_stderr = || std::fs::read_to_string(&stderr_path).unwrap_or_default();
        if let Some(error) = &run.error {
            fail(format!("the child reported {error}\n{}", child_stderr()));
        }
        if matches!(plan.trigger, Trigger::Finish) && (killed || !run.ended) {
            fail(format!("the child did not finish its {} writes per writer in time", plan.writes));
        }
        let finished = status.success() && run.ended;
        if !killed && !finished {
            fail(format!("the child exited by itself ({status}):\n{}", child_stderr()));
        }
        if finished && run.in_flight.iter().any(Option::is_some) {
            fail(format!("the child closed with writes unacknowledged: {:?}", run.in_flight));
        }

        let db = Db::open(base.join("db"), check_knobs.options())
            .unwrap_or_else(|e| fail(format!("reopen after the kill: {e}")));
        let got = read_all(&db).unwrap_or_else(|e| fail(e));
        let in_flight: Vec<&Write> = run.in_flight.iter().flatten().collect();
        check_after_kill(&acked, &in_flight, &got).unwrap_or_else(|e| fail(e));
        drop(db);
        let mut next = got.clone();
        if let Some(watch) = &run.finished {
            let cp = Db::open(&watch.dir, check_knobs.options())
                .unwrap_or_else(|e| fail(format!("open of checkpoint {:?}: {e}", watch.dir)));
            let in_cp = read_all(&cp).unwrap_or_else(|e| fail(format!("checkpoint: {e}")));
            for (k, state) in in_cp.iter().enumerate() {
                if !watch.allowed[k].contains(state) {
                    fail(format!(
                        "checkpoint {:?}: key {k} holds {state:?}, allowed {:?}",
                        watch.dir, watch.allowed[k]
                    ));
                }
            }
            totals.checkpoints_checked += 1;
            drop(cp);
            if plan.restore {
                std::fs::remove_dir_all(base.join("db")).expect("remove the database");
                std::fs::rename(&watch.dir, base.join("db")).expect("move the checkpoint");
                next = in_cp;
                totals.restores += 1;
            }
        }
        let _ = std::fs::remove_dir_all(base.join("cp"));

        totals.rounds += 1;
        totals.crashes += u64::from(killed);
        totals.recovery_crashes += u64::from(killed && !run.opened);
        totals.clean_exits += u64::from(!killed);
        totals.acked_writes += run.acks;
        totals.acked_key_ops += run.key_ops;
        totals.in_flight_at_kill += in_flight.len() as u64;
        totals.in_flight_found += in_flight
            .iter()
            .filter(|w| {
                w.ops.iter().any(|(k, s)| got[*k as usize] == *s && acked[*k as usize] != *s)
            })
            .count() as u64;
        totals.admin_ops += run.admin_started;
        acked = next;
        round += 1;
    }
    eprintln!("sigkill soak, seed {}: {totals:?} in {:?}", seed.value, started.elapsed());
}
