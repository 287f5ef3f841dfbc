//! The forward pass on fused ops: a handful of tape entries per layer.
//!
//! Shapes: `T` positions, `C` n_embd, `V` vocab_size, `H` n_head. Every tensor is
//! a span of the graph, row-major: `(T, C)` is `T` rows of `C`.

use autograd::{Graph, Span, Var};
use params::Activation;

use crate::gpt::{Gpt, KvCache};

/// The mean cross-entropy of predicting `tokens[t + 1]` from `tokens[..=t]`, for
/// the `T = tokens.len() - 1` positions at once.
pub(crate) fn loss(m: &Gpt, g: &mut Graph, cache: &mut KvCache, tokens: &[usize]) -> Var {
    let n = tokens.len() - 1;
    let logits = sequence(m, g, &tokens[..n]); // (T, V)
    let losses = g.cross_entropy(logits, &tokens[1..], m.arith); // (T,)
    // (1 / n) * sum(losses), as the reference writes it
    cache.losses.clear();
    cache.losses.extend(losses.iter());
    let total = g.sum(&cache.losses);
    g.mul(total, 1.0 / n as f64)
}

/// The `(T, V)` logits of every position of `tokens`, each seeing the tokens up to
/// its own: the whole sequence in one pass, with causal attention.
pub(crate) fn sequence(m: &Gpt, g: &mut Graph, tokens: &[usize]) -> Span {
    let (w, arith) = (&m.w, m.arith);
    let (c, h, t) = (m.config.n_embd, m.config.n_head, tokens.len());
    // (T, C) token embedding plus position embedding, normalised
    let x = g.embed(w.wte.span, w.wpe.span.sub(0, t * c), c, tokens);
    let mut x = g.rmsnorm(x, c, arith);
    for block in &w.blocks {
        // Attention: r + wo(attention(rmsnorm(r)))
        let residual = x;
        let xn = g.rmsnorm(x, c, arith); // (T, C)
        let q = g.linear(block.attn_wq.span, xn, c, arith); // (T, C)
        let k = g.linear(block.attn_wk.span, xn, c, arith); // (T, C)
        let v = g.linear(block.attn_wv.span, xn, c, arith); // (T, C)
        let att = g.attention(q, k, v, c, h, 0, m.attn_scale, arith); // (T, C)
        let att = g.linear(block.attn_wo.span, att, c, arith); // (T, C)
        x = g.add_vec(att, residual);
        // MLP: r + fc2(act(fc1(rmsnorm(r)))), act relu^2 (v1) or relu (v2)
        let residual = x;
        let xn = g.rmsnorm(x, c, arith); // (T, C)
        let hid = g.linear(block.mlp_fc1.span, xn, 4 * c, arith); // (T, 4C)
        let hid = match m.config.activation {
            Activation::Relu2 => g.relu_sq(hid, arith),
            Activation::Relu => g.relu_vec(hid),
        }; // (T, 4C)
        let hid = g.linear(block.mlp_fc2.span, hid, c, arith); // (T, C)
        x = g.add_vec(hid, residual);
    }
    g.linear(w.lm_head.span, x, m.config.vocab_size, arith) // (T, V)
}

/// The `(V,)` logits of the next token after `token` at `pos`: one row against the
/// key/value cache, to which this position's keys and values are added.
pub(crate) fn forward(m: &Gpt, g: &mut Graph, cache: &KvCache, token: usize, pos: usize) -> Span {
    let (w, arith) = (&m.w, m.arith);
    let (c, h) = (m.config.n_embd, m.config.n_head);
    // (1, C) token embedding plus position embedding, normalised
    let x = g.embed(w.wte.span, w.wpe.row(pos), c, &[token]);
    let mut x = g.rmsnorm(x, c, arith);
    for (block, &(keys, values)) in w.blocks.iter().zip(&cache.rows) {
        let residual = x;
        let xn = g.rmsnorm(x, c, arith); // (1, C)
        let q = g.linear(block.attn_wq.span, xn, c, arith); // (1, C)
        g.linear_into(block.attn_wk.span, xn, keys.row(pos, c), c, arith); // (1, C) into the cache
        g.linear_into(block.attn_wv.span, xn, values.row(pos, c), c, arith); // (1, C) into the cache
        let seen = (pos + 1) * c; // (pos+1, C) cached so far, this position included
        let att = g.attention(
            q,
            keys.sub(0, seen),
            values.sub(0, seen),
            c,
            h,
            pos,
            m.attn_scale,
            arith,
        );
        let att = g.linear(block.attn_wo.span, att, c, arith); // (1, C)
        x = g.add_vec(att, residual);
        let residual = x;
        let xn = g.rmsnorm(x, c, arith); // (1, C)
        let hid = g.linear(block.mlp_fc1.span, xn, 4 * c, arith); // (1, 4C)
        let hid = match m.config.activation {
            Activation::Relu2 => g.relu_sq(hid, arith),
            Activation::Relu => g.relu_vec(hid),
        }; // (1, 4C)
        let hid = g.linear(block.mlp_fc2.span, hid, c, arith); // (1, C)
        x = g.add_vec(hid, residual);
    }
    g.linear(w.lm_head.span, x, m.config.vocab_size, arith) // (1, V)
}
