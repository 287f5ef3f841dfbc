//! `cargo xtask parity`: the reference program's complete output, reproduced.
//!
//! Runs `cargo xtask train --rng python --seed 42 --data ../shared/data/names.txt`
//! in-process and compares what it prints, line by line, with
//! `../shared/reference/microgpt_default_seed42.txt`. Both files live outside the
//! repository, in the shared folder beside it; without them there is nothing to
//! compare, and the command says so.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Parser;

/// Compare the Python-exact mode with the reference program's output.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The reference output.
    #[arg(long, value_name = "FILE", default_value_os_t = shared().join("reference/microgpt_default_seed42.txt"))]
    reference: PathBuf,
    /// The dataset the reference was trained on.
    #[arg(long, value_name = "FILE", default_value_os_t = shared().join("data/names.txt"))]
    data: PathBuf,
}

/// `cargo xtask train`'s flags, parsed on their own.
#[derive(Parser)]
struct Train {
    #[command(flatten)]
    args: crate::train::Args,
}

/// `../shared`, beside the repository.
pub(crate) fn shared() -> PathBuf {
    crate::project_root().join("../shared")
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
    let expected = std::fs::read_to_string(&args.reference)
        .with_context(|| format!("reading the reference output {}", args.reference.display()))?;
    let data = args.data.to_str().context("the data path is not UTF-8")?;
    let argv = ["train", "--rng", "python", "--seed", "42", "--data", data];
    let train = Train::try_parse_from(argv)?;
    let mut out = Vec::new();
    let stop = crate::signals::Stop::never();
    crate::train::execute(&train.args, &mut out, false, &stop)?;
    let actual = String::from_utf8(out).context("the output is not UTF-8")?;

    let (mut e, mut a) = (expected.lines(), actual.lines());
    let mut line = 0;
    loop {
        line += 1;
        match (e.next(), a.next()) {
            (None, None) => break,
            (exp, act) if exp == act => {}
            (exp, act) => {
                bail!(
                    "line {line} differs:\n  reference: {}\n  ours:      {}",
                    exp.unwrap_or("(end of output)"),
                    act.unwrap_or("(end of output)")
                );
            }
        }
    }
    println!(
        "parity: all {} lines match {}",
        line - 1,
        args.reference.display()
    );
    Ok(())
}
