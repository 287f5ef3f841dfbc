//! The memory estimate against the graph one training step really builds.

use autograd::{Float, Graph};
use model::{Gpt, Mode, training_footprint};
use params::{ChaChaInit, Dtype, ModelConfig, StateDict};

fn config(
    vocab_size: usize,
    n_embd: usize,
    n_head: usize,
    n_layer: usize,
    block_size: usize,
) -> ModelConfig {
    ModelConfig {
        vocab_size,
        n_embd,
        n_head,
        n_layer,
        block_size,
        activation: Default::default(),
    }
}

/// The estimate of one training step of `config` in `mode` against the graph it
/// really builds, in a graph of `F`s.
fn check_estimate<F: Float>(config: &ModelConfig, mode: Mode) {
    let mut graph = Graph::<F>::empty(mode.arith());
    let state = StateDict::new(&mut graph, config, &mut ChaChaInit::new(1)).unwrap();
    let gpt = Gpt::new(&state, mode);
    // The longest step: block_size predictions.
    let tokens: Vec<usize> = (0..=config.block_size)
        .map(|i| (i * 5 + 1) % config.vocab_size)
        .collect();
    let loss = gpt.loss(&mut graph, &mut gpt.new_cache(), &tokens).unwrap();
    gpt.backward(&mut graph, loss);
    let estimate = training_footprint(config, mode);
    if mode == Mode::Exact {
        // The scalar graph is counted node by node.
        assert_eq!(estimate.slots, graph.len() as u128, "{config:?}");
    }
    graph.shrink_to_fit();
    let (real, est) = (
        graph.capacity_bytes() as f64,
        estimate.bytes(size_of::<F>()) as f64,
    );
    assert!(
        (est - real).abs() <= 0.2 * real,
        "{mode:?} {} {config:?}: estimate {est} B, real {real} B",
        F::NAME
    );
}

#[test]
fn the_estimate_is_within_a_fifth_of_the_real_graph() {
    let configs = [
        ModelConfig::reference(27),
        ModelConfig::reference_v2(27),
        config(11, 12, 3, 2, 5),
        config(40, 32, 4, 3, 16),
        config(7, 8, 1, 1, 3),
    ];
    for config in configs {
        for mode in [Mode::Fast, Mode::Exact] {
            check_estimate::<f64>(&config, mode);
            check_estimate::<f32>(&config, mode);
        }
    }
}

#[test]
fn an_impossible_size_is_refused_before_allocating() {
    let huge = config(27, 1 << 16, 4, 64, 1 << 12);
    for mode in [Mode::Fast, Mode::Exact] {
        let err = model::check_memory(&huge, mode, Dtype::F64, 16, 16 << 30).unwrap_err();
        assert!(err.to_string().contains("would need"), "{err}");
    }
    model::check_memory(
        &ModelConfig::reference(27),
        Mode::Exact,
        Dtype::F64,
        16,
        1 << 30,
    )
    .unwrap();
}
