//! Harnesses for fuzzers and corpus-replay tests, not a stable API.
//!
//! Each function takes arbitrary bytes and panics only when an invariant of the engine breaks:
//! bad bytes must give an error (a `Corruption`), never a panic, an allocation by an untrusted
//! length, or a wrong answer. The cargo-fuzz targets in `fuzz/` are one call each to these, and
//! `tests/engine/fuzz_corpus.rs` replays the checked-in corpus and regressions through them on
//! stable Rust. The input is decoded by `input::Input`, which never runs out: any bytes are a
//! test case. Checksums stop a fuzzer that only flips bytes, so most harnesses also let the
//! input choose contents that the harness frames with correct checksums.
//!
//! Each input runs in well under 10 ms, so fuzzers keep their throughput.

mod block;
mod engine;
mod input;
mod manifest;
mod seeds;
mod sst;
mod wal;
mod walk;

pub use seeds::{Seed, seed_inputs};

/// Arbitrary bytes as a WAL file, raw or as valid records followed by anything: the reader
/// returns records, the end, a torn tail or corruption; valid records come out first; decoded
/// batches are consistent; recovery of a database with this WAL agrees with the records.
pub fn fuzz_wal_reader(data: &[u8]) {
    wal::fuzz_wal_reader(data);
}

/// Arbitrary bytes as an SST: raw, assembled from input-chosen blocks with valid checksums, or
/// built from input-chosen entries and then damaged. Opening fails cleanly, or every get, seek
/// and scan either fails or answers in order, both directions agreeing, never a wrong value.
pub fn fuzz_sst_reader(data: &[u8]) {
    sst::fuzz_sst_reader(data);
}

/// Arbitrary bytes as one SST block (raw, with a verifying trailer, or built and damaged):
/// parsing fails cleanly, or the block iterator keeps its order in every direction.
pub fn fuzz_block_iter(data: &[u8]) {
    block::fuzz_block_iter(data);
}

/// Arbitrary bytes as CURRENT and a MANIFEST (raw, framed payloads or encoded edits): replay
/// fails cleanly or yields a valid version, and opening the database agrees.
pub fn fuzz_manifest_replay(data: &[u8]) {
    manifest::fuzz_manifest_replay(data);
}

/// Arbitrary bytes as a sequence of operations on a database on the simulated file system
/// with tiny sizes, checked against a `BTreeMap` model, power losses included.
pub fn fuzz_engine_model(data: &[u8]) {
    engine::fuzz_engine_model(data);
}

#[cfg(test)]
mod tests {
    use lode_testkit::{Seed, iterations};
    use rand::Rng;

    /// Random inputs of random lengths through `harness`: a smoke test of the harness itself
    /// (the corpus replay in tests/engine/fuzz_corpus.rs covers what the fuzzers found).
    fn random_inputs(name: &'static str, harness: fn(&[u8]), runs: usize) {
        let seed = Seed::new(name);
        let mut rng = seed.rng(0);
        for _ in 0..iterations(runs) {
            let len = rng.random_range(0..600);
            let data: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            harness(&data);
        }
    }

    #[test]
    fn fuzz_wal_reader_survives_random_inputs() {
        random_inputs("fuzz_wal_reader_survives_random_inputs", super::fuzz_wal_reader, 300);
    }

    #[test]
    fn fuzz_sst_reader_survives_random_inputs() {
        random_inputs("fuzz_sst_reader_survives_random_inputs", super::fuzz_sst_reader, 500);
    }

    #[test]
    fn fuzz_block_iter_survives_random_inputs() {
        random_inputs("fuzz_block_iter_survives_random_inputs", super::fuzz_block_iter, 1000);
    }

    #[test]
    fn fuzz_manifest_replay_survives_random_inputs() {
        let name = "fuzz_manifest_replay_survives_random_inputs";
        random_inputs(name, super::fuzz_manifest_replay, 300);
    }

    #[test]
    fn fuzz_engine_model_survives_random_inputs() {
        random_inputs("fuzz_engine_model_survives_random_inputs", super::fuzz_engine_model, 100);
    }
}
