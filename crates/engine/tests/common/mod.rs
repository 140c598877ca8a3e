//! Where the corpus of real descriptions is, for the corpus tests of this crate.

use std::path::PathBuf;

/// `$MOCKLOOP_CORPUS` when set, else the shared folder beside the repository.
pub fn corpus_dir() -> PathBuf {
    match std::env::var_os("MOCKLOOP_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/corpus/specs"
        )),
    }
}

/// The descriptions in the corpus folder, sorted.
pub fn corpus_files() -> Vec<PathBuf> {
    let dir = corpus_dir();
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read corpus folder {}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x == "json" || x == "yaml" || x == "yml")
        })
        .collect();
    files.sort();
    files
}
