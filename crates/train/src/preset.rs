//! The two published versions of microgpt.py, as presets: every setting in which
//! they differ, together.

use params::{InitStd, ModelConfig};
use serde::{Deserialize, Serialize};

use crate::adam::AdamConfig;
use crate::trainer::{Sizes, TrainConfig};

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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
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

    /// The model's sizes and activation.
    pub fn sizes(self) -> Sizes {
        let config = match self {
            Preset::V1 => ModelConfig::reference(0),
            Preset::V2 => ModelConfig::reference_v2(0),
        };
        Sizes::of(&config)
    }

    /// The run's settings: steps, Adam, the initial stds; seed, temperature,
    /// samples and generator are the defaults.
    pub fn train_config(self) -> TrainConfig {
        let v1 = TrainConfig::default();
        match self {
            Preset::V1 => v1,
            Preset::V2 => TrainConfig {
                steps: 1000,
                adam: AdamConfig::v2(),
                init: InitStd::V2,
                preset: Preset::V2,
                ..v1
            },
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use params::Activation;

    #[test]
    fn v2_is_the_revision_of_the_spec() {
        let (s, t) = (Preset::V2.sizes(), Preset::V2.train_config());
        assert_eq!(s.config(27).num_params(), 4192);
        assert_eq!((s.block_size, s.activation), (16, Activation::Relu));
        assert_eq!((t.steps, t.adam.beta1, t.adam.beta2), (1000, 0.85, 0.99));
        assert_eq!(t.adam.schedule, crate::LrSchedule::Linear);
        assert_eq!(t.init, InitStd::V2);
        assert_eq!(Preset::V1.train_config(), TrainConfig::default());
        assert_eq!(Preset::V1.sizes(), Sizes::default());
    }
}
