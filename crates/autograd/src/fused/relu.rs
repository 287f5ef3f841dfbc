//! The MLP's activation in microgpt.py's revision (v2): a plain `relu(x)`.

use crate::float::Float;
use crate::fused::assert_disjoint;
use crate::graph::Graph;
use crate::span::Span;

/// `out[i] = max(0, x[i])`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Relu {
    x: Span,
    out: Span,
}

impl<F: Float> Graph<F> {
    /// `relu(x)`, element-wise over a span. There is nothing to round, so both
    /// arithmetics give the scalar [`Graph::relu`]'s values, NaN mapped to 0 included.
    pub fn relu_vec(&mut self, x: Span) -> Span {
        let out = self.alloc_to_write(x.len());
        assert_disjoint("relu_vec", &[x, out]);
        let [xv, yv] = self.val.get_disjoint_mut([x.range(), out.range()]).unwrap();
        crate::simd::dispatch(
            #[inline(always)]
            || {
                for (y, &xi) in yv.iter_mut().zip(xv.iter()) {
                    // Written as a comparison, like Python's `max(0, x)`.
                    *y = if xi > F::ZERO { xi } else { F::ZERO };
                }
            },
        );
        self.record(crate::op::Op::Relu(Relu { x, out }));
        out
    }
}

impl Relu {
    pub(crate) fn backward<F: Float>(&self, val: &[F], grad: &mut [F]) {
        let [dx, dy] = grad
            .get_disjoint_mut([self.x.range(), self.out.range()])
            .unwrap();
        let xv = &val[self.x.range()];
        crate::simd::dispatch(
            #[inline(always)]
            || {
                for ((dx, &dy), &x) in dx.iter_mut().zip(dy.iter()).zip(xv) {
                    // d(relu(x))/dx = 1 if x > 0 else 0
                    let local = if x > F::ZERO { F::ONE } else { F::ZERO };
                    *dx += local * dy;
                }
            },
        );
    }

    pub(crate) fn outputs(&self) -> std::ops::Range<usize> {
        self.out.range()
    }

    pub(crate) fn inputs(&self) -> [Option<Span>; 3] {
        [Some(self.x), None, None]
    }
}
