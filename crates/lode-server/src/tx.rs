//! [`Tx`]: what the commands of one burst read and write through.
//!
//! Role: a burst (the commands decoded from one read of a connection, or one EXEC) runs
//! against one `Tx`. In write mode the `Tx` holds the keyspace's write lock; reads consult its
//! overlay of pending writes first, then the engine; writes go to the overlay; `commit` turns
//! the overlay into one `WriteBatch` (metadata records, expiry-index entries, the counters of
//! every database it touched) written with `Durability::Buffered`. Commands address the
//! database in [`Tx::db`] (the dispatcher sets it to the connection's before each command);
//! COPY and MOVE also name another one. In read mode it reads one engine snapshot, taken lazily, so a
//! multi-key read (MGET, SCAN) sees one moment without taking the lock.
//!
//! Invariants: see keyspace.rs; `commit` is the only place that writes them, and computes every
//! counter and index change from the records as they were before the `Tx` touched them.

use crate::errors::{self, CommandError};
use crate::keyspace::{
    self, DATABASES, DbIndex, Keyspace, Meta, STRING_BYTES_MAX, USER_KEY_BYTES_MAX,
};
use bytes::Bytes;
use lode::{Durability, WriteBatch};
use std::collections::BTreeMap;
use std::ops::{Bound, ControlFlow};
use std::sync::MutexGuard;
use std::sync::atomic::Ordering;

mod elements;

/// Keys deleted per batch by FLUSHALL and by the active expiry cycle.
pub(crate) const DELETE_CHUNK_KEYS: usize = 10_000;

#[derive(Debug)]
enum Source<'a> {
    /// Write mode: the keyspace's write lock is held; the engine is read directly.
    Locked(#[allow(dead_code)] MutexGuard<'a, ()>),
    /// Read mode: a snapshot, taken at the first read.
    Snapshot(Option<lode::Snapshot>),
}

/// A key the `Tx` has read (write mode) or written.
#[derive(Debug)]
struct Slot {
    /// The record in the engine before this `Tx`.
    orig: Option<Meta>,
    /// The record as of now in this `Tx`.
    cur: Option<Meta>,
    dirty: bool,
}

/// See the module docs.
#[derive(Debug)]
pub(crate) struct Tx<'a> {
    ks: &'a Keyspace,
    source: Source<'a>,
    /// The database the commands address.
    pub db: DbIndex,
    overlay: BTreeMap<(DbIndex, Bytes), Slot>,
    raw_deletes: Vec<Vec<u8>>,
    /// Pending element and score-index writes (`None` deletes), by engine key.
    elements: BTreeMap<Vec<u8>, Option<Bytes>>,
    /// A collection version was handed out: the commit persists the high-water mark.
    version_used: bool,
    /// Keys whose watchers the commit touches though nothing is written for them (Redis
    /// signals a SET whose expiry is already past, even on a missing key).
    touch_only: Vec<(DbIndex, Bytes)>,
    pending_bytes: usize,
    expired: u64,
    /// A commit wrote something since the `Tx` began (an `appendfsync always` burst syncs).
    pub committed_writes: bool,
    /// Keys a blocked client waits on that this `Tx` put a list at (blocked.rs): the burst
    /// serves them after the command.
    ready: Vec<(DbIndex, Bytes)>,
}

impl<'a> Tx<'a> {
    /// A read-mode `Tx`.
    pub(crate) fn read(ks: &'a Keyspace) -> Tx<'a> {
        Tx::new(ks, Source::Snapshot(None))
    }

    /// A write-mode `Tx`: waits for the keyspace's write lock.
    pub(crate) fn write(ks: &'a Keyspace) -> Tx<'a> {
        Tx::new(ks, Source::Locked(ks.lock_writes()))
    }

    fn new(ks: &'a Keyspace, source: Source<'a>) -> Tx<'a> {
        Tx {
            ks,
            source,
            db: DbIndex::ZERO,
            overlay: BTreeMap::new(),
            raw_deletes: Vec::new(),
            elements: BTreeMap::new(),
            version_used: false,
            touch_only: Vec::new(),
            pending_bytes: 0,
            expired: 0,
            committed_writes: false,
            ready: Vec::new(),
        }
    }

    fn is_write(&self) -> bool {
        matches!(self.source, Source::Locked(_))
    }

    /// Bytes of records written since the last commit.
    pub(crate) fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    fn engine_get(&mut self, engine_key: &[u8]) -> lode::Result<Option<lode::Value>> {
        match &mut self.source {
            Source::Locked(_) => self.ks.db.get(engine_key),
            Source::Snapshot(snap) => {
                snap.get_or_insert_with(|| self.ks.db.snapshot()).get(engine_key)
            }
        }
    }

    fn engine_range(&mut self, lo: Bound<Vec<u8>>, hi: Bound<Vec<u8>>) -> lode::Iter {
        match &mut self.source {
            Source::Locked(_) => self.ks.db.range((lo, hi)),
            Source::Snapshot(snap) => {
                snap.get_or_insert_with(|| self.ks.db.snapshot()).range((lo, hi))
            }
        }
    }

    fn load(&mut self, db: DbIndex, key: &[u8]) -> Result<Option<Meta>, CommandError> {
        match self.engine_get(&keyspace::meta_key(db, key))? {
            Some(v) => Ok(Some(Meta::decode(v.into_bytes())?)),
            None => Ok(None),
        }
    }

    /// The slot of `key` in `db`, loaded from the engine on first use (write mode only).
    fn slot(&mut self, db: DbIndex, key: &Bytes) -> Result<&mut Slot, CommandError> {
        let id = (db, key.clone());
        if !self.overlay.contains_key(&id) {
            let orig = self.load(db, key)?;
            self.overlay.insert(id.clone(), Slot { cur: orig.clone(), orig, dirty: false });
        }
        Ok(self.overlay.get_mut(&id).expect("inserted above"))
    }

    /// The live record of `key` in the current database; see [`Tx::get_in`].
    pub(crate) fn get(&mut self, key: &Bytes, now_ms: u64) -> Result<Option<Meta>, CommandError> {
        self.get_in(self.db, key, now_ms)
    }

    /// The live record of `key` in `db`: `None` if it is missing or expired. In write mode an
    /// expired record is deleted (lazy expiry) with this `Tx`'s next commit.
    pub(crate) fn get_in(
        &mut self,
        db: DbIndex,
        key: &Bytes,
        now_ms: u64,
    ) -> Result<Option<Meta>, CommandError> {
        if !self.is_write() {
            return Ok(self.load(db, key)?.filter(|m| !m.is_expired(now_ms)));
        }
        let slot = self.slot(db, key)?;
        match &slot.cur {
            Some(meta) if meta.is_expired(now_ms) => {
                slot.cur = None;
                slot.dirty = true;
                self.expired += 1;
                Ok(None)
            }
            other => Ok(other.clone()),
        }
    }

    /// Sets `key`'s record in the current database; see [`Tx::put_in`].
    pub(crate) fn put(&mut self, key: &Bytes, meta: Meta) -> Result<(), CommandError> {
        self.put_in(self.db, key, meta)
    }

    /// Sets `key`'s record in `db`.
    ///
    /// # Errors
    /// A key or value past the limits of docs/format/keys.md.
    pub(crate) fn put_in(
        &mut self,
        db: DbIndex,
        key: &Bytes,
        meta: Meta,
    ) -> Result<(), CommandError> {
        self.require_write()?;
        if key.len() > USER_KEY_BYTES_MAX {
            return Err(errors::KEY_TOO_LONG.into());
        }
        if meta.value.len() > STRING_BYTES_MAX {
            return Err(errors::STRING_TOO_LONG.into());
        }
        self.pending_bytes = self.pending_bytes.saturating_add(meta.encoded_bytes() + key.len());
        if meta.kind == keyspace::Kind::List
            && self.ks.blocked.is_waited(db, key)
            && !self.ready.iter().any(|(d, k)| *d == db && k == key)
        {
            self.ready.push((db, key.clone()));
        }
        let slot = self.slot(db, key)?;
        slot.cur = Some(meta);
        slot.dirty = true;
        Ok(())
    }

    /// The keys made ready for blocked clients since the last call, in the order they became
    /// ready (Redis's `ready_keys`).
    pub(crate) fn take_ready(&mut self) -> Vec<(DbIndex, Bytes)> {
        std::mem::take(&mut self.ready)
    }

    /// Marks `key` of the current database modified for WATCH at the next commit, whether or
    /// not anything is written for it.
    pub(crate) fn touch(&mut self, key: &Bytes) {
        self.touch_only.push((self.db, key.clone()));
    }

    /// Deletes `key`'s record in the current database (whether or not it is live).
    pub(crate) fn delete(&mut self, key: &Bytes) -> Result<(), CommandError> {
        self.require_write()?;
        self.pending_bytes = self.pending_bytes.saturating_add(key.len() + 16);
        let slot = self.slot(self.db, key)?;
        slot.cur = None;
        slot.dirty = true;
        Ok(())
    }

    fn require_write(&self) -> Result<(), CommandError> {
        debug_assert!(self.is_write(), "a write ran in a read-only burst");
        if self.is_write() {
            Ok(())
        } else {
            Err("ERR internal error: write outside a write burst".into())
        }
    }

    /// Keys of the current database (`DBSIZE`), counting this `Tx`'s pending writes.
    pub(crate) fn key_count(&self) -> u64 {
        let db = self.db;
        let mut n = Keyspace::get(&self.ks.counts(db).keys) as i64;
        let mine = self.overlay.iter().filter(|((d, _), s)| *d == db && s.dirty);
        for (_, slot) in mine {
            n += i64::from(slot.cur.is_some()) - i64::from(slot.orig.is_some());
        }
        n.max(0) as u64
    }

    /// Calls `visit` with each live key of the current database starting with `prefix` and
    /// after `after`, in order, until it breaks. Returns whether the scan reached the end of the keys.
    pub(crate) fn scan(
        &mut self,
        after: Option<&[u8]>,
        prefix: &[u8],
        now_ms: u64,
        mut visit: impl FnMut(&Bytes, &Meta) -> Result<ControlFlow<()>, CommandError>,
    ) -> Result<bool, CommandError> {
        let db = self.db;
        let start = match after {
            Some(a) if a >= prefix => Bound::Excluded((db, Bytes::copy_from_slice(a))),
            _ => Bound::Included((db, Bytes::copy_from_slice(prefix))),
        };
        let lo = match &start {
            Bound::Excluded((_, k)) => Bound::Excluded(keyspace::meta_key(db, k)),
            _ => Bound::Included(keyspace::meta_key(db, prefix)),
        };
        let hi = match successor(&keyspace::meta_key(db, prefix)) {
            Some(end) => Bound::Excluded(end),
            None => Bound::Unbounded,
        };
        let mut engine = self.engine_range(lo, hi).peekable();
        let overlay: Vec<(Bytes, Option<Meta>)> = self
            .overlay
            .range::<(DbIndex, Bytes), _>((start, Bound::Unbounded))
            .take_while(|((d, k), _)| *d == db && k.starts_with(prefix))
            .map(|((_, k), s)| (k.clone(), s.cur.clone()))
            .collect();
        let mut overlay = overlay.into_iter().peekable();
        loop {
            let engine_key = match engine.peek() {
                Some(Ok((k, _))) => keyspace::user_key_of_meta(db, k).map(Bytes::copy_from_slice),
                Some(Err(_)) => {
                    let Some(Err(e)) = engine.next() else { unreachable!("peeked an error") };
                    return Err(e.into());
                }
                None => None,
            };
            let take_overlay = match (&engine_key, overlay.peek()) {
                (None, None) => return Ok(true),
                (Some(_), None) => false,
                (None, Some(_)) => true,
                (Some(e), Some((o, _))) => {
                    if e == o {
                        engine.next();
                    }
                    o <= e
                }
            };
            let (key, meta) = if take_overlay {
                let Some((k, m)) = overlay.next() else { unreachable!("peeked") };
                (k, m)
            } else {
                let Some(Ok((_, v))) = engine.next() else { unreachable!("peeked") };
                let key = engine_key.expect("engine side chosen");
                (key, Some(Meta::decode(v.into_bytes())?))
            };
            if let Some(meta) = meta.filter(|m| !m.is_expired(now_ms))
                && visit(&key, &meta)?.is_break()
            {
                return Ok(false);
            }
        }
    }

    /// Writes the overlay as one batch. A no-op when nothing was written.
    ///
    /// # Errors
    /// The engine's; the overlay is dropped either way.
    pub(crate) fn commit(&mut self) -> Result<(), CommandError> {
        let overlay = std::mem::take(&mut self.overlay);
        let raw_deletes = std::mem::take(&mut self.raw_deletes);
        let elements = std::mem::take(&mut self.elements);
        let version_used = std::mem::take(&mut self.version_used);
        self.pending_bytes = 0;
        let expired = std::mem::take(&mut self.expired);
        let mut batch = WriteBatch::new();
        let (mut dkeys, mut dexpires) = ([0i64; DATABASES], [0i64; DATABASES]);
        let mut floor = [u64::MAX; DATABASES];
        let mut touched = Vec::new();
        let mut dead = Vec::new();
        for (id, slot) in &overlay {
            if !slot.dirty {
                continue;
            }
            if let Some(orig) = &slot.orig
                && orig.is_collection()
                && slot.cur.as_ref().is_none_or(|cur| cur.version != orig.version)
            {
                dead.push((id, orig));
            }
            let (db, key) = (id.0, &id.1);
            let d = usize::from(db.get());
            let meta_key = keyspace::meta_key(db, key);
            match &slot.cur {
                Some(meta) => batch.put(&meta_key, meta.encode()),
                None if slot.orig.is_some() => batch.delete(&meta_key),
                None => continue,
            }
            let old_at = slot.orig.as_ref().map_or(0, |m| m.expire_at_ms);
            let new_at = slot.cur.as_ref().map_or(0, |m| m.expire_at_ms);
            if old_at != new_at {
                if old_at != 0 {
                    batch.delete(keyspace::expiry_key(db, old_at, key));
                }
                if new_at != 0 {
                    batch.put(keyspace::expiry_key(db, new_at, key), []);
                    floor[d] = floor[d].min(new_at);
                }
            }
            dkeys[d] += i64::from(slot.cur.is_some()) - i64::from(slot.orig.is_some());
            dexpires[d] += i64::from(new_at != 0) - i64::from(old_at != 0);
            touched.push(id);
        }
        for key in &raw_deletes {
            batch.delete(key);
        }
        for (key, value) in &elements {
            match value {
                Some(v) => batch.put(key, v),
                None => batch.delete(key),
            }
        }
        if version_used {
            let last = Keyspace::get(&self.ks.last_version);
            batch.put(keyspace::system_key("version", DbIndex::ZERO), last.to_be_bytes());
        }
        let touch_only = std::mem::take(&mut self.touch_only);
        if batch.is_empty() {
            self.ks.touch_watched(touch_only.iter());
            return Ok(());
        }
        let mut counters = Vec::new();
        for db in DbIndex::all() {
            let d = usize::from(db.get());
            if dkeys[d] == 0 && dexpires[d] == 0 && floor[d] == u64::MAX {
                continue;
            }
            let c = self.ks.counts(db);
            let keys = apply(Keyspace::get(&c.keys), dkeys[d]);
            let expires = apply(Keyspace::get(&c.expires), dexpires[d]);
            if dkeys[d] != 0 {
                batch.put(keyspace::system_key("keys", db), keys.to_be_bytes());
            }
            if dexpires[d] != 0 {
                batch.put(keyspace::system_key("expires", db), expires.to_be_bytes());
            }
            counters.push((c, keys, expires, floor[d]));
        }
        self.ks.db.write_with(batch, Durability::Buffered).map_err(|e| errors::write_failed(&e))?;
        self.committed_writes = true;
        for (c, keys, expires, floor) in counters {
            c.keys.store(keys, Ordering::Relaxed);
            c.expires.store(expires, Ordering::Relaxed);
            c.expiry_floor_ms.fetch_min(floor, Ordering::Relaxed);
        }
        Keyspace::add(&self.ks.changes_since_save, touched.len() as u64);
        Keyspace::add(&self.ks.expired_keys, expired);
        for ((db, key), meta) in dead {
            self.ks.reclaim.dead(*db, key, meta);
        }
        self.ks.touch_watched(touched.into_iter().chain(touch_only.iter()));
        Ok(())
    }

    /// Deletes `key` of the current database if its record expires at `at` and is expired at
    /// `now_ms` (the active expiry cycle). Returns false when the record is missing or has another expiry: the
    /// index entry that led here is stale.
    pub(crate) fn expire_if_due(
        &mut self,
        key: &Bytes,
        at: u64,
        now_ms: u64,
    ) -> Result<bool, CommandError> {
        self.require_write()?;
        let slot = self.slot(self.db, key)?;
        match &slot.cur {
            Some(meta) if meta.expire_at_ms == at && meta.is_expired(now_ms) => {
                slot.cur = None;
                slot.dirty = true;
                self.expired += 1;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Deletes an engine key that is not a metadata record (a stale expiry-index entry).
    pub(crate) fn delete_raw(&mut self, engine_key: Vec<u8>) {
        self.raw_deletes.push(engine_key);
    }

    /// Raw engine entries in `[lo, hi)`, at most `limit` of them (the active expiry cycle).
    pub(crate) fn engine_entries(
        &mut self,
        lo: Vec<u8>,
        hi: Vec<u8>,
        limit: usize,
    ) -> Result<Vec<Bytes>, CommandError> {
        let mut out = Vec::new();
        for item in self.engine_range(Bound::Included(lo), Bound::Excluded(hi)).take(limit) {
            let (k, _) = item?;
            out.push(k.into_bytes());
        }
        Ok(out)
    }

    /// Deletes every key of database `db` (FLUSHDB; FLUSHALL calls it for each): pending
    /// writes are committed first, then the keys are deleted in batches of
    /// [`DELETE_CHUNK_KEYS`], each with the database's counters, so a crash part-way leaves a
    /// consistent, partly flushed keyspace. Like Redis, the watched keys it deletes (expired
    /// or not) are touched.
    pub(crate) fn flush_db(&mut self, db: DbIndex) -> Result<(), CommandError> {
        self.require_write()?;
        self.commit()?;
        let prefix = keyspace::meta_prefix(db);
        let hi = successor(&prefix).expect("prefix has a successor");
        let c = self.ks.counts(db);
        let mut after: Option<Vec<u8>> = None;
        loop {
            let lo = match after.take() {
                Some(k) => Bound::Excluded(k),
                None => Bound::Included(prefix.to_vec()),
            };
            let mut batch = WriteBatch::new();
            let (mut keys, mut expires) = (Keyspace::get(&c.keys), Keyspace::get(&c.expires));
            let mut deleted = Vec::new();
            let mut dead = Vec::new();
            for item in self.engine_range(lo, Bound::Excluded(hi.clone())).take(DELETE_CHUNK_KEYS) {
                let (k, v) = item?;
                let meta = Meta::decode(v.into_bytes())?;
                let user = keyspace::user_key_of_meta(db, &k).unwrap_or_default();
                if meta.expire_at_ms != 0 {
                    batch.delete(keyspace::expiry_key(db, meta.expire_at_ms, user));
                    expires = expires.saturating_sub(1);
                }
                deleted.push((db, Bytes::copy_from_slice(user)));
                if meta.is_collection() {
                    dead.push((Bytes::copy_from_slice(user), meta));
                }
                batch.delete(&k[..]);
                keys = keys.saturating_sub(1);
                after = Some(k.to_vec());
            }
            if deleted.is_empty() {
                return Ok(());
            }
            batch.put(keyspace::system_key("keys", db), keys.to_be_bytes());
            batch.put(keyspace::system_key("expires", db), expires.to_be_bytes());
            self.ks
                .db
                .write_with(batch, Durability::Buffered)
                .map_err(|e| errors::write_failed(&e))?;
            self.committed_writes = true;
            c.keys.store(keys, Ordering::Relaxed);
            c.expires.store(expires, Ordering::Relaxed);
            Keyspace::add(&self.ks.changes_since_save, deleted.len() as u64);
            self.ks.touch_watched(deleted.iter());
            for (key, meta) in &dead {
                self.ks.reclaim.dead(db, key, meta);
            }
        }
    }
}

/// Key ranges in either direction (KRANGE).
impl Tx<'_> {
    /// Calls `visit` with each key of the current database between `lo` and `hi`, in order,
    /// or from the top down with `rev`, until it breaks. A live key comes with its record, an
    /// expired one with `None` (it is not deleted), so the caller can bound the work of
    /// skipping expired keys. This `Tx`'s pending writes are merged as in [`Tx::scan`], walked
    /// in place rather than copied. Returns whether the scan reached the end of the range.
    pub(crate) fn range(
        &mut self,
        lo: Bound<&[u8]>,
        hi: Bound<&[u8]>,
        rev: bool,
        now_ms: u64,
        visit: impl FnMut(&Bytes, Option<&Meta>) -> Result<ControlFlow<()>, CommandError>,
    ) -> Result<bool, CommandError> {
        // The empty key is the smallest, so an unbounded start is an inclusive one at "".
        let lo = match lo {
            Bound::Unbounded => Bound::Included(&b""[..]),
            bound => bound,
        };
        if range_is_empty(lo, hi) {
            return Ok(true);
        }
        let db = self.db;
        let engine_hi = match hi {
            Bound::Unbounded => Bound::Excluded(
                successor(&keyspace::meta_prefix(db)).expect("a database byte is below 0xff"),
            ),
            bound => bound.map(|k| keyspace::meta_key(db, k)),
        };
        let engine = self.engine_range(lo.map(|k| keyspace::meta_key(db, k)), engine_hi);
        let overlay_hi = match hi {
            Bound::Unbounded => DbIndex::new(i64::from(db.get()) + 1)
                .map_or(Bound::Unbounded, |next| Bound::Excluded((next, Bytes::new()))),
            bound => bound.map(|k| (db, Bytes::copy_from_slice(k))),
        };
        let overlay_lo = lo.map(|k| (db, Bytes::copy_from_slice(k)));
        let overlay = self
            .overlay
            .range::<(DbIndex, Bytes), _>((overlay_lo, overlay_hi))
            .map(|((_, k), slot)| (k, slot.cur.as_ref()));
        if rev {
            merge_range(engine.rev(), overlay.rev(), db, now_ms, |a, b| a > b, visit)
        } else {
            merge_range(engine, overlay, db, now_ms, |a, b| a < b, visit)
        }
    }
}

/// Whether the range from `lo` (bounded) to `hi` holds no key. `BTreeMap::range` panics on
/// some such ranges, so [`Tx::range`] checks first.
fn range_is_empty(lo: Bound<&[u8]>, hi: Bound<&[u8]>) -> bool {
    let (Bound::Included(a) | Bound::Excluded(a)) = lo else { return false };
    match hi {
        Bound::Included(b) if matches!(lo, Bound::Included(_)) => a > b,
        Bound::Included(b) | Bound::Excluded(b) => a >= b,
        Bound::Unbounded => false,
    }
}

/// Which side of [`merge_range`] holds the next key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Engine,
    Overlay,
    /// The same key: the overlay's record replaces the engine's.
    Both,
}

/// Merges the engine's metadata records of `db` with the overlay's (which win), both in the
/// scan's direction (`before(a, b)`: `a` comes first), calling `visit` as [`Tx::range`] says.
fn merge_range<'o>(
    engine: impl Iterator<Item = lode::Result<(lode::Key, lode::Value)>>,
    overlay: impl Iterator<Item = (&'o Bytes, Option<&'o Meta>)>,
    db: DbIndex,
    now_ms: u64,
    before: impl Fn(&[u8], &[u8]) -> bool,
    mut visit: impl FnMut(&Bytes, Option<&Meta>) -> Result<ControlFlow<()>, CommandError>,
) -> Result<bool, CommandError> {
    // Where the user key starts in an engine key of the range.
    let user_at = |engine_key: &[u8]| -> usize {
        let user = keyspace::user_key_of_meta(db, engine_key)
            .expect("the range lies within the database's metadata keys");
        engine_key.len() - user.len()
    };
    let mut engine = engine.peekable();
    let mut overlay = overlay.peekable();
    loop {
        let next = match (engine.peek(), overlay.peek()) {
            (None, None) => return Ok(true),
            (Some(Err(_)), _) => {
                let Some(Err(e)) = engine.next() else { unreachable!("peeked an error") };
                return Err(e.into());
            }
            (Some(Ok(_)), None) => Next::Engine,
            (None, Some(_)) => Next::Overlay,
            (Some(Ok((ek, _))), Some((ok, _))) => {
                let ek = &ek[user_at(ek)..];
                if ek == &ok[..] {
                    Next::Both
                } else if before(ok, ek) {
                    Next::Overlay
                } else {
                    Next::Engine
                }
            }
        };
        let (key, meta) = if next == Next::Engine {
            let Some(Ok((k, v))) = engine.next() else { unreachable!("peeked") };
            let at = user_at(&k);
            (k.into_bytes().slice(at..), Meta::decode(v.into_bytes())?)
        } else {
            if next == Next::Both {
                engine.next();
            }
            let Some((k, meta)) = overlay.next() else { unreachable!("peeked") };
            match meta {
                Some(meta) => (k.clone(), meta.clone()),
                None => continue,
            }
        };
        let live = (!meta.is_expired(now_ms)).then_some(&meta);
        if visit(&key, live)?.is_break() {
            return Ok(false);
        }
    }
}

fn apply(counter: u64, delta: i64) -> u64 {
    counter.saturating_add_signed(delta)
}

/// The smallest byte string greater than every string starting with `prefix`.
pub(crate) fn successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut out = prefix.to_vec();
    while let Some(last) = out.pop() {
        if last < 0xff {
            out.push(last + 1);
            return Some(out);
        }
    }
    None
}
