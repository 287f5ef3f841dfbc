//! Bit-for-bit parity with reference runs.
//!
//! `fixtures/parity/*.txt` are outputs of `scripts/reference.py --full`, a faithful
//! Python implementation of the reference program (both versions: `v2_*` are runs of
//! `--preset v2`, whose step lines end in `\r`), made by
//! `scripts/make_parity_fixtures.sh`. Each starts with the arguments of its run.
//! Here each is replayed exactly (the CPython-compatible generator and the exact
//! arithmetic, as `--exact` runs) and every loss must
//! match to the last bit (the fixtures print them with `repr`), and every sample
//! exactly. The full 500-step comparison with the reference program's own output
//! is `cargo xtask parity`, which needs `../shared/`.

use std::path::{Path, PathBuf};

use params::Activation;
use train::{AdamConfig, Dataset, LrSchedule, Preset, RngKind, Sizes, TrainConfig, Trainer};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The settings a fixture's `# args:` line gives, on top of its preset's (a
/// `--preset` comes first).
fn parse_args(line: &str) -> (PathBuf, Sizes, TrainConfig) {
    let mut data = None;
    let words: Vec<&str> = line
        .trim_start_matches("# args:")
        .split_whitespace()
        .collect();
    let preset = match words[..2] {
        ["--preset", "v2"] => Preset::V2,
        _ => Preset::V1,
    };
    let mut sizes = preset.sizes();
    let mut config = TrainConfig {
        rng: RngKind::Python,
        exact: true,
        ..preset.train_config()
    };
    for pair in words.chunks(2) {
        let (flag, value) = (pair[0], pair[1]);
        let n = || value.parse::<usize>().unwrap();
        let f = || value.parse::<f64>().unwrap();
        match flag {
            "--preset" => {}
            "--activation" => {
                sizes.activation = match value {
                    "relu" => Activation::Relu,
                    _ => Activation::Relu2,
                }
            }
            "--init-std" => config.init.std = f(),
            "--zero-init-proj" => config.init.zero_init_proj = value == "true",
            "--beta1" => config.adam.beta1 = f(),
            "--beta2" => config.adam.beta2 = f(),
            "--lr-schedule" => {
                config.adam.schedule = match value {
                    "linear" => LrSchedule::Linear,
                    _ => LrSchedule::Cosine,
                }
            }
            "--data" => data = Some(root().join(value)),
            "--seed" => config.seed = value.parse().unwrap(),
            "--steps" => config.steps = n(),
            "--n-embd" => sizes.n_embd = n(),
            "--n-head" => sizes.n_head = n(),
            "--n-layer" => sizes.n_layer = n(),
            "--block-size" => sizes.block_size = n(),
            "--lr" => {
                config.adam = AdamConfig {
                    learning_rate: value.parse().unwrap(),
                    ..config.adam
                }
            }
            "--temperature" => config.temperature = value.parse().unwrap(),
            "--samples" => config.samples = n(),
            _ => panic!("unknown flag {flag} in a fixture"),
        }
    }
    (data.expect("fixtures name their data"), sizes, config)
}

fn check_fixture(name: &str) {
    let path = root().join("fixtures/parity").join(format!("{name}.txt"));
    let text = std::fs::read_to_string(&path).unwrap();
    // Lines with their endings: v2 ends each step line in `\r`.
    let mut lines = text.split_inclusive(['\n', '\r']);
    let (data, sizes, config) = parse_args(lines.next().unwrap().trim_end());
    let preset = config.preset;
    let end = preset.step_end();
    let mut trainer =
        Trainer::new(Dataset::load(&data).unwrap(), sizes, config, u128::MAX).unwrap();

    let header = [
        format!("num docs: {}", trainer.num_docs()),
        format!("vocab size: {}", trainer.model_config().vocab_size),
        format!("num params: {}", trainer.state().num_params()),
    ];
    for expected in header {
        assert_eq!(lines.next().unwrap(), expected + "\n", "{name}");
    }
    for step in 1..=config.steps {
        let line = lines.next().unwrap();
        assert!(line.ends_with(end), "{name}: step {step} ends {line:?}");
        let expected: f64 = line.trim_end().rsplit(' ').next().unwrap().parse().unwrap();
        let got = trainer.step().unwrap().loss;
        assert_eq!(
            got.to_bits(),
            expected.to_bits(),
            "{name}: step {step}: {got:?}, the reference has {expected:?}"
        );
    }
    assert_eq!(lines.next(), Some("\n"), "{name}");
    let header = format!("{}\n", preset.inference_header());
    assert_eq!(lines.next(), Some(header.as_str()), "{name}");
    for (i, sample) in trainer.sample(config.samples).unwrap().iter().enumerate() {
        assert_eq!(
            lines.next().unwrap(),
            format!("sample {:2}: {sample}\n", i + 1),
            "{name}"
        );
    }
    assert_eq!(lines.next(), None, "{name}: the fixture has more lines");
}

#[test]
fn names_seed7() {
    check_fixture("names_seed7");
}

#[test]
fn accented_dataset_with_spaces_and_crlf() {
    check_fixture("accented_seed3");
}

#[test]
fn three_layers_with_three_dim_heads() {
    check_fixture("deep_head3");
}

#[test]
fn eight_heads_over_sixteen_positions() {
    check_fixture("wide_block16");
}

#[test]
fn v2_names_seed7() {
    check_fixture("v2_names_seed7");
}

#[test]
fn v2_accented_dataset_with_spaces_and_crlf() {
    check_fixture("v2_accented_seed3");
}

#[test]
fn v2_three_layers_with_three_dim_heads() {
    check_fixture("v2_deep_head3");
}

#[test]
fn v2_with_its_settings_overridden_by_flags() {
    check_fixture("v2_mixed");
}
