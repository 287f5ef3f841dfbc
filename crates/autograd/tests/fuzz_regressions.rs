//! The inputs the `autograd` fuzz target found or kept, in `fixtures/fuzz/autograd/`,
//! replayed through the target's own check on stable (see `fuzz/README.md`).
//!
//! `crash-*` files once failed it and name the bug; `deep-*` files are minimised
//! corpus entries that reach deep paths. Both must still compare gradients with
//! finite differences, not only run without a panic. `known-*` files make a failure
//! that is reported but not fixed, kept out of the comparison by a guard in the
//! check (see `fuzz/README.md`); they must not panic. The bytes mean a program only
//! through `fuzz/checks/autograd.rs`: a change to how it reads them must remake
//! the files, and `the_crash_inputs_still_make_their_programs` notices.

#[path = "../../../fuzz/checks/autograd.rs"]
mod check;

use std::path::PathBuf;

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/fuzz/autograd");
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
    files
}

#[test]
fn every_kept_input_passes_the_fuzz_check() {
    let files = fixtures();
    assert!(!files.is_empty(), "no fixture in fixtures/fuzz/autograd");
    let mut failures = Vec::new();
    for (name, bytes) in &files {
        match std::panic::catch_unwind(|| check::check(bytes)) {
            Ok(outcome) => {
                let kept = name.starts_with("crash-") || name.starts_with("deep-");
                if kept && outcome.compared == 0 {
                    failures.push(format!(
                        "{name}: no gradient compared any more ({outcome:?})"
                    ));
                }
            }
            Err(_) => failures.push(format!("{name}: the check failed (message above)")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Each crash file, and the op that failed on it.
const CRASHES: &[(&str, &str)] = &[
    ("crash-pow-zero-exponent-at-zero", "pow(n0, 0.0)"),
    // A bug of the check: rmsnorm nested eight deep on zeros has a slope of
    // 316^8 ~ 1e20, and that gradient widened the test of whether the difference
    // quotients had converged (they had not), which then failed.
    (
        "crash-false-alarm-nested-rmsnorm-at-zero",
        "n426.. = rmsnorm(n372..n384, 4, Exact)",
    ),
    // A bug of the check: keys a million times the leaves, tied at the point, make
    // the softmax swing from uniform to one-hot within 1e-7 of it; a step of 1e-5
    // saw the chord. Now the logits' reach over the step is watched.
    (
        "crash-false-alarm-softmax-tie",
        "attention(n47..n51, n51..n55, n2..n6, 1, 1, 0, 0.5, Fast)",
    ),
    // A bug of the check: 1/log(y) with y = rmsnorm(rmsnorm(x)) a few ulps below 1
    // amplifies y's rounding 1e10 times; the rounding allowance only looked at the
    // values. Now it weighs each node's value by its gradient.
    ("crash-false-alarm-rounding-near-one", "n64.. = log(n59)"),
];

#[test]
fn the_crash_inputs_still_make_their_programs() {
    for &(name, op) in CRASHES {
        let (_, bytes) = fixtures()
            .into_iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{name} is missing"));
        let program = check::program(&bytes);
        assert!(
            program.contains(op),
            "{name} no longer makes {op}:\n{program}"
        );
    }
}
