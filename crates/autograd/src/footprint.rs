//! What each op adds to a graph, to estimate the memory of a graph before it is
//! built. The fused ops size their allocations with these same functions.
//!
//! Counts are `u128` and saturate, so that absurd sizes give a huge estimate
//! rather than an overflow.

use crate::op::Op;
use crate::transpose;

/// The slots, tape entries and side buffers a graph (or a part of one) holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Footprint {
    /// Nodes: a value and a gradient each.
    pub slots: u128,
    /// Tape entries.
    pub ops: u128,
    /// Operands of n-ary sums.
    pub args: u128,
    /// Integer operands of fused ops (token ids, targets).
    pub indices: u128,
    /// Values of the transposed copies of the matrices that `linear` reads.
    pub transposed: u128,
}

/// `a * b`, saturating.
fn mul(a: usize, b: usize) -> u128 {
    (a as u128).saturating_mul(b as u128)
}

impl Footprint {
    /// `n` leaves, or `n` slots allocated for an op to write into: no tape entry.
    pub fn leaves(n: usize) -> Self {
        Footprint {
            slots: n as u128,
            ..Self::default()
        }
    }

    /// `n` scalar ops, one node and one tape entry each.
    pub fn scalars(n: u128) -> Self {
        Footprint {
            slots: n,
            ops: n,
            ..Self::default()
        }
    }

    /// A sum of `terms` nodes.
    pub fn sum(terms: usize) -> Self {
        Footprint {
            args: terms as u128,
            ..Self::scalars(1)
        }
    }

    /// A fused op that writes `slots` slots.
    fn fused(slots: u128) -> Self {
        Footprint {
            slots,
            ops: 1,
            ..Self::default()
        }
    }

    /// [`Graph::embed`](crate::Graph::embed) of `rows` tokens of `width`: a token
    /// and a position per row among the indices.
    pub fn embed(rows: usize, width: usize) -> Self {
        Footprint {
            indices: 2 * rows as u128,
            ..Self::fused(mul(rows, width))
        }
    }

    /// [`Graph::linear`] of `rows` rows by a `(nout, nin)` matrix, met for the first
    /// time (so transposed once); [`Graph::linear_into`] is the same without the
    /// output slots.
    ///
    /// [`Graph::linear`]: crate::Graph::linear
    /// [`Graph::linear_into`]: crate::Graph::linear_into
    pub fn linear(rows: usize, nout: usize, nin: usize, into: bool) -> Self {
        let out = if into { 0 } else { mul(rows, nout) };
        Footprint {
            transposed: mul(transpose::stride(nout), nin),
            ..Self::fused(out)
        }
    }

    /// [`Graph::rmsnorm`](crate::Graph::rmsnorm) of `rows` rows of `width`.
    pub fn rmsnorm(rows: usize, width: usize) -> Self {
        Self::fused(rmsnorm_slots(rows, width) as u128)
    }

    /// An element-wise op over `n` values: `relu_sq`, `add_vec`.
    pub fn elementwise(n: usize) -> Self {
        Self::fused(n as u128)
    }

    /// [`Graph::attention`](crate::Graph::attention) of `rows` query rows over
    /// `t_len` keys, rows of `width` split into `n_head` heads: one document, whose
    /// boundaries take 6 indices.
    pub fn attention(rows: usize, t_len: usize, width: usize, n_head: usize) -> Self {
        Footprint {
            indices: 6,
            ..Self::fused(attention_slots(rows, t_len, width, n_head) as u128)
        }
    }

    /// [`Graph::cross_entropy`](crate::Graph::cross_entropy) of `rows` rows of
    /// `classes` logits.
    pub fn cross_entropy(rows: usize, classes: usize) -> Self {
        Footprint {
            indices: rows as u128,
            ..Self::fused(cross_entropy_slots(rows, classes) as u128)
        }
    }

    /// This footprint `n` times.
    pub fn times(self, n: usize) -> Self {
        let n = n as u128;
        Footprint {
            slots: self.slots.saturating_mul(n),
            ops: self.ops.saturating_mul(n),
            args: self.args.saturating_mul(n),
            indices: self.indices.saturating_mul(n),
            transposed: self.transposed.saturating_mul(n),
        }
    }

    /// The bytes a graph of this footprint holds, its values of `value_bytes` each
    /// (8 for a `Graph<f64>`, 4 for a `Graph<f32>`): a value and a gradient per
    /// slot, a tape entry per op, the side buffers.
    pub fn bytes(&self, value_bytes: usize) -> u128 {
        let size = |n: u128, each: usize| n.saturating_mul(each as u128);
        size(self.slots, 2 * value_bytes)
            .saturating_add(size(self.ops, size_of::<Op>()))
            .saturating_add(size(self.args, size_of::<u32>()))
            .saturating_add(size(self.indices, size_of::<u32>()))
            .saturating_add(size(self.transposed, value_bytes))
    }

    /// The extra bytes [`Graph::backward_depth_first`] takes over this graph: a
    /// producer per slot, and per op a visited flag, a place in the order and, at
    /// worst, a place on the walk's stack.
    ///
    /// [`Graph::backward_depth_first`]: crate::Graph::backward_depth_first
    pub fn depth_first_bytes(&self) -> u128 {
        let per_op = (size_of::<bool>() + size_of::<u32>() + 2 * size_of::<u32>()) as u128;
        (self.slots.saturating_mul(size_of::<u32>() as u128))
            .saturating_add(self.ops.saturating_mul(per_op))
    }
}

impl std::ops::Add for Footprint {
    type Output = Footprint;
    fn add(self, o: Footprint) -> Footprint {
        Footprint {
            slots: self.slots.saturating_add(o.slots),
            ops: self.ops.saturating_add(o.ops),
            args: self.args.saturating_add(o.args),
            indices: self.indices.saturating_add(o.indices),
            transposed: self.transposed.saturating_add(o.transposed),
        }
    }
}

impl std::iter::Sum for Footprint {
    fn sum<I: Iterator<Item = Footprint>>(iter: I) -> Footprint {
        iter.fold(Footprint::default(), |a, b| a + b)
    }
}

/// The slots of an RMS norm: the `(T, C)` output, then `rstd` and `ms_eps`, `T` each.
pub(crate) fn rmsnorm_slots(rows: usize, width: usize) -> usize {
    rows * width + 2 * rows
}

/// The slots of an attention op: the `(Tq, C)` output, then `exps` and `att`,
/// `(Tq, H, Tk)` each, and `sums`, `(Tq, H)`.
pub(crate) fn attention_slots(rows: usize, t_len: usize, width: usize, n_head: usize) -> usize {
    rows * width + 2 * rows * n_head * t_len + rows * n_head
}

/// The slots of a cross-entropy op: the `(T,)` losses, then `exps`, `(T, V)`, and
/// `sums`, `(T,)`.
pub(crate) fn cross_entropy_slots(rows: usize, classes: usize) -> usize {
    rows + rows * classes + rows
}
