//! A trained model restored from a checkpoint, generating text: what
//! `cargo xtask sample` runs.

use autograd::{Float, Graph};
use model::Gpt;
use params::{Dtype, StateDict};

use crate::checkpoint::{Checkpoint, Zeros};
use crate::error::Result;
use crate::rng::{RngKind, RunRng};
use crate::sample::{Sampler, check_prefix};
use crate::tokenizer::Tokenizer;

/// A model ready to generate, with its tokenizer and a generator.
#[derive(Debug)]
pub struct Inference {
    tokenizer: Tokenizer,
    graph: Weights,
    gpt: Gpt,
    rng: RunRng,
    kind: RngKind,
    sampler: Sampler,
}

/// The graph holding the weights, in the run's dtype.
#[derive(Debug)]
enum Weights {
    F64(Graph<f64>),
    F32(Graph<f32>),
}

/// A graph of `F`s holding `checkpoint`'s weights, and their state dict.
fn restore<F: Float>(checkpoint: &Checkpoint) -> Result<(Graph<F>, StateDict)> {
    let mut graph = Graph::<F>::empty(checkpoint.train.mode().arith());
    let state = StateDict::with_std(
        &mut graph,
        &checkpoint.model,
        &checkpoint.train.init,
        &mut Zeros,
    )?;
    checkpoint.weights.load_into(&state, &mut graph)?;
    Ok((graph, state))
}

impl Inference {
    /// The checkpoint's model, in its run's mode and dtype (the fused engine, on a
    /// graph of `f64`s or `f32`s), with its run's generator as it was saved: a
    /// checkpoint saved at the end of training generates the names that training
    /// printed.
    ///
    /// # Errors
    /// If the checkpoint's weights do not fit its model.
    pub fn from_checkpoint(checkpoint: &Checkpoint) -> Result<Self> {
        checkpoint.check()?;
        let mode = checkpoint.train.mode();
        let (graph, state) = match checkpoint.train.dtype {
            Dtype::F64 => restore(checkpoint).map(|(g, s)| (Weights::F64(g), s))?,
            Dtype::F32 => restore(checkpoint).map(|(g, s)| (Weights::F32(g), s))?,
        };
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

    /// What the model computes in: its run's dtype.
    pub fn dtype(&self) -> Dtype {
        match self.graph {
            Weights::F64(_) => Dtype::F64,
            Weights::F32(_) => Dtype::F32,
        }
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
        Ok(match &mut self.graph {
            Weights::F64(graph) => self.gpt.inspect(graph, tokens)?,
            Weights::F32(graph) => self.gpt.inspect(graph, tokens)?,
        })
    }

    /// Generates one text: `prefix` (ids from [`Inference::encode_prefix`]), then
    /// tokens drawn at `temperature` until BOS or the end of the context.
    ///
    /// # Errors
    /// If the temperature is not a positive finite number, or the prefix does not
    /// fit the model.
    pub fn generate(&mut self, temperature: f64, prefix: &[usize]) -> Result<String> {
        // The temperature is checked by the sampler, by the one rule.
        let (gpt, rng) = (&self.gpt, &mut self.rng);
        let ids = match &mut self.graph {
            Weights::F64(graph) => self
                .sampler
                .generate(gpt, graph, rng, temperature, prefix)?,
            Weights::F32(graph) => self
                .sampler
                .generate(gpt, graph, rng, temperature, prefix)?,
        };
        self.tokenizer.decode(ids)
    }
}
