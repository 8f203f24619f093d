//! [`LevelIter`]: one level below L0 read as one sorted run.
//!
//! Files in L1 and deeper do not overlap and are sorted, so a seek needs only the one file
//! whose range holds the target; the iterator opens files (through the table cache) as it
//! moves across them. A range scan thus seeks one file per level, not every file.

use super::Inner;
use crate::iter::InternalIter;
use crate::sst::TableIter;
use crate::version::FileMeta;
use crate::{Error, ikey};
use bytes::Bytes;
use std::cmp::Ordering;
use std::sync::Arc;

pub(crate) struct LevelIter {
    inner: Arc<Inner>,
    files: Vec<Arc<FileMeta>>,
    /// The file `current` reads.
    index: usize,
    current: Option<TableIter>,
    error: Option<Error>,
}

impl LevelIter {
    pub(crate) fn new(inner: Arc<Inner>, files: Vec<Arc<FileMeta>>) -> LevelIter {
        LevelIter { inner, files, index: 0, current: None, error: None }
    }

    /// Opens file `i` (or nothing, past either end).
    fn open(&mut self, i: usize) {
        self.current = None;
        self.index = i;
        if let Some(meta) = self.files.get(i) {
            match self.inner.table(meta) {
                Ok(t) => self.current = Some(t.iter()),
                Err(e) => self.error = Some(e),
            }
        }
    }

    /// After the current file ran out (or failed): keep its error, or move on to the next
    /// file (`forward`) or the previous one, until one has an entry.
    fn settle(&mut self, forward: bool) {
        loop {
            let Some(cur) = self.current.as_mut() else { return };
            if cur.valid() {
                return;
            }
            if let Some(e) = cur.take_error() {
                self.error = Some(e);
                self.current = None;
                return;
            }
            if forward {
                self.open(self.index + 1);
                if let Some(c) = self.current.as_mut() {
                    c.seek_to_first();
                }
            } else {
                if self.index == 0 {
                    self.current = None;
                    return;
                }
                self.open(self.index - 1);
                if let Some(c) = self.current.as_mut() {
                    c.seek_to_last();
                }
            }
        }
    }
}

impl InternalIter for LevelIter {
    fn valid(&self) -> bool {
        self.error.is_none() && self.current.as_ref().is_some_and(|c| c.valid())
    }
    fn key(&self) -> &[u8] {
        self.current.as_ref().map_or(&[], |c| c.key())
    }
    fn value(&self) -> Bytes {
        self.current.as_ref().map(|c| c.value()).unwrap_or_default()
    }
    fn seek(&mut self, target: &[u8]) {
        self.error = None;
        let i = self.files.partition_point(|f| ikey::compare(&f.largest, target) == Ordering::Less);
        self.open(i);
        if let Some(c) = self.current.as_mut() {
            c.seek(target);
        }
        self.settle(true);
    }
    fn seek_for_prev(&mut self, target: &[u8]) {
        self.error = None;
        let i =
            self.files.partition_point(|f| ikey::compare(&f.smallest, target) != Ordering::Greater);
        if i == 0 {
            self.current = None;
            return;
        }
        self.open(i - 1);
        if let Some(c) = self.current.as_mut() {
            c.seek_for_prev(target);
        }
        self.settle(false);
    }
    fn seek_to_first(&mut self) {
        self.error = None;
        self.open(0);
        if let Some(c) = self.current.as_mut() {
            c.seek_to_first();
        }
        self.settle(true);
    }
    fn seek_to_last(&mut self) {
        self.error = None;
        if self.files.is_empty() {
            self.current = None;
            return;
        }
        self.open(self.files.len() - 1);
        if let Some(c) = self.current.as_mut() {
            c.seek_to_last();
        }
        self.settle(false);
    }
    fn next(&mut self) {
        if let Some(c) = self.current.as_mut() {
            c.next();
        }
        self.settle(true);
    }
    fn prev(&mut self) {
        if let Some(c) = self.current.as_mut() {
            c.prev();
        }
        self.settle(false);
    }
    fn take_error(&mut self) -> Option<Error> {
        self.error.take()
    }
}
