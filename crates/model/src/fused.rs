//! The forward pass on fused ops: one tape entry per layer step.
//!
//! Shapes: `V` vocab_size, `C` n_embd, `T` block_size, `H` n_head,
//! `hd` head_dim = C / H. Every vector below is a span of the graph.

use autograd::{Graph, Span, Var};

use crate::gpt::{Gpt, KvCache};

/// The `(V,)` logits of the next token after `token` at `pos`; appends this
/// position's keys and values to `cache`.
pub(crate) fn forward(m: &Gpt, g: &mut Graph, cache: &KvCache, token: usize, pos: usize) -> Span {
    let (w, arith, c) = (&m.w, m.arith, m.config.n_embd);
    // (C,) token embedding plus position embedding, normalised
    let x = g.add_vec(w.wte.row(token), w.wpe.row(pos));
    let mut x = g.rmsnorm(x, arith);
    for (block, &(keys, values)) in w.blocks.iter().zip(&cache.rows) {
        // Attention: r + wo(attention(rmsnorm(r)))
        let residual = x;
        let xn = g.rmsnorm(x, arith); // (C,)
        let q = g.linear(block.attn_wq.span, xn, c); // (C,)
        g.linear_into(block.attn_wk.span, xn, keys.row(pos, c)); // (C,) into the cache
        g.linear_into(block.attn_wv.span, xn, values.row(pos, c)); // (C,) into the cache
        let seen = (pos + 1) * c; // (pos+1, C) cached so far, this position included
        let att = g.attention(
            q,
            keys.sub(0, seen),
            values.sub(0, seen),
            m.config.n_head,
            m.attn_scale,
            arith,
        ); // (C,)
        let att = g.linear(block.attn_wo.span, att, c); // (C,)
        x = g.add_vec(att, residual);
        // MLP: r + fc2(relu(fc1(rmsnorm(r)))^2)
        let residual = x;
        let xn = g.rmsnorm(x, arith); // (C,)
        let h = g.linear(block.mlp_fc1.span, xn, 4 * c); // (4C,)
        let h = g.relu_sq(h, arith); // (4C,)
        let h = g.linear(block.mlp_fc2.span, h, c); // (C,)
        x = g.add_vec(h, residual);
    }
    g.linear(w.lm_head.span, x, m.config.vocab_size) // (V,)
}

/// The mean cross-entropy of predicting `tokens[p + 1]` from `tokens[..=p]`.
pub(crate) fn loss(m: &Gpt, g: &mut Graph, cache: &mut KvCache, tokens: &[usize]) -> Var {
    let n = tokens.len() - 1;
    cache.losses.clear();
    for pos in 0..n {
        let logits = forward(m, g, cache, tokens[pos], pos); // (V,)
        cache.len += 1;
        let loss = g.cross_entropy(logits, tokens[pos + 1], m.arith);
        cache.losses.push(loss);
    }
    // (1 / n) * sum(losses), as the reference writes it
    let total = g.sum(&cache.losses);
    g.mul(total, 1.0 / n as f64)
}
