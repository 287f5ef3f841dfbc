//! The checkpoint: everything a run needs to continue exactly where it stopped, in
//! one JSON file.
//!
//! # Format (`microgpt-checkpoint`, version 2)
//! ```text
//! {
//!   "format": "microgpt-checkpoint",
//!   "version": 2,
//!   "checksum": "fnv1a64:…16 hex digits…",
//!   "step": 200,
//!   "train": {"steps": 500, "adam": {"learning_rate": 0.01, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8}, "seed": 42, "temperature": 0.5, "samples": 20, "rng": "chacha", "exact": false},
//!   "model": {"vocab_size": 27, "n_embd": 16, "n_head": 4, "n_layer": 1, "block_size": 8},
//!   "vocab": "abcdefghijklmnopqrstuvwxyz",
//!   "data": {"name": "<embedded names>", "docs": 29910, "fnv1a64": "…16 hex digits…"},
//!   "rng": {"chacha": {"key": "…64 hex digits…", "stream": 2, "word_pos": 0}},
//!   "losses": [3.2737…, …],
//!   "weights": { a microgpt-state-dict document },
//!   "adam_m": { a microgpt-state-dict document },
//!   "adam_v": { a microgpt-state-dict document }
//! }
//! ```
//! - `checksum`: the 64-bit FNV-1a hash of the file's bytes without this line,
//!   exactly as written (so any changed byte, a digit of a weight included, makes
//!   the file refuse to load instead of training on silently). Version 1, the same
//!   format without this line, still loads; the caller may say it is unchecked.
//! - `step`: the steps taken; the next one is `step + 1` (1-based) of
//!   `train.steps`, the length of the learning-rate schedule.
//! - `train`: the run's [`TrainConfig`]; `model`: its [`ModelConfig`]. The
//!   settings in which microgpt.py v2 differs from v1 are left out where they are
//!   v1's, so a v1 run's file reads as it always did; a v2 run's adds
//!   `"adam": {..., "schedule": "linear"}`, `"init": {"std": 0.08,
//!   "zero_init_proj": false}` and `"preset": "v2"` to `train`, and
//!   `"activation": "relu"` to `model` (a missing field means v1's).
//!   Files written before `train.exact` existed lack it; there `"rng": "python"`
//!   meant the exact arithmetic too, so such a file reads as exact. An `f32` run
//!   adds `"dtype": "f32"` to `train` (missing means `f64`).
//!   meant the exact arithmetic too, so such a file reads as exact.
//!   A batched run's `train` has `"batch_size": B`; it is left out when it is 1,
//!   so a file without it (any file from before batches) reads as 1.
//! - `vocab`: the characters in id order; BOS is the id after the last one.
//! - `data`: the [`DataFingerprint`] of the documents trained on.
//! - `rng`: the generator's complete state ([`RngState`]): for ChaCha the sampling
//!   stream (`{"chacha": {"key", "stream", "word_pos"}}`), for the CPython generator
//!   `{"python": {"key": [624 words], "index", "gauss_next"}}`, as `getstate()`.
//! - `losses`: every step's loss so far, for plots.
//! - `weights`, `adam_m`, `adam_v`: the parameters and Adam's first and second
//!   moments, each a [`SavedStateDict`] (`params::saved`): tensors by name and
//!   shape in state-dict order, values row-major, one row per line.
//!
//! Every number is written in the shortest form that reads back to the same `f64`
//! (serde_json with `float_roundtrip`), so a save and a load change no bit. An
//! `f32` run's weights and moments are `f32`s, written as the `f64`s equal to them
//! (which read back, and round back to `f32`, exactly).
//! Writing the text to a file is the caller's (`cargo xtask` writes it atomically).

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::Path;

use autograd::Float;
use params::{
    Dtype, FORMAT_VERSION, InitSource, ModelConfig, SavedStateDict, SavedTensor, VALUES_FORMAT,
};
use serde::{Deserialize, Serialize};

use crate::config::TrainConfig;
use crate::data::DEFAULT_MAX_BYTES;
use crate::error::{Error, Result};
use crate::fingerprint::DataFingerprint;
use crate::fnv::Fnv1a64;
use crate::memory::try_reserve;
use crate::rng::{RngKind, RunRng};
use crate::rng_state::RngState;
use crate::tokenizer::Tokenizer;

/// The `format` tag of a checkpoint.
pub(crate) const CHECKPOINT_FORMAT: &str = "microgpt-checkpoint";
/// The version of the checkpoint format that this code writes; it also reads
/// version 1, which has no checksum.
pub const CHECKPOINT_VERSION: u32 = 2;

/// The line of the checksum starts so, right after the version's line.
const CHECKSUM_KEY: &str = "\n  \"checksum\": \"fnv1a64:";

/// A training run, frozen between two steps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Always `microgpt-checkpoint`.
    pub format: String,
    /// [`CHECKPOINT_VERSION`], or 1 for a file of the version before it.
    pub version: u32,
    /// Steps taken.
    pub step: usize,
    /// The run's settings; `train.steps` is the length of the schedule.
    pub train: TrainConfig,
    /// The model's sizes.
    pub model: ModelConfig,
    /// The vocabulary's characters, in id order.
    pub vocab: String,
    /// The documents trained on.
    pub data: DataFingerprint,
    /// The generator's state.
    pub rng: RngState,
    /// The loss of every step taken.
    pub losses: Vec<f64>,
    /// The parameters.
    pub weights: SavedStateDict,
    /// Adam's first moments, named and shaped like the parameters.
    pub adam_m: SavedStateDict,
    /// Adam's second moments, likewise.
    pub adam_v: SavedStateDict,
}

impl Checkpoint {
    /// Reads and checks a checkpoint file of at most [`DEFAULT_MAX_BYTES`].
    ///
    /// # Errors
    /// See [`Checkpoint::load_with`].
    pub fn load(path: &Path) -> Result<Self> {
        Self::load_with(path, DEFAULT_MAX_BYTES, u128::MAX)
    }

    /// Reads and checks a checkpoint file, reading at most `max_bytes`, and
    /// refusing one whose text and values would not fit in `memory_limit` bytes.
    ///
    /// # Errors
    /// If it cannot be read, is too large, is not a checkpoint of a version this
    /// build reads, or its parts do not fit together.
    pub fn load_with(path: &Path, max_bytes: u64, memory_limit: u128) -> Result<Self> {
        let read_error = |source| Error::Read {
            path: path.into(),
            source,
        };
        let file = std::fs::File::open(path).map_err(read_error)?;
        let size = file.metadata().map_err(read_error)?.len();
        let name = path.display().to_string();
        if size > max_bytes {
            return Err(Error::TooLarge {
                name,
                size: Some(size),
                limit: max_bytes,
            });
        }
        // The text, and the values parsed from it: fewer bytes than their text.
        let needed = u128::from(size) * 2;
        if needed > memory_limit {
            return Err(Error::OutOfMemory {
                what: format!("loading {name}"),
                needed,
                available: memory_limit,
            });
        }
        let mut bytes = Vec::new();
        try_reserve(
            &mut bytes,
            usize::try_from(size).unwrap_or(usize::MAX),
            "the checkpoint",
        )?;
        // One byte past the limit tells a file that grew (or a device) from one
        // that fits.
        std::io::Read::take(file, max_bytes.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(read_error)?;
        if bytes.len() as u64 > max_bytes {
            return Err(Error::TooLarge {
                name,
                size: None,
                limit: max_bytes,
            });
        }
        // A binary file (a safetensors export, say) is not text, let alone JSON.
        let text = std::str::from_utf8(&bytes).map_err(|e| Error::BadCheckpoint {
            why: format!(
                "byte {} is not UTF-8 text, and a checkpoint is JSON text",
                e.valid_up_to()
            ),
        })?;
        Self::from_json(text)
    }

    /// Parses a checkpoint and checks that its parts fit together. A file whose
    /// `train` lacks `exact` (written before the field existed) is exact if its
    /// generator is `python`, as such runs then were.
    ///
    /// # Errors
    /// If it is not JSON of the documented shape, declares another format or
    /// version, or is inconsistent (see [`Checkpoint::check`]).
    pub fn from_json(text: &str) -> Result<Self> {
        // The tag first, so that another kind of file gets a message about that
        // rather than about a missing field.
        #[derive(Deserialize)]
        struct Header {
            format: Option<String>,
            version: Option<u32>,
            /// Read only to see whether it has `exact` (any JSON is taken here).
            train: Option<serde_json::Value>,
        }
        let header: Header =
            serde_json::from_str(text).map_err(|source| Error::CheckpointJson { source })?;
        if header.format.as_deref() != Some(CHECKPOINT_FORMAT) {
            let found = header.format.unwrap_or_else(|| "no format tag".into());
            let why = format!("expected format {CHECKPOINT_FORMAT:?}, found {found:?}");
            return Err(Error::BadCheckpoint { why });
        }
        match header.version {
            Some(1) => {}
            Some(CHECKPOINT_VERSION) => verify_checksum(text)?,
            found => {
                let found = found.map_or("none".into(), |v| v.to_string());
                let why = format!(
                    "this build reads versions 1 to {CHECKPOINT_VERSION} of {CHECKPOINT_FORMAT}, the file is version {found}"
                );
                return Err(Error::BadCheckpoint { why });
            }
        }
        let mut checkpoint: Checkpoint =
            serde_json::from_str(text).map_err(|source| Error::CheckpointJson { source })?;
        // Before `exact` had a field of its own, the Python generator implied it.
        let has_exact = header.train.as_ref().and_then(|t| t.get("exact")).is_some();
        if !has_exact && checkpoint.train.rng == RngKind::Python {
            checkpoint.train.exact = true;
        }
        checkpoint.check()?;
        Ok(checkpoint)
    }

    /// Checks that the parts fit together: valid configs, a vocabulary of
    /// `vocab_size - 1` sorted characters, a step within the schedule with one loss
    /// per step, a generator of the configured kind, weights with the names and
    /// shapes of the model's layout, and moments with those of the weights.
    ///
    /// # Errors
    /// Naming the first thing that does not fit.
    pub fn check(&self) -> Result<()> {
        let bad = |why: String| Err(Error::BadCheckpoint { why });
        self.model.validate()?;
        self.train.validate()?;
        let tokenizer = self.tokenizer()?;
        if tokenizer.vocab_size() != self.model.vocab_size {
            return bad(format!(
                "{} characters in \"vocab\" make a vocabulary of {}, but the model's vocab_size is {}",
                tokenizer.chars().len(),
                tokenizer.vocab_size(),
                self.model.vocab_size
            ));
        }
        if self.step > self.train.steps {
            return bad(format!(
                "step {} is past the end of a {}-step schedule",
                self.step, self.train.steps
            ));
        }
        if self.losses.len() != self.step {
            return bad(format!(
                "{} losses for {} steps",
                self.losses.len(),
                self.step
            ));
        }
        if self.rng.kind() != self.train.rng {
            return bad(format!(
                "the generator state is {:?}'s but the run uses {:?}",
                self.rng.kind(),
                self.train.rng
            ));
        }
        // A state the generator would refuse is refused here, not at resume.
        RunRng::from_state(&self.rng, self.train.seed)?;
        // The weights against the model's layout, before anything is allocated for
        // it: a config is only as large as the values the file holds.
        let mut specs = params::layout(&self.model);
        for t in &self.weights.tensors {
            let Some(spec) = specs.next() else {
                return bad(format!(
                    "\"weights\" has a tensor `{}` past the end of the model's",
                    t.name
                ));
            };
            let (name, shape) = (spec.name.to_string(), [spec.rows, spec.cols]);
            // Checked: a file may declare any shape, however absurd.
            let numel = spec.rows.checked_mul(spec.cols);
            if t.name != name || t.shape != shape || Some(t.values.len()) != numel {
                return bad(format!(
                    "\"weights\" has `{}` of shape {:?} with {} values where the model has `{name}` of shape {shape:?}{}",
                    t.name,
                    t.shape,
                    t.values.len(),
                    numel.map_or(String::new(), |n| format!(" ({n} values)"))
                ));
            }
        }
        if let Some(spec) = specs.next() {
            return bad(format!("\"weights\" lacks the tensor `{}`", spec.name));
        }
        // An f32 run's numbers are f32s, written as the f64s that equal them: any
        // other value was not written by such a run, and would be rounded.
        if self.train.dtype == Dtype::F32 {
            for (name, part) in self.parts() {
                for t in &part.tensors {
                    if let Some(index) = t.values.iter().position(|&v| f64::from(v as f32) != v) {
                        return bad(format!(
                            "\"{name}\" holds {:?} at index {index} of `{}`, which is not an f32, but the run computes in f32",
                            t.values[index], t.name
                        ));
                    }
                }
            }
        }
        // Second moments are means of squares: a negative one would make Adam's
        // step the square root of a negative number, and the run diverge.
        for t in &self.adam_v.tensors {
            if let Some(index) = t.values.iter().position(|&v| v < 0.0) {
                return bad(format!(
                    "\"adam_v\" holds {:?} at index {index} of `{}`, but second moments are means of squares, never negative",
                    t.values[index], t.name
                ));
            }
        }
        for (name, part) in self.parts() {
            if part.format != VALUES_FORMAT || part.version != FORMAT_VERSION {
                return bad(format!(
                    "\"{name}\" is {:?} version {}, expected {VALUES_FORMAT:?} version {FORMAT_VERSION}",
                    part.format, part.version
                ));
            }
            params::check_config(&self.model, &part.config)?;
            let same = |a: &SavedTensor, b: &SavedTensor| {
                a.name == b.name && a.shape == b.shape && a.values.len() == b.values.len()
            };
            let n = self.weights.tensors.len();
            if part.tensors.len() != n
                || !part
                    .tensors
                    .iter()
                    .zip(&self.weights.tensors)
                    .all(|(a, b)| same(a, b))
            {
                return bad(format!(
                    "\"{name}\" does not have the tensors of \"weights\", name for name and shape for shape"
                ));
            }
        }
        Ok(())
    }

    /// The tokenizer of the checkpoint's vocabulary.
    ///
    /// # Errors
    /// If the characters are not sorted and distinct.
    pub fn tokenizer(&self) -> Result<Tokenizer> {
        Tokenizer::from_chars(self.vocab.chars().collect())
    }

    /// The documented JSON text: one field per line, and each tensor of the weights
    /// and moments one row per line.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{\n");
        let head: [(&str, String); 9] = [
            ("format", json(&self.format)),
            ("version", json(&self.version)),
            ("step", json(&self.step)),
            ("train", json(&self.train)),
            ("model", json(&self.model)),
            ("vocab", json(&self.vocab)),
            ("data", json(&self.data)),
            ("rng", json(&self.rng)),
            ("losses", json(&self.losses)),
        ];
        for (name, value) in head {
            let _ = writeln!(out, "  {}: {value},", json(name));
        }
        let parts = self.parts();
        let last = parts.len() - 1;
        for (i, (name, part)) in parts.into_iter().enumerate() {
            // The state-dict text, indented one level.
            let body = part.to_json().trim_end().replace('\n', "\n  ");
            let comma = if i < last { "," } else { "" };
            let _ = writeln!(out, "  {}: {body}{comma}", json(name));
        }
        out.push_str("}\n");
        if self.version >= 2 {
            // After the version's line: `{\n  "format": …,\n  "version": 2,\n`.
            let at = out.match_indices('\n').nth(2).map_or(out.len(), |(i, _)| i);
            let sum = checksum(&out);
            out.insert_str(at, &format!("{CHECKSUM_KEY}{sum}\","));
        }
        out
    }

    /// The weights and the moments, by field name.
    fn parts(&self) -> [(&'static str, &SavedStateDict); 3] {
        [
            ("weights", &self.weights),
            ("adam_m", &self.adam_m),
            ("adam_v", &self.adam_v),
        ]
    }
}

/// Zeros for every parameter: the placeholder a checkpoint's weights replace.
pub(crate) struct Zeros;

impl InitSource for Zeros {
    fn fill_gaussian(&mut self, _std: f64, out: &mut [f64]) {
        out.fill(0.0);
    }
}

/// `flat`, one value per parameter in state-dict order, cut into the tensors of
/// `weights`: how Adam's moments are saved.
///
/// # Errors
/// If a value is not finite, which JSON cannot hold; the error names `what`, the
/// tensor and the index.
pub(crate) fn like_weights<F: Float>(
    weights: &SavedStateDict,
    flat: &[F],
    what: &str,
) -> Result<SavedStateDict> {
    let mut rest = flat;
    let mut tensors = Vec::with_capacity(weights.tensors.len());
    for t in &weights.tensors {
        let (values, tail) = rest.split_at(t.values.len());
        rest = tail;
        let values: Vec<f64> = values.iter().map(|v| v.to_f64()).collect();
        if let Some(index) = values.iter().position(|v| !v.is_finite()) {
            return Err(params::Error::NonFinite {
                name: format!("{what}.{}", t.name),
                index,
                value: values[index],
            }
            .into());
        }
        tensors.push(SavedTensor {
            name: t.name.clone(),
            shape: t.shape.clone(),
            values,
        });
    }
    assert!(rest.is_empty(), "one value per parameter");
    Ok(SavedStateDict {
        format: weights.format.clone(),
        version: weights.version,
        config: weights.config,
        tensors,
    })
}

/// The values of a saved state dict, end to end, in `F`: the inverse of
/// [`like_weights`].
pub(crate) fn flat<F: Float>(saved: &SavedStateDict) -> Vec<F> {
    saved
        .tensors
        .iter()
        .flat_map(|t| t.values.iter().map(|&v| F::from_f64(v)))
        .collect()
}

/// The checksum of a checkpoint's text without its checksum line.
fn checksum(body: &str) -> String {
    let mut h = Fnv1a64::new();
    h.update(body.as_bytes());
    h.hex()
}

/// Checks the checksum line of a version 2 text against the rest of it.
fn verify_checksum(text: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::BadCheckpoint { why: why.into() });
    let Some(start) = text.find(CHECKSUM_KEY) else {
        return bad(
            "a version 2 checkpoint has a \"checksum\" line after \"version\", and this one has none",
        );
    };
    let value = start + CHECKSUM_KEY.len();
    let Some(len) = text[value..].find('"') else {
        return bad("the \"checksum\" line is cut short");
    };
    let stored = &text[value..value + len];
    let Some(end) = text[value..].find('\n').map(|i| value + i) else {
        return bad("the \"checksum\" line is cut short");
    };
    let mut body = String::with_capacity(text.len());
    body.push_str(&text[..start]);
    body.push_str(&text[end..]);
    let computed = checksum(&body);
    if stored != computed {
        return Err(Error::ChecksumMismatch {
            stored: stored.into(),
            computed,
        });
    }
    Ok(())
}

fn json<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).expect("plain data serialises")
}
