//! The errors of the `train` crate.
//!
//! They say what went wrong, with the values in fields; a setting is named as in
//! [`TrainConfig`](crate::TrainConfig) (`learning_rate`, `steps`). What to do about
//! it in terms of a command line's flags is the program's to say: `cargo xtask`
//! adds "try a smaller --lr" to a divergence.

use std::path::PathBuf;

use crate::fingerprint::DataFingerprint;

/// What stopped a run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A data file or a checkpoint could not be read.
    #[error("cannot read {}: {source}{}", path.display(), read_hint(source))]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The data file is not UTF-8 text.
    #[error("{name} is not UTF-8 text: invalid byte 0x{byte:02x} on line {line}")]
    NotUtf8 {
        /// The file's name, or `<embedded>`.
        name: String,
        /// The 1-based line of the first invalid byte.
        line: usize,
        /// That byte.
        byte: u8,
    },
    /// The data file holds a NUL byte, which no text holds.
    #[error(
        "{name} is not text: it holds a NUL byte on line {line} (a binary file?); give a text file, one document per line"
    )]
    Binary {
        /// The file's name.
        name: String,
        /// The 1-based line of the first NUL byte.
        line: usize,
    },
    /// A file larger than the reader's limit.
    #[error("{name} is larger than the limit of {}{}", params::Bytes(u128::from(*limit)), size.map_or(String::new(), |s| format!(" (it is {})", params::Bytes(u128::from(s)))))]
    TooLarge {
        /// The file's name.
        name: String,
        /// Its size, where known before reading (a regular file).
        size: Option<u64>,
        /// The limit, in bytes.
        limit: u64,
    },
    /// Work that would need more memory than is available.
    #[error("{what} needs about {} but only {} is available", params::Bytes(*needed), params::Bytes(*available))]
    OutOfMemory {
        /// What the memory was for.
        what: String,
        /// Bytes needed.
        needed: u128,
        /// Bytes available.
        available: u128,
    },
    /// An allocation the system refused.
    #[error("cannot allocate {} for {what}: out of memory", params::Bytes(*bytes as u128))]
    Alloc {
        /// What the memory was for.
        what: &'static str,
        /// Bytes asked for.
        bytes: usize,
    },
    /// The data holds no document.
    #[error("{name} holds no documents: every line is empty or blank; give one document per line")]
    NoDocuments {
        /// The file's name.
        name: String,
    },
    /// Text with a character the tokenizer does not know.
    #[error("character {ch:?} (U+{code:04X}) is not in the vocabulary")]
    UnknownChar {
        /// The character.
        ch: char,
        /// Its code point.
        code: u32,
    },
    /// A token id the tokenizer does not know.
    #[error("token id {id} is not in the vocabulary of {vocab_size}")]
    UnknownToken {
        /// The id.
        id: usize,
        /// The vocabulary size.
        vocab_size: usize,
    },
    /// A setting that cannot work.
    #[error("invalid {what}: {why}")]
    Invalid {
        /// The setting, by its field name: `steps`, `learning_rate`, `beta1`,
        /// `beta2`, `eps`, `init.std`, `temperature`, or `vocab`.
        what: &'static str,
        /// What is wrong with it and what would work.
        why: String,
    },
    /// A prefix to continue that leaves no position of the context to generate in.
    #[error(
        "a prefix of {len} characters leaves no room: the model's context of {block_size} (block_size) holds BOS and at most {} more",
        .block_size - 1
    )]
    PrefixTooLong {
        /// The prefix's length in tokens (characters).
        len: usize,
        /// The model's context length.
        block_size: usize,
    },
    /// The thread pool of `--threads` could not be started.
    #[error("{0}")]
    Threads(String),
    /// The threads asked for would not fit in memory with the run: each thread
    /// after the first holds its own copy of the parameters and their gradients.
    #[error(
        "training on {threads} threads needs about {} but only {} is available (each thread after the first holds a copy of the parameters and their gradients); {fits} would fit",
        params::Bytes(*needed),
        params::Bytes(*available)
    )]
    TooManyThreads {
        /// The threads asked for.
        threads: usize,
        /// Bytes needed with that many.
        needed: u128,
        /// Bytes available.
        available: u128,
        /// The most threads that fit, at least 1.
        fits: usize,
    },
    /// The loss or a gradient stopped being a finite number.
    #[error("training diverged at step {step}: the {what} is {value}")]
    Diverged {
        /// The 1-based step.
        step: usize,
        /// `loss` or `gradient`.
        what: &'static str,
        /// The offending value.
        value: f64,
    },
    /// A weight or an Adam moment stopped being a finite number (a checkpoint cannot
    /// hold it): the run diverged although every loss and gradient was finite.
    #[error("training diverged by step {step}: `{name}` holds {value} at index {index}")]
    NonFiniteState {
        /// The steps taken.
        step: usize,
        /// The tensor, such as `wte` or `adam_v.wte`.
        name: String,
        /// The flat index inside it.
        index: usize,
        /// The value.
        value: f64,
    },
    /// The exact arithmetic asked for in another dtype than `f64`: the reference
    /// computes in `f64`, so its digits exist only there.
    #[error(
        "the exact arithmetic reproduces the reference, which computes in f64; it cannot run in {dtype}"
    )]
    ExactNeedsF64 {
        /// The dtype asked for.
        dtype: params::Dtype,
    },
    /// A checkpoint that is not JSON of the documented shape.
    #[error("not a valid checkpoint: {source}{}", json_hint(source))]
    CheckpointJson {
        /// The parser's complaint, with line and column.
        source: serde_json::Error,
    },
    /// A checkpoint of another format or version, or whose parts do not fit together.
    #[error("unusable checkpoint: {why}")]
    BadCheckpoint {
        /// What is wrong with it.
        why: String,
    },
    /// A checkpoint whose bytes are not those it was written with.
    #[error(
        "the checkpoint's checksum does not match its contents (stored {stored}, computed {computed}): the file was changed after it was written, by a disk or copy error or an edit; use another copy"
    )]
    ChecksumMismatch {
        /// The checksum the file holds.
        stored: String,
        /// The checksum of what the file holds besides it.
        computed: String,
    },
    /// Resuming on documents other than the checkpoint's.
    #[error("the checkpoint was trained on {saved}, but this data is {given}")]
    DataMismatch {
        /// The data the checkpoint was trained on.
        saved: DataFingerprint,
        /// The data given now.
        given: DataFingerprint,
    },
    /// Continuing on data whose characters are not the checkpoint's.
    #[error(
        "the data's vocabulary differs from the checkpoint's ({difference}); the model has one embedding row per character, so it can only continue on data with the same characters"
    )]
    VocabMismatch {
        /// Which characters are missing and which are new.
        difference: String,
    },
    /// The model configuration is unusable.
    #[error(transparent)]
    Params(#[from] params::Error),
    /// The model refused an input.
    #[error(transparent)]
    Model(#[from] model::Error),
    /// The generator refused the sampling weights.
    #[error("cannot sample: {0}")]
    Sample(#[from] params::pyrandom::ChoicesError),
}

/// A `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// The fix for a failed read, where the error's kind suggests one.
fn read_hint(source: &std::io::Error) -> &'static str {
    match source.kind() {
        std::io::ErrorKind::IsADirectory => "; give a file, not a directory",
        std::io::ErrorKind::PermissionDenied => "; check the file's permissions",
        _ => "",
    }
}

/// What a parse error at the end of the text means: the file was cut short.
fn json_hint(source: &serde_json::Error) -> &'static str {
    if source.is_eof() {
        " (the file ends early: it was cut short, perhaps by a copy that did not finish)"
    } else {
        ""
    }
}
