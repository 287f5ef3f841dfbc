//! RMS normalisation without a learned gain, row by row:
//! `y = x * (mean(x^2) + 1e-5) ** -0.5`.
//!
//! Shapes: `T` rows of width `C`; `x` and `y` are `(T, C)`.

use crate::arith::Arith;
use crate::fused::assert_disjoint;
use crate::graph::{Graph, Span};

/// The epsilon of the reference's rmsnorm.
pub const RMSNORM_EPS: f64 = 1e-5;

/// `out[t][i] = x[t][i] * scale[t]`,
/// `scale[t] = (sum_i x[t][i]^2 * C**-1 + eps) ** -0.5`.
///
/// Scratch follows the outputs: `scale` (T), then `ms + eps` (T).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct RmsNorm {
    x: Span,
    out: Span,
    width: u32,
    inv_n: f64,
    arith: Arith,
}

impl Graph {
    /// RMS norm of each row of `x` (rows of `width`), as the reference computes it:
    /// `ms = sum(x_i * x_i) / n`, `scale = (ms + 1e-5) ** -0.5`, `y_i = x_i * scale`.
    ///
    /// # Panics
    /// If `x` is not whole rows of `width`.
    pub fn rmsnorm(&mut self, x: Span, width: usize, arith: Arith) -> Span {
        assert!(
            width > 0 && x.len().is_multiple_of(width),
            "rmsnorm: x is not whole rows of {width}"
        );
        let rows = x.len() / width;
        let all = self.alloc(x.len() + 2 * rows);
        assert_disjoint("rmsnorm", &[x, all]);
        let out = all.sub(0, x.len());
        // `sum / n` is `sum * n ** -1` in the reference.
        let inv_n = arith.recip(width as f64);
        let [xv, yv] = self.val.get_disjoint_mut([x.range(), all.range()]).unwrap();
        let (yv, scratch) = yv.split_at_mut(x.len());
        let (scales, ms_eps) = scratch.split_at_mut(rows);
        for (t, (xr, yr)) in xv
            .chunks_exact(width)
            .zip(yv.chunks_exact_mut(width))
            .enumerate()
        {
            let mut sumsq = 0.0;
            for &xi in xr {
                sumsq += xi * xi;
            }
            ms_eps[t] = sumsq * inv_n + RMSNORM_EPS;
            scales[t] = arith.rsqrt(ms_eps[t]);
            for (y, &xi) in yr.iter_mut().zip(xr) {
                *y = xi * scales[t];
            }
        }
        let op = RmsNorm {
            x,
            out,
            width: width as u32,
            inv_n,
            arith,
        };
        self.record(crate::op::Op::RmsNorm(op));
        out
    }
}

impl RmsNorm {
    pub(crate) fn backward(&self, val: &[f64], grad: &mut [f64]) {
        let width = self.width as usize;
        let rows = self.x.len() / width;
        let x = &val[self.x.range()];
        let scratch =
            &val[self.out.start() + self.out.len()..self.out.start() + self.out.len() + 2 * rows];
        let (scales, ms_eps) = scratch.split_at(rows);
        let [dx, dy] = grad
            .get_disjoint_mut([self.x.range(), self.out.range()])
            .unwrap();
        for t in (0..rows).rev() {
            let r = t * width..(t + 1) * width;
            let (x, dx, dy) = (&x[r.clone()], &mut dx[r.clone()], &dy[r]);
            let scale = scales[t];
            // y_i = x_i * scale: d/d(scale) = x_i, summed last output first.
            let mut dscale = 0.0;
            for i in (0..width).rev() {
                dscale += x[i] * dy[i];
            }
            // scale = (ms + eps) ** -0.5: d/d(ms + eps) = -0.5 * (ms + eps) ** -1.5
            let dms = -0.5 * self.arith.rsqrt_cubed(ms_eps[t]) * dscale;
            // ms = sumsq * n**-1: d/d(sumsq) = n**-1
            let dsumsq = self.inv_n * dms;
            for i in 0..width {
                // d(x_i * scale)/dx_i = scale, then d(x_i * x_i)/dx_i = x_i, once for
                // each factor, in the order the reference adds them.
                dx[i] += scale * dy[i];
                dx[i] += x[i] * dsumsq;
                dx[i] += x[i] * dsumsq;
            }
        }
    }

    pub(crate) fn outputs(&self) -> std::ops::Range<usize> {
        let rows = self.x.len() / self.width as usize;
        self.out.start()..self.out.start() + self.out.len() + 2 * rows
    }

    pub(crate) fn inputs(&self) -> [Option<Span>; 3] {
        [Some(self.x), None, None]
    }
}
