//! The run's randomness: which generator, and the order it is used in.
//!
//! - [`RngKind::ChaCha`] (the default): ChaCha20 seeded with the run's seed, one
//!   stream per use ([`params::Stream`]): the shuffle, the initial weights, and
//!   sampling each get their own, so that none depends on how much another drew.
//! - [`RngKind::Python`]: one CPython `random.Random(seed)` for the whole run, used
//!   exactly as the reference uses it: shuffle the documents, draw one Gaussian per
//!   parameter (std-0 tensors included), then one `choices` per sampled token.

use std::fmt;

use params::pyrandom::{ChoicesError, PyRandom};
use params::{ChaChaInit, InitSource, Stream, chacha};
use rand::RngExt;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// Which generator a run uses. It picks the generator only: the arithmetic is
/// [`TrainConfig::exact`](crate::TrainConfig::exact).
///
/// Its names, `chacha` and `python`, are the same in a checkpoint, in
/// [`Display`](fmt::Display) and (with the `clap` feature) on the command line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum RngKind {
    /// ChaCha20 streams: fast, portable, the default.
    #[default]
    #[cfg_attr(feature = "clap", value(name = "chacha"))]
    ChaCha,
    /// CPython's Mersenne Twister, drawn in the reference's order; with exact
    /// arithmetic, the reference program's output to the last digit.
    Python,
}

impl fmt::Display for RngKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RngKind::ChaCha => "chacha",
            RngKind::Python => "python",
        })
    }
}

/// The generator of one run.
#[derive(Clone, Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "one per run, made once: the sizes do not matter"
)]
pub enum RunRng {
    /// ChaCha20: the init stream and the sampling stream (the shuffle stream is
    /// used once, up front).
    ChaCha {
        /// Initial weights.
        init: ChaChaInit,
        /// Sampling.
        sample: ChaCha20Rng,
    },
    /// One CPython generator for everything.
    Python(PyRandom),
}

impl RunRng {
    /// The generator of `kind` for `seed`.
    pub fn new(kind: RngKind, seed: u64) -> Self {
        match kind {
            RngKind::ChaCha => RunRng::ChaCha {
                init: ChaChaInit::new(seed),
                sample: chacha(seed, Stream::Sample),
            },
            RngKind::Python => RunRng::Python(PyRandom::new(seed)),
        }
    }

    /// Shuffles the documents (`seed` picks the ChaCha shuffle stream).
    pub fn shuffle<T>(&mut self, seed: u64, docs: &mut [T]) {
        match self {
            RunRng::ChaCha { .. } => docs.shuffle(&mut chacha(seed, Stream::Shuffle)),
            RunRng::Python(py) => py.shuffle(docs),
        }
    }

    /// The source of the initial weights.
    pub fn init_source(&mut self) -> &mut dyn InitSource {
        match self {
            RunRng::ChaCha { init, .. } => init,
            RunRng::Python(py) => py,
        }
    }

    /// Draws an index with probability proportional to `weights`, as
    /// `random.choices(range(n), weights)[0]` does.
    ///
    /// # Errors
    /// If the weights are empty or do not sum to a positive finite number.
    pub fn choose(&mut self, weights: &[f64]) -> Result<usize> {
        match self {
            RunRng::Python(py) => Ok(py.choices_index(weights)?),
            RunRng::ChaCha { sample, .. } => {
                // The same rule on a ChaCha uniform draw: the first index whose
                // running sum exceeds u * total, the last one as the fallback.
                let total = check_weights(weights)?;
                let x = sample.random::<f64>() * total;
                let mut acc = 0.0;
                for (i, w) in weights[..weights.len() - 1].iter().enumerate() {
                    acc += w;
                    if acc > x {
                        return Ok(i);
                    }
                }
                Ok(weights.len() - 1)
            }
        }
    }
}

/// The sum of `weights`, if they can be sampled from; the errors are those
/// `random.choices` raises.
fn check_weights(weights: &[f64]) -> std::result::Result<f64, ChoicesError> {
    if weights.is_empty() {
        return Err(ChoicesError::Empty);
    }
    let total: f64 = weights.iter().sum();
    if total <= 0.0 {
        return Err(ChoicesError::NonPositiveTotal { total });
    }
    if !total.is_finite() {
        return Err(ChoicesError::NonFiniteTotal { total });
    }
    Ok(total)
}
