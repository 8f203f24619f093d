//! Checksummed records: the framing of the WAL and the MANIFEST (docs/format/wal.md).
//!
//! A record is a 12-byte header, `payload_crc: u32 | payload_bytes: u32 | header_crc: u32`
//! (little-endian; `header_crc` covers the first 8 bytes), then the payload. The header has its
//! own checksum so a damaged length is caught before it is trusted.
//!
//! Reading tells a *torn tail* (the write that was in flight when the process or machine
//! stopped: a record cut short by the end of the file, or a region of zeros up to the end)
//! apart from *corruption* (a complete record that fails its checksum, anywhere). Only the
//! caller knows whether a torn tail is acceptable (it is at the end of the newest WAL).

use crate::fs::ReadableFile;
use crate::{Error, Result};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Bytes in a record header.
pub(crate) const HEADER_BYTES: usize = 12;

/// The largest payload a record may carry: a batch at its limit (docs/format/wal.md).
pub(crate) const RECORD_PAYLOAD_BYTES_MAX: u64 = crate::batch::BATCH_BYTES_MAX;

/// The header for a payload.
pub(crate) fn header(payload: &[u8]) -> [u8; HEADER_BYTES] {
    let mut h = [0u8; HEADER_BYTES];
    h[0..4].copy_from_slice(&crc32c::crc32c(payload).to_le_bytes());
    h[4..8].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    let hc = crc32c::crc32c(&h[0..8]);
    h[8..12].copy_from_slice(&hc.to_le_bytes());
    h
}

/// Appends a framed record to `out`.
pub(crate) fn encode(out: &mut Vec<u8>, payload: &[u8]) {
    out.extend_from_slice(&header(payload));
    out.extend_from_slice(payload);
}

/// What reading the next record found.
#[derive(Debug)]
pub(crate) enum Next {
    /// A verified record and its offset.
    Record { offset: u64, payload: Vec<u8> },
    /// The clean end of the file.
    End,
    /// A torn tail starting at `offset`: everything from there to the end is an incomplete write.
    Torn { offset: u64 },
}

/// Reads records from a file front to back, in large chunks.
#[derive(Debug)]
pub(crate) struct RecordReader {
    file: Arc<dyn ReadableFile>,
    path: PathBuf,
    len: u64,
    offset: u64,
    chunk: Vec<u8>,
    chunk_start: u64,
    /// Where the record after the last one read ends, when that one's header verified but its
    /// payload did not: the length is trusted, so a tool may skip the damaged record.
    resume: Option<u64>,
}

const CHUNK_BYTES: usize = 1 << 20;

impl RecordReader {
    pub(crate) fn new(file: Arc<dyn ReadableFile>, path: &Path) -> RecordReader {
        let len = file.len();
        RecordReader {
            file,
            path: path.to_owned(),
            len,
            offset: 0,
            chunk: Vec::new(),
            chunk_start: 0,
            resume: None,
        }
    }

    /// Where the next record starts: the bytes read and verified so far.
    pub(crate) fn position(&self) -> u64 {
        self.offset
    }

    /// After [`Self::next`] reported a record whose header verified but whose payload failed
    /// its checksum, moves past that record and returns true, so inspection tools can read
    /// what follows (recovery never does: nothing after damage is applied). False when the
    /// last error left no trusted length to skip by.
    pub(crate) fn skip_damaged(&mut self) -> bool {
        match self.resume.take() {
            Some(end) => {
                self.offset = end;
                true
            }
            None => false,
        }
    }

    /// Bytes `[at, at + n)` of the file; `n` has been checked against the file's length.
    fn read(&mut self, at: u64, n: usize) -> Result<Vec<u8>> {
        let in_chunk =
            at >= self.chunk_start && at + n as u64 <= self.chunk_start + self.chunk.len() as u64;
        if !in_chunk {
            if n > CHUNK_BYTES {
                let mut buf = vec![0; n];
                self.file.read_exact_at(&mut buf, at)?;
                return Ok(buf);
            }
            let want = CHUNK_BYTES.min((self.len - at) as usize);
            self.chunk.resize(want, 0);
            self.file.read_exact_at(&mut self.chunk, at)?;
            self.chunk_start = at;
        }
        let start = (at - self.chunk_start) as usize;
        Ok(self.chunk[start..start + n].to_vec())
    }

    /// True when every byte from `at` to the end of the file is zero (space a crash left).
    fn zeros_to_end(&mut self, at: u64) -> Result<bool> {
        let mut pos = at;
        while pos < self.len {
            let n = ((self.len - pos) as usize).min(CHUNK_BYTES);
            if self.read(pos, n)?.iter().any(|&b| b != 0) {
                return Ok(false);
            }
            pos += n as u64;
        }
        Ok(true)
    }

    /// The next record, the end, or a torn tail; corruption is an error.
    pub(crate) fn next(&mut self) -> Result<Next> {
        self.resume = None;
        let at = self.offset;
        let left = self.len - at;
        if left == 0 {
            return Ok(Next::End);
        }
        if left < HEADER_BYTES as u64 {
            return Ok(Next::Torn { offset: at });
        }
        let h = self.read(at, HEADER_BYTES)?;
        let word = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let (payload_crc, payload_len, header_crc) = (word(0), word(4), word(8));
        if crc32c::crc32c(&h[0..8]) != header_crc {
            if self.zeros_to_end(at)? {
                return Ok(Next::Torn { offset: at });
            }
            return Err(Error::corruption(&self.path, at, "record header checksum mismatch"));
        }
        let payload_len = u64::from(payload_len);
        if payload_len > RECORD_PAYLOAD_BYTES_MAX {
            return Err(Error::corruption(
                &self.path,
                at,
                format!(
                    "record of {payload_len} bytes is over the {RECORD_PAYLOAD_BYTES_MAX}-byte limit"
                ),
            ));
        }
        if payload_len > left - HEADER_BYTES as u64 {
            return Ok(Next::Torn { offset: at });
        }
        let payload = self.read(at + HEADER_BYTES as u64, payload_len as usize)?;
        if crc32c::crc32c(&payload) != payload_crc {
            if payload.iter().all(|&b| b == 0)
                && self.zeros_to_end(at + HEADER_BYTES as u64 + payload_len)?
            {
                return Ok(Next::Torn { offset: at });
            }
            self.resume = Some(at + HEADER_BYTES as u64 + payload_len);
            return Err(Error::corruption(&self.path, at, "record payload checksum mismatch"));
        }
        self.offset = at + HEADER_BYTES as u64 + payload_len;
        Ok(Next::Record { offset: at, payload })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::{Fs, RealFs};

    fn reader_over(bytes: &[u8]) -> (tempfile::TempDir, RecordReader) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        std::fs::write(&path, bytes).expect("write");
        let file = RealFs.open(&path).expect("open");
        (dir, RecordReader::new(file, &path))
    }

    fn records(payloads: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in payloads {
            encode(&mut out, p);
        }
        out
    }

    #[test]
    fn record_reader_returns_records_then_end() {
        let (_d, mut r) = reader_over(&records(&[b"one", b"", b"three"]));
        for want in [&b"one"[..], b"", b"three"] {
            match r.next().expect("ok") {
                Next::Record { payload, .. } => assert_eq!(payload, want),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(matches!(r.next().expect("ok"), Next::End));
    }

    #[test]
    fn record_reader_reports_every_truncation_as_torn_tail() {
        let bytes = records(&[b"first", b"second record"]);
        let first_len = HEADER_BYTES + 5;
        for cut in first_len + 1..bytes.len() {
            let (_d, mut r) = reader_over(&bytes[..cut]);
            assert!(matches!(r.next().expect("ok"), Next::Record { .. }));
            match r.next().expect("ok") {
                Next::Torn { offset } => assert_eq!(offset, first_len as u64),
                other => panic!("cut {cut}: unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn record_reader_reports_corruption_on_bad_crc() {
        let bytes = records(&[b"first", b"second record"]);
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x40;
            let (_d, mut r) = reader_over(&bad);
            let mut outcome = Vec::new();
            loop {
                match r.next() {
                    Ok(Next::Record { payload, .. }) => outcome.push(payload),
                    Ok(Next::End) => break,
                    Ok(Next::Torn { .. }) => {
                        outcome.push(b"torn".to_vec());
                        break;
                    }
                    Err(e) => {
                        assert!(e.is_corruption(), "byte {i}: {e}");
                        outcome.push(b"corrupt".to_vec());
                        break;
                    }
                }
            }
            // A flip never yields a wrong payload: at most the records before it, then an error
            // or (a damaged length that points past the end) a torn tail.
            assert!(outcome.len() <= 2, "byte {i}");
            if outcome.len() == 2 {
                assert_eq!(outcome[0], b"first");
                assert!(outcome[1] == b"corrupt" || outcome[1] == b"torn", "byte {i}");
            }
            assert_ne!(outcome.last().map(Vec::as_slice), Some(&b"second record"[..]));
        }
    }

    #[test]
    fn record_reader_skips_a_damaged_payload_only_when_its_header_verified() {
        let bytes = records(&[b"first", b"second", b"third"]);
        let second = (HEADER_BYTES + 5) as u64;
        let mut bad = bytes.clone();
        bad[second as usize + HEADER_BYTES + 1] ^= 0x01; // inside the second payload
        let (_d, mut r) = reader_over(&bad);
        assert!(!r.skip_damaged(), "nothing to skip before an error");
        assert!(matches!(r.next().expect("ok"), Next::Record { .. }));
        assert_eq!(r.position(), second);
        assert!(r.next().expect_err("payload damaged").is_corruption());
        assert!(r.skip_damaged());
        match r.next().expect("ok") {
            Next::Record { payload, .. } => assert_eq!(payload, b"third"),
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(r.next().expect("ok"), Next::End));

        let mut bad = bytes;
        bad[second as usize + 5] ^= 0x01; // the second header's length
        let (_d, mut r) = reader_over(&bad);
        assert!(matches!(r.next().expect("ok"), Next::Record { .. }));
        assert!(r.next().expect_err("header damaged").is_corruption());
        assert!(!r.skip_damaged(), "a length that did not verify is not trusted");
        assert_eq!(r.position(), second);
    }

    #[test]
    fn record_reader_treats_zero_fill_as_torn_tail() {
        let mut bytes = records(&[b"first"]);
        bytes.extend_from_slice(&[0; 40]);
        let (_d, mut r) = reader_over(&bytes);
        assert!(matches!(r.next().expect("ok"), Next::Record { .. }));
        assert!(matches!(r.next().expect("ok"), Next::Torn { offset: 17 }));
    }

    #[test]
    fn record_reader_rejects_length_past_limit_without_allocating() {
        let mut h = [0u8; HEADER_BYTES];
        h[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        let hc = crc32c::crc32c(&h[0..8]);
        h[8..12].copy_from_slice(&hc.to_le_bytes());
        let (_d, mut r) = reader_over(&h);
        assert!(r.next().expect_err("over limit").is_corruption());
    }
}
