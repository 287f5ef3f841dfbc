//! The forward pass of the reference program, node for node: every Python `Value`
//! becomes one scalar node, with the same inputs in the same order.
//!
//! Building the very graph the reference builds is what makes [`Graph::backward_depth_first`]
//! visit nodes in its order, so that every gradient receives its terms in the same
//! order and rounds the same way. The functions mirror the reference's helpers;
//! `sum` is Python's `sum`, which starts from the integer 0.

use autograd::{Graph, Var, py_pow};
use params::{Activation, Tensor};

use crate::gpt::{Gpt, KvCache};

/// Python's `sum(terms)`: `0 + t0` (a node `t0 + 0`), then `+ t1`, `+ t2`, ...
fn sum(g: &mut Graph, terms: impl IntoIterator<Item = Var>) -> Var {
    let mut terms = terms.into_iter();
    let first = terms
        .next()
        .expect("the reference never sums an empty list");
    let mut acc = g.add(first, 0.0);
    for t in terms {
        acc = g.add(acc, t);
    }
    acc
}

/// `linear(x, w)`: `[sum(wi * xi for wi, xi in zip(wo, x)) for wo in w]`.
fn linear(g: &mut Graph, x: &[Var], w: &Tensor, out: &mut Vec<Var>) {
    out.clear();
    for o in 0..w.rows {
        let row = w.row(o);
        let mut acc = None;
        for (i, &xi) in x.iter().enumerate() {
            let p = g.mul(row.at(i), xi);
            acc = Some(match acc {
                None => g.add(p, 0.0),
                Some(a) => g.add(a, p),
            });
        }
        out.push(acc.expect("a linear layer has inputs"));
    }
}

/// `softmax(logits)`: subtract the max (a plain number), exponentiate, sum, and
/// divide each by the sum, which makes a fresh `total ** -1` node for each.
fn softmax(g: &mut Graph, logits: &[Var], out: &mut Vec<Var>) {
    let max = crate::max_value(logits.iter().map(|&v| g.value(v)));
    out.clear();
    for &v in logits {
        let shifted = g.add(v, -max); // v - max is v + (-max)
        out.push(g.exp(shifted));
    }
    let total = sum(g, out.iter().copied());
    for e in out.iter_mut() {
        *e = g.div(*e, total);
    }
}

/// `rmsnorm(x)`: `x_i * (sum(x_i * x_i) / n + 1e-5) ** -0.5`.
fn rmsnorm(g: &mut Graph, x: &[Var], out: &mut Vec<Var>) {
    let squares: Vec<Var> = x.iter().map(|&xi| g.mul(xi, xi)).collect();
    let total = sum(g, squares);
    let ms = g.div(total, x.len() as f64);
    let ms_eps = g.add(ms, autograd::RMSNORM_EPS);
    let scale = g.pow(ms_eps, -0.5);
    out.clear();
    out.extend(x.iter().map(|&xi| g.mul(xi, scale)));
}

/// `gpt(token_id, pos_id, keys, values)`: leaves the logits in `cache.logits`.
pub(crate) fn forward(m: &Gpt, g: &mut Graph, cache: &mut KvCache, token: usize, pos: usize) {
    let (w, c, hd) = (&m.w, m.config.n_embd, m.config.head_dim());
    let (wte, wpe) = (w.wte.row(token), w.wpe.row(pos));
    let mut x: Vec<Var> = (0..c).map(|i| g.add(wte.at(i), wpe.at(i))).collect();
    let mut tmp = Vec::with_capacity(4 * c);
    rmsnorm(g, &x, &mut tmp);
    std::mem::swap(&mut x, &mut tmp);
    let mut q = Vec::with_capacity(c);
    for (li, block) in w.blocks.iter().enumerate() {
        let x_residual = x.clone();
        rmsnorm(g, &x, &mut tmp);
        linear(g, &tmp, &block.attn_wq, &mut q);
        let mut k = Vec::with_capacity(c);
        linear(g, &tmp, &block.attn_wk, &mut k);
        let mut v = Vec::with_capacity(c);
        linear(g, &tmp, &block.attn_wv, &mut v);
        cache.keys[li].extend(k);
        cache.values[li].extend(v);
        let (keys, values) = (&cache.keys[li], &cache.values[li]);
        let t_len = pos + 1;
        let mut x_attn = Vec::with_capacity(c);
        let mut weights = Vec::with_capacity(t_len);
        for h in 0..m.config.n_head {
            let hs = h * hd;
            // attn_logits[t] = sum(q_h[j] * k_h[t][j] for j) / head_dim ** 0.5
            let logits: Vec<Var> = (0..t_len)
                .map(|t| {
                    let terms: Vec<Var> = (0..hd)
                        .map(|j| g.mul(q[hs + j], keys[t * c + hs + j]))
                        .collect();
                    let dot = sum(g, terms);
                    g.div(dot, py_pow(hd as f64, 0.5))
                })
                .collect();
            softmax(g, &logits, &mut weights);
            // head_out[j] = sum(attn_weights[t] * v_h[t][j] for t)
            for j in 0..hd {
                let terms: Vec<Var> = (0..t_len)
                    .map(|t| g.mul(weights[t], values[t * c + hs + j]))
                    .collect();
                x_attn.push(sum(g, terms));
            }
        }
        linear(g, &x_attn, &block.attn_wo, &mut tmp);
        x = tmp
            .iter()
            .zip(&x_residual)
            .map(|(&a, &b)| g.add(a, b))
            .collect();
        let x_residual = x.clone();
        rmsnorm(g, &x, &mut tmp);
        linear(g, &tmp, &block.mlp_fc1, &mut x);
        // `xi.relu() ** 2` in v1, `xi.relu()` in v2: no pow node then.
        for xi in x.iter_mut() {
            let r = g.relu(*xi);
            *xi = match m.config.activation {
                Activation::Relu2 => g.pow(r, 2.0),
                Activation::Relu => r,
            };
        }
        linear(g, &x, &block.mlp_fc2, &mut tmp);
        x = tmp
            .iter()
            .zip(&x_residual)
            .map(|(&a, &b)| g.add(a, b))
            .collect();
    }
    let mut logits = std::mem::take(&mut cache.logits);
    linear(g, &x, &w.lm_head, &mut logits);
    cache.logits = logits;
}

/// The training loss of one sequence, as the reference builds it.
pub(crate) fn loss(m: &Gpt, g: &mut Graph, cache: &mut KvCache, tokens: &[usize]) -> Var {
    let n = tokens.len() - 1;
    cache.losses.clear();
    let mut probs = Vec::with_capacity(m.config.vocab_size);
    for pos in 0..n {
        forward(m, g, cache, tokens[pos], pos);
        cache.len += 1;
        // probs = softmax(logits); loss_t = -probs[target].log(). Only the target's
        // probability is reachable from the loss, so only it is built.
        let max = crate::max_value(cache.logits.iter().map(|&v| g.value(v)));
        probs.clear();
        for &l in &cache.logits {
            let shifted = g.add(l, -max);
            probs.push(g.exp(shifted));
        }
        let total = sum(g, probs.iter().copied());
        let p = g.div(probs[tokens[pos + 1]], total);
        let log_p = g.log(p);
        let loss = g.neg(log_p);
        cache.losses.push(loss);
    }
    // loss = (1 / n) * sum(losses)
    let losses = std::mem::take(&mut cache.losses);
    let total = sum(g, losses.iter().copied());
    cache.losses = losses;
    g.mul(total, 1.0 / n as f64)
}
