//! The model's public face: [`Gpt`], its [`Mode`], and its [`KvCache`].

use autograd::{Arith, Graph, Span, Var, py_pow};
use params::{ModelConfig, StateDict};

use crate::error::{Error, Result};
use crate::weights::Weights;
use crate::{fused, reference};

/// How the model computes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Fused ops, fast arithmetic, and gradients in tape order: the training engine.
    #[default]
    Fast,
    /// The reference program's arithmetic to the last bit: one scalar node per
    /// Python `Value`, `pow` wherever Python writes `**`, and gradients summed in the
    /// order of its depth-first backward pass. Many times slower than [`Mode::Fast`].
    Exact,
}

/// The GPT of the reference: token and position embeddings, `n_layer` blocks of
/// multi-head causal attention and an MLP (ReLU² in v1, ReLU in v2, as its
/// config's `activation` says), each with an RMS norm before it
/// and a residual around it, and `lm_head`. It reads its weights from a
/// [`StateDict`] in the graph, and runs a whole sequence at once ([`Gpt::loss`],
/// [`Gpt::forward_sequence`]) or one token at a time with a key/value cache
/// ([`Gpt::forward`]), the two giving the same numbers.
#[derive(Clone, Debug)]
pub struct Gpt {
    pub(crate) config: ModelConfig,
    pub(crate) engine: Engine,
    pub(crate) arith: Arith,
    pub(crate) w: Weights,
    /// `head_dim ** 0.5 ** -1`: the reference divides each attention logit by
    /// `head_dim ** 0.5`, which is a multiplication by its `pow(_, -1)`.
    pub(crate) attn_scale: f64,
}

/// Which graph the model builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Engine {
    /// A few fused ops per layer, gradients in tape order.
    Fused,
    /// The reference's scalar nodes, gradients in its depth-first order.
    Scalar,
}

/// The keys and values of the positions fed so far, for every layer.
///
/// Make one with [`Gpt::new_cache`]; it is reset by [`Gpt::start`] and can be
/// reused, sequence after sequence, without allocating.
#[derive(Clone, Debug, Default)]
pub struct KvCache {
    /// Positions fed since the last [`Gpt::start`].
    pub(crate) len: usize,
    /// Fused: per layer, `block_size` rows of keys and of values, in the graph.
    pub(crate) rows: Vec<(Span, Span)>,
    /// Exact: per layer, the key and value nodes, `len * C` of each.
    pub(crate) keys: Vec<Vec<Var>>,
    pub(crate) values: Vec<Vec<Var>>,
    /// Exact: the logits of the last position.
    pub(crate) logits: Vec<Var>,
    /// The loss of each position of the sequence.
    pub(crate) losses: Vec<Var>,
}

impl KvCache {
    /// How many positions the cache holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no position has been fed since the last start.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Gpt {
    /// The model whose weights are `state`'s tensors.
    pub fn new(state: &StateDict, mode: Mode) -> Self {
        let config = *state.config();
        let attn_scale = py_pow(py_pow(config.head_dim() as f64, 0.5), -1.0);
        let (engine, arith) = match mode {
            Mode::Fast => (Engine::Fused, Arith::Fast),
            Mode::Exact => (Engine::Scalar, Arith::Exact),
        };
        Gpt {
            config,
            engine,
            arith,
            w: Weights::new(state),
            attn_scale,
        }
    }

    /// The same model for inference: the fused engine with this model's arithmetic.
    ///
    /// Its forward values are bit-identical to this model's (a test holds them so),
    /// since only the order of gradient sums sets the two engines apart, and it is
    /// many times faster in [`Mode::Exact`]. Use it to sample.
    pub fn for_inference(&self) -> Gpt {
        Gpt {
            engine: Engine::Fused,
            ..self.clone()
        }
    }

    /// The model's configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// How it computes.
    pub fn mode(&self) -> Mode {
        match self.arith {
            Arith::Fast => Mode::Fast,
            Arith::Exact => Mode::Exact,
        }
    }

    /// The arithmetic of its ops.
    pub fn arith(&self) -> Arith {
        self.arith
    }

    /// An empty cache for this model.
    pub fn new_cache(&self) -> KvCache {
        let l = self.config.n_layer;
        KvCache {
            len: 0,
            rows: Vec::with_capacity(l),
            keys: vec![Vec::new(); l],
            values: vec![Vec::new(); l],
            logits: Vec::with_capacity(self.config.vocab_size),
            losses: Vec::with_capacity(self.config.block_size),
        }
    }

    /// Starts a new sequence: empties `cache`, and gives it room in `graph`.
    pub fn start(&self, graph: &mut Graph, cache: &mut KvCache) {
        cache.len = 0;
        match self.engine {
            Engine::Fused => {
                let rows = self.config.block_size * self.config.n_embd;
                cache.rows.clear();
                for _ in 0..self.config.n_layer {
                    let keys = graph.alloc(rows);
                    let values = graph.alloc(rows);
                    cache.rows.push((keys, values));
                }
            }
            Engine::Scalar => {
                cache
                    .keys
                    .iter_mut()
                    .chain(&mut cache.values)
                    .for_each(Vec::clear);
                cache.keys.resize(self.config.n_layer, Vec::new());
                cache.values.resize(self.config.n_layer, Vec::new());
            }
        }
    }

    /// Feeds `token` at position `pos` (the next one of `cache`) and writes the
    /// `(V,)` logits of the next token into `logits`.
    ///
    /// # Errors
    /// If `token` is not in the vocabulary, `pos` is not below `block_size`, or
    /// `pos` is not the number of positions already cached.
    pub fn forward(
        &self,
        graph: &mut Graph,
        cache: &mut KvCache,
        token: usize,
        pos: usize,
        logits: &mut [f64],
    ) -> Result<()> {
        let vocab_size = self.config.vocab_size;
        if logits.len() != vocab_size {
            return Err(Error::LogitsLength {
                got: logits.len(),
                expected: vocab_size,
            });
        }
        self.check(cache, token, pos)?;
        match self.engine {
            Engine::Fused => {
                let out = fused::forward(self, graph, cache, token, pos);
                logits.copy_from_slice(graph.values(out));
            }
            Engine::Scalar => {
                reference::forward(self, graph, cache, token, pos);
                for (l, &v) in logits.iter_mut().zip(&cache.logits) {
                    *l = graph.value(v);
                }
            }
        }
        cache.len += 1;
        Ok(())
    }

    /// The `(T, V)` logits of every position of `tokens` at once, each position
    /// seeing the tokens up to its own, written row by row into `logits`. The same
    /// numbers, bit for bit, as feeding the tokens one at a time through
    /// [`Gpt::forward`].
    ///
    /// # Errors
    /// If `tokens` is empty or longer than `block_size`, a token is out of the
    /// vocabulary, or `logits` does not hold `T * V` values.
    pub fn forward_sequence(
        &self,
        graph: &mut Graph,
        cache: &mut KvCache,
        tokens: &[usize],
        logits: &mut [f64],
    ) -> Result<()> {
        let ModelConfig {
            vocab_size,
            block_size,
            ..
        } = self.config;
        if tokens.is_empty() {
            return Err(Error::SequenceTooShort { len: 0 });
        }
        if tokens.len() > block_size {
            return Err(Error::PositionOutOfRange {
                pos: tokens.len() - 1,
                block_size,
            });
        }
        if let Some(&token) = tokens.iter().find(|&&t| t >= vocab_size) {
            return Err(Error::TokenOutOfRange { token, vocab_size });
        }
        if logits.len() != tokens.len() * vocab_size {
            return Err(Error::LogitsLength {
                got: logits.len(),
                expected: tokens.len() * vocab_size,
            });
        }
        match self.engine {
            Engine::Fused => {
                let out = fused::sequence(self, graph, tokens);
                logits.copy_from_slice(graph.values(out));
            }
            Engine::Scalar => {
                self.start(graph, cache);
                for (pos, (&token, row)) in tokens
                    .iter()
                    .zip(logits.chunks_exact_mut(vocab_size))
                    .enumerate()
                {
                    self.forward(graph, cache, token, pos, row)?;
                }
            }
        }
        Ok(())
    }

    /// The loss of one sequence: the mean over positions of
    /// `-log softmax(logits)[next token]`, over the first `min(block_size, len - 1)`
    /// positions. Builds the whole sequence on `graph`; run [`Gpt::backward`] next.
    ///
    /// # Errors
    /// If a token is out of the vocabulary or there are fewer than 2 tokens.
    pub fn loss(&self, graph: &mut Graph, cache: &mut KvCache, tokens: &[usize]) -> Result<Var> {
        if tokens.len() < 2 {
            return Err(Error::SequenceTooShort { len: tokens.len() });
        }
        let n = self.config.block_size.min(tokens.len() - 1);
        if let Some(&token) = tokens[..=n].iter().find(|&&t| t >= self.config.vocab_size) {
            return Err(Error::TokenOutOfRange {
                token,
                vocab_size: self.config.vocab_size,
            });
        }
        let loss = match self.engine {
            // The whole sequence in one pass: no cache to fill.
            Engine::Fused => fused::loss(self, graph, cache, &tokens[..=n]),
            Engine::Scalar => {
                self.start(graph, cache);
                reference::loss(self, graph, cache, &tokens[..=n])
            }
        };
        Ok(loss)
    }

    /// Back-propagates `loss` into the parameters' gradients, in the order the mode
    /// calls for: the tape's for [`Mode::Fast`], the reference's depth-first order
    /// for [`Mode::Exact`].
    pub fn backward(&self, graph: &mut Graph, loss: Var) {
        match self.engine {
            Engine::Fused => graph.backward(loss),
            Engine::Scalar => graph.backward_depth_first(loss),
        }
    }

    fn check(&self, cache: &KvCache, token: usize, pos: usize) -> Result<()> {
        let ModelConfig {
            vocab_size,
            block_size,
            ..
        } = self.config;
        if token >= vocab_size {
            return Err(Error::TokenOutOfRange { token, vocab_size });
        }
        if pos >= block_size {
            return Err(Error::PositionOutOfRange { pos, block_size });
        }
        if pos != cache.len {
            return Err(Error::PositionOutOfOrder {
                pos,
                cached: cache.len,
            });
        }
        Ok(())
    }
}
