//! Multi-head causal self-attention of a block of query rows over the keys and
//! values of every position so far.
//!
//! Shapes: `C = n_embd`, `hd = head_dim = C / n_head`; `q` is `(Tq, C)`, `keys`
//! and `values` are `(Tk, C)`, the output `(Tq, C)`. Query row `r` sits at
//! position `pos0 + r` and attends keys `0 ..= pos0 + r`. Head `h` owns dims
//! `h*hd .. (h+1)*hd` of every row. Training feeds a whole sequence
//! (`pos0 = 0`, `Tq = Tk`); generation feeds one row against a cache.

use crate::arith::Arith;
use crate::fused::{assert_disjoint, max_of};
use crate::graph::{Graph, Span};

/// For each row and head: `logit_t = (q_h . k_t,h) * scale`, `w = softmax(logit)`,
/// `out_h = sum_t w_t * v_t,h`.
///
/// Scratch follows the output: `e_t` for every row and head (`Tq x H x Tk`), then
/// `w_t` laid out the same, then the softmax sums (`Tq x H`); of each row's `Tk`
/// entries, the first `pos0 + r + 1` are used.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Attention {
    q: Span,
    keys: Span,
    values: Span,
    /// The output, then the scratch.
    out: Span,
    width: u32,
    n_head: u32,
    pos0: u32,
    scale: f64,
    arith: Arith,
}

/// The sizes of one attention op.
#[derive(Clone, Copy)]
struct Dims {
    /// C.
    c: usize,
    /// Tq.
    rows: usize,
    /// Tk.
    t_len: usize,
    n_head: usize,
    /// hd.
    hd: usize,
    pos0: usize,
}

impl Dims {
    /// Where the `e` of row `r`, head `h` starts in the scratch; its `w` is
    /// [`Dims::block`] later.
    fn at(&self, r: usize, h: usize) -> usize {
        (r * self.n_head + h) * self.t_len
    }

    /// The size of the `e` block, and of the `w` block: `Tq x H x Tk`.
    fn block(&self) -> usize {
        self.rows * self.n_head * self.t_len
    }

    /// Where the softmax sum of row `r`, head `h` is in the scratch.
    fn total(&self, r: usize, h: usize) -> usize {
        2 * self.block() + r * self.n_head + h
    }

    /// The scratch of all rows and heads.
    fn scratch_len(&self) -> usize {
        2 * self.block() + self.rows * self.n_head
    }

    /// The number of keys row `r` attends.
    fn seen(&self, r: usize) -> usize {
        self.pos0 + r + 1
    }
}

impl Graph {
    /// Attention of the query rows `q` over `keys` and `values`, all rows of
    /// `width`, with `n_head` heads. The first query row is at position `pos0`.
    /// `scale` multiplies every dot product; the reference uses
    /// `head_dim ** 0.5 ** -1`.
    ///
    /// # Panics
    /// If the shapes disagree, `n_head` does not divide `width`, or a query row
    /// would see past the last key.
    #[allow(clippy::too_many_arguments)]
    pub fn attention(
        &mut self,
        q: Span,
        keys: Span,
        values: Span,
        width: usize,
        n_head: usize,
        pos0: usize,
        scale: f64,
        arith: Arith,
    ) -> Span {
        assert!(
            n_head > 0 && width.is_multiple_of(n_head),
            "attention: {n_head} heads do not divide {width}"
        );
        assert!(
            !q.is_empty() && q.len().is_multiple_of(width),
            "attention: q is not whole rows of {width}"
        );
        assert!(
            keys.len() == values.len() && keys.len().is_multiple_of(width),
            "attention: keys and values must be rows of {width}"
        );
        let d = Dims {
            c: width,
            rows: q.len() / width,
            t_len: keys.len() / width,
            n_head,
            hd: width / n_head,
            pos0,
        };
        assert!(
            d.seen(d.rows - 1) <= d.t_len,
            "attention: query at position {} past {} keys",
            pos0 + d.rows - 1,
            d.t_len
        );
        let all = self.alloc(q.len() + d.scratch_len());
        assert_disjoint("attention", &[q, keys, values, all]);
        let [qv, kv, vv, av] = self
            .val
            .get_disjoint_mut([q.range(), keys.range(), values.range(), all.range()])
            .unwrap();
        let (out, scratch) = av.split_at_mut(q.len());
        let (e_all, rest) = scratch.split_at_mut(d.block());
        let (w_all, totals) = rest.split_at_mut(d.block());
        // (Tq, H, Tk) logits: each query row's heads against the keys it sees, scaled,
        // less their maximum (a plain number); e holds them until the exp.
        for (r, qr) in qv.chunks_exact(d.c).enumerate() {
            let seen = d.seen(r);
            for h in 0..n_head {
                let hs = h * d.hd;
                let qh = &qr[hs..hs + d.hd];
                let e = &mut e_all[d.at(r, h)..d.at(r, h) + seen];
                for (et, krow) in e.iter_mut().zip(kv.chunks_exact(d.c)) {
                    let mut dot = 0.0;
                    for (a, b) in qh.iter().zip(&krow[hs..hs + d.hd]) {
                        dot += a * b;
                    }
                    *et = dot * scale;
                }
                let max = max_of(e);
                e.iter_mut().for_each(|x| *x -= max);
            }
        }
        // Every exponential of the op in one pass, unused entries included (they
        // hold 0, and are never read).
        arith.exp_in_place(e_all);
        // (Tq, H, Tk) softmax weights, then the (Tq, C) outputs: the weighted sums
        // of the values, each from 0, key by key.
        for (r, outr) in out.chunks_exact_mut(d.c).enumerate() {
            let seen = d.seen(r);
            for h in 0..n_head {
                let (hs, at) = (h * d.hd, d.at(r, h));
                let e = &e_all[at..at + seen];
                let w = &mut w_all[at..at + seen];
                let mut sum = 0.0;
                for &x in e {
                    sum += x;
                }
                let inv = arith.recip(sum);
                for (wt, &et) in w.iter_mut().zip(e) {
                    *wt = et * inv;
                }
                totals[r * n_head + h] = sum;
                let oh = &mut outr[hs..hs + d.hd];
                let mut values = vv.chunks_exact(d.c);
                let first = &values.next().expect("a row sees at least one key")[hs..hs + d.hd];
                for (o, &vj) in oh.iter_mut().zip(first) {
                    *o = 0.0 + w[0] * vj;
                }
                for (&wt, vrow) in w[1..].iter().zip(values) {
                    for (o, &vj) in oh.iter_mut().zip(&vrow[hs..hs + d.hd]) {
                        *o += wt * vj;
                    }
                }
            }
        }
        let op = Attention {
            q,
            keys,
            values,
            out: all,
            width: width as u32,
            n_head: n_head as u32,
            pos0: pos0 as u32,
            scale,
            arith,
        };
        self.record(crate::op::Op::Attention(op));
        all.sub(0, q.len())
    }
}

impl Attention {
    fn dims(&self) -> Dims {
        let c = self.width as usize;
        let n_head = self.n_head as usize;
        Dims {
            c,
            rows: self.q.len() / c,
            t_len: self.keys.len() / c,
            n_head,
            hd: c / n_head,
            pos0: self.pos0 as usize,
        }
    }

    pub(crate) fn backward(&self, val: &[f64], grad: &mut [f64]) {
        let d = self.dims();
        let (q, k, v) = (
            &val[self.q.range()],
            &val[self.keys.range()],
            &val[self.values.range()],
        );
        let scratch = &val[self.out.start() + self.q.len()..self.out.start() + self.out.len()];
        let [dq, dk, dv, dall] = grad
            .get_disjoint_mut([
                self.q.range(),
                self.keys.range(),
                self.values.range(),
                self.out.range(),
            ])
            .unwrap();
        let (dout, dscratch) = dall.split_at_mut(self.q.len());
        // Last row first, as the reference meets the positions.
        for r in (0..d.rows).rev() {
            let seen = d.seen(r);
            for h in 0..d.n_head {
                let (hs, at) = (h * d.hd, d.at(r, h));
                let e = &scratch[at..at + seen];
                let w = &scratch[d.block() + at..d.block() + at + seen];
                let total = scratch[d.total(r, h)];
                let inv = self.arith.recip(total);
                // -1 * total ** -2, the derivative of total ** -1
                let dinv_dtotal = -self.arith.recip_square(total);
                let dout_h = &dout[r * d.c + hs..r * d.c + hs + d.hd];
                // The gradient slots of w_t hold d(loss)/d(w_t) between the passes.
                let dw = &mut dscratch[d.block() + at..d.block() + at + seen];

                let mut dtotal = 0.0;
                for t in (0..seen).rev() {
                    let row = t * d.c + hs;
                    // out_j = sum_t w_t * v_t,j: d/d(w_t) = v_t,j, summed last dim
                    // first; d/d(v_t,j) = w_t
                    let mut dwt = 0.0;
                    for j in (0..d.hd).rev() {
                        dwt += v[row + j] * dout_h[j];
                        dv[row + j] += w[t] * dout_h[j];
                    }
                    // w_t = e_t * total**-1: d/d(total**-1) = e_t, then on to total
                    dtotal += dinv_dtotal * (e[t] * dwt);
                    dw[t] = dwt;
                }
                let qh = &q[r * d.c + hs..r * d.c + hs + d.hd];
                let dqh = &mut dq[r * d.c + hs..r * d.c + hs + d.hd];
                for t in (0..seen).rev() {
                    let row = t * d.c + hs;
                    // d(w_t)/d(e_t) = total**-1, and total = sum_t e_t passes dtotal on.
                    let de = inv * dw[t] + dtotal;
                    // e_t = exp(logit_t - max): d/d(logit_t) = e_t
                    let dlogit = e[t] * de;
                    // logit_t = dot_t * scale: d/d(dot_t) = scale
                    let ddot = self.scale * dlogit;
                    // dot_t = sum_j q_j * k_t,j: d/d(q_j) = k_t,j, d/d(k_t,j) = q_j
                    for j in 0..d.hd {
                        dqh[j] += k[row + j] * ddot;
                        dk[row + j] += qh[j] * ddot;
                    }
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
