//! The forward pass on fused ops, for training and decoding alike: a handful of
//! tape entries per layer.
//!
//! Shapes: `T` rows fed at once, `C` n_embd, `V` vocab_size, `H` n_head.
//! Every tensor is a span of the graph, row-major: `(T, C)` is `T` rows of `C`.
//! The rows may be several documents (a batch): the matrix products take all
//! their rows at once, and each document attends only to its own positions.

use autograd::{AttentionShape, Float, Footprint, Graph, Span};
use params::{Activation, ModelConfig};

use crate::cache::KvCache;
use crate::weights::{Block, Weights};

/// The `(T, V)` logits of `tokens`, the rows of the documents `docs` (`docs[d]`
/// rows of document `d`, in turn), each document's rows at positions
/// `pos0 .. pos0 + docs[d]` and each seeing its own positions up to its own.
///
/// The rows' keys and values are written into rows `pos0 ..` of `cache`, and
/// attention reads rows `0 .. pos0 + T`: training feeds whole documents from
/// `pos0 = 0` (one or a batch), decoding one token at a time of one document.
/// With `att` given, each layer's attention weights are pushed onto it (see
/// [`autograd::AttentionOutput::att`]).
pub(crate) fn forward<F: Float>(
    w: &Weights,
    g: &mut Graph<F>,
    cache: &KvCache,
    (tokens, docs): (&[usize], &[usize]),
    pos0: usize,
    mut att: Option<&mut Vec<Span>>,
) -> Span {
    let c = w.config.n_embd;
    // (T, C) token embedding plus position embedding, normalised
    let positions = w.wpe.span.sub(pos0 * c, w.wpe.span.len() - pos0 * c);
    let x = g.embed_batch(w.wte.span, positions, c, tokens, docs);
    let mut x = g.rmsnorm(x, c);
    for (l, block) in w.blocks.iter().enumerate() {
        let (out, weights) = transformer_block(w, g, block, x, cache.rows(l), (docs, pos0));
        x = out;
        if let Some(att) = att.as_deref_mut() {
            att.push(weights);
        }
    }
    g.linear(w.lm_head.span, x, w.config.vocab_size) // (T, V)
}

/// One block over the `(T, C)` rows `x` of the documents `docs` at positions
/// `pos0 ..`: attention, then the MLP, each as `x + f(rmsnorm(x))`. Returns the
/// block's output and its attention weights.
fn transformer_block<F: Float>(
    w: &Weights,
    g: &mut Graph<F>,
    block: &Block,
    x: Span,
    (keys, values): (Span, Span),
    (docs, pos0): (&[usize], usize),
) -> (Span, Span) {
    let (c, t) = (w.config.n_embd, x.len() / w.config.n_embd);
    // Attention: x + wo(attention(rmsnorm(x)))
    let xn = g.rmsnorm(x, c); // (T, C)
    let q = g.linear(block.attn_wq.span, xn, c); // (T, C)
    g.linear_into(block.attn_wk.span, xn, keys.sub(pos0 * c, t * c), c); // (T, C) into the cache
    g.linear_into(block.attn_wv.span, xn, values.sub(pos0 * c, t * c), c); // (T, C) into the cache
    let seen = (pos0 + t) * c; // (pos0 + T, C) cached so far, these positions included
    let shape = AttentionShape {
        width: c,
        n_head: w.config.n_head,
        pos0,
        scale: w.attn_scale,
    };
    // Each document over its own keys and values. (T, C)
    let att = g.attention_batch(q, keys.sub(0, seen), values.sub(0, seen), shape, docs);
    let proj = g.linear(block.attn_wo.span, att.out, c); // (T, C)
    let x = g.add_vec(proj, x);
    // MLP: x + fc2(act(fc1(rmsnorm(x)))), act relu^2 (v1) or relu (v2)
    let xn = g.rmsnorm(x, c); // (T, C)
    let hid = g.linear(block.mlp_fc1.span, xn, 4 * c); // (T, 4C)
    let hid = match w.config.activation {
        Activation::Relu2 => g.relu_sq(hid),
        Activation::Relu => g.relu_vec(hid),
    }; // (T, 4C)
    let hid = g.linear(block.mlp_fc2.span, hid, c); // (T, C)
    (g.add_vec(hid, x), att.att)
}

/// What one training step over a full `block_size` sequence adds to the graph,
/// op by op as [`forward`] and the loss build it: the key/value rows, the
/// forward, the cross-entropy and the mean.
pub(crate) fn step_footprint(config: &ModelConfig) -> Footprint {
    let (t, c, v, h) = (
        config.block_size,
        config.n_embd,
        config.vocab_size,
        config.n_head,
    );
    let block = Footprint::rmsnorm(t, c)
        + Footprint::linear(t, c, c, false) // q
        + Footprint::linear(t, c, c, true).times(2) // k and v, into the cache
        + Footprint::attention(t, t, c, h)
        + Footprint::linear(t, c, c, false) // wo
        + Footprint::elementwise(t * c) // residual
        + Footprint::rmsnorm(t, c)
        + Footprint::linear(t, 4 * c, c, false) // fc1
        + Footprint::elementwise(t * 4 * c) // relu² or relu
        + Footprint::linear(t, c, 4 * c, false) // fc2
        + Footprint::elementwise(t * c); // residual
    Footprint::leaves(2 * config.n_layer * t * c) // the cache's rows for the t positions
        + Footprint::embed(t, c)
        + Footprint::rmsnorm(t, c)
        + block.times(config.n_layer)
        + Footprint::linear(t, v, c, false) // lm_head
        + Footprint::cross_entropy(t, v)
        + Footprint::sum(t)
        + Footprint::scalars(1) // * (1 / n)
}
