//! The state dict on disk: its values as JSON, every `f64` exactly, and the JSON dump
//! of its shapes.
//!
//! # The values file (`microgpt-state-dict`, version 1)
//! ```json
//! {
//!   "format": "microgpt-state-dict",
//!   "version": 1,
//!   "config": {"vocab_size": 27, "n_embd": 16, "n_head": 4, "n_layer": 1, "block_size": 8},
//!   "tensors": [
//!     {"name": "wte", "shape": [27, 16], "values": [
//!       0.0123, -0.0456, ...
//!     ]},
//!     ...
//!   ]
//! }
//! ```
//! Tensors come in state-dict order, values row-major, one row per line. Numbers are
//! written in the shortest form that reads back to the same `f64`.
//!
//! # The shapes file (`microgpt-shapes`, version 1)
//! The same header, then `num_params` and `tensors` as `{"name", "shape"}` objects,
//! one per line, in order.

use std::fmt::Write as _;

use autograd::{Float, Graph};
use serde::{Deserialize, Serialize};

use crate::config::ModelConfig;
use crate::error::{Error, Result};
use crate::state_dict::StateDict;

/// The `format` tag of a values file.
pub const VALUES_FORMAT: &str = "microgpt-state-dict";
/// The `format` tag of a shapes file.
pub const SHAPES_FORMAT: &str = "microgpt-shapes";
/// The version of both formats that this code writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// One tensor's values, as read from or written to a file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedTensor {
    /// The tensor's name.
    pub name: String,
    /// `[rows, cols]`.
    pub shape: Vec<usize>,
    /// The values, row-major.
    pub values: Vec<f64>,
}

/// A state dict's values, detached from any graph.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedStateDict {
    /// Always [`VALUES_FORMAT`].
    pub format: String,
    /// Always [`FORMAT_VERSION`].
    pub version: u32,
    /// The model the values belong to.
    pub config: ModelConfig,
    /// Every tensor, in state-dict order.
    pub tensors: Vec<SavedTensor>,
}

/// One tensor's name and shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorShape {
    /// The tensor's name.
    pub name: String,
    /// `[rows, cols]`.
    pub shape: [usize; 2],
}

/// The shapes of a model's state dict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shapes {
    /// Always [`SHAPES_FORMAT`].
    pub format: String,
    /// Always [`FORMAT_VERSION`].
    pub version: u32,
    /// The model.
    pub config: ModelConfig,
    /// The number of parameters.
    pub num_params: usize,
    /// Every tensor, in state-dict order.
    pub tensors: Vec<TensorShape>,
}

impl Shapes {
    /// The shapes of `config`'s state dict.
    pub fn of(config: &ModelConfig) -> Self {
        Shapes {
            format: SHAPES_FORMAT.into(),
            version: FORMAT_VERSION,
            config: *config,
            num_params: config.num_params(),
            tensors: crate::layout::layout(config)
                .map(|s| TensorShape {
                    name: s.name.to_string(),
                    shape: [s.rows, s.cols],
                })
                .collect(),
        }
    }

    /// The documented JSON text: the header, then one tensor per line.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        header(&mut out, SHAPES_FORMAT, &self.config);
        let _ = writeln!(out, "  \"num_params\": {},", self.num_params);
        out.push_str("  \"tensors\": [\n");
        for (i, t) in self.tensors.iter().enumerate() {
            let comma = if i + 1 < self.tensors.len() { "," } else { "" };
            let name = json(&t.name);
            let _ = writeln!(
                out,
                "    {{\"name\": {name}, \"shape\": [{}, {}]}}{comma}",
                t.shape[0], t.shape[1]
            );
        }
        out.push_str("  ]\n}\n");
        out
    }
}

impl SavedStateDict {
    /// The current values of `state`'s tensors in `graph`, as `f64`s (which hold
    /// an `f32` exactly).
    ///
    /// # Errors
    /// If a value is NaN or infinite, which JSON cannot hold.
    pub fn capture<F: Float>(state: &StateDict, graph: &Graph<F>) -> Result<Self> {
        let tensors = state
            .iter()
            .map(|t| {
                let values: Vec<f64> = graph.values(t.span).iter().map(|v| v.to_f64()).collect();
                if let Some(index) = values.iter().position(|v| !v.is_finite()) {
                    let name = t.name.to_string();
                    return Err(Error::NonFinite {
                        name,
                        index,
                        value: values[index],
                    });
                }
                Ok(SavedTensor {
                    name: t.name.to_string(),
                    shape: vec![t.rows, t.cols],
                    values,
                })
            })
            .collect::<Result<_>>()?;
        Ok(SavedStateDict {
            format: VALUES_FORMAT.into(),
            version: FORMAT_VERSION,
            config: *state.config(),
            tensors,
        })
    }

    /// Parses a values file, checking its format tag and version.
    pub fn from_json(text: &str) -> Result<Self> {
        let saved: SavedStateDict = serde_json::from_str(text).map_err(|source| Error::Json {
            what: VALUES_FORMAT,
            source,
        })?;
        if saved.format != VALUES_FORMAT || saved.version != FORMAT_VERSION {
            let found = format!("{:?} version {}", saved.format, saved.version);
            return Err(Error::Format {
                expected: VALUES_FORMAT,
                version: FORMAT_VERSION,
                found,
            });
        }
        Ok(saved)
    }

    /// The documented JSON text: one row of values per line.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        header(&mut out, VALUES_FORMAT, &self.config);
        out.push_str("  \"tensors\": [\n");
        for (i, t) in self.tensors.iter().enumerate() {
            let shape: Vec<String> = t.shape.iter().map(usize::to_string).collect();
            let _ = writeln!(
                out,
                "    {{\"name\": {}, \"shape\": [{}], \"values\": [",
                json(&t.name),
                shape.join(", ")
            );
            let cols = t.shape.last().copied().unwrap_or(1).max(1);
            let rows: Vec<String> = t
                .values
                .chunks(cols)
                .map(|row| row.iter().map(json).collect::<Vec<_>>().join(", "))
                .collect();
            for (r, row) in rows.iter().enumerate() {
                let comma = if r + 1 < rows.len() { "," } else { "" };
                let _ = writeln!(out, "      {row}{comma}");
            }
            let comma = if i + 1 < self.tensors.len() { "," } else { "" };
            let _ = writeln!(out, "    ]}}{comma}");
        }
        out.push_str("  ]\n}\n");
        out
    }

    /// Writes these values into `state`'s tensors in `graph`, after checking that
    /// they were saved for the same model: the same config, then every tensor's
    /// name, shape and number of values. An error names the first tensor that
    /// differs, and nothing is written unless everything matches. Each value is
    /// rounded to the graph's element type: exactly the value saved, for values
    /// captured from a graph of that type.
    pub fn load_into<F: Float>(&self, state: &StateDict, graph: &mut Graph<F>) -> Result<()> {
        check_config(state.config(), &self.config)?;
        if self.tensors.len() != state.iter().len() {
            let index = self.tensors.len().min(state.iter().len());
            let expected = state
                .iter()
                .nth(index)
                .map_or("(no tensor)".into(), |t| t.name.to_string());
            let found = self
                .tensors
                .get(index)
                .map_or("no tensor".into(), |t| format!("`{}`", t.name));
            return Err(Error::TensorName {
                index,
                expected,
                found,
            });
        }
        for (index, (want, got)) in state.iter().zip(&self.tensors).enumerate() {
            let name = want.name.to_string();
            if got.name != name {
                return Err(Error::TensorName {
                    index,
                    expected: name,
                    found: format!("`{}`", got.name),
                });
            }
            if got.shape != [want.rows, want.cols] || got.values.len() != want.rows * want.cols {
                let found = format!("shape {:?} with {} values", got.shape, got.values.len());
                return Err(Error::TensorShape {
                    name,
                    expected_rows: want.rows,
                    expected_cols: want.cols,
                    found,
                });
            }
        }
        for (want, got) in state.iter().zip(&self.tensors) {
            for (v, &x) in graph.values_mut(want.span).iter_mut().zip(&got.values) {
                *v = F::from_f64(x);
            }
        }
        Ok(())
    }

    /// The first place where `self` and `other` differ bit for bit, if any.
    pub fn first_difference(&self, other: &SavedStateDict) -> Option<Difference> {
        if self.config != other.config {
            return Some(Difference::Structure(format!(
                "config {:?} vs {:?}",
                self.config, other.config
            )));
        }
        for (i, (a, b)) in self.tensors.iter().zip(&other.tensors).enumerate() {
            if a.name != b.name || a.shape != b.shape || a.values.len() != b.values.len() {
                return Some(Difference::Structure(format!(
                    "tensor {i}: `{}` {:?} vs `{}` {:?}",
                    a.name, a.shape, b.name, b.shape
                )));
            }
            if let Some(index) = a
                .values
                .iter()
                .zip(&b.values)
                .position(|(x, y)| x.to_bits() != y.to_bits())
            {
                return Some(Difference::Value {
                    tensor: a.name.clone(),
                    index,
                    expected: a.values[index],
                    found: b.values[index],
                });
            }
        }
        if self.tensors.len() != other.tensors.len() {
            let (a, b) = (self.tensors.len(), other.tensors.len());
            return Some(Difference::Structure(format!("{a} tensors vs {b}")));
        }
        None
    }
}

/// Where two saved state dicts part ways.
#[derive(Clone, Debug, PartialEq)]
pub enum Difference {
    /// Different configs, names, shapes or counts.
    Structure(String),
    /// The first value that differs in its bits.
    Value {
        /// The tensor's name.
        tensor: String,
        /// The flat index inside the tensor.
        index: usize,
        /// The value in the first dict.
        expected: f64,
        /// The value in the second.
        found: f64,
    },
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Difference::Structure(s) => f.write_str(s),
            Difference::Value {
                tensor,
                index,
                expected,
                found,
            } => {
                write!(
                    f,
                    "tensor `{tensor}`, index {index}: expected {expected:e}, found {found:e}"
                )
            }
        }
    }
}

/// Checks that a file made for `found` can be used with `expected`.
pub fn check_config(expected: &ModelConfig, found: &ModelConfig) -> Result<()> {
    for (field, e, f) in [
        ("vocab_size", expected.vocab_size, found.vocab_size),
        ("n_embd", expected.n_embd, found.n_embd),
        ("n_head", expected.n_head, found.n_head),
        ("n_layer", expected.n_layer, found.n_layer),
        ("block_size", expected.block_size, found.block_size),
    ] {
        if e != f {
            return Err(Error::ConfigMismatch {
                field,
                expected: e,
                found: f,
            });
        }
    }
    Ok(())
}

fn header(out: &mut String, format: &str, config: &ModelConfig) {
    let _ = writeln!(
        out,
        "{{\n  \"format\": {},\n  \"version\": {FORMAT_VERSION},",
        json(&format)
    );
    let _ = writeln!(out, "  \"config\": {},", json(config));
}

fn json<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).expect("plain data serialises")
}
