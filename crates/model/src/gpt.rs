//! The model's public face: [`Gpt`] and its [`Mode`].

use autograd::{Arith, Float, Graph, Var};
use params::{ModelConfig, StateDict};

use crate::batch::Batch;
use crate::cache::KvCache;
use crate::error::{Error, Result};
use crate::weights::Weights;
use crate::{fused, reference};

/// Which graph the model builds.
///
/// How the fused ops round is a setting of the graph, not of the model: see
/// [`Mode::arith`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Mode {
    /// A few fused ops per layer, gradients in tape order: the training engine.
    #[default]
    Fast,
    /// The reference program's own graph: one scalar node per Python `Value`,
    /// `pow` wherever Python writes `**`, and gradients summed in the order of its
    /// depth-first backward pass. On a graph made with [`Mode::arith`] it
    /// reproduces the reference to the last bit. Many times slower than
    /// [`Mode::Fast`].
    Exact,
}

impl Mode {
    /// How the graph this mode is meant for rounds ([`Graph::with_arith`]): as the
    /// reference for [`Mode::Exact`], fast otherwise.
    pub fn arith(self) -> Arith {
        match self {
            Mode::Fast => Arith::Fast,
            Mode::Exact => Arith::Exact,
        }
    }
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
    pub(crate) mode: Mode,
    pub(crate) w: Weights,
}

impl Gpt {
    /// The model whose weights are `state`'s tensors.
    pub fn new(state: &StateDict, mode: Mode) -> Self {
        Gpt {
            mode,
            w: Weights::new(state),
        }
    }

    /// The same model for inference: the fused engine, [`Mode::Fast`].
    ///
    /// On a graph with [`Arith::Exact`] its forward values are bit-identical to
    /// [`Mode::Exact`]'s (a test holds them so), since only the order of gradient
    /// sums sets the two engines apart, and it is many times faster. Use it to
    /// sample.
    pub fn for_inference(&self) -> Gpt {
        Gpt {
            mode: Mode::Fast,
            ..self.clone()
        }
    }

    /// The model's configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.w.config
    }

    /// Which graph it builds.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// An empty cache for this model.
    pub fn new_cache(&self) -> KvCache {
        KvCache::default()
    }

    /// Starts a new sequence: empties `cache`, and gives it room in `graph`.
    pub fn start<F: Float>(&self, graph: &mut Graph<F>, cache: &mut KvCache) {
        let ModelConfig {
            n_layer,
            block_size,
            n_embd,
            ..
        } = self.w.config;
        match self.mode {
            Mode::Fast => cache.start_rows(graph, n_layer, block_size, n_embd),
            Mode::Exact => cache.start_nodes(n_layer, block_size),
        }
    }

    /// Feeds `token` at position `pos` (the next one of `cache`) and writes the
    /// `(V,)` logits of the next token into `logits`: `f64`s whatever the graph's
    /// element type, which they hold exactly.
    ///
    /// # Errors
    /// If `token` is not in the vocabulary, `pos` is not below `block_size`, or
    /// `pos` is not the number of positions already cached.
    pub fn forward<F: Float>(
        &self,
        graph: &mut Graph<F>,
        cache: &mut KvCache,
        token: usize,
        pos: usize,
        logits: &mut [f64],
    ) -> Result<()> {
        let vocab_size = self.w.config.vocab_size;
        if logits.len() != vocab_size {
            return Err(Error::LogitsLength {
                got: logits.len(),
                expected: vocab_size,
            });
        }
        self.check(cache, token, pos)?;
        self.feed(graph, cache, &[token], logits);
        Ok(())
    }

    /// The `(T, V)` logits of every position of `tokens` at once, each position
    /// seeing the tokens up to its own, written row by row into `logits`; `cache`
    /// is started afresh and holds the tokens' keys and values afterwards. The same
    /// numbers, bit for bit, as feeding the tokens one at a time through
    /// [`Gpt::forward`].
    ///
    /// # Errors
    /// If `tokens` is empty or longer than `block_size`, a token is out of the
    /// vocabulary, or `logits` does not hold `T * V` values.
    pub fn forward_sequence<F: Float>(
        &self,
        graph: &mut Graph<F>,
        cache: &mut KvCache,
        tokens: &[usize],
        logits: &mut [f64],
    ) -> Result<()> {
        self.check_sequence(tokens)?;
        let expected = tokens.len() * self.w.config.vocab_size;
        if logits.len() != expected {
            return Err(Error::LogitsLength {
                got: logits.len(),
                expected,
            });
        }
        self.start(graph, cache);
        self.feed(graph, cache, tokens, logits);
        Ok(())
    }

    /// Feeds `tokens` after the positions `cache` holds and writes their `(T, V)`
    /// logits. The inputs are checked.
    fn feed<F: Float>(
        &self,
        graph: &mut Graph<F>,
        cache: &mut KvCache,
        tokens: &[usize],
        logits: &mut [f64],
    ) {
        match self.mode {
            Mode::Fast => {
                let rows = (tokens, &[tokens.len()][..]);
                let out = fused::forward(&self.w, graph, cache, rows, cache.len, None);
                for (l, &v) in logits.iter_mut().zip(graph.values(out)) {
                    *l = v.to_f64();
                }
                cache.len += tokens.len();
            }
            Mode::Exact => {
                let v = self.w.config.vocab_size;
                let mut nodes = Vec::with_capacity(v);
                for (&token, row) in tokens.iter().zip(logits.chunks_exact_mut(v)) {
                    reference::forward(&self.w, graph, cache, token, &mut nodes);
                    for (l, &n) in row.iter_mut().zip(&nodes) {
                        *l = graph.value(n).to_f64();
                    }
                }
            }
        }
    }

    /// The loss of one sequence: the mean over positions of
    /// `-log softmax(logits)[next token]`, over the first `min(block_size, len - 1)`
    /// positions. Builds the whole sequence on `graph`, and leaves its keys and
    /// values in `cache`; run [`Gpt::backward`] next. The same graph, bit for bit,
    /// as [`Gpt::loss_batch`] of this one document.
    ///
    /// # Errors
    /// If a token is out of the vocabulary or there are fewer than 2 tokens.
    pub fn loss<F: Float>(
        &self,
        graph: &mut Graph<F>,
        cache: &mut KvCache,
        tokens: &[usize],
    ) -> Result<Var> {
        let mut batch = Batch::new();
        batch.push(tokens);
        self.loss_batch(graph, cache, &mut batch)
    }

    /// The loss of a batch of documents: the mean over the documents of each
    /// one's [`Gpt::loss`], `(1 / B) * sum(losses)` (for one document, its loss
    /// alone). Each document keeps its own length and positions, and attends only
    /// to itself.
    ///
    /// [`Mode::Fast`] builds one forward pass over all the documents' rows: the
    /// matrix products take every row of the batch at once, attention and the
    /// cross-entropy go document by document. [`Mode::Exact`] builds each
    /// document's graph as the reference would, one after the other, and their
    /// mean: a well-defined extension of the reference, which trains on one
    /// document a step. Run [`Gpt::backward`] next, once for the batch.
    ///
    /// # Errors
    /// If the batch is empty, or a document has a token out of the vocabulary or
    /// fewer than 2 tokens.
    pub fn loss_batch<F: Float>(
        &self,
        graph: &mut Graph<F>,
        cache: &mut KvCache,
        batch: &mut Batch,
    ) -> Result<Var> {
        let losses = self.doc_losses(graph, cache, batch)?;
        Ok(match losses[..] {
            [one] => one,
            // (1 / B) * sum(losses), the reference's mean over positions one level up
            _ => {
                let total = match self.mode {
                    Mode::Fast => graph.sum(losses.iter()),
                    Mode::Exact => reference::sum(graph, losses.iter().copied()),
                };
                graph.mul(total, 1.0 / losses.len() as f64)
            }
        })
    }

    /// Each document's loss, as [`Gpt::loss_batch`] builds them before their
    /// mean: for a batch spread over several graphs, whose mean is taken once
    /// they are all done (see [`Graph::backward_except`]).
    ///
    /// # Errors
    /// As [`Gpt::loss_batch`].
    pub fn doc_losses<'b, F: Float>(
        &self,
        graph: &mut Graph<F>,
        cache: &mut KvCache,
        batch: &'b mut Batch,
    ) -> Result<&'b [Var]> {
        if batch.is_empty() {
            return Err(Error::SequenceTooShort { len: 0 });
        }
        let ModelConfig {
            vocab_size,
            block_size,
            ..
        } = self.w.config;
        for tokens in batch.docs() {
            if tokens.len() < 2 {
                return Err(Error::SequenceTooShort { len: tokens.len() });
            }
            let n = block_size.min(tokens.len() - 1);
            if let Some(&token) = tokens[..=n].iter().find(|&&t| t >= vocab_size) {
                return Err(Error::TokenOutOfRange { token, vocab_size });
            }
        }
        batch.make_rows(block_size);
        let mut losses = std::mem::take(&mut batch.rows.losses);
        losses.clear();
        match self.mode {
            Mode::Fast => {
                let rows = &batch.rows;
                let c = &self.w.config;
                // Rows for these positions only: nothing is decoded after them.
                let n = rows.inputs.len();
                cache.start_rows(graph, c.n_layer, n, c.n_embd);
                // Every document in one pass, then the (T,) losses.
                let input = (&rows.inputs[..], &rows.docs[..]);
                let logits = fused::forward(&self.w, graph, cache, input, 0, None); // (T, V)
                cache.len = n;
                let all = graph.cross_entropy(logits, &rows.targets); // (T,)
                let mut row = 0;
                for &n in &rows.docs {
                    // (1 / n) * sum(losses), as the reference writes it
                    let total = graph.sum(all.sub(row, n).iter());
                    losses.push(graph.mul(total, 1.0 / n as f64));
                    row += n;
                }
            }
            Mode::Exact => {
                let rows = &batch.rows;
                let mut row = 0;
                for &n in &rows.docs {
                    let (inputs, targets) =
                        (&rows.inputs[row..row + n], &rows.targets[row..row + n]);
                    self.start(graph, cache);
                    losses.push(reference::loss(&self.w, graph, cache, inputs, targets));
                    row += n;
                }
            }
        }
        batch.rows.losses = losses;
        Ok(&batch.rows.losses)
    }

    /// Back-propagates `loss` into the parameters' gradients, in the order the mode
    /// calls for: the tape's for [`Mode::Fast`], the reference's depth-first order
    /// for [`Mode::Exact`].
    pub fn backward<F: Float>(&self, graph: &mut Graph<F>, loss: Var) {
        match self.mode {
            Mode::Fast => graph.backward(loss),
            Mode::Exact => graph.backward_depth_first(loss),
        }
    }

    /// Checks that `tokens` can be fed from position 0: at least one, at most
    /// `block_size`, each in the vocabulary.
    pub(crate) fn check_sequence(&self, tokens: &[usize]) -> Result<()> {
        let ModelConfig {
            vocab_size,
            block_size,
            ..
        } = self.w.config;
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
        Ok(())
    }

    fn check(&self, cache: &KvCache, token: usize, pos: usize) -> Result<()> {
        let ModelConfig {
            vocab_size,
            block_size,
            ..
        } = self.w.config;
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
        if pos >= cache.capacity {
            return Err(Error::CacheFull {
                capacity: cache.capacity,
            });
        }
        Ok(())
    }
}
