//! ZUNION, ZINTER, ZDIFF and their STORE forms, as Redis 7.0's
//! `zunionInterDiffGenericCommand` computes them, streamed from the inputs' member records
//! (which are in member order) so that nothing but the result is ever held:
//!
//! - union: a k-way merge of the inputs, read in chunks; O(N) reads for N input members.
//! - inter: the smallest input read in chunks, each member looked up in the others, as Redis
//!   does; O(N_smallest * K) reads.
//! - diff: the first input read in chunks, each member looked up in the others; O(N_first *
//!   K) reads.
//!
//! Sets count as sorted sets whose scores are all 1, as in Redis. Scores combine exactly as
//! Redis combines them: inputs ordered by size (a stable sort), weights applied, a NaN from a
//! weight (0 * inf) counted as 0 where Redis does so, and an `inf + -inf` sum as 0.

use crate::errors::{self, CommandError};
use crate::keyspace::{self, DbIndex, Kind, Meta, NS_ELEMENT};
use crate::tx::{Tx, successor};
use bytes::Bytes;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::ops::{Bound, ControlFlow};

use super::store::decode_score;

/// Member records read from one input per chunk.
const CHUNK_ENTRIES: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Aggregate {
    Sum,
    Min,
    Max,
}

/// Redis's `zunionInterAggregate`.
fn aggregate(target: &mut f64, value: f64, how: Aggregate) {
    match how {
        Aggregate::Sum => {
            *target += value;
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if value < *target {
                *target = value;
            }
        }
        Aggregate::Max => {
            if value > *target {
                *target = value;
            }
        }
    }
}

/// A weighted score, a NaN (0 * inf) read as 0.
fn weighted(weight: f64, score: f64) -> f64 {
    let v = weight * score;
    if v.is_nan() { 0.0 } else { v }
}

/// One input key: a sorted set, a set (scores 1), or missing (empty).
#[derive(Debug)]
pub(crate) struct Input {
    pub key: Bytes,
    /// `None` for a missing key.
    meta: Option<Meta>,
    prefix: Vec<u8>,
    pub weight: f64,
}

impl Input {
    /// `meta` must be a sorted set's or a set's.
    pub(crate) fn new(db: DbIndex, key: Bytes, meta: Option<Meta>) -> Input {
        let prefix = meta
            .as_ref()
            .map(|m| keyspace::element_prefix(NS_ELEMENT, db, &key, m.version))
            .unwrap_or_default();
        Input { key, meta, prefix, weight: 1.0 }
    }

    pub(crate) fn len(&self) -> u64 {
        self.meta.as_ref().map_or(0, |m| m.len)
    }

    fn score(&self, value: &[u8]) -> Result<f64, CommandError> {
        match &self.meta {
            Some(m) if m.kind == Kind::ZSet => decode_score(value),
            _ => Ok(1.0),
        }
    }

    /// The (unweighted) score of `member`, `None` if absent.
    fn lookup(&self, tx: &mut Tx<'_>, member: &[u8]) -> Result<Option<f64>, CommandError> {
        if self.len() == 0 {
            return Ok(None);
        }
        let mut k = self.prefix.clone();
        k.extend_from_slice(member);
        tx.element(&k)?.map(|v| self.score(&v)).transpose()
    }

    /// Up to [`CHUNK_ENTRIES`] members after `after`, in member order; `done` when the
    /// input has no more.
    fn chunk(
        &self,
        tx: &mut Tx<'_>,
        after: Option<&[u8]>,
        out: &mut VecDeque<(Bytes, f64)>,
    ) -> Result<bool, CommandError> {
        if self.len() == 0 {
            return Ok(true);
        }
        let n = self.prefix.len();
        let lo = match after {
            Some(m) => {
                let mut k = self.prefix.clone();
                k.extend_from_slice(m);
                Bound::Excluded(k)
            }
            None => Bound::Included(self.prefix.clone()),
        };
        let hi = successor(&self.prefix).map_or(Bound::Unbounded, Bound::Excluded);
        let mut taken = 0;
        tx.scan_elements(lo, hi, false, |k, v| {
            out.push_back((Bytes::copy_from_slice(&k[n..]), self.score(v)?));
            taken += 1;
            Ok(if taken == CHUNK_ENTRIES {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            })
        })
    }
}

/// One input's unread members.
#[derive(Debug, Default)]
struct Cursor {
    buf: VecDeque<(Bytes, f64)>,
    /// The last member taken from `buf`: the next chunk starts after it.
    last: Option<Bytes>,
    done: bool,
}

impl Cursor {
    /// The next member, reading a chunk when the buffer is empty.
    fn head(
        &mut self,
        tx: &mut Tx<'_>,
        input: &Input,
    ) -> Result<Option<&(Bytes, f64)>, CommandError> {
        if self.buf.is_empty() && !self.done {
            self.done = input.chunk(tx, self.last.as_deref(), &mut self.buf)?;
        }
        Ok(self.buf.front())
    }

    fn advance(&mut self) {
        if let Some((member, _)) = self.buf.pop_front() {
            self.last = Some(member);
        }
    }
}

/// Computes `op` over `inputs` (in argument order, weights set), calling `emit` with each
/// result member and score, in member order.
pub(crate) fn run(
    tx: &mut Tx<'_>,
    op: Op,
    mut inputs: Vec<Input>,
    how: Aggregate,
    mut emit: impl FnMut(&mut Tx<'_>, &[u8], f64) -> Result<(), CommandError>,
) -> Result<(), CommandError> {
    if op != Op::Diff {
        inputs.sort_by_key(Input::len);
    }
    match op {
        Op::Union => union(tx, &inputs, how, emit),
        Op::Inter => {
            if inputs[0].len() == 0 {
                return Ok(());
            }
            each_member(tx, &inputs[0], |tx, member, s0| {
                let mut score = weighted(inputs[0].weight, s0);
                for other in &inputs[1..] {
                    let value = if other.key == inputs[0].key {
                        s0
                    } else {
                        match other.lookup(tx, member)? {
                            Some(s) => s,
                            None => return Ok(()),
                        }
                    };
                    aggregate(&mut score, value * other.weight, how);
                }
                emit(tx, member, score)
            })
        }
        Op::Diff => each_member(tx, &inputs[0], |tx, member, score| {
            for other in &inputs[1..] {
                if other.key == inputs[0].key || other.lookup(tx, member)?.is_some() {
                    return Ok(());
                }
            }
            emit(tx, member, score)
        }),
    }
}

/// Calls `f` with each member of `input`, reading it in chunks.
fn each_member(
    tx: &mut Tx<'_>,
    input: &Input,
    mut f: impl FnMut(&mut Tx<'_>, &[u8], f64) -> Result<(), CommandError>,
) -> Result<(), CommandError> {
    let mut cursor = Cursor::default();
    while let Some((member, score)) = cursor.head(tx, input)?.cloned() {
        f(tx, &member, score)?;
        cursor.advance();
    }
    Ok(())
}

/// The k-way merge: each member's weighted scores aggregated in input order.
fn union(
    tx: &mut Tx<'_>,
    inputs: &[Input],
    how: Aggregate,
    mut emit: impl FnMut(&mut Tx<'_>, &[u8], f64) -> Result<(), CommandError>,
) -> Result<(), CommandError> {
    let mut cursors: Vec<Cursor> = inputs.iter().map(|_| Cursor::default()).collect();
    let mut heads = BinaryHeap::new();
    for (i, input) in inputs.iter().enumerate() {
        if let Some((member, _)) = cursors[i].head(tx, input)? {
            heads.push(Reverse((member.clone(), i)));
        }
    }
    // The inputs holding the current member, in input order.
    let mut holders: Vec<usize> = Vec::new();
    while let Some(Reverse((member, first))) = heads.pop() {
        holders.clear();
        holders.push(first);
        while heads.peek().is_some_and(|Reverse((m, _))| *m == member) {
            let Some(Reverse((_, i))) = heads.pop() else { break };
            holders.push(i);
        }
        holders.sort_unstable();
        let mut score = 0.0;
        for (n, &i) in holders.iter().enumerate() {
            let s = cursors[i].buf.front().map_or(0.0, |(_, s)| *s);
            let value = weighted(inputs[i].weight, s);
            if n == 0 {
                score = value;
            } else {
                aggregate(&mut score, value, how);
            }
        }
        emit(tx, &member, score)?;
        for &i in &holders {
            cursors[i].advance();
            if let Some((next, _)) = cursors[i].head(tx, &inputs[i])? {
                heads.push(Reverse((next.clone(), i)));
            }
        }
    }
    Ok(())
}

/// The numkeys argument and the input keys it names: `(keys, index of the first argument
/// after them)`.
pub(crate) fn parse_keys<'a>(
    args: &'a [Bytes],
    numkeys_at: usize,
    name: &str,
) -> Result<(&'a [Bytes], usize), CommandError> {
    let n = super::super::int_arg(&args[numkeys_at])?;
    if n < 1 {
        return Err(format!("ERR at least 1 input key is needed for '{name}' command").into());
    }
    let first = numkeys_at + 1;
    let available = args.len() - first;
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    if n > available {
        return Err(errors::SYNTAX.into());
    }
    Ok((&args[first..first + n], first + n))
}

/// The options after the keys: WEIGHTS and AGGREGATE (not for diff), WITHSCORES (not for
/// the STORE forms). Sets each input's weight; returns `(aggregate, withscores)`.
pub(crate) fn parse_options(
    args: &[Bytes],
    mut at: usize,
    op: Op,
    store: bool,
    inputs: &mut [Input],
) -> Result<(Aggregate, bool), CommandError> {
    use super::super::is;
    let (mut how, mut withscores) = (Aggregate::Sum, false);
    while at < args.len() {
        let remaining = args.len() - at;
        if op != Op::Diff && remaining > inputs.len() && is(&args[at], "weights") {
            at += 1;
            for input in inputs.iter_mut() {
                input.weight = super::score::parse_score(&args[at])
                    .ok_or("ERR weight value is not a float")?;
                at += 1;
            }
        } else if op != Op::Diff && remaining >= 2 && is(&args[at], "aggregate") {
            let word = &args[at + 1];
            how = if is(word, "sum") {
                Aggregate::Sum
            } else if is(word, "min") {
                Aggregate::Min
            } else if is(word, "max") {
                Aggregate::Max
            } else {
                return Err(errors::SYNTAX.into());
            };
            at += 2;
        } else if !store && is(&args[at], "withscores") {
            withscores = true;
            at += 1;
        } else {
            return Err(errors::SYNTAX.into());
        }
    }
    Ok((how, withscores))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregate_is_redis_zunion_inter_aggregate() {
        let mut t = f64::INFINITY;
        aggregate(&mut t, f64::NEG_INFINITY, Aggregate::Sum);
        assert_eq!(t, 0.0, "inf + -inf is 0");
        let mut t = 1.0;
        aggregate(&mut t, f64::NAN, Aggregate::Sum);
        assert_eq!(t, 0.0, "a NaN sum is 0");
        let mut t = 1.0;
        aggregate(&mut t, f64::NAN, Aggregate::Min);
        aggregate(&mut t, f64::NAN, Aggregate::Max);
        assert_eq!(t, 1.0, "NaN never wins a comparison");
        aggregate(&mut t, -2.0, Aggregate::Min);
        aggregate(&mut t, 5.0, Aggregate::Min);
        assert_eq!(t, -2.0);
        aggregate(&mut t, 5.0, Aggregate::Max);
        assert_eq!(t, 5.0);
        assert_eq!(weighted(0.0, f64::INFINITY), 0.0);
        assert_eq!(weighted(-2.0, 1.5), -3.0);
    }

    #[test]
    fn keys_and_options_parse_like_redis() {
        let args: Vec<Bytes> = ["zunion", "2", "a", "b", "WEIGHTS", "1", "2", "aggregate", "MAX"]
            .iter()
            .map(|s| Bytes::from(*s))
            .collect();
        let (keys, at) = parse_keys(&args, 1, "zunion").expect("keys");
        assert_eq!((keys.len(), at), (2, 4));
        let mut inputs: Vec<Input> =
            keys.iter().map(|k| Input::new(DbIndex::ZERO, k.clone(), None)).collect();
        let (how, withscores) =
            parse_options(&args, at, Op::Union, false, &mut inputs).expect("options");
        assert_eq!((how, withscores, inputs[1].weight), (Aggregate::Max, false, 2.0));
        assert!(parse_options(&args, at, Op::Diff, false, &mut inputs).is_err());
        let bad = |v: &[&str]| {
            let a: Vec<Bytes> = v.iter().map(|s| Bytes::from(s.to_string())).collect();
            match parse_keys(&a, 1, "zinter") {
                Err(CommandError::Reply(t)) => t.to_string(),
                _ => String::new(),
            }
        };
        assert_eq!(
            bad(&["zinter", "0", "a"]),
            "ERR at least 1 input key is needed for 'zinter' command"
        );
        assert_eq!(bad(&["zinter", "3", "a", "b"]), errors::SYNTAX);
        assert_eq!(bad(&["zinter", "x", "a"]), errors::NOT_INTEGER);
    }
}
