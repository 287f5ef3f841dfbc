//! Token plus position embedding: `out[t] = table[tokens[t]] + positions[at[t]]`.
//!
//! Shapes: `T` rows, `C` width. `table` is `(V, C)`, `positions` is rows of the
//! position table, `out` is `(T, C)`. Row `t` is the token `tokens[t]` at the
//! position `at[t]`: `0, 1, ..` for one sequence, each document's own `0, 1, ..`
//! for a batch of them.

use crate::float::Float;
use crate::fused::assert_disjoint;
use crate::graph::Graph;
use crate::span::Span;

/// Row `t` of `out` is row `tokens[t]` of `table` plus row `at[t]` of `positions`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Embed {
    table: Span,
    positions: Span,
    /// The tokens are `indices[tokens .. tokens + T]`.
    tokens: u32,
    /// The rows of `positions` are `indices[at .. at + T]`.
    at: u32,
    width: u32,
    out: Span,
}

impl<F: Float> Graph<F> {
    /// `table[tokens[t]] + positions[t]` for each of the `T = tokens.len()` rows:
    /// one sequence, whose positions are the rows of `positions`.
    ///
    /// # Panics
    /// If `positions` is not `T` rows of `width`, or a token has no row in `table`.
    pub fn embed(&mut self, table: Span, positions: Span, width: usize, tokens: &[usize]) -> Span {
        assert_eq!(
            positions.len(),
            tokens.len() * width,
            "embed: positions must be T rows of {width}"
        );
        let at = self.push_indices_with(tokens.len(), |t| t);
        self.embed_op(table, positions, width, tokens, at)
    }

    /// The embeddings of a batch of documents, each at its own positions: the
    /// `T = tokens.len()` rows are `docs[0]` rows of the first document, then
    /// `docs[1]` of the second, ..., and row `r` of a document is
    /// `table[token] + positions[r]`.
    ///
    /// # Panics
    /// If the documents' rows are not `T`, a token has no row in `table`, or a
    /// document is longer than `positions`.
    pub fn embed_batch(
        &mut self,
        table: Span,
        positions: Span,
        width: usize,
        tokens: &[usize],
        docs: &[usize],
    ) -> Span {
        assert!(width > 0, "embed: width must be at least 1");
        assert_eq!(
            docs.iter().sum::<usize>(),
            tokens.len(),
            "embed: the documents' rows are not the {} tokens",
            tokens.len()
        );
        let rows = positions.len() / width;
        assert!(
            docs.iter().all(|&n| n <= rows),
            "embed: a document is longer than the {rows} positions"
        );
        let at = u32::try_from(self.indices.len()).expect("at most u32::MAX indices");
        for &n in docs {
            self.push_indices_with(n, |r| r);
        }
        self.embed_op(table, positions, width, tokens, at)
    }

    /// Records the op, the positions already among the indices from `at`.
    fn embed_op(
        &mut self,
        table: Span,
        positions: Span,
        width: usize,
        tokens: &[usize],
        at: u32,
    ) -> Span {
        assert!(width > 0, "embed: width must be at least 1");
        let rows = table.len() / width;
        assert!(
            tokens.iter().all(|&t| t < rows),
            "embed: a token has no row in a table of {rows}"
        );
        assert_disjoint("embed", &[table, positions]);
        let out = self.alloc_to_write(tokens.len() * width);
        let (inputs, outv) = self.val.split_at_mut(out.start());
        let (tv, pv) = (&inputs[table.range()], &inputs[positions.range()]);
        let pos = &self.indices[at as usize..at as usize + tokens.len()];
        crate::simd::dispatch(
            #[inline(always)]
            || {
                let rows = outv[..out.len()].chunks_exact_mut(width);
                for ((o, &tok), &pos) in rows.zip(tokens).zip(pos) {
                    let e = &tv[tok * width..(tok + 1) * width];
                    let p = &pv[pos as usize * width..(pos as usize + 1) * width];
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
            at,
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
        let at = &indices[self.at as usize..self.at as usize + rows];
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
                    let pos = at[t] as usize;
                    for (d, &g) in dpos[pos * width..(pos + 1) * width].iter_mut().zip(g) {
                        *d += g;
                    }
                }
            },
        );
    }

    /// Adds this op's terms to the rows of its two tables that lie in the slots
    /// `own` (whole rows of each), `grads` holding just those slots: the rows `t`
    /// last to first, as [`Embed::backward`] adds them, from `dy`, the gradients
    /// of this op's output.
    pub(crate) fn add_table_rows<F: Float>(
        &self,
        indices: &[u32],
        dy: &[F],
        own: std::ops::Range<usize>,
        grads: &mut [F],
    ) {
        let width = self.width as usize;
        let rows = self.out.len() / width;
        let tokens = &indices[self.tokens as usize..self.tokens as usize + rows];
        let at = &indices[self.at as usize..self.at as usize + rows];
        crate::simd::dispatch(
            #[inline(always)]
            || {
                for t in (0..rows).rev() {
                    let g = &dy[t * width..(t + 1) * width];
                    for (table, row) in [(self.table, tokens[t]), (self.positions, at[t])] {
                        let start = table.start() + row as usize * width;
                        if own.contains(&start) {
                            let d = &mut grads[start - own.start..][..width];
                            for (d, &g) in d.iter_mut().zip(g) {
                                *d += g;
                            }
                        }
                    }
                }
            },
        );
    }

    /// The token table and the position rows, as spans of the graph.
    pub(crate) fn tables(&self) -> [Span; 2] {
        [self.table, self.positions]
    }

    /// The output rows.
    pub(crate) fn out(&self) -> Span {
        self.out
    }

    /// The row width.
    pub(crate) fn width(&self) -> usize {
        self.width as usize
    }

    pub(crate) fn outputs(&self) -> std::ops::Range<usize> {
        self.out.range()
    }

    pub(crate) fn inputs(&self) -> [Option<Span>; 3] {
        [Some(self.table), Some(self.positions), None]
    }
}
