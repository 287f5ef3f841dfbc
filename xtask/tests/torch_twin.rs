//! `cargo xtask import` and the PyTorch twin (`scripts/torch_twin.py`): import's
//! refusals in pure Rust, and, where PyTorch is importable, the round trip of
//! export, the twin's logit check, a twin training step, import, and the same
//! logits on both sides.

mod common;

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use autograd::{Arith, Graph};
use common::{fails, ok, scratch};
use model::{Gpt, Mode};
use params::{ChaChaInit, SavedStateDict, StateDict};
use safetensors::{Dtype, SafeTensors, View};
use train::Checkpoint;

/// A checkpoint at step 5 of a 20-step schedule and its export, in `dir`;
/// `preset` is empty or `--preset v2`.
fn checkpoint_and_export(dir: &Path, preset: &str) -> Checkpoint {
    let train = format!("train --steps 20 --stop-at 5 --n-layer 2 {preset} --save c.json");
    ok(dir, &train);
    ok(dir, "export --checkpoint c.json --out m.safetensors");
    Checkpoint::load(&dir.join("c.json")).unwrap()
}

/// One tensor to write: its dtype, shape and raw bytes.
struct Raw {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl View for &Raw {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        (&self.bytes[..]).into()
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// The tensors and metadata of a safetensors file, to be changed and written back.
struct Parts {
    tensors: Vec<(String, Raw)>,
    metadata: HashMap<String, String>,
}

impl Parts {
    fn read(path: &Path) -> Parts {
        let bytes = fs::read(path).unwrap();
        let file = SafeTensors::deserialize(&bytes).unwrap();
        let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
        let metadata = header
            .metadata()
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let tensors = file
            .tensors()
            .into_iter()
            .map(|(name, v)| {
                let raw = Raw {
                    dtype: v.dtype(),
                    shape: v.shape().to_vec(),
                    bytes: v.data().to_vec(),
                };
                (name, raw)
            })
            .collect();
        Parts { tensors, metadata }
    }

    fn tensor(&mut self, name: &str) -> &mut (String, Raw) {
        self.tensors.iter_mut().find(|(n, _)| n == name).unwrap()
    }

    fn write(&self, path: &Path) {
        let views = self.tensors.iter().map(|(n, t)| (n.as_str(), t));
        let meta = self.metadata.clone().into_iter().collect();
        fs::write(path, safetensors::serialize(views, Some(meta)).unwrap()).unwrap();
    }
}

#[test]
fn import_of_an_export_gives_the_checkpoint_back_with_fresh_moments() {
    let dir = scratch("twin", "import");
    let c = checkpoint_and_export(&dir, "");
    ok(
        &dir,
        "import --safetensors m.safetensors --checkpoint c.json --out back.json",
    );
    let back = Checkpoint::load(&dir.join("back.json")).unwrap();
    assert_eq!(back.weights, c.weights, "every value bit for bit");
    assert_eq!((back.step, &back.losses), (c.step, &c.losses));
    assert!(
        back.adam_m
            .tensors
            .iter()
            .chain(&back.adam_v.tensors)
            .all(|t| t.values.iter().all(|&v| v == 0.0)),
        "the moments start afresh"
    );
    assert_ne!(
        c.adam_m, back.adam_m,
        "the trained run's moments were not zero"
    );
    assert!(
        ok(&dir, "sample --checkpoint back.json --samples 3")
            .lines()
            .count()
            >= 3
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn import_refuses_a_file_that_does_not_match_its_checkpoint() {
    let dir = scratch("twin", "refusals");
    checkpoint_and_export(&dir, "");
    let good = Parts::read(&dir.join("m.safetensors"));
    let import = |parts: &Parts| {
        parts.write(&dir.join("bad.safetensors"));
        fails(
            &dir,
            "import --safetensors bad.safetensors --checkpoint c.json --out out.json",
        )
    };

    let mut p = Parts::read(&dir.join("m.safetensors"));
    p.tensor("layer1.attn_wq").0 = "layer1.attn_q".into();
    let err = import(&p);
    assert!(err.contains("no tensor `layer1.attn_wq`"), "{err}");

    let mut p = Parts::read(&dir.join("m.safetensors"));
    p.tensors.push((
        "extra".into(),
        Raw {
            dtype: Dtype::F64,
            shape: vec![1, 1],
            bytes: vec![0; 8],
        },
    ));
    let err = import(&p);
    assert!(
        err.contains("tensor `extra` is not one of the model's"),
        "{err}"
    );

    let mut p = Parts::read(&dir.join("m.safetensors"));
    let wpe = &mut p.tensor("wpe").1;
    wpe.shape = vec![wpe.shape[1], wpe.shape[0]];
    let err = import(&p);
    assert!(
        err.contains("tensor `wpe` has shape [16, 8], the checkpoint's has [8, 16]"),
        "{err}"
    );

    let mut p = Parts::read(&dir.join("m.safetensors"));
    let fc2 = &mut p.tensor("layer0.mlp_fc2").1;
    let halves: Vec<u8> = fc2
        .bytes
        .chunks_exact(8)
        .flat_map(|b| (f64::from_le_bytes(b.try_into().unwrap()) as f32).to_le_bytes())
        .collect();
    (fc2.dtype, fc2.bytes) = (Dtype::F32, halves);
    let err = import(&p);
    assert!(
        err.contains("tensor `layer0.mlp_fc2` is F32, but the checkpoint's run computes in f64 and so reads F64"),
        "{err}"
    );

    let mut p = Parts::read(&dir.join("m.safetensors"));
    let config = p.metadata["config"].replace("\"n_embd\":16", "\"n_embd\":32");
    assert_ne!(config, p.metadata["config"]);
    p.metadata.insert("config".into(), config);
    let err = import(&p);
    assert!(
        err.contains("\"n_embd\":32") && err.contains("is not the checkpoint's"),
        "{err}"
    );

    let mut p = Parts::read(&dir.join("m.safetensors"));
    p.metadata.insert("step".into(), "7".into());
    let err = import(&p);
    assert!(
        err.contains("its `step` is 7, but the checkpoint was at step 5"),
        "{err}"
    );

    assert!(
        !dir.join("out.json").exists(),
        "nothing written on a refusal"
    );
    good.write(&dir.join("good.safetensors"));
    let before = fs::read(dir.join("c.json")).unwrap();
    let err = fails(
        &dir,
        "import --safetensors good.safetensors --checkpoint c.json --out c.json",
    );
    assert!(err.contains("is the file of --checkpoint"), "{err}");
    let err = fails(
        &dir,
        "import --safetensors good.safetensors --checkpoint c.json --out good.safetensors",
    );
    assert!(err.contains("is the file of --safetensors"), "{err}");
    assert_eq!(
        fs::read(dir.join("c.json")).unwrap(),
        before,
        "the input is untouched"
    );
    fs::remove_dir_all(&dir).unwrap();
}

/// The Python to run the twin with, if PyTorch, numpy and safetensors import
/// there: `MICROGPT_TORCH_PYTHON`, else `python3`.
fn torch_python() -> Option<PathBuf> {
    let python = std::env::var_os("MICROGPT_TORCH_PYTHON").map_or("python3".into(), PathBuf::from);
    let probe = Command::new(&python)
        .args(["-c", "import torch, numpy, safetensors"])
        .output();
    match probe {
        Ok(out) if out.status.success() => Some(python),
        _ => {
            eprintln!(
                "skipped: PyTorch, numpy and safetensors do not import in {} (set MICROGPT_TORCH_PYTHON to a Python that has them; the README's \"PyTorch twin\" section says how)",
                python.display()
            );
            None
        }
    }
}

/// Runs the twin with `args` in `dir`; returns whether it succeeded, and its output.
fn twin(python: &Path, dir: &Path, args: &str) -> (bool, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/torch_twin.py");
    let out = Command::new(python)
        .arg(script)
        .args(args.split_whitespace())
        .current_dir(dir)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// A checkpoint's model and weights in an exact-arithmetic graph.
fn model(weights: &SavedStateDict) -> (Graph, StateDict, Gpt) {
    let mut graph = Graph::with_arith(Arith::Exact);
    let state = StateDict::new(&mut graph, &weights.config, &mut ChaChaInit::new(0)).unwrap();
    weights.load_into(&state, &mut graph).unwrap();
    let gpt = Gpt::new(&state, Mode::Fast);
    (graph, state, gpt)
}

/// Writes our `(T, V)` logits of `tokens`, as the twin's `check` reads them.
fn write_logits(weights: &SavedStateDict, tokens: &[usize], path: &Path) -> Vec<Vec<f64>> {
    let (mut graph, _, gpt) = model(weights);
    let seen = gpt.inspect(&mut graph, tokens).unwrap();
    let rows: Vec<Vec<f64>> = seen
        .logits
        .chunks(seen.vocab_size)
        .map(<[f64]>::to_vec)
        .collect();
    let json = serde_json::json!({ "tokens": tokens, "logits": rows });
    fs::write(path, json.to_string()).unwrap();
    rows
}

#[test]
fn the_twin_agrees_on_logits_trains_a_step_and_imports_back() {
    let Some(python) = torch_python() else { return };
    // v1, then v2's relu, linear decay and betas.
    for (preset, name) in [("", "round-trip-v1"), ("--preset v2", "round-trip-v2")] {
        round_trip(&python, preset, name);
    }
}

fn round_trip(python: &Path, preset: &str, name: &str) {
    let python = python.to_path_buf();
    let dir = scratch("twin", name);
    let c = checkpoint_and_export(&dir, preset);
    let tok = c.tokenizer().unwrap();
    let mut tokens = vec![tok.bos()];
    tokens.extend(tok.encode("emma").unwrap());

    // Our logits against the twin's, and a check that can fail.
    let rows = write_logits(&c.weights, &tokens, &dir.join("ours.json"));
    let (passed, out) = twin(
        &python,
        &dir,
        "check --model m.safetensors --logits ours.json",
    );
    assert!(passed, "{out}");
    eprint!("before the step: {out}");
    let mut off = rows.clone();
    off[2][3] *= 1.0 + 1e-9;
    let json = serde_json::json!({ "tokens": tokens, "logits": off });
    fs::write(dir.join("off.json"), json.to_string()).unwrap();
    let (passed, out) = twin(
        &python,
        &dir,
        "check --model m.safetensors --logits off.json",
    );
    assert!(!passed, "a logit off by 1e-9 passes: {out}");

    // One twin step on one document, against the same step in Rust: the loss,
    // backward and Adam from fresh moments at step 5 of 20.
    fs::write(dir.join("one.txt"), "olivia\n").unwrap();
    let (passed, out) = twin(
        &python,
        &dir,
        "train --model m.safetensors --data one.txt --steps 1 --out t.safetensors",
    );
    assert!(passed, "{out}");
    let (mut graph, state, gpt) = model(&c.weights);
    let mut doc = vec![tok.bos()];
    doc.extend(tok.encode("olivia").unwrap());
    doc.push(tok.bos());
    let mut cache = gpt.new_cache();
    let loss = gpt.loss(&mut graph, &mut cache, &doc).unwrap();
    let loss_value = graph.value(loss);
    gpt.backward(&mut graph, loss);
    let n = state.num_params();
    let mut adam = train::Adam::new(c.train.adam, n, Arith::Exact);
    let (values, grads) = graph.values_and_grads_mut(state.params());
    assert!(adam.step(values, grads, c.step, c.train.steps));
    let ours = SavedStateDict::capture(&state, &graph).unwrap();

    ok(
        &dir,
        "import --safetensors t.safetensors --checkpoint c.json --out ck.json",
    );
    let back = Checkpoint::load(&dir.join("ck.json")).unwrap();
    assert_eq!(back.step, c.step + 1);
    let twin_loss = back.losses[c.step];
    assert!(
        (twin_loss - loss_value).abs() <= 1e-12 * loss_value,
        "{twin_loss} vs {loss_value}"
    );
    for (a, b) in ours.tensors.iter().zip(&back.weights.tensors) {
        let worst = a
            .values
            .iter()
            .zip(&b.values)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        assert!(
            worst < 1e-9,
            "{}: the twin's step is {worst:e} from ours",
            a.name
        );
    }
    assert_ne!(back.weights, c.weights, "the step changed the weights");

    // The imported weights: the same logits on both sides, and they sample.
    write_logits(&back.weights, &tokens, &dir.join("after.json"));
    let (passed, out) = twin(
        &python,
        &dir,
        "check --model t.safetensors --logits after.json",
    );
    assert!(passed, "{out}");
    eprint!("after the step and import: {out}");
    // `cargo xtask inspect --json` gives the same (T, V) logits the twin reads.
    let report = ok(&dir, "inspect --checkpoint ck.json --text emma --json");
    fs::write(dir.join("inspect.json"), report).unwrap();
    let (passed, out) = twin(
        &python,
        &dir,
        "check --model t.safetensors --logits inspect.json",
    );
    assert!(passed, "{out}");
    assert!(
        ok(&dir, "sample --checkpoint ck.json --samples 3")
            .lines()
            .count()
            >= 3
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_twin_trains_the_same_across_two_ddp_processes() {
    let Some(python) = torch_python() else { return };
    let dir = scratch("twin", "ddp");
    checkpoint_and_export(&dir, "");
    fs::write(dir.join("two.txt"), "olivia\nnoah\nemma\nliam\n").unwrap();
    let args = "train --model m.safetensors --data two.txt --steps 2 --batch-size 2";
    let (passed, out) = twin(&python, &dir, &format!("{args} --out one.safetensors"));
    assert!(passed, "{out}");
    let (passed, out) = twin(
        &python,
        &dir,
        &format!("{args} --ddp 2 --out ddp.safetensors"),
    );
    assert!(passed, "{out}");
    let (a, mut b) = (
        Parts::read(&dir.join("one.safetensors")),
        Parts::read(&dir.join("ddp.safetensors")),
    );
    assert_eq!(a.tensors.len(), b.tensors.len());
    for (name, x) in &a.tensors {
        let y = &b.tensor(name).1;
        let values = |r: &Raw| -> Vec<f64> {
            r.bytes
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
                .collect()
        };
        let worst = values(x)
            .iter()
            .zip(values(y))
            .map(|(p, q)| (p - q).abs())
            .fold(0.0, f64::max);
        assert!(
            worst < 1e-12,
            "{name}: one process and two differ by {worst:e}"
        );
    }
    ok(
        &dir,
        "import --safetensors ddp.safetensors --checkpoint c.json --out ck.json",
    );
    fs::remove_dir_all(&dir).unwrap();
}
