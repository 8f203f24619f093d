//! `lode-bench`: Lode side by side with RocksDB, fjall, redb, sled and LMDB in one run (the
//! engine harness), and `lode serve` beside `redis-server` (the server harness).
//!
//! Map: `keys` (the seeded keys, values and orders every engine gets), `engines` (the one
//! `Engine` trait and an adapter per engine; the peers behind the `peers` feature),
//! `conformance` (the correctness script an adapter passes before its numbers count),
//! `workloads` (the benchmark protocol's phases), `runner` (one engine's run: caps, budget,
//! measurements around each phase), `procfs` (written bytes, CPU, peak memory, disk usage),
//! `machine` (the fsync and write probes at the start of a run), `report` (JSON lines and
//! Markdown tables), `chart` (the SVG), `server` (the server harness). The command line is in
//! main.rs; docs/benchmarks.md has the commands and the results.

pub mod chart;
pub mod conformance;
pub mod engines;
pub mod keys;
pub mod machine;
pub mod procfs;
pub mod report;
pub mod runner;
pub mod server;
pub mod workloads;
