//! The model-size flags shared by `train` and `shapes`.

use train::Sizes;

/// `--n-embd`, `--n-head`, `--n-layer`, `--block-size`; the defaults are
/// [`Sizes::default`], the reference's.
#[derive(clap::Args, Clone, Debug)]
pub(crate) struct SizeArgs {
    /// Embedding width, C.
    #[arg(long, default_value_t = Sizes::default().n_embd, value_name = "N")]
    pub(crate) n_embd: usize,
    /// Attention heads; must divide --n-embd.
    #[arg(long, default_value_t = Sizes::default().n_head, value_name = "N")]
    pub(crate) n_head: usize,
    /// Transformer blocks.
    #[arg(long, default_value_t = Sizes::default().n_layer, value_name = "N")]
    pub(crate) n_layer: usize,
    /// Context length, in tokens.
    #[arg(long, default_value_t = Sizes::default().block_size, value_name = "N")]
    pub(crate) block_size: usize,
}

impl SizeArgs {
    /// The sizes the flags give; [`Sizes::config`] makes them a model config.
    pub(crate) fn sizes(&self) -> Sizes {
        Sizes {
            n_embd: self.n_embd,
            n_head: self.n_head,
            n_layer: self.n_layer,
            block_size: self.block_size,
        }
    }
}
