//! The softmax of plain numbers, as the reference computes it: for sampling, and
//! for looking at what the model predicts.

use autograd::{Arith, py_max};

/// `softmax(logits / temperature)` into `probs`, as the reference computes it: each
/// logit times `temperature ** -1`, the maximum subtracted, `exp`, a left-to-right
/// sum, and each exponential times `total ** -1`. `arith` says how the two
/// powers round (see [`Arith`]).
///
/// # Panics
/// If `logits` is empty or `probs` is shorter than it.
pub fn softmax(logits: &[f64], temperature: f64, arith: Arith, probs: &mut [f64]) {
    let probs = &mut probs[..logits.len()];
    let inv_t = arith.recip(temperature);
    for (p, &l) in probs.iter_mut().zip(logits) {
        *p = l * inv_t;
    }
    let max = py_max(probs.iter().copied());
    let mut total = 0.0;
    for p in probs.iter_mut() {
        *p = (*p - max).exp();
        total += *p;
    }
    let inv_total = arith.recip(total);
    for p in probs.iter_mut() {
        *p *= inv_total;
    }
}
