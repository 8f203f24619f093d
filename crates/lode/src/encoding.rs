//! Little-endian fixed-width integers and LEB128 varints, the primitives of every on-disk format
//! (docs/format/). Decoders return `None` on short or malformed input and never panic.

/// Appends `v` as a LEB128 varint (1 to 10 bytes).
pub(crate) fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Decodes a varint from the front of `input`: `(value, bytes used)`.
pub(crate) fn get_varint(input: &[u8]) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for (i, &b) in input.iter().enumerate().take(10) {
        let part = u64::from(b & 0x7f);
        if i == 9 && part > 1 {
            return None; // more than 64 bits
        }
        v |= part << (7 * i);
        if b & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// A cursor over a byte slice that decodes without panicking.
#[derive(Debug, Clone)]
pub(crate) struct Decoder<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Decoder<'a> {
        Decoder { input, pos: 0 }
    }
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.input.len()
    }
    pub(crate) fn varint(&mut self) -> Option<u64> {
        let (v, n) = get_varint(&self.input[self.pos..])?;
        self.pos += n;
        Some(v)
    }
    pub(crate) fn u8(&mut self) -> Option<u8> {
        let b = *self.input.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }
    pub(crate) fn u32(&mut self) -> Option<u32> {
        let b = self.bytes(4)?;
        Some(u32::from_le_bytes(b.try_into().ok()?))
    }
    pub(crate) fn u64(&mut self) -> Option<u64> {
        let b = self.bytes(8)?;
        Some(u64::from_le_bytes(b.try_into().ok()?))
    }
    /// The next `n` bytes; `n` is checked against what is left before anything is sliced.
    pub(crate) fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.input.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }
    /// A varint length followed by that many bytes.
    #[allow(dead_code)] // used by the WAL and manifest codecs
    pub(crate) fn length_prefixed(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.varint()?).ok()?;
        self.bytes(n)
    }
}

/// Appends a varint length and the bytes.
#[allow(dead_code)] // used by the WAL and manifest codecs
pub(crate) fn put_length_prefixed(buf: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(buf, bytes.len() as u64);
    buf.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_round_trips_edges() {
        for v in [0, 1, 127, 128, 300, u32::MAX as u64, u64::MAX - 1, u64::MAX] {
            let mut buf = Vec::new();
            put_varint(&mut buf, v);
            assert_eq!(get_varint(&buf), Some((v, buf.len())));
            assert_eq!(get_varint(&buf[..buf.len() - 1]), None, "short input for {v}");
        }
    }

    #[test]
    fn varint_rejects_overlong_encoding() {
        assert_eq!(get_varint(&[0xff; 11]), None);
        assert_eq!(get_varint(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]), None);
    }

    #[test]
    fn decoder_bytes_checks_length_before_slicing() {
        let mut d = Decoder::new(&[5, 1, 2]);
        assert_eq!(d.length_prefixed(), None);
        let mut d = Decoder::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
        assert_eq!(d.length_prefixed(), None);
    }
}
