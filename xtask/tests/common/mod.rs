//! Helpers for the tests that run the real `xtask` binary.

// Each test binary uses its own subset.
#![allow(dead_code)]

pub(crate) mod server;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fresh scratch directory, `microgpt-{suite}-{name}-{pid}` under the temp dir.
pub(crate) fn scratch(suite: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("microgpt-{suite}-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `xtask ARGS` in `dir`.
pub(crate) fn xtask(dir: &Path, args: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args.split_whitespace())
        .current_dir(dir)
        .output()
        .unwrap()
}

/// Runs `xtask ARGS`, requires success, and returns its standard output.
pub(crate) fn ok(dir: &Path, args: &str) -> String {
    let out = xtask(dir, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "xtask {args} failed: {stderr}");
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `xtask ARGS`, requires exit code 1 with one `error:` line, the last of
/// standard error, no panic, and no samples on standard output (a run that fails
/// midway has printed its steps); returns that line.
pub(crate) fn fails(dir: &Path, args: &str) -> String {
    let out = xtask(dir, args);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "xtask {args}: {stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "one error line: {stderr}");
    assert!(
        stderr.trim_end().ends_with(errors[0]),
        "the error is the last line: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(!stdout.contains("sample"), "{stdout}");
    errors[0].to_string()
}

/// The names in `dir`, sorted.
pub(crate) fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// `(step, loss bits)` of every line of a `--metrics` file.
pub(crate) fn metric_losses(path: &Path) -> Vec<(u64, u64)> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            (
                v["step"].as_u64().unwrap(),
                v["loss"].as_f64().unwrap().to_bits(),
            )
        })
        .collect()
}

/// The step in an error "... diverged at step N: ...".
pub(crate) fn diverged_step(err: &str) -> usize {
    err.split("diverged at step ")
        .nth(1)
        .and_then(|s| s.split(':').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no step in {err}"))
}
