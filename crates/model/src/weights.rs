//! The state dict's tensors, resolved once into the spans the forward pass reads,
//! with the sizes and constants the forward needs.

use autograd::py_pow;
use params::{LayerTensor, ModelConfig, StateDict, Tensor, TensorName};

/// One transformer block's weights.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Block {
    pub(crate) attn_wq: Tensor, // (C, C)
    pub(crate) attn_wk: Tensor, // (C, C)
    pub(crate) attn_wv: Tensor, // (C, C)
    pub(crate) attn_wo: Tensor, // (C, C)
    pub(crate) mlp_fc1: Tensor, // (4C, C)
    pub(crate) mlp_fc2: Tensor, // (C, 4C)
}

/// Every weight of the model, and its sizes.
#[derive(Clone, Debug)]
pub(crate) struct Weights {
    pub(crate) config: ModelConfig,
    /// `head_dim ** 0.5 ** -1`: the reference divides each attention logit by
    /// `head_dim ** 0.5`, which is a multiplication by its `pow(_, -1)`.
    pub(crate) attn_scale: f64,
    pub(crate) wte: Tensor,     // (V, C)
    pub(crate) wpe: Tensor,     // (T, C)
    pub(crate) lm_head: Tensor, // (V, C)
    pub(crate) blocks: Vec<Block>,
}

impl Weights {
    pub(crate) fn new(state: &StateDict) -> Self {
        let t = |name| *state.tensor(name);
        let blocks = (0..state.config().n_layer)
            .map(|i| {
                let lt = |kind| t(TensorName::Layer(i, kind));
                Block {
                    attn_wq: lt(LayerTensor::AttnWq),
                    attn_wk: lt(LayerTensor::AttnWk),
                    attn_wv: lt(LayerTensor::AttnWv),
                    attn_wo: lt(LayerTensor::AttnWo),
                    mlp_fc1: lt(LayerTensor::MlpFc1),
                    mlp_fc2: lt(LayerTensor::MlpFc2),
                }
            })
            .collect();
        let config = *state.config();
        Weights {
            config,
            attn_scale: py_pow(py_pow(config.head_dim() as f64, 0.5), -1.0),
            wte: t(TensorName::Wte),
            wpe: t(TensorName::Wpe),
            lm_head: t(TensorName::LmHead),
            blocks,
        }
    }
}
