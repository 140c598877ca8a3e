//! Every source file of the crate opens with a one-line `//!` saying what it is for.

use std::path::Path;

fn check_dir(dir: &Path, missing: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            check_dir(&path, missing);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            if !text.starts_with("//! ") {
                missing.push(path.display().to_string());
            }
        }
    }
}

#[test]
fn every_module_says_what_it_is_for() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut missing = Vec::new();
    for dir in ["src", "tests", "examples"] {
        check_dir(&root.join(dir), &mut missing);
    }
    assert!(
        missing.is_empty(),
        "files without a leading `//!` line:\n{}",
        missing.join("\n")
    );
}
