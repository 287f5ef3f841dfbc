//! `cargo xtask train`: train on the embedded names (or `--data FILE`), print every
//! step's loss in the reference's format, then generated names.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use train::{AdamConfig, Dataset, RngKind, TrainConfig, Trainer};

use crate::sizes::SizeArgs;

/// Train the model, then sample from it.
///
/// Standard output carries exactly what the reference program prints, so runs can
/// be compared with `diff`. On a terminal a progress bar stands in for the step
/// lines; redirect standard output to get them all.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Train on this file, one document per line [default: the embedded names].
    #[arg(long, value_name = "FILE")]
    pub(crate) data: Option<PathBuf>,
    /// Training steps, one document each.
    #[arg(long, default_value_t = 500, value_name = "N")]
    pub(crate) steps: usize,
    /// Seed of the shuffle, the initial weights and sampling.
    #[arg(long, default_value_t = 42, value_name = "S")]
    pub(crate) seed: u64,
    #[command(flatten)]
    pub(crate) sizes: SizeArgs,
    /// Peak learning rate of Adam (cosine decay to 0).
    #[arg(
        long,
        default_value_t = 0.01,
        value_name = "F",
        allow_negative_numbers = true
    )]
    pub(crate) lr: f64,
    /// Sampling temperature.
    #[arg(
        long,
        default_value_t = 0.5,
        value_name = "F",
        allow_negative_numbers = true
    )]
    pub(crate) temperature: f64,
    /// Names to generate after training.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub(crate) samples: usize,
    /// Random generator: `chacha` (fast), or `python` to reproduce the reference
    /// program's output exactly.
    #[arg(long, value_enum, default_value_t = Rng::Chacha)]
    pub(crate) rng: Rng,
}

/// `--rng`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rng {
    /// ChaCha20 streams, with the fast engine.
    Chacha,
    /// CPython's Mersenne Twister, with the reference's exact arithmetic.
    Python,
}

impl Args {
    fn train_config(&self) -> TrainConfig {
        TrainConfig {
            steps: self.steps,
            adam: AdamConfig {
                learning_rate: self.lr,
                ..AdamConfig::default()
            },
            seed: self.seed,
            temperature: self.temperature,
            samples: self.samples,
            rng: match self.rng {
                Rng::Chacha => RngKind::ChaCha,
                Rng::Python => RngKind::Python,
            },
        }
    }
}

pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    let progress = std::io::stdout().is_terminal();
    execute(args, &mut std::io::stdout().lock(), progress)
}

/// Trains and samples, writing the reference's output to `out`; with `progress`,
/// a progress bar on standard error stands in for the step lines.
pub(crate) fn execute(args: &Args, out: &mut dyn Write, progress: bool) -> anyhow::Result<()> {
    let config = args.train_config();
    config.validate()?;
    let dataset = match &args.data {
        Some(path) => Dataset::load(path)?,
        None => Dataset::embedded(),
    };
    eprintln!("data: {} ({} documents)", dataset.name, dataset.docs.len());
    let memory = train::total_memory().unwrap_or(u128::MAX);
    let mut trainer = Trainer::new(dataset, args.sizes.sizes(), config, memory)?;

    writeln!(out, "num docs: {}", trainer.num_docs())?;
    writeln!(out, "vocab size: {}", trainer.model_config().vocab_size)?;
    writeln!(out, "num params: {}", trainer.state().num_params())?;

    let bar = progress.then(|| progress_bar(config.steps));
    let start = Instant::now();
    while !trainer.is_done() {
        let r = trainer.step().with_context(|| "training stopped")?;
        match &bar {
            Some(bar) => {
                bar.set_message(format!("loss {:.4}", r.loss));
                bar.inc(1);
            }
            None => writeln!(
                out,
                "step {:4} / {:4} | loss {:.4}",
                r.step, r.steps, r.loss
            )?,
        }
    }
    let elapsed = start.elapsed();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let per_step = elapsed.as_secs_f64() * 1e6 / config.steps as f64;
    eprintln!(
        "trained {} steps in {:.2?} ({per_step:.1} µs per step)",
        config.steps, elapsed
    );

    writeln!(out, "\n--- inference ---")?;
    for (i, name) in trainer.sample(config.samples)?.iter().enumerate() {
        writeln!(out, "sample {:2}: {name}", i + 1)?;
    }
    Ok(())
}

fn progress_bar(steps: usize) -> ProgressBar {
    let bar = ProgressBar::new(steps as u64);
    let style = ProgressStyle::with_template(
        "step {pos:>4} / {len:4} [{bar:30}] {msg} | {per_sec} | eta {eta}",
    )
    .expect("the template is valid")
    .progress_chars("=> ");
    bar.set_style(style);
    bar
}
