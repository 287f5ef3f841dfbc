//! Element-wise sum of two blocks of rows: the residual connections. (Token plus
//! position embedding is [`Graph::embed`]'s own.)

use crate::float::Float;
use crate::graph::Graph;
use crate::span::Span;

/// `out[i] = a[i] + b[i]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct AddVec {
    a: Span,
    b: Span,
    out: Span,
}

impl<F: Float> Graph<F> {
    /// `a + b`, element-wise. The two spans may be the same.
    ///
    /// # Panics
    /// If the lengths differ.
    pub fn add_vec(&mut self, a: Span, b: Span) -> Span {
        assert_eq!(a.len(), b.len(), "add_vec: lengths differ");
        let out = self.alloc_to_write(a.len());
        let (inputs, outv) = self.val.split_at_mut(out.start());
        let (av, bv, outv) = (&inputs[a.range()], &inputs[b.range()], &mut outv[..a.len()]);
        crate::simd::dispatch(
            #[inline(always)]
            || {
                for ((o, &x), &y) in outv.iter_mut().zip(av).zip(bv) {
                    *o = x + y;
                }
            },
        );
        self.record(crate::op::Op::AddVec(AddVec { a, b, out }));
        out
    }
}

impl AddVec {
    pub(crate) fn backward<F: Float>(&self, grad: &mut [F]) {
        // d(a+b)/da = 1, d(a+b)/db = 1
        let (a, b, out) = (self.a.start(), self.b.start(), self.out.start());
        crate::simd::dispatch(
            #[inline(always)]
            || {
                let n = self.out.len();
                let overlap = a < b + n && b < a + n;
                if overlap {
                    // The same span twice (or overlapping ones): slot by slot, a's
                    // term first.
                    for i in 0..n {
                        let g = grad[out + i];
                        grad[a + i] += g;
                        grad[b + i] += g;
                    }
                } else {
                    let [da, db, dy] = grad
                        .get_disjoint_mut([self.a.range(), self.b.range(), self.out.range()])
                        .unwrap();
                    for ((da, db), &g) in da.iter_mut().zip(db.iter_mut()).zip(dy.iter()) {
                        *da += g;
                        *db += g;
                    }
                }
            },
        );
    }

    pub(crate) fn outputs(&self) -> std::ops::Range<usize> {
        self.out.range()
    }

    pub(crate) fn inputs(&self) -> [Option<Span>; 3] {
        [Some(self.a), Some(self.b), None]
    }
}
