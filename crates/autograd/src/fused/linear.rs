//! The linear layer without bias, over a block of rows: `Y = X W^T`.
//!
//! Shapes: `T` rows, `W` is `(nout, nin)` row-major, `X` is `(T, nin)`, `Y` is
//! `(T, nout)`: each row of `Y` is `W` times the same row of `X`.

use crate::float::Float;
use crate::fused::assert_disjoint;
use crate::graph::Graph;
use crate::kernels;
use crate::span::Span;
use crate::transpose;

/// `out[t][o] = sum_i w[o][i] * x[t][i]`, each sum left to right from 0.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Linear {
    w: Span,
    x: Span,
    out: Span,
    nout: u32,
}

impl<F: Float> Graph<F> {
    /// `W x` for every row of `x`, with `W` row-major of `nout` rows: `(T, nout)`.
    /// Both arithmetics compute it alike: each product and each sum rounded, as the
    /// reference does.
    ///
    /// # Panics
    /// If `W` is not `nout` whole rows, or `x` is not whole rows of `W`'s width.
    pub fn linear(&mut self, w: Span, x: Span, nout: usize) -> Span {
        let (rows, _) = Linear::shape(w, x, nout);
        let out = self.alloc_to_write(rows * nout);
        self.linear_into(w, x, out, nout);
        out
    }

    /// [`Graph::linear`] written into `out`, `T` rows allocated beforehand, such as
    /// rows of a key/value cache. `out` must not have been written by another op.
    ///
    /// # Panics
    /// If the shapes disagree, or the spans overlap.
    pub fn linear_into(&mut self, w: Span, x: Span, out: Span, nout: usize) {
        let (rows, _) = Linear::shape(w, x, nout);
        assert_eq!(
            out.len(),
            rows * nout,
            "linear: out is not {rows} rows of {nout}"
        );
        assert_disjoint("linear", &[w, x, out]);
        // `out` may hold a matrix of an earlier call (a cache row, say): forget it.
        self.transposed.invalidate(out);
        let wt = self.transposed.get(&self.val, w, nout);
        let stride = transpose::stride(nout);
        let [xv, yv] = self.val.get_disjoint_mut([x.range(), out.range()]).unwrap();
        kernels::matmul_t(wt, stride, xv, yv);
        let op = Linear {
            w,
            x,
            out,
            nout: nout as u32,
        };
        self.record(crate::op::Op::Linear(op));
    }
}

impl Linear {
    /// `(T, nin)` for `W` of `nout` rows applied to `x`.
    fn shape(w: Span, x: Span, nout: usize) -> (usize, usize) {
        assert!(
            nout > 0 && w.len().is_multiple_of(nout),
            "linear: w is not {nout} whole rows"
        );
        let nin = w.len() / nout;
        assert!(
            nin > 0 && x.len().is_multiple_of(nin),
            "linear: x is not whole rows of {nin}"
        );
        (x.len() / nin, nin)
    }

    pub(crate) fn backward<F: Float>(&self, val: &[F], grad: &mut [F]) {
        let [dw, dx, dy] = grad
            .get_disjoint_mut([self.w.range(), self.x.range(), self.out.range()])
            .unwrap();
        let (w, x) = (&val[self.w.range()], &val[self.x.range()]);
        let nin = self.w.len() / self.nout as usize;
        kernels::linear_backward(w, nin, x, dy, dw, dx);
    }

    pub(crate) fn outputs(&self) -> std::ops::Range<usize> {
        self.out.range()
    }

    pub(crate) fn inputs(&self) -> [Option<Span>; 3] {
        [Some(self.w), Some(self.x), None]
    }
}
