//! A run's settings: the training config and the model's sizes, the types a
//! checkpoint saves and the trainer reads.

use model::Mode;
use params::ModelConfig;
use serde::{Deserialize, Serialize};

use crate::adam::AdamConfig;
use crate::error::{Error, Result};
use crate::rng::RngKind;
use crate::sample::check_temperature;

/// Everything about a run that is not the model's shape. The defaults are the
/// reference's.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Training steps, one document each; also the length of the lr schedule.
    pub steps: usize,
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
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            steps: 500,
            adam: AdamConfig::default(),
            seed: 42,
            temperature: 0.5,
            samples: 20,
            rng: RngKind::ChaCha,
            exact: false,
        }
    }
}

impl TrainConfig {
    /// Checks every setting.
    ///
    /// # Errors
    /// For zero steps, a learning rate or eps that is not a positive finite number,
    /// betas outside `[0, 1)`, or a bad temperature.
    pub fn validate(&self) -> Result<()> {
        let invalid = |what, why: String| Err(Error::Invalid { what, why });
        if self.steps == 0 {
            return invalid("steps", "0: train for at least one step".into());
        }
        let AdamConfig {
            learning_rate,
            beta1,
            beta2,
            eps,
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
        check_temperature(self.temperature)
    }

    /// The model mode of this run: [`Mode::Exact`] if it is [`exact`](Self::exact),
    /// whichever the generator.
    pub fn mode(&self) -> Mode {
        if self.exact { Mode::Exact } else { Mode::Fast }
    }
}

/// The model's sizes; the vocabulary comes from the data. The default is the
/// reference's: 16, 4, 1, 8.
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
        }
    }

    /// The model config for a vocabulary of `vocab_size`.
    pub fn config(&self, vocab_size: usize) -> ModelConfig {
        let Sizes {
            n_embd,
            n_head,
            n_layer,
            block_size,
        } = *self;
        ModelConfig {
            vocab_size,
            n_embd,
            n_head,
            n_layer,
            block_size,
        }
    }
}
