//! Generating text: feed BOS, draw the next token from the softmax of the logits
//! divided by the temperature, stop at BOS or after `block_size` tokens.

use autograd::{Float, Graph};
use model::{Gpt, KvCache};

use crate::error::{Error, Result};
use crate::rng::RunRng;

/// Reusable buffers for sampling.
#[derive(Clone, Debug, Default)]
pub struct Sampler {
    logits: Vec<f64>,
    probs: Vec<f64>,
    ids: Vec<usize>,
    cache: Option<KvCache>,
}

/// The lowest sampling temperature. Below it sampling is already as greedy as it
/// gets (a logit gap of 0.05 is a factor of e^50), and a tiny one fails: the
/// reciprocal of 1e-320 is infinite, and so would be every scaled logit.
pub const MIN_TEMPERATURE: f64 = 1e-3;

/// The one rule for a sampling temperature, wherever it comes from (a flag of
/// either command, or a checkpoint): a finite number of at least
/// [`MIN_TEMPERATURE`].
///
/// # Errors
/// Otherwise, saying the rule.
pub fn check_temperature(temperature: f64) -> Result<()> {
    if temperature.is_finite() && temperature >= MIN_TEMPERATURE {
        Ok(())
    } else {
        let why = format!(
            "{temperature} is not a positive finite number of at least {MIN_TEMPERATURE} (the reference uses 0.5)"
        );
        Err(Error::Invalid {
            what: "temperature",
            why,
        })
    }
}

/// Checks that a prefix of `len` tokens leaves room to generate one: the context
/// of `block_size` positions starts with BOS.
///
/// # Errors
/// [`Error::PrefixTooLong`] unless `len < block_size`.
pub(crate) fn check_prefix(len: usize, block_size: usize) -> Result<()> {
    if len < block_size {
        Ok(())
    } else {
        Err(Error::PrefixTooLong { len, block_size })
    }
}

impl Sampler {
    /// Generates one sequence: BOS, then `prefix`, then tokens drawn from the model
    /// until it draws BOS or fills `block_size` positions. Returns the ids after BOS,
    /// prefix included. Leaves `graph` as it found it. The model runs in the
    /// graph's element type; its logits come out as `f64`s, and the softmax over
    /// them is computed in `f64`.
    ///
    /// # Errors
    /// If the prefix holds an id outside the vocabulary or is longer than
    /// `block_size - 1`, the temperature is not positive, or the probabilities
    /// cannot be sampled.
    pub fn generate<F: Float>(
        &mut self,
        gpt: &Gpt,
        graph: &mut Graph<F>,
        rng: &mut RunRng,
        temperature: f64,
        prefix: &[usize],
    ) -> Result<&[usize]> {
        check_temperature(temperature)?;
        let config = *gpt.config();
        // BOS is the vocabulary's last id, as `Tokenizer::bos` defines it.
        let bos = config.vocab_size - 1;
        check_prefix(prefix.len(), config.block_size)?;
        self.logits.resize(config.vocab_size, 0.0);
        self.probs.resize(config.vocab_size, 0.0);
        self.ids.clear();
        let cache = self.cache.get_or_insert_with(|| gpt.new_cache());
        let mark = graph.mark();
        gpt.start(graph, cache);
        let mut token = bos;
        let result = (|| {
            for pos in 0..config.block_size {
                gpt.forward(graph, cache, token, pos, &mut self.logits)?;
                if let Some(&next) = prefix.get(pos) {
                    token = next;
                } else {
                    graph
                        .arith()
                        .softmax(&self.logits, temperature, &mut self.probs);
                    token = rng.choose(&self.probs)?;
                    if token == bos {
                        break;
                    }
                }
                self.ids.push(token);
            }
            Ok(())
        })();
        graph.truncate(mark);
        result.map(|()| self.ids.as_slice())
    }
}
