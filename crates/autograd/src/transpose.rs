//! Transposed copies of the matrices `Graph::linear` multiplies by.
//!
//! A row-major `W` (`nout x nin`) makes each output a dot product along a row; kept
//! in that order, each sum is one long chain of dependent additions. Reading `W`
//! transposed instead lets the matrix-vector product run down the columns, adding
//! `W[:, i] * x[i]` into every output at once: the same sums in the same order,
//! vectorised across outputs. The copy is made the first time a matrix is used and
//! reused until the matrix can have changed: after any write to values through the
//! graph's public API (an optimiser step), after the matrix's slots are truncated
//! away, or after an op writes into them.

use crate::float::Float;
use crate::kernels;
use crate::span::Span;

/// One cached transpose.
#[derive(Debug, Clone)]
struct Entry<F> {
    /// The row-major matrix in the arena.
    w: Span,
    /// Its number of rows.
    rows: usize,
    /// The cache's generation when `data` was made.
    generation: u64,
    /// `W^T`, `nin x nout`, row-major, each row padded with zeros to `stride`.
    data: Vec<F>,
}

/// The transposes of the matrices in use.
#[derive(Debug, Clone, Default)]
pub(crate) struct TransposeCache<F> {
    entries: Vec<Entry<F>>,
    /// Counts writes to the graph's values through its public API; a copy made at
    /// an older generation may be stale.
    generation: u64,
}

impl<F: Float> TransposeCache<F> {
    /// Values of the arena were written: every copy may be stale.
    #[inline]
    pub(crate) fn values_written(&mut self) {
        self.generation += 1;
    }

    /// `W^T` for the `rows x (w.len / rows)` matrix `w`, whose values are `val[w]`,
    /// made fresh unless a copy of this generation exists; its rows are padded to
    /// [`stride`].
    pub(crate) fn get(&mut self, val: &[F], w: Span, rows: usize) -> &[F] {
        let generation = self.generation;
        let i = match self.entries.iter().position(|e| e.w == w && e.rows == rows) {
            Some(i) => i,
            None => {
                let data = Vec::with_capacity(stride(rows) * (w.len() / rows));
                self.entries.push(Entry {
                    w,
                    rows,
                    generation: generation.wrapping_sub(1),
                    data,
                });
                self.entries.len() - 1
            }
        };
        let e = &mut self.entries[i];
        if e.generation != generation {
            let stride = stride(rows);
            e.data.resize(stride * (w.len() / rows), F::ZERO);
            kernels::transpose(&val[w.range()], rows, &mut e.data, stride);
            e.generation = generation;
        }
        &e.data
    }

    /// Forgets every matrix that reaches slot `end` or beyond: those slots are gone.
    pub(crate) fn truncate(&mut self, end: usize) {
        self.entries.retain(|e| e.w.start() + e.w.len() <= end);
    }

    /// Forgets every matrix that overlaps `s`, whose values an op is about to write.
    pub(crate) fn invalidate(&mut self, s: Span) {
        self.entries
            .retain(|e| e.w.start() + e.w.len() <= s.start() || s.start() + s.len() <= e.w.start());
    }

    pub(crate) fn capacity_bytes(&self) -> usize {
        self.entries
            .iter()
            .map(|e| e.data.capacity() * size_of::<F>())
            .sum::<usize>()
            + self.entries.capacity() * size_of::<Entry<F>>()
    }
}

/// The padded row length of the transpose of a matrix of `rows` rows.
pub(crate) fn stride(rows: usize) -> usize {
    rows.next_multiple_of(kernels::LANES)
}
