//! The autograd ops, forward and backward, at the reference model's sizes.

use autograd::{AttentionShape, Graph};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn pattern(n: usize) -> Vec<f64> {
    (0..n).map(|i| ((i as f64) * 0.618).sin() * 0.1).collect()
}

fn ops(c: &mut Criterion) {
    // A chain of scalar ops: the micrograd way, one node per number.
    c.bench_function("scalar: 16-term dot product, forward + backward", |b| {
        let mut g = Graph::new();
        let w = g.leaves(&pattern(16));
        let x = g.leaves(&pattern(16));
        let mark = g.mark();
        b.iter(|| {
            let mut acc = g.constant(0.0);
            for i in 0..16 {
                let p = g.mul(w.at(i), x.at(i));
                acc = g.add(acc, p);
            }
            g.backward(acc);
            g.truncate(mark);
        });
    });
    for (nout, nin) in [(16, 16), (64, 16), (16, 64), (27, 16)] {
        c.bench_function(&format!("linear {nout}x{nin}: forward + backward"), |b| {
            let mut g = Graph::new();
            let w = g.leaves(&pattern(nout * nin));
            let x = g.leaves(&pattern(nin));
            let mark = g.mark();
            b.iter(|| {
                let y = g.linear(w, x, nout);
                let loss = g.sum(y.iter());
                g.backward(black_box(loss));
                g.truncate(mark);
            });
        });
    }
    c.bench_function("rmsnorm 16: forward + backward", |b| {
        let mut g = Graph::new();
        let x = g.leaves(&pattern(16));
        let mark = g.mark();
        b.iter(|| {
            let y = g.rmsnorm(x, 16);
            g.backward(y.at(3));
            g.truncate(mark);
        });
    });
    c.bench_function(
        "causal attention, 8 rows, 4 heads x 4 dims: forward + backward",
        |b| {
            let mut g = Graph::new();
            let q = g.leaves(&pattern(128));
            let k = g.leaves(&pattern(128));
            let v = g.leaves(&pattern(128));
            let mark = g.mark();
            b.iter(|| {
                let shape = AttentionShape {
                    width: 16,
                    n_head: 4,
                    pos0: 0,
                    scale: 0.5,
                };
                let y = g.attention(q, k, v, shape);
                g.backward(y.out.at(5));
                g.truncate(mark);
            });
        },
    );
    c.bench_function("cross_entropy 27: forward + backward", |b| {
        let mut g = Graph::new();
        let l = g.leaves(&pattern(27));
        let mark = g.mark();
        b.iter(|| {
            let loss = g.cross_entropy(l, &[3]);
            g.backward(loss.at(0));
            g.truncate(mark);
        });
    });
}

criterion_group!(benches, ops);
criterion_main!(benches);
