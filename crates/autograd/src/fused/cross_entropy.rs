//! Softmax followed by the negative log-likelihood of the target, row by row:
//! `loss[t] = -log(softmax(logits[t])[targets[t]])`.
//!
//! Shapes: `T` rows, `V` classes; `logits` is `(T, V)`, the losses `(T,)`.

use crate::arith::Arith;
use crate::arith::py_max;
use crate::float::Float;
use crate::footprint::cross_entropy_slots;
use crate::fused::assert_disjoint;
use crate::graph::Graph;
use crate::parallel::Threads;
use crate::span::Span;

/// The loss of each row. Saved for the backward pass: `exps` (T, V), the
/// `exp(l[t][o] - max)`, and `sums` (T), each row's softmax denominator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct CrossEntropy {
    logits: Span,
    /// The targets are `indices[targets .. targets + T]`.
    targets: u32,
    /// The losses, `(T,)`.
    out: Span,
    exps: Span,
    sums: Span,
    /// V.
    classes: u32,
    arith: Arith,
}

impl<F: Float> Graph<F> {
    /// `-log(softmax(logits[t])[targets[t]])` for each row of `logits`, as the
    /// reference computes it: subtract the row's maximum (a plain number),
    /// exponentiate, sum left to right, multiply the target's exponential by
    /// `total ** -1`, take the log, negate. Returns the `(T,)` losses.
    ///
    /// # Panics
    /// If `logits` is not `T = targets.len()` rows, or a target is out of its row.
    pub fn cross_entropy(&mut self, logits: Span, targets: &[usize]) -> Span {
        let arith = self.arith;
        let rows = targets.len();
        assert!(
            rows > 0 && logits.len().is_multiple_of(rows),
            "cross_entropy: logits are not {rows} rows"
        );
        let v = logits.len() / rows;
        assert!(
            targets.iter().all(|&t| t < v),
            "cross_entropy: a target is out of {v} classes"
        );
        let all = self.alloc_to_write(cross_entropy_slots(rows, v));
        assert_disjoint("cross_entropy", &[logits, all]);
        let (out, exps, sums) = (
            all.sub(0, rows),
            all.sub(rows, rows * v),
            all.sub(rows + rows * v, rows),
        );
        let [lv, losses, e, totals] = self
            .val
            .get_disjoint_mut([logits.range(), out.range(), exps.range(), sums.range()])
            .unwrap();
        let lv = &*lv;
        // Row by row: each row's loss and saved values are its own.
        let at = |t: usize| [t, t * v, t];
        let parts = [losses, e, totals];
        self.threads
            .split(rows, rows * v, at, parts, |range, [losses, e, totals]| {
                let lv = &lv[range.start * v..range.end * v];
                let targets = &targets[range];
                crate::simd::dispatch(
                    #[inline(always)]
                    || {
                        for (l, e) in lv.chunks_exact(v).zip(e.chunks_exact_mut(v)) {
                            let max = py_max(l.iter().copied());
                            for (e, &l) in e.iter_mut().zip(l) {
                                *e = l - max;
                            }
                        }
                        // Every row's exponentials in one pass.
                        arith.exp_in_place(e);
                        for (t, (e, l)) in e.chunks_exact(v).zip(lv.chunks_exact(v)).enumerate() {
                            let mut total = F::ZERO;
                            for &e in e {
                                total += e;
                            }
                            totals[t] = total;
                            let p = e[targets[t]] * arith.recip(total);
                            losses[t] = if below_normal(p) {
                                // A probability below the normal range has lost its digits,
                                // or all of them (exp of a gap past 103 is 0 in f32): take
                                // the same quantity as log(total) - (l_t - max), unless the
                                // target is past DIVERGED_GAP, where the loss is infinite.
                                let shift = l[targets[t]] - py_max(l.iter().copied());
                                if p == F::ZERO && shift.to_f64() <= -DIVERGED_GAP {
                                    -p.ln()
                                } else {
                                    total.ln() - shift
                                }
                            } else {
                                // -log(p) is `log(p) * -1` in the reference, which is
                                // exactly -log(p).
                                -p.ln()
                            };
                        }
                    },
                );
            });
        let targets = self.push_indices(targets);
        let op = CrossEntropy {
            logits,
            targets,
            out,
            exps,
            sums,
            classes: v as u32,
            arith,
        };
        self.record(crate::op::Op::CrossEntropy(op));
        out
    }
}

impl CrossEntropy {
    pub(crate) fn backward<F: Float>(
        &self,
        val: &[F],
        grad: &mut [F],
        indices: &[u32],
        threads: &Threads,
    ) {
        let v = self.classes as usize;
        let rows = self.logits.len() / v;
        let targets = &indices[self.targets as usize..self.targets as usize + rows];
        let (e, totals) = (&val[self.exps.range()], &val[self.sums.range()]);
        let [dlogits, dall] = grad
            .get_disjoint_mut([self.logits.range(), self.out.range()])
            .unwrap();
        let dall = &*dall;
        // Row by row: each row's gradient is its own.
        let at = |t: usize| [t * v];
        threads.split(rows, rows * v, at, [dlogits], |range, [dlogits]| {
            crate::simd::dispatch(
                #[inline(always)]
                || {
                    for t in range.clone().rev() {
                        let (e, tgt, total) =
                            (&e[t * v..(t + 1) * v], targets[t] as usize, totals[t]);
                        let inv = self.arith.recip(total);
                        let p = e[tgt] * inv;
                        let local = t - range.start;
                        let dlogits = &mut dlogits[local * v..(local + 1) * v];
                        if below_normal(p) {
                            // The path below divides by p, which overflows here. The same
                            // gradient, gathered: d(loss)/d(l_o) = (p_o - [o = target]) * g.
                            for (o, (dl, &eo)) in dlogits.iter_mut().zip(e).enumerate() {
                                let target = if o == tgt { F::ONE } else { F::ZERO };
                                *dl += (eo * inv - target) * dall[t];
                            }
                            continue;
                        }
                        // loss = log(p) * -1: d/d(log p) = -1
                        let dlog = -dall[t];
                        // d(log p)/dp = 1/p
                        let dp = F::ONE / p * dlog;
                        // p = e_t * total**-1: d/d(e_t) = total**-1, d/d(total**-1) = e_t
                        let de_t = inv * dp;
                        let dinv = e[tgt] * dp;
                        // d(total**-1)/d(total) = -1 * total**-2
                        let dtotal = -self.arith.recip_square(total) * dinv;
                        for (o, (dl, &eo)) in dlogits.iter_mut().zip(e).enumerate() {
                            // total = sum_o e_o: d/d(e_o) = 1; the target also feeds p directly.
                            let de = if o == tgt { de_t + dtotal } else { dtotal };
                            // e_o = exp(l_o - max): d/d(l_o) = e_o
                            *dl += eo * de;
                        }
                    }
                },
            );
        });
    }

    /// The losses and the saved activations: one allocation, in that order.
    pub(crate) fn outputs(&self) -> std::ops::Range<usize> {
        self.out.start()..self.sums.start() + self.sums.len()
    }

    pub(crate) fn inputs(&self) -> [Option<Span>; 3] {
        [Some(self.logits), None, None]
    }
}

/// How far, in nats, a target's logit may fall below the largest before its loss
/// is infinite, the mark of a diverged run: about where `f64`'s `exp` gives 0
/// (so an `f64` loss is infinite exactly when its probability is 0, as the
/// reference's would be), and well past `f32`'s 103, which a long `f32` run can
/// reach while still learning.
const DIVERGED_GAP: f64 = 700.0;

/// Whether `p` is below the normal range, 0 included, where `1 / p` overflows.
/// (A NaN is not: its loss stays NaN, and stops a run as divergence.)
fn below_normal<F: Float>(p: F) -> bool {
    p >= F::ZERO && p < F::MIN_POSITIVE
}
