//! Collection elements in a [`Tx`]: reads that see the `Tx`'s own pending writes, writes that
//! join its batch, ordered scans in both directions, and version allocation.
//!
//! Element keys are built by keyspace.rs (`element_key`, `score_index_key`); this file treats
//! them as opaque engine keys. A command reads its collection's metadata first (the version
//! is in it), then its elements under `element_prefix(.., version)`.

use super::Tx;
use crate::errors::CommandError;
use crate::keyspace::{self, DbIndex, Kind, Meta};
use bytes::Bytes;
use std::ops::{Bound, ControlFlow};
use std::sync::atomic::Ordering;

/// Framing counted per pending element write besides its key and value.
const PENDING_OVERHEAD_BYTES: usize = 16;

/// Whether an element key of `n` bytes is past the engine's key limit. Commands check their
/// arguments with `keyspace::check_element` before writing anything (a command writes all of
/// its elements or none); this is the last line of defence.
fn k_len_past_limit(n: usize) -> bool {
    n > lode::KEY_BYTES_MAX
}

impl Tx<'_> {
    /// A new, never used collection version (docs/format/keys.md, "Versions").
    pub(crate) fn new_version(&mut self) -> Result<u64, CommandError> {
        self.require_write()?;
        self.version_used = true;
        Ok(self.ks.last_version.fetch_add(1, Ordering::Relaxed) + 1)
    }

    /// An empty collection of `kind` with a new version (the caller puts it once it has
    /// elements).
    pub(crate) fn new_collection(&mut self, kind: Kind) -> Result<Meta, CommandError> {
        Ok(Meta::collection(kind, self.new_version()?))
    }

    /// The element stored at `engine_key`, this `Tx`'s pending writes first.
    pub(crate) fn element(&mut self, engine_key: &[u8]) -> Result<Option<Bytes>, CommandError> {
        if let Some(pending) = self.elements.get(engine_key) {
            return Ok(pending.clone());
        }
        Ok(self.engine_get(engine_key)?.map(lode::Value::into_bytes))
    }

    /// Writes an element (or score-index record).
    ///
    /// # Errors
    /// Outside a write burst; a value past the engine's limit.
    pub(crate) fn put_element(
        &mut self,
        engine_key: Vec<u8>,
        value: Bytes,
    ) -> Result<(), CommandError> {
        self.require_write()?;
        if k_len_past_limit(engine_key.len()) {
            return Err(crate::errors::ELEMENT_TOO_LARGE.into());
        }
        if value.len() > keyspace::ELEMENT_VALUE_BYTES_MAX {
            return Err(crate::errors::STRING_TOO_LONG.into());
        }
        self.pending_bytes = self
            .pending_bytes
            .saturating_add(engine_key.len() + value.len() + PENDING_OVERHEAD_BYTES);
        self.elements.insert(engine_key, Some(value));
        Ok(())
    }

    /// Deletes an element (or score-index record).
    pub(crate) fn delete_element(&mut self, engine_key: Vec<u8>) -> Result<(), CommandError> {
        self.require_write()?;
        self.pending_bytes =
            self.pending_bytes.saturating_add(engine_key.len() + PENDING_OVERHEAD_BYTES);
        self.elements.insert(engine_key, None);
        Ok(())
    }

    /// Drops this `Tx`'s pending element writes under `prefix` (a command that wrote a new,
    /// unnamed version and then failed takes its writes back).
    pub(crate) fn discard_elements(&mut self, prefix: &[u8]) {
        let doomed: Vec<Vec<u8>> = self
            .elements
            .range::<[u8], _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for k in doomed {
            if let Some(v) = self.elements.remove(&k) {
                let bytes = k.len() + v.map_or(0, |v| v.len()) + PENDING_OVERHEAD_BYTES;
                self.pending_bytes = self.pending_bytes.saturating_sub(bytes);
            }
        }
    }

    /// Calls `visit` with each element in `(lo, hi)`, this `Tx`'s pending writes merged in,
    /// in key order (descending with `rev`), until it breaks. Returns whether the scan reached
    /// the end of the range. Nothing but the engine's iterator and the pending writes in the
    /// range is held in memory.
    pub(crate) fn scan_elements(
        &mut self,
        lo: Bound<Vec<u8>>,
        hi: Bound<Vec<u8>>,
        rev: bool,
        mut visit: impl FnMut(&[u8], &Bytes) -> Result<ControlFlow<()>, CommandError>,
    ) -> Result<bool, CommandError> {
        let pending: Vec<(Vec<u8>, Option<Bytes>)> = self
            .elements
            .range::<Vec<u8>, _>((lo.as_ref(), hi.as_ref()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut pending: Box<dyn Iterator<Item = (Vec<u8>, Option<Bytes>)>> =
            if rev { Box::new(pending.into_iter().rev()) } else { Box::new(pending.into_iter()) };
        let engine = self.engine_range(lo, hi);
        let mut engine: Box<dyn Iterator<Item = lode::Result<(lode::Key, lode::Value)>>> =
            if rev { Box::new(engine.rev()) } else { Box::new(engine) };
        let mut next_engine = engine.next().transpose()?;
        let mut next_pending = pending.next();
        loop {
            // Which side comes first in scan order; equal keys: the pending write wins.
            let take_pending = match (&next_engine, &next_pending) {
                (None, None) => return Ok(true),
                (Some(_), None) => false,
                (None, Some(_)) => true,
                (Some((ek, _)), Some((pk, _))) => {
                    let (e, p) = (ek.as_ref(), pk.as_slice());
                    if e == p {
                        next_engine = engine.next().transpose()?;
                        true
                    } else {
                        (p < e) != rev
                    }
                }
            };
            if take_pending {
                let (k, v) = next_pending.take().expect("chosen side is present");
                next_pending = pending.next();
                if let Some(v) = v
                    && visit(&k, &v)?.is_break()
                {
                    return Ok(false);
                }
            } else {
                let (k, v) = next_engine.take().expect("chosen side is present");
                next_engine = engine.next().transpose()?;
                if visit(k.as_ref(), &v.into_bytes())?.is_break() {
                    return Ok(false);
                }
            }
        }
    }

    /// Every element of a collection (`ns` = `NS_ELEMENT` or `NS_SCORE`), in order.
    pub(crate) fn scan_collection(
        &mut self,
        ns: u8,
        key: &[u8],
        meta: &Meta,
        rev: bool,
        mut visit: impl FnMut(&[u8], &Bytes) -> Result<ControlFlow<()>, CommandError>,
    ) -> Result<bool, CommandError> {
        let prefix = keyspace::element_prefix(ns, self.db, key, meta.version);
        let n = prefix.len();
        let hi = match super::successor(&prefix) {
            Some(end) => Bound::Excluded(end),
            None => Bound::Unbounded,
        };
        self.scan_elements(Bound::Included(prefix), hi, rev, |k, v| visit(&k[n..], v))
    }

    /// Copies the collection `meta` at `key` in the current database to `to_key` in `to_db`
    /// under a new version: returns the new metadata (same expiry), which the caller puts.
    /// O(N): RENAME, COPY and MOVE of a collection.
    pub(crate) fn copy_collection(
        &mut self,
        key: &[u8],
        meta: &Meta,
        to_db: DbIndex,
        to_key: &[u8],
    ) -> Result<Meta, CommandError> {
        let version = self.new_version()?;
        let mut copied = Vec::new();
        for ns in [keyspace::NS_ELEMENT, keyspace::NS_SCORE] {
            if ns == keyspace::NS_SCORE && meta.kind != Kind::ZSet {
                continue;
            }
            let to_prefix = keyspace::element_prefix(ns, to_db, to_key, version);
            self.scan_collection(ns, key, meta, false, |field, value| {
                if ns == keyspace::NS_ELEMENT {
                    keyspace::check_element(to_key, field)?;
                }
                let mut k = to_prefix.clone();
                k.extend_from_slice(field);
                copied.push((k, value.clone()));
                Ok(ControlFlow::Continue(()))
            })?;
        }
        for (k, v) in copied {
            self.put_element(k, v)?;
        }
        Ok(Meta { version, ..meta.clone() })
    }
}
