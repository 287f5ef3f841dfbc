//! Looking inside one forward pass: what the model predicts at each position of a
//! prefix, and where each head of each layer attends.

use autograd::{Float, Graph, Span};

use crate::cache::KvCache;
use crate::error::Result;
use crate::fused;
use crate::gpt::Gpt;

/// The model's forward pass over a prefix, laid out to be read or drawn.
///
/// Shapes: `T` positions, `V` vocab_size, `L` n_layer, `H` n_head.
#[derive(Clone, Debug, PartialEq)]
pub struct Inspection {
    /// The tokens fed, at positions `0..T`.
    pub tokens: Vec<usize>,
    /// `(T, V)`: the logits of the token after each position.
    pub logits: Vec<f64>,
    /// `(T, V)`: their softmax, at temperature 1.
    pub probs: Vec<f64>,
    /// `(L, H, T, T)`: the weight that position `t` (a row) gives position `s` (a
    /// column) in each layer's and head's attention; 0 for `s > t`.
    pub attention: Vec<f64>,
    /// V.
    pub vocab_size: usize,
    /// L.
    pub n_layer: usize,
    /// H.
    pub n_head: usize,
}

impl Inspection {
    /// T, the number of positions.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether no position was fed.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The `(V,)` logits after position `t`.
    pub fn logits_at(&self, t: usize) -> &[f64] {
        &self.logits[t * self.vocab_size..(t + 1) * self.vocab_size]
    }

    /// The `(V,)` probabilities of the token after position `t`.
    pub fn probs_at(&self, t: usize) -> &[f64] {
        &self.probs[t * self.vocab_size..(t + 1) * self.vocab_size]
    }

    /// The `(T, T)` attention weights of `head` in `layer`, row by row.
    pub fn attention_of(&self, layer: usize, head: usize) -> &[f64] {
        let t = self.len();
        let at = (layer * self.n_head + head) * t * t;
        &self.attention[at..at + t * t]
    }
}

impl Gpt {
    /// Runs `tokens` from position 0 through the fused forward pass (whatever this
    /// model's mode) and returns its logits, probabilities and attention weights.
    /// Nothing is left on `graph`, and nothing is learned.
    ///
    /// # Errors
    /// If `tokens` is empty, longer than `block_size`, or holds a token outside the
    /// vocabulary.
    pub fn inspect<F: Float>(&self, graph: &mut Graph<F>, tokens: &[usize]) -> Result<Inspection> {
        self.check_sequence(tokens)?;
        let c = &self.w.config;
        let (t, v, h) = (tokens.len(), c.vocab_size, c.n_head);
        let mark = graph.mark();
        let mut cache = KvCache::default();
        cache.start_rows(graph, c.n_layer, t, c.n_embd);
        let mut att: Vec<Span> = Vec::with_capacity(c.n_layer);
        let out = fused::forward(&self.w, graph, &cache, (tokens, &[t]), 0, Some(&mut att));
        let logits: Vec<f64> = graph.values(out).iter().map(|v| v.to_f64()).collect();
        let mut probs = vec![0.0; t * v];
        for (l, p) in logits.chunks_exact(v).zip(probs.chunks_exact_mut(v)) {
            graph.arith().softmax(l, 1.0, p);
        }
        // Each layer's weights come as (T, H, T): query row, head, key.
        let mut attention = vec![0.0; c.n_layer * h * t * t];
        for (l, span) in att.iter().enumerate() {
            let w = graph.values(*span);
            for row in 0..t {
                for head in 0..h {
                    let from = &w[(row * h + head) * t..][..=row];
                    let at = ((l * h + head) * t + row) * t;
                    for (a, &f) in attention[at..=at + row].iter_mut().zip(from) {
                        *a = f.to_f64();
                    }
                }
            }
        }
        graph.truncate(mark);
        Ok(Inspection {
            tokens: tokens.to_vec(),
            logits,
            probs,
            attention,
            vocab_size: v,
            n_layer: c.n_layer,
            n_head: h,
        })
    }
}
