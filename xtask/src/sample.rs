//! `cargo xtask sample`: names from a saved model, optionally continuing a prefix.

use std::io::Write;
use std::path::PathBuf;

use anyhow::bail;
use train::Inference;

use crate::report::advise;

/// Generate names from a checkpoint (written by `cargo xtask train --save FILE`).
///
/// Without --seed the checkpoint's own generator goes on where the run left it, so
/// a checkpoint saved at the end of training gives the names that training printed.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The checkpoint to sample from.
    #[arg(long, value_name = "FILE")]
    pub(crate) checkpoint: PathBuf,
    /// Names to generate [default: the run's --samples].
    #[arg(long, value_name = "N")]
    pub(crate) samples: Option<usize>,
    /// Sampling temperature, a positive number [default: the run's --temperature].
    // Hyphen values, so that `-1` and `-inf` reach the check that explains them.
    #[arg(long, value_name = "F", allow_hyphen_values = true)]
    pub(crate) temperature: Option<f64>,
    /// Seed a fresh generator of the run's kind [default: continue the run's].
    #[arg(long, value_name = "S", allow_hyphen_values = true, value_parser = crate::usage::parse_seed)]
    pub(crate) seed: Option<u64>,
    /// Start every name with this text, and continue it.
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub(crate) prefix: String,
    #[command(flatten)]
    pub(crate) limit: crate::limits::InputLimit,
}

pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    execute(args, &mut std::io::stdout().lock())
}

/// Loads the checkpoint, checks every input, then writes the names to `out`.
pub(crate) fn execute(args: &Args, out: &mut dyn Write) -> anyhow::Result<()> {
    if args.samples == Some(0) {
        bail!("--samples 0: ask for at least one name");
    }
    let path = &args.checkpoint;
    let checkpoint = crate::load::checkpoint(path, "cannot sample from", args.limit)?;
    let temperature = args.temperature.unwrap_or(checkpoint.train.temperature);
    train::check_temperature(temperature).map_err(|err| advise(err, false))?;
    let n = args.samples.unwrap_or(checkpoint.train.samples);

    let mut inference = Inference::from_checkpoint(&checkpoint)?;
    let prefix = inference.encode_prefix(&args.prefix).map_err(|err| {
        let vocab = match err {
            train::Error::UnknownChar { .. } => {
                let chars: String = inference.tokenizer().chars().iter().collect();
                format!(" (the vocabulary is {chars:?})")
            }
            _ => String::new(),
        };
        anyhow::anyhow!("--prefix {:?}: {err}{vocab}", args.prefix)
    })?;
    if let Some(seed) = args.seed {
        inference.reseed(seed);
    }
    // The model runs in its run's dtype; an f32 run says so.
    let dtype = match inference.dtype() {
        params::Dtype::F64 => String::new(),
        d => format!(", in {d}"),
    };
    eprintln!(
        "checkpoint: {} (step {} of {}, trained on {}{dtype})",
        path.display(),
        checkpoint.step,
        checkpoint.train.steps,
        checkpoint.data.name
    );
    let names = (0..n)
        .map(|_| inference.generate(temperature, &prefix))
        .collect::<train::Result<Vec<_>>>()
        .map_err(|err| advise(err, false))?;
    for (i, name) in names.iter().enumerate() {
        writeln!(out, "sample {:2}: {name}", i + 1)?;
    }
    Ok(())
}
