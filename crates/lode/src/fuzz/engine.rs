//! The engine harness: operations decoded from the input, run on a database on [`SimFs`] with
//! tiny sizes (so flushes and compactions happen within a few operations), against a
//! `BTreeMap` model.
//!
//! Operations: put, delete, batch (buffered or synced), get, range and prefix scans in either
//! direction or alternating between both ends, snapshots (taken, read, dropped), flush, compact,
//! wait for idle, clean reopen, arming a power loss after the input's number of file-system
//! calls, and power loss with reopen.
//!
//! Checked: every read matches the acknowledged writes (the engine never applies a write it
//! failed, nor loses one it acknowledged while it runs); a snapshot reads as of its moment;
//! nothing fails unless a power loss is armed; a clean reopen keeps every acknowledged write;
//! after a power loss the database equals the model after some prefix of the batches attempted
//! since the last known-durable state, a prefix that includes every batch acknowledged by a
//! `Sync` write or followed by a completed flush (the approach of tests/engine/crash.rs).

use super::input::Input;
use crate::fs::SimFs;
use crate::{Compression, Db, Durability, Iter, Options, Snapshot, WriteBatch};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

type Model = BTreeMap<Vec<u8>, Vec<u8>>;
/// A batch as the harness remembers it: keys with a value (put) or none (delete).
type Ops = Vec<(Vec<u8>, Option<Vec<u8>>)>;
type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// Operations per input at most, so one input stays within a few milliseconds.
const OPS_MAX: usize = 160;
/// Reopens and power losses per input at most; later ones flush instead.
const REOPENS_MAX: usize = 3;

/// The operations, by the byte (modulo [`op::COUNT`]) that selects them: each runs from its
/// number up to the next one's, so writes and reads are common and reopens rare.
pub(crate) mod op {
    pub(crate) const PUT: u8 = 0;
    pub(crate) const DELETE: u8 = 12;
    pub(crate) const BATCH: u8 = 14;
    pub(crate) const GET: u8 = 16;
    pub(crate) const RANGE: u8 = 19;
    pub(crate) const PREFIX: u8 = 21;
    pub(crate) const SNAPSHOT: u8 = 22;
    pub(crate) const READ_SNAPSHOT: u8 = 23;
    pub(crate) const DROP_SNAPSHOT: u8 = 25;
    pub(crate) const FLUSH: u8 = 26;
    pub(crate) const COMPACT: u8 = 27;
    pub(crate) const WAIT_IDLE: u8 = 28;
    pub(crate) const REOPEN: u8 = 29;
    pub(crate) const CRASH_AFTER: u8 = 30;
    pub(crate) const POWER_LOSS: u8 = 31;
    pub(crate) const COUNT: u8 = 32;
}

/// Snapshots held at once at most.
const SNAPSHOTS_MAX: usize = 4;
const DIR: &str = "/db";

/// The harness's state beside the database.
struct Run {
    fs: SimFs,
    options: Options,
    db: Option<Db>,
    /// What reads must see: every acknowledged write.
    model: Model,
    /// The last state known to be durable, and the batches attempted since.
    durable: Model,
    attempted: Vec<Ops>,
    /// `attempted[..required]` must survive a power loss.
    required: usize,
    snapshots: Vec<(Snapshot, Model)>,
    /// A power loss is armed or has happened: file-system calls may fail from now on.
    armed: bool,
    /// A write failed: the engine refuses writes until reopened, so the harness stops writing.
    broken: bool,
    /// Reopens and power losses so far (each starts the engine's threads again: the slow part).
    reopens: usize,
}

/// Tiny sizes, so a few dozen operations flush and compact through several levels; write
/// limits high, so no write waits on a slowdown.
fn options(input: &mut Input<'_>, fs: &SimFs) -> Options {
    let b = input.u8();
    Options::default()
        .memtable_size(4 << 10)
        .block_size(64 << (b % 4))
        .target_file_size(4 << 10)
        .level_base_size(8 << 10)
        .l0_compaction_trigger(2 + usize::from(b >> 2 & 3))
        .l0_write_limits(1000, 2000)
        .compression(if b & 0x10 != 0 { Compression::Lz4 } else { Compression::None })
        .bloom_bits_per_key(if b & 0x20 != 0 { 0 } else { 10 })
        .cache_size(if b & 0x40 != 0 { 0 } else { 1 << 20 })
        .sync_interval(Duration::ZERO)
        .fs(Arc::new(fs.clone()))
}

fn apply(model: &mut Model, ops: &Ops) {
    for (k, v) in ops {
        match v {
            Some(v) => model.insert(k.clone(), v.clone()),
            None => model.remove(k),
        };
    }
}

fn bound(input: &mut Input<'_>) -> Bound<Vec<u8>> {
    match input.u8() % 3 {
        0 => Bound::Unbounded,
        1 => Bound::Included(input.user_key()),
        _ => Bound::Excluded(input.user_key()),
    }
}

/// The model's pairs in `[lo, hi)`-style bounds (empty for an inverted range, as the engine).
fn model_range(m: &Model, lo: &Bound<Vec<u8>>, hi: &Bound<Vec<u8>>) -> Pairs {
    let inverted = match (lo, hi) {
        (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => {
            a > b || (a == b && !matches!((lo, hi), (Bound::Included(_), Bound::Included(_))))
        }
        _ => false,
    };
    if inverted {
        return Vec::new();
    }
    m.range((lo.clone(), hi.clone())).map(|(k, v)| (k.clone(), v.clone())).collect()
}

impl Run {
    fn db(&self) -> &Db {
        self.db.as_ref().expect("the harness keeps a database open")
    }

    /// An error is acceptable only once a power loss is armed.
    fn allow_error(&self, what: &str, e: &crate::Error) {
        assert!(self.armed, "{what} failed with no fault armed: {e}");
    }

    fn write(&mut self, ops: Ops, sync: bool) {
        if self.broken {
            return;
        }
        let mut b = WriteBatch::new();
        for (k, v) in &ops {
            match v {
                Some(v) => b.put(k, v),
                None => b.delete(k),
            }
        }
        let durability = if sync { Durability::Sync } else { Durability::Buffered };
        let result = self.db().write_with(b, durability);
        self.attempted.push(ops);
        match result {
            Ok(()) => {
                apply(&mut self.model, self.attempted.last().expect("just pushed"));
                if sync {
                    self.required = self.attempted.len();
                }
            }
            Err(e) => {
                self.allow_error("write", &e);
                self.broken = true;
            }
        }
    }

    /// Drains `it` from the front, the back, or alternately as the input says, and checks
    /// what came out against `want` (in ascending order).
    fn check_iter(&self, mut it: Iter, want: &Pairs, input: &mut Input<'_>) {
        let style = input.u8();
        let (mut front, mut back): (Pairs, Pairs) = (Vec::new(), Vec::new());
        for step in 0..=want.len() {
            let from_back = match style % 3 {
                0 => false,
                1 => true,
                _ => (style >> 2).rotate_left(step as u32) & 1 == 1,
            };
            let item = if from_back { it.next_back() } else { it.next() };
            match item {
                None => break,
                Some(Ok((k, v))) => {
                    let pair = (k.to_vec(), v.to_vec());
                    if from_back { back.push(pair) } else { front.push(pair) }
                }
                Some(Err(e)) => {
                    self.allow_error("iteration", &e);
                    return;
                }
            }
        }
        assert!(front.len() + back.len() <= want.len(), "iteration returned too much");
        assert_eq!(front, want[..front.len()], "iteration from the front");
        back.reverse();
        assert_eq!(back, want[want.len() - back.len()..], "iteration from the back");
        let done = if style % 3 == 1 { it.next_back() } else { it.next() };
        if let Some(item) = done {
            panic!("iteration returned more than the model holds: {item:?}");
        }
        assert_eq!(front.len() + back.len(), want.len(), "iteration ended early");
    }

    fn get(&self, key: &[u8]) {
        match self.db().get(key) {
            Ok(got) => assert_eq!(got.as_deref(), self.model.get(key).map(Vec::as_slice)),
            Err(e) => self.allow_error("get", &e),
        }
    }

    fn reopen(&mut self) {
        self.reopens += 1;
        if self.armed {
            return self.power_loss(0);
        }
        self.snapshots.clear();
        self.db = None;
        self.db = Some(Db::open(DIR, self.options.clone()).expect("clean reopen"));
        let got = self.contents().expect("read after a clean reopen");
        assert_eq!(got, self.model, "a clean reopen lost or invented writes");
        self.durable = self.model.clone();
        self.attempted.clear();
        self.required = 0;
    }

    fn power_loss(&mut self, seed: u64) {
        self.reopens += 1;
        self.snapshots.clear();
        self.db = None;
        self.fs.crash(seed);
        self.db = Some(Db::open(DIR, self.options.clone()).expect("reopen after a power loss"));
        let got = self.contents().expect("read after a power loss");
        let mut state = self.durable.clone();
        let mut matched = self.required == 0 && got == state;
        for (i, ops) in self.attempted.iter().enumerate() {
            if matched {
                break;
            }
            apply(&mut state, ops);
            matched = i + 1 >= self.required && got == state;
        }
        assert!(
            matched,
            "after a power loss the database is no prefix of at least {} of the {} batches",
            self.required,
            self.attempted.len()
        );
        self.model = got.clone();
        self.durable = got;
        self.attempted.clear();
        self.required = 0;
        self.armed = false;
        self.broken = false;
    }

    fn flush(&mut self) {
        match self.db().flush() {
            Ok(()) => self.required = self.attempted.len(),
            Err(e) => self.allow_error("flush", &e),
        }
    }

    fn contents(&self) -> crate::Result<Model> {
        self.db().iter().map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec()))).collect()
    }

    fn step(&mut self, input: &mut Input<'_>) {
        match input.u8() % op::COUNT {
            op::PUT..op::DELETE => {
                let (k, v) = (input.user_key(), input.value());
                let sync = input.one_in(4);
                self.write(vec![(k, Some(v))], sync);
            }
            op::DELETE..op::BATCH => {
                let k = input.user_key();
                self.write(vec![(k, None)], input.bool());
            }
            op::BATCH..op::GET => {
                let ops: Ops = (0..input.below(6))
                    .map(|_| {
                        let k = input.user_key();
                        (k, (!input.one_in(4)).then(|| input.value()))
                    })
                    .collect();
                self.write(ops, input.bool());
            }
            op::GET..op::RANGE => self.get(&input.user_key()),
            op::RANGE..op::PREFIX => {
                let (lo, hi) = (bound(input), bound(input));
                let want = model_range(&self.model, &lo, &hi);
                self.check_iter(self.db().range::<Vec<u8>, _>((lo, hi)), &want, input);
            }
            op::PREFIX => {
                let p = input.user_key();
                let want: Vec<_> = self
                    .model
                    .iter()
                    .filter(|(k, _)| k.starts_with(&p))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                self.check_iter(self.db().prefix(&p), &want, input);
            }
            op::SNAPSHOT => {
                if self.snapshots.len() == SNAPSHOTS_MAX {
                    self.snapshots.remove(0);
                }
                self.snapshots.push((self.db().snapshot(), self.model.clone()));
            }
            op::READ_SNAPSHOT..op::DROP_SNAPSHOT => {
                let n = input.below(SNAPSHOTS_MAX);
                let k = input.user_key();
                let Some((snap, model)) = self.snapshots.get(n) else { return };
                match snap.get(&k) {
                    Ok(got) => assert_eq!(got.as_deref(), model.get(&k).map(Vec::as_slice)),
                    Err(e) => self.allow_error("snapshot get", &e),
                }
                let want: Vec<_> = model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                self.check_iter(snap.iter(), &want, input);
            }
            op::DROP_SNAPSHOT => {
                let n = input.below(SNAPSHOTS_MAX);
                if n < self.snapshots.len() {
                    self.snapshots.remove(n);
                }
            }
            op::FLUSH => self.flush(),
            op::COMPACT => match self.db().compact() {
                Ok(()) => self.required = self.attempted.len(),
                Err(e) => self.allow_error("compact", &e),
            },
            op::WAIT_IDLE => {
                if let Err(e) = self.db().wait_idle() {
                    self.allow_error("wait_idle", &e);
                }
            }
            op::REOPEN if self.reopens < REOPENS_MAX => self.reopen(),
            op::CRASH_AFTER => {
                self.fs.crash_after(u64::from(input.u8()));
                self.armed = true;
            }
            op::POWER_LOSS if self.reopens < REOPENS_MAX => self.power_loss(u64::from(input.u16())),
            _ => self.flush(),
        }
    }
}

/// See [`super::fuzz_engine_model`].
pub(crate) fn fuzz_engine_model(data: &[u8]) {
    let mut input = Input::new(data);
    let fs = SimFs::new();
    let options = options(&mut input, &fs);
    let db = Db::open(Path::new(DIR), options.clone()).expect("create a database in memory");
    let mut run = Run {
        fs,
        options,
        db: Some(db),
        model: Model::new(),
        durable: Model::new(),
        attempted: Vec::new(),
        required: 0,
        snapshots: Vec::new(),
        armed: false,
        broken: false,
        reopens: 0,
    };
    for _ in 0..OPS_MAX {
        if input.is_empty() {
            break;
        }
        run.step(&mut input);
    }
    // Whatever state the run ended in, a power loss now must recover a valid prefix.
    run.power_loss(0);
}
