//! The power-loss soak: one writer on SimFs, the machine stopped at a random point.

use super::{Budget, KEYSPACE_KEYS, Knobs, State, Totals, Write, WriteId, read_all};
use lode::fs::{Fs, SimFs};
use lode::{Db, Options};
use lode_testkit::Seed;
use rand::Rng;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// After power loss: the length of the shortest prefix of `history`, at least `required`
/// long, that takes `base` to `got`. Matching a prefix means no acknowledged write is there
/// without every write before it, and every batch is all or nothing.
fn matching_prefix(
    base: &[State],
    history: &[Write],
    required: usize,
    got: &[State],
) -> Result<usize, String> {
    let mut model = base.to_vec();
    let mut wrong = model.iter().zip(got).filter(|(m, g)| m != g).count();
    let mut at_required = None;
    for len in 0..=history.len() {
        if len > 0 {
            for &(k, state) in &history[len - 1].ops {
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
            return Ok(len);
        }
    }
    // Explain: a key whose state no prefix from `required` on gives it, or else a hole.
    let durable = at_required.expect("required <= history.len()");
    for (k, got) in got.iter().enumerate() {
        let later = history[required..]
            .iter()
            .flat_map(|w| &w.ops)
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

/// Where a power-loss round stops the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// After this many more mutating file-system calls (background work included).
    FsCalls(u64),
    /// Just before this write.
    BeforeWrite(u32),
    /// After every write and a clean close.
    AfterClose,
}

#[test]
fn soak_with_random_options_recovers_a_prefix_with_every_synced_write() {
    let seed = Seed::new("power_loss::soak");
    let budget = Budget::from_env(40);
    let started = Instant::now();
    let fs = SimFs::new();
    let dir = Path::new("/db");
    let mut ledger: Vec<State> = vec![None; KEYSPACE_KEYS as usize];
    let mut totals = Totals::default();
    let mut round = 0;
    while budget.more(round) {
        let mut rng = seed.rng(u64::from(round));
        let mut knobs = Knobs::draw(&mut rng);
        knobs.writers = 1;
        let writes = rng.random_range(1..if budget.long() { 4_000 } else { 500 });
        let stop = match rng.random_range(0..5) {
            0..3 => Stop::FsCalls(rng.random_range(0..u64::from(writes) * 3)),
            3 => Stop::BeforeWrite(rng.random_range(0..writes)),
            _ => Stop::AfterClose,
        };
        // Some rounds lose power again inside the recovery (replay, SST, MANIFEST, cleanup).
        let recovery_stop = rng.random_bool(0.25).then(|| rng.random_range(0..40u64));
        let check_knobs = Knobs::draw(&mut rng);
        let fail = |what: String| -> ! {
            panic!(
                "round {round}: {what}\nstop {stop:?} then {recovery_stop:?}\nwrite {knobs:?}\ncheck {check_knobs:?}"
            )
        };
        let with_fs = |o: Options| o.fs(Arc::new(fs.clone()));

        let db =
            Db::open(dir, with_fs(knobs.options())).unwrap_or_else(|e| fail(format!("open: {e}")));
        if let Stop::FsCalls(n) = stop {
            fs.crash_after(n);
        }
        let mut model = ledger.clone();
        let mut history: Vec<Write> = Vec::new();
        let mut required = 0; // writes [0, required) must survive
        let mut acked_writes = 0usize;
        let mut checkpoints: Vec<(PathBuf, Vec<State>)> = Vec::new();
        for seq in 0..writes {
            if stop == Stop::BeforeWrite(seq) {
                fs.crash_after(0);
            }
            if rng.random_bool(knobs.admin_share) {
                let kind = rng.random_range(0..4);
                let cp = PathBuf::from(format!("/cp/{round}-{seq}"));
                let done = match kind {
                    0 => db.flush(),
                    1 => db.compact(),
                    2 => db.checkpoint(&cp),
                    _ => db.sync(),
                };
                totals.admin_ops += 1;
                match done {
                    Ok(()) if kind == 2 => checkpoints.push((cp, model.clone())),
                    Ok(()) => required = history.len(),
                    Err(_) => break,
                }
            }
            let id = WriteId { round, writer: 0, seq };
            let w = Write::draw(&mut rng, &knobs, id, |rng| rng.random_range(0..knobs.hot_keys));
            history.push(w.clone());
            if db.write_with(w.batch(), w.durability()).is_err() {
                break;
            }
            for &(k, state) in &w.ops {
                model[k as usize] = state;
            }
            if w.sync {
                required = history.len();
            }
            acked_writes += 1;
            totals.acked_writes += 1;
            totals.acked_key_ops += w.ops.len() as u64;
        }
        drop(db);
        fs.crash(seed.value ^ u64::from(round));
        if let Some(n) = recovery_stop {
            fs.crash_after(n);
            drop(Db::open(dir, with_fs(knobs.options()))); // fails if the stop comes first
            fs.crash(!seed.value ^ u64::from(round));
            totals.recovery_crashes += 1;
        }

        let db = Db::open(dir, with_fs(check_knobs.options()))
            .unwrap_or_else(|e| fail(format!("reopen after power loss: {e}")));
        let got = read_all(&db).unwrap_or_else(|e| fail(e));
        let kept = matching_prefix(&ledger, &history, required, &got).unwrap_or_else(|e| fail(e));
        // At most this many acknowledged writes were lost (fewer if the last ones changed nothing).
        totals.lost_buffered_writes += acked_writes.saturating_sub(kept) as u64;
        drop(db);
        for (cp, expected) in &checkpoints {
            let db = Db::open(cp, with_fs(check_knobs.options()))
                .unwrap_or_else(|e| fail(format!("open of checkpoint {cp:?}: {e}")));
            let got = read_all(&db).unwrap_or_else(|e| fail(format!("checkpoint {cp:?}: {e}")));
            if got != *expected {
                let k = got.iter().zip(expected).position(|(g, e)| g != e).unwrap_or(0);
                fail(format!(
                    "checkpoint {cp:?}: key {k} holds {:?}, acknowledged before it: {:?}",
                    got[k], expected[k]
                ));
            }
            drop(db);
            for name in fs.list(cp).unwrap_or_default() {
                let _ = fs.remove(&cp.join(name));
            }
            totals.checkpoints_checked += 1;
        }
        totals.rounds += 1;
        totals.crashes += 1;
        ledger = got;
        round += 1;
    }
    eprintln!("power-loss soak, seed {}: {totals:?} in {:?}", seed.value, started.elapsed());
}
