//! The model's parameters: configuration, layout, seeded initialisation, and the
//! named state dict, with its values and shapes as JSON.
//!
//! ```
//! use autograd::Graph;
//! use params::{ChaChaInit, ModelConfig, StateDict, TensorName};
//!
//! let config = ModelConfig::reference(27);
//! let mut graph = Graph::new();
//! let state = StateDict::new(&mut graph, &config, &mut ChaChaInit::new(42)).unwrap();
//! assert_eq!(state.num_params(), 4064);
//! let wte = state.tensor(TensorName::Wte);
//! assert_eq!((wte.rows, wte.cols), (27, 16));
//! // attn_wo starts at zero, so attention adds nothing to the residual at first.
//! let wo = state.get("layer0.attn_wo").unwrap();
//! assert!(graph.values(wo.span).iter().all(|&v| v == 0.0));
//! ```

mod activation;
mod config;
mod dtype;
mod error;
mod init;
mod init_std;
mod layout;
pub mod pyrandom;
mod saved;
mod state_dict;

pub use activation::Activation;
pub use config::ModelConfig;
pub use dtype::Dtype;
pub use error::{Bytes, Error, Result};
pub use init::{ChaChaInit, InitSource, Stream, chacha};
pub use init_std::InitStd;
pub use layout::{LayerTensor, TensorName, TensorSpec, layout};
pub use saved::{
    Difference, FORMAT_VERSION, SHAPES_FORMAT, SavedStateDict, SavedTensor, Shapes, TensorShape,
    VALUES_FORMAT, check_config,
};
pub use state_dict::{StateDict, Tensor};

/// The configuration the golden files pin: the reference sizes with the 27-token
/// vocabulary of a lowercase-names dataset.
pub fn golden_config() -> ModelConfig {
    ModelConfig::reference(27)
}

/// The configuration the v2 golden files pin: v2's sizes and activation, vocab 27.
pub fn golden_config_v2() -> ModelConfig {
    ModelConfig::reference_v2(27)
}

/// The seed the golden files pin.
pub const GOLDEN_SEED: u64 = 42;

/// The golden initial state dict: [`golden_config`], [`ChaChaInit`] with
/// [`GOLDEN_SEED`].
pub fn golden_init() -> SavedStateDict {
    golden_init_of(&golden_config(), &InitStd::V1)
}

/// The v2 golden initial state dict: [`golden_config_v2`], [`InitStd::V2`],
/// [`ChaChaInit`] with [`GOLDEN_SEED`].
pub fn golden_init_v2() -> SavedStateDict {
    golden_init_of(&golden_config_v2(), &InitStd::V2)
}

fn golden_init_of(config: &ModelConfig, std: &InitStd) -> SavedStateDict {
    let mut graph = autograd::Graph::new();
    let mut init = ChaChaInit::new(GOLDEN_SEED);
    let state = StateDict::with_std(&mut graph, config, std, &mut init)
        .expect("the reference configs are valid");
    SavedStateDict::capture(&state, &graph).expect("initial weights are finite")
}
