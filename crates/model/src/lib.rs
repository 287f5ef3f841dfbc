//! The microgpt GPT, on the autograd graph.
//!
//! [`Gpt`] reads its weights from a [`params::StateDict`] and runs a whole sequence
//! at once, or one token at a time with a key/value cache as the reference program
//! does, through one forward pass (`fused.rs`). It has two modes: [`Mode::Fast`]
//! builds a handful of fused ops per layer and is the training engine;
//! [`Mode::Exact`] builds the reference's own graph of scalar nodes
//! (`reference.rs`) and, on a graph that rounds as the reference does, reproduces it to the
//! last bit. [`Gpt::inspect`] shows what one forward pass computes: the
//! probabilities at each position and every head's attention weights.
//!
//! Every method is generic over the graph's element type: the same model trains
//! and decodes in a `Graph<f64>` (the default) or a `Graph<f32>`, whose state dict
//! is made in it; logits and inspections come out as `f64`s either way.
//!
//! # Example: the loss of a sequence, and its gradients
//! ```
//! use autograd::Graph;
//! use model::{Gpt, Mode};
//! use params::{ChaChaInit, ModelConfig, StateDict};
//!
//! let mut graph = Graph::new();
//! let state = StateDict::new(&mut graph, &ModelConfig::reference(27), &mut ChaChaInit::new(42)).unwrap();
//! let gpt = Gpt::new(&state, Mode::Fast);
//! let mut cache = gpt.new_cache();
//!
//! // BOS = 26, then "emma" as ids, then BOS again.
//! let tokens = [26, 4, 12, 12, 0, 26];
//! let mark = graph.mark();
//! let loss = gpt.loss(&mut graph, &mut cache, &tokens).unwrap();
//! let value = graph.value(loss);
//! assert!((value - 27f64.ln()).abs() < 0.1); // untrained: close to uniform
//! gpt.backward(&mut graph, loss);
//! let wte_grad = graph.grads(state.get("wte").unwrap().span);
//! assert!(wte_grad.iter().any(|&g| g != 0.0));
//! graph.truncate(mark); // drop the step's nodes; the parameters stay
//!
//! // Or one token at a time, reading the logits.
//! let mut logits = vec![0.0; 27];
//! gpt.start(&mut graph, &mut cache);
//! gpt.forward(&mut graph, &mut cache, 26, 0, &mut logits).unwrap();
//! ```

mod batch;
mod cache;
mod error;
mod fused;
mod gpt;
mod inspect;
mod memory;
mod reference;
mod weights;

pub use batch::Batch;
pub use cache::KvCache;
pub use error::{Error, Result};
pub use gpt::{Gpt, Mode};
pub use inspect::Inspection;
pub use memory::{
    batch_bytes, batch_footprint, check_batch_memory, check_memory, training_bytes,
    training_footprint,
};
