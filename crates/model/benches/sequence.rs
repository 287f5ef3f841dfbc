//! One training sequence through the reference model: forward, and forward plus
//! backward, in both modes.

use autograd::Graph;
use criterion::{Criterion, criterion_group, criterion_main};
use model::{Gpt, Mode};
use params::{ChaChaInit, ModelConfig, StateDict};

fn sequence(c: &mut Criterion) {
    // BOS, "emma", BOS: 5 positions, close to the average name.
    let tokens = [26, 4, 12, 12, 0, 26];
    for mode in [Mode::Fast, Mode::Exact] {
        let mut graph = Graph::with_arith(mode.arith());
        let state = StateDict::new(
            &mut graph,
            &ModelConfig::reference(27),
            &mut ChaChaInit::new(42),
        )
        .unwrap();
        let gpt = Gpt::new(&state, mode);
        let mut cache = gpt.new_cache();
        let mark = graph.mark();
        c.bench_function(&format!("{mode:?}: loss of 5 positions"), |b| {
            b.iter(|| {
                gpt.loss(&mut graph, &mut cache, &tokens).unwrap();
                graph.truncate(mark);
            });
        });
        c.bench_function(
            &format!("{mode:?}: loss and backward of 5 positions"),
            |b| {
                b.iter(|| {
                    let loss = gpt.loss(&mut graph, &mut cache, &tokens).unwrap();
                    gpt.backward(&mut graph, loss);
                    graph.truncate(mark);
                });
            },
        );
    }
}

criterion_group!(benches, sequence);
criterion_main!(benches);
