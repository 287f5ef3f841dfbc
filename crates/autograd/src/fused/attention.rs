//! Multi-head causal self-attention of a block of query rows over the keys and
//! values of every position so far.
//!
//! Shapes: `C = n_embd`, `hd = head_dim = C / n_head`; `q` is `(Tq, C)`, `keys`
//! and `values` are `(Tk, C)`, the output `(Tq, C)`. Query row `r` sits at
//! position `pos0 + r` and attends keys `0 ..= pos0 + r`. Head `h` owns dims
//! `h*hd .. (h+1)*hd` of every row. Training feeds a whole sequence
//! (`pos0 = 0`, `Tq = Tk`); generation feeds one row against a cache.

use crate::arith::Arith;
use crate::arith::py_max;
use crate::float::Float;
use crate::footprint::attention_slots;
use crate::fused::assert_disjoint;
use crate::graph::Graph;
use crate::span::Span;

/// The shape of one attention op: how its rows split into heads, and where its
/// query rows sit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AttentionShape {
    /// The width `C` of every row of `q`, `keys` and `values`: n_embd.
    pub width: usize,
    /// The number of heads `H`; head `h` owns dims `h*hd .. (h+1)*hd`, `hd = C / H`.
    pub n_head: usize,
    /// The position of the first query row: row `r` attends keys `0 ..= pos0 + r`.
    pub pos0: usize,
    /// What every dot product is multiplied by; the reference's
    /// `head_dim ** 0.5 ** -1`. (An `f64`, rounded to the graph's element type.)
    pub scale: f64,
}

/// What [`Graph::attention`] makes: the output rows, and the softmax weights it
/// saved for the backward pass, which are also what one looks at to see where
/// each head attends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttentionOutput {
    /// `(Tq, C)`: each query row's heads, side by side.
    pub out: Span,
    /// `(Tq, H, Tk)`: the softmax weight of each query row and head on each key.
    /// Row `r` uses its first `pos0 + r + 1` entries; the rest hold 0.
    pub att: Span,
}

/// For each row and head: `preatt_t = (q_h . k_t,h) * scale`,
/// `att = softmax(preatt)`, `out_h = sum_t att_t * v_t,h`.
///
/// Saved for the backward pass, each `(Tq, H, Tk)` like `att` unless said:
/// `exps`, the `exp(preatt_t - max)`; `att`, the weights; `sums` `(Tq, H)`, the
/// softmax denominators.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Attention {
    q: Span,
    keys: Span,
    values: Span,
    out: Span,
    exps: Span,
    att: Span,
    sums: Span,
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
    /// Where row `r`, head `h` starts in a `(Tq, H, Tk)` buffer.
    fn at(&self, r: usize, h: usize) -> usize {
        (r * self.n_head + h) * self.t_len
    }

    /// The length of a `(Tq, H, Tk)` buffer.
    fn block(&self) -> usize {
        self.rows * self.n_head * self.t_len
    }

    /// The number of keys row `r` attends.
    fn seen(&self, r: usize) -> usize {
        self.pos0 + r + 1
    }
}

impl<F: Float> Graph<F> {
    /// Attention of the query rows `q` over `keys` and `values`, as `shape` says.
    ///
    /// # Panics
    /// If the shapes disagree, `n_head` does not divide `width`, or a query row
    /// would see past the last key.
    pub fn attention(
        &mut self,
        q: Span,
        keys: Span,
        values: Span,
        shape: AttentionShape,
    ) -> AttentionOutput {
        let AttentionShape {
            width,
            n_head,
            pos0,
            scale,
        } = shape;
        let arith = self.arith;
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
        // One allocation, carved into the output and the saved activations.
        let all = self.alloc(attention_slots(d.rows, d.t_len, width, n_head));
        assert_disjoint("attention", &[q, keys, values, all]);
        let out = all.sub(0, q.len());
        let exps = all.sub(q.len(), d.block());
        let att = all.sub(q.len() + d.block(), d.block());
        let sums = all.sub(q.len() + 2 * d.block(), d.rows * n_head);
        let [qv, kv, vv, ov, ev, wv, sv] = self
            .val
            .get_disjoint_mut([
                q.range(),
                keys.range(),
                values.range(),
                out.range(),
                exps.range(),
                att.range(),
                sums.range(),
            ])
            .unwrap();
        // The loops over a head's dims run `hd` long; for the usual head sizes that
        // length is a constant to the compiler, which then unrolls them.
        let scale_f = F::from_f64(scale);
        crate::simd::dispatch(
            #[inline(always)]
            || {
                let inputs = (&*qv, &*kv, &*vv);
                let outputs = (ov, ev, wv, sv);
                match d.hd {
                    4 => forward_rows::<4, F>(d, scale_f, arith, inputs, outputs),
                    8 => forward_rows::<8, F>(d, scale_f, arith, inputs, outputs),
                    16 => forward_rows::<16, F>(d, scale_f, arith, inputs, outputs),
                    _ => forward_rows::<0, F>(d, scale_f, arith, inputs, outputs),
                }
            },
        );
        let op = Attention {
            q,
            keys,
            values,
            out,
            exps,
            att,
            sums,
            width: width as u32,
            n_head: n_head as u32,
            pos0: pos0 as u32,
            scale,
            arith,
        };
        self.record(crate::op::Op::Attention(op));
        AttentionOutput { out, att }
    }
}

/// The forward pass over every query row, for heads of `HD` dims (`HD = 0`: of
/// `d.hd`, whatever it is): `exps`, `att`, `sums` and the output rows.
#[inline(always)]
#[allow(clippy::type_complexity)]
fn forward_rows<const HD: usize, F: Float>(
    d: Dims,
    scale: F,
    arith: Arith,
    (qv, kv, vv): (&[F], &[F], &[F]),
    (ov, ev, wv, sv): (&mut [F], &mut [F], &mut [F], &mut [F]),
) {
    let hd = if HD == 0 { d.hd } else { HD };
    let n_head = d.n_head;
    // (Tq, H, Tk) logits: each query row's heads against the keys it sees, scaled,
    // less their maximum (a plain number); `exps` holds them until the exp.
    for (r, qr) in qv.chunks_exact(d.c).enumerate() {
        let seen = d.seen(r);
        for h in 0..n_head {
            let hs = h * hd;
            let qh = &qr[hs..hs + hd];
            let e = &mut ev[d.at(r, h)..d.at(r, h) + seen];
            for (et, krow) in e.iter_mut().zip(kv.chunks_exact(d.c)) {
                let mut dot = F::ZERO;
                for (&a, &b) in qh.iter().zip(&krow[hs..hs + hd]) {
                    dot += a * b;
                }
                *et = dot * scale;
            }
            let max = py_max(e.iter().copied());
            e.iter_mut().for_each(|x| *x -= max);
        }
    }
    // Every exponential of the op in one pass, unused entries included (they
    // hold 0, and are never read).
    arith.exp_in_place(ev);
    // (Tq, H, Tk) softmax weights, then the (Tq, C) outputs: the weighted sums
    // of the values, each from 0, key by key.
    for (r, outr) in ov.chunks_exact_mut(d.c).enumerate() {
        let seen = d.seen(r);
        for h in 0..n_head {
            let (hs, at) = (h * hd, d.at(r, h));
            let e = &ev[at..at + seen];
            let w = &mut wv[at..at + seen];
            let mut sum = F::ZERO;
            for &x in e {
                sum += x;
            }
            let inv = arith.recip(sum);
            for (wt, &et) in w.iter_mut().zip(e) {
                *wt = et * inv;
            }
            sv[r * n_head + h] = sum;
            let oh = &mut outr[hs..hs + hd];
            let mut values = vv.chunks_exact(d.c);
            let first = &values.next().expect("a row sees at least one key")[hs..hs + hd];
            for (o, &vj) in oh.iter_mut().zip(first) {
                *o = F::ZERO + w[0] * vj;
            }
            for (&wt, vrow) in w[1..].iter().zip(values) {
                for (o, &vj) in oh.iter_mut().zip(&vrow[hs..hs + hd]) {
                    *o += wt * vj;
                }
            }
        }
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

    pub(crate) fn backward<F: Float>(&self, val: &[F], grad: &mut [F]) {
        let d = self.dims();
        let (q, k, v) = (
            &val[self.q.range()],
            &val[self.keys.range()],
            &val[self.values.range()],
        );
        let (exps, att, sums) = (
            &val[self.exps.range()],
            &val[self.att.range()],
            &val[self.sums.range()],
        );
        // The gradient slots of `att` hold d(loss)/d(att_t) between the two passes
        // over a row's keys below.
        let [dq, dk, dv, dout, datt] = grad
            .get_disjoint_mut([
                self.q.range(),
                self.keys.range(),
                self.values.range(),
                self.out.range(),
                self.att.range(),
            ])
            .unwrap();
        // The loops over a head's dims run `hd` long; for the usual head sizes that
        // length is a constant to the compiler, which then unrolls them.
        crate::simd::dispatch(
            #[inline(always)]
            || {
                let rows = (q, k, v, exps, att, sums);
                let grads = (dq, dk, dv, &*dout, datt);
                match d.hd {
                    4 => self.backward_rows::<4, F>(d, rows, grads),
                    8 => self.backward_rows::<8, F>(d, rows, grads),
                    16 => self.backward_rows::<16, F>(d, rows, grads),
                    _ => self.backward_rows::<0, F>(d, rows, grads),
                }
            },
        );
    }

    /// The backward pass over every row, for heads of `HD` dims (`HD = 0`: of
    /// `d.hd`, whatever it is).
    #[inline(always)]
    #[allow(clippy::type_complexity)]
    fn backward_rows<const HD: usize, F: Float>(
        &self,
        d: Dims,
        (q, k, v, exps, att, sums): (&[F], &[F], &[F], &[F], &[F], &[F]),
        (dq, dk, dv, dout, datt): (&mut [F], &mut [F], &mut [F], &[F], &mut [F]),
    ) {
        let hd = if HD == 0 { d.hd } else { HD };
        let scale = F::from_f64(self.scale);
        // Last row first, as the reference meets the positions.
        for r in (0..d.rows).rev() {
            let seen = d.seen(r);
            for h in 0..d.n_head {
                let (hs, at) = (h * hd, d.at(r, h));
                let e = &exps[at..at + seen];
                let w = &att[at..at + seen];
                let total = sums[r * d.n_head + h];
                let inv = self.arith.recip(total);
                // -1 * total ** -2, the derivative of total ** -1
                let dinv_dtotal = -self.arith.recip_square(total);
                let dout_h = &dout[r * d.c + hs..r * d.c + hs + hd];
                let dw = &mut datt[at..at + seen];

                let mut dtotal = F::ZERO;
                for t in (0..seen).rev() {
                    let row = t * d.c + hs..t * d.c + hs + hd;
                    let (vt, dvt) = (&v[row.clone()], &mut dv[row]);
                    // out_j = sum_t w_t * v_t,j: d/d(w_t) = v_t,j, summed last dim
                    // first; d/d(v_t,j) = w_t
                    let mut dwt = F::ZERO;
                    for ((&vj, dvj), &gj) in vt.iter().zip(dvt.iter_mut()).zip(dout_h).rev() {
                        dwt += vj * gj;
                        *dvj += w[t] * gj;
                    }
                    // w_t = e_t * total**-1: d/d(total**-1) = e_t, then on to total
                    dtotal += dinv_dtotal * (e[t] * dwt);
                    dw[t] = dwt;
                }
                let qh = &q[r * d.c + hs..r * d.c + hs + hd];
                let dqh = &mut dq[r * d.c + hs..r * d.c + hs + hd];
                for t in (0..seen).rev() {
                    let row = t * d.c + hs..t * d.c + hs + hd;
                    let (kt, dkt) = (&k[row.clone()], &mut dk[row]);
                    // d(w_t)/d(e_t) = total**-1, and total = sum_t e_t passes dtotal on.
                    let de = inv * dw[t] + dtotal;
                    // e_t = exp(logit_t - max): d/d(logit_t) = e_t
                    let dlogit = e[t] * de;
                    // logit_t = dot_t * scale: d/d(dot_t) = scale
                    let ddot = scale * dlogit;
                    // dot_t = sum_j q_j * k_t,j: d/d(q_j) = k_t,j, d/d(k_t,j) = q_j
                    for (((dqj, &kj), dkj), &qj) in
                        dqh.iter_mut().zip(kt).zip(dkt.iter_mut()).zip(qh)
                    {
                        *dqj += kj * ddot;
                        *dkj += qj * ddot;
                    }
                }
            }
        }
    }

    /// The output and the saved activations: one allocation, in that order.
    pub(crate) fn outputs(&self) -> std::ops::Range<usize> {
        self.out.start()..self.sums.start() + self.sums.len()
    }

    pub(crate) fn inputs(&self) -> [Option<Span>; 3] {
        [Some(self.q), Some(self.keys), Some(self.values)]
    }
}
