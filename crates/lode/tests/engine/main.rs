//! The engine's integration tests: one binary, one module per concern.
//!
//! Randomized tests print their seed on failure; `LODE_SEED=<n>` replays one and
//! `LODE_TEST_SCALE=<n>` multiplies their iteration counts for a soak.

mod api;
mod compaction;
mod corruption;
mod crash;
mod failures;
mod fuzz_corpus;
mod limits;
mod model;
mod process_crash;
