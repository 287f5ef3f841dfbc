//! The model's hyperparameters, their validation, and what its parameters cost in
//! memory.

use serde::{Deserialize, Serialize};

use crate::activation::Activation;
use crate::error::{Bytes, Error, Result};

/// The shape of a microgpt model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Number of token ids: the dataset's distinct characters plus BOS (V).
    pub vocab_size: usize,
    /// Width of the residual stream, the embedding dimension (C).
    pub n_embd: usize,
    /// Number of attention heads; each sees `n_embd / n_head` dims.
    pub n_head: usize,
    /// Number of transformer blocks.
    pub n_layer: usize,
    /// Number of positions the model can attend over (T at most).
    pub block_size: usize,
    /// The MLP's activation. Left out of files when it is v1's `relu2`, so that
    /// files written before it existed read as they always did.
    #[serde(default, skip_serializing_if = "Activation::is_default")]
    pub activation: Activation,
}

/// Bytes one parameter takes in the graph: its value and its gradient.
const BYTES_PER_PARAM: u128 = 2 * 8;

impl ModelConfig {
    /// The first reference program's (v1) model: `n_embd` 16, `n_head` 4,
    /// `n_layer` 1, `block_size` 8, ReLU². The vocabulary comes from the data.
    pub fn reference(vocab_size: usize) -> Self {
        ModelConfig {
            vocab_size,
            n_embd: 16,
            n_head: 4,
            n_layer: 1,
            block_size: 8,
            activation: Activation::Relu2,
        }
    }

    /// The revised reference program's (v2) model: v1's with `block_size` 16 and
    /// ReLU.
    pub fn reference_v2(vocab_size: usize) -> Self {
        ModelConfig {
            block_size: 16,
            activation: Activation::Relu,
            ..Self::reference(vocab_size)
        }
    }

    /// Dims per attention head.
    pub fn head_dim(&self) -> usize {
        self.n_embd / self.n_head
    }

    /// Checks that every size is usable. It does not look at memory; see
    /// [`ModelConfig::check_memory`].
    pub fn validate(&self) -> Result<()> {
        for (field, v) in [
            ("vocab_size", self.vocab_size),
            ("n_embd", self.n_embd),
            ("n_head", self.n_head),
            ("n_layer", self.n_layer),
            ("block_size", self.block_size),
        ] {
            if v == 0 {
                return Err(Error::ZeroSize { field });
            }
        }
        if !self.n_embd.is_multiple_of(self.n_head) {
            return Err(Error::HeadsDoNotDivide {
                n_embd: self.n_embd,
                n_head: self.n_head,
            });
        }
        Ok(())
    }

    /// The number of parameters, saturating instead of overflowing for absurd sizes.
    pub fn num_params_wide(&self) -> u128 {
        let [v, c, t, l] =
            [self.vocab_size, self.n_embd, self.block_size, self.n_layer].map(W::from);
        // wte + wpe + lm_head, then per layer: q, k, v, o (C x C each), fc1, fc2 (4C x C each)
        (W(2) * v * c + t * c + l * W(12) * c * c).0
    }

    /// The number of parameters. With vocab 27 and the reference sizes: 4,064.
    ///
    /// # Panics
    /// If it does not fit a `usize`; [`ModelConfig::check_memory`] refuses such sizes.
    pub fn num_params(&self) -> usize {
        usize::try_from(self.num_params_wide()).expect("parameter count overflows usize")
    }

    /// Checks, before anything is allocated, that the parameters (values and
    /// gradients) fit in `limit` bytes and in the arena's `u32` indices. What a
    /// step of training adds on top is the model's to say: see `model::check_memory`.
    pub fn check_memory(&self, limit: u128) -> Result<()> {
        let n = self.num_params_wide();
        let needed = n.saturating_mul(BYTES_PER_PARAM);
        if needed > limit || n > u128::from(u32::MAX) {
            return Err(Error::TooLarge {
                what: "the parameters with their gradients",
                needed: Bytes(needed),
                limit: Bytes(limit.min(u128::from(u32::MAX) * BYTES_PER_PARAM)),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_has_4064_params_and_v2_4192() {
        assert_eq!(ModelConfig::reference(27).num_params(), 4064);
        assert_eq!(ModelConfig::reference_v2(27).num_params(), 4192);
    }

    #[test]
    fn validation_names_the_problem() {
        let mut c = ModelConfig::reference(27);
        c.n_embd = 0;
        assert!(matches!(
            c.validate(),
            Err(Error::ZeroSize { field: "n_embd" })
        ));
        let mut c = ModelConfig::reference(27);
        c.n_head = 3;
        let err = c.validate().unwrap_err();
        assert!(err.to_string().contains("multiple of n_head (3)"), "{err}");
        let mut c = ModelConfig::reference(27);
        c.block_size = 0;
        assert!(matches!(
            c.validate(),
            Err(Error::ZeroSize {
                field: "block_size"
            })
        ));
    }

    #[test]
    fn absurd_sizes_are_refused_before_allocating() {
        let c = ModelConfig {
            vocab_size: 27,
            n_embd: 1 << 20,
            n_head: 4,
            n_layer: 64,
            block_size: 8,
            activation: Activation::Relu2,
        };
        let err = c.check_memory(16 << 30).unwrap_err();
        assert!(err.to_string().contains("parameters"), "{err}");
        let huge = ModelConfig {
            vocab_size: usize::MAX,
            n_embd: usize::MAX,
            n_head: 1,
            n_layer: usize::MAX,
            block_size: usize::MAX,
            activation: Activation::Relu,
        };
        assert!(huge.check_memory(16 << 30).is_err());
        assert!(ModelConfig::reference(27).check_memory(16 << 30).is_ok());
    }
}

/// Saturating `u128` arithmetic for size estimates, so absurd sizes give a huge
/// number instead of an overflow.
#[derive(Clone, Copy)]
struct W(u128);

impl From<usize> for W {
    fn from(v: usize) -> W {
        W(v as u128)
    }
}

impl std::ops::Add for W {
    type Output = W;
    fn add(self, o: W) -> W {
        W(self.0.saturating_add(o.0))
    }
}

impl std::ops::Mul for W {
    type Output = W;
    fn mul(self, o: W) -> W {
        W(self.0.saturating_mul(o.0))
    }
}
