//! [`Merge`]: a heap of internal iterators read as one, in one direction.
//!
//! Used by user iterators (one per end) and by compaction (forward). Sources are ordered by
//! internal key; on equal keys the lower source index wins (sources never share a key).

use crate::Error;
use crate::ikey;
use crate::iter::InternalIter;
use std::cmp::Ordering;

/// A one-direction merge of internal iterators.
pub(crate) struct Merge {
    sources: Vec<Box<dyn InternalIter>>,
    heap: Vec<usize>,
    forward: bool,
    pub error: Option<Error>,
}

impl Merge {
    pub(crate) fn new(sources: Vec<Box<dyn InternalIter>>, forward: bool) -> Merge {
        Merge { sources, heap: Vec::new(), forward, error: None }
    }

    /// Forward: first entry >= target (or the first). Backward: last entry <= target (or the last).
    pub(crate) fn seek(&mut self, target: Option<&[u8]>) {
        for s in &mut self.sources {
            match (self.forward, target) {
                (true, Some(t)) => s.seek(t),
                (true, None) => s.seek_to_first(),
                (false, Some(t)) => s.seek_for_prev(t),
                (false, None) => s.seek_to_last(),
            }
        }
        self.heap.clear();
        for i in 0..self.sources.len() {
            if self.sources[i].valid() {
                self.heap.push(i);
                self.sift_up(self.heap.len() - 1);
            } else if let Some(e) = self.sources[i].take_error() {
                self.error.get_or_insert(e);
            }
        }
    }

    pub(crate) fn valid(&self) -> bool {
        self.error.is_none() && !self.heap.is_empty()
    }

    pub(crate) fn top(&self) -> &dyn InternalIter {
        self.sources[self.heap[0]].as_ref()
    }

    pub(crate) fn advance(&mut self) {
        let i = self.heap[0];
        let s = &mut self.sources[i];
        if self.forward {
            s.next()
        } else {
            s.prev()
        }
        if s.valid() {
            self.sift_down(0);
        } else {
            if let Some(e) = s.take_error() {
                self.error.get_or_insert(e);
            }
            let last = self.heap.len() - 1;
            self.heap.swap(0, last);
            self.heap.pop();
            if !self.heap.is_empty() {
                self.sift_down(0);
            }
        }
    }

    /// Whether heap slot `a` should be above slot `b`.
    fn before(&self, a: usize, b: usize) -> bool {
        let (ia, ib) = (self.heap[a], self.heap[b]);
        let o = ikey::compare(self.sources[ia].key(), self.sources[ib].key());
        let o = if self.forward { o } else { o.reverse() };
        o == Ordering::Less || (o == Ordering::Equal && ia < ib)
    }

    fn sift_up(&mut self, mut i: usize) {
        while i > 0 {
            let parent = (i - 1) / 2;
            if !self.before(i, parent) {
                break;
            }
            self.heap.swap(i, parent);
            i = parent;
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut best = i;
            if l < self.heap.len() && self.before(l, best) {
                best = l;
            }
            if r < self.heap.len() && self.before(r, best) {
                best = r;
            }
            if best == i {
                return;
            }
            self.heap.swap(i, best);
            i = best;
        }
    }
}
