//! The element type a model computes in: the reference's `f64`, or `f32`.

use serde::{Deserialize, Serialize};

/// What the graph holds its values and gradients in, and so what the model and
/// Adam compute in (see `autograd::Float`). The initial weights are drawn as
/// `f64` Gaussians either way, and rounded to `f32` for an `f32` model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Dtype {
    /// 64-bit floats: the reference's, and the default.
    #[default]
    F64,
    /// 32-bit floats: about 7 significant digits instead of 16, half the memory,
    /// and twice the values per vector instruction.
    F32,
}

impl Dtype {
    /// Its name on the command line and in files: `f64` or `f32`.
    pub fn name(self) -> &'static str {
        match self {
            Dtype::F64 => "f64",
            Dtype::F32 => "f32",
        }
    }

    /// The bytes of one value.
    pub fn size(self) -> usize {
        match self {
            Dtype::F64 => 8,
            Dtype::F32 => 4,
        }
    }

    /// Whether it is the default, `f64`, which files leave out so that they read
    /// as before.
    pub fn is_default(&self) -> bool {
        *self == Dtype::default()
    }
}

impl std::fmt::Display for Dtype {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
