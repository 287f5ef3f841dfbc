//! The errors of the `model` crate.

/// A request the model cannot serve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A position the position embedding does not cover.
    #[error(
        "position {pos} is out of range: the model has block_size {block_size} (positions 0..{block_size})"
    )]
    PositionOutOfRange {
        /// The position asked for.
        pos: usize,
        /// The model's context length.
        block_size: usize,
    },
    /// A position that is not the next one of the cache.
    #[error(
        "position {pos} does not follow the {cached} cached positions; feed positions in order from 0"
    )]
    PositionOutOfOrder {
        /// The position asked for.
        pos: usize,
        /// How many positions the cache holds.
        cached: usize,
    },
    /// A cache with no room for the next position: not started, or started for a
    /// shorter sequence (a training step's).
    #[error(
        "the key/value cache has room for {capacity} positions; start it with Gpt::start before feeding tokens"
    )]
    CacheFull {
        /// The positions it has room for.
        capacity: usize,
    },
    /// A token id outside the vocabulary.
    #[error(
        "token id {token} is out of range: the vocabulary has {vocab_size} tokens (ids 0..{vocab_size})"
    )]
    TokenOutOfRange {
        /// The token id.
        token: usize,
        /// The vocabulary size.
        vocab_size: usize,
    },
    /// A sequence with nothing to predict.
    #[error("a sequence needs at least 2 tokens to have a loss, got {len}")]
    SequenceTooShort {
        /// Its length.
        len: usize,
    },
    /// Training the model would not fit in memory, or its graph in the arena.
    #[error(
        "training this model would need {needed} (a graph of {slots} nodes), more than the {limit} available (or the 2^32 nodes an arena holds); choose smaller sizes"
    )]
    TooLarge {
        /// The bytes it would take.
        needed: params::Bytes,
        /// The bytes available.
        limit: params::Bytes,
        /// The nodes of its graph.
        slots: u128,
    },
    /// A logits buffer of the wrong length.
    #[error("the logits buffer holds {got} values, it needs {expected} (positions x vocabulary)")]
    LogitsLength {
        /// Its length.
        got: usize,
        /// The length needed.
        expected: usize,
    },
}

/// A `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
