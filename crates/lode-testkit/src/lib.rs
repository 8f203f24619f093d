//! Test support shared by Lode's crates (a dev-dependency only).
//!
//! Seeds and iteration counts for randomized tests, the hex examples of format documents, and
//! the replay of the fuzz corpus through the fuzz harnesses.
//!
//! `LODE_SEED=<u64>` replays a run; `LODE_TEST_SCALE=<n>` multiplies iteration counts (soaks).
//! A [`Seed`] prints itself if the test panics, so every failure says how to replay it.

use rand::SeedableRng;
use rand::rngs::StdRng;

/// A test's seed; prints a replay line when the test fails.
#[derive(Debug)]
pub struct Seed {
    pub value: u64,
    name: &'static str,
}

impl Seed {
    /// The seed from `LODE_SEED`, or a fresh random one.
    pub fn new(name: &'static str) -> Seed {
        let value = std::env::var("LODE_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(rand::random);
        Seed { value, name }
    }

    /// A generator seeded from this seed and a sub-stream number.
    pub fn rng(&self, stream: u64) -> StdRng {
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
pub fn iterations(base: usize) -> usize {
    let scale: usize =
        std::env::var("LODE_TEST_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    base.saturating_mul(scale.max(1))
}

/// The bytes of the hex example in a format document: the hex between the lines
/// `<!-- hex-example-begin -->` and `<!-- hex-example-end -->`. Code fences are skipped, `|` or
/// `#` starts an annotation, and a token ending in `:` is an offset column.
///
/// # Panics
/// If the markers are missing or a token is not a hex byte (a broken document fails its test).
pub fn doc_hex_example(doc: &str) -> Vec<u8> {
    let start = doc.find("<!-- hex-example-begin -->").expect("doc has a hex example");
    let end = doc.find("<!-- hex-example-end -->").expect("hex example ends");
    let mut out = Vec::new();
    for line in doc[start..end].lines().skip(1) {
        if line.trim_start().starts_with("```") {
            continue;
        }
        let hex = line.split(['|', '#']).next().unwrap_or("");
        for word in hex.split_whitespace().filter(|t| !t.ends_with(':')) {
            out.push(u8::from_str_radix(word, 16).expect("hex byte"));
        }
    }
    out
}

/// Runs `harness` over every file of `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/`
/// (at the repository root), in name order, and fails naming the first file it panics on.
/// Dotfiles are skipped. Returns how many inputs ran.
///
/// # Panics
/// If an input fails, or if the corpus directory is missing or empty (a moved corpus must not
/// pass silently).
pub fn replay_fuzz_inputs(target: &str, harness: impl Fn(&[u8])) -> usize {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut ran = 0;
    for (kind, required) in [("corpus", true), ("regressions", false)] {
        let dir = root.join(kind).join(target);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(_) if !required => continue,
            Err(e) => panic!("cannot read {}: {e}", dir.display()),
        };
        let mut paths: Vec<std::path::PathBuf> =
            entries.map(|e| e.expect("read a directory entry").path()).collect();
        paths.sort();
        for path in paths {
            let hidden = path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if hidden || !path.is_file() {
                continue;
            }
            let data = std::fs::read(&path).expect("read a fuzz input");
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| harness(&data)));
            if outcome.is_err() {
                panic!("fuzz input {} fails: replay with the {target} harness", path.display());
            }
            ran += 1;
        }
        assert!(ran > 0 || !required, "{} holds no inputs", dir.display());
    }
    ran
}
