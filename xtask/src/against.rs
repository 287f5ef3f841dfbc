//! `cargo xtask bench --against REV`: this build's training step against another
//! commit's, side by side on the same machine in the same run.
//!
//! REV is checked out into a temporary git worktree and built in release. Then, in
//! interleaved rounds, each binary trains the reference configuration twice, for
//! `long` and for `short` steps, and the difference of the two wall times divided
//! by `long - short` is its time per step: process start-up, data loading and the
//! first steps' warm-up cancel out. Interleaving puts both builds through the same
//! phases of a noisy machine, so their ratio is worth more than either figure.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, bail};

/// Steps of the long and the short run of each measurement.
const LONG: usize = 20_500;
const SHORT: usize = 500;

pub(crate) fn run(rev: &str, rounds: usize) -> anyhow::Result<()> {
    anyhow::ensure!(rounds >= 1, "--rounds must be at least 1");
    let root = crate::paths::project_root();
    let this = std::env::current_exe().context("cannot find this binary")?;
    let theirs = build(&root, rev)?;
    println!("cpu: {}", cpu_model().unwrap_or_else(|| "unknown".into()));
    println!(
        "µs per training step, (t({LONG} steps) - t({SHORT})) / {}",
        LONG - SHORT
    );
    println!("round  {rev:>12}  {:>12}  ratio", "this build");
    let mut ratios = Vec::with_capacity(rounds);
    for round in 1..=rounds {
        let old = per_step(&theirs)?;
        let new = per_step(&this)?;
        ratios.push(new / old);
        println!("{round:5}  {old:12.2}  {new:12.2}  {:.3}", new / old);
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "median ratio this build / {rev}: {:.3}",
        ratios[ratios.len() / 2]
    );
    Ok(())
}

/// Builds `rev`'s xtask in release in a temporary worktree under `target/`, and
/// returns the binary, copied out before the worktree is removed.
fn build(root: &Path, rev: &str) -> anyhow::Result<PathBuf> {
    let base = root.join("target").join("against");
    let tree = base.join("tree");
    let target = base.join("target");
    std::fs::create_dir_all(&base)?;
    if tree.exists() {
        // A worktree left by an interrupted run.
        git(root, &["worktree", "remove", "--force", path(&tree)?])?;
    }
    git(root, &["worktree", "add", "--detach", path(&tree)?, rev])
        .with_context(|| format!("cannot check out {rev}"))?;
    eprintln!(
        "bench: building {rev} in release (in {})...",
        tree.display()
    );
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--release", "--package", "xtask"])
        .current_dir(&tree)
        .env("CARGO_TARGET_DIR", &target)
        .status();
    let copy = base.join(format!("xtask-{}", rev.replace('/', "_")));
    let result = match status {
        Ok(s) if s.success() => std::fs::copy(target.join("release/xtask"), &copy)
            .map(|_| copy)
            .context("cannot copy the built binary"),
        Ok(s) => Err(anyhow::anyhow!("building {rev} failed ({s})")),
        Err(e) => Err(anyhow::anyhow!("cannot run cargo: {e}")),
    };
    git(root, &["worktree", "remove", "--force", path(&tree)?])?;
    result
}

/// µs per training step of `bin`, by the difference of a long and a short run.
fn per_step(bin: &Path) -> anyhow::Result<f64> {
    let time = |steps: usize| -> anyhow::Result<f64> {
        let start = Instant::now();
        let status = Command::new(bin)
            .args(["train", "--steps", &steps.to_string(), "--samples", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .with_context(|| format!("cannot run {}", bin.display()))?;
        if !status.success() {
            bail!("{} train --steps {steps} failed ({status})", bin.display());
        }
        Ok(start.elapsed().as_secs_f64())
    };
    let (long, short) = (time(LONG)?, time(SHORT)?);
    Ok((long - short) * 1e6 / (LONG - SHORT) as f64)
}

fn git(root: &Path, args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("git")
        .args(args)
        .current_dir(root)
        .output()
        .context("cannot run git")?;
    if !out.status.success() {
        bail!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn path(p: &Path) -> anyhow::Result<&str> {
    p.to_str()
        .with_context(|| format!("{} is not UTF-8", p.display()))
}

/// The CPU's model name, as `lscpu` prints it, from `/proc/cpuinfo`.
pub(crate) fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("model name"))?;
    Some(line.split_once(':')?.1.trim().to_string())
}
