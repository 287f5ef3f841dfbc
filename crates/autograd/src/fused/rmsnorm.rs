//! RMS normalisation without a learned gain, row by row:
//! `y = x * (mean(x^2) + 1e-5) ** -0.5`.
//!
//! Shapes: `T` rows of width `C`; `x` and `y` are `(T, C)`.

use crate::arith::Arith;
use crate::float::Float;
use crate::footprint::rmsnorm_slots;
use crate::fused::assert_disjoint;
use crate::graph::Graph;
use crate::parallel::Threads;
use crate::span::Span;

/// The epsilon of the reference's rmsnorm.
pub const RMSNORM_EPS: f64 = 1e-5;

/// `out[t][i] = x[t][i] * rstd[t]`,
/// `rstd[t] = (sum_i x[t][i]^2 * C**-1 + eps) ** -0.5`.
///
/// Saved for the backward pass: `rstd` (T), the reciprocal standard deviations,
/// and `ms_eps` (T), the `mean(x^2) + eps` they came from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct RmsNorm {
    x: Span,
    out: Span,
    rstd: Span,
    ms_eps: Span,
    width: u32,
    /// `C ** -1`, computed in the graph's element type (and exact as an `f64`).
    inv_n: f64,
    arith: Arith,
}

impl<F: Float> Graph<F> {
    /// RMS norm of each row of `x` (rows of `width`), as the reference computes it:
    /// `ms = sum(x_i * x_i) / n`, `scale = (ms + 1e-5) ** -0.5`, `y_i = x_i * scale`.
    ///
    /// # Panics
    /// If `x` is not whole rows of `width`.
    pub fn rmsnorm(&mut self, x: Span, width: usize) -> Span {
        let arith = self.arith;
        assert!(
            width > 0 && x.len().is_multiple_of(width),
            "rmsnorm: x is not whole rows of {width}"
        );
        let rows = x.len() / width;
        let all = self.alloc_to_write(rmsnorm_slots(rows, width));
        assert_disjoint("rmsnorm", &[x, all]);
        let out = all.sub(0, x.len());
        let rstd = all.sub(x.len(), rows);
        let ms_eps = all.sub(x.len() + rows, rows);
        // `sum / n` is `sum * n ** -1` in the reference.
        let inv_n: F = arith.recip(F::from_f64(width as f64));
        let [xv, yv, scales, msv] = self
            .val
            .get_disjoint_mut([x.range(), out.range(), rstd.range(), ms_eps.range()])
            .unwrap();
        let xv = &*xv;
        // Row by row: each row's outputs are its own.
        let at = |t: usize| [t * width, t, t];
        let parts = [yv, scales, msv];
        self.threads
            .split(rows, x.len(), at, parts, |range, [yv, scales, msv]| {
                let xv = &xv[range.start * width..range.end * width];
                crate::simd::dispatch(
                    #[inline(always)]
                    || {
                        for (t, (xr, yr)) in xv
                            .chunks_exact(width)
                            .zip(yv.chunks_exact_mut(width))
                            .enumerate()
                        {
                            let mut sumsq = F::ZERO;
                            for &xi in xr {
                                sumsq += xi * xi;
                            }
                            msv[t] = sumsq * inv_n + F::from_f64(RMSNORM_EPS);
                            scales[t] = arith.rsqrt(msv[t]);
                            for (y, &xi) in yr.iter_mut().zip(xr) {
                                *y = xi * scales[t];
                            }
                        }
                    },
                );
            });
        let op = RmsNorm {
            x,
            out,
            rstd,
            ms_eps,
            width: width as u32,
            inv_n: inv_n.to_f64(),
            arith,
        };
        self.record(crate::op::Op::RmsNorm(op));
        out
    }
}

impl RmsNorm {
    pub(crate) fn backward<F: Float>(&self, val: &[F], grad: &mut [F], threads: &Threads) {
        let width = self.width as usize;
        let rows = self.x.len() / width;
        let x = &val[self.x.range()];
        let (scales, ms_eps) = (&val[self.rstd.range()], &val[self.ms_eps.range()]);
        let [dx, dy] = grad
            .get_disjoint_mut([self.x.range(), self.out.range()])
            .unwrap();
        let dy = &*dy;
        // Row by row: each row's gradient is its own.
        let at = |t: usize| [t * width];
        threads.split(rows, self.x.len(), at, [dx], |range, [dx]| {
            crate::simd::dispatch(
                #[inline(always)]
                || {
                    for t in range.clone().rev() {
                        let r = t * width..(t + 1) * width;
                        let local = (t - range.start) * width..(t - range.start + 1) * width;
                        let (x, dx, dy) = (&x[r.clone()], &mut dx[local], &dy[r]);
                        let scale = scales[t];
                        // y_i = x_i * scale: d/d(scale) = x_i, summed last output first.
                        let mut dscale = F::ZERO;
                        for i in (0..width).rev() {
                            dscale += x[i] * dy[i];
                        }
                        // scale = (ms + eps) ** -0.5: d/d(ms + eps) = -0.5 * (ms + eps) ** -1.5
                        let dms = F::from_f64(-0.5) * self.arith.rsqrt_cubed(ms_eps[t]) * dscale;
                        // ms = sumsq * n**-1: d/d(sumsq) = n**-1
                        let dsumsq = F::from_f64(self.inv_n) * dms;
                        for i in 0..width {
                            // d(x_i * scale)/dx_i = scale, then d(x_i * x_i)/dx_i = x_i, once
                            // for each factor, in the order the reference adds them.
                            dx[i] += scale * dy[i];
                            dx[i] += x[i] * dsumsq;
                            dx[i] += x[i] * dsumsq;
                        }
                    }
                },
            );
        });
    }

    /// The output and the saved activations: one allocation, in that order.
    pub(crate) fn outputs(&self) -> std::ops::Range<usize> {
        self.out.start()..self.ms_eps.start() + self.ms_eps.len()
    }

    pub(crate) fn inputs(&self) -> [Option<Span>; 3] {
        [Some(self.x), None, None]
    }
}
