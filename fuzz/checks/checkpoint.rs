//! The checkpoint check, shared by the `checkpoint` fuzz target and the regression
//! test `crates/train/tests/fuzz_regressions.rs`: arbitrary bytes as a saved model.
//!
//! Two loaders read such files: `train::Checkpoint::from_json` (a whole run) and
//! `params::SavedStateDict::from_json` (weights alone, as in the golden files).
//! Neither may panic: each loads, or returns an error. A version 2 checkpoint
//! whose checksum does not match is refused saying so, and is then checked again
//! with the checksum it should have, so the fuzzer reaches past the checksum
//! into everything behind it. What loads must be exactly
//! what the file says and must survive writing and reading again, bit for bit. A
//! checkpoint that loads must restore a model that generates; a state dict that
//! loads must go into a model of its config, and one of another config must refuse
//! it and stay untouched.

use autograd::Graph;
use params::{Activation, ChaChaInit, ModelConfig, SavedStateDict, StateDict};
use train::{Checkpoint, Inference};

/// The model every state dict is also loaded into, whatever config it claims:
/// small, and the config of `fixtures/fuzz/checkpoint/seed-small.json`.
const SMALL: ModelConfig = ModelConfig {
    vocab_size: 3,
    n_embd: 2,
    n_head: 1,
    n_layer: 1,
    block_size: 2,
    activation: Activation::Relu2,
};

/// Models with more parameters than this are not built for a file's own config:
/// deciding that a config is affordable is the caller's job
/// (`ModelConfig::check_memory`), not the loader's.
const MAX_PARAMS: u128 = 10_000;
/// Checkpoints with a longer context are restored but do not generate (too slow
/// for a fuzzer).
const MAX_BLOCK: usize = 16;

/// What one input did.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// The models a state dict loaded into (0, 1 or 2), if it parsed as one.
    pub(crate) state_dict: Option<usize>,
    /// Whether it parsed as a checkpoint, and how far it went from there.
    pub(crate) checkpoint: Option<Restored>,
}

/// How far a checkpoint that parsed went.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Restored {
    /// Too large to restore here.
    Large,
    /// Refused when restoring a model from it.
    Refused,
    /// Restored, and generated a text of this many characters.
    Generated(usize),
}

/// Runs every check on `data`; panics with a message naming the broken invariant.
pub(crate) fn check(data: &[u8]) -> Outcome {
    let Ok(text) = std::str::from_utf8(data) else {
        return Outcome::default();
    };
    Outcome {
        state_dict: SavedStateDict::from_json(text)
            .ok()
            .map(|saved| check_state_dict(&saved)),
        checkpoint: checkpoint_of(text).map(|c| check_checkpoint(&c)),
    }
}

/// The checkpoint `text` holds, if any; a wrong checksum is put right first.
fn checkpoint_of(text: &str) -> Option<Checkpoint> {
    match Checkpoint::from_json(text) {
        Ok(c) => Some(c),
        Err(train::Error::ChecksumMismatch { stored, computed }) => {
            assert_ne!(stored, computed, "a mismatch of equal checksums");
            let key = format!("\"checksum\": \"fnv1a64:{stored}\"");
            let fixed = text.replacen(&key, &format!("\"checksum\": \"fnv1a64:{computed}\""), 1);
            match Checkpoint::from_json(&fixed) {
                Err(train::Error::ChecksumMismatch { .. }) => {
                    panic!("the checksum it asked for does not match either")
                }
                result => result.ok(),
            }
        }
        Err(_) => None,
    }
}

fn check_checkpoint(checkpoint: &Checkpoint) -> Restored {
    let again =
        Checkpoint::from_json(&checkpoint.to_json()).expect("a written checkpoint reads back");
    assert_eq!(
        &again, checkpoint,
        "a checkpoint changed on the way to JSON and back"
    );
    for (a, b) in [
        (&checkpoint.weights, &again.weights),
        (&checkpoint.adam_m, &again.adam_m),
        (&checkpoint.adam_v, &again.adam_v),
    ] {
        assert_eq!(
            a.first_difference(b),
            None,
            "a value changed on the way to JSON and back"
        );
    }
    let model = &checkpoint.model;
    if model.num_params_wide() > MAX_PARAMS {
        return Restored::Large;
    }
    // The weights of a checked checkpoint fit its own model (and no other).
    assert_eq!(
        check_state_dict(&checkpoint.weights),
        1,
        "the weights do not fit the model"
    );
    let mut inference = match Inference::from_checkpoint(checkpoint) {
        Ok(inference) => inference,
        Err(_) => return Restored::Refused,
    };
    if model.block_size > MAX_BLOCK {
        return Restored::Large;
    }
    let vocab: Vec<char> = checkpoint.vocab.chars().collect();
    let mut longest = 0;
    for temperature in [checkpoint.train.temperature, 1.0] {
        // A refusal (say, weights so large that the probabilities are not finite)
        // is fine; a panic is not, and neither is a text the model cannot hold.
        if let Ok(text) = inference.generate(temperature, &[]) {
            let n = text.chars().count();
            assert!(
                n <= model.block_size,
                "{n} characters from a context of {} positions",
                model.block_size
            );
            assert!(
                text.chars().all(|c| vocab.contains(&c)),
                "{text:?} leaves the vocabulary"
            );
            longest = longest.max(n);
        }
    }
    Restored::Generated(longest)
}

/// Loads `saved` into [`SMALL`], and into a model of its own config when that is
/// valid and small; returns how many took it.
fn check_state_dict(saved: &SavedStateDict) -> usize {
    // What parses writes back to text that parses to the same values, bit for bit.
    let again = SavedStateDict::from_json(&saved.to_json()).expect("written JSON reads back");
    assert_eq!(
        saved.first_difference(&again),
        None,
        "a value changed on the way to JSON and back"
    );
    assert_eq!(again.tensors.len(), saved.tensors.len());

    let claimed = saved.config;
    let configs: &[ModelConfig] = if claimed != SMALL
        && claimed.validate().is_ok()
        && claimed.num_params_wide() <= MAX_PARAMS
    {
        &[SMALL, claimed]
    } else {
        &[SMALL]
    };
    let mut loaded = 0;
    for config in configs {
        let mut graph = Graph::new();
        let state = StateDict::new(&mut graph, config, &mut ChaChaInit::new(7))
            .expect("SMALL and the configs let through are valid");
        let before = SavedStateDict::capture(&state, &graph).expect("initial values are finite");
        match saved.load_into(&state, &mut graph) {
            Ok(()) => {
                loaded += 1;
                assert_eq!(
                    *config, saved.config,
                    "loaded a file made for another config"
                );
                let after =
                    SavedStateDict::capture(&state, &graph).expect("loaded values are finite");
                assert_eq!(
                    after.first_difference(saved),
                    None,
                    "the model holds other values than the file"
                );
                assert_eq!(after.tensors.len(), saved.tensors.len());
            }
            Err(_) => {
                let after = SavedStateDict::capture(&state, &graph).expect("values are untouched");
                assert_eq!(
                    after.first_difference(&before),
                    None,
                    "a refused file changed the model"
                );
            }
        }
    }
    loaded
}
