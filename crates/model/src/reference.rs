//! The forward pass of the reference program, node for node: every Python `Value`
//! becomes one scalar node, with the same inputs in the same order.
//!
//! Building the very graph the reference builds is what makes [`Graph::backward_depth_first`]
//! visit nodes in its order, so that every gradient receives its terms in the same
//! order and rounds the same way. The functions mirror the reference's helpers;
//! `sum` is Python's `sum`, which starts from the integer 0.

use autograd::{Float, Footprint, Graph, Var, py_pow};
use params::ModelConfig;
use params::{Activation, Tensor};

use crate::cache::KvCache;
use crate::weights::Weights;

/// Python's `sum(terms)`: `0 + t0` (a node `t0 + 0`), then `+ t1`, `+ t2`, ...
pub(crate) fn sum<F: Float>(g: &mut Graph<F>, terms: impl IntoIterator<Item = Var>) -> Var {
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
fn linear<F: Float>(g: &mut Graph<F>, x: &[Var], w: &Tensor, out: &mut Vec<Var>) {
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
fn softmax<F: Float>(g: &mut Graph<F>, logits: &[Var], out: &mut Vec<Var>) {
    let max = autograd::py_max(logits.iter().map(|&v| g.value(v)));
    out.clear();
    for &v in logits {
        let shifted = g.add(v, -max.to_f64()); // v - max is v + (-max)
        out.push(g.exp(shifted));
    }
    let total = sum(g, out.iter().copied());
    for e in out.iter_mut() {
        *e = g.div(*e, total);
    }
}

/// `rmsnorm(x)`: `x_i * (sum(x_i * x_i) / n + 1e-5) ** -0.5`.
fn rmsnorm<F: Float>(g: &mut Graph<F>, x: &[Var], out: &mut Vec<Var>) {
    let squares: Vec<Var> = x.iter().map(|&xi| g.mul(xi, xi)).collect();
    let total = sum(g, squares);
    let ms = g.div(total, x.len() as f64);
    let ms_eps = g.add(ms, autograd::RMSNORM_EPS);
    let scale = g.pow(ms_eps, -0.5);
    out.clear();
    out.extend(x.iter().map(|&xi| g.mul(xi, scale)));
}

/// `gpt(token_id, pos_id, keys, values)` at the next position of `cache`, which
/// it extends: writes the logits' nodes into `logits`.
pub(crate) fn forward<F: Float>(
    w: &Weights,
    g: &mut Graph<F>,
    cache: &mut KvCache,
    token: usize,
    logits: &mut Vec<Var>,
) {
    let (c, hd) = (w.config.n_embd, w.config.head_dim());
    let pos = cache.len;
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
        let (keys, values) = cache.nodes(li);
        keys.extend(k);
        values.extend(v);
        let (keys, values) = (&*keys, &*values);
        let t_len = pos + 1;
        let mut x_attn = Vec::with_capacity(c);
        let mut weights = Vec::with_capacity(t_len);
        for h in 0..w.config.n_head {
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
            *xi = match w.config.activation {
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
    linear(g, &x, &w.lm_head, logits);
    cache.len += 1;
}

/// The training loss of predicting each of `targets` from the `inputs` up to its
/// own, as the reference builds it, on a started `cache`.
pub(crate) fn loss<F: Float>(
    w: &Weights,
    g: &mut Graph<F>,
    cache: &mut KvCache,
    inputs: &[usize],
    targets: &[usize],
) -> Var {
    let n = inputs.len();
    let mut losses = Vec::with_capacity(n);
    let (mut logits, mut probs) = (Vec::new(), Vec::new());
    for (&token, &target) in inputs.iter().zip(targets) {
        forward(w, g, cache, token, &mut logits);
        // probs = softmax(logits); loss_t = -probs[target].log(). Only the target's
        // probability is reachable from the loss, so the depth-first pass visits no
        // other.
        softmax(g, &logits, &mut probs);
        let log_p = g.log(probs[target]);
        losses.push(g.neg(log_p));
    }
    // loss = (1 / n) * sum(losses)
    let total = sum(g, losses);
    g.mul(total, 1.0 / n as f64)
}

/// The nodes one training step over a full `block_size` sequence builds, counted
/// as [`forward`] and [`loss`] make them (every node is an op: the constants are
/// folded into `AddConst` and `MulConst`).
pub(crate) fn step_footprint(config: &ModelConfig) -> Footprint {
    let [c, v, l, h, hd] = [
        config.n_embd,
        config.vocab_size,
        config.n_layer,
        config.n_head,
        config.head_dim(),
    ]
    .map(|x| x as u128);
    // rmsnorm: C squares, a sum of C (C nodes), / n, + eps, ** -0.5, C products.
    let rmsnorm = 3 * c + 3;
    // linear: a product and a sum node per multiply-add.
    let linear = |nout: u128, nin: u128| 2 * nout * nin;
    // The activation: relu, and in v1 its ** 2.
    let act = match config.activation {
        Activation::Relu2 => 2 * 4 * c,
        Activation::Relu => 4 * c,
    };
    let position = |t_len: u128| {
        // Per head and key: the dot product (hd products, a sum of hd), / sqrt(hd);
        // the softmax (- max, exp, a sum node, / total as ** -1 and a product);
        // the weighted values (hd products and hd sum nodes).
        let heads = h * t_len * (2 * hd + 1 + 5 + 2 * hd);
        let block = rmsnorm
            + 3 * linear(c, c)
            + heads
            + linear(c, c)
            + c // residual
            + rmsnorm
            + linear(4 * c, c)
            + act
            + linear(c, 4 * c)
            + c; // residual
        // wte + wpe, rmsnorm, the blocks, lm_head, then the softmax of the logits
        // (5 per logit as above), log and negation.
        c + rmsnorm + l * block + linear(v, c) + 5 * v + 2
    };
    let t = config.block_size as u128;
    let nodes: u128 = (1..=t).map(position).sum::<u128>() + t + 1; // the mean of t losses
    Footprint::scalars(nodes)
}
