//! Randomized crash soak with an expected-state ledger, after RocksDB's crash test.
//!
//! Each round draws random options and a random workload (puts, deletes and multi-key batches
//! over a bounded keyspace, a mix of `Sync` and `Buffered` writes, now and then a flush,
//! compaction, checkpoint or sync), stops it at a random point, reopens the same database with
//! newly drawn options and checks every key, by `get` and by full forward and backward scans,
//! against a ledger: per key, the state its last acknowledged write left and the states that
//! writes still in flight would give it. Every value names its key and the write that stored
//! it, and the rest of its bytes derive from both, so any value read can be checked. Rounds go
//! on over the same data, so damage from a wrong recovery accumulates and shows later.
//!
//! - [`sigkill`]: the workload runs in a child process (this binary re-executed) with several
//!   writer threads, each owning the keys `k % writers == w`, so the writes to a key are
//!   ordered and each writer has at most one write in flight. The child reports each write
//!   before it issues it and each ack after; the parent kills it after a random time, after a
//!   random number of acks, or as a flush, compaction or checkpoint starts (some rounds let it
//!   finish and close cleanly instead). The page cache survives a process death, so every
//!   acknowledged write, `Buffered` ones included, must be there, and each write in flight
//!   all or nothing. A checkpoint the child finished must hold, per key, the state
//!   acknowledged before it was called or a later one.
//! - [`power_loss`]: the same writer threads in this process on `SimFs`, the machine stopped
//!   at a random file-system call or write (or after a clean close), unsynced data dropped, and
//!   in some rounds stopped again inside the recovery that follows. Each writer's keys must
//!   show a prefix of its writes that holds every write acknowledged before the last `Sync`
//!   write, `sync`, `flush` or `compact` was issued (acknowledged `Buffered` writes may be lost
//!   only as a suffix), with no hole across writers: a write that is there brings every write
//!   acknowledged before it was issued. A checkpoint that returned `Ok` must show the same
//!   between the writes acknowledged before it was called and those issued before it returned.
//!
//! Some rounds go on from their last checkpoint instead of the database, as a restore would.
//!
//! CI runs a few short rounds (`LODE_TEST_SCALE` multiplies them). `LODE_CRASH_SOAK_SECS=<n>`
//! runs rounds for n seconds instead, with longer runs between crashes. `LODE_SEED` replays the
//! same options and workloads (a process kill lands where timing puts it).

mod power_loss;
mod sigkill;

use lode::{Compression, Db, Durability, Options, WriteBatch};
use lode_testkit::iterations;
use rand::Rng;
use rand::rngs::StdRng;
use std::time::{Duration, Instant};

/// Keys in the keyspace; a round writes all of it or a hot part at its start.
const KEYSPACE_KEYS: u32 = 2000;
/// Seconds to soak for; unset, each test runs its few CI rounds.
const SOAK_SECS_VAR: &str = "LODE_CRASH_SOAK_SECS";

/// How many rounds a soak runs: `ci_rounds` times `LODE_TEST_SCALE`, or as many as start
/// within `LODE_CRASH_SOAK_SECS` seconds when that is set.
#[derive(Debug)]
struct Budget {
    rounds: usize,
    until: Option<Instant>,
}

impl Budget {
    fn from_env(ci_rounds: usize) -> Budget {
        match std::env::var(SOAK_SECS_VAR).ok().and_then(|s| s.parse::<u64>().ok()) {
            Some(secs) => Budget {
                rounds: usize::MAX,
                until: Some(Instant::now() + Duration::from_secs(secs)),
            },
            None => Budget { rounds: iterations(ci_rounds), until: None },
        }
    }

    fn long(&self) -> bool {
        self.until.is_some()
    }

    fn more(&self, round: u32) -> bool {
        (round as usize) < self.rounds
            && self.until.is_none_or(|t| round == 0 || Instant::now() < t)
    }
}

/// Key `i`: fixed width digits, then `i % 7` dots, so lengths vary and order is index order.
fn key(i: u32) -> Vec<u8> {
    let mut k = format!("key{i:05}").into_bytes();
    k.resize(k.len() + (i % 7) as usize, b'.');
    k
}

fn key_index(k: &[u8]) -> Option<u32> {
    let i: u32 = std::str::from_utf8(k.get(3..8)?).ok()?.parse().ok()?;
    (i < KEYSPACE_KEYS && k == key(i)).then_some(i)
}

/// Which write stored a value: the round, the writer thread, and the writer's sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct WriteId {
    round: u32,
    writer: u32,
    seq: u32,
}

/// A value as the ledger knows it: the write that stored it and the length of its filler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Val {
    id: WriteId,
    filler: u32,
}

/// A key's state: `None` is absent (never written, or deleted).
type State = Option<Val>;

/// The bytes of `val` under key `k`: a header naming both, then filler derived from both (in
/// runs of four repeated words, so LZ4 finds something to compress).
fn value_bytes(k: u32, val: Val) -> Vec<u8> {
    let WriteId { round, writer, seq } = val.id;
    let mut out = format!("{k}:{round}.{writer}.{seq}:").into_bytes();
    let end = out.len() + val.filler as usize;
    let mut x =
        u64::from(k) << 40 ^ u64::from(writer) << 32 ^ u64::from(round) << 20 ^ u64::from(seq);
    while out.len() < end {
        x = mix(x);
        for _ in 0..4 {
            out.extend_from_slice(&x.to_le_bytes());
        }
    }
    out.truncate(end);
    out
}

/// SplitMix64's output function.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The ledger's name for `bytes` read under key `k`, or why no write of this test stored them.
fn decode(k: u32, bytes: &[u8]) -> Result<Val, String> {
    let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(32)]).into_owned();
    let never = || format!("key {k}: {} bytes no write stored: {shown:?}", bytes.len());
    let mut parts = bytes.splitn(3, |b| *b == b':');
    let (Some(for_key), Some(id), Some(_)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(never());
    };
    let header_bytes = for_key.len() + id.len() + 2;
    let number = |b: &[u8]| std::str::from_utf8(b).ok().and_then(|s| s.parse::<u32>().ok());
    if number(for_key) != Some(k) {
        return Err(format!("key {k} holds a value written for another key: {shown:?}"));
    }
    let id: Vec<u32> = id.split(|b| *b == b'.').filter_map(number).collect();
    let &[round, writer, seq] = id.as_slice() else {
        return Err(never());
    };
    let filler = (bytes.len() - header_bytes) as u32;
    let val = Val { id: WriteId { round, writer, seq }, filler };
    if value_bytes(k, val) != bytes {
        return Err(format!("key {k}: the value of write {:?} is damaged: {shown:?}", val.id));
    }
    Ok(val)
}

/// One write: a batch of puts and deletes on distinct keys.
#[derive(Debug, Clone)]
struct Write {
    id: WriteId,
    sync: bool,
    ops: Vec<(u32, State)>,
}

impl Write {
    /// A random write of `knobs`' shape on keys from `pick`.
    fn draw(
        rng: &mut StdRng,
        knobs: &Knobs,
        id: WriteId,
        mut pick: impl FnMut(&mut StdRng) -> u32,
    ) -> Write {
        let n = if rng.random_bool(knobs.batch_share) {
            rng.random_range(2..=knobs.batch_keys_max)
        } else {
            1
        };
        let mut ops: Vec<(u32, State)> = Vec::new();
        for _ in 0..n {
            let k = pick(rng);
            let state = (!rng.random_bool(knobs.delete_share))
                .then(|| Val { id, filler: knobs.filler(rng) });
            if !ops.iter().any(|(o, _)| *o == k) {
                ops.push((k, state));
            }
        }
        Write { id, sync: rng.random_bool(knobs.sync_share), ops }
    }

    fn batch(&self) -> WriteBatch {
        let mut b = WriteBatch::new();
        for &(k, state) in &self.ops {
            match state {
                Some(val) => b.put(key(k), value_bytes(k, val)),
                None => b.delete(key(k)),
            }
        }
        b
    }

    fn durability(&self) -> Durability {
        if self.sync { Durability::Sync } else { Durability::Buffered }
    }

    /// The child's report before it issues the write: `W writer seq sync k=filler k=- ...`.
    fn line(&self) -> String {
        let mut line = format!("W {} {} {}", self.id.writer, self.id.seq, u8::from(self.sync));
        for &(k, state) in &self.ops {
            match state {
                Some(val) => line += &format!(" {k}={}", val.filler),
                None => line += &format!(" {k}=-"),
            }
        }
        line
    }

    fn parse(round: u32, fields: &[&str]) -> Option<Write> {
        let (writer, seq) = (fields.get(1)?.parse().ok()?, fields.get(2)?.parse().ok()?);
        let id = WriteId { round, writer, seq };
        let sync = *fields.get(3)? == "1";
        let mut ops = Vec::new();
        for op in fields.get(4..)? {
            let (k, filler) = op.split_once('=')?;
            let k: u32 = k.parse().ok().filter(|k| *k < KEYSPACE_KEYS)?;
            let state = match filler {
                "-" => None,
                n => Some(Val { id, filler: n.parse().ok()? }),
            };
            ops.push((k, state));
        }
        Some(Write { id, sync, ops })
    }
}

/// One random draw: the engine's options and the workload's shape. A round draws one for its
/// workload and another for the reopen that checks it.
#[derive(Debug, Clone)]
struct Knobs {
    memtable_bytes: usize,
    block_bytes: usize,
    lz4: bool,
    bloom_bits_per_key: u32,
    target_file_bytes: u64,
    level_base_bytes: u64,
    l0_compaction_trigger: usize,
    l0_slowdown_files: usize,
    max_immutable_memtables: usize,
    cache_bytes: usize,
    max_open_files: usize,
    max_wal_bytes: u64,
    sync_interval_ms: u64,
    /// Chance a write is acknowledged with `Sync` (the others are `Buffered`).
    sync_share: f64,
    delete_share: f64,
    batch_share: f64,
    batch_keys_max: usize,
    /// Writes go to the first `hot_keys` keys.
    hot_keys: u32,
    filler_bytes_max: u32,
    /// Chance, per write, of a flush, compaction, checkpoint or sync first (writer 0 only).
    admin_share: f64,
    writers: u32,
}

impl Knobs {
    fn draw(rng: &mut StdRng) -> Knobs {
        // Mostly tiny sizes, so flushes and compactions run all the time.
        let tiny = rng.random_bool(0.7);
        let pick = |rng: &mut StdRng, from: &[u64]| from[rng.random_range(0..from.len())];
        Knobs {
            memtable_bytes: if tiny {
                rng.random_range(4 << 10..64 << 10)
            } else {
                rng.random_range(64 << 10..4 << 20)
            },
            block_bytes: rng.random_range(64..8 << 10),
            lz4: rng.random_bool(0.5),
            bloom_bits_per_key: pick(rng, &[0, 1, 4, 10, 20]) as u32,
            target_file_bytes: if tiny {
                rng.random_range(4 << 10..64 << 10)
            } else {
                rng.random_range(64 << 10..4 << 20)
            },
            level_base_bytes: if tiny {
                rng.random_range(4 << 10..256 << 10)
            } else {
                rng.random_range(256 << 10..16 << 20)
            },
            l0_compaction_trigger: rng.random_range(1..=8),
            l0_slowdown_files: rng.random_range(2..=24),
            max_immutable_memtables: rng.random_range(1..=4),
            cache_bytes: pick(rng, &[0, 64 << 10, 8 << 20]) as usize,
            max_open_files: pick(rng, &[16, 64, 512]) as usize,
            max_wal_bytes: if rng.random_bool(0.2) {
                rng.random_range(4 << 10..256 << 10)
            } else {
                512 << 20
            },
            sync_interval_ms: pick(rng, &[0, 1, 10, 100, 1000]),
            sync_share: [0.0, 0.02, 0.3, 1.0][rng.random_range(0..4)],
            delete_share: rng.random_range(0.0..0.4),
            batch_share: rng.random_range(0.0..0.6),
            batch_keys_max: rng.random_range(2..=16),
            hot_keys: if rng.random_bool(0.3) { rng.random_range(16..300) } else { KEYSPACE_KEYS },
            filler_bytes_max: pick(rng, &[64, 1 << 10, 16 << 10]) as u32,
            admin_share: [0.0, 0.002, 0.02][rng.random_range(0..3)],
            writers: rng.random_range(1..=4),
        }
    }

    fn options(&self) -> Options {
        Options::default()
            .memtable_size(self.memtable_bytes)
            .block_size(self.block_bytes)
            .compression(if self.lz4 { Compression::Lz4 } else { Compression::None })
            .bloom_bits_per_key(self.bloom_bits_per_key)
            .target_file_size(self.target_file_bytes)
            .level_base_size(self.level_base_bytes)
            .l0_compaction_trigger(self.l0_compaction_trigger)
            .l0_write_limits(self.l0_slowdown_files, self.l0_slowdown_files + 8)
            .max_immutable_memtables(self.max_immutable_memtables)
            .cache_size(self.cache_bytes)
            .max_open_files(self.max_open_files)
            .max_wal_size(self.max_wal_bytes)
            .sync_interval(Duration::from_millis(self.sync_interval_ms))
    }

    /// A filler length: mostly short, now and then up to the maximum (past a block).
    fn filler(&self, rng: &mut StdRng) -> u32 {
        let max = if rng.random_bool(0.9) {
            self.filler_bytes_max.min(100)
        } else {
            self.filler_bytes_max
        };
        rng.random_range(0..=max)
    }

    /// A key of writer `writer`'s share of the hot keys.
    fn owned_key(&self, rng: &mut StdRng, writer: u32) -> u32 {
        let per_writer = (self.hot_keys / self.writers).max(1);
        writer + self.writers * rng.random_range(0..per_writer)
    }
}

/// Every key's state, read by `get`, after checking that a full forward scan and a full
/// backward scan find exactly the same keys and values in order.
fn read_all(db: &Db) -> Result<Vec<State>, String> {
    let mut got = Vec::with_capacity(KEYSPACE_KEYS as usize);
    for k in 0..KEYSPACE_KEYS {
        let value = db.get(key(k)).map_err(|e| format!("get of key {k}: {e}"))?;
        got.push(value.map(|v| decode(k, &v)).transpose()?);
    }
    let scan = |backward: bool| -> Result<Vec<(u32, Val)>, String> {
        let items: Box<dyn Iterator<Item = _>> =
            if backward { Box::new(db.iter().rev()) } else { Box::new(db.iter()) };
        let mut out = Vec::new();
        for item in items {
            let (k, v) = item.map_err(|e| format!("scan (backward: {backward}): {e}"))?;
            let i = key_index(&k).ok_or_else(|| format!("a scan found a stray key {k:?}"))?;
            out.push((i, decode(i, &v)?));
        }
        if backward {
            out.reverse();
        }
        Ok(out)
    };
    let by_get: Vec<(u32, Val)> =
        got.iter().enumerate().filter_map(|(k, s)| s.map(|v| (k as u32, v))).collect();
    for backward in [false, true] {
        let scanned = scan(backward)?;
        if scanned != by_get {
            let at = scanned.iter().zip(&by_get).take_while(|(a, b)| a == b).count();
            return Err(format!(
                "a {} scan disagrees with get at entry {at}: scan {:?}, get {:?} ({} vs {} keys)",
                if backward { "backward" } else { "forward" },
                scanned.get(at),
                by_get.get(at),
                scanned.len(),
                by_get.len()
            ));
        }
    }
    Ok(got)
}

/// Totals of a soak, printed at its end.
#[derive(Debug, Default)]
struct Totals {
    rounds: u64,
    /// Kills (SIGKILL) or power losses.
    crashes: u64,
    /// Children that wrote their budget and closed the database (SIGKILL soak).
    clean_exits: u64,
    /// Crashes inside recovery: a child killed before its open returned, or a power loss
    /// inside the open after a power loss.
    recovery_crashes: u64,
    acked_writes: u64,
    acked_key_ops: u64,
    /// Writes in flight when the child died, and how many of them recovery kept.
    in_flight_at_kill: u64,
    in_flight_found: u64,
    /// Flushes, compactions, checkpoints and syncs started.
    admin_ops: u64,
    checkpoints_checked: u64,
    /// Rounds that went on from a checkpoint instead of the database.
    restores: u64,
    /// Acknowledged `Buffered` writes a power loss took (an upper bound: the shortest
    /// matching prefix is counted, and the last writes may have changed nothing).
    lost_buffered_writes: u64,
}
