//! The tape entry: one recorded op, its inputs and outputs, and dispatch to its
//! backward rule. (Its variants come from the files that record them on the graph:
//! the one import circle of this crate, explained in `graph.rs`.)

use crate::float::Float;
use crate::fused::{AddVec, Attention, CrossEntropy, Embed, Linear, Relu, ReluSq, RmsNorm};
use crate::parallel::Threads;
use crate::scalar::ScalarOp;
use crate::span::Var;

/// One op on the tape. Scalar ops write one node; fused ops write a span.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Op {
    Scalar { out: Var, op: ScalarOp },
    AddVec(AddVec),
    Embed(Embed),
    Linear(Linear),
    RmsNorm(RmsNorm),
    Relu(Relu),
    ReluSq(ReluSq),
    Attention(Attention),
    CrossEntropy(CrossEntropy),
}

impl Op {
    /// Sends the gradients of this op's outputs back to its inputs.
    #[inline]
    pub(crate) fn backward<F: Float>(
        &self,
        val: &[F],
        grad: &mut [F],
        args: &[Var],
        indices: &[u32],
        threads: &Threads,
    ) {
        match self {
            Op::Scalar { out, op } => op.backward(*out, val, grad, args),
            Op::AddVec(op) => op.backward(grad),
            Op::Embed(op) => op.backward(grad, indices),
            Op::Linear(op) => op.backward(val, grad, threads),
            Op::RmsNorm(op) => op.backward(val, grad, threads),
            Op::Relu(op) => op.backward(val, grad),
            Op::ReluSq(op) => op.backward(val, grad),
            Op::Attention(op) => op.backward(val, grad, indices, threads),
            Op::CrossEntropy(op) => op.backward(val, grad, indices, threads),
        }
    }

    /// The slots this op writes, scratch included.
    pub(crate) fn outputs(&self) -> std::ops::Range<usize> {
        match self {
            Op::Scalar { out, .. } => out.index()..out.index() + 1,
            Op::AddVec(op) => op.outputs(),
            Op::Embed(op) => op.outputs(),
            Op::Linear(op) => op.outputs(),
            Op::RmsNorm(op) => op.outputs(),
            Op::Relu(op) => op.outputs(),
            Op::ReluSq(op) => op.outputs(),
            Op::Attention(op) => op.outputs(),
            Op::CrossEntropy(op) => op.outputs(),
        }
    }

    /// The `k`-th input slot, in the order the reference visits a node's children
    /// (first operand first); `None` past the last one.
    pub(crate) fn input(&self, k: usize, args: &[Var]) -> Option<Var> {
        let spans = match self {
            Op::Scalar { op, .. } => return op.input(k, args),
            Op::AddVec(op) => op.inputs(),
            Op::Embed(op) => op.inputs(),
            Op::Linear(op) => op.inputs(),
            Op::RmsNorm(op) => op.inputs(),
            Op::Relu(op) => op.inputs(),
            Op::ReluSq(op) => op.inputs(),
            Op::Attention(op) => op.inputs(),
            Op::CrossEntropy(op) => op.inputs(),
        };
        let mut k = k;
        for span in spans.into_iter().flatten() {
            if k < span.len() {
                return Some(span.at(k));
            }
            k -= span.len();
        }
        None
    }
}
