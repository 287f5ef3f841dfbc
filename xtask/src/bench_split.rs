//! Where a training step goes: the forward pass (with the loss), the backward
//! pass and Adam, each timed alone, and the machine they ran on.
//!
//! The same step as `Trainer::step`, taken apart: the reference configuration,
//! ChaCha's initial weights, Adam's defaults, one document per step (in file
//! order, already tokenized, so that no phase pays for the data), in either dtype.

use std::time::Instant;

use autograd::{Float, Graph};
use model::{Gpt, Mode};
use params::{ChaChaInit, StateDict};
use train::{Adam, AdamConfig, Dataset, Sizes, Tokenizer};

/// The median µs of each phase of a step.
pub(crate) struct Split {
    pub(crate) forward: f64,
    pub(crate) backward: f64,
    pub(crate) adam: f64,
}

/// Times `steps` steps of `repeats` fresh runs, phase by phase, in `F`.
pub(crate) fn measure<F: Float>(
    data: &Dataset,
    steps: usize,
    repeats: usize,
) -> anyhow::Result<Split> {
    let tokenizer = Tokenizer::of_dataset(data);
    let config = Sizes::default().config(tokenizer.vocab_size());
    let docs = data
        .docs()
        .take(steps)
        .map(|doc| {
            let mut seq = Vec::new();
            tokenizer.encode_doc_into(doc, &mut seq).map(|()| seq)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut times: [Vec<f64>; 3] = Default::default();
    for _ in 0..repeats {
        let mut graph = Graph::<F>::empty(Mode::Fast.arith());
        let state = StateDict::new(&mut graph, &config, &mut ChaChaInit::new(42))?;
        let gpt = Gpt::new(&state, Mode::Fast);
        let mut adam = Adam::<F>::new(AdamConfig::default(), state.num_params(), graph.arith());
        let mut cache = gpt.new_cache();
        let mark = graph.mark();
        for (step, seq) in docs.iter().enumerate() {
            let t0 = Instant::now();
            let loss = gpt.loss(&mut graph, &mut cache, seq)?;
            let t1 = Instant::now();
            gpt.backward(&mut graph, loss);
            let t2 = Instant::now();
            let (p, g) = graph.values_and_grads_mut(state.params());
            anyhow::ensure!(adam.step(p, g, step, steps), "the benchmark diverged");
            let t3 = Instant::now();
            graph.truncate(mark);
            for (phase, (a, b)) in times.iter_mut().zip([(t0, t1), (t1, t2), (t2, t3)]) {
                phase.push((b - a).as_secs_f64() * 1e6);
            }
        }
    }
    let [mut f, mut b, mut a] = times;
    Ok(Split {
        forward: median(&mut f),
        backward: median(&mut b),
        adam: median(&mut a),
    })
}

/// The CPU's model name, as `lscpu` shows it (from `/proc/cpuinfo`).
pub(crate) fn cpu_model() -> String {
    crate::against::cpu_model().unwrap_or_else(|| "unknown".into())
}

/// The SIMD path the hot loops run on, and those this CPU has.
pub(crate) fn simd_line() -> String {
    let path = autograd::simd::path();
    let have = autograd::simd::SimdPath::available()
        .iter()
        .map(|p| p.name())
        .collect::<Vec<_>>()
        .join(", ");
    let how = if std::env::var_os(autograd::simd::ENV_VAR).is_some() {
        format!("forced by {}", autograd::simd::ENV_VAR)
    } else {
        "the widest".into()
    };
    format!("simd path: {path} ({how}; this CPU has {have})")
}

/// The median of `xs` (sorted in place).
pub(crate) fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}
