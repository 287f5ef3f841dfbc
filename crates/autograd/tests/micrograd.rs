//! micrograd's README expression, rebuilt on the arena: values and gradients.

use autograd::{Graph, Var};

/// Builds micrograd's example. Each `x += y` of the Python is `x = x + y`.
fn build(g: &mut Graph) -> (Var, Var, Var) {
    let a = g.leaf(-4.0);
    let b = g.leaf(2.0);
    let mut c = g.add(a, b);
    let ab = g.mul(a, b);
    let b3 = g.pow(b, 3.0);
    let mut d = g.add(ab, b3);
    // c += c + 1
    let t = g.add(c, 1.0);
    c = g.add(c, t);
    // c += 1 + c + (-a)
    let t = g.add(1.0, c);
    let na = g.neg(a);
    let t = g.add(t, na);
    c = g.add(c, t);
    // d += d * 2 + (b + a).relu()
    let t = g.mul(d, 2.0);
    let ba = g.add(b, a);
    let r = g.relu(ba);
    let t = g.add(t, r);
    d = g.add(d, t);
    // d += 3 * d + (b - a).relu()
    let t = g.mul(3.0, d);
    let bma = g.sub(b, a);
    let r = g.relu(bma);
    let t = g.add(t, r);
    d = g.add(d, t);
    let e = g.sub(c, d);
    let f = g.pow(e, 2.0);
    let mut out = g.div(f, 2.0);
    // g += 10.0 / f
    let t = g.div(10.0, f);
    out = g.add(out, t);
    (a, b, out)
}

#[test]
fn readme_expression_values_and_gradients() {
    for depth_first in [false, true] {
        let mut g = Graph::new();
        let (a, b, out) = build(&mut g);
        if depth_first {
            g.backward_depth_first(out);
        } else {
            g.backward(out);
        }
        let close = |x: f64, y: f64| (x - y).abs() < 1e-4;
        assert!(close(g.value(out), 24.7041), "g = {}", g.value(out));
        assert!(close(g.grad(a), 138.8338), "dg/da = {}", g.grad(a));
        assert!(close(g.grad(b), 645.5773), "dg/db = {}", g.grad(b));
    }
}
