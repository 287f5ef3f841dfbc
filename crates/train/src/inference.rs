//! A trained model restored from a checkpoint, generating text: what
//! `cargo xtask sample` runs.

use autograd::Graph;
use model::Gpt;
use params::StateDict;

use crate::checkpoint::{Checkpoint, Zeros};
use crate::error::Result;
use crate::rng::{RngKind, RunRng};
use crate::sample::{Sampler, check_prefix};
use crate::tokenizer::Tokenizer;

/// A model ready to generate, with its tokenizer and a generator.
#[derive(Debug)]
pub struct Inference {
    tokenizer: Tokenizer,
    graph: Graph,
    gpt: Gpt,
    rng: RunRng,
    kind: RngKind,
    sampler: Sampler,
}

impl Inference {
    /// The checkpoint's model, in its run's mode, with its run's generator as it
    /// was saved: a checkpoint saved at the end of training generates the names
    /// that training printed.
    ///
    /// # Errors
    /// If the checkpoint's weights do not fit its model.
    pub fn from_checkpoint(checkpoint: &Checkpoint) -> Result<Self> {
        checkpoint.check()?;
        let mode = checkpoint.train.mode();
        let mut graph = Graph::with_arith(mode.arith());
        let state = StateDict::with_std(
            &mut graph,
            &checkpoint.model,
            &checkpoint.train.init,
            &mut Zeros,
        )?;
        checkpoint.weights.load_into(&state, &mut graph)?;
        let gpt = Gpt::new(&state, mode).for_inference();
        Ok(Inference {
            tokenizer: checkpoint.tokenizer()?,
            graph,
            gpt,
            rng: RunRng::from_state(&checkpoint.rng, checkpoint.train.seed)?,
            kind: checkpoint.train.rng,
            sampler: Sampler::default(),
        })
    }

    /// Replaces the generator by a fresh one of the same kind, seeded with `seed`.
    pub fn reseed(&mut self, seed: u64) {
        self.rng = RunRng::new(self.kind, seed);
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The ids of `prefix`, checked for sampling: every character in the
    /// vocabulary, and room left in the context to generate at least one token.
    ///
    /// # Errors
    /// Naming the first unknown character, or the lengths.
    pub fn encode_prefix(&self, prefix: &str) -> Result<Vec<usize>> {
        let ids = self.tokenizer.encode(prefix)?;
        check_prefix(ids.len(), self.gpt.config().block_size)?;
        Ok(ids)
    }

    /// What the model computes along `tokens` (BOS first): every position's
    /// logits and probabilities, and every head's attention weights.
    ///
    /// # Errors
    /// If `tokens` is empty, longer than `block_size`, or out of the vocabulary.
    pub fn inspect(&mut self, tokens: &[usize]) -> Result<model::Inspection> {
        Ok(self.gpt.inspect(&mut self.graph, tokens)?)
    }

    /// Generates one text: `prefix` (ids from [`Inference::encode_prefix`]), then
    /// tokens drawn at `temperature` until BOS or the end of the context.
    ///
    /// # Errors
    /// If the temperature is not a positive finite number, or the prefix does not
    /// fit the model.
    pub fn generate(&mut self, temperature: f64, prefix: &[usize]) -> Result<String> {
        // The temperature is checked by the sampler, by the one rule.
        let ids = self.sampler.generate(
            &self.gpt,
            &mut self.graph,
            &mut self.rng,
            temperature,
            prefix,
        )?;
        self.tokenizer.decode(ids)
    }
}
