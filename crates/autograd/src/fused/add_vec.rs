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
        let out = self.alloc(a.len());
        for i in 0..a.len() {
            self.val[out.start() + i] = self.val[a.start() + i] + self.val[b.start() + i];
        }
        self.record(crate::op::Op::AddVec(AddVec { a, b, out }));
        out
    }
}

impl AddVec {
    pub(crate) fn backward<F: Float>(&self, grad: &mut [F]) {
        // d(a+b)/da = 1, d(a+b)/db = 1
        let (a, b, out) = (self.a.start(), self.b.start(), self.out.start());
        for i in 0..self.out.len() {
            let g = grad[out + i];
            grad[a + i] += g;
            grad[b + i] += g;
        }
    }

    pub(crate) fn outputs(&self) -> std::ops::Range<usize> {
        self.out.range()
    }

    pub(crate) fn inputs(&self) -> [Option<Span>; 3] {
        [Some(self.a), Some(self.b), None]
    }
}
