//! A run's settings: the training config and the model's sizes, the types a
//! checkpoint saves and the trainer reads.

use model::Mode;
use params::{Activation, Dtype, InitStd, ModelConfig};
use serde::{Deserialize, Serialize};

use crate::adam::AdamConfig;
use crate::error::{Error, Result};
use crate::preset::Preset;
use crate::rng::RngKind;
use crate::sample::check_temperature;

/// Everything about a run that is not the model's shape. The defaults are the
/// first reference's (v1); [`Preset::train_config`] gives v2's.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Training steps, [`batch_size`](Self::batch_size) documents each; also the
    /// length of the lr schedule.
    pub steps: usize,
    /// The documents of a step: step `s` trains on documents `(s * B + i) % N`
    /// for `i` in `0..B`, its loss the mean of theirs, one Adam update. Left out of
    /// files when it is 1, and read as 1 from files written before it existed.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub batch_size: usize,
    /// The optimiser.
    pub adam: AdamConfig,
    /// Seeds the shuffle, the initial weights and sampling.
    pub seed: u64,
    /// Divides the logits before sampling: lower is more conservative.
    pub temperature: f64,
    /// Names generated after training.
    pub samples: usize,
    /// Which generator draws the randomness.
    pub rng: RngKind,
    /// Whether the model computes as the reference does (its scalar graph, `pow`
    /// wherever it writes `**`, libm's `exp`, gradients summed in the order of its
    /// depth-first backward pass) rather than with the fast fused ops. With
    /// [`RngKind::Python`] the run prints the reference's output to the last digit;
    /// with ChaCha it is well defined too, only slower. Absent in checkpoints
    /// written before it existed, where `rng: python` meant exact: see
    /// [`Checkpoint::from_json`](crate::Checkpoint::from_json).
    #[serde(default)]
    pub exact: bool,
    /// The initial stds. Left out of files when they are v1's.
    #[serde(default, skip_serializing_if = "is_v1_init")]
    pub init: InitStd,
    /// The version of the reference the run started from: it sets the output
    /// format (a fresh run's other settings come from it too, but are recorded on
    /// their own, flags overriding it). Left out of files when it is v1.
    #[serde(default, skip_serializing_if = "Preset::is_default")]
    pub preset: Preset,
    /// What the model and Adam compute in: `f64` (the reference's) or `f32`.
    /// Left out of files when it is `f64`, so that files written before it
    /// existed read as they always did. The exact arithmetic is `f64`'s only.
    #[serde(default, skip_serializing_if = "Dtype::is_default")]
    pub dtype: Dtype,
}

fn one() -> usize {
    1
}

fn is_one(n: &usize) -> bool {
    *n == 1
}

fn is_v1_init(init: &InitStd) -> bool {
    *init == InitStd::V1
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            steps: 500,
            batch_size: 1,
            adam: AdamConfig::default(),
            seed: 42,
            temperature: 0.5,
            samples: 20,
            rng: RngKind::ChaCha,
            exact: false,
            init: InitStd::V1,
            preset: Preset::V1,
            dtype: Dtype::F64,
        }
    }
}

impl TrainConfig {
    /// Checks every setting.
    ///
    /// # Errors
    /// For zero steps, a learning rate or eps that is not a positive finite number,
    /// betas outside `[0, 1)`, a bad temperature, or the exact arithmetic in `f32`.
    pub fn validate(&self) -> Result<()> {
        let invalid = |what, why: String| Err(Error::Invalid { what, why });
        if self.exact && self.dtype != Dtype::F64 {
            return Err(Error::ExactNeedsF64 { dtype: self.dtype });
        }
        if self.steps == 0 {
            return invalid("steps", "0: train for at least one step".into());
        }
        if self.batch_size == 0 {
            return invalid(
                "batch_size",
                "0: a step trains on at least one document".into(),
            );
        }
        let AdamConfig {
            learning_rate,
            beta1,
            beta2,
            eps,
            schedule: _,
        } = self.adam;
        if !(learning_rate.is_finite() && learning_rate > 0.0) {
            return invalid(
                "learning_rate",
                format!(
                    "{learning_rate} is not a positive finite number (the reference uses 0.01)"
                ),
            );
        }
        for (what, b) in [("beta1", beta1), ("beta2", beta2)] {
            if !(0.0..1.0).contains(&b) {
                return invalid(what, format!("{b} is not in [0, 1)"));
            }
        }
        if !(eps.is_finite() && eps > 0.0) {
            return invalid("eps", format!("{eps} is not a positive finite number"));
        }
        let std = self.init.std;
        if !(std.is_finite() && std >= 0.0) {
            return invalid(
                "init.std",
                format!("{std} is not a finite number of at least 0 (v1 uses 0.02, v2 0.08)"),
            );
        }
        check_temperature(self.temperature)
    }

    /// The model mode of this run: [`Mode::Exact`] if it is [`exact`](Self::exact),
    /// whichever the generator.
    pub fn mode(&self) -> Mode {
        if self.exact { Mode::Exact } else { Mode::Fast }
    }
}

/// The model's sizes and activation; the vocabulary comes from the data. The
/// default is the first reference's: 16, 4, 1, 8, ReLU² ([`Preset::sizes`] gives
/// v2's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sizes {
    /// Embedding width.
    pub n_embd: usize,
    /// Attention heads.
    pub n_head: usize,
    /// Transformer blocks.
    pub n_layer: usize,
    /// Context length.
    pub block_size: usize,
    /// The MLP's activation.
    #[serde(default)]
    pub activation: Activation,
}

impl Default for Sizes {
    fn default() -> Self {
        Sizes::of(&ModelConfig::reference(0))
    }
}

// The two conversions between sizes and a model config, the only ones.
impl Sizes {
    /// The sizes of `config`.
    pub fn of(config: &ModelConfig) -> Self {
        Sizes {
            n_embd: config.n_embd,
            n_head: config.n_head,
            n_layer: config.n_layer,
            block_size: config.block_size,
            activation: config.activation,
        }
    }

    /// The model config for a vocabulary of `vocab_size`.
    pub fn config(&self, vocab_size: usize) -> ModelConfig {
        let Sizes {
            n_embd,
            n_head,
            n_layer,
            block_size,
            activation,
        } = *self;
        ModelConfig {
            vocab_size,
            n_embd,
            n_head,
            n_layer,
            block_size,
            activation,
        }
    }
}

// The presets' settings live here, beside the types they make (`preset.rs` holds
// only the version itself, below this file).
impl Preset {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_is_the_revision_of_the_spec() {
        let (s, t) = (Preset::V2.sizes(), Preset::V2.train_config());
        assert_eq!(s.config(27).num_params(), 4192);
        assert_eq!((s.block_size, s.activation), (16, Activation::Relu));
        assert_eq!((t.steps, t.adam.beta1, t.adam.beta2), (1000, 0.85, 0.99));
        assert_eq!(t.adam.schedule, crate::adam::LrSchedule::Linear);
        assert_eq!(t.init, InitStd::V2);
        assert_eq!(Preset::V1.train_config(), TrainConfig::default());
        assert_eq!(Preset::V1.sizes(), Sizes::default());
    }
}
