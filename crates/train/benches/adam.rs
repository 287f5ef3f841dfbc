//! One Adam step over the reference model's 4,064 parameters.

use autograd::Arith;
use criterion::{Criterion, criterion_group, criterion_main};
use train::{Adam, AdamConfig};

fn adam(c: &mut Criterion) {
    let n = 4064;
    let mut params: Vec<f64> = (0..n).map(|i| ((i as f64) * 0.618).sin() * 0.02).collect();
    for arith in [Arith::Fast, Arith::Exact] {
        let mut adam = Adam::new(AdamConfig::default(), n, arith);
        let mut step = 0;
        c.bench_function(&format!("adam step, 4064 parameters ({arith:?})"), |b| {
            b.iter(|| {
                let mut grads: Vec<f64> =
                    (0..n).map(|i| ((i + step) as f64).cos() * 1e-2).collect();
                adam.step(&mut params, &mut grads, step % 500, 500);
                step += 1;
            });
        });
    }
}

criterion_group!(benches, adam);
criterion_main!(benches);
