//! The reverse passes: tape order (fast) and the reference's depth-first order.

use crate::float::Float;
use crate::graph::Graph;
use crate::span::Var;

const NONE: u32 = u32::MAX;

impl<F: Float> Graph<F> {
    /// Reverse-mode differentiation of `root`: sets `grad[root] = 1` and adds
    /// `d(root)/d(node)` into the gradient of every node it depends on.
    ///
    /// One loop over the tape in reverse, from the op that wrote `root` back to the
    /// first op. Push order is a topological order, so every op runs after all the
    /// ops that use its outputs. It is a Wengert tape: every op recorded before `root`
    /// runs, so record one step, run one pass, and [`Graph::truncate`] the step away
    /// before the next. Gradients of the nodes that outlive the step, the
    /// parameters, accumulate from pass to pass until [`Graph::zero_grad`].
    pub fn backward(&mut self, root: Var) {
        self.grad[root.index()] = F::ONE;
        let Some(end) = self
            .tape
            .iter()
            .rposition(|op| op.outputs().contains(&root.index()))
        else {
            return; // a leaf: nothing to propagate
        };
        for op in self.tape[..=end].iter().rev() {
            op.backward(
                &self.val,
                &mut self.grad,
                &self.args,
                &self.indices,
                &self.threads,
            );
        }
    }

    /// [`Graph::backward`], visiting ops in the order the reference program does:
    /// a depth-first post-order from `root`, reversed, where each op's inputs are
    /// visited first operand first. Ops that `root` does not depend on are skipped.
    ///
    /// Any topological order gives the same gradients up to rounding; this one gives
    /// the reference's rounding, because each gradient receives its terms in the same
    /// order. It costs a walk of the graph on top of the backward pass.
    pub fn backward_depth_first(&mut self, root: Var) {
        // For each slot, the tape index of the op that wrote it, or NONE for a leaf.
        // (These buffers are made per call: only the exact mode walks the graph, and
        // its scalar graph allocates far more per step anyway.)
        let mut producer = vec![NONE; self.len];
        for (i, op) in self.tape.iter().enumerate() {
            for slot in op.outputs() {
                producer[slot] = i as u32;
            }
        }
        // For each tape entry, whether the walk has reached it; the walk's path as
        // (tape index, next input to visit); and the ops in depth-first post-order.
        let mut visited = vec![false; self.tape.len()];
        let mut stack: Vec<(u32, u32)> = Vec::new();
        let mut order: Vec<u32> = Vec::with_capacity(self.tape.len());

        self.grad[root.index()] = F::ONE;
        let start = producer[root.index()];
        if start == NONE {
            return;
        }
        visited[start as usize] = true;
        stack.push((start, 0));
        while let Some(top) = stack.last_mut() {
            let (op, k) = *top;
            match self.tape[op as usize].input(k as usize, &self.args) {
                Some(input) => {
                    top.1 += 1;
                    let p = producer[input.index()];
                    if p != NONE && !visited[p as usize] {
                        visited[p as usize] = true;
                        stack.push((p, 0));
                    }
                }
                None => {
                    order.push(op);
                    stack.pop();
                }
            }
        }
        for &op in order.iter().rev() {
            self.tape[op as usize].backward(
                &self.val,
                &mut self.grad,
                &self.args,
                &self.indices,
                &self.threads,
            );
        }
    }
}
