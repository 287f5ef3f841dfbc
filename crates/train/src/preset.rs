//! The two published versions of microgpt.py, as presets: every setting in which
//! they differ, together.

use serde::{Deserialize, Serialize};

/// A published version of the reference program.
///
/// | | v1 | v2 |
/// |---|---|---|
/// | `block_size` | 8 | 16 |
/// | init std | 0.02, `attn_wo` and `mlp_fc2` zero | 0.08 for every matrix |
/// | MLP activation | `relu(x) ** 2` | `relu(x)` |
/// | Adam betas | 0.9, 0.95 | 0.85, 0.99 |
/// | steps | 500 | 1000 |
/// | learning-rate decay | half cosine | linear |
/// | step lines end in | `\n` | `\r` |
/// | inference header | `--- inference ---` | `--- inference (new, hallucinated names) ---` |
///
/// Everything else (the sizes but `block_size`, the learning rate, eps, the
/// temperature, the samples, the order of every draw) is the same.
///
/// The settings it stands for, [`Preset::sizes`] and [`Preset::train_config`],
/// are written in `config.rs`, beside the types they make: this file sits below
/// them, as the config records its preset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Preset {
    /// The first published microgpt.py (11 February 2026).
    #[default]
    V1,
    /// Its revision, the one in the gist today.
    V2,
}

impl Preset {
    /// Its name on the command line and in files: `v1` or `v2`.
    pub fn name(self) -> &'static str {
        match self {
            Preset::V1 => "v1",
            Preset::V2 => "v2",
        }
    }

    /// Whether it is v1, which files leave out so that they read as before.
    pub fn is_default(&self) -> bool {
        *self == Preset::default()
    }

    /// The line that ends each printed step: the reference prints v2's steps with
    /// `end="\r"`, so that a terminal shows one line that updates.
    pub fn step_end(self) -> &'static str {
        match self {
            Preset::V1 => "\n",
            Preset::V2 => "\r",
        }
    }

    /// The line printed before the samples (after an empty line, or in v2 after
    /// the newline that ends the last step's line).
    pub fn inference_header(self) -> &'static str {
        match self {
            Preset::V1 => "--- inference ---",
            Preset::V2 => "--- inference (new, hallucinated names) ---",
        }
    }
}
