//! The command line end to end: `train --stop-at/--save` then `--resume` prints the
//! uninterrupted run's lines, `sample` and `export` read checkpoints, and every bad
//! input is one line on standard error, a failed exit, and no file left behind.

use std::fs;

use train::Checkpoint;

mod common;
use common::{diverged_step, fails, metric_losses, ok, scratch, xtask};

#[test]
fn stop_save_and_resume_print_the_uninterrupted_run() {
    let dir = scratch("cli", "resume");
    // Either generator, in either arithmetic.
    for rng in [
        "--rng chacha",
        "--rng python",
        "--exact",
        "--exact --rng chacha",
    ] {
        let run = format!("train {rng} --steps 60 --samples 8 --seed 5");
        let whole = ok(&dir, &format!("{run} --metrics whole.jsonl"));
        let first = ok(
            &dir,
            &format!("{run} --stop-at 25 --save c.json --metrics first.jsonl"),
        );
        let rest = ok(&dir, "train --resume c.json --metrics rest.jsonl");

        let whole: Vec<&str> = whole.lines().collect();
        // The header, steps 1..=25, and nothing else: no samples yet.
        assert_eq!(first.lines().collect::<Vec<_>>(), whole[..3 + 25], "{rng}");
        // The header again, then steps 26..=60 and the samples.
        let rest: Vec<&str> = rest.lines().collect();
        assert_eq!(rest[..3], whole[..3], "{rng}");
        assert_eq!(rest[3..], whole[3 + 25..], "{rng}");
        assert!(rest.last().unwrap().starts_with("sample  8: "), "{rng}");

        // Every loss to the last bit, through the metrics' full-precision numbers.
        let whole_losses = metric_losses(&dir.join("whole.jsonl"));
        let mut joined = metric_losses(&dir.join("first.jsonl"));
        joined.extend(metric_losses(&dir.join("rest.jsonl")));
        assert_eq!(joined, whole_losses, "{rng}");
        assert_eq!(whole_losses.len(), 60);
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn metrics_lines_hold_step_loss_lr_and_time() {
    let dir = scratch("cli", "metrics");
    let out = ok(&dir, "train --steps 12 --lr 0.02 --metrics m.jsonl");
    let text = fs::read_to_string(dir.join("m.jsonl")).unwrap();
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 12);
    let mut last_time = 0.0;
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.as_object().unwrap().len(), 4, "{row}");
        assert_eq!(row["step"], i + 1);
        let lr = row["lr"].as_f64().unwrap();
        // The cosine schedule, written out: lr * 0.5 * (1 + cos(pi * step / steps)).
        let cosine = 0.02 * 0.5 * (1.0 + (std::f64::consts::PI * i as f64 / 12.0).cos());
        assert_eq!(lr.to_bits(), cosine.to_bits());
        let loss = row["loss"].as_f64().unwrap();
        let line = format!("step {:4} /   12 | loss {loss:.4}", i + 1);
        assert!(out.contains(&line), "{line} is not in the output");
        let t = row["elapsed_s"].as_f64().unwrap();
        assert!(t >= last_time, "time goes forward");
        last_time = t;
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_failed_run_keeps_its_last_checkpoint() {
    let dir = scratch("cli", "diverge");
    // A learning rate of 10 blows up within a few steps; --save-every 1 saves each.
    let err = fails(
        &dir,
        "train --steps 50 --lr 10 --save-every 1 --save c.json",
    );
    let step = diverged_step(&err);
    assert!(step >= 2, "{err}");
    let c = Checkpoint::load(&dir.join("c.json")).unwrap();
    assert_eq!(c.step, step - 1, "the last good step is saved");
    let names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["c.json"], "no temporary file is left");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sample_continues_the_run_or_a_prefix_and_refuses_bad_input() {
    let dir = scratch("cli", "sample");
    let trained = ok(&dir, "train --steps 80 --samples 5 --save c.json");
    let names: Vec<&str> = trained.lines().rev().take(5).collect();
    let sampled = ok(&dir, "sample --checkpoint c.json --samples 5");
    let again: Vec<&str> = sampled.lines().rev().collect();
    assert_eq!(
        again, names,
        "a final checkpoint samples what training printed"
    );

    let ka = ok(
        &dir,
        "sample --checkpoint c.json --samples 12 --prefix ka --seed 3",
    );
    assert_eq!(ka.lines().count(), 12);
    for line in ka.lines() {
        let name = line.split(": ").nth(1).unwrap();
        assert!(name.starts_with("ka"), "{line}");
    }
    let seeded = ok(&dir, "sample --checkpoint c.json --samples 5 --seed 3");
    assert_eq!(
        seeded,
        ok(&dir, "sample --checkpoint c.json --samples 5 --seed 3")
    );

    for t in ["0", "-1", "nan", "inf"] {
        let err = fails(
            &dir,
            &format!("sample --checkpoint c.json --temperature {t}"),
        );
        assert!(
            err.contains("temperature") && err.contains("positive finite"),
            "{err}"
        );
    }
    let err = fails(&dir, "sample --checkpoint c.json --prefix kX");
    assert!(
        err.contains("'X'") && err.contains("abcdefghijklmnopqrstuvwxyz"),
        "{err}"
    );
    let err = fails(&dir, "sample --checkpoint c.json --prefix abcdefgh");
    assert!(
        err.contains("--prefix \"abcdefgh\": a prefix of 8 characters leaves no room")
            && err.contains("(block_size) holds BOS and at most 7 more"),
        "{err}"
    );
    let err = fails(&dir, "sample --checkpoint missing.json");
    assert!(err.contains("missing.json"), "{err}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn export_writes_the_weights_as_f64_safetensors() {
    let dir = scratch("cli", "export");
    ok(&dir, "train --steps 20 --n-layer 2 --save c.json");
    ok(&dir, "export --checkpoint c.json --out model.safetensors");
    let c = Checkpoint::load(&dir.join("c.json")).unwrap();
    let bytes = fs::read(dir.join("model.safetensors")).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(file.len(), c.weights.tensors.len());
    assert_eq!(
        c.weights.tensors.len(),
        3 + 2 * 6,
        "two layers of six tensors"
    );
    for t in &c.weights.tensors {
        let view = file.tensor(&t.name).unwrap();
        assert_eq!(view.dtype(), safetensors::Dtype::F64, "{}", t.name);
        assert_eq!(view.shape(), t.shape, "{}", t.name);
        let values: Vec<u64> = view
            .data()
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap()).to_bits())
            .collect();
        let expected: Vec<u64> = t.values.iter().map(|v| v.to_bits()).collect();
        assert_eq!(values, expected, "{}", t.name);
    }
    let (_, metadata) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let meta = metadata.metadata().as_ref().unwrap();
    let config: params::ModelConfig = serde_json::from_str(&meta["config"]).unwrap();
    assert_eq!(config, c.model);
    assert_eq!(meta["vocab"], c.vocab);
    let order: Vec<&str> = meta["tensor_order"].split(',').collect();
    let names: Vec<&str> = c.weights.tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(order, names);

    let err = fails(&dir, "export --checkpoint missing.json --out x.safetensors");
    assert!(err.contains("missing.json"), "{err}");
    assert!(!dir.join("x.safetensors").exists());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_f32_run_exports_f32_safetensors_imports_them_back_and_samples() {
    let dir = scratch("cli", "export-f32");
    ok(&dir, "train --steps 20 --dtype f32 --save c.json");
    ok(&dir, "train --steps 20 --save wide.json");
    ok(&dir, "export --checkpoint c.json --out model.safetensors");
    let c = Checkpoint::load(&dir.join("c.json")).unwrap();
    assert_eq!(c.train.dtype, params::Dtype::F32);
    let bytes = fs::read(dir.join("model.safetensors")).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    for t in &c.weights.tensors {
        let view = file.tensor(&t.name).unwrap();
        assert_eq!(view.dtype(), safetensors::Dtype::F32, "{}", t.name);
        let values: Vec<f64> = view
            .data()
            .chunks_exact(4)
            .map(|b| f64::from(f32::from_le_bytes(b.try_into().unwrap())))
            .collect();
        assert_eq!(values, t.values, "{}", t.name);
    }
    let (_, metadata) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    assert_eq!(metadata.metadata().as_ref().unwrap()["dtype"], "f32");
    // Back into the checkpoint it came from: the same weights, bit for bit.
    ok(
        &dir,
        "import --safetensors model.safetensors --checkpoint c.json --out back.json",
    );
    let back = Checkpoint::load(&dir.join("back.json")).unwrap();
    assert_eq!(back.weights, c.weights);
    // Not into an f64 run's checkpoint.
    let err = fails(
        &dir,
        "import --safetensors model.safetensors --checkpoint wide.json --out no.json",
    );
    assert!(
        err.contains("is F32, but the checkpoint's run computes in f64"),
        "{err}"
    );
    assert!(!dir.join("no.json").exists());
    // Sampling and resuming keep the run's dtype; a resume may not change it.
    let names = ok(&dir, "sample --checkpoint c.json --samples 3 --seed 1");
    assert_eq!(names.lines().count(), 3, "{names}");
    let err = fails(&dir, "train --resume c.json --dtype f64");
    assert!(err.contains("--dtype f64 (the run has f32)"), "{err}");
    let err = fails(&dir, "train --exact --dtype f32");
    assert!(
        err.contains("--exact and --dtype f32 do not go together"),
        "{err}"
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn conflicting_resumes_are_refused_saying_what_differs() {
    let dir = scratch("cli", "conflict");
    ok(&dir, "train --steps 30 --stop-at 10 --save c.json");
    let before = fs::read(dir.join("c.json")).unwrap();

    let err = fails(&dir, "train --resume c.json --steps 40 --lr 0.02");
    assert!(
        err.contains("--steps 40 (the run has 30)") && err.contains("--lr 0.02 (the run has 0.01)"),
        "{err}"
    );
    let err = fails(&dir, "train --resume c.json --rng python --n-head 2");
    assert!(
        err.contains("--rng python (the run has chacha)")
            && err.contains("--n-head 2 (the run has 4)"),
        "{err}"
    );
    let err = fails(&dir, "train --resume c.json --exact");
    assert!(
        err.contains("--exact (the run uses the fast arithmetic)"),
        "{err}"
    );
    // Flags equal to the run's are no conflict.
    ok(
        &dir,
        "train --resume c.json --steps 30 --seed 42 --stop-at 11 --save d.json",
    );

    let err = fails(&dir, "train --resume c.json --stop-at 5");
    assert!(err.contains("choose one from 11 to 30"), "{err}");
    let err = fails(&dir, "train --steps 30 --stop-at 31");
    assert!(err.contains("choose one from 1 to 30"), "{err}");

    // Other data: refused, naming both fingerprints; with --force, accepted when
    // the vocabulary is the same.
    let embedded = train::Dataset::embedded();
    let mut names: Vec<&str> = embedded.docs().collect();
    names.reverse();
    fs::write(dir.join("reversed.txt"), names.join("\n")).unwrap();
    fs::write(dir.join("few.txt"), "anna\nbob\n").unwrap();
    let err = fails(&dir, "train --resume c.json --data reversed.txt");
    assert!(
        err.contains("<embedded names> (29910 documents, fingerprint ")
            && err.contains("reversed.txt (29910 documents, fingerprint ")
            && err.contains("--force"),
        "{err}"
    );
    let err = fails(&dir, "train --resume c.json --data few.txt --force");
    assert!(err.contains("vocabulary differs"), "{err}");
    ok(
        &dir,
        "train --resume c.json --data reversed.txt --force --save e.json",
    );
    let e = Checkpoint::load(&dir.join("e.json")).unwrap();
    assert_eq!((e.step, e.data.name.as_str()), (30, "reversed.txt"));

    let err = fails(&dir, "train --resume few.txt");
    assert!(err.contains("not a valid checkpoint"), "{err}");
    let err = fails(&dir, "train --steps 5 --save no/such/dir/c.json");
    assert!(err.contains("cannot write no/such/dir/c.json"), "{err}");

    assert_eq!(
        fs::read(dir.join("c.json")).unwrap(),
        before,
        "c.json is untouched"
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn plot_draws_the_whole_run_into_an_svg() {
    let dir = scratch("cli", "plot");
    ok(&dir, "train --steps 40 --stop-at 15 --save c.json");
    ok(&dir, "train --resume c.json --plot loss.svg");
    let svg = fs::read_to_string(dir.join("loss.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(
        svg.contains("microgpt loss: 40 steps, n_embd 16"),
        "the title names the run"
    );
    // The loss curve has a point for every step, the 15 before the resume included.
    let curve = svg
        .lines()
        .find(|l| l.contains("<polyline") && l.contains("#96B4E1") && l.matches(',').count() > 2)
        .unwrap();
    assert_eq!(curve.matches(',').count(), 40);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn exact_is_one_switch_in_the_help_and_in_the_checkpoint() {
    let dir = scratch("cli", "exact");
    let help = ok(&dir, "train --help");
    assert!(help.contains("--exact"), "{help}");
    assert!(help.contains("--rng <RNG>"), "{help}");
    // --exact alone takes the reference's generator; --rng alone the fast arithmetic.
    for (flags, rng, exact) in [
        ("--exact", "python", true),
        ("--rng python", "python", false),
        ("--exact --rng chacha", "chacha", true),
        ("", "chacha", false),
    ] {
        ok(&dir, &format!("train {flags} --steps 3 --save c.json"));
        let c = Checkpoint::load(&dir.join("c.json")).unwrap();
        assert_eq!(
            (c.train.rng.to_string().as_str(), c.train.exact),
            (rng, exact),
            "{flags}"
        );
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_bom_is_dropped_with_a_note_and_control_characters_are_named() {
    let dir = scratch("cli", "text");
    fs::write(dir.join("bom.txt"), "\u{feff}ann\nbob\n").unwrap();
    let out = xtask(&dir, "train --data bom.txt --steps 2 --samples 1");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("bom.txt starts with a byte-order mark (U+FEFF); it is dropped"),
        "{stderr}"
    );
    // a b n o, and BOS.
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("vocab size: 5")
    );
    // The reference mode keeps it, and says so.
    let out = xtask(&dir, "train --data bom.txt --steps 2 --samples 1 --exact");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("an exact run keeps it"), "{stderr}");
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("vocab size: 6")
    );

    fs::write(dir.join("ctl.txt"), "ann\nb\u{7}b\r\nc\u{1b}[0m\n").unwrap();
    let out = xtask(&dir, "train --data ctl.txt --steps 2 --samples 1");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("holds 2 control characters inside documents")
            && stderr.contains("'\\u{7}' on line 2, '\\u{1b}' on line 3"),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "shown escaped, never raw: {stderr}"
    );
    fs::remove_dir_all(&dir).unwrap();
}
