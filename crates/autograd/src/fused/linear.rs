//! The linear layer without bias, over a block of rows: `Y = X W^T`.
//!
//! Shapes: `T` rows, `W` is `(nout, nin)` row-major, `X` is `(T, nin)`, `Y` is
//! `(T, nout)`: each row of `Y` is `W` times the same row of `X`.

use crate::float::Float;
use crate::fused::assert_disjoint;
use crate::graph::Graph;
use crate::kernels;
use crate::parallel::Threads;
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
        let (xv, nin) = (&*xv, x.len() / rows);
        // Row by row of Y (each row's outputs are its own), on the threads.
        let at = |t: usize| [t * nout];
        let work = rows * nin * nout;
        self.threads.split(rows, work, at, [yv], |range, [yv]| {
            let xv = &xv[range.start * nin..range.end * nin];
            kernels::matmul_t(wt, stride, xv, yv);
        });
        let op = Linear {
            w,
            x,
            out,
            nout: nout as u32,
        };
        self.record(crate::op::Op::Linear(op));
    }
}

/// The rows of a batch that the backward pass takes at a time: few enough that
/// their rows of `X`, `dX` and `dY` stay in the first-level cache (and in its
/// sets: rows of `dY` lie a power of two apart) while `W` passes.
const ROWS: usize = 8;

/// The rows `rows` in blocks of [`ROWS`], the last block first: the rows of a
/// block stay in the first-level cache while `W` and `dW` pass, and every `dW[o]`
/// still receives its rows last to first.
fn blocks(rows: std::ops::Range<usize>) -> impl Iterator<Item = std::ops::Range<usize>> {
    let starts = (rows.start..rows.end).step_by(ROWS).rev();
    starts.map(move |t| t..(t + ROWS).min(rows.end))
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

    pub(crate) fn backward<F: Float>(&self, val: &[F], grad: &mut [F], threads: &Threads) {
        let [dw, dx, dy] = grad
            .get_disjoint_mut([self.w.range(), self.x.range(), self.out.range()])
            .unwrap();
        let (w, x) = (&val[self.w.range()], &val[self.x.range()]);
        let nout = self.nout as usize;
        let nin = self.w.len() / nout;
        let rows = self.x.len() / nin;
        let work = rows * nin * nout;
        if threads.count() == 1 || work < threads.min_work() {
            for r in blocks(0..rows) {
                let (x, dy) = (
                    &x[r.start * nin..r.end * nin],
                    &dy[r.start * nout..r.end * nout],
                );
                let dx = &mut dx[r.start * nin..r.end * nin];
                kernels::linear_backward(w, nin, x, dy, dw, dx);
            }
            return;
        }
        // On the threads: dW by rows of W, each still summing over every row t in
        // the same order; then dX by rows t. The same terms in the same order as
        // the single sweep above, so the same bits.
        let dy = &*dy;
        threads.split(
            nout,
            work,
            |o| [o * nin],
            [dw],
            |range, [dw]| self.add_dw_rows(x, dy, range.start, dw),
        );
        threads.split(
            rows,
            work,
            |t| [t * nin],
            [dx],
            |range, [dx]| {
                for r in blocks(range.clone()) {
                    let dy = &dy[r.start * nout..r.end * nout];
                    let dx = &mut dx[(r.start - range.start) * nin..(r.end - range.start) * nin];
                    kernels::linear_backward_dx(w, nin, dy, dx);
                }
            },
        );
    }

    /// The backward pass to `X` alone, `dX += dY W`, leaving `dW` to
    /// [`Linear::add_dw_rows`]: what a graph that holds some of a batch's
    /// documents runs (see `sharded.rs`).
    pub(crate) fn backward_dx<F: Float>(&self, val: &[F], grad: &mut [F]) {
        let [dx, dy] = grad
            .get_disjoint_mut([self.x.range(), self.out.range()])
            .unwrap();
        let w = &val[self.w.range()];
        let nout = self.nout as usize;
        let nin = self.w.len() / nout;
        for r in blocks(0..self.x.len() / nin) {
            let dy = &dy[r.start * nout..r.end * nout];
            kernels::linear_backward_dx(w, nin, dy, &mut dx[r.start * nin..r.end * nin]);
        }
    }

    /// Adds this op's terms to rows `o0 ..` of `dW`, `dw` holding just those rows:
    /// `dW[o] += sum_t dY[t][o] X[t]`, the rows `t` last to first, from `x` (the
    /// values of this op's `X`) and `dy` (the gradients of its output).
    pub(crate) fn add_dw_rows<F: Float>(&self, x: &[F], dy: &[F], o0: usize, dw: &mut [F]) {
        let nout = self.nout as usize;
        let nin = self.w.len() / nout;
        for r in blocks(0..x.len() / nin) {
            let (x, dy) = (
                &x[r.start * nin..r.end * nin],
                &dy[r.start * nout..r.end * nout],
            );
            kernels::linear_backward_dw_rows(x, nin, dy, nout, o0, dw);
        }
    }

    /// The rows of `W`, the outputs of each row.
    pub(crate) fn nout(&self) -> usize {
        self.nout as usize
    }

    /// `W`, `X` and the output, as spans of the graph.
    pub(crate) fn spans(&self) -> (Span, Span, Span) {
        (self.w, self.x, self.out)
    }

    pub(crate) fn outputs(&self) -> std::ops::Range<usize> {
        self.out.range()
    }

    pub(crate) fn inputs(&self) -> [Option<Span>; 3] {
        [Some(self.w), Some(self.x), None]
    }
}
