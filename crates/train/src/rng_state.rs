//! The run generator's complete state, as a checkpoint saves it, and the generator
//! rebuilt from it.
//!
//! - ChaCha: the sampling stream's key, stream number and word position. The
//!   shuffle and init streams are spent before step 1 (a resumed run redoes the
//!   shuffle from the seed and loads the weights), so they are not saved.
//! - Python: CPython's `getstate()`: 624 words, the index, and the spare Gaussian.

use params::ChaChaInit;
use params::pyrandom::{PyRandom, PyRandomState};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::rng::{RngKind, RunRng};

/// The state of a [`RunRng`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RngState {
    /// The ChaCha20 sampling stream.
    ChaCha {
        /// The 32-byte key, as 64 lowercase hex digits.
        key: String,
        /// The stream number ([`params::Stream::Sample`]).
        stream: u64,
        /// How many 32-bit words of the stream have been used.
        word_pos: u128,
    },
    /// The CPython generator.
    Python(PyRandomState),
}

impl RngState {
    /// The kind of generator this is the state of.
    pub fn kind(&self) -> RngKind {
        match self {
            RngState::ChaCha { .. } => RngKind::ChaCha,
            RngState::Python(_) => RngKind::Python,
        }
    }
}

impl RunRng {
    /// The generator's complete state, as far as it matters after initialisation.
    pub fn state(&self) -> RngState {
        match self {
            RunRng::ChaCha { sample, .. } => RngState::ChaCha {
                key: sample
                    .get_seed()
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect(),
                stream: sample.get_stream(),
                word_pos: sample.get_word_pos(),
            },
            RunRng::Python(py) => RngState::Python(py.state()),
        }
    }

    /// The generator in `state`. For ChaCha, `seed` remakes the init stream, which
    /// a restored run never draws from again.
    ///
    /// # Errors
    /// If the state is malformed: a key that is not 64 hex digits, a CPython state
    /// without 624 words or with an index past 624.
    pub fn from_state(state: &RngState, seed: u64) -> Result<Self> {
        let bad = |why: String| Error::BadCheckpoint { why };
        match state {
            RngState::ChaCha {
                key,
                stream,
                word_pos,
            } => {
                let bytes = parse_key(key).ok_or_else(|| {
                    let n = key.chars().count();
                    bad(format!(
                        "the ChaCha key is not 64 hex digits (32 bytes): it has {n} characters"
                    ))
                })?;
                let mut sample = ChaCha20Rng::from_seed(bytes);
                sample.set_stream(*stream);
                sample.set_word_pos(*word_pos);
                Ok(RunRng::ChaCha {
                    init: ChaChaInit::new(seed),
                    sample,
                })
            }
            RngState::Python(py) => PyRandom::from_state(py.clone())
                .map(RunRng::Python)
                .map_err(|e| bad(format!("the CPython generator state is invalid: {e}"))),
        }
    }
}

fn parse_key(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use params::Stream;

    #[test]
    fn a_restored_generator_draws_what_the_original_would() {
        for kind in [RngKind::ChaCha, RngKind::Python] {
            let mut a = RunRng::new(kind, 7);
            let weights = [0.1, 0.2, 0.3, 0.4];
            // An odd number of draws, so ChaCha is mid-block and CPython mid-state.
            for _ in 0..13 {
                a.choose(&weights).unwrap();
            }
            let state = a.state();
            assert_eq!(state.kind(), kind);
            let text = serde_json::to_string(&state).unwrap();
            let back: RngState = serde_json::from_str(&text).unwrap();
            assert_eq!(back, state, "{kind:?}");
            let mut b = RunRng::from_state(&back, 7).unwrap();
            let draws = |r: &mut RunRng| -> Vec<usize> {
                (0..2000).map(|_| r.choose(&weights).unwrap()).collect()
            };
            assert_eq!(draws(&mut a), draws(&mut b), "{kind:?}");
            if let RngState::ChaCha { stream, .. } = state {
                assert_eq!(stream, Stream::Sample as u64);
            }
        }
    }

    #[test]
    fn malformed_states_are_refused() {
        let bad_key = RngState::ChaCha {
            key: "zz".repeat(32),
            stream: 2,
            word_pos: 0,
        };
        let err = RunRng::from_state(&bad_key, 1).unwrap_err();
        assert!(err.to_string().contains("64 hex digits"), "{err}");
        let mut py = PyRandom::new(1).state();
        py.key.pop();
        let err = RunRng::from_state(&RngState::Python(py), 1).unwrap_err();
        assert!(err.to_string().contains("623 words"), "{err}");
    }
}
