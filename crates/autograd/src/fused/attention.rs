//! Multi-head causal self-attention of a block of query rows over the keys and
//! values of every position so far.
//!
//! Shapes: `C = n_embd`, `hd = head_dim = C / n_head`; `q` is `(Tq, C)`, `keys`
//! and `values` are `(Tk, C)`, the output `(Tq, C)`. Query row `r` sits at
//! position `pos0 + r` and attends keys `0 ..= pos0 + r`. Head `h` owns dims
//! `h*hd .. (h+1)*hd` of every row. Training feeds a whole sequence
//! (`pos0 = 0`, `Tq = Tk`); generation feeds one row against a cache. A batch
//! ([`Graph::attention_batch`]) is several documents' rows one after the other,
//! each over its own block of keys: each document is one op of the above, and the
//! documents are the parts the op's threads share out.

use crate::arith::Arith;
use crate::arith::py_max;
use crate::float::Float;
use crate::fused::assert_disjoint;
use crate::graph::Graph;
use crate::parallel::Threads;
use crate::span::Span;

mod heads;

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
    /// Row `r` uses its first `pos0 + r + 1` entries; the rest hold 0. For a
    /// batch, each document's such block in turn.
    pub att: Span,
}

/// For each row and head: `preatt_t = (q_h . k_t,h) * scale`,
/// `att = softmax(preatt)`, `out_h = sum_t att_t * v_t,h`.
///
/// The rows may be several documents ([`Graph::attention_batch`]), each
/// attending only to its own block of keys. Saved for the backward pass, per
/// document `(Tq, H, Tk)` like `att` unless said: `exps`, the
/// `exp(preatt_t - max)`; `att`, the weights; `sums` `(Tq, H)`, the softmax
/// denominators. The documents' boundaries are `indices[docs ..]`: see [`Docs`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Attention {
    q: Span,
    keys: Span,
    values: Span,
    out: Span,
    exps: Span,
    att: Span,
    sums: Span,
    /// Where the documents' table starts in the graph's indices.
    docs: u32,
    /// The position of every document's first query row.
    pos0: u32,
    /// The number of documents.
    n_docs: u32,
    width: u32,
    n_head: u32,
    scale: f64,
    arith: Arith,
}

/// The documents of one attention op, as a table of boundaries: for each
/// document `d` and one past the last, its first query row, its first key row
/// and where its block starts in `exps` and `att`, three `u32`s each.
#[derive(Clone, Copy)]
struct Docs<'a>(&'a [u32]);

impl Docs<'_> {
    /// The number of documents.
    fn len(&self) -> usize {
        self.0.len() / 3 - 1
    }

    /// Document `d`'s first query row, first key row and block offset.
    fn start(&self, d: usize) -> [usize; 3] {
        let b = &self.0[3 * d..3 * d + 3];
        [b[0] as usize, b[1] as usize, b[2] as usize]
    }

    /// Document `d`'s sizes, C, H and the first query's position being the op's.
    fn dims(&self, d: usize, c: usize, n_head: usize, pos0: usize) -> Dims {
        let ([q0, k0, _], [q1, k1, _]) = (self.start(d), self.start(d + 1));
        Dims {
            c,
            rows: q1 - q0,
            t_len: k1 - k0,
            n_head,
            hd: c / n_head,
            pos0,
        }
    }
}

/// The sizes of one document of an attention op.
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
    /// Attention of the query rows `q` over `keys` and `values`, as `shape` says:
    /// one document, whose keys may run past the last position it sees.
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
        let (rows, t_len) = (
            q.len() / shape.width.max(1),
            keys.len() / shape.width.max(1),
        );
        self.attend(q, keys, values, shape, &[rows], |_| t_len)
    }

    /// Attention of several documents at once, each over its own keys: the query
    /// rows of `q` are `rows[0]` rows of the first document, then `rows[1]` of the
    /// second, ...; each document's first query row sits at position `shape.pos0`,
    /// and its keys and values are its own block of `pos0 + rows[d]` rows, the
    /// blocks one after the other in `keys` and `values`. (Training feeds whole
    /// documents, `pos0 = 0`: each document's block is its own rows.) Each
    /// document's `att` is a `(rows[d], H, pos0 + rows[d])` block, in turn.
    ///
    /// # Panics
    /// If the shapes disagree, `n_head` does not divide `width`, or a document
    /// has no row.
    pub fn attention_batch(
        &mut self,
        q: Span,
        keys: Span,
        values: Span,
        shape: AttentionShape,
        rows: &[usize],
    ) -> AttentionOutput {
        self.attend(q, keys, values, shape, rows, |r| shape.pos0 + r)
    }

    /// The documents of `rows` query rows each, document `d` over a block of
    /// `key_rows(rows[d])` keys.
    fn attend(
        &mut self,
        q: Span,
        keys: Span,
        values: Span,
        shape: AttentionShape,
        rows: &[usize],
        key_rows: impl Fn(usize) -> usize,
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
        assert!(
            rows.iter().all(|&r| r > 0) && rows.iter().sum::<usize>() * width == q.len(),
            "attention: the documents' rows {rows:?} are not the {} rows of q",
            q.len() / width
        );
        // The documents' table of boundaries, and the total sizes.
        let table = self.indices.len();
        let (mut q0, mut k0, mut b0, mut work) = (0, 0, 0, 0);
        for (d, &r) in rows.iter().enumerate() {
            self.push_indices(&[q0, k0, b0]);
            let t_len = key_rows(r);
            assert!(
                pos0 + r <= t_len,
                "attention: query at position {} past {t_len} keys (document {d})",
                pos0 + r - 1
            );
            (q0, k0, b0) = (q0 + r, k0 + t_len, b0 + r * n_head * t_len);
            work += cost(r, t_len, width, n_head);
        }
        self.push_indices(&[q0, k0, b0]);
        assert!(
            k0 * width == keys.len(),
            "attention: the documents' blocks hold {k0} keys, not {}",
            keys.len() / width
        );
        // One allocation, carved into the output and the saved activations.
        let all = self.alloc(q.len() + 2 * b0 + q0 * n_head);
        assert_disjoint("attention", &[q, keys, values, all]);
        let out = all.sub(0, q.len());
        let exps = all.sub(q.len(), b0);
        let att = all.sub(q.len() + b0, b0);
        let sums = all.sub(q.len() + 2 * b0, q0 * n_head);
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
        let (qv, kv, vv) = (&*qv, &*kv, &*vv);
        let docs = Docs(&self.indices[table..]);
        let at = |d: usize| {
            let [q0, _, b0] = docs.start(d);
            [q0 * width, b0, b0, q0 * n_head]
        };
        let scale_f = F::from_f64(scale);
        // Each document apart: the parts of the outputs are its own.
        self.threads
            .split(docs.len(), work, at, [ov, ev, wv, sv], |range, parts| {
                crate::simd::dispatch(
                    #[inline(always)]
                    || {
                        let [mut ov, mut ev, mut wv, mut sv] = parts;
                        for doc in range {
                            let d = docs.dims(doc, width, n_head, pos0);
                            let [q0, k0, _] = docs.start(doc);
                            let (o, rest) = ov.split_at_mut(d.rows * d.c);
                            let (e, erest) = ev.split_at_mut(d.block());
                            let (w, wrest) = wv.split_at_mut(d.block());
                            let (s, srest) = sv.split_at_mut(d.rows * n_head);
                            (ov, ev, wv, sv) = (rest, erest, wrest, srest);
                            let q = &qv[q0 * d.c..(q0 + d.rows) * d.c];
                            let k = &kv[k0 * d.c..(k0 + d.t_len) * d.c];
                            let v = &vv[k0 * d.c..(k0 + d.t_len) * d.c];
                            let (inputs, outputs) = ((q, k, v), (o, e, w, s));
                            // The loops over a head's dims run `hd` long; for the
                            // usual head sizes that length is a constant to the
                            // compiler, which then unrolls them. Heads of 4 or 8
                            // dims go 16 dims at a time (`heads.rs`).
                            let grouped = |g: usize| n_head.is_multiple_of(g);
                            match d.hd {
                                4 if grouped(4) => heads::forward_doc::<4, 4, 16, F>(
                                    &d, scale_f, arith, inputs, outputs,
                                ),
                                8 if grouped(2) => heads::forward_doc::<8, 2, 16, F>(
                                    &d, scale_f, arith, inputs, outputs,
                                ),
                                4 => forward_doc::<4, F>(&d, scale_f, arith, inputs, outputs),
                                8 => forward_doc::<8, F>(&d, scale_f, arith, inputs, outputs),
                                16 => forward_doc::<16, F>(&d, scale_f, arith, inputs, outputs),
                                _ => forward_doc::<0, F>(&d, scale_f, arith, inputs, outputs),
                            }
                        }
                    },
                );
            });
        let op = Attention {
            q,
            keys,
            values,
            out,
            exps,
            att,
            sums,
            docs: u32::try_from(table).expect("at most u32::MAX indices"),
            n_docs: rows.len() as u32,
            pos0: pos0 as u32,
            width: width as u32,
            n_head: n_head as u32,
            scale,
            arith,
        };
        self.record(crate::op::Op::Attention(op));
        AttentionOutput { out, att }
    }
}

/// The work of one document's attention, in multiply-adds, for the threads'
/// threshold: two products of width `C` per row and key, and an exponential
/// (counted as 16) per row, key and head.
fn cost(rows: usize, t_len: usize, width: usize, n_head: usize) -> usize {
    rows * t_len * (2 * width + 16 * n_head)
}

/// One document's attention: its query rows `q` over its keys `k` and values
/// `v`, into its outputs and saved activations, for heads of `HD` dims (`HD = 0`:
/// of `d.hd`, whatever it is).
#[inline(always)]
fn forward_doc<const HD: usize, F: Float>(
    d: &Dims,
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
            less_max(e);
        }
    }
    exps(arith, ev);
    // (Tq, H, Tk) softmax weights, then the (Tq, C) outputs: the weighted sums
    // of the values, each from 0, key by key.
    for (r, outr) in ov.chunks_exact_mut(d.c).enumerate() {
        let seen = d.seen(r);
        for h in 0..n_head {
            let (hs, at) = (h * hd, d.at(r, h));
            let w = &mut wv[at..at + seen];
            sv[r * n_head + h] = weights(arith, &ev[at..at + seen], w);
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

/// Each logit of a row less the row's largest (a plain number, as Python's
/// `max` picks it).
#[inline(always)]
fn less_max<F: Float>(e: &mut [F]) {
    let max = py_max(e.iter().copied());
    e.iter_mut().for_each(|x| *x -= max);
}

/// Every exponential of an op's `(Tq, H, Tk)` logits in one pass, unused
/// entries included (they hold 0, and are never read), then the floor below.
#[inline(always)]
fn exps<F: Float>(arith: Arith, e: &mut [F]) {
    arith.exp_in_place(e);
    floor_tiny_exps(arith, e);
}

/// A row's softmax weights `w` from its numerators `e`: `w_t = e_t *
/// total**-1`, where `total`, which it returns, is their sum from 0 in order.
#[inline(always)]
fn weights<F: Float>(arith: Arith, e: &[F], w: &mut [F]) -> F {
    let mut total = F::ZERO;
    for &x in e {
        total += x;
    }
    let inv = arith.recip(total);
    for (wt, &et) in w.iter_mut().zip(e) {
        *wt = et * inv;
    }
    total
}

/// Sets to 0, in the fast arithmetic, every softmax numerator below
/// [`Float::SOFTMAX_FLOOR`] (f32's only: f64 has none). Such a key's weight is
/// under 2^-64, some 2^-40 of the least an f32 output can tell, so it moves an
/// output by nothing it can hold. But products of such weights with small
/// gradients, in both passes, fall into the subnormal numbers, on which x86
/// computes in microcode: the default run in f32 over 100,000 steps took 13.0 µs
/// a step, and 9.35 with this floor (9.43 with the CPU itself set to flush
/// subnormals to zero). The exact arithmetic, Python's, keeps every value.
#[inline(always)]
fn floor_tiny_exps<F: Float>(arith: Arith, e: &mut [F]) {
    if arith == Arith::Fast && F::SOFTMAX_FLOOR > F::ZERO {
        for x in e.iter_mut() {
            if *x < F::SOFTMAX_FLOOR {
                *x = F::ZERO;
            }
        }
    }
}

impl Attention {
    pub(crate) fn backward<F: Float>(
        &self,
        val: &[F],
        grad: &mut [F],
        indices: &[u32],
        threads: &Threads,
    ) {
        let (c, n_head) = (self.width as usize, self.n_head as usize);
        let docs = Docs(&indices[self.docs as usize..][..3 * (self.n_docs as usize + 1)]);
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
        let dout = &*dout;
        let at = |d: usize| {
            let [q0, k0, b0] = docs.start(d);
            [q0 * c, k0 * c, k0 * c, b0]
        };
        let work = (0..docs.len())
            .map(|d| {
                let d = docs.dims(d, c, n_head, self.pos0 as usize);
                cost(d.rows, d.t_len, c, n_head)
            })
            .sum();
        // Each document apart: its rows' gradients, and its keys' and values', are
        // its own. The last document first, as the reference would meet them.
        threads.split(docs.len(), work, at, [dq, dk, dv, datt], |range, parts| {
            crate::simd::dispatch(
                #[inline(always)]
                || {
                    let [dq, dk, dv, datt] = parts;
                    let base = docs.start(range.start);
                    for doc in range.rev() {
                        let d = docs.dims(doc, c, n_head, self.pos0 as usize);
                        let [q0, k0, b0] = docs.start(doc);
                        let (qr, kr, br) = (q0 - base[0], k0 - base[1], b0 - base[2]);
                        let rows = q0 * c..(q0 + d.rows) * c;
                        let keys = k0 * c..(k0 + d.t_len) * c;
                        let block = b0..b0 + d.block();
                        let sums = &sums[q0 * n_head..(q0 + d.rows) * n_head];
                        let saved = (&q[rows.clone()], &k[keys.clone()], &v[keys]);
                        let acts = (&exps[block.clone()], &att[block], sums, &dout[rows]);
                        let grads = (
                            &mut dq[qr * c..(qr + d.rows) * c],
                            &mut dk[kr * c..(kr + d.t_len) * c],
                            &mut dv[kr * c..(kr + d.t_len) * c],
                            &mut datt[br..br + d.block()],
                        );
                        // The loops over a head's dims run `hd` long; for the
                        // usual head sizes that length is a constant to the
                        // compiler, which then unrolls them. Heads of 4 or 8
                        // dims go 16 dims at a time (`heads.rs`).
                        let (arith, scale) = (self.arith, F::from_f64(self.scale));
                        let grouped = |g: usize| n_head.is_multiple_of(g);
                        match d.hd {
                            4 if grouped(4) => heads::backward_doc::<4, 4, 16, F>(
                                arith, scale, &d, saved, acts, grads,
                            ),
                            8 if grouped(2) => heads::backward_doc::<8, 2, 16, F>(
                                arith, scale, &d, saved, acts, grads,
                            ),
                            4 => backward_doc::<4, F>(arith, scale, &d, saved, acts, grads),
                            8 => backward_doc::<8, F>(arith, scale, &d, saved, acts, grads),
                            16 => backward_doc::<16, F>(arith, scale, &d, saved, acts, grads),
                            _ => backward_doc::<0, F>(arith, scale, &d, saved, acts, grads),
                        }
                    }
                },
            );
        });
    }

    /// The output and the saved activations: one allocation, in that order.
    pub(crate) fn outputs(&self) -> std::ops::Range<usize> {
        self.out.start()..self.sums.start() + self.sums.len()
    }

    pub(crate) fn inputs(&self) -> [Option<Span>; 3] {
        [Some(self.q), Some(self.keys), Some(self.values)]
    }
}

/// One document's backward pass, for heads of `HD` dims (`HD = 0`: of
/// `d.hd`, whatever it is).
#[inline(always)]
#[allow(clippy::type_complexity)]
fn backward_doc<const HD: usize, F: Float>(
    arith: Arith,
    scale: F,
    d: &Dims,
    (q, k, v): (&[F], &[F], &[F]),
    (exps, att, sums, dout): (&[F], &[F], &[F], &[F]),
    (dq, dk, dv, datt): (&mut [F], &mut [F], &mut [F], &mut [F]),
) {
    let hd = if HD == 0 { d.hd } else { HD };
    // Last row first, as the reference meets the positions.
    for r in (0..d.rows).rev() {
        let seen = d.seen(r);
        for h in 0..d.n_head {
            let (hs, at) = (h * hd, d.at(r, h));
            let e = &exps[at..at + seen];
            let w = &att[at..at + seen];
            let total = sums[r * d.n_head + h];
            let inv = arith.recip(total);
            // -1 * total ** -2, the derivative of total ** -1
            let dinv_dtotal = -arith.recip_square(total);
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
                for (((dqj, &kj), dkj), &qj) in dqh.iter_mut().zip(kt).zip(dkt.iter_mut()).zip(qh) {
                    *dqj += kj * ddot;
                    *dkj += qj * ddot;
                }
            }
        }
    }
}
