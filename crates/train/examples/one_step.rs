//! One training step of microgpt, spelled out: a document as tokens, the model,
//! its loss, the backward pass, and one Adam update; then the loss again.
//!
//! Run it with `cargo run --example one_step`. `Trainer::step` does exactly this,
//! document after document.

use autograd::Graph;
use model::{Gpt, Mode};
use params::{ChaChaInit, ModelConfig, StateDict};
use train::{Adam, AdamConfig, Tokenizer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The vocabulary of the names: a..z, then BOS, the token that opens and closes
    // every document.
    let tokenizer = Tokenizer::from_chars(('a'..='z').collect())?;
    let tokens = tokenizer.encode_doc("emma")?; // [BOS] + e m m a + [BOS]
    println!("tokens of \"emma\": {tokens:?}");

    // The reference model (n_embd 16, 4 heads, 1 layer, block_size 8): its
    // parameters are the first nodes of the graph, drawn from a seeded Gaussian.
    let config = ModelConfig::reference(tokenizer.vocab_size());
    let mode = Mode::Fast;
    let mut graph = Graph::with_arith(mode.arith());
    let state = StateDict::new(&mut graph, &config, &mut ChaChaInit::new(42))?;
    let gpt = Gpt::new(&state, mode);
    let mut adam = Adam::new(AdamConfig::default(), state.num_params(), graph.arith());
    println!("parameters: {}", state.num_params());

    // Forward: everything the step builds comes after this mark.
    let mark = graph.mark();
    let mut cache = gpt.new_cache();
    let loss = gpt.loss(&mut graph, &mut cache, &tokens)?;
    println!("loss: {:.4}", graph.value(loss));

    // Backward, into the parameters' gradients; then drop the step's nodes.
    gpt.backward(&mut graph, loss);
    graph.truncate(mark);

    // One Adam step (step 0 of a schedule of 1) updates the weights in place and
    // zeroes their gradients.
    let (weights, grads) = graph.values_and_grads_mut(state.params());
    assert!(adam.step(weights, grads, 0, 1), "a finite gradient");

    let loss = gpt.loss(&mut graph, &mut cache, &tokens)?;
    println!("loss after one step: {:.4}", graph.value(loss));
    Ok(())
}
