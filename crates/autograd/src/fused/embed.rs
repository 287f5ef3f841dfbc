//! Token plus position embedding: `out[t] = table[tokens[t]] + positions[t]`.
//!
//! Shapes: `T` positions, `C` width. `table` is `(V, C)`, `positions` the `(T, C)`
//! rows of the position table for these positions, `out` is `(T, C)`.

use crate::float::Float;
use crate::fused::assert_disjoint;
use crate::graph::Graph;
use crate::span::Span;

/// Row `t` of `out` is row `tokens[t]` of `table` plus row `t` of `positions`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Embed {
    table: Span,
    positions: Span,
    /// The tokens are `indices[tokens .. tokens + T]`.
    tokens: u32,
    width: u32,
    out: Span,
}

impl<F: Float> Graph<F> {
    /// `table[tokens[t]] + positions[t]` for each of the `T = tokens.len()` rows.
    ///
    /// # Panics
    /// If `positions` is not `T` rows of `width`, or a token has no row in `table`.
    pub fn embed(&mut self, table: Span, positions: Span, width: usize, tokens: &[usize]) -> Span {
        assert!(width > 0, "embed: width must be at least 1");
        let rows = table.len() / width;
        assert_eq!(
            positions.len(),
            tokens.len() * width,
            "embed: positions must be T rows of {width}"
        );
        assert!(
            tokens.iter().all(|&t| t < rows),
            "embed: a token has no row in a table of {rows}"
        );
        assert_disjoint("embed", &[table, positions]);
        let out = self.alloc_to_write(tokens.len() * width);
        let (inputs, outv) = self.val.split_at_mut(out.start());
        let (tv, pv) = (&inputs[table.range()], &inputs[positions.range()]);
        crate::simd::dispatch(
            #[inline(always)]
            || {
                let rows = outv[..out.len()].chunks_exact_mut(width);
                for ((o, &tok), p) in rows.zip(tokens).zip(pv.chunks_exact(width)) {
                    let e = &tv[tok * width..(tok + 1) * width];
                    for ((o, &e), &p) in o.iter_mut().zip(e).zip(p) {
                        *o = e + p;
                    }
                }
            },
        );
        let tokens = self.push_indices(tokens);
        let width = width as u32;
        self.record(crate::op::Op::Embed(Embed {
            table,
            positions,
            tokens,
            width,
            out,
        }));
        out
    }
}

impl Embed {
    pub(crate) fn backward<F: Float>(&self, grad: &mut [F], indices: &[u32]) {
        let width = self.width as usize;
        let rows = self.out.len() / width;
        let tokens = &indices[self.tokens as usize..self.tokens as usize + rows];
        let [dtable, dpos, dy] = grad
            .get_disjoint_mut([self.table.range(), self.positions.range(), self.out.range()])
            .unwrap();
        // Last position first, the order in which the reference's backward pass
        // reaches a token used twice.
        crate::simd::dispatch(
            #[inline(always)]
            || {
                for t in (0..rows).rev() {
                    let tok = tokens[t] as usize;
                    let g = &dy[t * width..(t + 1) * width];
                    // d(a+b)/da = 1, d(a+b)/db = 1
                    for (d, &g) in dtable[tok * width..(tok + 1) * width].iter_mut().zip(g) {
                        *d += g;
                    }
                    for (d, &g) in dpos[t * width..(t + 1) * width].iter_mut().zip(g) {
                        *d += g;
                    }
                }
            },
        );
    }

    pub(crate) fn outputs(&self) -> std::ops::Range<usize> {
        self.out.range()
    }

    pub(crate) fn inputs(&self) -> [Option<Span>; 3] {
        [Some(self.table), Some(self.positions), None]
    }
}
