//! One sorted set's records (docs/format/keys.md, "Collections"): a member record
//! `element_key(.., member)` -> the score's 8 big-endian bytes, and a score-index record
//! `score_index_key(.., score, member)` -> empty, always written and deleted together.
//!
//! Reads walk the score index, which is in Redis's order (score, then member bytes), from
//! whichever end is nearer to what they need: nothing here holds more than the entries a
//! caller keeps, and no scan starts before the first entry it can use (score ranges seek to
//! their first score; rank ranges skip from the nearer end). There is no order-statistics
//! index, so a rank costs a walk: ZRANK reads min(rank, len - rank) entries, twice over at
//! most (it walks from both ends at once).

use crate::errors::{self, CommandError};
use crate::keyspace::{self, DbIndex, Meta, NS_ELEMENT, NS_SCORE};
use crate::tx::{Tx, successor};
use bytes::Bytes;
use std::ops::{Bound, ControlFlow};

use super::score::{LexRange, ScoreRange};

/// The first chunk ZRANK reads from each end before it doubles the chunk.
const RANK_CHUNK_FIRST: usize = 64;
/// The largest chunk ZRANK reads from one end before turning to the other.
const RANK_CHUNK_MAX: usize = 1 << 16;

/// What a visitor of index entries answers: go on or stop.
pub(crate) type Flow = Result<ControlFlow<()>, CommandError>;

/// An offset and a count over a walk of entries, as Redis's LIMIT and rank ranges apply them.
struct Window {
    /// Entries still to pass over before the first visit.
    skip: u64,
    /// Visits still to make; `None`: no limit.
    left: Option<u64>,
}

impl Window {
    /// LIMIT `offset` `count` (offset not negative; a negative count: no limit).
    fn limit(offset: i64, count: i64) -> Window {
        Window { skip: offset.unsigned_abs(), left: u64::try_from(count).ok() }
    }

    /// Passes over the entry while skipping, else visits it; breaks once the count is spent
    /// or `visit` breaks.
    fn offer(
        &mut self,
        score: f64,
        member: &[u8],
        visit: &mut impl FnMut(f64, &[u8]) -> Flow,
    ) -> Flow {
        if self.skip > 0 {
            self.skip -= 1;
            return Ok(ControlFlow::Continue(()));
        }
        if visit(score, member)?.is_break() {
            return Ok(ControlFlow::Break(()));
        }
        self.left = self.left.map(|n| n.saturating_sub(1));
        Ok(if self.left == Some(0) { ControlFlow::Break(()) } else { ControlFlow::Continue(()) })
    }
}

/// A score as stored: -0 becomes +0, as Redis's listpack stores it (so ZSCORE of a member
/// added with "-0" is "0").
pub(crate) fn stored(score: f64) -> f64 {
    if score == 0.0 { 0.0 } else { score }
}

/// A score record's value.
pub(crate) fn decode_score(bytes: &[u8]) -> Result<f64, CommandError> {
    let raw: [u8; 8] =
        bytes.try_into().map_err(|_| errors::corrupt_record("sorted-set score is not 8 bytes"))?;
    let score = f64::from_be_bytes(raw);
    if score.is_nan() {
        return Err(errors::corrupt_record("sorted-set score is NaN"));
    }
    Ok(score)
}

/// `(score, member)` of a score-index key's suffix after its prefix.
fn decode_index(suffix: &[u8]) -> Result<(f64, &[u8]), CommandError> {
    let (score, member) = suffix
        .split_at_checked(8)
        .ok_or_else(|| errors::corrupt_record("score-index key shorter than its score"))?;
    let raw: [u8; 8] = score.try_into().map_err(|_| errors::corrupt_record("score"))?;
    Ok((keyspace::key_to_score(u64::from_be_bytes(raw)), member))
}

/// A sorted set as one command sees it: key, metadata (with the version its records are
/// under), and the prefixes of its two record ranges.
#[derive(Debug, Clone)]
pub(crate) struct ZSet {
    pub key: Bytes,
    pub meta: Meta,
    db: DbIndex,
    /// `element_prefix(NS_SCORE, ..)`.
    index: Vec<u8>,
}

impl ZSet {
    pub(crate) fn new(db: DbIndex, key: Bytes, meta: Meta) -> ZSet {
        let index = keyspace::element_prefix(NS_SCORE, db, &key, meta.version);
        ZSet { key, meta, db, index }
    }

    pub(crate) fn len(&self) -> u64 {
        self.meta.len
    }

    fn member_key(&self, member: &[u8]) -> Vec<u8> {
        keyspace::element_key(self.db, &self.key, self.meta.version, member)
    }

    fn index_key(&self, score: f64, member: &[u8]) -> Vec<u8> {
        let mut k = self.index_at(score);
        k.extend_from_slice(member);
        k
    }

    /// The index prefix of every entry with `score`.
    fn index_at(&self, score: f64) -> Vec<u8> {
        self.index_at_key(keyspace::score_to_key(score))
    }

    fn index_at_key(&self, score_key: u64) -> Vec<u8> {
        let mut k = self.index.clone();
        k.extend_from_slice(&score_key.to_be_bytes());
        k
    }

    /// Just past the last index entry.
    fn index_end(&self) -> Bound<Vec<u8>> {
        successor(&self.index).map_or(Bound::Unbounded, Bound::Excluded)
    }

    /// The score of `member`, `None` if it is not in the set.
    pub(crate) fn score(
        &self,
        tx: &mut Tx<'_>,
        member: &[u8],
    ) -> Result<Option<f64>, CommandError> {
        if self.meta.len == 0 {
            return Ok(None);
        }
        tx.element(&self.member_key(member))?.map(|v| decode_score(&v)).transpose()
    }

    /// Sets `member`'s score to `new` (its current score is `old`, `None` if it is new).
    pub(crate) fn set(
        &mut self,
        tx: &mut Tx<'_>,
        member: &[u8],
        old: Option<f64>,
        new: f64,
    ) -> Result<(), CommandError> {
        let new = stored(new);
        match old {
            Some(old) if old.to_bits() == new.to_bits() => return Ok(()),
            Some(old) => tx.delete_element(self.index_key(old, member))?,
            None => self.meta.len += 1,
        }
        tx.put_element(self.member_key(member), Bytes::copy_from_slice(&new.to_be_bytes()))?;
        let key = self.index_key(new, member);
        // Keep the known ends true: an entry below the low end lowers it; one at or above the
        // high end raises it to just past the entry.
        let suffix = &key[self.index.len()..];
        if self.meta.index_low.as_ref().is_some_and(|low| suffix < &low[..]) {
            self.meta.index_low = (suffix.len() <= keyspace::INDEX_HINT_BYTES_MAX)
                .then(|| Bytes::copy_from_slice(suffix));
        }
        if self.meta.index_high.as_ref().is_some_and(|high| suffix >= &high[..]) {
            self.meta.index_high = (suffix.len() < keyspace::INDEX_HINT_BYTES_MAX)
                .then(|| Bytes::from([suffix, &[0u8][..]].concat()));
        }
        tx.put_element(key, Bytes::new())
    }

    /// Records that the entries up to and including `(score, member)` are all removed (the
    /// lowest ones: a pop or a removal from the low end), so scans from the low end seek
    /// past them. Not recorded for a member too long to keep in the metadata.
    pub(crate) fn removed_through(&mut self, score: f64, member: &[u8]) {
        let mut suffix = keyspace::score_to_key(stored(score)).to_be_bytes().to_vec();
        suffix.extend_from_slice(member);
        suffix.push(0);
        if suffix.len() <= keyspace::INDEX_HINT_BYTES_MAX {
            self.meta.index_low = Some(Bytes::from(suffix));
        }
    }

    /// Records that the entries from `(score, member)` up are all removed (the highest ones).
    pub(crate) fn removed_from(&mut self, score: f64, member: &[u8]) {
        let mut suffix = keyspace::score_to_key(stored(score)).to_be_bytes().to_vec();
        suffix.extend_from_slice(member);
        if suffix.len() <= keyspace::INDEX_HINT_BYTES_MAX {
            self.meta.index_high = Some(Bytes::from(suffix));
        }
    }

    /// `(lo, hi)` narrowed to the set's known ends (see [`Meta::index_low`]): the same live
    /// entries, without the deleted ones outside the ends.
    fn within_ends(
        &self,
        lo: Bound<Vec<u8>>,
        hi: Bound<Vec<u8>>,
    ) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
        // An end as a full index key, built only when it replaces a bound.
        let full = |h: &Bytes| [&self.index[..], &h[..]].concat();
        let below = |k: &[u8], h: &Bytes| k.iter().lt(self.index.iter().chain(h.iter()));
        let lo = match (&self.meta.index_low, lo) {
            (Some(low), Bound::Included(k) | Bound::Excluded(k)) if below(&k, low) => {
                Bound::Included(full(low))
            }
            (Some(low), Bound::Unbounded) => Bound::Included(full(low)),
            (_, lo) => lo,
        };
        let hi = match (&self.meta.index_high, hi) {
            (Some(high), Bound::Included(k) | Bound::Excluded(k)) if !below(&k, high) => {
                Bound::Excluded(full(high))
            }
            (Some(high), Bound::Unbounded) => Bound::Excluded(full(high)),
            (_, hi) => hi,
        };
        (lo, hi)
    }

    /// Removes `member`, whose score is `score`.
    pub(crate) fn remove(
        &mut self,
        tx: &mut Tx<'_>,
        member: &[u8],
        score: f64,
    ) -> Result<(), CommandError> {
        tx.delete_element(self.member_key(member))?;
        tx.delete_element(self.index_key(score, member))?;
        self.meta.len = self.meta.len.saturating_sub(1);
        Ok(())
    }

    /// Visits the index entries in `(lo, hi)` in order (descending with `rev`) until `visit`
    /// breaks; returns whether the scan reached the end of the range.
    fn scan(
        &self,
        tx: &mut Tx<'_>,
        lo: Bound<Vec<u8>>,
        hi: Bound<Vec<u8>>,
        rev: bool,
        mut visit: impl FnMut(f64, &[u8]) -> Flow,
    ) -> Result<bool, CommandError> {
        let n = self.index.len();
        let (lo, hi) = self.within_ends(lo, hi);
        tx.scan_elements(lo, hi, rev, |k, _| {
            let (score, member) = decode_index(&k[n..])?;
            visit(score, member)
        })
    }

    /// Every entry, in score order (descending with `rev`), until `visit` breaks.
    pub(crate) fn scan_all(
        &self,
        tx: &mut Tx<'_>,
        rev: bool,
        visit: impl FnMut(f64, &[u8]) -> Flow,
    ) -> Result<bool, CommandError> {
        self.scan(tx, Bound::Included(self.index.clone()), self.index_end(), rev, visit)
    }

    /// Every member record, in member order, after `after` if given (ZSCAN, set operations).
    pub(crate) fn scan_members(
        &self,
        tx: &mut Tx<'_>,
        after: Option<&[u8]>,
        mut visit: impl FnMut(&[u8], f64) -> Flow,
    ) -> Result<bool, CommandError> {
        let prefix = keyspace::element_prefix(NS_ELEMENT, self.db, &self.key, self.meta.version);
        let n = prefix.len();
        let hi = successor(&prefix).map_or(Bound::Unbounded, Bound::Excluded);
        let lo = match after {
            Some(member) => {
                let mut k = prefix;
                k.extend_from_slice(member);
                Bound::Excluded(k)
            }
            None => Bound::Included(prefix),
        };
        tx.scan_elements(lo, hi, false, |k, v| visit(&k[n..], decode_score(v)?))
    }

    /// The first (`rev`: last) member record in a range of member bytes, with its score.
    pub(crate) fn member_edge(
        &self,
        tx: &mut Tx<'_>,
        (lo, hi): (Bound<&[u8]>, Bound<&[u8]>),
        rev: bool,
    ) -> Result<Option<(Bytes, f64)>, CommandError> {
        let prefix = keyspace::element_prefix(NS_ELEMENT, self.db, &self.key, self.meta.version);
        let n = prefix.len();
        let full = |m: &[u8]| {
            let mut k = prefix.clone();
            k.extend_from_slice(m);
            k
        };
        let lo = match lo {
            Bound::Included(m) => Bound::Included(full(m)),
            Bound::Excluded(m) => Bound::Excluded(full(m)),
            Bound::Unbounded => Bound::Included(prefix.clone()),
        };
        let hi = match hi {
            Bound::Included(m) => Bound::Included(full(m)),
            Bound::Excluded(m) => Bound::Excluded(full(m)),
            Bound::Unbounded => successor(&prefix).map_or(Bound::Unbounded, Bound::Excluded),
        };
        let mut found = None;
        tx.scan_elements(lo, hi, rev, |k, v| {
            found = Some((Bytes::copy_from_slice(&k[n..]), decode_score(v)?));
            Ok(ControlFlow::Break(()))
        })?;
        Ok(found)
    }

    /// The lowest (`rev`: highest) entry.
    pub(crate) fn end_entry(
        &self,
        tx: &mut Tx<'_>,
        rev: bool,
    ) -> Result<Option<(f64, Bytes)>, CommandError> {
        let mut found = None;
        self.scan_all(tx, rev, |score, member| {
            found = Some((score, Bytes::copy_from_slice(member)));
            Ok(ControlFlow::Break(()))
        })?;
        Ok(found)
    }

    /// The index bounds of a score range (not empty).
    fn score_bounds(&self, range: &ScoreRange) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
        let min = keyspace::score_to_key(range.min);
        let max = keyspace::score_to_key(range.max);
        // Score keys of non-NaN scores are never u64::MAX, so the +1s cannot overflow; a
        // NaN's key would do no harm either (no entry has one).
        let lo = Bound::Included(self.index_at_key(if range.minex { min + 1 } else { min }));
        let hi = Bound::Excluded(self.index_at_key(if range.maxex { max } else { max + 1 }));
        (lo, hi)
    }

    /// Visits the entries with scores in `range`, ascending (`rev`: descending), skipping the
    /// first `offset` and stopping after `limit` (negative: no limit), as Redis's LIMIT.
    pub(crate) fn by_score(
        &self,
        tx: &mut Tx<'_>,
        range: &ScoreRange,
        rev: bool,
        offset: i64,
        limit: i64,
        mut visit: impl FnMut(f64, &[u8]) -> Flow,
    ) -> Result<(), CommandError> {
        if range.is_empty() || offset < 0 || limit == 0 || self.meta.len == 0 {
            return Ok(());
        }
        let (lo, hi) = self.score_bounds(range);
        let mut window = Window::limit(offset, limit);
        self.scan(tx, lo, hi, rev, |score, member| window.offer(score, member, &mut visit))?;
        Ok(())
    }

    /// How many entries have scores in `range` (ZCOUNT): one seek, then the matches.
    pub(crate) fn count_score(
        &self,
        tx: &mut Tx<'_>,
        range: &ScoreRange,
    ) -> Result<u64, CommandError> {
        let mut n = 0u64;
        self.by_score(tx, range, false, 0, -1, |_, _| {
            n += 1;
            Ok(ControlFlow::Continue(()))
        })?;
        Ok(n)
    }

    /// Visits the entries Redis's listpack walk finds for a lexicographic range, skipping
    /// `offset` and stopping after `limit` (negative: no limit).
    ///
    /// Redis specifies lex ranges only for sets whose scores are all equal; otherwise its
    /// answer depends on its encoding. For small sets (the listpack) it walks in score order:
    /// nothing if the last entry is below `min` or the first above `max`; else from the first
    /// entry at or above `min` (`rev`: from the last at or below `max`), which must itself be
    /// in range, on while entries stay at or below `max` (`rev`: at or above `min`), the
    /// offset skipping without checks. Lode gives exactly that answer. With equal scores
    /// (the meaningful case) the start is a seek; with unequal scores it is a walk.
    pub(crate) fn by_lex(
        &self,
        tx: &mut Tx<'_>,
        range: &LexRange,
        rev: bool,
        offset: i64,
        limit: i64,
        mut visit: impl FnMut(f64, &[u8]) -> Flow,
    ) -> Result<(), CommandError> {
        if range.is_empty() || offset < 0 || limit == 0 || self.meta.len == 0 {
            return Ok(());
        }
        let Some((first_score, first)) = self.end_entry(tx, false)? else { return Ok(()) };
        let Some((last_score, last)) = self.end_entry(tx, true)? else { return Ok(()) };
        if !range.gte_min(&last) || !range.lte_max(&first) {
            return Ok(());
        }
        let (mut lo, mut hi) = (Bound::Included(self.index.clone()), self.index_end());
        if first_score.to_bits() == last_score.to_bits() {
            // One score: index order is member order, so seek to the range's start.
            use super::score::LexBound;
            let at = |b: &[u8]| {
                let mut k = self.index_at(first_score);
                k.extend_from_slice(b);
                k
            };
            if rev {
                hi = match &range.max {
                    LexBound::Inclusive(b) => Bound::Included(at(b)),
                    LexBound::Exclusive(b) => Bound::Excluded(at(b)),
                    LexBound::Min | LexBound::Max => hi,
                };
            } else {
                lo = match &range.min {
                    LexBound::Inclusive(b) => Bound::Included(at(b)),
                    LexBound::Exclusive(b) => Bound::Excluded(at(b)),
                    LexBound::Min | LexBound::Max => lo,
                };
            }
        }
        let (mut started, mut window) = (false, Window::limit(offset, limit));
        self.scan(tx, lo, hi, rev, |score, member| {
            if !started {
                let (reached, inside) = if rev {
                    (range.lte_max(member), range.gte_min(member))
                } else {
                    (range.gte_min(member), range.lte_max(member))
                };
                if !reached {
                    return Ok(ControlFlow::Continue(()));
                }
                if !inside {
                    return Ok(ControlFlow::Break(()));
                }
                started = true;
            }
            window.offer(score, member, &mut |score, member| {
                let inside = if rev { range.gte_min(member) } else { range.lte_max(member) };
                if !inside {
                    return Ok(ControlFlow::Break(()));
                }
                visit(score, member)
            })
        })?;
        Ok(())
    }

    /// Visits the entries at ranks `start..=end` (`0 <= start <= end < len`; with `rev`,
    /// ranks count from the highest score), walking from the end of the index nearer to
    /// them: it reads `min(start, len - 1 - end) + (end - start + 1)` entries. Returns true
    /// when the visit order is the reverse of the rank order (the caller flips its output).
    pub(crate) fn by_rank(
        &self,
        tx: &mut Tx<'_>,
        start: u64,
        end: u64,
        rev: bool,
        mut visit: impl FnMut(f64, &[u8]) -> Flow,
    ) -> Result<bool, CommandError> {
        let len = self.meta.len;
        let last = len.saturating_sub(1);
        // Positions in ascending score order.
        let (fs, fe) = if rev { (last - end, last - start) } else { (start, end) };
        let from_front = fs <= last - fe;
        let skip = if from_front { fs } else { last - fe };
        let mut window = Window { skip, left: Some(fe - fs + 1) };
        self.scan_all(tx, !from_front, |score, member| window.offer(score, member, &mut visit))?;
        Ok(from_front == rev)
    }

    /// The 0-based rank of `member` (score `score`) in ascending order. Walks from both ends
    /// of the index at once, in chunks that double, and stops when either walk meets the
    /// member: about 2 * min(rank, len - rank) entries read.
    pub(crate) fn rank(
        &self,
        tx: &mut Tx<'_>,
        score: f64,
        member: &[u8],
    ) -> Result<u64, CommandError> {
        let target = self.index_key(score, member);
        let (mut front, mut back) =
            self.within_ends(Bound::Included(self.index.clone()), self.index_end());
        let (mut before, mut after) = (0u64, 0u64);
        let mut chunk = RANK_CHUNK_FIRST;
        loop {
            for rev in [false, true] {
                let (lo, hi) = if rev {
                    (Bound::Excluded(target.clone()), back.clone())
                } else {
                    (front.clone(), Bound::Excluded(target.clone()))
                };
                let mut n = 0usize;
                let mut last_key: Option<Vec<u8>> = None;
                let done = tx.scan_elements(lo, hi, rev, |k, _| {
                    n += 1;
                    if n == chunk {
                        last_key = Some(k.to_vec());
                        return Ok(ControlFlow::Break(()));
                    }
                    Ok(ControlFlow::Continue(()))
                })?;
                if rev {
                    after += n as u64;
                } else {
                    before += n as u64;
                }
                match last_key {
                    Some(k) if !done => {
                        if rev {
                            back = Bound::Excluded(k);
                        } else {
                            front = Bound::Excluded(k);
                        }
                    }
                    _ if rev => return Ok(self.meta.len.saturating_sub(after + 1)),
                    _ => return Ok(before),
                }
            }
            chunk = (chunk * 2).min(RANK_CHUNK_MAX);
        }
    }
}
