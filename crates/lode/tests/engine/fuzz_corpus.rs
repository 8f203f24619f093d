//! The fuzz corpus and the regressions the fuzzers found (`fuzz/corpus/<target>/`,
//! `fuzz/regressions/<target>/`), replayed through the harnesses of `lode::fuzz` on stable
//! Rust: every input a fuzzer kept, and every crash it found, runs in CI.
//!
//! A panic on one of the engine's background threads does not reach the harness (the engine
//! joins them quietly at close), so a panic hook counts those, and each input must leave the
//! count unchanged. Under libFuzzer any panic aborts the process, so the fuzzers see them too.

use lode_testkit::replay_fuzz_inputs;
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

static BACKGROUND_PANICS: AtomicUsize = AtomicUsize::new(0);

/// Wraps `harness` so that a panic on a `lode-*` thread during an input fails that input.
fn checked(harness: fn(&[u8])) -> impl Fn(&[u8]) {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name().is_some_and(|n| n.starts_with("lode-")) {
                BACKGROUND_PANICS.fetch_add(1, Ordering::SeqCst);
            }
            default(info);
        }));
    });
    move |data| {
        let before = BACKGROUND_PANICS.load(Ordering::SeqCst);
        harness(data);
        assert_eq!(
            BACKGROUND_PANICS.load(Ordering::SeqCst),
            before,
            "a background thread panicked"
        );
    }
}

#[test]
fn fuzz_corpus_wal_reader_replays_clean() {
    replay_fuzz_inputs("wal_reader", checked(lode::fuzz::fuzz_wal_reader));
}

#[test]
fn fuzz_corpus_sst_reader_replays_clean() {
    replay_fuzz_inputs("sst_reader", checked(lode::fuzz::fuzz_sst_reader));
}

#[test]
fn fuzz_corpus_block_iter_replays_clean() {
    replay_fuzz_inputs("block_iter", checked(lode::fuzz::fuzz_block_iter));
}

#[test]
fn fuzz_corpus_manifest_replay_replays_clean() {
    replay_fuzz_inputs("manifest_replay", checked(lode::fuzz::fuzz_manifest_replay));
}

#[test]
fn fuzz_corpus_engine_model_replays_clean() {
    replay_fuzz_inputs("engine_model", checked(lode::fuzz::fuzz_engine_model));
}

/// The harness each target's inputs go through.
fn harness(target: &str) -> fn(&[u8]) {
    match target {
        "wal_reader" => lode::fuzz::fuzz_wal_reader,
        "sst_reader" => lode::fuzz::fuzz_sst_reader,
        "block_iter" => lode::fuzz::fuzz_block_iter,
        "manifest_replay" => lode::fuzz::fuzz_manifest_replay,
        "engine_model" => lode::fuzz::fuzz_engine_model,
        other => panic!("no harness for {other}"),
    }
}

#[test]
fn fuzz_seeds_from_real_files_pass_their_harnesses() {
    let seeds = lode::fuzz::seed_inputs();
    for target in ["wal_reader", "sst_reader", "block_iter", "manifest_replay", "engine_model"] {
        assert!(seeds.iter().any(|s| s.0 == target), "no seed for {target}");
    }
    for (target, name, input) in &seeds {
        let run = checked(harness(target));
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(input)));
        assert!(outcome.is_ok(), "seed {target}/{name} fails its harness");
    }
}

/// Writes the seeds into `fuzz/corpus/<target>/seed-<name>`: run after a format change, then
/// let the fuzzers grow the corpus and minimize it (fuzz/README.md).
#[test]
#[ignore = "writes into fuzz/corpus; run by hand"]
fn fuzz_corpus_write_seeds() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    for (target, name, input) in lode::fuzz::seed_inputs() {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).expect("create the corpus directory");
        std::fs::write(dir.join(format!("seed-{name}")), input).expect("write a seed");
    }
}
