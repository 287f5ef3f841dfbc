//! `MICROGPT_SIMD` through the real binary: each path this CPU has prints the
//! same run, byte for byte; an unknown name, or a path this CPU lacks, is one
//! error line and a failed exit, before any work.

use std::process::{Command, Output};

use autograd::simd::SimdPath;

fn train(simd: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["train", "--steps", "30", "--samples", "5"])
        .env("MICROGPT_SIMD", simd)
        .output()
        .unwrap()
}

#[test]
fn every_path_prints_the_same_run() {
    let first = train("scalar");
    assert!(first.status.success(), "{first:?}");
    for path in SimdPath::available() {
        let out = train(path.name());
        assert!(out.status.success(), "{path}: {out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&first.stdout),
            "{path}"
        );
    }
}

#[test]
fn a_bad_value_is_one_error_line() {
    let out = train("avx3");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: MICROGPT_SIMD=\"avx3\" names no SIMD path; use one of"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(out.stdout.is_empty());
    // A path of another architecture is never there.
    let foreign = if cfg!(target_arch = "x86_64") {
        "neon"
    } else {
        "avx2"
    };
    let out = train(foreign);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("this CPU cannot run the {foreign} path")),
        "{err}"
    );
}
