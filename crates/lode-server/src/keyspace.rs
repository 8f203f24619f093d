//! Redis keys on the engine: the byte encoding (docs/format/keys.md) and the shared keyspace
//! state (the engine handle, the write lock, the per-database key counters, WATCH versions).
//!
//! Role: every command reads and writes through a [`crate::tx::Tx`] over this [`Keyspace`];
//! only this file knows how a metadata record, an expiry-index entry or a counter is laid out.
//!
//! Invariants (maintained by `Tx::commit`, the only writer): an expiry-index entry exists
//! exactly for each metadata record with a non-zero expiry, and each database's `keys`/`expires`
//! counters (persisted and in memory) equal the number of its metadata records and of those
//! with an expiry.
//!
//! Concurrency: `write_lock` is held by every burst of commands that writes, for the whole
//! burst, so read-modify-write commands are atomic; readers take engine snapshots and no lock.

use crate::errors::{self, CommandError};
use bytes::{BufMut, Bytes};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Format version in the high nibble of a metadata record's first byte.
pub(crate) const FORMAT_VERSION: u8 = 1;
/// Namespace bytes: the first byte of every engine key the server writes.
pub(crate) const NS_SYSTEM: u8 = 0x00;
pub(crate) const NS_META: u8 = 0x01;
pub(crate) const NS_EXPIRY: u8 = 0x03;
/// Logical databases (`SELECT 0` to `SELECT 15`), Redis's default `databases`.
pub(crate) const DATABASES: usize = 16;
/// Bytes before a string's value in its metadata record: flags, expiry.
pub(crate) const META_HEADER_BYTES: usize = 9;
/// Longest user key: the engine's key limit minus the expiry index's framing (1 + 1 + 8).
pub const USER_KEY_BYTES_MAX: usize = lode::KEY_BYTES_MAX - 10;
/// Longest string value: the engine's value limit minus the metadata header.
pub const STRING_BYTES_MAX: usize = lode::VALUE_BYTES_MAX - META_HEADER_BYTES;

/// The Redis type of a key (the low nibble of its metadata's first byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    String = 1,
}

impl Kind {
    /// The name `TYPE` answers.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::String => "string",
        }
    }
}

/// A decoded metadata record: one per Redis key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Meta {
    pub kind: Kind,
    /// Absolute expiry in Unix milliseconds; 0 = none.
    pub expire_at_ms: u64,
    /// A string's value.
    pub value: Bytes,
}

impl Meta {
    /// A string record without expiry.
    pub(crate) fn string(value: Bytes) -> Meta {
        Meta { kind: Kind::String, expire_at_ms: 0, value }
    }

    /// Redis's `keyIsExpired`: expired once now is past the expiry time.
    pub(crate) fn is_expired(&self, now_ms: u64) -> bool {
        self.expire_at_ms != 0 && now_ms > self.expire_at_ms
    }

    pub(crate) fn encoded_bytes(&self) -> usize {
        META_HEADER_BYTES + self.value.len()
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_bytes());
        out.push(FORMAT_VERSION << 4 | self.kind as u8);
        out.put_u64(self.expire_at_ms);
        out.extend_from_slice(&self.value);
        out
    }

    /// # Errors
    /// A short record, an unknown format version or type.
    pub(crate) fn decode(bytes: Bytes) -> Result<Meta, CommandError> {
        if bytes.len() < META_HEADER_BYTES {
            return Err(errors::corrupt_record("metadata shorter than its header"));
        }
        if bytes[0] >> 4 != FORMAT_VERSION {
            return Err(errors::corrupt_record("unknown metadata format version"));
        }
        let kind = match bytes[0] & 0x0f {
            1 => Kind::String,
            _ => return Err(errors::corrupt_record("unknown key type")),
        };
        let mut at = [0u8; 8];
        at.copy_from_slice(&bytes[1..META_HEADER_BYTES]);
        Ok(Meta {
            kind,
            expire_at_ms: u64::from_be_bytes(at),
            value: bytes.slice(META_HEADER_BYTES..),
        })
    }
}

/// A logical database's index (the `db` byte of docs/format/keys.md), below [`DATABASES`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct DbIndex(u8);

impl DbIndex {
    pub(crate) const ZERO: DbIndex = DbIndex(0);

    /// `None` past the last database.
    pub(crate) fn new(n: i64) -> Option<DbIndex> {
        u8::try_from(n).ok().filter(|&n| usize::from(n) < DATABASES).map(DbIndex)
    }

    pub(crate) fn get(self) -> u8 {
        self.0
    }

    fn slot(self) -> usize {
        usize::from(self.0)
    }

    /// Every database, in order.
    pub(crate) fn all() -> impl Iterator<Item = DbIndex> {
        (0..DATABASES as u8).map(DbIndex)
    }
}

/// `0x01 db user_key`.
pub(crate) fn meta_key(db: DbIndex, key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + key.len());
    out.extend_from_slice(&meta_prefix(db));
    out.extend_from_slice(key);
    out
}

/// The prefix every metadata key of `db` starts with.
pub(crate) fn meta_prefix(db: DbIndex) -> [u8; 2] {
    [NS_META, db.0]
}

/// The user key of a metadata key, `None` if it is not one of `db`'s.
pub(crate) fn user_key_of_meta(db: DbIndex, engine_key: &[u8]) -> Option<&[u8]> {
    engine_key.strip_prefix(&meta_prefix(db)[..])
}

/// `0x03 db expire_at_ms user_key`.
pub(crate) fn expiry_key(db: DbIndex, expire_at_ms: u64, key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(10 + key.len());
    out.extend_from_slice(&[NS_EXPIRY, db.0]);
    out.put_u64(expire_at_ms);
    out.extend_from_slice(key);
    out
}

/// `(expire_at_ms, user_key)` of one of `db`'s expiry-index keys.
pub(crate) fn parse_expiry_key(db: DbIndex, engine_key: &[u8]) -> Option<(u64, &[u8])> {
    let rest = engine_key.strip_prefix(&[NS_EXPIRY, db.0][..])?;
    let (at, key) = rest.split_at_checked(8)?;
    Some((u64::from_be_bytes(at.try_into().ok()?), key))
}

/// `0x00 name db`: a system record.
pub(crate) fn system_key(name: &str, db: DbIndex) -> Vec<u8> {
    let mut out = vec![NS_SYSTEM];
    out.extend_from_slice(name.as_bytes());
    out.push(db.0);
    out
}

pub(crate) fn decode_counter(bytes: &[u8]) -> Result<u64, CommandError> {
    let raw: [u8; 8] =
        bytes.try_into().map_err(|_| errors::corrupt_record("counter is not 8 bytes"))?;
    Ok(u64::from_be_bytes(raw))
}

/// A watched key's modification counter (WATCH/EXEC).
#[derive(Debug)]
struct Watched {
    watchers: usize,
    version: u64,
}

/// One logical database's counters.
#[derive(Debug, Default)]
pub(crate) struct DbCounts {
    /// Metadata records, and those with an expiry; see the module invariants.
    pub keys: AtomicU64,
    pub expires: AtomicU64,
    /// No expiry-index entry of this database is older than this: the active cycle starts
    /// its scan here.
    pub expiry_floor_ms: AtomicU64,
}

/// The keyspace shared by every connection.
#[derive(Debug)]
pub(crate) struct Keyspace {
    pub db: lode::Db,
    write_lock: Mutex<()>,
    counts: [DbCounts; DATABASES],
    /// The database the active expiry cycle starts with (the one a cycle ran out of time in).
    pub expire_next_db: AtomicU64,
    watched: Mutex<HashMap<(DbIndex, Bytes), Watched>>,
    /// Committed key writes since the last SAVE (INFO's `rdb_changes_since_last_save`).
    pub changes_since_save: AtomicU64,
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub expired_keys: AtomicU64,
}

impl Keyspace {
    /// Opens the keyspace on `db`, reading the persisted counters.
    ///
    /// # Errors
    /// Engine errors, or a corrupt counter record.
    pub(crate) fn open(db: lode::Db) -> Result<Keyspace, String> {
        let read = |name: &str, index: DbIndex| -> Result<u64, String> {
            match db.get(system_key(name, index)).map_err(|e| e.to_string())? {
                Some(v) => decode_counter(&v)
                    .map_err(|_| format!("corrupt {name} counter of db {}", index.0)),
                None => Ok(0),
            }
        };
        let counts: [DbCounts; DATABASES] = Default::default();
        for index in DbIndex::all() {
            let c = &counts[index.slot()];
            c.keys.store(read("keys", index)?, Ordering::Relaxed);
            c.expires.store(read("expires", index)?, Ordering::Relaxed);
        }
        let format_key = system_key("format", DbIndex::ZERO);
        match db.get(&format_key).map_err(|e| e.to_string())? {
            Some(v) if v.as_ref() == [FORMAT_VERSION] => {}
            Some(v) => return Err(format!("unsupported keyspace format {:?}", v.as_ref())),
            None => db.put(format_key, [FORMAT_VERSION]).map_err(|e| e.to_string())?,
        }
        Ok(Keyspace {
            db,
            write_lock: Mutex::new(()),
            counts,
            expire_next_db: AtomicU64::new(0),
            watched: Mutex::new(HashMap::new()),
            changes_since_save: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            expired_keys: AtomicU64::new(0),
        })
    }

    /// The write lock; see the module docs. Survives poisoning: a panicking burst never
    /// committed, so the keyspace is as it was.
    pub(crate) fn lock_writes(&self) -> MutexGuard<'_, ()> {
        self.write_lock.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The counters of database `db`.
    pub(crate) fn counts(&self, db: DbIndex) -> &DbCounts {
        &self.counts[db.slot()]
    }

    /// Keys with an expiry, over every database.
    pub(crate) fn total_expires(&self) -> u64 {
        self.counts.iter().map(|c| Keyspace::get(&c.expires)).sum()
    }

    /// `(db, keys, expires)` of each database that has keys (INFO's keyspace section).
    pub(crate) fn nonempty_dbs(&self) -> Vec<(DbIndex, u64, u64)> {
        DbIndex::all()
            .map(|db| {
                let c = self.counts(db);
                (db, Keyspace::get(&c.keys), Keyspace::get(&c.expires))
            })
            .filter(|&(_, keys, _)| keys > 0)
            .collect()
    }

    fn watched(&self) -> MutexGuard<'_, HashMap<(DbIndex, Bytes), Watched>> {
        self.watched.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a watcher of `key` in `db`; returns its current version.
    pub(crate) fn watch(&self, db: DbIndex, key: &Bytes) -> u64 {
        let mut map = self.watched();
        let entry = map.entry((db, key.clone())).or_insert(Watched { watchers: 0, version: 0 });
        entry.watchers += 1;
        entry.version
    }

    /// Drops one watcher of `key` in `db`.
    pub(crate) fn unwatch(&self, db: DbIndex, key: &Bytes) {
        let mut map = self.watched();
        let id = (db, key.clone());
        if let Some(entry) = map.get_mut(&id) {
            entry.watchers -= 1;
            if entry.watchers == 0 {
                map.remove(&id);
            }
        }
    }

    /// The current version of a watched key.
    pub(crate) fn watch_version(&self, db: DbIndex, key: &Bytes) -> u64 {
        self.watched().get(&(db, key.clone())).map_or(u64::MAX, |w| w.version)
    }

    /// Marks `keys` modified for their watchers (called after a successful commit).
    pub(crate) fn touch_watched<'k>(&self, keys: impl Iterator<Item = &'k (DbIndex, Bytes)>) {
        let mut map = self.watched();
        if map.is_empty() {
            return;
        }
        for key in keys {
            if let Some(entry) = map.get_mut(key) {
                entry.version += 1;
            }
        }
    }

    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_doc_hex_example_is_what_the_encoder_writes() {
        let doc = include_str!("../../../docs/format/keys.md");
        let expected = lode_testkit::doc_hex_example(doc);
        let meta = Meta {
            kind: Kind::String,
            expire_at_ms: 1_700_000_000_000,
            value: Bytes::from_static(b"hi"),
        };
        let mut got = meta_key(DbIndex::ZERO, b"greeting");
        got.extend_from_slice(&meta.encode());
        assert_eq!(got, expected);
    }

    #[test]
    fn meta_round_trips_and_rejects_bad_bytes() {
        let meta = Meta { kind: Kind::String, expire_at_ms: 42, value: Bytes::from_static(b"v") };
        assert_eq!(Meta::decode(Bytes::from(meta.encode())).ok(), Some(meta));
        for bad in [&b""[..], &[0x11; 8], &[0x21, 0, 0, 0, 0, 0, 0, 0, 0], &[0x1f; 9]] {
            assert!(Meta::decode(Bytes::copy_from_slice(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn expiry_keys_sort_by_time_then_key() {
        let db = DbIndex::ZERO;
        let a = expiry_key(db, 5, b"zzz");
        let b = expiry_key(db, 6, b"aaa");
        assert!(a < b);
        assert_eq!(parse_expiry_key(db, &b), Some((6, &b"aaa"[..])));
        assert_eq!(parse_expiry_key(db, b"\x03"), None);
        let other = DbIndex::new(1).expect("db 1 exists");
        assert_eq!(parse_expiry_key(other, &b), None, "another database's entry");
        assert!(expiry_key(db, u64::MAX, b"z") < expiry_key(other, 0, b""));
    }

    #[test]
    fn db_index_accepts_0_to_15_only() {
        assert_eq!(DbIndex::new(0), Some(DbIndex::ZERO));
        assert_eq!(DbIndex::new(15).map(DbIndex::get), Some(15));
        for bad in [-1, 16, 256, i64::MAX, i64::MIN] {
            assert_eq!(DbIndex::new(bad), None, "{bad}");
        }
        assert_eq!(DbIndex::all().count(), DATABASES);
    }

    #[test]
    fn expiry_is_strictly_after_the_deadline() {
        let meta = Meta { kind: Kind::String, expire_at_ms: 100, value: Bytes::new() };
        assert!(!meta.is_expired(100));
        assert!(meta.is_expired(101));
        assert!(!Meta::string(Bytes::new()).is_expired(u64::MAX));
    }
}
