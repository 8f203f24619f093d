//! What the collection commands share on top of `tx/elements.rs`: paging through a
//! collection's elements in order ([`Pager`], so a command can read other keys between pages),
//! random picks that never read a big collection whole ([`Sampler`]), and the *SCAN commands'
//! cursor ([`scan_page`]). Used by the hash and set commands; any collection whose elements are
//! `element_key(db, key, version, field)` records can use them.
//!
//! **Random picks.** A collection of at most [`EXACT_PICK_MAX`] elements is read (fields only)
//! and picked from exactly uniformly. A bigger one is sampled by a random descent of the byte
//! trie of its fields, each step a few engine seeks: at a branch (the fields sharing a prefix),
//! read its first [`BRANCH_SMALL_MAX`] + 1 fields; if that is all of them, pick one uniformly;
//! otherwise find the branch's last field, and among the bytes that follow the prefix the
//! first and last fields share, choose one uniformly (a uniform byte between the two, kept only
//! if some field has it, retried up to [`BYTE_TRIES`] times; a field equal to the shared prefix,
//! if there is one, is taken with probability 1 / ([`BRANCH_SMALL_MAX`] + 1), more than its fair
//! share in a branch that big, but not a whole byte's share) and descend. Each existing next
//! byte is equally likely, whatever the number of fields under it, so the pick is uniform when the
//! fields spread evenly over their prefixes (fixed-length random or sequential ids, numbers of
//! one width) and favours fields in sparse branches otherwise; docs/compatibility.md says so.
//! Counts large next to the collection (a pick per [`SCAN_PICK_COST`] elements or more) read
//! the collection once instead, which is exact.
//!
//! **SCAN cursors.** A cursor is a number in the server's bounded cursor table
//! (`server::CursorTable`, shared with SCAN) that stands for the engine key of the last
//! element a page examined, so the next page starts right after it, O(log N) whatever the
//! position. A cursor whose key is not an element of this collection's current version
//! (unknown, forgotten, another key's, or the collection was recreated or renamed) restarts
//! the scan from the first element, which SCAN's guarantees allow.

use crate::command::Ctx;
use crate::errors::{self, CommandError};
use crate::glob;
use crate::keyspace::{self, DbIndex, Meta, NS_ELEMENT};
use crate::tx::{Tx, successor};
use bytes::Bytes;
use rand::Rng;
use rand::seq::SliceRandom;
use std::collections::{HashSet, VecDeque};
use std::ops::{Bound, ControlFlow};

/// Elements a [`Pager`] reads per engine range scan.
const PAGE_ELEMENTS: usize = 128;
/// Collections up to this many elements are picked from exactly uniformly (their fields are
/// read); Redis's own small-encoding limit for hashes and sets is 128 too.
pub(crate) const EXACT_PICK_MAX: u64 = 128;
/// A branch of at most this many fields is picked from uniformly (see the module docs).
const BRANCH_SMALL_MAX: usize = 64;
/// Random next bytes tried at a branch before taking the first existing byte after the last.
const BYTE_TRIES: usize = 8;
/// Branch levels a descent goes down before picking among the branch's first fields.
const DESCENT_DEPTH_MAX: usize = 64;
/// About how many elements one descent reads: requests for at least one pick per this many
/// elements read the whole collection once instead.
pub(crate) const SCAN_PICK_COST: u64 = 64;
/// Reply bytes counted per element besides its own bytes (RESP framing).
pub(crate) const REPLY_OVERHEAD_BYTES: usize = 16;

/// The engine-key range of every element of the collection `meta` at `key` in `db`.
fn element_range(db: DbIndex, key: &[u8], meta: &Meta) -> (Vec<u8>, Bound<Vec<u8>>) {
    let prefix = keyspace::element_prefix(NS_ELEMENT, db, key, meta.version);
    let hi = successor(&prefix).map_or(Bound::Unbounded, Bound::Excluded);
    (prefix, hi)
}

/// Reads the elements of one collection in field order, [`PAGE_ELEMENTS`] per engine scan.
#[derive(Debug)]
pub(crate) struct Pager {
    prefix: Vec<u8>,
    hi: Bound<Vec<u8>>,
    /// The engine key of the last element read, where the next page starts.
    after: Option<Vec<u8>>,
    page: VecDeque<(Bytes, Bytes)>,
    done: bool,
}

impl Pager {
    pub(crate) fn new(db: DbIndex, key: &[u8], meta: &Meta) -> Pager {
        let (prefix, hi) = element_range(db, key, meta);
        Pager { prefix, hi, after: None, page: VecDeque::new(), done: false }
    }

    /// The next `(field, value)`, `None` after the last.
    pub(crate) fn next(&mut self, tx: &mut Tx<'_>) -> Result<Option<(Bytes, Bytes)>, CommandError> {
        self.fill(tx)?;
        Ok(self.page.pop_front())
    }

    fn fill(&mut self, tx: &mut Tx<'_>) -> Result<(), CommandError> {
        if !self.page.is_empty() || self.done {
            return Ok(());
        }
        let lo = match self.after.take() {
            Some(k) => Bound::Excluded(k),
            None => Bound::Included(self.prefix.clone()),
        };
        let n = self.prefix.len();
        let mut last = None;
        let page = &mut self.page;
        let reached_end = tx.scan_elements(lo, self.hi.clone(), false, |k, v| {
            page.push_back((Bytes::copy_from_slice(&k[n..]), v.clone()));
            if page.len() >= PAGE_ELEMENTS {
                last = Some(k.to_vec());
                return Ok(ControlFlow::Break(()));
            }
            Ok(ControlFlow::Continue(()))
        })?;
        self.done = reached_end;
        self.after = last;
        Ok(())
    }
}

/// Picks random fields of one collection; see the module docs for the method.
#[derive(Debug)]
pub(crate) struct Sampler {
    prefix: Vec<u8>,
    hi: Bound<Vec<u8>>,
    len: u64,
    /// Every field, when there are at most [`EXACT_PICK_MAX`].
    all: Option<Vec<Bytes>>,
}

impl Sampler {
    pub(crate) fn new(tx: &mut Tx<'_>, key: &[u8], meta: &Meta) -> Result<Sampler, CommandError> {
        let (prefix, hi) = element_range(tx.db, key, meta);
        let mut sampler = Sampler { prefix, hi, len: meta.len, all: None };
        if meta.len <= EXACT_PICK_MAX {
            let mut all = Vec::new();
            tx.scan_collection(NS_ELEMENT, key, meta, false, |field, _| {
                all.push(Bytes::copy_from_slice(field));
                // A corrupt length must not make this read more than a small collection.
                Ok(if all.len() as u64 > EXACT_PICK_MAX {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                })
            })?;
            sampler.len = all.len() as u64;
            sampler.all = Some(all);
        }
        Ok(sampler)
    }

    /// One random field, `None` if the collection is empty.
    pub(crate) fn pick(
        &mut self,
        tx: &mut Tx<'_>,
        rng: &mut impl Rng,
    ) -> Result<Option<Bytes>, CommandError> {
        match &self.all {
            Some(all) => Ok(all.get(rng.random_range(0..all.len().max(1))).cloned()),
            None => self.descend(tx, rng),
        }
    }

    /// `count` random fields picked independently (repeats allowed), shuffled. `charge` is
    /// called with each field as it is chosen and stops the command when the reply would be
    /// too big, so `count` never sizes an allocation; `room` (the reply bytes the client can
    /// still take) caps the picks first, so a count no reply could hold costs no more work
    /// than the reply that fails (each pick is charged at least [`REPLY_OVERHEAD_BYTES`]).
    pub(crate) fn with_repeats(
        &mut self,
        tx: &mut Tx<'_>,
        rng: &mut impl Rng,
        count: u64,
        room: usize,
        mut charge: impl FnMut(&Bytes) -> Result<(), CommandError>,
    ) -> Result<Vec<Bytes>, CommandError> {
        let fit = u64::try_from(room / REPLY_OVERHEAD_BYTES).unwrap_or(u64::MAX).saturating_add(1);
        let count = count.min(fit);
        let mut out = Vec::new();
        if self.len == 0 || count == 0 {
            return Ok(out);
        }
        if self.all.is_some() || count.saturating_mul(SCAN_PICK_COST) < self.len {
            for _ in 0..count {
                let Some(field) = self.pick(tx, rng)? else { break };
                charge(&field)?;
                out.push(field);
            }
            return Ok(out);
        }
        // One pass: how often each element is picked is a multinomial draw, taken as a
        // binomial per element of the picks still to place.
        let (len, mut seen, mut left) = (self.len, 0u64, count);
        tx.scan_elements(Bound::Included(self.prefix.clone()), self.hi.clone(), false, |k, _| {
            let p = 1.0 / len.saturating_sub(seen).max(1) as f64;
            seen += 1;
            let times = binomial(rng, left, p);
            if times > 0 {
                let field = Bytes::copy_from_slice(&k[self.prefix.len()..]);
                for _ in 0..times {
                    charge(&field)?;
                    out.push(field.clone());
                }
                left -= times;
            }
            Ok(if left == 0 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) })
        })?;
        out.shuffle(rng);
        Ok(out)
    }

    /// `count` distinct random fields (all of them, in order, when `count` is at least the
    /// collection's size); `charge` as for [`Sampler::with_repeats`].
    pub(crate) fn distinct(
        &mut self,
        tx: &mut Tx<'_>,
        rng: &mut impl Rng,
        count: u64,
        mut charge: impl FnMut(&Bytes) -> Result<(), CommandError>,
    ) -> Result<Vec<Bytes>, CommandError> {
        let mut out = Vec::new();
        if let Some(all) = &self.all {
            let mut order: Vec<usize> = (0..all.len()).collect();
            let take = usize::try_from(count).unwrap_or(usize::MAX).min(all.len());
            if take < all.len() {
                order.partial_shuffle(rng, take);
            }
            for &i in &order[..take] {
                charge(&all[i])?;
                out.push(all[i].clone());
            }
            return Ok(out);
        }
        if count >= self.len || count.saturating_mul(SCAN_PICK_COST) >= self.len {
            // Selection sampling (Knuth's algorithm S) in one pass: exact.
            let all = count >= self.len;
            let (len, n) = (self.len, self.prefix.len());
            let (mut seen, mut left) = (0u64, count);
            tx.scan_elements(
                Bound::Included(self.prefix.clone()),
                self.hi.clone(),
                false,
                |k, _| {
                    let remaining = len.saturating_sub(seen).max(1);
                    seen += 1;
                    if all || rng.random_range(0..remaining) < left {
                        let field = Bytes::copy_from_slice(&k[n..]);
                        charge(&field)?;
                        out.push(field);
                        left = left.saturating_sub(1);
                    }
                    Ok(if left == 0 && !all {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    })
                },
            )?;
            if !all {
                out.shuffle(rng);
            }
            return Ok(out);
        }
        // Few picks from a big collection: descents, skipping repeats. A skewed trie can make
        // repeats common, so after a bounded number of tries the rest is taken in order from
        // a random start (count is below len / SCAN_PICK_COST, so that always completes).
        let mut chosen: HashSet<Bytes> = HashSet::new();
        let tries = count.saturating_mul(4).saturating_add(16);
        for _ in 0..tries {
            if chosen.len() as u64 >= count {
                break;
            }
            let Some(field) = self.pick(tx, rng)? else { return Ok(out) };
            if chosen.insert(field.clone()) {
                charge(&field)?;
                out.push(field);
            }
        }
        if (chosen.len() as u64) < count {
            let start = self.pick(tx, rng)?.unwrap_or_default();
            let mut from = self.prefix.clone();
            from.extend_from_slice(&start);
            for lo in [Bound::Included(from), Bound::Included(self.prefix.clone())] {
                let n = self.prefix.len();
                tx.scan_elements(lo, self.hi.clone(), false, |k, _| {
                    let field = Bytes::copy_from_slice(&k[n..]);
                    if chosen.insert(field.clone()) {
                        charge(&field)?;
                        out.push(field);
                    }
                    Ok(if chosen.len() as u64 >= count {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    })
                })?;
                if chosen.len() as u64 >= count {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Up to `limit` fields from `lo` within `hi`, forward or (`rev`) backward.
    fn fields(
        &self,
        tx: &mut Tx<'_>,
        lo: Bound<Vec<u8>>,
        hi: Bound<Vec<u8>>,
        rev: bool,
        limit: usize,
    ) -> Result<Vec<Bytes>, CommandError> {
        let n = self.prefix.len();
        let mut out = Vec::new();
        tx.scan_elements(lo, hi, rev, |k, _| {
            out.push(Bytes::copy_from_slice(&k[n..]));
            Ok(if out.len() >= limit { ControlFlow::Break(()) } else { ControlFlow::Continue(()) })
        })?;
        Ok(out)
    }

    /// The engine key of `field` in this collection.
    fn key_of(&self, field: &[u8]) -> Vec<u8> {
        let mut k = self.prefix.clone();
        k.extend_from_slice(field);
        k
    }

    /// The engine-key range of the branch of fields starting with `branch`.
    fn branch_range(&self, branch: &[u8]) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
        let lo = self.key_of(branch);
        let hi = successor(&lo).map_or(Bound::Unbounded, Bound::Excluded);
        (Bound::Included(lo), hi)
    }

    /// A random descent of the field trie; see the module docs.
    fn descend(&self, tx: &mut Tx<'_>, rng: &mut impl Rng) -> Result<Option<Bytes>, CommandError> {
        let mut branch: Vec<u8> = Vec::new();
        let mut depth = 0;
        loop {
            let (lo, hi) = self.branch_range(&branch);
            let first = self.fields(tx, lo.clone(), hi.clone(), false, BRANCH_SMALL_MAX + 1)?;
            if first.len() <= BRANCH_SMALL_MAX || depth >= DESCENT_DEPTH_MAX {
                let small = &first[..first.len().min(BRANCH_SMALL_MAX)];
                return Ok(small.get(rng.random_range(0..small.len().max(1))).cloned());
            }
            depth += 1;
            let Some(last) = self.fields(tx, lo, hi.clone(), true, 1)?.pop() else {
                return Ok(first.first().cloned());
            };
            let head = &first[0];
            let shared = head.iter().zip(last.iter()).take_while(|(a, b)| a == b).count();
            if last.len() <= shared {
                return Ok(Some(head.clone()));
            }
            // A field equal to the shared prefix (then it is `head`) is one of more than
            // BRANCH_SMALL_MAX fields here: it gets that share, not a whole next byte's.
            let lowest = if head.len() == shared {
                if rng.random_range(0..=BRANCH_SMALL_MAX) == 0 {
                    return Ok(Some(head.clone()));
                }
                first.get(1).and_then(|f| f.get(shared))
            } else {
                head.get(shared)
            };
            let (Some(&low), high) = (lowest, last[shared]) else {
                return Ok(Some(head.clone()));
            };
            let mut next = None;
            for attempt in 0..BYTE_TRIES {
                let byte = rng.random_range(low..=high.max(low));
                let mut probe = head[..shared].to_vec();
                probe.push(byte);
                let at =
                    self.fields(tx, Bound::Included(self.key_of(&probe)), hi.clone(), false, 1)?;
                let Some(found) = at.first() else { break };
                let Some(&found_byte) = found.get(shared) else { break };
                if found_byte == byte || attempt + 1 == BYTE_TRIES {
                    probe[shared] = found_byte;
                    next = Some(probe);
                    break;
                }
            }
            match next {
                Some(b) => branch = b,
                None => return Ok(Some(head.clone())),
            }
        }
    }
}

/// How many of `n` trials with probability `p` succeed: the gaps between successes are
/// geometric, so this costs one draw per success (plus one).
fn binomial(rng: &mut impl Rng, n: u64, p: f64) -> u64 {
    if p >= 1.0 {
        return n;
    }
    if n == 0 || p <= 0.0 {
        return 0;
    }
    let ln_q = (-p).ln_1p();
    let (mut successes, mut used) = (0u64, 0u64);
    loop {
        let u = 1.0 - rng.random::<f64>();
        let gap = (u.ln() / ln_q).floor();
        if gap >= (n - used) as f64 {
            return successes;
        }
        used += gap as u64 + 1;
        successes += 1;
        if used >= n {
            return successes;
        }
    }
}

/// The count of SRANDMEMBER and HRANDFIELD: an integer in Redis's `-LONG_MAX ..= LONG_MAX`.
pub(crate) fn random_count_arg(arg: &[u8]) -> Result<i64, CommandError> {
    match super::int_arg(arg)? {
        i64::MIN => Err(errors::COUNT_OUT_OF_RANGE.into()),
        n => Ok(n),
    }
}

/// A SCAN-family cursor, Redis's `parseScanCursorOrReply`: `strtoul` in base 10 (an optional
/// sign, a negative number wrapping around; the empty string is 0), no leading space, no
/// trailing bytes, no overflow.
pub(crate) fn parse_cursor(arg: &[u8]) -> Result<u64, CommandError> {
    let (negative, digits) = match arg.first() {
        Some(b'-') => (true, &arg[1..]),
        Some(b'+') => (false, &arg[1..]),
        _ => (false, arg),
    };
    if arg.is_empty() {
        return Ok(0);
    }
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(errors::INVALID_CURSOR.into());
    }
    let mut value: u64 = 0;
    for &d in digits {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d - b'0')))
            .ok_or(errors::INVALID_CURSOR)?;
    }
    Ok(if negative { value.wrapping_neg() } else { value })
}

/// The MATCH and COUNT options of HSCAN/SSCAN (`args` after the cursor): Redis's
/// `scanGenericCommand` rules (the last of a repeated option wins; COUNT below 1 is a syntax
/// error).
pub(crate) fn scan_options(args: &[Bytes]) -> Result<(Option<&Bytes>, usize), CommandError> {
    let (mut pattern, mut count) = (None, 10usize);
    let mut i = 0;
    while i < args.len() {
        let more = i + 1 < args.len();
        if super::is(&args[i], "count") && more {
            let n = super::int_arg(&args[i + 1])?;
            if n < 1 {
                return Err(errors::SYNTAX.into());
            }
            count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if super::is(&args[i], "match") && more {
            pattern = Some(&args[i + 1]).filter(|p| p.as_ref() != b"*");
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 2;
    }
    Ok((pattern, count))
}

/// One page of HSCAN/SSCAN over the collection `meta` at `key`: up to `count` elements
/// examined from the cursor on, those whose field matches `pattern` returned as
/// `(field, value)`; the next cursor (0 at the end).
pub(crate) fn scan_page(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    meta: &Meta,
    cursor: u64,
    pattern: Option<&Bytes>,
    count: usize,
) -> Result<(u64, Vec<(Bytes, Bytes)>), CommandError> {
    let (prefix, _) = element_range(ctx.tx.db, key, meta);
    let n = prefix.len();
    let literal = pattern.map_or(&b""[..], |p| glob::literal_prefix(p));
    let mut from = prefix.clone();
    from.extend_from_slice(literal);
    let hi = successor(&from).map_or(Bound::Unbounded, Bound::Excluded);
    let after = if cursor == 0 { None } else { ctx.shared.cursors().resolve(cursor) };
    let lo = match after {
        Some(last) if last.starts_with(&prefix) && last[..] >= from[..] => {
            Bound::Excluded(last.to_vec())
        }
        _ => Bound::Included(from),
    };
    let room = ctx.output_room();
    let (mut found, mut examined, mut bytes) = (Vec::new(), 0usize, 0usize);
    let mut last: Option<Vec<u8>> = None;
    let done = ctx.tx.scan_elements(lo, hi, false, |k, v| {
        examined += 1;
        let field = &k[n..];
        if pattern.is_none_or(|p| glob::matches(p, field)) {
            bytes = bytes.saturating_add(field.len() + v.len() + 2 * REPLY_OVERHEAD_BYTES);
            if bytes > room {
                return Err(CommandError::OutputLimit);
            }
            found.push((Bytes::copy_from_slice(field), v.clone()));
        }
        if examined >= count {
            last = Some(k.to_vec());
            return Ok(ControlFlow::Break(()));
        }
        Ok(ControlFlow::Continue(()))
    })?;
    let next = match (done, last) {
        (false, Some(last)) => ctx.shared.cursors().issue(Bytes::from(last)),
        _ => 0,
    };
    Ok((next, found))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn cursor_parses_like_strtoul() {
        assert_eq!(parse_cursor(b"0").ok(), Some(0));
        assert_eq!(parse_cursor(b"").ok(), Some(0));
        assert_eq!(parse_cursor(b"+7").ok(), Some(7));
        assert_eq!(parse_cursor(b"-1").ok(), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551615").ok(), Some(u64::MAX));
        for bad in [&b"18446744073709551616"[..], b" 1", b"1 ", b"x", b"-", b"+", b"1.5", b"0x1"] {
            assert!(parse_cursor(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn binomial_has_the_right_mean_and_bounds() {
        let mut rng = StdRng::seed_from_u64(7);
        assert_eq!(binomial(&mut rng, 10, 1.0), 10);
        assert_eq!(binomial(&mut rng, 0, 0.5), 0);
        let (n, p, rounds) = (1000u64, 0.01, 2000);
        let mut total = 0;
        for _ in 0..rounds {
            let x = binomial(&mut rng, n, p);
            assert!(x <= n);
            total += x;
        }
        let mean = total as f64 / f64::from(rounds);
        assert!((mean - 10.0).abs() < 0.5, "mean {mean}");
        // Huge n, tiny p: cost follows the successes, not n.
        let x = binomial(&mut rng, u64::MAX / 2, 1e-17);
        assert!(x < 1000, "{x}");
    }
}
