//! The engine's integration tests: one binary, one module per concern.
//!
//! Randomized tests print their seed on failure; `LODE_SEED=<n>` replays one and
//! `LODE_TEST_SCALE=<n>` multiplies their iteration counts for a soak. `LODE_CRASH_SOAK_SECS=<n>`
//! runs `crash_soak` for n seconds (in release: `cargo nextest run -p lode --cargo-profile
//! release -E 'test(crash_soak)'`).

mod api;
mod compaction;
mod corruption;
mod crash;
mod crash_soak;
mod disk_full;
mod durability_doc;
mod failures;
mod filter;
mod fuzz_corpus;
mod limits;
mod logs;
mod model;
mod process_crash;
