//! The internal iterator contract shared by memtables, SST blocks, SSTs and the merge.
//!
//! An internal iterator walks *internal keys* (see [`crate::ikey`]) in [`crate::ikey::compare`]
//! order, every version of every key, tombstones included. Hiding old versions and tombstones
//! is the job of the user-facing iterator in `db`, not of the sources.
//!
//! Errors: when a source hits bad bytes or an I/O error it becomes invalid and keeps the error;
//! the consumer checks [`InternalIter::take_error`] whenever `valid()` turns false.

use crate::Error;
use bytes::Bytes;

/// A cursor over internal keys, movable in both directions.
#[allow(dead_code)] // the backward moves are used by the db layer
pub(crate) trait InternalIter: Send {
    /// True when positioned at an entry.
    fn valid(&self) -> bool;
    /// The current entry's internal key. Only call when `valid()`.
    fn key(&self) -> &[u8];
    /// The current entry's value (empty for tombstones). Only call when `valid()`.
    fn value(&self) -> Bytes;
    /// Positions at the first entry `>= target`.
    fn seek(&mut self, target: &[u8]);
    /// Positions at the last entry `<= target`.
    fn seek_for_prev(&mut self, target: &[u8]);
    /// Positions at the first entry.
    fn seek_to_first(&mut self);
    /// Positions at the last entry.
    fn seek_to_last(&mut self);
    /// Moves to the next entry. Only call when `valid()`.
    fn next(&mut self);
    /// Moves to the previous entry. Only call when `valid()`.
    fn prev(&mut self);
    /// The error that made the iterator invalid, if any (taken: a second call returns `None`).
    fn take_error(&mut self) -> Option<Error>;
}
