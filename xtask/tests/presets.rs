//! `--preset v2` end to end: the revision's output format, resumed runs that keep
//! it, flags that override each setting of the preset, and the files that record
//! them (checkpoints, exports, shapes).

use std::fs;

use train::Checkpoint;

mod common;
use common::{fails, ok, scratch, xtask};

/// Splits output into lines that keep their ending, `\n` or `\r`.
fn lines(out: &str) -> Vec<&str> {
    out.split_inclusive(['\n', '\r']).collect()
}

#[test]
fn v2_ends_step_lines_in_carriage_returns_and_a_resumed_run_keeps_them() {
    let dir = scratch("presets", "format");
    for rng in ["--rng chacha", "--exact"] {
        let run = format!("train --preset v2 {rng} --steps 30 --n-embd 8 --samples 4 --seed 3");
        let whole = ok(&dir, &run);
        let w = lines(&whole);
        assert_eq!(w.len(), 3 + 30 + 2 + 4, "{rng}: {whole:?}");
        assert!(w[..3].iter().all(|l| l.ends_with('\n')), "{rng}");
        assert_eq!(w[2], "num params: 1328\n", "{rng}: 8 wide, 16 positions");
        for (i, line) in w[3..33].iter().enumerate() {
            let start = format!("step {:4} /   30 | loss ", i + 1);
            assert!(
                line.starts_with(&start) && line.ends_with('\r'),
                "{rng}: {line:?}"
            );
        }
        assert_eq!(
            w[33], "\n",
            "{rng}: the newline that ends the last step's line"
        );
        assert_eq!(
            w[34], "--- inference (new, hallucinated names) ---\n",
            "{rng}"
        );
        assert!(w[35].starts_with("sample  1: "), "{rng}");

        let first = ok(&dir, &format!("{run} --stop-at 12 --save c.json"));
        assert_eq!(lines(&first), w[..3 + 12], "{rng}");
        let rest = ok(&dir, "train --resume c.json");
        let r = lines(&rest);
        assert_eq!(r[..3], w[..3], "{rng}");
        assert_eq!(
            r[3..],
            w[3 + 12..],
            "{rng}: the resumed run prints v2's format"
        );
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_setting_of_the_preset_is_a_flag_that_overrides_it() {
    // v2 with each of its settings set back to v1's is v1, loss for loss and name
    // for name; only the output format, which follows the preset, differs.
    let dir = scratch("presets", "override");
    let common = "train --exact --steps 25 --n-embd 8 --samples 5 --seed 11";
    let v1 = ok(&dir, common);
    let v2_as_v1 = ok(
        &dir,
        &format!(
            "{common} --preset v2 --block-size 8 --activation relu2 --init-std 0.02 \
             --zero-init-proj true --lr-schedule cosine --beta1 0.9 --beta2 0.95"
        ),
    );
    let v1_lines: Vec<&str> = v1.lines().collect();
    let v2_lines: Vec<String> = v2_as_v1
        .replace('\r', "\n")
        .replace(
            "\n\n--- inference (new, hallucinated names) ---",
            "\n\n--- inference ---",
        )
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(v2_lines, v1_lines);
    // And each flag matters on its own: v2 with one setting changed is not v2.
    let v2 = ok(&dir, &format!("{common} --preset v2"));
    for flag in [
        "--activation relu2",
        "--init-std 0.05",
        "--zero-init-proj true",
        "--lr-schedule cosine",
        "--beta1 0.9",
        "--beta2 0.95",
        "--block-size 4",
    ] {
        let other = ok(&dir, &format!("{common} --preset v2 {flag}"));
        assert_ne!(other, v2, "{flag} changed nothing");
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn v2_checkpoints_sample_export_and_refuse_contradicting_flags() {
    let dir = scratch("presets", "files");
    let trained = ok(
        &dir,
        "train --preset v2 --steps 20 --n-embd 8 --samples 5 --beta2 0.98 --save c.json",
    );
    let c = Checkpoint::load(&dir.join("c.json")).unwrap();
    assert_eq!(c.train.preset, train::Preset::V2);
    assert_eq!(c.model.activation, params::Activation::Relu);
    assert_eq!((c.train.adam.beta1, c.train.adam.beta2), (0.85, 0.98));

    let names: Vec<&str> = trained.lines().rev().take(5).collect();
    let sampled = ok(&dir, "sample --checkpoint c.json --samples 5");
    assert_eq!(sampled.lines().rev().collect::<Vec<_>>(), names);

    ok(&dir, "export --checkpoint c.json --out m.safetensors");
    let bytes = fs::read(dir.join("m.safetensors")).unwrap();
    let (_, metadata) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let meta = metadata.metadata().as_ref().unwrap();
    for (key, value) in [
        ("activation", "relu"),
        ("init_std", "0.08"),
        ("zero_init_proj", "false"),
        ("lr_schedule", "linear"),
        ("beta1", "0.85"),
        ("beta2", "0.98"),
        ("preset", "v2"),
    ] {
        assert_eq!(meta[key], value, "{key}");
    }
    let config: params::ModelConfig = serde_json::from_str(&meta["config"]).unwrap();
    assert_eq!(config, c.model);

    let err = fails(&dir, "train --resume c.json --preset v1 --activation relu2");
    assert!(
        err.contains("--preset v1 (the run has v2)")
            && err.contains("--activation relu2 (the run has relu)"),
        "{err}"
    );
    let err = fails(
        &dir,
        "train --resume c.json --beta2 0.99 --lr-schedule cosine",
    );
    assert!(
        err.contains("--beta2 0.99 (the run has 0.98)")
            && err.contains("--lr-schedule cosine (the run has linear)"),
        "{err}"
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn shapes_of_each_preset_are_the_golden_ones() {
    let dir = scratch("presets", "shapes");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let golden = |name: &str| fs::read_to_string(root.join("fixtures").join(name)).unwrap();
    assert_eq!(ok(&dir, "shapes"), golden("shapes_reference.json"));
    assert_eq!(
        ok(&dir, "shapes --preset v1"),
        golden("shapes_reference.json")
    );
    assert_eq!(ok(&dir, "shapes --preset v2"), golden("shapes_v2.json"));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_preset_settings_are_one_line() {
    let dir = scratch("presets", "bad");
    let err = fails(&dir, "train --init-std -1");
    assert!(err.contains("invalid --init-std: -1"), "{err}");
    let err = fails(&dir, "train --preset v2 --beta1 1");
    assert!(
        err.contains("invalid --beta1: 1") && err.contains("[0, 1)"),
        "{err}"
    );
    let out = xtask(&dir, "train --zero-init-proj maybe");
    assert_eq!(out.status.code(), Some(2));
    let out = xtask(&dir, "train --preset v3");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("v1") && stderr.contains("v2"), "{stderr}");
    assert!(fs::read_dir(&dir).unwrap().next().is_none(), "no file left");
    fs::remove_dir_all(&dir).unwrap();
}
