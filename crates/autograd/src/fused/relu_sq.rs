//! The MLP's activation, ReLU squared: `relu(x) ** 2`.

use crate::arith::Arith;
use crate::float::Float;
use crate::fused::assert_disjoint;
use crate::graph::Graph;
use crate::span::Span;

/// `out[i] = max(0, x[i]) ** 2`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct ReluSq {
    x: Span,
    out: Span,
}

impl<F: Float> Graph<F> {
    /// `relu(x) ** 2`, element-wise; the graph's [`Arith`](crate::Arith) says how the square is
    /// rounded.
    pub fn relu_sq(&mut self, x: Span) -> Span {
        let arith = self.arith;
        let out = self.alloc_to_write(x.len());
        assert_disjoint("relu_sq", &[x, out]);
        let [xv, yv] = self.val.get_disjoint_mut([x.range(), out.range()]).unwrap();
        crate::simd::dispatch(
            #[inline(always)]
            || {
                // One loop per arithmetic, so that the fast one has no call in it
                // and vectorises.
                match arith {
                    Arith::Fast => {
                        for (y, &xi) in yv.iter_mut().zip(xv.iter()) {
                            let r = if xi > F::ZERO { xi } else { F::ZERO };
                            *y = Arith::Fast.square(r);
                        }
                    }
                    Arith::Exact => {
                        for (y, &xi) in yv.iter_mut().zip(xv.iter()) {
                            let r = if xi > F::ZERO { xi } else { F::ZERO };
                            *y = Arith::Exact.square(r);
                        }
                    }
                }
            },
        );
        self.record(crate::op::Op::ReluSq(ReluSq { x, out }));
        out
    }
}

impl ReluSq {
    pub(crate) fn backward<F: Float>(&self, val: &[F], grad: &mut [F]) {
        let [dx, dy] = grad
            .get_disjoint_mut([self.x.range(), self.out.range()])
            .unwrap();
        let xv = &val[self.x.range()];
        crate::simd::dispatch(
            #[inline(always)]
            || {
                for ((dx, &dy), &x) in dx.iter_mut().zip(dy.iter()).zip(xv) {
                    let r = if x > F::ZERO { x } else { F::ZERO };
                    // d(r^2)/dr = 2 * r ** 1 = 2r (pow(r, 1) is exactly r)
                    let dr = F::from_f64(2.0) * r * dy;
                    // d(relu(x))/dx = 1 if x > 0 else 0
                    let local = if x > F::ZERO { F::ONE } else { F::ZERO };
                    *dx += local * dr;
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
