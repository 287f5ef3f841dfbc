//! The inputs the `dataset` and `checkpoint` fuzz targets found or kept, in
//! `fixtures/fuzz/{dataset,checkpoint}/`, replayed through the targets' own checks
//! on stable (see `fuzz/README.md`).
//!
//! `crash-*` files once failed a check and name the bug; `seed-*` files are the
//! starting corpus; `deep-*` files are minimised corpus entries that reach deep
//! paths: a parse that yields documents, a checkpoint that restores a model that
//! generates, a state dict that loads.

#[path = "../../../fuzz/checks/checkpoint.rs"]
mod checkpoint;
#[path = "../../../fuzz/checks/dataset.rs"]
mod dataset;

use std::path::PathBuf;

fn fixtures(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/fuzz")
        .join(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("a directory entry").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let bytes = std::fs::read(&path).expect("a readable fixture");
            (name, bytes)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixture in {}", dir.display());
    files
}

/// Runs `check` on every fixture of `target`; `deep` says whether an outcome went
/// as deep as a `deep-*` file must.
fn replay<T: std::fmt::Debug>(target: &str, check: fn(&[u8]) -> T, deep: fn(&T) -> bool) {
    let mut failures = Vec::new();
    for (name, bytes) in fixtures(target) {
        match std::panic::catch_unwind(|| check(&bytes)) {
            Ok(outcome) if name.starts_with("deep-") && !deep(&outcome) => {
                failures.push(format!("{name}: no longer reaches deep ({outcome:?})"));
            }
            Ok(_) => {}
            Err(_) => failures.push(format!("{name}: the check failed (message above)")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_kept_data_file_passes_the_fuzz_check() {
    replay(
        "dataset",
        dataset::check,
        |o| matches!(o, dataset::Outcome::Docs(n) if *n > 0),
    );
}

#[test]
fn every_kept_checkpoint_passes_the_fuzz_check() {
    replay("checkpoint", checkpoint::check, |o| {
        o.state_dict.is_some_and(|n| n > 0)
            || matches!(o.checkpoint, Some(checkpoint::Restored::Generated(_)))
    });
}

#[test]
fn the_seeds_load() {
    // The seeds are the fuzzer's only way into a successful load: keep them loadable.
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/fuzz/checkpoint");
    let read = |name: &str| std::fs::read(dir.join(name)).expect("the seed exists");
    for name in ["seed-small.json", "seed-two-layers.json"] {
        assert_eq!(checkpoint::check(&read(name)).state_dict, Some(1), "{name}");
    }
    for name in [
        "seed-checkpoint-chacha.json",
        "seed-checkpoint-python.json",
        "seed-checkpoint-chacha-v2.json",
        "seed-checkpoint-python-v2.json",
    ] {
        let text = String::from_utf8(read(name)).unwrap();
        // As they are: the check would put a wrong checksum right.
        train::Checkpoint::from_json(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let outcome = checkpoint::check(text.as_bytes());
        assert!(
            matches!(outcome.checkpoint, Some(checkpoint::Restored::Generated(_))),
            "{name}: {outcome:?}"
        );
    }
}
