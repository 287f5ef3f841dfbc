//! One step's documents spread over several graphs, one per thread, fenced off.
//!
//! Each graph holds a copy of the parameters and builds the forward pass of some
//! of the batch's documents, the first graph the first documents, the next the
//! ones after. Every op but two is row by row or document by document, so each
//! graph's backward pass computes, for its rows, the very numbers one graph of the
//! whole batch would. The two are the ops that read the parameters: a linear
//! layer's `dW` and the embedding tables' gradients sum over every row of the
//! batch, and a sum split between threads would round differently. So
//! [`Graph::backward_except`] stops short of the parameters, and
//! [`add_param_grads`] adds their terms afterwards, each parameter's from every
//! graph's rows, last row first, on one thread: the order of the single graph,
//! so the same bits whatever the number of graphs.

use std::borrow::Borrow;
use std::ops::Range;

use crate::float::Float;
use crate::graph::Graph;
use crate::op::Op;
use crate::parallel::Threads;
use crate::span::{Span, Var};

impl<F: Float> Graph<F> {
    /// Reverse-mode differentiation of several roots, each document's loss, whose
    /// gradients are set to `seed` (`1 / B` for the mean of `B` losses), down to
    /// every node but the parameters `params`: the ops that read them (a linear
    /// layer's `W`, the embedding tables) send gradients to their other inputs
    /// only. [`add_param_grads`] adds the parameters' terms afterwards.
    ///
    /// Only [`Graph::linear`] and the embeddings may read `params` (as in the
    /// model's fast forward pass): another op's terms for them would be lost.
    pub fn backward_except(&mut self, roots: &[Var], seed: F, params: Span) {
        for &root in roots {
            self.grad[root.index()] = seed;
        }
        for op in self.tape.iter().rev() {
            match op {
                Op::Linear(op) if params.contains(op.spans().0) => {
                    op.backward_dx(&self.val, &mut self.grad);
                }
                Op::Embed(op) if op.tables().into_iter().all(|t| params.contains(t)) => {}
                op => op.backward(
                    &self.val,
                    &mut self.grad,
                    &self.args,
                    &self.indices,
                    &self.threads,
                ),
            }
        }
    }
}

impl<F: Float> Graph<F> {
    /// Makes the transposed copies of the matrices this graph's products have
    /// read fresh, for its values as they are now, shared out among `threads`:
    /// before the graphs of a batch take them ([`Graph::take_params_from`]).
    pub fn refresh_transposes(&mut self, threads: &Threads) {
        self.transposed.refresh(&self.val, threads);
    }

    /// Takes `other`'s values of the parameters `params`, and its fresh
    /// transposed copies of them without copying those (see
    /// [`Graph::refresh_transposes`]); call [`Graph::forget_transposes`] once
    /// this graph's forward pass is done, so that `other` can remake them in
    /// place.
    pub fn take_params_from(&mut self, other: &Graph<F>, params: Span) {
        self.values_mut(params)
            .copy_from_slice(other.values(params));
        self.transposed.share(&other.transposed, params);
    }

    /// Forgets every transposed copy (see [`Graph::take_params_from`]).
    pub fn forget_transposes(&mut self) {
        self.transposed.clear();
    }
}

/// What [`add_param_grads`] reads of one graph: its values, the gradients of its
/// nodes from `offset` on, and its tape.
#[derive(Clone, Copy)]
struct View<'a, F> {
    val: &'a [F],
    grad: &'a [F],
    offset: usize,
    tape: &'a [Op],
    indices: &'a [u32],
}

impl<'a, F: Float> View<'a, F> {
    fn of(g: &'a Graph<F>) -> Self {
        View {
            val: &g.val,
            grad: &g.grad,
            offset: 0,
            tape: &g.tape,
            indices: &g.indices,
        }
    }

    fn grads(&self, s: Span) -> &'a [F] {
        &self.grad[s.start() - self.offset..s.range().end - self.offset]
    }
}

/// Adds the gradients of `params` for one step whose documents were spread over
/// `first` (the first documents) and `rest` (the next ones, in order: graphs,
/// or what holds them), each graph built alike and differentiated with
/// [`Graph::backward_except`]: into `first`'s gradients of `params`, the very
/// sums [`Graph::backward`] of one graph of the whole batch gives.
///
/// "Built alike" means the same ops in the same order up to each graph's
/// per-document losses (so an op has the same place on every tape), reading the
/// same parameter spans: what one model's forward pass records, whatever the
/// documents. The parameters are shared out among `threads` in whole rows; each
/// row's gradient is summed by one thread, op by op from the last, and within
/// an op from the last graph's last row to the first graph's first.
///
/// # Panics
/// If the graphs were not built alike.
pub fn add_param_grads<F: Float, G: Borrow<Graph<F>> + Sync>(
    first: &mut Graph<F>,
    rest: &[G],
    params: Span,
    threads: &Threads,
) {
    let p = params.range();
    let (head, acts) = first.grad.split_at_mut(p.end);
    let first_view = View {
        val: &first.val,
        grad: acts,
        offset: p.end,
        tape: &first.tape,
        indices: &first.indices,
    };
    let tape = &first.tape[..];
    // Part k of the parameters starts at the row boundary at or before k/parts
    // of the way: computed where needed, so that nothing is allocated.
    let parts = threads.count();
    let cut = |k: usize| match k {
        0 => p.start,
        k if k >= parts => p.end,
        k => row_start(tape, p.start + p.len() * k / parts),
    };
    let views = || {
        rest.iter()
            .rev()
            .map(|g| View::of(g.borrow()))
            .chain(std::iter::once(first_view))
    };
    threads.split(
        parts,
        usize::MAX,
        |k| [cut(k) - p.start],
        [&mut head[p.clone()]],
        |range, [grads]| {
            let own = cut(range.start)..cut(range.end);
            // The last op first, as the single graph's backward pass meets them
            // (which matters only for a parameter that two ops read).
            for (i, op) in tape.iter().enumerate().rev() {
                match op {
                    Op::Linear(op) => {
                        let (w, ..) = op.spans();
                        let rows = overlap(w.range(), &own);
                        if rows.is_empty() {
                            continue;
                        }
                        let nin = w.len() / op.nout();
                        let dw = &mut grads[rows.start - own.start..rows.end - own.start];
                        for g in views() {
                            let Op::Linear(theirs) = &g.tape[i] else {
                                panic!("the graphs of a batch were not built alike")
                            };
                            let (tw, x, out) = theirs.spans();
                            assert_eq!(tw, w, "the graphs of a batch were not built alike");
                            let o0 = (rows.start - w.start()) / nin;
                            theirs.add_dw_rows(&g.val[x.range()], g.grads(out), o0, dw);
                        }
                    }
                    Op::Embed(op) => {
                        let touches = op
                            .tables()
                            .iter()
                            .any(|t| !overlap(t.range(), &own).is_empty());
                        if !touches {
                            continue;
                        }
                        for g in views() {
                            let Op::Embed(theirs) = &g.tape[i] else {
                                panic!("the graphs of a batch were not built alike")
                            };
                            assert_eq!(
                                theirs.tables(),
                                op.tables(),
                                "the graphs of a batch were not built alike"
                            );
                            theirs.add_table_rows(
                                g.indices,
                                g.grads(theirs.out()),
                                own.clone(),
                                grads,
                            );
                        }
                    }
                    _ => {}
                }
            }
        },
    );
}

/// The slots of `a` in `b`.
fn overlap(a: Range<usize>, b: &Range<usize>) -> Range<usize> {
    let start = a.start.max(b.start);
    start..a.end.min(b.end).max(start)
}

/// The start of the row that holds `slot`, in the matrix of the op of `tape`
/// that reads it as a weight or a table; `slot` itself if no op does.
fn row_start(tape: &[Op], slot: usize) -> usize {
    for op in tape {
        let (span, width) = match op {
            Op::Linear(op) => {
                let w = op.spans().0;
                (w, w.len() / op.nout())
            }
            Op::Embed(op) => {
                let [table, positions] = op.tables();
                let s = if table.range().contains(&slot) {
                    table
                } else {
                    positions
                };
                (s, op.width())
            }
            _ => continue,
        };
        if span.range().contains(&slot) {
            return slot - (slot - span.start()) % width;
        }
    }
    slot
}
