//! `cargo xtask train`: train on the embedded names (or `--data FILE`), print every
//! step's loss in the reference's format, then generated names. Optionally save and
//! resume checkpoints, plot the loss and log metrics. Every flag and every output
//! path is checked before the first step; Ctrl-C or SIGTERM stops after the
//! current step and saves.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use train::{Dataset, Trainer};

use crate::metrics::Metrics;
use crate::report::{advise, one_line};
use crate::resume;
use crate::signals::{Signal, Stop};
use crate::train_args::Args;

/// How a run that did not fail ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Finished {
    /// At the end of the schedule or at `--stop-at`.
    Done,
    /// After the step a signal interrupted, saved if `--save` was given.
    Interrupted(Signal),
}

pub(crate) fn run(args: &Args) -> anyhow::Result<Finished> {
    let progress = std::io::stdout().is_terminal();
    let stop = Stop::catch()?;
    execute(args, &mut std::io::stdout().lock(), progress, &stop)
}

/// Trains and samples, writing the reference's output to `out`; with `progress`,
/// a progress bar on standard error stands in for the step lines. Between steps,
/// `stop` may end the run early.
pub(crate) fn execute(
    args: &Args,
    out: &mut dyn Write,
    progress: bool,
    stop: &Stop,
) -> anyhow::Result<Finished> {
    if args.save_every == Some(0) {
        bail!("--save-every 0: give a number of steps of at least 1");
    }
    // Every output path before any work: a typo must not cost a run its result.
    for path in [&args.save, &args.plot, &args.metrics]
        .into_iter()
        .flatten()
    {
        train::check_writable(path)?;
    }
    let mut trainer = match &args.resume {
        None => start(args)?,
        Some(path) => resume::start(args, path)?,
    };
    let config = *trainer.config();
    let stop_at = stop_at(args, &trainer)?;

    // The last check that can fail: nothing is printed or written before it.
    let mut metrics = args.metrics.as_deref().map(Metrics::create).transpose()?;

    writeln!(out, "num docs: {}", trainer.num_docs())?;
    writeln!(out, "vocab size: {}", trainer.model_config().vocab_size)?;
    writeln!(out, "num params: {}", trainer.state().num_params())?;

    let first = trainer.steps_done();
    let bar = progress.then(|| progress_bar(config.steps, first));
    let start = Instant::now();
    // The step of the last checkpoint this run wrote, for the message if it fails.
    let mut saved = None;
    // The stop flag is read here, between steps, so a signal lets the step it
    // interrupted finish.
    while trainer.steps_done() < stop_at && !stop.requested() {
        let r = trainer
            .step()
            .map_err(|err| failed(advise(err, args.resume.is_some()), args, saved))?;
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
        if let Some(metrics) = &mut metrics {
            metrics
                .record(&r, start.elapsed())
                .map_err(|err| failed(err, args, saved))?;
        }
        if let (Some(path), Some(every)) = (&args.save, args.save_every)
            && r.step % every == 0
            && r.step < stop_at
        {
            save(&trainer, path, args.resume.is_some()).map_err(|err| failed(err, args, saved))?;
            saved = Some(r.step);
        }
    }
    let elapsed = start.elapsed();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let interrupted = stop.signal();
    let ran = trainer.steps_done() - first;
    if ran > 0 {
        let per_step = elapsed.as_secs_f64() * 1e6 / ran as f64;
        eprintln!("trained {ran} steps in {elapsed:.2?} ({per_step:.1} µs per step)");
    }
    if let Some(path) = &args.save {
        save(&trainer, path, args.resume.is_some()).map_err(|err| failed(err, args, saved))?;
        eprintln!(
            "checkpoint: {} (step {} of {})",
            path.display(),
            trainer.steps_done(),
            config.steps
        );
    }
    if let Some(path) = &args.plot {
        crate::plot::write(path, trainer.losses(), config.steps, &title(&trainer))?;
        eprintln!("plot: {}", path.display());
    }
    if let Some(path) = &args.metrics {
        eprintln!("metrics: {}", path.display());
    }
    let how = match &args.save {
        Some(path) => format!("continue with --resume {}", path.display()),
        None => "nothing was saved (no --save)".into(),
    };
    if let Some(signal) = interrupted {
        eprintln!(
            "interrupted by {}: stopped after step {} of {}; {how}",
            signal.name(),
            trainer.steps_done(),
            config.steps
        );
        return Ok(Finished::Interrupted(signal));
    }
    if stop_at < config.steps {
        eprintln!("stopped after step {stop_at} of {}; {how}", config.steps);
        return Ok(Finished::Done);
    }

    writeln!(out, "\n--- inference ---")?;
    let names = trainer
        .sample(config.samples)
        .map_err(|err| advise(err, false))?;
    for (i, name) in names.iter().enumerate() {
        writeln!(out, "sample {:2}: {name}", i + 1)?;
    }
    Ok(Finished::Done)
}

/// `err`, which ended the run, with what became of `--save`: the last checkpoint
/// this run wrote (at step `saved`) is kept as it was.
fn failed(err: anyhow::Error, args: &Args, saved: Option<usize>) -> anyhow::Error {
    let Some(path) = &args.save else {
        return err;
    };
    let kept = match saved {
        Some(step) => format!("{} keeps step {step}", path.display()),
        None => format!("nothing was saved to {}", path.display()),
    };
    let line = format!("{}; {kept}", one_line(&err));
    err.context(line)
}

/// A new run from the flags.
fn start(args: &Args) -> anyhow::Result<Trainer> {
    let config = args.train_config();
    config.validate().map_err(|err| advise(err, false))?;
    let dataset = match &args.data {
        Some(path) => Dataset::load(path)?,
        None => Dataset::embedded(),
    };
    eprintln!("data: {} ({} documents)", dataset.name, dataset.docs.len());
    Trainer::new(dataset, args.sizes.sizes(), config, crate::memory::limit())
        .map_err(|err| advise(err, false))
}

/// The step to stop after: `--stop-at`, checked, or the end of the schedule.
fn stop_at(args: &Args, trainer: &Trainer) -> anyhow::Result<usize> {
    let (done, steps) = (trainer.steps_done(), trainer.config().steps);
    let Some(k) = args.stop_at else {
        return Ok(steps);
    };
    if k <= done || k > steps {
        let after = if done > 0 {
            format!(" (the checkpoint is at step {done})")
        } else {
            String::new()
        };
        bail!(
            "--stop-at {k} is not a step of this run{after}; choose one from {} to {steps}",
            done + 1
        );
    }
    Ok(k)
}

/// Saves the run; `resumed` says which advice fits a divergence found on the way.
fn save(trainer: &Trainer, path: &Path, resumed: bool) -> anyhow::Result<()> {
    trainer
        .checkpoint()
        .and_then(|c| c.save(path))
        .map_err(|err| advise(err, resumed))
        .with_context(|| format!("saving the checkpoint at step {}", trainer.steps_done()))
}

/// The plot's title: the run's settings.
fn title(trainer: &Trainer) -> String {
    let (m, c) = (trainer.model_config(), trainer.config());
    let rng = if c.exact {
        format!("{}, exact", c.rng)
    } else {
        c.rng.to_string()
    };
    format!(
        "microgpt loss: {} steps, n_embd {}, n_head {}, n_layer {}, block_size {}, lr {}, seed {}, {rng}, {}",
        c.steps,
        m.n_embd,
        m.n_head,
        m.n_layer,
        m.block_size,
        c.adam.learning_rate,
        c.seed,
        trainer.data().name
    )
}

fn progress_bar(steps: usize, done: usize) -> ProgressBar {
    let bar = ProgressBar::new(steps as u64);
    bar.set_position(done as u64);
    let style = ProgressStyle::with_template(
        "step {pos:>4} / {len:4} [{bar:30}] {msg} | {per_sec} | eta {eta}",
    )
    .expect("the template is valid")
    .progress_chars("=> ");
    bar.set_style(style);
    bar
}
