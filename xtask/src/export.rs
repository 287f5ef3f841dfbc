//! `cargo xtask export`: a checkpoint's weights as a safetensors file.
//!
//! One tensor per state-dict entry, `F64`, or `F32` for a run trained with
//! `--dtype f32`, under its state-dict name (`wte`, `layer0.attn_wq`, ...) with
//! its shape `[rows, cols]`, values row-major and little-endian, as the format
//! requires. The metadata holds:
//! - `format`: `microgpt`;
//! - `config`: the model config as JSON (`{"vocab_size": 27, "n_embd": 16, ...}`);
//! - `vocab`: the characters in id order (BOS is the id after the last);
//! - `tensor_order`: the names in state-dict order, comma-separated (the file's
//!   header is a JSON object, which readers need not keep in order);
//! - `step`: the training steps the weights have had;
//! - `dtype`: `f64` or `f32`, the tensors' (and the run's) element type;
//! - `activation` (`relu2` or `relu`), `init_std`, `zero_init_proj`,
//!   `lr_schedule` (`cosine` or `linear`), `beta1`, `beta2` and `preset` (`v1` or
//!   `v2`): how the model computes and how it was trained, written for every
//!   file (the config leaves a v1 activation out);
//! - `num_steps` (the schedule's length), `learning_rate` and `eps`: with the
//!   above, how training continues, for `scripts/torch_twin.py train`.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Context;
use safetensors::{Dtype, View};
use train::Checkpoint;

/// Write a checkpoint's weights in the safetensors format.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The checkpoint (written by `cargo xtask train --save FILE`).
    #[arg(long, value_name = "FILE")]
    pub(crate) checkpoint: PathBuf,
    /// The safetensors file to write.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: PathBuf,
    #[command(flatten)]
    pub(crate) limit: crate::limits::InputLimit,
}

pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    let (input, output) = (("--checkpoint", &*args.checkpoint), ("--out", &*args.out));
    crate::files::check_distinct(&[input], &[output], None)?;
    crate::files::check_writable(&args.out)?;
    let checkpoint = crate::load::checkpoint(&args.checkpoint, "cannot export", args.limit)?;
    let bytes = to_safetensors(&checkpoint)?;
    crate::files::write_atomic(&args.out, &bytes)?;
    eprintln!(
        "wrote {}: {} {} tensors, {} parameters, {} bytes",
        args.out.display(),
        checkpoint.weights.tensors.len(),
        checkpoint.train.dtype,
        checkpoint.model.num_params(),
        bytes.len()
    );
    Ok(())
}

/// One tensor's values as little-endian bytes of `dtype`.
struct Tensor {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl View for &Tensor {
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

/// The safetensors bytes of `checkpoint`'s weights.
pub(crate) fn to_safetensors(checkpoint: &Checkpoint) -> anyhow::Result<Vec<u8>> {
    // An f32 run's values are f32s (the checkpoint holds them as the f64s equal
    // to them): written as such, they lose nothing.
    let dtype = checkpoint.train.dtype;
    let tensors: Vec<(String, Tensor)> = checkpoint
        .weights
        .tensors
        .iter()
        .map(|t| {
            let (dtype, bytes) = match dtype {
                params::Dtype::F64 => (
                    Dtype::F64,
                    t.values.iter().flat_map(|v| v.to_le_bytes()).collect(),
                ),
                params::Dtype::F32 => (
                    Dtype::F32,
                    t.values
                        .iter()
                        .flat_map(|&v| (v as f32).to_le_bytes())
                        .collect(),
                ),
            };
            let shape = t.shape.clone();
            (
                t.name.clone(),
                Tensor {
                    dtype,
                    shape,
                    bytes,
                },
            )
        })
        .collect();
    let order: Vec<&str> = tensors.iter().map(|(name, _)| name.as_str()).collect();
    let train = &checkpoint.train;
    let metadata: HashMap<String, String> = [
        ("format", "microgpt".to_string()),
        ("config", serde_json::to_string(&checkpoint.model)?),
        ("vocab", checkpoint.vocab.clone()),
        ("tensor_order", order.join(",")),
        ("step", checkpoint.step.to_string()),
        ("dtype", dtype.name().into()),
        ("activation", checkpoint.model.activation.name().into()),
        ("init_std", train.init.std.to_string()),
        ("zero_init_proj", train.init.zero_init_proj.to_string()),
        ("lr_schedule", train.adam.schedule.name().into()),
        ("beta1", train.adam.beta1.to_string()),
        ("beta2", train.adam.beta2.to_string()),
        ("preset", train.preset.name().into()),
        ("num_steps", train.steps.to_string()),
        ("learning_rate", train.adam.learning_rate.to_string()),
        ("eps", train.adam.eps.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let views = tensors.iter().map(|(name, t)| (name.as_str(), t));
    // The metadata map's type is the crate's (hashbrown's without `std`).
    let bytes = safetensors::serialize(views, Some(metadata.into_iter().collect()))
        .context("encoding the safetensors file")?;
    Ok(bytes)
}
