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

use std::sync::Arc;

use crate::float::Float;
use crate::kernels;
use crate::parallel::Threads;
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
    /// `W^T`, `nin x nout`, row-major, each row padded with zeros to `stride`:
    /// shared with the graphs of the same batch that hold the same parameters
    /// (see `sharded.rs`).
    data: Arc<Vec<F>>,
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
                let data = Arc::new(Vec::with_capacity(stride(rows) * (w.len() / rows)));
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
            e.make(val);
            e.generation = generation;
        }
        &e.data
    }

    /// Makes every stale copy afresh from `val`, the copies shared out among
    /// `threads`.
    pub(crate) fn refresh(&mut self, val: &[F], threads: &Threads) {
        let generation = self.generation;
        threads.for_each(&mut self.entries, |e| {
            if e.generation != generation {
                e.make(val);
                e.generation = generation;
            }
        });
    }

    /// Takes `other`'s fresh copies of the matrices that lie in `params`, as its
    /// own and fresh, without copying them: for a graph whose values of `params`
    /// were just copied from `other`'s.
    pub(crate) fn share(&mut self, other: &Self, params: Span) {
        let inside = |e: &Entry<F>| e.generation == other.generation && params.contains(e.w);
        self.entries.clear();
        let generation = self.generation;
        for e in other.entries.iter().filter(|e| inside(e)) {
            self.entries.push(Entry {
                generation,
                ..e.clone()
            });
        }
    }

    /// Forgets every copy, so that the graph it was shared from can make its own
    /// afresh in place.
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
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

impl<F: Float> Entry<F> {
    /// `data` made from `val`, in place unless another graph shares it.
    fn make(&mut self, val: &[F]) {
        let stride = stride(self.rows);
        let len = stride * (self.w.len() / self.rows);
        let data = match Arc::get_mut(&mut self.data) {
            Some(data) => data,
            None => {
                self.data = Arc::new(Vec::with_capacity(len));
                Arc::get_mut(&mut self.data).expect("a new copy is this entry's own")
            }
        };
        data.resize(len, F::ZERO);
        kernels::transpose(&val[self.w.range()], self.rows, data, stride);
    }
}

/// The padded row length of the transpose of a matrix of `rows` rows.
pub(crate) fn stride(rows: usize) -> usize {
    rows.next_multiple_of(kernels::LANES)
}
