//! The model-size flags shared by `train` and `shapes`.

use params::ModelConfig;

/// `--n-embd`, `--n-head`, `--n-layer`, `--block-size`.
#[derive(clap::Args, Clone, Debug)]
pub(crate) struct SizeArgs {
    /// Embedding width, C.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub(crate) n_embd: usize,
    /// Attention heads; must divide --n-embd.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub(crate) n_head: usize,
    /// Transformer blocks.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub(crate) n_layer: usize,
    /// Context length, in tokens.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub(crate) block_size: usize,
}

impl SizeArgs {
    /// The model config for a vocabulary of `vocab_size` tokens.
    pub(crate) fn config(&self, vocab_size: usize) -> ModelConfig {
        ModelConfig {
            vocab_size,
            n_embd: self.n_embd,
            n_head: self.n_head,
            n_layer: self.n_layer,
            block_size: self.block_size,
        }
    }
}

impl SizeArgs {
    /// The sizes for the trainer.
    pub(crate) fn sizes(&self) -> train::Sizes {
        train::Sizes {
            n_embd: self.n_embd,
            n_head: self.n_head,
            n_layer: self.n_layer,
            block_size: self.block_size,
        }
    }
}
