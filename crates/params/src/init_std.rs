//! How wide each matrix's initial Gaussian is: one std for every matrix, and
//! whether the two output projections start at zero instead.

use serde::{Deserialize, Serialize};

use crate::layout::{LayerTensor, TensorName};

/// The initial std of every tensor.
///
/// v1 draws every matrix from N(0, 0.02) but zeroes `attn_wo` and `mlp_fc2`, so
/// that each block starts as the identity on the residual stream; v2 draws every
/// matrix, those two included, from N(0, 0.08). Either way every Gaussian is still
/// drawn in state-dict order by the CPython generator, so the draws of a zeroed
/// tensor advance it (see [`crate::InitSource`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct InitStd {
    /// The std of every matrix's Gaussian.
    pub std: f64,
    /// Whether `attn_wo` and `mlp_fc2` start at exactly zero (std 0) instead.
    pub zero_init_proj: bool,
}

impl InitStd {
    /// The first microgpt.py's: 0.02, the output projections zero.
    pub const V1: InitStd = InitStd {
        std: 0.02,
        zero_init_proj: true,
    };
    /// The revision's: 0.08 for every matrix.
    pub const V2: InitStd = InitStd {
        std: 0.08,
        zero_init_proj: false,
    };

    /// The std tensor `name` starts from.
    pub fn of(&self, name: TensorName) -> f64 {
        match name {
            TensorName::Layer(_, LayerTensor::AttnWo | LayerTensor::MlpFc2)
                if self.zero_init_proj =>
            {
                0.0
            }
            _ => self.std,
        }
    }
}

impl Default for InitStd {
    fn default() -> Self {
        InitStd::V1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_output_projections_are_zeroed_and_only_in_v1() {
        let wo = TensorName::Layer(0, LayerTensor::AttnWo);
        let fc2 = TensorName::Layer(3, LayerTensor::MlpFc2);
        let fc1 = TensorName::Layer(0, LayerTensor::MlpFc1);
        assert_eq!(InitStd::V1.of(wo), 0.0);
        assert_eq!(InitStd::V1.of(fc2), 0.0);
        assert_eq!(InitStd::V1.of(fc1), 0.02);
        assert_eq!(InitStd::V1.of(TensorName::Wte), 0.02);
        for name in [wo, fc2, fc1, TensorName::Wpe] {
            assert_eq!(InitStd::V2.of(name), 0.08);
        }
    }
}
