//! `cargo xtask train`: train on the embedded names (or `--data FILE`), print every
//! step's loss in the reference's format, then generated names. Optionally save and
//! resume checkpoints, plot the loss and log metrics. Every flag and every output
//! path is checked before the first step; Ctrl-C or SIGTERM stops after the
//! current step and saves.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressState, ProgressStyle};
use train::{Dataset, Trainer};

use crate::files::{self, Lock, distinct::Flagged};
use crate::metrics::Metrics;
use crate::pipe::PipeOut;
use crate::report::{advise, one_line};
use crate::resume;
use crate::signals::{Signal, Stop};
use crate::step_lines::StepLines;
use crate::train_args::Args;

/// How a run that did not fail ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Finished {
    /// At the end of the schedule or at `--stop-at`.
    Done,
    /// After the step a signal interrupted, saved if `--save` was given.
    Interrupted(Signal),
    /// Standard output was closed (`| head`): printing stopped, the run stopped
    /// after its step and saved, as for a signal.
    OutputClosed,
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
    // Every output path before any work: a typo must not cost a run its result,
    // and no output may destroy an input or another output.
    let mut inputs: Vec<Flagged<'_>> = Vec::new();
    inputs.extend(args.data.as_deref().map(|p| ("--data", p)));
    inputs.extend(args.resume.as_deref().map(|p| ("--resume", p)));
    files::check_distinct(&inputs, &args.outputs(), Some(("--resume", "--save")))?;
    for (_, path) in args.outputs() {
        files::check_writable(path)?;
    }
    // Held until the run ends: no other run may save to this checkpoint meanwhile.
    let _lock = args.save.as_deref().map(Lock::checkpoint).transpose()?;
    let mut out = PipeOut::new(out);
    let out = &mut out;
    let mut trainer = match &args.resume {
        None => start(args)?,
        Some(path) => resume::start(args, path)?,
    };
    if args.threads == Some(0) {
        bail!("--threads 0: give a number of threads of at least 1");
    }
    trainer
        .set_threads(args.threads())
        .map_err(|err| advise(err, false))?;
    let config = *trainer.config();
    let stop_at = stop_at(args, &trainer)?;
    // The run's own version sets the format, a resumed run's included.
    let step_end = config.preset.step_end();

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
    let mut lines = StepLines::new();
    // The steps, in a closure so that every way out of it, an error included,
    // comes back here to write the lines still held before anything else.
    let mut steps = || -> anyhow::Result<()> {
        // The stop flag is read here, between steps, so a signal lets the step it
        // interrupted finish.
        while trainer.steps_done() < stop_at && !stop.requested() && !out.closed() {
            let r = trainer
                .step()
                .map_err(|err| failed(advise(err, args.resume.is_some()), args, saved))?;
            match &bar {
                Some(bar) => {
                    bar.set_message(format!("loss {:.4}", r.loss));
                    bar.inc(1);
                }
                None => {
                    lines.push(r.step, r.steps, r.loss, step_end);
                    lines.write_due(out)?;
                }
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
                save(&trainer, path, args.resume.is_some())
                    .map_err(|err| failed(err, args, saved))?;
                saved = Some(r.step);
            }
        }
        Ok(())
    };
    let result = steps();
    let written = lines.write_all(out);
    result?;
    written?;
    let elapsed = start.elapsed();
    if let Some(bar) = bar {
        // The bar goes, and the last step's line stays in its place, so the final
        // loss remains readable on the terminal.
        bar.finish_and_clear();
        if let Some(&loss) = trainer.losses().last() {
            note!(
                "step {:4} / {:4} | loss {loss:.4}",
                trainer.steps_done(),
                config.steps
            );
        }
    }
    let interrupted = stop.signal();
    let ran = trainer.steps_done() - first;
    if ran > 0 {
        let per_step = elapsed.as_secs_f64() * 1e6 / ran as f64;
        let s = if ran == 1 { "" } else { "s" };
        note!("trained {ran} step{s} in {elapsed:.2?} ({per_step:.1} µs per step)");
    }
    // The checkpoint, then the plot, are on disk before any sampling starts.
    if let Some(path) = &args.save {
        save(&trainer, path, args.resume.is_some()).map_err(|err| failed(err, args, saved))?;
        note!(
            "checkpoint: {} (step {} of {})",
            path.display(),
            trainer.steps_done(),
            config.steps
        );
    }
    if let Some(path) = &args.plot {
        crate::plot::write(path, trainer.losses(), config.steps, &title(&trainer))?;
        note!("plot: {}", path.display());
    }
    if let Some(path) = &args.metrics {
        note!("metrics: {}", path.display());
    }
    let how = match &args.save {
        Some(path) => format!("continue with --resume {}", path.display()),
        None => "nothing was saved (no --save)".into(),
    };
    let stopped = |why: &str| {
        note!(
            "{why}: stopped after step {} of {}; {how}",
            trainer.steps_done(),
            config.steps
        );
    };
    if let Some(signal) = interrupted {
        stopped(&format!("interrupted by {}", signal.name()));
        return Ok(Finished::Interrupted(signal));
    }
    if out.closed() {
        stopped("standard output was closed");
        return Ok(Finished::OutputClosed);
    }
    if stop_at < config.steps {
        note!("stopped after step {stop_at} of {}; {how}", config.steps);
        return Ok(Finished::Done);
    }

    writeln!(out, "\n{}", config.preset.inference_header())?;
    let names = trainer
        .sample(config.samples)
        .map_err(|err| advise(err, false))?;
    for (i, name) in names.iter().enumerate() {
        if out.closed() {
            return Ok(Finished::OutputClosed);
        }
        writeln!(out, "sample {:2}: {name}", i + 1)?;
    }
    Ok(if out.closed() {
        Finished::OutputClosed
    } else {
        Finished::Done
    })
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
    // The sizes too, before the data is read: its vocabulary is not needed to
    // tell that `--n-head 3` cannot divide `--n-embd 16`.
    args.sizes.sizes().config(2).validate()?;
    let dataset = match &args.data {
        Some(path) => crate::load::data(path, args, config.exact)?,
        None => Dataset::embedded(),
    };
    note!("data: {} ({} documents)", dataset.name, dataset.len());
    let memory = crate::limits::available_memory();
    Trainer::new(dataset, args.sizes.sizes(), config, memory).map_err(|err| advise(err, false))
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
    let context = || format!("saving the checkpoint at step {}", trainer.steps_done());
    let checkpoint = trainer
        .checkpoint()
        .map_err(|err| advise(err, resumed))
        .with_context(context)?;
    files::write_atomic(path, checkpoint.to_json().as_bytes()).with_context(context)
}

/// The plot's title: the run's settings.
fn title(trainer: &Trainer) -> String {
    let (m, c) = (trainer.model_config(), trainer.config());
    let rng = if c.exact {
        format!("{}, exact", c.rng)
    } else {
        c.rng.to_string()
    };
    // v1's title is the one it always had; other versions are named.
    let version = match c.preset {
        train::Preset::V1 => String::new(),
        p => format!(" {}", p.name()),
    };
    format!(
        "microgpt{version} loss: {} steps, n_embd {}, n_head {}, n_layer {}, block_size {}, lr {}, seed {}, {rng}, {}",
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
        "step {pos:>4} / {len:4} [{bar:30}] {msg} | {rate} | eta {eta}",
    )
    .expect("the template is valid")
    // indicatif's own `{per_sec}` prints four decimals ("28,074.2754/s").
    .with_key(
        "rate",
        |state: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.0} steps/s", state.per_sec());
        },
    )
    .progress_chars("=> ");
    bar.set_style(style);
    bar
}
