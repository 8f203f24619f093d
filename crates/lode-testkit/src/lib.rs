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

/// Set by `.ci/run`: a test that needs a [`SmallFs`] fails, instead of skipping, when it
/// cannot mount one.
pub const REQUIRE_SMALL_FS: &str = "LODE_REQUIRE_SMALL_FS";

/// A real, small file system (a tmpfs of a fixed size, mounted on a fresh directory) for
/// disk-full tests; unmounted and removed on drop. Mounting needs root (CI runs as root).
#[derive(Debug)]
pub struct SmallFs {
    dir: std::path::PathBuf,
}

impl SmallFs {
    /// Mounts a tmpfs of `bytes` bytes. `None` (with a note on stderr) where this process
    /// cannot mount one, unless [`REQUIRE_SMALL_FS`] is set, in which case it panics.
    pub fn mount(bytes: u64) -> Option<SmallFs> {
        let dir = std::env::temp_dir().join(format!(
            "lode-small-fs-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        let result = std::fs::create_dir_all(&dir).map_err(|e| e.to_string()).and_then(|()| {
            let out = std::process::Command::new("mount")
                .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
                .arg(&dir)
                .output()
                .map_err(|e| format!("running mount: {e}"))?;
            if out.status.success() {
                Ok(())
            } else {
                Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
            }
        });
        match result {
            Ok(()) => Some(SmallFs { dir }),
            Err(why) => {
                let _ = std::fs::remove_dir(&dir);
                assert!(
                    std::env::var_os(REQUIRE_SMALL_FS).is_none(),
                    "{REQUIRE_SMALL_FS} is set but a tmpfs cannot be mounted: {why}"
                );
                eprintln!("skipped: this disk-full test mounts a tmpfs and needs root ({why})");
                None
            }
        }
    }

    /// The mount point.
    pub fn path(&self) -> &std::path::Path {
        &self.dir
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.dir).status();
        let _ = std::fs::remove_dir(&self.dir);
    }
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
