//! Active expiry: the background cycle that deletes expired keys, so they leave DBSIZE and
//! their space comes back without waiting for a read (lazy expiry is in `Tx::get`).
//!
//! The cycle reads each database's expiry index (`0x03 db expire_at_ms key`,
//! docs/format/keys.md) from that database's `expiry_floor_ms` up to now, in batches of
//! [`EXPIRE_BATCH_KEYS`], each deleted in one write burst (the write lock is released between
//! batches so clients interleave), for at most [`EXPIRE_CYCLE_BUDGET`] per run; a run that
//! runs out of time resumes with the same database next time, so no database starves. Starting
//! at the floor skips the tombstones of entries already deleted; `Tx::commit` lowers the floor
//! if a new entry sorts before it.

use crate::errors::CommandError;
use crate::keyspace::{self, DATABASES, DbIndex, Keyspace};
use crate::tx::Tx;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Expiry-index entries handled per lock hold.
pub(crate) const EXPIRE_BATCH_KEYS: usize = 500;
/// Most time one run of the cycle spends.
pub(crate) const EXPIRE_CYCLE_BUDGET: Duration = Duration::from_millis(25);

/// Runs one cycle at time `now_ms` over every database; returns the number of keys deleted.
///
/// # Errors
/// The engine's.
pub(crate) fn cycle(ks: &Keyspace, now_ms: u64) -> Result<u64, CommandError> {
    let deadline = Instant::now() + EXPIRE_CYCLE_BUDGET;
    let first = ks.expire_next_db.load(Ordering::Relaxed) as usize % DATABASES;
    let mut deleted = 0;
    for step in 0..DATABASES {
        let db = DbIndex::new(((first + step) % DATABASES) as i64).expect("below DATABASES");
        if Keyspace::get(&ks.counts(db).expires) == 0 {
            continue;
        }
        let (n, finished) = cycle_db(ks, db, now_ms, deadline)?;
        deleted += n;
        if !finished {
            ks.expire_next_db.store(u64::from(db.get()), Ordering::Relaxed);
            return Ok(deleted);
        }
    }
    ks.expire_next_db.store(0, Ordering::Relaxed);
    Ok(deleted)
}

/// Expires `db`'s due keys until none is left or `deadline` passes; returns the keys deleted
/// and whether it finished.
fn cycle_db(
    ks: &Keyspace,
    db: DbIndex,
    now_ms: u64,
    deadline: Instant,
) -> Result<(u64, bool), CommandError> {
    let counts = ks.counts(db);
    let mut deleted = 0;
    loop {
        let mut tx = Tx::write(ks);
        tx.db = db;
        let floor = counts.expiry_floor_ms.load(Ordering::Relaxed);
        // Expired means now > expire_at, so the range ends before `now_ms`.
        let lo = keyspace::expiry_key(db, floor, b"");
        let hi = keyspace::expiry_key(db, now_ms, b"");
        let entries = tx.engine_entries(lo, hi, EXPIRE_BATCH_KEYS)?;
        let mut last_at = floor;
        for entry in &entries {
            let Some((at, key)) = keyspace::parse_expiry_key(db, entry) else {
                tx.delete_raw(entry.to_vec());
                continue;
            };
            last_at = at;
            if tx.expire_if_due(&bytes::Bytes::copy_from_slice(key), at, now_ms)? {
                deleted += 1;
            } else {
                tx.delete_raw(entry.to_vec());
            }
        }
        tx.commit()?;
        // Still under the lock: no commit can lower the floor between these two lines.
        if last_at > floor {
            counts.expiry_floor_ms.store(last_at, Ordering::Relaxed);
        }
        drop(tx);
        if entries.len() < EXPIRE_BATCH_KEYS {
            return Ok((deleted, true));
        }
        if Instant::now() >= deadline {
            return Ok((deleted, false));
        }
    }
}
