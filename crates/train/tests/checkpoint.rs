//! Checkpoints: a save and a load change no bit, a run stopped and resumed is the
//! run that never stopped, bit for bit, with either generator, and a checkpoint
//! that does not fit is refused with a message that says why.

use params::{Activation, Dtype, InitStd};
use train::{
    AdamConfig, Checkpoint, Dataset, Error, Inference, LrSchedule, Preset, RngKind, Sizes,
    TrainConfig, Trainer,
};

fn config(rng: RngKind, steps: usize) -> TrainConfig {
    // Not the defaults, so that a setting lost on the way shows.
    TrainConfig {
        steps,
        adam: AdamConfig {
            learning_rate: 0.013,
            ..AdamConfig::default()
        },
        seed: 7,
        temperature: 0.7,
        samples: 12,
        rng,
        // As `--rng python` meant before `--exact`: the reference's arithmetic.
        exact: rng == RngKind::Python,
        ..TrainConfig::default()
    }
}

fn trainer(config: TrainConfig) -> Trainer {
    Trainer::new(Dataset::embedded(), Sizes::default(), config, u128::MAX).unwrap()
}

fn bits(xs: &[f64]) -> Vec<u64> {
    xs.iter().map(|x| x.to_bits()).collect()
}

fn finish(t: &mut Trainer) -> Vec<String> {
    while !t.is_done() {
        t.step().unwrap();
    }
    t.sample(t.config().samples).unwrap()
}

/// Trains to `stop`, saves, goes through the JSON text, resumes, and finishes.
fn stop_and_resume(config: TrainConfig, stop: usize) -> (Trainer, Vec<String>) {
    let mut first = trainer(config);
    for _ in 0..stop {
        first.step().unwrap();
    }
    let text = first.checkpoint().unwrap().to_json();
    drop(first);
    let checkpoint = Checkpoint::from_json(&text).unwrap();
    assert_eq!(checkpoint.step, stop);
    let mut resumed = Trainer::resume(Dataset::embedded(), &checkpoint, u128::MAX, false).unwrap();
    assert_eq!(resumed.steps_done(), stop);
    let samples = finish(&mut resumed);
    (resumed, samples)
}

#[test]
fn a_resumed_run_is_the_uninterrupted_run_bit_for_bit() {
    // Both generators in both arithmetics.
    let kinds = [RngKind::ChaCha, RngKind::Python];
    for (rng, exact) in kinds.into_iter().flat_map(|r| [(r, false), (r, true)]) {
        let config = TrainConfig {
            exact,
            ..config(rng, 60)
        };
        let mut whole = trainer(config);
        let whole_samples = finish(&mut whole);
        assert_eq!(whole.losses().len(), 60);
        // Mid-run, right after initialisation, and after the last step (only the
        // samples are left to do).
        for stop in [25, 0, 60] {
            let (resumed, samples) = stop_and_resume(config, stop);
            assert_eq!(
                bits(resumed.losses()),
                bits(whole.losses()),
                "{rng:?} exact {exact}, stopped at {stop}: the losses differ"
            );
            assert_eq!(
                samples, whole_samples,
                "{rng:?} exact {exact}, stopped at {stop}"
            );
            assert_eq!(
                resumed.checkpoint().unwrap(),
                whole.checkpoint().unwrap(),
                "{rng:?} exact {exact}, stopped at {stop}: the final state differs"
            );
        }
        // The check is not vacuous: another seed gives other losses and names.
        let (other, other_samples) = stop_and_resume(TrainConfig { seed: 8, ..config }, 25);
        assert_ne!(
            bits(other.losses()),
            bits(whole.losses()),
            "{rng:?} exact {exact}"
        );
        assert_ne!(other_samples, whole_samples, "{rng:?} exact {exact}");
    }
}

#[test]
fn a_v2_run_resumes_bit_for_bit_and_its_checkpoint_records_every_v2_setting() {
    for rng in [RngKind::ChaCha, RngKind::Python] {
        // v2, with two of its settings overridden, so that each is read from the
        // checkpoint rather than from the preset.
        let config = TrainConfig {
            steps: 40,
            seed: 5,
            rng,
            init: InitStd {
                std: 0.05,
                ..InitStd::V2
            },
            adam: AdamConfig {
                beta2: 0.98,
                ..AdamConfig::v2()
            },
            ..Preset::V2.train_config()
        };
        let sizes = Sizes {
            n_embd: 8,
            ..Preset::V2.sizes()
        };
        let run = || Trainer::new(Dataset::embedded(), sizes, config, u128::MAX).unwrap();
        let mut whole = run();
        let whole_samples = finish(&mut whole);
        let mut first = run();
        for _ in 0..15 {
            first.step().unwrap();
        }
        let text = first.checkpoint().unwrap().to_json();
        let checkpoint = Checkpoint::from_json(&text).unwrap();
        assert_eq!(checkpoint.train, config, "{rng:?}");
        assert_eq!(checkpoint.model.activation, Activation::Relu);
        assert_eq!(checkpoint.model.block_size, 16);
        for field in [
            "\"activation\":\"relu\"",
            "\"schedule\":\"linear\"",
            "\"beta1\":0.85",
            "\"beta2\":0.98",
            "\"init\":{\"std\":0.05,\"zero_init_proj\":false}",
            "\"preset\":\"v2\"",
        ] {
            assert!(
                text.contains(field),
                "{rng:?}: {field} is not in the checkpoint"
            );
        }
        let mut resumed =
            Trainer::resume(Dataset::embedded(), &checkpoint, u128::MAX, false).unwrap();
        let samples = finish(&mut resumed);
        assert_eq!(bits(resumed.losses()), bits(whole.losses()), "{rng:?}");
        assert_eq!(samples, whole_samples, "{rng:?}");
        assert_eq!(
            resumed.checkpoint().unwrap(),
            whole.checkpoint().unwrap(),
            "{rng:?}"
        );
    }
}

#[test]
fn a_v1_checkpoint_reads_as_before_and_leaves_the_new_settings_out() {
    let text = trainer(config(RngKind::ChaCha, 5))
        .checkpoint()
        .unwrap()
        .to_json();
    for field in ["activation", "schedule", "init", "preset"] {
        assert!(
            !text.contains(&format!("\"{field}\"")),
            "{field} is written for v1"
        );
    }
    let c = Checkpoint::from_json(&text).unwrap();
    assert_eq!(c.model.activation, Activation::Relu2);
    assert_eq!(c.train.adam.schedule, LrSchedule::Cosine);
    assert_eq!((c.train.init, c.train.preset), (InitStd::V1, Preset::V1));
}

#[test]
fn save_then_load_gives_the_same_state_bit_for_bit() {
    for rng in [RngKind::ChaCha, RngKind::Python] {
        let mut t = trainer(config(rng, 30));
        for _ in 0..11 {
            t.step().unwrap();
        }
        let saved = t.checkpoint().unwrap();
        let dir =
            std::env::temp_dir().join(format!("microgpt-ckpt-{}-{rng:?}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.json");
        std::fs::write(&path, saved.to_json()).unwrap();
        let loaded = Checkpoint::load(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();

        assert_eq!(loaded, saved, "{rng:?}");
        assert_eq!(loaded.to_json(), saved.to_json(), "{rng:?}");
        // What the trainer held, bit for bit: weights, both moments, generator, step.
        let restored = Trainer::resume(Dataset::embedded(), &loaded, u128::MAX, false).unwrap();
        let weights = |t: &Trainer| bits(&t.values(t.state().params()));
        assert_eq!(weights(&restored), weights(&t), "{rng:?}: weights");
        let ([m0, v0], [m1, v1]) = (restored.moments(), t.moments());
        assert_eq!(bits(&m0), bits(&m1), "{rng:?}: m");
        assert_eq!(bits(&v0), bits(&v1), "{rng:?}: v");
        assert_eq!(
            restored.rng().state(),
            t.rng().state(),
            "{rng:?}: generator"
        );
        assert_eq!(restored.steps_done(), 11);
        assert!(
            t.moments()[1].iter().any(|&v| v > 0.0),
            "the moments are not all zero"
        );
    }
}

#[test]
fn every_f64_survives_the_text() {
    let mut c = trainer(config(RngKind::ChaCha, 5)).checkpoint().unwrap();
    let awkward = [
        5e-324, // the smallest subnormal
        -0.0,   // a sign bit alone
        f64::MAX,
        f64::MIN_POSITIVE,
        0.1 + 0.2, // 0.30000000000000004
        1.0 + f64::EPSILON,
        -1.234_567_890_123_456_7e-300,
        std::f64::consts::PI,
    ];
    c.weights.tensors[0].values[..awkward.len()].copy_from_slice(&awkward);
    // Adam's first moments, which may be negative (the second ones may not).
    c.adam_m.tensors[1].values[..awkward.len()].copy_from_slice(&awkward);
    let back = Checkpoint::from_json(&c.to_json()).unwrap();
    assert_eq!(
        bits(&back.weights.tensors[0].values[..awkward.len()]),
        bits(&awkward)
    );
    assert_eq!(
        bits(&back.adam_m.tensors[1].values[..awkward.len()]),
        bits(&awkward)
    );
}

#[test]
fn sampling_from_a_final_checkpoint_gives_the_runs_names() {
    for rng in [RngKind::ChaCha, RngKind::Python] {
        let mut t = trainer(config(rng, 40));
        while !t.is_done() {
            t.step().unwrap();
        }
        let checkpoint = t.checkpoint().unwrap();
        let names = t.sample(6).unwrap();
        let mut inference = Inference::from_checkpoint(&checkpoint).unwrap();
        let again: Vec<String> = (0..6)
            .map(|_| inference.generate(0.7, &[]).unwrap())
            .collect();
        assert_eq!(again, names, "{rng:?}");

        // A prefix is fed first and continued.
        inference.reseed(3);
        let prefix = inference.encode_prefix("ka").unwrap();
        for _ in 0..10 {
            let name = inference.generate(0.7, &prefix).unwrap();
            assert!(name.starts_with("ka"), "{name:?}");
        }
        let err = inference.encode_prefix("kA").unwrap_err();
        assert!(err.to_string().contains("'A'"), "{err}");
        let err = inference.encode_prefix("abcdefgh").unwrap_err();
        assert!(err.to_string().contains("block_size"), "{err}");
        assert!(inference.encode_prefix("abcdefg").is_ok(), "7 + BOS fill 8");
        for t in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let err = inference.generate(t, &[]).unwrap_err();
            assert!(err.to_string().contains("temperature"), "{err}");
        }
    }
}

#[test]
fn other_data_is_refused_unless_forced_with_the_same_vocabulary() {
    let checkpoint = {
        let mut t = trainer(config(RngKind::ChaCha, 20));
        t.step().unwrap();
        t.checkpoint().unwrap()
    };
    let small = Dataset::from_text("small.txt", "emma\nliam\n").unwrap();
    let err = Trainer::resume(small.clone(), &checkpoint, u128::MAX, false).unwrap_err();
    assert!(matches!(err, Error::DataMismatch { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("<embedded names> (29910 documents")
            && msg.contains("small.txt (2 documents")
            && !msg.contains("--"),
        "{msg}"
    );
    let err = Trainer::resume(small, &checkpoint, u128::MAX, true).unwrap_err();
    assert!(matches!(err, Error::VocabMismatch { .. }), "{err}");
    assert!(err.to_string().contains("lacks"), "{err}");

    // The same names in another order: other data, the same vocabulary.
    let embedded = Dataset::embedded();
    let mut docs: Vec<&str> = embedded.docs().collect();
    docs.reverse();
    let reversed = Dataset::from_docs("reversed", docs).unwrap();
    assert!(Trainer::resume(reversed.clone(), &checkpoint, u128::MAX, false).is_err());
    let mut t = Trainer::resume(reversed, &checkpoint, u128::MAX, true).unwrap();
    assert_eq!(t.data().name, "reversed");
    t.step().unwrap();
}

#[test]
fn broken_and_foreign_checkpoints_are_refused_clearly() {
    let good = {
        let mut t = trainer(config(RngKind::Python, 20));
        t.step().unwrap();
        t.step().unwrap();
        t.checkpoint().unwrap()
    };
    let text = good.to_json();

    let err = Checkpoint::from_json(&text[..text.len() / 2]).unwrap_err();
    assert!(matches!(err, Error::CheckpointJson { .. }), "{err}");
    assert!(err.to_string().contains("line"), "{err}");

    let state_dict = params::golden_init().to_json();
    let err = Checkpoint::from_json(&state_dict).unwrap_err();
    assert!(
        err.to_string()
            .contains(r#"expected format "microgpt-checkpoint", found "microgpt-state-dict""#),
        "{err}"
    );
    let v3 = text.replacen("\"version\": 2,", "\"version\": 3,", 1);
    let err = Checkpoint::from_json(&v3).unwrap_err();
    assert!(err.to_string().contains("is version 3"), "{err}");

    // One digit of one weight changed: still a number, but not the file written.
    let values = text.find("\"values\": [").unwrap();
    let digit = values
        + text[values..]
            .find(|c: char| ('1'..='8').contains(&c))
            .unwrap();
    let mut changed = text.clone().into_bytes();
    changed[digit] += 1;
    let changed = String::from_utf8(changed).unwrap();
    let err = Checkpoint::from_json(&changed).unwrap_err();
    assert!(matches!(err, Error::ChecksumMismatch { .. }), "{err}");
    assert!(
        err.to_string().contains("changed after it was written"),
        "{err}"
    );
    let unsummed = text.replacen("\n  \"checksum\"", "\n  \"checksun\"", 1);
    let err = Checkpoint::from_json(&unsummed).unwrap_err();
    assert!(err.to_string().contains("has none"), "{err}");

    // Version 1, the same text without the checksum line, still loads.
    let mut v1 = good.clone();
    v1.version = 1;
    let v1_text = v1.to_json();
    assert!(!v1_text.contains("checksum"));
    assert_eq!(Checkpoint::from_json(&v1_text).unwrap(), v1);
    let start = text.find("\n  \"checksum\"").unwrap();
    let end = start + 1 + text[start + 1..].find('\n').unwrap();
    let stripped = format!("{}{}", &text[..start], &text[end..]).replacen(
        "\"version\": 2",
        "\"version\": 1",
        1,
    );
    assert_eq!(
        stripped, v1_text,
        "version 2 is version 1 and a checksum line"
    );

    // A negative second moment cannot come from training: refused, not resumed
    // into a divergence.
    let mut c = good.clone();
    c.adam_v.tensors[1].values[3] = -1e-9;
    let err = Checkpoint::from_json(&c.to_json()).unwrap_err();
    assert!(
        err.to_string()
            .contains("\"adam_v\" holds -1e-9 at index 3"),
        "{err}"
    );

    let mut c = good.clone();
    c.losses.pop();
    let err = Checkpoint::from_json(&c.to_json()).unwrap_err();
    assert!(err.to_string().contains("1 losses for 2 steps"), "{err}");

    let mut c = good.clone();
    c.adam_m.tensors[2].values.pop();
    let err = Checkpoint::from_json(&c.to_json()).unwrap_err();
    assert!(err.to_string().contains("\"adam_m\""), "{err}");

    let mut c = good.clone();
    c.train.rng = RngKind::ChaCha;
    let err = Checkpoint::from_json(&c.to_json()).unwrap_err();
    assert!(err.to_string().contains("generator state"), "{err}");

    // A config far larger than the values the file holds is refused before any
    // memory is set aside for it.
    let mut c = good.clone();
    c.model.n_layer = 1 << 40;
    let err = Checkpoint::from_json(&c.to_json()).unwrap_err();
    assert!(
        err.to_string()
            .contains("lacks the tensor `layer1.attn_wq`"),
        "{err}"
    );
    let mut c = good.clone();
    c.model.n_embd = 1 << 40;
    c.model.n_head = 1;
    let err = Checkpoint::from_json(&c.to_json()).unwrap_err();
    assert!(
        err.to_string().contains("has `wte` of shape [27, 16] with 432 values where the model has `wte` of shape [27, 1099511627776]"),
        "{err}"
    );

    // A shape that matches an absurd config but not the values it holds.
    let mut c = good.clone();
    c.model.n_embd = 1 << 62;
    c.model.n_head = 1;
    c.weights.tensors[0].shape = vec![27, 1 << 62];
    let err = Checkpoint::from_json(&c.to_json()).unwrap_err();
    assert!(err.to_string().contains("with 432 values"), "{err}");

    // A generator state the generator would refuse: refused on loading, not later.
    let mut c = good.clone();
    if let train::RngState::Python(py) = &mut c.rng {
        py.key.truncate(152);
    }
    let err = Checkpoint::from_json(&c.to_json()).unwrap_err();
    assert!(
        err.to_string()
            .contains("CPython generator state is invalid"),
        "{err}"
    );

    let mut c = good.clone();
    c.vocab.pop();
    let err = Checkpoint::from_json(&c.to_json()).unwrap_err();
    assert!(err.to_string().contains("vocab_size is 27"), "{err}");

    let mut c = good;
    c.step = 21;
    c.losses.resize(21, 1.0);
    let err = Checkpoint::from_json(&c.to_json()).unwrap_err();
    assert!(err.to_string().contains("past the end"), "{err}");
}

#[test]
fn a_checkpoint_from_before_exact_reads_python_as_exact() {
    // Written before `train.exact` existed: `"rng": "python"` then meant exact.
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/fuzz/checkpoint");
    let text = std::fs::read_to_string(dir.join("seed-checkpoint-python.json")).unwrap();
    assert!(!text.contains("exact"), "the fixture predates the field");
    let old = Checkpoint::from_json(&text).unwrap();
    assert_eq!((old.train.rng, old.train.exact), (RngKind::Python, true));
    // Saved again, it says so, and reads back the same.
    let again = old.to_json();
    assert!(again.contains(r#""rng":"python","exact":true"#), "{again}");
    assert_eq!(Checkpoint::from_json(&again).unwrap(), old);
    // An explicit field wins: the Python generator with the fast arithmetic.
    let fast = again.replace(r#""exact":true"#, r#""exact":false"#);
    assert!(!Checkpoint::from_json(&fast).unwrap().train.exact);
    // So do version 2 files written before the field (their checksum covers the
    // text as written, without it).
    let text = std::fs::read_to_string(dir.join("seed-checkpoint-python-v2.json")).unwrap();
    assert!(!text.contains("exact"), "the fixture predates the field");
    let v2 = Checkpoint::from_json(&text).unwrap();
    assert_eq!(
        (v2.version, v2.train.rng, v2.train.exact),
        (2, RngKind::Python, true)
    );
    // ChaCha never implied exact.
    let text = std::fs::read_to_string(dir.join("seed-checkpoint-chacha.json")).unwrap();
    let old = Checkpoint::from_json(&text).unwrap();
    assert_eq!((old.train.rng, old.train.exact), (RngKind::ChaCha, false));
}

#[test]
fn an_f32_run_resumes_bit_for_bit_and_its_checkpoint_holds_f32s() {
    for rng in [RngKind::ChaCha, RngKind::Python] {
        let config = TrainConfig {
            dtype: Dtype::F32,
            exact: false,
            ..config(rng, 60)
        };
        let mut whole = trainer(config);
        let whole_samples = finish(&mut whole);
        assert_eq!(whole.dtype(), Dtype::F32);
        // 30 steps, then the checkpoint through its text, then the other 30.
        let (resumed, samples) = stop_and_resume(config, 30);
        assert_eq!(bits(resumed.losses()), bits(whole.losses()), "{rng:?}");
        assert_eq!(samples, whole_samples, "{rng:?}");
        let checkpoint = whole.checkpoint().unwrap();
        assert_eq!(resumed.checkpoint().unwrap(), checkpoint, "{rng:?}");
        let text = checkpoint.to_json();
        assert!(text.contains("\"dtype\":\"f32\""), "{rng:?}");
        assert_eq!(
            Checkpoint::from_json(&text).unwrap().train.dtype,
            Dtype::F32
        );
        // Every number is an f32 (written as the f64 equal to it), and the run is
        // not the f64 one.
        for part in [&checkpoint.weights, &checkpoint.adam_m, &checkpoint.adam_v] {
            let values = part.tensors.iter().flat_map(|t| &t.values);
            assert!(values.into_iter().all(|&v| f64::from(v as f32) == v));
        }
        let f64_run = trainer(TrainConfig {
            dtype: Dtype::F64,
            ..config
        });
        assert_ne!(
            bits(&whole.values(whole.state().params())),
            bits(&f64_run.values(f64_run.state().params())),
            "the initial weights are rounded to f32"
        );

        // Sampling from a final checkpoint runs the f32 model, and gives the
        // names the run gives.
        let mut t = trainer(config);
        while !t.is_done() {
            t.step().unwrap();
        }
        let mut inference = Inference::from_checkpoint(&t.checkpoint().unwrap()).unwrap();
        assert_eq!(inference.dtype(), Dtype::F32);
        let again: Vec<String> = (0..3)
            .map(|_| inference.generate(0.7, &[]).unwrap())
            .collect();
        assert_eq!(again, t.sample(3).unwrap(), "{rng:?}");
    }
}

#[test]
fn f32_is_refused_with_exact_and_a_non_f32_value_in_an_f32_checkpoint() {
    let config = TrainConfig {
        dtype: Dtype::F32,
        exact: true,
        ..config(RngKind::Python, 5)
    };
    let err = Trainer::new(Dataset::embedded(), Sizes::default(), config, u128::MAX).unwrap_err();
    assert!(
        matches!(err, Error::ExactNeedsF64 { dtype: Dtype::F32 }),
        "{err}"
    );
    let mut checkpoint = trainer(TrainConfig {
        exact: false,
        ..config
    })
    .checkpoint()
    .unwrap();
    checkpoint.weights.tensors[0].values[3] = 0.1;
    let err = Checkpoint::from_json(&checkpoint.to_json()).unwrap_err();
    assert!(err.to_string().contains("which is not an f32"), "{err}");
}
