//! The fast arithmetic's floor on f32 softmax numerators: a key far below the
//! best of its row gets a weight of exactly 0 (and so no gradient), where the
//! exact arithmetic and f64 keep its tiny weight.

use autograd::{Arith, AttentionShape, Float, Graph, Var};

/// One query row (position 1) over two keys whose scaled logits are `0` and
/// `gap`: the two weights, and d(sum of the output)/d(the first key), as f64s.
fn two_keys<F: Float>(arith: Arith, gap: f64) -> ([f64; 2], f64) {
    let mut g = Graph::<F>::empty(arith);
    let f = F::from_f64;
    let q = g.leaves(&[f(1.0)]);
    let keys = g.leaves(&[f(0.0), f(gap)]);
    let values = g.leaves(&[f(3.0), f(-2.0)]);
    let shape = AttentionShape {
        width: 1,
        n_head: 1,
        pos0: 1,
        scale: 1.0,
    };
    let out = g.attention(q, keys, values, shape);
    let att = g.values(out.att);
    let weights = [att[0].to_f64(), att[1].to_f64()];
    let outs: Vec<Var> = out.out.iter().collect();
    let loss = g.sum(&outs);
    g.backward(loss);
    (weights, g.grad(keys.at(0)).to_f64())
}

#[test]
fn a_key_below_the_floor_gets_no_weight_in_fast_f32_only() {
    // e^-50 is about 2e-22, under 2^-64 (5.4e-20).
    let (w, dk) = two_keys::<f32>(Arith::Fast, 50.0);
    assert_eq!(w, [0.0, 1.0]);
    assert_eq!(dk, 0.0);
    for (w, dk) in [
        two_keys::<f32>(Arith::Exact, 50.0),
        two_keys::<f64>(Arith::Fast, 50.0),
        two_keys::<f64>(Arith::Exact, 50.0),
    ] {
        assert!(w[0] > 1e-22 && w[0] < 1e-21, "{w:?}");
        assert!(dk != 0.0, "{dk}");
    }
}

#[test]
fn a_key_above_the_floor_keeps_its_weight() {
    // e^-40 is about 4e-18, over 2^-64: the same weight in both arithmetics.
    let (fast, _) = two_keys::<f32>(Arith::Fast, 40.0);
    let (exact, _) = two_keys::<f32>(Arith::Exact, 40.0);
    assert!(fast[0] > 4e-18 && fast[0] < 5e-18, "{fast:?}");
    assert!(
        (fast[0] / exact[0] - 1.0).abs() < 1e-5,
        "{fast:?} vs {exact:?}"
    );
}
