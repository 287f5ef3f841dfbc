//! Accumulation, truncation and reuse of the arena.

use autograd::Graph;

#[test]
fn gradients_accumulate_over_every_use() {
    // y = x*a + x*b + x: dy/dx = a + b + 1
    let mut g = Graph::new();
    let x = g.leaf(3.0);
    let a = g.leaf(5.0);
    let b = g.leaf(-2.0);
    let mark = g.mark();
    let xa = g.mul(x, a);
    let xb = g.mul(x, b);
    let s = g.add(xa, xb);
    let y = g.add(s, x);
    g.backward(y);
    assert_eq!(g.grad(x), 4.0);
    assert_eq!(g.grad(a), 3.0);
    // The next step's pass adds on top, in the leaves that outlive the step.
    g.truncate(mark);
    let y2 = g.mul(x, 10.0);
    g.backward(y2);
    assert_eq!(g.grad(x), 14.0);
    assert_eq!(g.grad(a), 3.0);
}

#[test]
fn truncate_keeps_parameters_and_reuses_memory() {
    let mut g = Graph::new();
    let w = g.leaves(&[0.5, -1.5, 2.0]);
    let mark = g.mark();
    let mut capacity = 0;
    for step in 0..5 {
        let sq: Vec<_> = w.iter().map(|v| g.mul(v, v)).collect();
        let loss = g.sum(&sq);
        g.backward(loss);
        assert_eq!(g.values(w), &[0.5, -1.5, 2.0], "step {step}");
        assert_eq!(g.grads(w), &[1.0, -3.0, 4.0], "step {step}");
        g.truncate(mark);
        assert_eq!(g.len(), 3);
        assert_eq!(g.tape_len(), 0);
        assert_eq!(g.values(w), &[0.5, -1.5, 2.0]);
        assert_eq!(
            g.grads(w),
            &[1.0, -3.0, 4.0],
            "truncation must not touch parameters"
        );
        g.zero_grad_span(w);
        if step == 1 {
            capacity = g.capacity_bytes();
        } else if step > 1 {
            assert_eq!(g.capacity_bytes(), capacity, "the arena grew after warm-up");
        }
    }
}
