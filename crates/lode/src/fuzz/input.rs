//! [`Input`]: a cursor that turns fuzzer bytes into choices. Every read succeeds (zeros once
//! the bytes run out), so any input is some test case and a mutation of one byte changes one
//! choice.

use crate::ikey::{self, SeqNo, ValueKind};

/// Bytes drawn from one at a time by a harness.
#[derive(Debug)]
pub(crate) struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Input<'a> {
        Input { data }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub(crate) fn u8(&mut self) -> u8 {
        let Some((&b, rest)) = self.data.split_first() else { return 0 };
        self.data = rest;
        b
    }

    pub(crate) fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    pub(crate) fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }

    /// True for about one byte value in `n`.
    pub(crate) fn one_in(&mut self, n: u8) -> bool {
        self.u8().is_multiple_of(n)
    }

    /// A number in `0..n` (`n` at least 1), from one byte when `n` fits in one.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        debug_assert!(n > 0);
        if n <= 256 { usize::from(self.u8()) % n } else { usize::from(self.u16()) % n }
    }

    /// Up to `n` bytes (fewer at the end of the input).
    pub(crate) fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        head
    }

    /// A length-prefixed run of at most `max` bytes.
    pub(crate) fn chunk(&mut self, max: usize) -> &'a [u8] {
        let n = self.below(max + 1);
        self.bytes(n)
    }

    /// Everything left.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        self.bytes(self.data.len())
    }

    /// A user key, usually from a tiny alphabet (so keys collide, are prefixes of each other,
    /// are empty, hold 0x00 and 0xff), sometimes from a wider space.
    pub(crate) fn user_key(&mut self) -> Vec<u8> {
        let b = self.u8();
        if b >= 0xe0 {
            return format!("w{:03}", self.u8()).into_bytes();
        }
        const ALPHABET: &[u8] = b"ab\x00\xff";
        (0..b % 4).map(|i| ALPHABET[usize::from(b >> (2 + 2 * i)) % 4]).collect()
    }

    /// An internal key with a small seqno.
    pub(crate) fn internal_key(&mut self) -> Vec<u8> {
        let user_key = self.user_key();
        let b = self.u8();
        let kind = if b & 0x80 == 0 { ValueKind::Put } else { ValueKind::Delete };
        ikey::make(&user_key, SeqNo::from(b & 0x7f), kind)
    }

    /// A seek target: an internal key, or the seek keys before and after a user key's versions.
    pub(crate) fn target(&mut self) -> Vec<u8> {
        match self.u8() % 4 {
            0 => self.internal_key(),
            1 => ikey::first_of(&self.user_key()),
            2 => ikey::last_of(&self.user_key()),
            _ => {
                let user_key = self.user_key();
                ikey::seek_target(&user_key, SeqNo::from(self.u8()))
            }
        }
    }

    /// A value: usually short, sometimes a few hundred bytes of one repeated byte (so a few
    /// fill a tiny memtable or block without costing the fuzzer many bytes).
    pub(crate) fn value(&mut self) -> Vec<u8> {
        let b = self.u8();
        if b >= 0xc0 {
            let fill = self.u8();
            return vec![fill; 100 + usize::from(b - 0xc0) * 12];
        }
        self.bytes(usize::from(b % 12)).to_vec()
    }
}
