//! The bloom filter of an SST: answers "might this table hold this user key?" without a read.
//!
//! Role: written once per SST by the [`super::TableBuilder`] from every distinct user key;
//! read at open by the [`super::TableReader`] and kept in memory, so a point lookup for a key
//! the table lacks usually costs no block read. Format: docs/format/sstable.md ("Filter
//! block"): the bit array followed by one byte holding the probe count `k`.
//!
//! Hashing is frozen: xxh3-64 with [`BLOOM_SEED`], then double hashing (LevelDB's scheme,
//! widened to 64 bits). Changing either makes every existing filter answer "no" for keys it
//! holds, so the test vectors below must never change.
//!
//! Invariants: no false negatives; a decoded filter has at least one bit and `k` in
//! `1..=BLOOM_PROBES_MAX`. Concurrency: a [`BloomFilter`] is immutable and shared freely.

use bytes::Bytes;
use xxhash_rust::xxh3::xxh3_64_with_seed;

/// The seed of the key hash. Part of the on-disk format: never change it.
pub(crate) const BLOOM_SEED: u64 = 0x6c6f_6465_626c_6f6f; // "lodebloo"

/// Most probes per key a filter may ask for (the `k` byte); more would only cost time.
pub(crate) const BLOOM_PROBES_MAX: u32 = 30;

/// Fewest bits in a filter, so that tiny tables still get a useful false-positive rate.
const BLOOM_BITS_MIN: usize = 64;

/// The hash of a user key that every probe is derived from.
pub(crate) fn bloom_hash(user_key: &[u8]) -> u64 {
    xxh3_64_with_seed(user_key, BLOOM_SEED)
}

/// Probes per key for a bits-per-key budget: `round(bits_per_key * ln 2)`, clamped.
pub(crate) fn probes_for(bits_per_key: u32) -> u32 {
    let k = (f64::from(bits_per_key) * std::f64::consts::LN_2).round() as u32;
    k.clamp(1, BLOOM_PROBES_MAX)
}

/// The bit positions a hash sets (or tests) in a filter of `bits` bits.
fn probes(hash: u64, k: u32, bits: u64) -> impl Iterator<Item = u64> {
    let h1 = hash & 0xffff_ffff;
    // Odd, so that successive probes never all land on the same bit.
    let delta = (hash >> 32) | 1;
    (0..u64::from(k)).map(move |i| h1.wrapping_add(i.wrapping_mul(delta)) % bits)
}

/// Collects the hashes of user keys and lays out the filter bytes.
#[derive(Debug)]
pub(crate) struct BloomBuilder {
    bits_per_key: u32,
    hashes: Vec<u64>,
}

impl BloomBuilder {
    /// A builder spending about `bits_per_key` bits on each key (must be at least 1).
    pub(crate) fn new(bits_per_key: u32) -> BloomBuilder {
        assert!(bits_per_key > 0, "a bloom filter needs at least one bit per key");
        BloomBuilder { bits_per_key, hashes: Vec::new() }
    }

    /// Adds a user key. Adding the same key twice only wastes bits.
    pub(crate) fn add(&mut self, user_key: &[u8]) {
        self.hashes.push(bloom_hash(user_key));
    }

    /// The filter block contents: the bit array, then the probe count byte.
    pub(crate) fn finish(&self) -> Vec<u8> {
        let k = probes_for(self.bits_per_key);
        let wanted = self.hashes.len().saturating_mul(self.bits_per_key as usize);
        let bytes = wanted.max(BLOOM_BITS_MIN).div_ceil(8);
        let bits = bytes as u64 * 8;
        let mut out = vec![0u8; bytes + 1];
        for &h in &self.hashes {
            for bit in probes(h, k, bits) {
                out[(bit / 8) as usize] |= 1 << (bit % 8);
            }
        }
        out[bytes] = k as u8;
        out
    }
}

/// A decoded filter.
#[derive(Debug, Clone)]
pub(crate) struct BloomFilter {
    bits: Bytes,
    k: u32,
}

impl BloomFilter {
    /// Decodes filter block contents (already checksum-verified).
    ///
    /// # Errors
    /// A reason string when the block is too short or its probe count is out of range.
    pub(crate) fn decode(block: Bytes) -> Result<BloomFilter, String> {
        let Some((&k, _)) = block.split_last() else {
            return Err("empty filter block".into());
        };
        let k = u32::from(k);
        if block.len() < 2 {
            return Err("filter block has no bits".into());
        }
        if !(1..=BLOOM_PROBES_MAX).contains(&k) {
            return Err(format!("filter probe count {k} is outside 1..={BLOOM_PROBES_MAX}"));
        }
        Ok(BloomFilter { bits: block.slice(..block.len() - 1), k })
    }

    /// Probes per key (the `k` byte).
    pub(crate) fn probes(&self) -> u32 {
        self.k
    }

    /// False only if the filter's table holds no entry for `user_key`.
    pub(crate) fn may_contain(&self, user_key: &[u8]) -> bool {
        let bits = self.bits.len() as u64 * 8;
        probes(bloom_hash(user_key), self.k, bits)
            .all(|bit| self.bits[(bit / 8) as usize] & (1 << (bit % 8)) != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lode_testkit::{Seed, iterations};
    use rand::Rng;

    fn filter_of(keys: &[&[u8]], bits_per_key: u32) -> Vec<u8> {
        let mut b = BloomBuilder::new(bits_per_key);
        for k in keys {
            b.add(k);
        }
        b.finish()
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn bloom_probes_for_rounds_and_clamps() {
        assert_eq!(probes_for(1), 1);
        assert_eq!(probes_for(10), 7);
        assert_eq!(probes_for(32), 22);
        assert_eq!(probes_for(100), BLOOM_PROBES_MAX);
    }

    /// Frozen: these bytes are on disk in every SST ever written. If this test fails, the
    /// hash or layout changed, which breaks existing files; change the code back.
    #[test]
    fn bloom_filter_bytes_are_frozen() {
        assert_eq!(bloom_hash(b""), 0x30d0_17e1_6365_a250, "xxh3 with BLOOM_SEED changed");
        assert_eq!(hex(&filter_of(&[], 10)), "000000000000000007");
        assert_eq!(hex(&filter_of(&[b"a", b"b", b"c"], 10)), "081442a07f09824407");
        assert_eq!(hex(&filter_of(&[b"hello", b"world", b"", b"lode"], 10)), "100075088200ee5f07");
        let many: Vec<Vec<u8>> = (0..20u32).map(|i| format!("key{i:03}").into_bytes()).collect();
        let many: Vec<&[u8]> = many.iter().map(|k| k.as_slice()).collect();
        assert_eq!(
            hex(&filter_of(&many, 10)),
            "a03219ee691be0d0fca8f7efc2ccd3a5194ec22826b9c99f3507"
        );
    }

    #[test]
    fn bloom_filter_has_no_false_negatives() {
        let seed = Seed::new("bloom_filter_has_no_false_negatives");
        let mut rng = seed.rng(0);
        for _ in 0..iterations(50) {
            let n = rng.random_range(0..500);
            let bpk = rng.random_range(1..=32);
            let keys: Vec<Vec<u8>> = (0..n)
                .map(|_| (0..rng.random_range(0..12)).map(|_| rng.random()).collect())
                .collect();
            let mut b = BloomBuilder::new(bpk);
            for k in &keys {
                b.add(k);
            }
            let f = BloomFilter::decode(Bytes::from(b.finish())).expect("own filter decodes");
            for k in &keys {
                assert!(f.may_contain(k), "false negative for {k:?} at {bpk} bits/key");
            }
        }
    }

    #[test]
    fn bloom_false_positive_rate_is_about_one_percent_at_10_bits() {
        let mut b = BloomBuilder::new(10);
        for i in 0..10_000u32 {
            b.add(format!("present-{i}").as_bytes());
        }
        let f = BloomFilter::decode(Bytes::from(b.finish())).expect("own filter decodes");
        let trials = 100_000u32;
        let hits = (0..trials).filter(|i| f.may_contain(format!("absent-{i}").as_bytes())).count();
        let rate = hits as f64 / f64::from(trials);
        assert!(rate < 0.02, "false positive rate {rate} at 10 bits/key");
    }

    #[test]
    fn bloom_decode_rejects_bad_blocks() {
        assert!(BloomFilter::decode(Bytes::new()).is_err());
        assert!(BloomFilter::decode(Bytes::from_static(&[7])).is_err(), "no bits");
        assert!(BloomFilter::decode(Bytes::from_static(&[0xff, 0])).is_err(), "k = 0");
        assert!(BloomFilter::decode(Bytes::from_static(&[0xff, 30])).is_ok(), "k at limit");
        assert!(BloomFilter::decode(Bytes::from_static(&[0xff, 31])).is_err(), "k past limit");
    }
}
