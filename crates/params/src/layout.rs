//! The state dict's layout: every tensor's name and shape, in the reference's
//! creation order. Names come from [`TensorName`], never typed ad hoc; the initial
//! stds are [`crate::InitStd`]'s.

use std::fmt;

use crate::config::ModelConfig;

/// A tensor of one transformer block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LayerTensor {
    /// Query projection, `(C, C)`.
    AttnWq,
    /// Key projection, `(C, C)`.
    AttnWk,
    /// Value projection, `(C, C)`.
    AttnWv,
    /// Attention output projection, `(C, C)`, zero at init in v1.
    AttnWo,
    /// MLP expansion, `(4C, C)`.
    MlpFc1,
    /// MLP contraction, `(C, 4C)`, zero at init in v1.
    MlpFc2,
}

impl LayerTensor {
    /// Every block tensor, in creation order.
    pub const ALL: [LayerTensor; 6] = [
        LayerTensor::AttnWq,
        LayerTensor::AttnWk,
        LayerTensor::AttnWv,
        LayerTensor::AttnWo,
        LayerTensor::MlpFc1,
        LayerTensor::MlpFc2,
    ];

    /// The suffix after `layer{i}.`.
    pub fn suffix(self) -> &'static str {
        match self {
            LayerTensor::AttnWq => "attn_wq",
            LayerTensor::AttnWk => "attn_wk",
            LayerTensor::AttnWv => "attn_wv",
            LayerTensor::AttnWo => "attn_wo",
            LayerTensor::MlpFc1 => "mlp_fc1",
            LayerTensor::MlpFc2 => "mlp_fc2",
        }
    }
}

/// The name of a tensor of the state dict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TensorName {
    /// Token embedding, `(V, C)`.
    Wte,
    /// Position embedding, `(T, C)`.
    Wpe,
    /// Output projection to logits, `(V, C)`.
    LmHead,
    /// A tensor of block `i`.
    Layer(usize, LayerTensor),
}

impl fmt::Display for TensorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TensorName::Wte => f.write_str("wte"),
            TensorName::Wpe => f.write_str("wpe"),
            TensorName::LmHead => f.write_str("lm_head"),
            TensorName::Layer(i, t) => write!(f, "layer{i}.{}", t.suffix()),
        }
    }
}

/// One entry of the layout.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TensorSpec {
    /// The tensor's name.
    pub name: TensorName,
    /// Rows: `nout`.
    pub rows: usize,
    /// Columns: `nin`.
    pub cols: usize,
}

impl TensorSpec {
    /// `rows * cols`.
    pub fn numel(&self) -> usize {
        self.rows * self.cols
    }
}

/// Every tensor of a model, in the reference's creation order:
/// `wte`, `wpe`, `lm_head`, then per layer `attn_wq`, `attn_wk`, `attn_wv`,
/// `attn_wo`, `mlp_fc1`, `mlp_fc2`.
pub fn layout(config: &ModelConfig) -> impl Iterator<Item = TensorSpec> + use<> {
    let ModelConfig {
        vocab_size: v,
        n_embd: c,
        block_size: t,
        n_layer,
        ..
    } = *config;
    let spec = |name, rows, cols| TensorSpec { name, rows, cols };
    let head = [
        spec(TensorName::Wte, v, c),
        spec(TensorName::Wpe, t, c),
        spec(TensorName::LmHead, v, c),
    ];
    let layers = (0..n_layer).flat_map(move |i| {
        LayerTensor::ALL.map(|lt| {
            let (rows, cols) = match lt {
                LayerTensor::AttnWq | LayerTensor::AttnWk | LayerTensor::AttnWv => (c, c),
                LayerTensor::AttnWo => (c, c),
                LayerTensor::MlpFc1 => (4 * c, c),
                LayerTensor::MlpFc2 => (c, 4 * c),
            };
            spec(TensorName::Layer(i, lt), rows, cols)
        })
    });
    head.into_iter().chain(layers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_order_follow_the_reference() {
        let names: Vec<String> = layout(&ModelConfig::reference(27))
            .map(|s| s.name.to_string())
            .collect();
        assert_eq!(
            names,
            [
                "wte",
                "wpe",
                "lm_head",
                "layer0.attn_wq",
                "layer0.attn_wk",
                "layer0.attn_wv",
                "layer0.attn_wo",
                "layer0.mlp_fc1",
                "layer0.mlp_fc2"
            ]
        );
        let total: usize = layout(&ModelConfig::reference(27)).map(|s| s.numel()).sum();
        assert_eq!(total, 4064);
    }
}
