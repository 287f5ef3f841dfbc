//! `cargo xtask import`: weights trained elsewhere (by `scripts/torch_twin.py`)
//! back into a checkpoint, the inverse of `cargo xtask export`.
//!
//! The sizes, vocabulary, settings, data fingerprint and generator state come
//! from the checkpoint the export was made from; the file must match it tensor
//! for tensor (names, `[rows, cols]` shapes, and the dtype of its run: `F64`, or
//! `F32` for a run trained with `--dtype f32`), in its `config` and `vocab`
//! metadata, and hold nothing else. What the result holds beyond the weights:
//! - `step`: the file's `step` metadata, the steps the weights have had, so that
//!   `train --resume` continues the schedule where the twin stopped;
//! - `losses`: the checkpoint's, then the file's `losses` metadata (a JSON list,
//!   one per step the twin took); their count must bring the checkpoint's step to
//!   the file's;
//! - Adam's moments: zero. The twin starts its own moments from zero (an export
//!   carries none) and does not write them back, so there are no moments that
//!   belong to these weights; a resumed run rebuilds them, as the twin did.

use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use params::{ModelConfig, SavedStateDict, SavedTensor};
use safetensors::{Dtype, SafeTensors};
use train::Checkpoint;

use crate::limits::InputLimit;

/// Turn a safetensors file of trained weights into a checkpoint.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The trained weights (from `scripts/torch_twin.py train`, or `export`).
    #[arg(long, value_name = "FILE")]
    pub(crate) safetensors: PathBuf,
    /// The checkpoint the weights were exported from: sizes, vocabulary, settings.
    #[arg(long, value_name = "FILE")]
    pub(crate) checkpoint: PathBuf,
    /// The checkpoint to write (neither input).
    #[arg(long, value_name = "FILE")]
    pub(crate) out: PathBuf,
    #[command(flatten)]
    pub(crate) limit: InputLimit,
}

pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    let inputs = [
        ("--safetensors", &*args.safetensors),
        ("--checkpoint", &*args.checkpoint),
    ];
    crate::files::check_distinct(&inputs, &[("--out", &*args.out)], None)?;
    crate::files::check_writable(&args.out)?;
    let _lock = crate::files::Lock::checkpoint(&args.out)?;
    let from = crate::load::checkpoint(&args.checkpoint, "cannot import into", args.limit)?;
    let bytes = read_at_most(&args.safetensors, args.limit)?;
    let checkpoint = from_safetensors(&from, &bytes)
        .with_context(|| format!("cannot import {}", args.safetensors.display()))?;
    crate::files::write_atomic(&args.out, checkpoint.to_json().as_bytes())?;
    eprintln!(
        "wrote {}: step {} of {}, {} tensors from {}, Adam's moments reset to zero",
        args.out.display(),
        checkpoint.step,
        checkpoint.train.steps,
        checkpoint.weights.tensors.len(),
        args.safetensors.display()
    );
    Ok(())
}

/// The bytes of `path`, refused past `limit`.
fn read_at_most(path: &Path, limit: InputLimit) -> anyhow::Result<Vec<u8>> {
    let cannot = || format!("cannot read {}", path.display());
    let file = std::fs::File::open(path).with_context(cannot)?;
    let mut bytes = Vec::new();
    file.take(limit.bytes().saturating_add(1))
        .read_to_end(&mut bytes)
        .with_context(cannot)?;
    if bytes.len() as u64 > limit.bytes() {
        bail!(
            "{} is larger than {} MiB; to read it, raise the limit with --max-input-mb",
            path.display(),
            limit.max_input_mb
        );
    }
    Ok(bytes)
}

/// `from` with the weights, step and losses of the safetensors `bytes`.
///
/// # Errors
/// If the file is not safetensors, or its metadata or any tensor does not match
/// `from`: one line naming the first tensor or key that differs.
pub(crate) fn from_safetensors(from: &Checkpoint, bytes: &[u8]) -> anyhow::Result<Checkpoint> {
    let file = SafeTensors::deserialize(bytes).context("not a safetensors file")?;
    let (_, header) = SafeTensors::read_metadata(bytes).context("not a safetensors file")?;
    // The metadata map is the crate's own type; copy it into std's.
    let meta: HashMap<String, String> = header
        .metadata()
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let key = |k: &str| {
        meta.get(k).with_context(|| {
            format!(
                "its metadata has no `{k}`: it was not written by `cargo xtask export` or the twin"
            )
        })
    };
    let config: ModelConfig = serde_json::from_str(key("config")?)
        .context("its `config` metadata is not a model config")?;
    if config != from.model {
        bail!(
            "its config {} is not the checkpoint's {}; import into the checkpoint it was exported from",
            key("config")?,
            serde_json::to_string(&from.model)?
        );
    }
    if key("vocab")? != &from.vocab {
        bail!(
            "its vocabulary {:?} is not the checkpoint's {:?}",
            key("vocab")?,
            from.vocab
        );
    }

    let mut tensors = Vec::with_capacity(from.weights.tensors.len());
    for expected in &from.weights.tensors {
        let name = &expected.name;
        let view = file
            .tensor(name)
            .map_err(|_| anyhow::anyhow!("it has no tensor `{name}`, which the model needs"))?;
        let want = match from.train.dtype {
            params::Dtype::F64 => Dtype::F64,
            params::Dtype::F32 => Dtype::F32,
        };
        if view.dtype() != want {
            bail!(
                "tensor `{name}` is {:?}, but the checkpoint's run computes in {} and so reads {want:?}; import into a checkpoint of the file's dtype (--dtype {} when training)",
                view.dtype(),
                from.train.dtype,
                if view.dtype() == Dtype::F32 {
                    "f32"
                } else {
                    "f64"
                },
            );
        }
        if view.shape() != expected.shape.as_slice() {
            bail!(
                "tensor `{name}` has shape {:?}, the checkpoint's has {:?}",
                view.shape(),
                expected.shape
            );
        }
        let values: Vec<f64> = match want {
            Dtype::F32 => view
                .data()
                .chunks_exact(4)
                .map(|b| f64::from(f32::from_le_bytes(b.try_into().expect("4 bytes"))))
                .collect(),
            _ => view
                .data()
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
                .collect(),
        };
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            bail!("tensor `{name}` holds {} at index {i}", values[i]);
        }
        let shape = expected.shape.clone();
        tensors.push(SavedTensor {
            name: name.clone(),
            shape,
            values,
        });
    }
    if let Some(extra) = file
        .names()
        .into_iter()
        .find(|n| !from.weights.tensors.iter().any(|t| t.name == **n))
    {
        bail!("tensor `{extra}` is not one of the model's");
    }

    let step_text = key("step")?;
    let step: usize = step_text
        .parse()
        .with_context(|| format!("its `step` metadata {step_text:?} is not a count"))?;
    let new_losses: Vec<f64> = match meta.get("losses") {
        Some(text) => serde_json::from_str(text)
            .with_context(|| "its `losses` metadata is not a JSON list of numbers")?,
        None => Vec::new(),
    };
    if from.step + new_losses.len() != step {
        bail!(
            "its `step` is {step}, but the checkpoint was at step {} and the file records {} more losses; import into the checkpoint it was exported from",
            from.step,
            new_losses.len()
        );
    }

    let weights = SavedStateDict {
        tensors,
        ..from.weights.clone()
    };
    let zero = |t: &SavedTensor| SavedTensor {
        values: vec![0.0; t.values.len()],
        ..t.clone()
    };
    let moments = SavedStateDict {
        tensors: weights.tensors.iter().map(zero).collect(),
        ..from.weights.clone()
    };
    let mut losses = from.losses.clone();
    losses.extend(new_losses);
    let checkpoint = Checkpoint {
        // A file written now is of the version this build writes, with its checksum.
        version: train::CHECKPOINT_VERSION,
        step,
        losses,
        weights,
        adam_m: moments.clone(),
        adam_v: moments,
        ..from.clone()
    };
    checkpoint.check()?;
    Ok(checkpoint)
}
