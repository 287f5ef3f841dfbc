//! The model flags shared by `train` and `shapes`: the preset, the sizes and the
//! activation, each flag overriding the preset.

use params::Activation;
use train::{Preset, Sizes};

/// `--preset`, `--n-embd`, `--n-head`, `--n-layer`, `--block-size`, `--activation`.
#[derive(clap::Args, Clone, Debug)]
pub(crate) struct SizeArgs {
    /// Which microgpt.py to reproduce: `v1`, the first published one, or `v2`, the
    /// revision in the gist today (block 16, std 0.08 for every matrix, ReLU, betas
    /// 0.85 and 0.99, 1000 steps, linear decay, step lines ending in `\r`). A
    /// flag for one of these settings overrides it.
    #[arg(long, value_enum, default_value_t = Preset::V1)]
    pub(crate) preset: Preset,
    /// Embedding width, C.
    #[arg(long, default_value_t = Sizes::default().n_embd, value_name = "N")]
    pub(crate) n_embd: usize,
    /// Attention heads; must divide --n-embd.
    #[arg(long, default_value_t = Sizes::default().n_head, value_name = "N")]
    pub(crate) n_head: usize,
    /// Transformer blocks.
    #[arg(long, default_value_t = Sizes::default().n_layer, value_name = "N")]
    pub(crate) n_layer: usize,
    /// Context length, in tokens [default: 8, or 16 with --preset v2].
    #[arg(long, value_name = "N")]
    pub(crate) block_size: Option<usize>,
    /// The MLP's activation: `relu2` (relu(x)², v1) or `relu` (v2) [default: the
    /// preset's].
    #[arg(long, value_enum)]
    pub(crate) activation: Option<Activation>,
}

impl SizeArgs {
    /// The preset the flags start from.
    pub(crate) fn preset(&self) -> Preset {
        self.preset
    }

    /// The sizes for the trainer: the preset's, with the flags given.
    pub(crate) fn sizes(&self) -> Sizes {
        let preset = self.preset().sizes();
        Sizes {
            n_embd: self.n_embd,
            n_head: self.n_head,
            n_layer: self.n_layer,
            block_size: self.block_size.unwrap_or(preset.block_size),
            activation: self.activation.unwrap_or(preset.activation),
        }
    }
}
