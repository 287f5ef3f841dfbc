//! Batches: the bits of a run do not depend on the number of threads, a batch's
//! loss is the mean of its documents' losses, and a checkpoint of a batched run
//! resumes bit for bit.

use train::{Dataset, Sizes, Threads, TrainConfig, Trainer};

/// A batched run's checkpoint after `steps` steps and its first samples, on
/// `threads` threads that share out Adam's update however small (or at the
/// default threshold, with `min_work` None).
fn run(
    sizes: Sizes,
    config: TrainConfig,
    threads: usize,
    min_work: Option<usize>,
) -> (train::Checkpoint, Vec<String>) {
    let mut t = Trainer::new(Dataset::embedded(), sizes, config, u128::MAX).unwrap();
    let pool = Threads::new(threads).unwrap();
    t.use_threads(match min_work {
        Some(w) => pool.with_min_work(w),
        None => pool,
    })
    .unwrap();
    assert_eq!(t.threads(), threads);
    while !t.is_done() {
        t.step().unwrap();
    }
    let samples = t.sample(5).unwrap();
    (t.checkpoint().unwrap(), samples)
}

fn bits(c: &train::Checkpoint) -> Vec<u64> {
    let mut all: Vec<u64> = c.losses.iter().map(|l| l.to_bits()).collect();
    for dict in [&c.weights, &c.adam_m, &c.adam_v] {
        for t in &dict.tensors {
            all.extend(t.values.iter().map(|x| x.to_bits()));
        }
    }
    all
}

#[test]
fn a_batch_of_16_gives_the_same_bits_on_1_2_and_3_threads() {
    for dtype in [params::Dtype::F64, params::Dtype::F32] {
        same_bits_on_any_threads(TrainConfig {
            steps: 12,
            batch_size: 16,
            dtype,
            ..TrainConfig::default()
        });
    }
}

fn same_bits_on_any_threads(config: TrainConfig) {
    // The reference size, with even its small Adam update shared out; and a
    // wider model (block 16, 4 heads of 8) with the default threshold.
    let wide = Sizes {
        n_embd: 32,
        block_size: 16,
        ..Sizes::default()
    };
    for (sizes, min_work) in [(Sizes::default(), Some(0)), (wide, None)] {
        let (one, samples) = run(sizes, config, 1, min_work);
        for threads in [2, 3] {
            let (many, many_samples) = run(sizes, config, threads, min_work);
            let what = format!("{} on {threads} threads, {sizes:?}", config.dtype);
            assert_eq!(bits(&one), bits(&many), "{what}");
            assert_eq!(samples, many_samples, "{what}");
        }
    }
}

#[test]
fn batches_as_small_as_the_threads_give_the_same_bits() {
    // Each graph gets at least one document; with more threads than documents,
    // only as many graphs as documents. Both presets: their sizes, activations
    // and Adam settings differ.
    for preset in [train::Preset::V1, train::Preset::V2] {
        for batch_size in [2, 3, 5] {
            let config = TrainConfig {
                steps: 6,
                batch_size,
                ..preset.train_config()
            };
            let sizes = preset.sizes();
            let (one, samples) = run(sizes, config, 1, None);
            for threads in [2, 3, 4] {
                let (many, many_samples) = run(sizes, config, threads, None);
                let what = format!("{preset:?}, batch {batch_size} on {threads} threads");
                assert_eq!(bits(&one), bits(&many), "{what}");
                assert_eq!(samples, many_samples, "{what}");
            }
        }
    }
}

#[test]
fn a_batched_run_trains_and_resumes_bit_for_bit() {
    let config = TrainConfig {
        steps: 30,
        batch_size: 8,
        ..TrainConfig::default()
    };
    let (whole, samples) = run(Sizes::default(), config, 2, None);
    assert_eq!(whole.train.batch_size, 8);
    // The mean loss falls over 30 steps of 8 documents.
    let (first, last) = (&whole.losses[..5], &whole.losses[25..]);
    assert!(
        last.iter().sum::<f64>() < first.iter().sum::<f64>(),
        "{:?}",
        whole.losses
    );
    // Stopped at step 11, saved as text, read back and resumed on one thread.
    let mut t = Trainer::new(Dataset::embedded(), Sizes::default(), config, u128::MAX).unwrap();
    for _ in 0..11 {
        t.step().unwrap();
    }
    let text = t.checkpoint().unwrap().to_json();
    assert!(
        text.contains("\"batch_size\":8"),
        "the checkpoint records the batch"
    );
    let saved = train::Checkpoint::from_json(&text).unwrap();
    let mut resumed = Trainer::resume(Dataset::embedded(), &saved, u128::MAX, false).unwrap();
    while !resumed.is_done() {
        resumed.step().unwrap();
    }
    assert_eq!(resumed.sample(5).unwrap(), samples);
    assert_eq!(bits(&resumed.checkpoint().unwrap()), bits(&whole));
}

#[test]
fn step_s_trains_on_documents_s_times_b_onwards_and_means_their_losses() {
    // A learning rate so small that no weight moves by a bit: every step then sees
    // the initial weights, and a batch-1 run's k-th loss is document k - 1's.
    let data =
        || Dataset::from_docs("five", ["emma", "olivia", "ava", "isabella", "sophia"]).unwrap();
    // In either arithmetic: the exact one builds each document's graph and their
    // mean, the fast one a forward pass over the batch's rows.
    for exact in [false, true] {
        let still = |batch_size, steps| {
            let mut config = TrainConfig {
                steps,
                batch_size,
                exact,
                ..TrainConfig::default()
            };
            config.adam.learning_rate = 1e-300;
            let mut t = Trainer::new(data(), Sizes::default(), config, u128::MAX).unwrap();
            (0..steps)
                .map(|_| t.step().unwrap().loss)
                .collect::<Vec<f64>>()
        };
        let single = still(1, 5);
        let batched = still(2, 4);
        // Steps of 2: documents 0 1, 2 3, 4 0, 1 2 (of the shuffled five).
        for (s, &loss) in batched.iter().enumerate() {
            let (a, b) = (single[(2 * s) % 5], single[(2 * s + 1) % 5]);
            // (1 / B) * sum(losses), the sum from 0 as the graph's sum adds.
            let mean = (0.0 + a + b) * (1.0 / 2.0);
            assert_eq!(
                loss.to_bits(),
                mean.to_bits(),
                "step {}: {loss} vs {mean}",
                s + 1
            );
        }
    }
}

#[test]
fn a_checkpoint_from_before_batches_reads_as_batch_1() {
    // Saved at commit f242f76, before batch_size existed (fixtures/batch1/).
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/batch1/v1.json");
    let text = std::fs::read_to_string(path).unwrap();
    assert!(!text.contains("batch_size"));
    let c = train::Checkpoint::from_json(&text).unwrap();
    assert_eq!(c.train.batch_size, 1);
}

#[test]
fn threads_whose_copies_of_the_parameters_would_not_fit_are_refused_up_front() {
    let config = TrainConfig {
        steps: 2,
        batch_size: 16,
        ..TrainConfig::default()
    };
    let trainer = |limit| Trainer::new(Dataset::embedded(), Sizes::default(), config, limit);
    let needed = trainer(u128::MAX).unwrap().memory_needed(3);
    // Each thread after the first: a copy of the 4,064 parameters and their
    // gradients, in f64.
    let one = trainer(u128::MAX).unwrap().memory_needed(1);
    assert_eq!(needed - one, 2 * 4064 * 2 * 8);
    // With exactly that, 3 fit; with a byte less, they are refused, 2 would fit,
    // and nothing was changed: the run still trains on one thread.
    let mut t = trainer(needed).unwrap();
    t.set_threads(3).unwrap();
    assert_eq!(t.threads(), 3);
    let mut t = trainer(needed - 1).unwrap();
    match t.set_threads(3) {
        Err(train::Error::TooManyThreads {
            threads: 3,
            fits: 2,
            ..
        }) => {}
        other => panic!("expected a refusal saying 2 fit, got {other:?}"),
    }
    assert_eq!(t.threads(), 1);
    // Threads made by the caller are checked the same way.
    let pool = train::Threads::new(3).unwrap();
    assert!(matches!(
        t.use_threads(pool),
        Err(train::Error::TooManyThreads { fits: 2, .. })
    ));
    assert_eq!(t.threads(), 1);
    t.step().unwrap();
    t.set_threads(2).unwrap();
    assert_eq!(t.threads(), 2);
}
