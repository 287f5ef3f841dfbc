//! Softmax followed by the negative log-likelihood of one target:
//! `loss = -log(softmax(logits)[target])`.

use crate::arith::Arith;
use crate::fused::{assert_disjoint, max_of};
use crate::graph::{Graph, Span, Var};

/// The loss of one position. Scratch follows the loss slot: `e_o = exp(l_o - max)`
/// for every logit, then their sum.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct CrossEntropy {
    logits: Span,
    target: u32,
    /// The loss slot; the scratch follows it.
    out: u32,
    arith: Arith,
}

impl Graph {
    /// `-log(softmax(logits)[target])`, as the reference computes it: subtract the
    /// maximum (a plain number), exponentiate, sum left to right, multiply the
    /// target's exponential by `total ** -1`, take the log, negate.
    ///
    /// # Panics
    /// If `target` is not an index of `logits`.
    pub fn cross_entropy(&mut self, logits: Span, target: usize, arith: Arith) -> Var {
        let n = logits.len();
        assert!(
            target < n,
            "cross_entropy: target {target} out of {n} logits"
        );
        let all = self.alloc(n + 2);
        let (out, e, total_slot) = (all.start(), all.start() + 1, all.start() + 1 + n);
        let l = logits.start();
        let max = max_of(&self.val[l..l + n]);
        let mut total = 0.0;
        for o in 0..n {
            let eo = (self.val[l + o] - max).exp();
            self.val[e + o] = eo;
            total += eo;
        }
        self.val[total_slot] = total;
        let p = self.val[e + target] * arith.recip(total);
        // -log(p) is `log(p) * -1` in the reference, which is exactly -log(p).
        self.val[out] = -p.ln();
        assert_disjoint("cross_entropy", &[logits, all]);
        let op = CrossEntropy {
            logits,
            target: target as u32,
            out: out as u32,
            arith,
        };
        self.record(crate::op::Op::CrossEntropy(op));
        Var(out as u32)
    }
}

impl CrossEntropy {
    pub(crate) fn backward(&self, val: &[f64], grad: &mut [f64]) {
        let n = self.logits.len();
        let (out, t) = (self.out as usize, self.target as usize);
        let e = &val[out + 1..out + 1 + n];
        let total = val[out + 1 + n];
        let inv = self.arith.recip(total);
        let p = e[t] * inv;

        let g = grad[out];
        // loss = log(p) * -1: d/d(log p) = -1
        let dlog = -g;
        // d(log p)/dp = 1/p
        let dp = 1.0 / p * dlog;
        // p = e_t * total**-1: d/d(e_t) = total**-1, d/d(total**-1) = e_t
        let de_t = inv * dp;
        let dinv = e[t] * dp;
        // d(total**-1)/d(total) = -1 * total**-2
        let dtotal = -self.arith.recip_square(total) * dinv;

        let dl = &mut grad[self.logits.range()];
        for o in 0..n {
            // total = sum_o e_o: d/d(e_o) = 1; the target also feeds p directly.
            let de = if o == t { de_t + dtotal } else { dtotal };
            // e_o = exp(l_o - max): d/d(l_o) = e_o
            dl[o] += e[o] * de;
        }
    }

    pub(crate) fn outputs(&self) -> std::ops::Range<usize> {
        let out = self.out as usize;
        out..out + self.logits.len() + 2
    }

    pub(crate) fn inputs(&self) -> [Option<Span>; 3] {
        [Some(self.logits), None, None]
    }
}
