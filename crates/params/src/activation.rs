//! The MLP's activation: the one place the two published versions of microgpt.py
//! differ in the model's arithmetic.

use serde::{Deserialize, Serialize};

/// What the MLP applies between `mlp_fc1` and `mlp_fc2`, element-wise.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Activation {
    /// `relu(x) ** 2`, a `pow` node in the reference: the first microgpt.py (v1).
    #[default]
    Relu2,
    /// `relu(x)`, no power: the revision in the gist today (v2).
    Relu,
}

impl Activation {
    /// Its name on the command line and in files: `relu2` or `relu`.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu2 => "relu2",
            Activation::Relu => "relu",
        }
    }

    /// Whether it is v1's, which files leave out so that they read as before.
    pub fn is_default(&self) -> bool {
        *self == Activation::default()
    }
}
