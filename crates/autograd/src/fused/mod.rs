//! Fused ops: one tape entry for a whole layer step over a `(T, C)` block of rows,
//! such as a matrix product or an RMS norm, instead of thousands of scalar nodes.
//!
//! With [`Arith::Exact`](crate::Arith::Exact) each op computes exactly what the
//! chain of scalar ops of the reference computes, sum for sum, in the same order:
//! left-to-right sums from 0, the same products, `pow` and the C library's `exp`.
//! With [`Arith::Fast`](crate::Arith::Fast) the sums keep their order and every
//! multiply-add still rounds twice, but `exp` is vectorised, and powers are
//! multiplications and square roots. Either way the backward rule sends each input the same terms, in the
//! order the reference's depth-first pass would where that order is cheap to keep.

mod add_vec;
mod attention;
mod cross_entropy;
mod embed;
mod linear;
mod relu;
mod relu_sq;
mod rmsnorm;

pub use attention::{AttentionOutput, AttentionShape};
pub use rmsnorm::RMSNORM_EPS;

pub(crate) use add_vec::AddVec;
pub(crate) use attention::Attention;
pub(crate) use cross_entropy::CrossEntropy;
pub(crate) use embed::Embed;
pub(crate) use linear::Linear;
pub(crate) use relu::Relu;
pub(crate) use relu_sq::ReluSq;
pub(crate) use rmsnorm::RmsNorm;

use crate::span::Span;

/// Panics unless the spans are pairwise disjoint: a fused op's backward writes the
/// gradients of its inputs and outputs through disjoint slices.
pub(crate) fn assert_disjoint(op: &str, spans: &[Span]) {
    for (i, a) in spans.iter().enumerate() {
        for b in &spans[i + 1..] {
            let overlap = a.start() < b.start() + b.len() && b.start() < a.start() + a.len();
            assert!(!overlap, "{op}: operand spans {a:?} and {b:?} overlap");
        }
    }
}
