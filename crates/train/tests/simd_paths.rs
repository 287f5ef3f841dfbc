//! Every SIMD path this CPU has trains to the same bits: the losses, every weight
//! and both of Adam's moments after every step (so every gradient, through the
//! moments), and the sampled names, for both presets, in the fast and the exact
//! arithmetic, and in f32 (fast) too; and batches of 16, whose matrix products
//! take their rows in groups that differ from path to path.
//!
//! The paths are switched in this process with `autograd::simd::force`; this file
//! holds one test, so nothing else runs while it switches.

use autograd::simd::{self, SimdPath};
use params::Dtype;
use train::{Dataset, Preset, RngKind, TrainConfig, Trainer};

/// The bits of everything a run computes, step by step.
fn run(preset: Preset, exact: bool, dtype: Dtype, (steps, batch_size): (usize, usize)) -> Vec<u64> {
    let config = TrainConfig {
        steps,
        batch_size,
        rng: RngKind::ChaCha,
        exact,
        dtype,
        ..preset.train_config()
    };
    let mut trainer = Trainer::new(Dataset::embedded(), preset.sizes(), config, u128::MAX).unwrap();
    let mut bits = Vec::new();
    while !trainer.is_done() {
        let report = trainer.step().unwrap();
        bits.push(report.loss.to_bits());
        let params = trainer.state().params();
        // As f64s, which hold an f32 run's values exactly.
        bits.extend(trainer.values(params).iter().map(|x| x.to_bits()));
        let [m, v] = trainer.moments();
        bits.extend(m.iter().chain(v.iter()).map(|x| x.to_bits()));
    }
    for name in trainer.sample(20).unwrap() {
        bits.extend(name.bytes().map(u64::from));
        bits.push(u64::MAX);
    }
    bits
}

#[test]
fn every_path_computes_the_same_bits() {
    let paths = SimdPath::available();
    eprintln!("paths on this CPU: {paths:?}");
    let cases = [
        (Preset::V1, false, Dtype::F64, (60, 1)),
        (Preset::V2, false, Dtype::F64, (60, 1)),
        (Preset::V1, true, Dtype::F64, (4, 1)),
        (Preset::V2, true, Dtype::F64, (4, 1)),
        (Preset::V1, false, Dtype::F32, (60, 1)),
        (Preset::V2, false, Dtype::F32, (60, 1)),
        (Preset::V1, false, Dtype::F64, (8, 16)),
        (Preset::V1, false, Dtype::F32, (8, 16)),
    ];
    for (preset, exact, dtype, steps) in cases {
        simd::force(SimdPath::Scalar).unwrap();
        let scalar = run(preset, exact, dtype, steps);
        for &path in &paths {
            simd::force(path).unwrap();
            assert_eq!(simd::path(), path);
            let bits = run(preset, exact, dtype, steps);
            assert_eq!(bits.len(), scalar.len());
            if let Some(i) = (0..bits.len()).find(|&i| bits[i] != scalar[i]) {
                panic!(
                    "{preset:?} exact {exact} {dtype} (steps, batch) {steps:?}: the {path} path differs from the scalar one at value {i} of {}: {:e} vs {:e}",
                    bits.len(),
                    f64::from_bits(bits[i]),
                    f64::from_bits(scalar[i])
                );
            }
        }
    }
}
