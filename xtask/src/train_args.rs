//! The flags of `cargo xtask train`, and the run's settings they make: what a new
//! run is started with and a resumed run is checked against.

use std::path::PathBuf;

use clap::parser::ValueSource;
use params::{Dtype, InitStd};
use train::{AdamConfig, LrSchedule, RngKind, TrainConfig};

use crate::files::distinct::Flagged;
use crate::sizes::SizeArgs;

// The defaults are the library's (the presets'), so that they are written once.

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
    /// Training steps, --batch-size documents each [default: 500, or 1000 with
    /// --preset v2].
    #[arg(long, value_name = "N")]
    pub(crate) steps: Option<usize>,
    /// Documents per step: step s trains on documents (s*B + i) % N for i in
    /// 0..B, its loss the mean of their losses, one Adam update. 1 is the
    /// reference's run; with --exact, B > 1 builds each document's graph as the
    /// reference would and takes their mean (an extension of the reference).
    #[arg(long, default_value_t = TrainConfig::default().batch_size, value_name = "B")]
    pub(crate) batch_size: usize,
    /// Threads a step's documents are spread over [default: the available
    /// cores]. The output is the same, bit for bit, for any number; a batch of
    /// one document, and --exact, run on one thread.
    #[arg(long, value_name = "N")]
    pub(crate) threads: Option<usize>,
    /// Seed of the shuffle, the initial weights and sampling.
    #[arg(long, default_value_t = TrainConfig::default().seed, value_name = "S", allow_hyphen_values = true, value_parser = crate::usage::parse_seed)]
    pub(crate) seed: u64,
    #[command(flatten)]
    pub(crate) sizes: SizeArgs,
    /// Peak learning rate of Adam (decayed to 0 by --lr-schedule).
    // Hyphen values, so that `-1` and `-inf` reach the check that explains them.
    #[arg(
        long,
        default_value_t = AdamConfig::default().learning_rate,
        value_name = "F",
        allow_hyphen_values = true
    )]
    pub(crate) lr: f64,
    /// The learning rate's decay: `cosine` (v1) or `linear` (v2) [default: the
    /// preset's].
    #[arg(long, value_enum)]
    pub(crate) lr_schedule: Option<LrSchedule>,
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
        default_value_t = TrainConfig::default().temperature,
        value_name = "F",
        allow_hyphen_values = true
    )]
    pub(crate) temperature: f64,
    /// Names to generate after training.
    #[arg(long, default_value_t = TrainConfig::default().samples, value_name = "N")]
    pub(crate) samples: usize,
    /// Reproduce the reference program bit for bit: its generator (python, unless
    /// --rng says otherwise) and its exact arithmetic, about 100 times slower.
    #[arg(long)]
    pub(crate) exact: bool,
    /// What the model and Adam compute in: f64, the reference's, or f32, faster
    /// and with about 7 significant digits instead of 16 (--exact needs f64).
    #[arg(long, value_enum, default_value_t = TrainConfig::default().dtype, value_name = "DTYPE")]
    pub(crate) dtype: Dtype,
    /// Random generator, with the fast arithmetic unless --exact [default: chacha,
    /// or python with --exact].
    #[arg(long, value_enum, value_name = "RNG")]
    pub(crate) rng: Option<RngKind>,
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

impl Args {
    /// The run's settings: the preset's, with the flags given.
    pub(crate) fn train_config(&self) -> TrainConfig {
        let preset = self.sizes.preset().train_config();
        TrainConfig {
            steps: self.steps.unwrap_or(preset.steps),
            batch_size: self.batch_size,
            adam: AdamConfig {
                learning_rate: self.lr,
                beta1: self.beta1.unwrap_or(preset.adam.beta1),
                beta2: self.beta2.unwrap_or(preset.adam.beta2),
                schedule: self.lr_schedule.unwrap_or(preset.adam.schedule),
                ..preset.adam
            },
            seed: self.seed,
            temperature: self.temperature,
            samples: self.samples,
            rng: self.rng.unwrap_or(if self.exact {
                RngKind::Python
            } else {
                RngKind::ChaCha
            }),
            exact: self.exact,
            init: InitStd {
                std: self.init_std.unwrap_or(preset.init.std),
                zero_init_proj: self.zero_init_proj.unwrap_or(preset.init.zero_init_proj),
            },
            preset: preset.preset,
            dtype: self.dtype,
        }
    }

    /// The threads to run on: `--threads`, or the available cores.
    pub(crate) fn threads(&self) -> usize {
        self.threads.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        })
    }

    /// The output paths of the run, with their flags.
    pub(crate) fn outputs(&self) -> Vec<Flagged<'_>> {
        [
            ("--save", &self.save),
            ("--plot", &self.plot),
            ("--metrics", &self.metrics),
        ]
        .into_iter()
        .filter_map(|(flag, path)| path.as_deref().map(|p| (flag, p)))
        .collect()
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

#[cfg(test)]
mod tests {
    use clap::ValueEnum;
    use train::RngKind;

    #[test]
    fn the_flag_names_a_generator_as_the_checkpoint_does() {
        for kind in RngKind::value_variants() {
            let flag = kind.to_possible_value().expect("not hidden");
            assert_eq!(flag.get_name(), kind.to_string());
            let json = serde_json::to_string(kind).unwrap();
            assert_eq!(json, format!("\"{kind}\""));
        }
    }

    #[test]
    fn the_flags_name_presets_activations_and_schedules_as_files_do() {
        fn check<T: ValueEnum + serde::Serialize>(name: impl Fn(&T) -> String) {
            for v in T::value_variants() {
                let flag = v.to_possible_value().expect("not hidden");
                assert_eq!(flag.get_name(), name(v));
                assert_eq!(
                    serde_json::to_string(v).unwrap(),
                    format!("\"{}\"", name(v))
                );
            }
        }
        check::<train::Preset>(|p| p.name().to_string());
        check::<params::Activation>(|a| a.name().to_string());
        check::<train::LrSchedule>(|s| format!("{s:?}").to_lowercase());
        check::<params::Dtype>(|d| d.name().to_string());
    }
}
