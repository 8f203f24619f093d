//! The data every engine is given: seeded keys, values and key orders, identical across engines
//! and runs with the same seed, and the set of keys a database holds (to check every read).
//!
//! A key is 16 bytes: the big-endian index (so key order is index order) and 8 bytes derived
//! from the index and the seed. A missing key shares its index with a real key and differs in
//! the suffix, so it falls inside the key range (a bloom filter or a tree descent has to rule
//! it out, not a range check). A value carries its key's index in its first 8 bytes, so a read
//! can tell it got the value of its key; the rest comes from a seeded pool that is half
//! repeated bytes (compressible to about 50%, db_bench's convention).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Bytes of every key.
pub const KEY_BYTES: usize = 16;
/// The smallest value: it must hold the 8-byte index that reads check.
pub const VALUE_BYTES_MIN: usize = 8;
/// The largest value (the size of the pool values are cut from).
pub const VALUE_BYTES_MAX: usize = 1 << 20;

/// A 64-bit mixer (splitmix64's finaliser): distinct inputs give well-spread outputs.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Keys for indices `0..n` under one seed.
#[derive(Debug, Clone, Copy)]
pub struct KeySpace {
    seed: u64,
}

impl KeySpace {
    /// The key space of `seed`.
    pub fn new(seed: u64) -> KeySpace {
        KeySpace { seed }
    }

    fn suffix(&self, i: u64) -> u64 {
        mix(i ^ mix(self.seed))
    }

    /// The key of index `i`.
    pub fn key(&self, i: u64) -> [u8; KEY_BYTES] {
        let mut k = [0u8; KEY_BYTES];
        k[..8].copy_from_slice(&i.to_be_bytes());
        k[8..].copy_from_slice(&self.suffix(i).to_be_bytes());
        k
    }

    /// A key that is never written: index `i`'s prefix with a different suffix.
    pub fn missing_key(&self, i: u64) -> [u8; KEY_BYTES] {
        let mut k = self.key(i);
        k[8..].copy_from_slice(&(!self.suffix(i)).to_be_bytes());
        k
    }

    /// The index of `key`, if it is one of this space's keys.
    pub fn index_of(&self, key: &[u8]) -> Option<u64> {
        let prefix: [u8; 8] = key.get(..8)?.try_into().ok()?;
        let i = u64::from_be_bytes(prefix);
        (key == self.key(i)).then_some(i)
    }
}

/// Values of one length, cut from a seeded pool.
#[derive(Debug, Clone)]
pub struct Values {
    pool: Vec<u8>,
    len: usize,
}

impl Values {
    /// Values of `len` bytes (`VALUE_BYTES_MIN..=VALUE_BYTES_MAX`, checked by the caller).
    ///
    /// # Panics
    /// If `len` is outside those limits.
    pub fn new(seed: u64, len: usize) -> Values {
        assert!((VALUE_BYTES_MIN..=VALUE_BYTES_MAX).contains(&len), "value length {len}");
        let mut rng = StdRng::seed_from_u64(mix(seed ^ 0x7a1e));
        let pool_len = (2 * VALUE_BYTES_MAX).next_multiple_of(64);
        let mut pool = Vec::with_capacity(pool_len);
        while pool.len() < pool_len {
            let half: [u8; 32] = rng.random();
            pool.extend_from_slice(&half);
            pool.extend_from_slice(&half);
        }
        Values { pool, len }
    }

    /// Bytes of each value.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether values are empty (never: the length is at least `VALUE_BYTES_MIN`).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Writes the value of index `i` into `out`.
    pub fn fill(&self, i: u64, out: &mut Vec<u8>) {
        let start = (mix(i) % (self.pool.len() - self.len) as u64) as usize;
        out.clear();
        out.extend_from_slice(&self.pool[start..start + self.len]);
        out[..8].copy_from_slice(&i.to_le_bytes());
    }

    /// Whether `v` is a value this generator wrote for index `i`.
    pub fn matches(&self, v: &[u8], i: u64) -> bool {
        v.len() == self.len && v[..8] == i.to_le_bytes()
    }
}

/// A pseudo-random order of `0..n` computed on the fly (no table: a 20M-key fill must not
/// spend 160 MB of the harness's memory on its key order). An affine map `x * a + b` modulo a
/// power of two is a bijection for odd `a`; values at or past `n` are mapped again until they
/// fall inside (cycle walking), which keeps it a bijection on `0..n`.
#[derive(Debug, Clone, Copy)]
pub struct Permutation {
    n: u64,
    mask: u64,
    a: u64,
    b: u64,
}

impl Permutation {
    /// An order of `0..n` chosen by `seed`.
    pub fn new(n: u64, seed: u64) -> Permutation {
        let mask = n.max(2).next_power_of_two() - 1;
        Permutation {
            n,
            mask,
            a: (seed | 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1,
            b: seed.rotate_left(17),
        }
    }

    /// The `i`-th element of the order (`i < n`).
    pub fn at(&self, i: u64) -> u64 {
        let mut x = i;
        loop {
            x = (x.wrapping_mul(self.a).wrapping_add(self.b)) & self.mask;
            x ^= x >> 7;
            x = x.wrapping_mul(self.a) & self.mask;
            if x < self.n {
                return x;
            }
        }
    }
}

/// Which indices of `0..n` a database holds: what every read is checked against.
#[derive(Debug, Clone)]
pub struct Live {
    words: Vec<u64>,
    n: u64,
    count: u64,
}

impl Live {
    /// No index of `0..n` held.
    pub fn new(n: u64) -> Live {
        Live { words: vec![0; n.div_ceil(64) as usize], n, count: 0 }
    }

    /// The size of the index space.
    pub fn n(&self) -> u64 {
        self.n
    }

    /// Indices held.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Whether index `i` is held.
    pub fn contains(&self, i: u64) -> bool {
        i < self.n && self.words[(i / 64) as usize] & (1 << (i % 64)) != 0
    }

    /// Marks `i` held.
    pub fn insert(&mut self, i: u64) {
        if i < self.n && !self.contains(i) {
            self.words[(i / 64) as usize] |= 1 << (i % 64);
            self.count += 1;
        }
    }

    /// Marks `i` not held.
    pub fn remove(&mut self, i: u64) {
        if self.contains(i) {
            self.words[(i / 64) as usize] &= !(1 << (i % 64));
            self.count -= 1;
        }
    }

    /// The smallest held index at or after `i`.
    pub fn next_from(&self, i: u64) -> Option<u64> {
        if i >= self.n {
            return None;
        }
        let mut w = (i / 64) as usize;
        let mut bits = self.words[w] & (!0u64 << (i % 64));
        loop {
            if bits != 0 {
                return Some(w as u64 * 64 + u64::from(bits.trailing_zeros()));
            }
            w += 1;
            bits = *self.words.get(w)?;
        }
    }

    /// A uniformly random held index (`None` when nothing is held).
    pub fn pick(&self, rng: &mut impl Rng) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        // Rejection sampling: fast while most indices are held (the workloads delete at most
        // a quarter); past 64 misses, the next held index after a random one (slightly biased,
        // never stuck).
        for _ in 0..64 {
            let i = rng.random_range(0..self.n);
            if self.contains(i) {
                return Some(i);
            }
        }
        let i = rng.random_range(0..self.n);
        self.next_from(i).or_else(|| self.next_from(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_is_a_bijection_on_0_to_n() {
        for n in [1u64, 2, 3, 1000, 1 << 12, 5000] {
            let p = Permutation::new(n, 42);
            let mut seen = vec![false; n as usize];
            for i in 0..n {
                let x = p.at(i);
                assert!(x < n && !seen[x as usize], "n {n}: {x} repeated or out of range");
                seen[x as usize] = true;
            }
        }
    }

    #[test]
    fn keys_sort_by_index_and_missing_keys_are_never_real() {
        let ks = KeySpace::new(7);
        let mut previous = ks.key(0);
        for i in 1..5000 {
            let k = ks.key(i);
            assert!(previous < k, "key {i} does not sort after key {}", i - 1);
            assert_eq!(ks.index_of(&k), Some(i));
            let m = ks.missing_key(i);
            assert_ne!(m, k);
            assert_eq!(ks.index_of(&m), None, "missing key {i} decodes as a real key");
            previous = k;
        }
        assert_eq!(ks.index_of(b"short"), None);
    }

    #[test]
    fn values_carry_their_index_and_are_half_compressible() {
        let v = Values::new(1, 100);
        let mut a = Vec::new();
        v.fill(12345, &mut a);
        assert_eq!(a.len(), 100);
        assert!(v.matches(&a, 12345));
        assert!(!v.matches(&a, 12346));
        assert!(!v.matches(&a[..99], 12345));
        // Every 64-byte chunk of the pool is 32 bytes twice.
        assert!(v.pool.chunks(64).all(|c| c[..32] == c[32..]));
    }

    #[test]
    fn values_accept_lengths_at_the_limits() {
        assert_eq!(Values::new(1, VALUE_BYTES_MIN).len(), VALUE_BYTES_MIN);
        let big = Values::new(1, VALUE_BYTES_MAX);
        let mut out = Vec::new();
        big.fill(u64::MAX, &mut out);
        assert!(big.matches(&out, u64::MAX));
    }

    #[test]
    #[should_panic(expected = "value length")]
    fn values_refuse_a_length_below_the_minimum() {
        Values::new(1, VALUE_BYTES_MIN - 1);
    }

    #[test]
    #[should_panic(expected = "value length")]
    fn values_refuse_a_length_past_the_maximum() {
        Values::new(1, VALUE_BYTES_MAX + 1);
    }

    #[test]
    fn live_tracks_inserts_removes_and_finds_the_next_held_index() {
        let mut live = Live::new(200);
        for i in [3, 64, 65, 130, 199] {
            live.insert(i);
        }
        live.insert(3);
        assert_eq!(live.count(), 5);
        assert_eq!(live.next_from(0), Some(3));
        assert_eq!(live.next_from(4), Some(64));
        assert_eq!(live.next_from(66), Some(130));
        assert_eq!(live.next_from(131), Some(199));
        assert_eq!(live.next_from(200), None);
        live.remove(199);
        live.remove(199);
        assert_eq!(live.count(), 4);
        assert_eq!(live.next_from(131), None);
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..100 {
            let i = live.pick(&mut rng).expect("something is held");
            assert!(live.contains(i));
        }
        assert_eq!(Live::new(10).pick(&mut rng), None);
    }
}
