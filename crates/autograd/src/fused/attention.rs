//! Multi-head causal self-attention of one position over the cached positions.
//!
//! Shapes: `C = n_embd`, `T` = positions cached so far (this one included),
//! `hd = head_dim = C / n_head`. Head `h` owns dims `h*hd .. (h+1)*hd` of q, of every
//! cached key and value, and of the output.

use crate::arith::Arith;
use crate::fused::{assert_disjoint, max_of};
use crate::graph::{Graph, Span};

/// For each head: `logit_t = (q_h . k_t,h) * scale`, `w = softmax(logit)`,
/// `out_h = sum_t w_t * v_t,h`.
///
/// Scratch follows the output, per head: `e_t` (T), `w_t` (T) and the softmax sum.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Attention {
    q: Span,
    keys: Span,
    values: Span,
    out: Span,
    n_head: u32,
    scale: f64,
    arith: Arith,
}

impl Graph {
    /// Attention of query `q` (C) over `keys` and `values`, each `T` rows of C laid
    /// end to end (a key/value cache), with `n_head` heads. `scale` multiplies every
    /// dot product; the reference uses `head_dim ** 0.5 ** -1`.
    ///
    /// # Panics
    /// If the shapes disagree, `n_head` does not divide C, or there is no key.
    pub fn attention(
        &mut self,
        q: Span,
        keys: Span,
        values: Span,
        n_head: usize,
        scale: f64,
        arith: Arith,
    ) -> Span {
        let c = q.len();
        assert!(
            n_head > 0 && c.is_multiple_of(n_head),
            "attention: {n_head} heads do not divide {c}"
        );
        assert!(
            keys.len() == values.len() && keys.len().is_multiple_of(c) && !keys.is_empty(),
            "attention: keys and values must be T rows of {c}"
        );
        let t_len = keys.len() / c;
        let hd = c / n_head;
        let per_head = 2 * t_len + 1;
        let all = self.alloc(c + n_head * per_head);
        let out = all.sub(0, c);
        assert_disjoint("attention", &[q, keys, values, all]);

        let val = &mut self.val;
        for h in 0..n_head {
            let hs = h * hd;
            let s = out.start() + c + h * per_head; // e_t at s.., w_t at s+T.., total at s+2T
            // (T,) logits: the dot product of q_h with each cached key, scaled.
            for t in 0..t_len {
                let k = keys.start() + t * c + hs;
                let mut dot = 0.0;
                for j in 0..hd {
                    dot += val[q.start() + hs + j] * val[k + j];
                }
                val[s + t] = dot * scale; // holds the logit until the exp below
            }
            // (T,) softmax, the maximum subtracted as a plain number.
            let max = max_of(&val[s..s + t_len]);
            let mut total = 0.0;
            for t in 0..t_len {
                let e = (val[s + t] - max).exp();
                val[s + t] = e;
                total += e;
            }
            let inv = arith.recip(total);
            for t in 0..t_len {
                val[s + t_len + t] = val[s + t] * inv;
            }
            val[s + 2 * t_len] = total;
            // (hd,) output: the weighted sum of the cached values.
            for j in 0..hd {
                let mut acc = 0.0;
                for t in 0..t_len {
                    acc += val[s + t_len + t] * val[values.start() + t * c + hs + j];
                }
                val[out.start() + hs + j] = acc;
            }
        }
        let op = Attention {
            q,
            keys,
            values,
            out: all,
            n_head: n_head as u32,
            scale,
            arith,
        };
        self.record(crate::op::Op::Attention(op));
        out
    }
}

impl Attention {
    pub(crate) fn backward(&self, val: &[f64], grad: &mut [f64]) {
        let c = self.q.len();
        let t_len = self.keys.len() / c;
        let n_head = self.n_head as usize;
        let hd = c / n_head;
        let per_head = 2 * t_len + 1;
        let (q, k, v) = (
            &val[self.q.range()],
            &val[self.keys.range()],
            &val[self.values.range()],
        );
        let [dq, dk, dv, dall] = grad
            .get_disjoint_mut([
                self.q.range(),
                self.keys.range(),
                self.values.range(),
                self.out.range(),
            ])
            .unwrap();
        let (dout, dscratch) = dall.split_at_mut(c);

        for h in 0..n_head {
            let hs = h * hd;
            let s = self.out.start() + c + h * per_head;
            let e = &val[s..s + t_len];
            let w = &val[s + t_len..s + 2 * t_len];
            let total = val[s + 2 * t_len];
            let inv = self.arith.recip(total);
            // -1 * total ** -2, the derivative of total ** -1
            let dinv_dtotal = -self.arith.recip_square(total);

            let mut dtotal = 0.0;
            for t in (0..t_len).rev() {
                let row = t * c + hs;
                // out_j = sum_t w_t * v_t,j: d/d(w_t) = v_t,j, summed last dim first;
                // d/d(v_t,j) = w_t
                let mut dwt = 0.0;
                for j in (0..hd).rev() {
                    dwt += v[row + j] * dout[hs + j];
                    dv[row + j] += w[t] * dout[hs + j];
                }
                // w_t = e_t * total**-1: d/d(total**-1) = e_t, then on to total
                dtotal += dinv_dtotal * (e[t] * dwt);
                // The gradient slot of w_t holds d(loss)/d(w_t) for the pass below.
                dscratch[h * per_head + t_len + t] = dwt;
            }
            for t in (0..t_len).rev() {
                let row = t * c + hs;
                let dwt = dscratch[h * per_head + t_len + t];
                // d(w_t)/d(e_t) = total**-1, and total = sum_t e_t passes dtotal on.
                let de = inv * dwt + dtotal;
                // e_t = exp(logit_t - max): d/d(logit_t) = e_t
                let dlogit = e[t] * de;
                // logit_t = dot_t * scale: d/d(dot_t) = scale
                let ddot = self.scale * dlogit;
                // dot_t = sum_j q_j * k_t,j: d/d(q_j) = k_t,j, d/d(k_t,j) = q_j
                for j in 0..hd {
                    dq[hs + j] += k[row + j] * ddot;
                    dk[row + j] += q[hs + j] * ddot;
                }
            }
        }
    }

    pub(crate) fn outputs(&self) -> std::ops::Range<usize> {
        self.out.range()
    }

    pub(crate) fn inputs(&self) -> [Option<Span>; 3] {
        [Some(self.q), Some(self.keys), Some(self.values)]
    }
}
