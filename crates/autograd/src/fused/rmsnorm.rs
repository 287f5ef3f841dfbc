//! RMS normalisation without a learned gain: `y = x * (mean(x^2) + 1e-5) ** -0.5`.

use crate::arith::Arith;
use crate::fused::assert_disjoint;
use crate::graph::{Graph, Span};

/// The epsilon of the reference's rmsnorm.
pub const RMSNORM_EPS: f64 = 1e-5;

/// `out[i] = x[i] * scale`, `scale = (sum_i x[i]*x[i] * n**-1 + eps) ** -0.5`.
///
/// Two scratch slots follow the outputs: `scale` and `ms + eps`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct RmsNorm {
    x: Span,
    out: Span,
    inv_n: f64,
    arith: Arith,
}

impl Graph {
    /// RMS norm of `x`, as the reference computes it:
    /// `ms = sum(x_i * x_i) / n`, `scale = (ms + 1e-5) ** -0.5`, `y_i = x_i * scale`.
    pub fn rmsnorm(&mut self, x: Span, arith: Arith) -> Span {
        let n = x.len();
        let all = self.alloc(n + 2);
        let out = all.sub(0, n);
        // `sum / n` is `sum * n ** -1` in the reference.
        let inv_n = arith.recip(n as f64);
        let mut sumsq = 0.0;
        for &xi in &self.val[x.range()] {
            sumsq += xi * xi;
        }
        let ms_eps = sumsq * inv_n + RMSNORM_EPS;
        let scale = arith.rsqrt(ms_eps);
        for i in 0..n {
            self.val[out.start() + i] = self.val[x.start() + i] * scale;
        }
        self.val[out.start() + n] = scale;
        self.val[out.start() + n + 1] = ms_eps;
        assert_disjoint("rmsnorm", &[x, all]);
        self.record(crate::op::Op::RmsNorm(RmsNorm {
            x,
            out,
            inv_n,
            arith,
        }));
        out
    }
}

impl RmsNorm {
    pub(crate) fn backward(&self, val: &[f64], grad: &mut [f64]) {
        let n = self.x.len();
        let x = &val[self.x.range()];
        let scale = val[self.out.start() + n];
        let ms_eps = val[self.out.start() + n + 1];
        let [dx, dy] = grad
            .get_disjoint_mut([self.x.range(), self.out.range()])
            .unwrap();

        // y_i = x_i * scale: d/d(scale) = x_i, summed last output first.
        let mut dscale = 0.0;
        for i in (0..n).rev() {
            dscale += x[i] * dy[i];
        }
        // scale = (ms + eps) ** -0.5: d/d(ms + eps) = -0.5 * (ms + eps) ** -1.5
        let dms = -0.5 * self.arith.rsqrt_cubed(ms_eps) * dscale;
        // ms = sumsq * n**-1: d/d(sumsq) = n**-1
        let dsumsq = self.inv_n * dms;
        for i in 0..n {
            // d(x_i * scale)/dx_i = scale, then d(x_i * x_i)/dx_i = x_i, once for
            // each factor, in the order the reference adds them.
            dx[i] += scale * dy[i];
            dx[i] += x[i] * dsumsq;
            dx[i] += x[i] * dsumsq;
        }
    }

    pub(crate) fn outputs(&self) -> std::ops::Range<usize> {
        self.out.start()..self.out.start() + self.out.len() + 2
    }

    pub(crate) fn inputs(&self) -> [Option<Span>; 3] {
        [Some(self.x), None, None]
    }
}
