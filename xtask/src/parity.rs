//! `cargo xtask parity`: the reference programs' complete output, reproduced.
//!
//! Runs `cargo xtask train --exact --seed 42 --data ../shared/data/names.txt`
//! in-process, once per published version (`--preset v1`, then `--preset v2`), and
//! compares what it prints, byte for byte, with
//! `../shared/reference/microgpt_default_seed42.txt` (v1) and
//! `../shared/reference/microgpt_v2_default_seed42.txt` (v2). Both live outside the
//! repository, in the shared folder beside it; without v1's there is nothing to
//! compare and the command fails saying so; without v2's it checks v1 and says
//! that it skipped v2.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Parser;

/// Compare the Python-exact mode with the reference programs' output.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The output of the first microgpt.py (v1).
    #[arg(long, value_name = "FILE", default_value_os_t = shared().join("reference/microgpt_default_seed42.txt"))]
    reference: PathBuf,
    /// The output of its revision (v2); skipped, saying so, if it is not there.
    #[arg(long, value_name = "FILE", default_value_os_t = shared().join("reference/microgpt_v2_default_seed42.txt"))]
    reference_v2: PathBuf,
    /// The dataset the references were trained on.
    #[arg(long, value_name = "FILE", default_value_os_t = shared().join("data/names.txt"))]
    data: PathBuf,
}

/// `cargo xtask train`'s flags, parsed on their own.
#[derive(Parser)]
struct Train {
    #[command(flatten)]
    args: crate::train_args::Args,
}

/// `../shared`, beside the repository.
pub(crate) fn shared() -> PathBuf {
    crate::paths::project_root().join("../shared")
}

pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    for (what, flag, path) in [
        ("the reference output", "--reference", &args.reference),
        ("the reference's dataset", "--data", &args.data),
    ] {
        if !path.is_file() {
            bail!(
                "parity compares with {what}, expected at {}, which is not there; put the shared folder (reference/ and data/) beside the repository, or give {flag} FILE",
                path.display()
            );
        }
    }
    check("v1", &args.reference, &args.data)?;
    if args.reference_v2.exists() {
        check("v2", &args.reference_v2, &args.data)?;
    } else {
        println!(
            "parity v2: SKIPPED: {} is not there",
            args.reference_v2.display()
        );
    }
    Ok(())
}

/// Trains `preset` exactly and compares its output with `reference`.
fn check(preset: &str, reference: &Path, data: &Path) -> anyhow::Result<()> {
    let expected = std::fs::read(reference)
        .with_context(|| format!("reading the reference output {}", reference.display()))?;
    let data = data.to_str().context("the data path is not UTF-8")?;
    let argv = [
        "train", "--preset", preset, "--exact", "--seed", "42", "--data", data,
    ];
    let train = Train::try_parse_from(argv)?;
    let mut out = Vec::new();
    let stop = crate::signals::Stop::never();
    crate::train::execute(&train.args, &mut out, false, &stop)?;

    // Lines end in `\n`, or in `\r` for v2's steps: compare line by line with their
    // endings, so that a wrong ending is reported where it is.
    let lines = |b: &[u8]| -> Vec<String> {
        b.split_inclusive(|&c| c == b'\n' || c == b'\r')
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect()
    };
    let (e, a) = (lines(&expected), lines(&out));
    for i in 0..e.len().max(a.len()) {
        let (exp, act) = (e.get(i), a.get(i));
        if exp != act {
            let show =
                |l: Option<&String>| l.map_or("(end of output)".into(), |l| format!("{l:?}"));
            bail!(
                "{preset}: line {} differs:\n  reference: {}\n  ours:      {}",
                i + 1,
                show(exp),
                show(act)
            );
        }
    }
    println!(
        "parity {preset}: all {} lines ({} bytes) match {}",
        e.len(),
        expected.len(),
        reference.display()
    );
    Ok(())
}
