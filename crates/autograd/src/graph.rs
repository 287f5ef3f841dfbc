//! The arena: every scalar lives in one slot of a `Graph`, addressed by a `Var`.
//!
//! One import circle is deliberate: the tape here holds `op::Op`, whose variants
//! are the records of the ops in `scalar.rs` and `fused/`, and each of those files
//! adds the method that records its op to `Graph`. So an op reads in one place,
//! forward, record and backward rule, at the price of that circle.

use crate::arith::Arith;
use crate::float::Float;
use crate::op::Op;
use crate::parallel::Threads;
use crate::span::{Span, Var};
use crate::transpose::TransposeCache;

/// A point in a graph's history, returned by [`Graph::mark`]. Truncating to it drops
/// every node and op created after it, and keeps the memory for reuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark {
    slots: usize,
    tape: usize,
    args: usize,
    indices: usize,
}

/// The arena that owns every node: values, gradients and the tape of ops.
///
/// Values and gradients live in two parallel `Vec<F>`s indexed by [`Var`], `F` the
/// element type: `f64` by default, or `f32` (see [`Float`]). The tape
/// records one op per operation, in creation order, which is already a topological
/// order: [`Graph::backward`] is one loop over it, in reverse.
///
/// Parameters are leaves created first; the nodes of one training step are created
/// after a [`Mark`] and dropped with [`Graph::truncate`], so that after the first step
/// the arena allocates nothing.
#[derive(Debug, Default, Clone)]
pub struct Graph<F: Float = f64> {
    /// The number of nodes: `val` and `grad` only grow, and slots past `len` are
    /// spare room kept from earlier steps.
    pub(crate) len: usize,
    pub(crate) val: Vec<F>,
    pub(crate) grad: Vec<F>,
    pub(crate) tape: Vec<Op>,
    /// Operands of n-ary ops ([`Graph::sum`]), referenced from the tape by range.
    pub(crate) args: Vec<Var>,
    /// Integer operands of fused ops (token ids, targets), referenced by range.
    pub(crate) indices: Vec<u32>,
    /// Fast machinery, fenced off in `transpose.rs`: transposed copies of the
    /// matrices [`Graph::linear`] reads. The graph only tells it when values are
    /// written through its public API, after which a copy may be stale.
    pub(crate) transposed: TransposeCache<F>,
    /// How the fused ops round, for every op recorded from now on.
    pub(crate) arith: Arith,
    /// Fast machinery, fenced off in `parallel.rs`: the threads the fused ops
    /// split their work among, forward and backward. The bits do not depend on it.
    pub(crate) threads: Threads,
}

impl Graph {
    /// An empty graph of `f64`s.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty graph of `f64`s whose fused ops round as `arith` says: the
    /// reference's digits ([`Arith::Exact`]) or the fast arithmetic
    /// ([`Arith::Fast`], the default of [`Graph::new`]). [`Graph::empty`] makes a
    /// graph of another element type.
    pub fn with_arith(arith: Arith) -> Self {
        Self::empty(arith)
    }

    /// An empty graph of `f64`s with room for `slots` nodes and `ops` tape entries.
    pub fn with_capacity(slots: usize, ops: usize) -> Self {
        Graph {
            val: Vec::with_capacity(slots),
            grad: Vec::with_capacity(slots),
            tape: Vec::with_capacity(ops),
            ..Self::default()
        }
    }
}

impl<F: Float> Graph<F> {
    /// An empty graph of `F`s whose fused ops round as `arith` says:
    /// `Graph::<f32>::empty(Arith::Fast)`.
    pub fn empty(arith: Arith) -> Self {
        Graph {
            arith,
            ..Self::default()
        }
    }

    /// How the fused ops of this graph round.
    #[inline]
    pub fn arith(&self) -> Arith {
        self.arith
    }

    /// Changes how the fused ops recorded from now on round; ops already on the
    /// tape keep theirs, backward included. Meant for tests that mix the two.
    pub fn set_arith(&mut self, arith: Arith) {
        self.arith = arith;
    }

    /// The threads the fused ops use from now on, forward and backward: make them
    /// once per run, [`Threads::new`]. Whatever their number, every op computes the
    /// same bits (each output is computed whole by one thread).
    pub fn set_threads(&mut self, threads: Threads) {
        self.threads = threads;
    }

    /// The threads the fused ops use; [`Threads::install`] runs a step on them.
    pub fn threads(&self) -> &Threads {
        &self.threads
    }

    /// The number of nodes in the arena.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the arena holds no node.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The number of ops on the tape.
    #[inline]
    pub fn tape_len(&self) -> usize {
        self.tape.len()
    }

    /// Appends one node with value `v` and gradient 0.
    #[inline]
    pub(crate) fn push(&mut self, v: F) -> Var {
        let id = u32::try_from(self.len).expect("the arena holds at most u32::MAX nodes");
        if self.len == self.val.len() {
            self.val.push(v);
            self.grad.push(F::ZERO);
        } else {
            self.val[self.len] = v;
            self.grad[self.len] = F::ZERO;
        }
        self.len += 1;
        Var(id)
    }

    /// A leaf: a node with no inputs, such as a parameter or an input.
    pub fn leaf(&mut self, value: F) -> Var {
        self.push(value)
    }

    /// A constant. It is a leaf like any other; the name says how it is meant.
    pub fn constant(&mut self, value: F) -> Var {
        self.push(value)
    }

    /// `n` new leaves holding `values`, in one contiguous span.
    pub fn leaves(&mut self, values: &[F]) -> Span {
        let span = self.alloc(values.len());
        self.val[span.range()].copy_from_slice(values);
        span
    }

    /// `n` new nodes with value 0, in one contiguous span: the output slots of a
    /// fused op, or a buffer such as a key/value cache.
    pub fn alloc(&mut self, n: usize) -> Span {
        let span = self.alloc_to_write(n);
        self.val[span.range()].fill(F::ZERO);
        span
    }

    /// `n` new nodes with gradient 0 whose values the caller writes, every one,
    /// before anything reads them: the outputs of most fused ops. Slots reused
    /// from an earlier step keep that step's values until then, which saves
    /// zeroing them (one memset of the two [`Graph::alloc`] makes).
    pub(crate) fn alloc_to_write(&mut self, n: usize) -> Span {
        let start = self.len;
        let end = start.checked_add(n).filter(|&e| e <= u32::MAX as usize);
        let end = end.expect("the arena holds at most u32::MAX nodes");
        if end > self.val.len() {
            self.val.resize(end, F::ZERO);
            self.grad.resize(end, F::ZERO);
        }
        // Backward adds into every gradient, so these start at 0.
        self.grad[start..end].fill(F::ZERO);
        self.len = end;
        Span {
            start: start as u32,
            len: n as u32,
        }
    }

    /// The value of a node.
    #[inline]
    pub fn value(&self, v: Var) -> F {
        self.val[v.index()]
    }

    /// The gradient of a node: d(root)/d(node) after [`Graph::backward`].
    #[inline]
    pub fn grad(&self, v: Var) -> F {
        self.grad[v.index()]
    }

    /// Overwrites the value of a node, typically a leaf such as a parameter.
    ///
    /// Ops already recorded keep the values they computed; only nodes created after
    /// this call see the new value.
    #[inline]
    pub fn set_value(&mut self, v: Var, value: F) {
        self.transposed.values_written();
        self.val[v.index()] = value;
    }

    /// The values of a span.
    #[inline]
    pub fn values(&self, s: Span) -> &[F] {
        &self.val[s.range()]
    }

    /// The values of a span, to write, for example to load or update parameters.
    #[inline]
    pub fn values_mut(&mut self, s: Span) -> &mut [F] {
        self.transposed.values_written();
        &mut self.val[s.range()]
    }

    /// The gradients of a span.
    #[inline]
    pub fn grads(&self, s: Span) -> &[F] {
        &self.grad[s.range()]
    }

    /// The values and gradients of a span, both writable: what an optimiser needs.
    #[inline]
    pub fn values_and_grads_mut(&mut self, s: Span) -> (&mut [F], &mut [F]) {
        self.transposed.values_written();
        (&mut self.val[s.range()], &mut self.grad[s.range()])
    }

    /// Sets every gradient in the arena to 0.
    pub fn zero_grad(&mut self) {
        self.grad[..self.len].fill(F::ZERO);
    }

    /// Sets the gradients of a span to 0.
    pub fn zero_grad_span(&mut self, s: Span) {
        self.grad[s.range()].fill(F::ZERO);
    }

    /// The current end of the arena and of the tape.
    pub fn mark(&self) -> Mark {
        Mark {
            slots: self.len,
            tape: self.tape.len(),
            args: self.args.len(),
            indices: self.indices.len(),
        }
    }

    /// Drops every node and op created after `mark`, keeping the memory for reuse.
    /// Nodes created before it, such as parameters, keep their values and gradients.
    ///
    /// # Panics
    /// If the graph is already shorter than `mark`.
    pub fn truncate(&mut self, mark: Mark) {
        assert!(
            mark.slots <= self.len && mark.tape <= self.tape.len(),
            "truncate to a mark past the end of the graph"
        );
        self.len = mark.slots;
        self.transposed.truncate(mark.slots);
        self.tape.truncate(mark.tape);
        self.args.truncate(mark.args);
        self.indices.truncate(mark.indices);
    }

    /// Gives back the memory the arena, the tape and the side buffers hold beyond
    /// what they use now.
    pub fn shrink_to_fit(&mut self) {
        self.val.truncate(self.len);
        self.grad.truncate(self.len);
        self.val.shrink_to_fit();
        self.grad.shrink_to_fit();
        self.tape.shrink_to_fit();
        self.args.shrink_to_fit();
        self.indices.shrink_to_fit();
    }

    /// Bytes currently reserved by the arena, the tape and the scratch space.
    pub fn capacity_bytes(&self) -> usize {
        use std::mem::size_of;
        (self.val.capacity() + self.grad.capacity()) * size_of::<F>()
            + self.tape.capacity() * size_of::<Op>()
            + self.args.capacity() * size_of::<Var>()
            + self.indices.capacity() * size_of::<u32>()
            + self.transposed.capacity_bytes()
    }

    /// Stores integer operands of a fused op; returns where they start.
    pub(crate) fn push_indices(&mut self, values: &[usize]) -> u32 {
        let start = u32::try_from(self.indices.len()).expect("at most u32::MAX indices");
        self.indices.extend(
            values
                .iter()
                .map(|&v| u32::try_from(v).expect("an index fits u32")),
        );
        start
    }

    /// Stores `n` integer operands `f(0), .., f(n - 1)`; returns where they start.
    pub(crate) fn push_indices_with(&mut self, n: usize, f: impl Fn(usize) -> usize) -> u32 {
        let start = u32::try_from(self.indices.len()).expect("at most u32::MAX indices");
        self.indices
            .extend((0..n).map(|i| u32::try_from(f(i)).expect("an index fits u32")));
        start
    }

    /// Records an op on the tape.
    #[inline]
    pub(crate) fn record(&mut self, op: Op) {
        self.tape.push(op);
    }
}
