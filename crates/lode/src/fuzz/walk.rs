//! Checks any [`InternalIter`] over untrusted bytes: full scans both ways, then a walk of
//! seeks and steps chosen by the input, against a model when one is known.
//!
//! The invariants: keys come out as well-formed internal keys in strictly increasing order
//! (decreasing backward); the two scans agree on every entry both reached; a known model
//! (the entries a table was built from, or a scan that finished) is matched by every answer,
//! with an error allowed in place of any answer but never a different one; every error is
//! `Corruption`.

use super::input::Input;
use crate::iter::InternalIter;
use crate::{Error, ikey};
use std::cmp::Ordering;

/// An internal key and its value.
pub(crate) type Entry = (Vec<u8>, Vec<u8>);

/// What a scan in one direction returned before it ended or failed.
#[derive(Debug)]
pub(crate) struct Scan {
    pub entries: Vec<Entry>,
    pub error: Option<Error>,
}

fn assert_corruption(e: &Error, what: &str) {
    assert!(e.is_corruption(), "{what}: bad bytes gave a non-corruption error: {e}");
}

/// Every entry from the first to the last, or up to an error.
pub(crate) fn scan_forward(it: &mut dyn InternalIter) -> Scan {
    it.seek_to_first();
    let mut entries: Vec<Entry> = Vec::new();
    while it.valid() {
        let key = it.key();
        assert!(ikey::parse(key).is_some(), "forward scan: malformed internal key {key:?}");
        if let Some((last, _)) = entries.last() {
            assert_eq!(ikey::compare(last, key), Ordering::Less, "forward scan: keys out of order");
        }
        entries.push((key.to_vec(), it.value().to_vec()));
        it.next();
    }
    let error = it.take_error();
    if let Some(e) = &error {
        assert_corruption(e, "forward scan");
    }
    Scan { entries, error }
}

/// Every entry from the last to the first, or up to an error.
pub(crate) fn scan_backward(it: &mut dyn InternalIter) -> Scan {
    it.seek_to_last();
    let mut entries: Vec<Entry> = Vec::new();
    while it.valid() {
        let key = it.key();
        assert!(ikey::parse(key).is_some(), "backward scan: malformed internal key {key:?}");
        if let Some((last, _)) = entries.last() {
            assert_eq!(
                ikey::compare(last, key),
                Ordering::Greater,
                "backward scan: keys out of order"
            );
        }
        entries.push((key.to_vec(), it.value().to_vec()));
        it.prev();
    }
    let error = it.take_error();
    if let Some(e) = &error {
        assert_corruption(e, "backward scan");
    }
    Scan { entries, error }
}

/// Checks the two scans against each other and against `expected` (the true contents, when
/// the harness knows them); returns the contents if known, as a model for the walk.
pub(crate) fn check_scans(
    forward: &Scan,
    backward: &Scan,
    expected: Option<&[Entry]>,
) -> Option<Vec<Entry>> {
    let complete = |s: &Scan| s.error.is_none();
    let model: Option<Vec<Entry>> = match expected {
        Some(e) => Some(e.to_vec()),
        None if complete(forward) => Some(forward.entries.clone()),
        None if complete(backward) => Some(backward.entries.iter().rev().cloned().collect()),
        None => None,
    };
    // Both failed: each was checked for order on its own, and there is nothing to compare.
    let model = model?;
    let n = model.len();
    assert!(forward.entries.len() <= n, "forward scan returned more entries than exist");
    assert_eq!(forward.entries, model[..forward.entries.len()], "forward scan differs");
    if complete(forward) {
        assert_eq!(forward.entries.len(), n, "forward scan ended early without an error");
    }
    assert!(backward.entries.len() <= n, "backward scan returned more entries than exist");
    let tail: Vec<Entry> = model[n - backward.entries.len()..].iter().rev().cloned().collect();
    assert_eq!(backward.entries, tail, "backward scan differs");
    if complete(backward) {
        assert_eq!(backward.entries.len(), n, "backward scan ended early without an error");
    }
    Some(model)
}

/// A seek target: often a key of the model, else one from the input.
fn target(input: &mut Input<'_>, model: Option<&[Entry]>) -> Vec<u8> {
    match model {
        Some(m) if !m.is_empty() && input.one_in(3) => m[input.below(m.len())].0.clone(),
        _ => input.target(),
    }
}

/// Up to `steps` moves chosen by the input. With a model, every position must match it (or
/// the iterator must fail); without one, each move must still go the right way.
pub(crate) fn walk(
    it: &mut dyn InternalIter,
    model: Option<&[Entry]>,
    input: &mut Input<'_>,
    steps: usize,
) {
    // Position in the model, when there is one and the iterator is valid.
    let mut pos: Option<usize> = None;
    for _ in 0..steps {
        if input.is_empty() {
            return;
        }
        let before = it.valid().then(|| it.key().to_vec());
        let op = input.u8() % 6;
        let (expected, what): (Option<usize>, &str) = match op {
            0 => {
                let t = target(input, model);
                it.seek(&t);
                if it.valid() {
                    assert_ne!(ikey::compare(it.key(), &t), Ordering::Less, "seek went back");
                }
                let e = model.and_then(|m| m.iter().position(|e| !lt(&e.0, &t)));
                (e, "seek")
            }
            1 => {
                let t = target(input, model);
                it.seek_for_prev(&t);
                if it.valid() {
                    assert_ne!(ikey::compare(it.key(), &t), Ordering::Greater, "seek_for_prev");
                }
                let e = model.and_then(|m| m.iter().rposition(|e| !lt(&t, &e.0)));
                (e, "seek_for_prev")
            }
            2 => {
                it.seek_to_first();
                (model.and_then(|m| (!m.is_empty()).then_some(0)), "seek_to_first")
            }
            3 => {
                it.seek_to_last();
                (model.and_then(|m| m.len().checked_sub(1)), "seek_to_last")
            }
            4 => {
                let Some(before) = &before else { continue };
                it.next();
                if it.valid() {
                    assert_eq!(ikey::compare(before, it.key()), Ordering::Less, "next went back");
                }
                let n = model.map_or(0, <[Entry]>::len);
                (pos.map(|p| p + 1).filter(|&p| p < n), "next")
            }
            _ => {
                let Some(before) = &before else { continue };
                it.prev();
                if it.valid() {
                    assert_eq!(ikey::compare(before, it.key()), Ordering::Greater, "prev");
                }
                (pos.and_then(|p| p.checked_sub(1)), "prev")
            }
        };
        if it.valid() {
            assert!(ikey::parse(it.key()).is_some(), "{what}: malformed internal key");
        } else if let Some(e) = it.take_error() {
            assert_corruption(&e, what);
            pos = None;
            continue;
        }
        let Some(model) = model else { continue };
        match expected {
            Some(i) => {
                assert!(it.valid(), "{what}: expected entry {i} of {}, got none", model.len());
                assert_eq!(it.key(), &model[i].0[..], "{what}: wrong key");
                assert_eq!(&it.value()[..], &model[i].1[..], "{what}: wrong value");
            }
            None => assert!(!it.valid(), "{what}: expected no entry, got {:?}", it.key()),
        }
        pos = expected;
    }
}

fn lt(a: &[u8], b: &[u8]) -> bool {
    ikey::compare(a, b) == Ordering::Less
}
