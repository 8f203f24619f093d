//! Seeds and iteration counts for randomized unit tests.
//!
//! `LODE_SEED=<u64>` replays a run; `LODE_TEST_SCALE=<n>` multiplies iteration counts (soaks).
//! A [`Seed`] prints itself if the test panics, so every failure says how to replay it.

use rand::SeedableRng;
use rand::rngs::StdRng;

/// A test's seed; prints a replay line when the test fails.
#[derive(Debug)]
pub(crate) struct Seed {
    pub value: u64,
    name: &'static str,
}

impl Seed {
    /// The seed from `LODE_SEED`, or a fresh random one.
    pub(crate) fn new(name: &'static str) -> Seed {
        let value = std::env::var("LODE_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(rand::random);
        Seed { value, name }
    }

    /// A generator seeded from this seed and a sub-stream number.
    pub(crate) fn rng(&self, stream: u64) -> StdRng {
        StdRng::seed_from_u64(self.value ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }
}

impl Drop for Seed {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "{} failed with seed {}: replay with LODE_SEED={}",
                self.name, self.value, self.value
            );
        }
    }
}

/// `base` iterations times `LODE_TEST_SCALE` (default 1).
pub(crate) fn iterations(base: usize) -> usize {
    let scale: usize = std::env::var("LODE_TEST_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    base.saturating_mul(scale.max(1))
}
