//! The linear layer without bias: `y = W x`, with `W` stored `nout x nin`, row-major.

use crate::fused::assert_disjoint;
use crate::graph::{Graph, Span};
use crate::kernels;

/// `out[o] = sum_i w[o][i] * x[i]`, each sum left to right from 0.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Linear {
    w: Span,
    x: Span,
    out: Span,
}

impl Graph {
    /// `W x` for a row-major `W` of `nout` rows: `nout` new nodes.
    ///
    /// # Panics
    /// If `w` does not hold `nout * x.len()` nodes.
    pub fn linear(&mut self, w: Span, x: Span, nout: usize) -> Span {
        let out = self.alloc(nout);
        self.linear_into(w, x, out);
        out
    }

    /// `W x` written into `out`, a span allocated beforehand, such as a row of a
    /// key/value cache. `out` must not have been written by another op.
    ///
    /// # Panics
    /// If the shapes disagree, or the spans overlap.
    pub fn linear_into(&mut self, w: Span, x: Span, out: Span) {
        assert_eq!(w.len(), out.len() * x.len(), "linear: w is not nout x nin");
        assert_disjoint("linear", &[w, x, out]);
        // `out` may hold a matrix of an earlier call (a cache row, say): forget it.
        self.transposed.invalidate(out);
        let wt = self
            .transposed
            .get(&self.val, w, out.len(), self.generation);
        let [xv, yv] = self.val.get_disjoint_mut([x.range(), out.range()]).unwrap();
        kernels::matvec_t(wt, xv, yv);
        self.record(crate::op::Op::Linear(Linear { w, x, out }));
    }
}

impl Linear {
    pub(crate) fn backward(&self, val: &[f64], grad: &mut [f64]) {
        let [dw, dx, dy] = grad
            .get_disjoint_mut([self.w.range(), self.x.range(), self.out.range()])
            .unwrap();
        let (w, x) = (&val[self.w.range()], &val[self.x.range()]);
        let nin = x.len();
        // Rows in reverse: the order in which the reference's depth-first pass reaches
        // the products of each input.
        for o in (0..dy.len()).rev() {
            let g = dy[o];
            let row = o * nin..(o + 1) * nin;
            // d(w*x)/dx = w
            kernels::axpy(&mut dx[..nin], &w[row.clone()], g);
            // d(w*x)/dw = x
            kernels::axpy(&mut dw[row], x, g);
        }
    }

    pub(crate) fn outputs(&self) -> std::ops::Range<usize> {
        self.out.range()
    }

    pub(crate) fn inputs(&self) -> [Option<Span>; 3] {
        [Some(self.w), Some(self.x), None]
    }
}
