//! [`CompactionFilter`]: an application's say over which entries compaction keeps.
//!
//! A store built on the engine often knows that some keys are dead without anyone deleting
//! them: the elements of a collection whose metadata moved to a new version, or a value past
//! its expiry. Deleting them on the request path would cost a scan; a compaction filter lets
//! compaction drop them as it rewrites the files they are in anyway.
//!
//! The filter sees only the newest version of a key, and only when every reader sees that
//! version (no live snapshot is older than it), so removing it changes what every reader sees
//! in the same way and never what one snapshot sees. A removed entry becomes a tombstone with
//! the same seqno, so an older version of the key in a lower level cannot come back; at the
//! bottom of the tree, where nothing lies below, it is dropped outright.
//!
//! A filter that decides by reading other keys (an element by its collection's metadata) reads
//! them through [`FilterContext`], at the oldest seqno any reader can see, held for the whole
//! compaction: a key it finds dead there is dead for every reader, present and future, as long
//! as the application never brings a dead key back to life (a collection version is never
//! reused).

use crate::db::Inner;
use crate::ikey::SeqNo;
use crate::{Result, Value};

/// What a [`CompactionFilter`] decides for one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterDecision {
    /// Keep the entry.
    Keep,
    /// Remove the key, as if it had been deleted.
    Remove,
}

/// The database as a [`CompactionFilter`] may read it: at the oldest seqno any reader sees
/// (the oldest live snapshot, or the newest write when there is none), pinned for the
/// compaction.
#[derive(Debug)]
pub struct FilterContext<'a> {
    pub(crate) inner: &'a Inner,
    pub(crate) seq: SeqNo,
}

impl FilterContext<'_> {
    /// The value of `key` as the oldest reader sees it.
    ///
    /// # Errors
    /// As [`crate::Db::get`]. A filter that cannot read should keep the entry.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Value>> {
        let state = self.inner.read_state();
        self.inner.get_at(&state, key.as_ref(), self.seq)
    }

    /// The seqno the reads see.
    pub fn seqno(&self) -> SeqNo {
        self.seq
    }
}

/// Decides, during compaction, whether a key's newest value is still wanted.
///
/// Called on compaction threads, for keys that hold a value (not for deleted keys). It may read
/// the database through `ctx` (for example the metadata record an element belongs to). It must give the same
/// answer for the same key and value from then on: a key it once removes stays removed, and
/// a key it keeps may be removed by a later compaction only because something else changed.
///
/// ```
/// use lode::{CompactionFilter, FilterContext, FilterDecision};
/// #[derive(Debug)]
/// struct DropScratch;
/// impl CompactionFilter for DropScratch {
///     fn filter(&self, _ctx: &FilterContext<'_>, key: &[u8], _value: &[u8]) -> FilterDecision {
///         if key.starts_with(b"scratch:") { FilterDecision::Remove } else { FilterDecision::Keep }
///     }
/// }
/// let dir = tempfile::tempdir()?;
/// let options = lode::Options::default().compaction_filter(std::sync::Arc::new(DropScratch));
/// let db = lode::Db::open(dir.path(), options)?;
/// db.put("scratch:1", "temporary")?;
/// db.put("kept", "value")?;
/// db.compact()?;
/// assert_eq!(db.get("scratch:1")?, None);
/// assert_eq!(db.get("kept")?.as_deref(), Some(&b"value"[..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait CompactionFilter: Send + Sync + std::fmt::Debug {
    /// Whether compaction keeps `key`'s newest value `value`.
    fn filter(&self, ctx: &FilterContext<'_>, key: &[u8], value: &[u8]) -> FilterDecision;
}
