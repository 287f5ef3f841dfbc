//! `cargo xtask train`: train on the embedded names (or `--data FILE`), print every
//! step's loss in the reference's format, then generated names. Optionally save and
//! resume checkpoints, plot the loss and log metrics. Every flag and every output
//! path is checked before the first step; Ctrl-C or SIGTERM stops after the
//! current step and saves.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::parser::ValueSource;
use indicatif::{ProgressBar, ProgressState, ProgressStyle};
use params::InitStd;
use train::{AdamConfig, Dataset, LrSchedule, ReadOptions, RngKind, TrainConfig, Trainer};

use crate::files::{self, Lock, distinct::Flagged};
use crate::metrics::Metrics;
use crate::pipe::PipeOut;
use crate::signals::{Signal, Stop};
use crate::sizes::SizeArgs;

/// Train the model, then sample from it.
///
/// Standard output carries exactly what the reference program prints, so runs can
/// be compared with `diff`. On a terminal a progress bar stands in for the step
/// lines; redirect standard output to get them all.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Train on this file, one document per line [default: the embedded names, or
    /// with --resume the checkpoint's data].
    #[arg(long, value_name = "FILE")]
    pub(crate) data: Option<PathBuf>,
    /// Training steps, one document each [default: 500, or 1000 with --preset v2].
    #[arg(long, value_name = "N")]
    pub(crate) steps: Option<usize>,
    /// Seed of the shuffle, the initial weights and sampling.
    #[arg(long, default_value_t = 42, value_name = "S", allow_hyphen_values = true, value_parser = crate::usage::parse_seed)]
    pub(crate) seed: u64,
    #[command(flatten)]
    pub(crate) sizes: SizeArgs,
    /// Peak learning rate of Adam (decayed to 0 by --lr-schedule).
    // Hyphen values, so that `-1` and `-inf` reach the check that explains them.
    #[arg(
        long,
        default_value_t = 0.01,
        value_name = "F",
        allow_hyphen_values = true
    )]
    pub(crate) lr: f64,
    /// The learning rate's decay: `cosine` (v1) or `linear` (v2) [default: the
    /// preset's].
    #[arg(long, value_enum)]
    pub(crate) lr_schedule: Option<Schedule>,
    /// Adam's first-moment decay [default: 0.9, or 0.85 with --preset v2].
    #[arg(long, value_name = "F", allow_hyphen_values = true)]
    pub(crate) beta1: Option<f64>,
    /// Adam's second-moment decay [default: 0.95, or 0.99 with --preset v2].
    #[arg(long, value_name = "F", allow_hyphen_values = true)]
    pub(crate) beta2: Option<f64>,
    /// The std of every matrix's initial Gaussian [default: 0.02, or 0.08 with
    /// --preset v2].
    #[arg(long, value_name = "F", allow_hyphen_values = true)]
    pub(crate) init_std: Option<f64>,
    /// Whether attn_wo and mlp_fc2 start at zero [default: true, or false with
    /// --preset v2].
    #[arg(long, value_name = "BOOL")]
    pub(crate) zero_init_proj: Option<bool>,
    /// Sampling temperature.
    #[arg(
        long,
        default_value_t = 0.5,
        value_name = "F",
        allow_hyphen_values = true
    )]
    pub(crate) temperature: f64,
    /// Names to generate after training.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub(crate) samples: usize,
    /// Random generator: `chacha` (fast), or `python` to reproduce the reference
    /// program's output exactly.
    #[arg(long, value_enum, default_value_t = Rng::Chacha)]
    pub(crate) rng: Rng,
    /// Write a checkpoint to FILE when training stops (atomically).
    #[arg(long, value_name = "FILE")]
    pub(crate) save: Option<PathBuf>,
    /// Also write the checkpoint every N steps.
    #[arg(long, value_name = "N", requires = "save")]
    pub(crate) save_every: Option<usize>,
    /// Stop after step K of the --steps schedule (and save, with --save).
    #[arg(long, value_name = "K")]
    pub(crate) stop_at: Option<usize>,
    /// Continue the run saved in FILE, with its settings; --temperature and
    /// --samples may change, other settings must match it.
    #[arg(long, value_name = "FILE")]
    pub(crate) resume: Option<PathBuf>,
    /// With --resume: continue on other data, if its vocabulary is the same.
    #[arg(long, requires = "resume")]
    pub(crate) force: bool,
    /// Draw the loss curve into FILE (SVG).
    #[arg(long, value_name = "FILE")]
    pub(crate) plot: Option<PathBuf>,
    /// Write one JSON line per step to FILE: step, loss, lr, elapsed_s.
    #[arg(long, value_name = "FILE")]
    pub(crate) metrics: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) limit: crate::limits::InputLimit,
    /// The flags given on the command line (clap ids), as opposed to defaults.
    #[arg(skip)]
    pub(crate) given: Vec<String>,
}

/// `--rng`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rng {
    /// ChaCha20 streams, with the fast engine.
    Chacha,
    /// CPython's Mersenne Twister, with the reference's exact arithmetic.
    Python,
}

/// `--lr-schedule`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Schedule {
    /// lr * 0.5 * (1 + cos(pi * step / steps)).
    Cosine,
    /// lr * (1 - step / steps).
    Linear,
}

impl From<Schedule> for LrSchedule {
    fn from(s: Schedule) -> LrSchedule {
        match s {
            Schedule::Cosine => LrSchedule::Cosine,
            Schedule::Linear => LrSchedule::Linear,
        }
    }
}

impl Args {
    /// The run's settings: the preset's, with the flags given.
    pub(crate) fn train_config(&self) -> TrainConfig {
        let preset = self.sizes.preset().train_config();
        TrainConfig {
            steps: self.steps.unwrap_or(preset.steps),
            adam: AdamConfig {
                learning_rate: self.lr,
                beta1: self.beta1.unwrap_or(preset.adam.beta1),
                beta2: self.beta2.unwrap_or(preset.adam.beta2),
                schedule: self
                    .lr_schedule
                    .map_or(preset.adam.schedule, LrSchedule::from),
                ..preset.adam
            },
            seed: self.seed,
            temperature: self.temperature,
            samples: self.samples,
            rng: match self.rng {
                Rng::Chacha => RngKind::ChaCha,
                Rng::Python => RngKind::Python,
            },
            init: InitStd {
                std: self.init_std.unwrap_or(preset.init.std),
                zero_init_proj: self.zero_init_proj.unwrap_or(preset.init.zero_init_proj),
            },
            preset: preset.preset,
        }
    }

    /// Whether `--id` was given on the command line.
    pub(crate) fn given(&self, id: &str) -> bool {
        self.given.iter().any(|g| g == id)
    }
}

/// The ids of the arguments of `matches` given on the command line.
pub(crate) fn given_flags(matches: &clap::ArgMatches) -> Vec<String> {
    matches
        .ids()
        .filter(|id| matches.value_source(id.as_str()) == Some(ValueSource::CommandLine))
        .map(|id| id.as_str().to_string())
        .collect()
}

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
    files::check_distinct(&inputs, &outputs(args), Some(("--resume", "--save")))?;
    for (_, path) in outputs(args) {
        files::check_writable(path)?;
    }
    // Held until the run ends: no other run may save to this checkpoint meanwhile.
    let _lock = args.save.as_deref().map(Lock::checkpoint).transpose()?;
    let mut out = PipeOut::new(out);
    let out = &mut out;
    let mut trainer = match &args.resume {
        None => start(args)?,
        Some(path) => crate::resume::start(args, path)?,
    };
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
    // The stop flag is read here, between steps, so a signal lets the step it
    // interrupted finish.
    while trainer.steps_done() < stop_at && !stop.requested() && !out.closed() {
        let r = trainer
            .step()
            .map_err(|err| failed(err.into(), args, saved))?;
        match &bar {
            Some(bar) => {
                bar.set_message(format!("loss {:.4}", r.loss));
                bar.inc(1);
            }
            None => write!(
                out,
                "step {:4} / {:4} | loss {:.4}{step_end}",
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
            save(&trainer, path).map_err(|err| failed(err, args, saved))?;
            saved = Some(r.step);
        }
    }
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
        save(&trainer, path).map_err(|err| failed(err, args, saved))?;
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
    for (i, name) in trainer.sample(config.samples)?.iter().enumerate() {
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

/// The output paths of the run, with their flags.
pub(crate) fn outputs(args: &Args) -> Vec<Flagged<'_>> {
    [
        ("--save", &args.save),
        ("--plot", &args.plot),
        ("--metrics", &args.metrics),
    ]
    .into_iter()
    .filter_map(|(flag, path)| path.as_deref().map(|p| (flag, p)))
    .collect()
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
    let line = format!("{}; {kept}", crate::one_line(&err));
    err.context(line)
}

/// A new run from the flags.
fn start(args: &Args) -> anyhow::Result<Trainer> {
    let config = args.train_config();
    config.validate()?;
    // The sizes too, before the data is read: its vocabulary is not needed to
    // tell that `--n-head 3` cannot divide `--n-embd 16`.
    args.sizes.config(2).validate()?;
    let dataset = match &args.data {
        Some(path) => load_data(path, args)?,
        None => Dataset::embedded(),
    };
    note!("data: {} ({} documents)", dataset.name, dataset.len());
    let memory = crate::limits::available_memory();
    Trainer::new(dataset, args.sizes.sizes(), config, memory).map_err(crate::limits::advise)
}

/// Reads a data file for the run, within `--max-input-mb` and the memory left,
/// and says what it found worth knowing: a byte-order mark, control characters.
pub(crate) fn load_data(path: &Path, args: &Args) -> anyhow::Result<Dataset> {
    if path.as_os_str() == "-" {
        bail!(
            "--data -: reading standard input is not supported (a run may need its data again to resume); give the path of a file"
        );
    }
    let exact = args.rng == Rng::Python;
    let options = ReadOptions {
        max_bytes: args.limit.bytes(),
        memory_limit: crate::limits::available_memory(),
        keep_bom: exact,
    };
    let dataset = Dataset::load_with(path, &options).map_err(crate::limits::advise)?;
    let notes = &dataset.notes;
    match notes.bom {
        Some(false) => note!(
            "note: {} starts with a byte-order mark (U+FEFF); it is dropped, not read as a character",
            dataset.name
        ),
        Some(true) => note!(
            "note: {} starts with a byte-order mark (U+FEFF); --rng python keeps it as a character of the first document, as the reference does",
            dataset.name
        ),
        None => {}
    }
    if notes.control_count > 0 {
        let listed: Vec<String> = notes
            .control
            .iter()
            .map(|(line, ch)| format!("{ch:?} on line {line}"))
            .collect();
        let more = notes.control_count - notes.control.len();
        let more = if more > 0 {
            format!(", and {more} more")
        } else {
            String::new()
        };
        note!(
            "note: {} holds {} control character{} inside documents, which become characters of the vocabulary: {}{more}",
            dataset.name,
            notes.control_count,
            if notes.control_count == 1 { "" } else { "s" },
            listed.join(", ")
        );
    }
    Ok(dataset)
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

fn save(trainer: &Trainer, path: &Path) -> anyhow::Result<()> {
    let context = || format!("saving the checkpoint at step {}", trainer.steps_done());
    let checkpoint = trainer.checkpoint().with_context(context)?;
    files::write_atomic(path, checkpoint.to_json().as_bytes()).with_context(context)
}

/// The plot's title: the run's settings.
fn title(trainer: &Trainer) -> String {
    let (m, c) = (trainer.model_config(), trainer.config());
    let rng = match c.rng {
        RngKind::ChaCha => "chacha",
        RngKind::Python => "python",
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
