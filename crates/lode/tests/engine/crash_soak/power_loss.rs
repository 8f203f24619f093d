//! The power-loss soak: writer threads on SimFs, the machine stopped at a random point.
//!
//! Writers own disjoint keys (`k % writers`), so each writer's keys must show a prefix of its
//! own writes, and writes are ordered across writers by a clock they share: a write that
//! survived brings every write acknowledged before it was issued (no hole), and a write
//! acknowledged before a `Sync` write, `sync`, `flush` or `compact` that returned `Ok` was
//! issued is durable.

use super::{Budget, KEYSPACE_KEYS, Knobs, State, Totals, Write, WriteId, read_all};
use lode::fs::{Fs, SimFs};
use lode::{Db, Options};
use lode_testkit::Seed;
use rand::Rng;
use rand::rngs::StdRng;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Instant;

/// A write as its writer saw it, in ticks of the clock all writers share.
#[derive(Debug, Clone)]
struct Issued {
    write: Write,
    issued: u64,
    /// `None`: the write failed (the machine had stopped); it may be there or not.
    acked: Option<u64>,
}

/// A checkpoint that returned `Ok`, and when it was called and returned.
#[derive(Debug)]
struct Taken {
    dir: PathBuf,
    called: u64,
    returned: u64,
}

/// What one writer did in a round.
#[derive(Debug, Default)]
struct WriterLog {
    writes: Vec<Issued>,
    /// When each durability promise was asked for: a `Sync` write that was acknowledged, or
    /// a `sync`, `flush` or `compact` that returned `Ok`. Every write acknowledged before
    /// then is durable.
    promises: Vec<u64>,
    checkpoints: Vec<Taken>,
    admin_ops: u64,
}

/// Where a power-loss round stops the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// After this many more mutating file-system calls (background work included).
    FsCalls(u64),
    /// Just before the round's write with this number (counted over all writers).
    BeforeWrite(u32),
    /// After every write and a clean close.
    AfterClose,
}

/// The shared parts of one round, for its writer threads.
#[derive(Debug)]
struct Round<'a> {
    db: &'a Db,
    fs: &'a SimFs,
    knobs: &'a Knobs,
    round: u32,
    stop: Stop,
    writes_per_writer: u32,
    clock: AtomicU64,
    writes_started: AtomicU32,
}

impl Round<'_> {
    fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::SeqCst)
    }

    fn writer(&self, writer: u32, mut rng: StdRng) -> WriterLog {
        let (db, knobs, round) = (self.db, self.knobs, self.round);
        let mut log = WriterLog::default();
        for seq in 0..self.writes_per_writer {
            if let Stop::BeforeWrite(n) = self.stop
                && self.writes_started.fetch_add(1, Ordering::SeqCst) == n
            {
                self.fs.crash_after(0);
            }
            if writer == 0 && rng.random_bool(knobs.admin_share) {
                let kind = rng.random_range(0..4);
                let dir = PathBuf::from(format!("/cp/{round}-{seq}"));
                let called = self.tick();
                let done = match kind {
                    0 => db.flush(),
                    1 => db.compact(),
                    2 => db.checkpoint(&dir),
                    _ => db.sync(),
                };
                let returned = self.tick();
                log.admin_ops += 1;
                match done {
                    Ok(()) if kind == 2 => log.checkpoints.push(Taken { dir, called, returned }),
                    Ok(()) => log.promises.push(called),
                    Err(_) => break,
                }
            }
            let id = WriteId { round, writer, seq };
            let write = Write::draw(&mut rng, knobs, id, |rng| knobs.owned_key(rng, writer));
            let issued = self.tick();
            let ok = db.write_with(write.batch(), write.durability()).is_ok();
            let acked = ok.then(|| self.tick());
            if ok && write.sync {
                log.promises.push(issued);
            }
            log.writes.push(Issued { write, issued, acked });
            if !ok {
                break;
            }
        }
        log
    }
}

/// The shortest and the longest prefix of `history`, at least `required` long, that take
/// `base` to `got`. Matching a prefix means no write is there without every write before it,
/// and every batch is all or nothing.
fn matching_prefix(
    base: &[State],
    history: &[Issued],
    required: usize,
    got: &[State],
) -> Result<(usize, usize), String> {
    let mut model = base.to_vec();
    let mut wrong = model.iter().zip(got).filter(|(m, g)| m != g).count();
    let mut at_required = None;
    let mut matched: Option<(usize, usize)> = None;
    for len in 0..=history.len() {
        if len > 0 {
            for &(k, state) in &history[len - 1].write.ops {
                let k = k as usize;
                wrong -= usize::from(model[k] != got[k]);
                model[k] = state;
                wrong += usize::from(model[k] != got[k]);
            }
        }
        if len == required {
            at_required = Some(model.clone());
        }
        if len >= required && wrong == 0 {
            matched = Some((matched.map_or(len, |m| m.0), len));
        }
    }
    if let Some(m) = matched {
        return Ok(m);
    }
    // Explain: a key whose state no prefix from `required` on gives it, or else a hole.
    let durable = at_required.expect("required <= history.len()");
    for (k, got) in got.iter().enumerate() {
        let later = history[required..]
            .iter()
            .flat_map(|i| &i.write.ops)
            .any(|(o, s)| *o as usize == k && s == got);
        if durable[k] != *got && !later {
            return Err(format!(
                "key {k} holds {got:?}, which no write after the durable point ({required} of \
                 {} writes) stored; durable state {:?}",
                history.len(),
                durable[k]
            ));
        }
    }
    Err(format!(
        "every key holds a state some prefix gives it, but no single prefix of at least \
         {required} of {} writes gives them all: a torn batch or a hole",
        history.len()
    ))
}

/// Checks that `got` shows, on each writer's keys, a prefix of that writer's writes between
/// `required[w]` and `limit[w]` long, and that the prefixes leave no hole: when a write is
/// there, so is every write acknowledged before it was issued. Returns the shortest prefixes.
fn check_prefixes(
    base: &[State],
    logs: &[WriterLog],
    required: &[usize],
    limit: &[usize],
    got: &[State],
) -> Result<Vec<usize>, String> {
    let writers = logs.len();
    let owned = |states: &[State], w: usize| -> Vec<State> {
        states.iter().enumerate().map(|(k, s)| if k % writers == w { *s } else { None }).collect()
    };
    let mut spans = Vec::with_capacity(writers);
    for (w, log) in logs.iter().enumerate() {
        let history = &log.writes[..limit[w]];
        let span = matching_prefix(&owned(base, w), history, required[w], &owned(got, w))
            .map_err(|e| format!("writer {w}: {e}"))?;
        spans.push(span);
    }
    // The longest prefix is the most another writer's survivor can demand (prefixes of
    // different lengths that show the same state cannot be told apart).
    for (a, log) in logs.iter().enumerate() {
        let Some(last) = spans[a].0.checked_sub(1) else { continue };
        let issued = log.writes[last].issued;
        for (b, other) in logs.iter().enumerate() {
            let before = other.writes.iter().take_while(|i| i.acked.is_some_and(|t| t < issued));
            let needed = before.count();
            if spans[b].1 < needed {
                return Err(format!(
                    "a hole: writer {a}'s write {last} is there, but writer {b} shows at most \
                     {} of its writes while {needed} were acknowledged before that write was \
                     issued",
                    spans[b].1
                ));
            }
        }
    }
    Ok(spans.iter().map(|s| s.0).collect())
}

/// Writes of each writer acknowledged before tick `t`.
fn acked_before(logs: &[WriterLog], t: u64) -> Vec<usize> {
    logs.iter()
        .map(|l| l.writes.iter().take_while(|i| i.acked.is_some_and(|a| a < t)).count())
        .collect()
}

#[test]
fn soak_with_random_options_recovers_a_prefix_with_every_synced_write() {
    let seed = Seed::new("power_loss::soak");
    let budget = Budget::from_env(40);
    let started = Instant::now();
    let fs = SimFs::new();
    let mut dir = PathBuf::from("/db");
    let mut ledger: Vec<State> = vec![None; KEYSPACE_KEYS as usize];
    let mut totals = Totals::default();
    let mut round = 0;
    while budget.more(round) {
        let mut rng = seed.rng(u64::from(round));
        let knobs = Knobs::draw(&mut rng);
        let writes = rng.random_range(1..if budget.long() { 4_000 } else { 500 });
        let stop = match rng.random_range(0..5) {
            0..3 => Stop::FsCalls(rng.random_range(0..u64::from(writes) * 3)),
            3 => Stop::BeforeWrite(rng.random_range(0..writes)),
            _ => Stop::AfterClose,
        };
        // Some rounds lose power again inside the recovery (replay, SST, MANIFEST, cleanup).
        let recovery_stop = rng.random_bool(0.25).then(|| rng.random_range(0..40u64));
        // Some rounds go on from their last checkpoint, as a restore would.
        let restore = rng.random_bool(0.3);
        let check_knobs = Knobs::draw(&mut rng);
        let fail = |what: String| -> ! {
            panic!(
                "round {round}: {what}\nstop {stop:?} then {recovery_stop:?}\nwrite \
                 {knobs:?}\ncheck {check_knobs:?}"
            )
        };
        let with_fs = |o: Options| o.fs(Arc::new(fs.clone()));

        let db =
            Db::open(&dir, with_fs(knobs.options())).unwrap_or_else(|e| fail(format!("open: {e}")));
        if let Stop::FsCalls(n) = stop {
            fs.crash_after(n);
        }
        let shared = Round {
            db: &db,
            fs: &fs,
            knobs: &knobs,
            round,
            stop,
            writes_per_writer: writes.div_ceil(knobs.writers),
            clock: AtomicU64::new(0),
            writes_started: AtomicU32::new(0),
        };
        let logs: Vec<WriterLog> = std::thread::scope(|s| {
            let threads: Vec<_> = (0..knobs.writers)
                .map(|w| {
                    let rng = seed.rng(1 << 40 | u64::from(round) << 8 | u64::from(w));
                    let shared = &shared;
                    s.spawn(move || shared.writer(w, rng))
                })
                .collect();
            threads.into_iter().map(|t| t.join().expect("writer")).collect()
        });
        drop(db);
        fs.crash(seed.value ^ u64::from(round));
        if let Some(n) = recovery_stop {
            fs.crash_after(n);
            drop(Db::open(&dir, with_fs(knobs.options()))); // fails if the stop comes first
            fs.crash(!seed.value ^ u64::from(round));
            totals.recovery_crashes += 1;
        }

        let db = Db::open(&dir, with_fs(check_knobs.options()))
            .unwrap_or_else(|e| fail(format!("reopen after power loss: {e}")));
        let got = read_all(&db).unwrap_or_else(|e| fail(e));
        drop(db);
        let durable_at = logs.iter().flat_map(|l| &l.promises).max().map_or(0, |t| t + 1);
        let required: Vec<usize> = acked_before(&logs, durable_at)
            .into_iter()
            .zip(&logs)
            .map(|(n, log)| {
                let last_sync = log.writes.iter().rposition(|i| i.write.sync && i.acked.is_some());
                n.max(last_sync.map_or(0, |i| i + 1))
            })
            .collect();
        let all: Vec<usize> = logs.iter().map(|l| l.writes.len()).collect();
        let kept = check_prefixes(&ledger, &logs, &required, &all, &got)
            .unwrap_or_else(|e| fail(format!("after power loss: {e}")));
        for (log, kept) in logs.iter().zip(&kept) {
            let acked = log.writes.iter().filter(|i| i.acked.is_some()).count();
            totals.lost_buffered_writes += acked.saturating_sub(*kept) as u64;
            totals.acked_writes += acked as u64;
            let ops = log.writes.iter().filter(|i| i.acked.is_some()).map(|i| i.write.ops.len());
            totals.acked_key_ops += ops.sum::<usize>() as u64;
            totals.admin_ops += log.admin_ops;
        }

        let mut next = got;
        let taken = logs.iter().flat_map(|l| &l.checkpoints).collect::<Vec<_>>();
        for (i, cp) in taken.iter().enumerate() {
            let db = Db::open(&cp.dir, with_fs(check_knobs.options()))
                .unwrap_or_else(|e| fail(format!("open of checkpoint {:?}: {e}", cp.dir)));
            let in_cp = read_all(&db).unwrap_or_else(|e| fail(format!("checkpoint: {e}")));
            drop(db);
            // It holds every write acknowledged before the call, and none issued after it
            // returned.
            let required = acked_before(&logs, cp.called);
            let limit: Vec<usize> = logs
                .iter()
                .map(|l| l.writes.iter().take_while(|w| w.issued < cp.returned).count())
                .collect();
            check_prefixes(&ledger, &logs, &required, &limit, &in_cp)
                .unwrap_or_else(|e| fail(format!("checkpoint {:?}: {e}", cp.dir)));
            totals.checkpoints_checked += 1;
            if restore && i + 1 == taken.len() {
                remove_files(&fs, &dir);
                dir = cp.dir.clone();
                next = in_cp;
                totals.restores += 1;
            } else {
                remove_files(&fs, &cp.dir);
            }
        }
        totals.rounds += 1;
        totals.crashes += 1;
        ledger = next;
        round += 1;
    }
    eprintln!("power-loss soak, seed {}: {totals:?} in {:?}", seed.value, started.elapsed());
}

fn remove_files(fs: &SimFs, dir: &Path) {
    for name in fs.list(dir).unwrap_or_default() {
        let _ = fs.remove(&dir.join(name));
    }
}
