//! Bit-for-bit parity with reference runs.
//!
//! `fixtures/parity/*.txt` are outputs of `scripts/reference.py --full`, a faithful
//! Python implementation of the reference program, made by
//! `scripts/make_parity_fixtures.sh`. Each starts with the arguments of its run.
//! Here each is replayed exactly (the CPython-compatible generator and the exact
//! arithmetic, as `--exact` runs) and every loss must
//! match to the last bit (the fixtures print them with `repr`), and every sample
//! exactly. The full 500-step comparison with the reference program's own output
//! is `cargo xtask parity`, which needs `../shared/`.

use std::path::{Path, PathBuf};

use train::{AdamConfig, Dataset, RngKind, Sizes, TrainConfig, Trainer};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The settings a fixture's `# args:` line gives, on top of the reference defaults.
fn parse_args(line: &str) -> (PathBuf, Sizes, TrainConfig) {
    let mut data = None;
    let mut sizes = Sizes::default();
    let mut config = TrainConfig {
        rng: RngKind::Python,
        exact: true,
        ..TrainConfig::default()
    };
    let words: Vec<&str> = line
        .trim_start_matches("# args:")
        .split_whitespace()
        .collect();
    for pair in words.chunks(2) {
        let (flag, value) = (pair[0], pair[1]);
        let n = || value.parse::<usize>().unwrap();
        match flag {
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
    let mut lines = text.lines();
    let (data, sizes, config) = parse_args(lines.next().unwrap());
    let mut trainer =
        Trainer::new(Dataset::load(&data).unwrap(), sizes, config, u128::MAX).unwrap();

    let header = [
        format!("num docs: {}", trainer.num_docs()),
        format!("vocab size: {}", trainer.model_config().vocab_size),
        format!("num params: {}", trainer.state().num_params()),
    ];
    for expected in header {
        assert_eq!(lines.next().unwrap(), expected, "{name}");
    }
    for step in 1..=config.steps {
        let line = lines.next().unwrap();
        let expected: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        let got = trainer.step().unwrap().loss;
        assert_eq!(
            got.to_bits(),
            expected.to_bits(),
            "{name}: step {step}: {got:?}, the reference has {expected:?}"
        );
    }
    assert_eq!(lines.next(), Some(""));
    assert_eq!(lines.next(), Some("--- inference ---"));
    for (i, sample) in trainer.sample(config.samples).unwrap().iter().enumerate() {
        assert_eq!(
            lines.next().unwrap(),
            format!("sample {:2}: {sample}", i + 1),
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
