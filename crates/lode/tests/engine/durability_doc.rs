//! docs/durability.md names the test behind each promise; each name must be a real test, so
//! the contract cannot drift from the tests that check it.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn durability_doc_names_only_real_tests() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let doc = std::fs::read_to_string(root.join("docs/durability.md")).expect("durability.md");
    let mut files = Vec::new();
    rust_files(&root.join("crates"), &mut files);
    let sources: Vec<String> =
        files.iter().map(|f| std::fs::read_to_string(f).expect("read source")).collect();
    let mut named = 0;
    for (i, span) in doc.split('`').enumerate() {
        // Odd pieces are inside backticks; a test name is a snake_case word with at least
        // three underscores, optionally behind `module::` paths.
        let name = span.rsplit("::").next().unwrap_or(span);
        let is_test_name = i % 2 == 1
            && name.matches('_').count() >= 3
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !is_test_name {
            continue;
        }
        named += 1;
        let needle = format!("fn {name}(");
        assert!(
            sources.iter().any(|s| s.contains(&needle)),
            "docs/durability.md names `{span}`, but no test `fn {name}` exists"
        );
    }
    assert!(named >= 15, "only {named} test names found in docs/durability.md");
}
