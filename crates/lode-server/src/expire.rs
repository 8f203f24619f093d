//! Active expiry: the background cycle that deletes expired keys, so they leave DBSIZE and
//! their space comes back without waiting for a read (lazy expiry is in `Tx::get`).
//!
//! The cycle reads the expiry index (`0x03 db expire_at_ms key`, docs/format/keys.md) from
//! `Keyspace::expiry_floor_ms` up to now, in batches of [`EXPIRE_BATCH_KEYS`], each deleted
//! in one write burst (the write lock is released between batches so clients interleave), for
//! at most [`EXPIRE_CYCLE_BUDGET`] per run. Starting at the floor skips the tombstones of
//! entries already deleted; `Tx::commit` lowers the floor if a new entry sorts before it.

use crate::errors::CommandError;
use crate::keyspace::{self, Keyspace};
use crate::tx::Tx;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Expiry-index entries handled per lock hold.
pub(crate) const EXPIRE_BATCH_KEYS: usize = 500;
/// Most time one run of the cycle spends.
pub(crate) const EXPIRE_CYCLE_BUDGET: Duration = Duration::from_millis(25);

/// Runs one cycle at time `now_ms`; returns the number of keys deleted.
///
/// # Errors
/// The engine's.
pub(crate) fn cycle(ks: &Keyspace, now_ms: u64) -> Result<u64, CommandError> {
    let deadline = Instant::now() + EXPIRE_CYCLE_BUDGET;
    let mut deleted = 0;
    loop {
        let mut tx = Tx::write(ks);
        let floor = ks.expiry_floor_ms.load(Ordering::Relaxed);
        // Expired means now > expire_at, so the range ends before `now_ms`.
        let lo = keyspace::expiry_key(floor, b"");
        let hi = keyspace::expiry_key(now_ms, b"");
        let entries = tx.engine_entries(lo, hi, EXPIRE_BATCH_KEYS)?;
        let mut last_at = floor;
        for entry in &entries {
            let Some((at, key)) = keyspace::parse_expiry_key(entry) else {
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
            ks.expiry_floor_ms.store(last_at, Ordering::Relaxed);
        }
        drop(tx);
        if entries.len() < EXPIRE_BATCH_KEYS || Instant::now() >= deadline {
            return Ok(deleted);
        }
    }
}
