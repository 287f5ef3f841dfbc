//! The errors of the `params` crate.

/// What went wrong with a configuration or a state dict.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A size that must be positive is zero.
    #[error("{field} must be at least 1, got 0")]
    ZeroSize {
        /// The config field, such as `n_embd`.
        field: &'static str,
    },
    /// The heads do not split the embedding evenly.
    #[error(
        "n_embd ({n_embd}) must be a multiple of n_head ({n_head}): each head gets n_embd / n_head dims"
    )]
    HeadsDoNotDivide {
        /// The embedding width.
        n_embd: usize,
        /// The number of heads.
        n_head: usize,
    },
    /// The model, or the graph of one training step, would not fit.
    #[error("{what} would need {needed}, more than the {limit} available; choose smaller sizes")]
    TooLarge {
        /// What would not fit.
        what: &'static str,
        /// The memory it would take, human-readable.
        needed: Bytes,
        /// The memory available, human-readable.
        limit: Bytes,
    },
    /// A saved file is not JSON of the expected shape.
    #[error("not a valid {what} file: {source}")]
    Json {
        /// What the file was expected to hold.
        what: &'static str,
        /// The parser's complaint, with line and column.
        source: serde_json::Error,
    },
    /// A saved file holds another kind of document, or another version of it.
    #[error("expected a {expected} file of version {version}, found {found}")]
    Format {
        /// The expected `format` tag.
        expected: &'static str,
        /// The supported version.
        version: u32,
        /// What the file declares.
        found: String,
    },
    /// A saved file was made for another model configuration.
    #[error("the file is for a different model: {field} is {found} there, {expected} here")]
    ConfigMismatch {
        /// The config field that differs.
        field: &'static str,
        /// Its value in the current config.
        expected: usize,
        /// Its value in the file.
        found: usize,
    },
    /// A tensor of the layout is absent, or out of place.
    #[error("tensor {index} should be `{expected}`, found {found}")]
    TensorName {
        /// Its position in the state dict.
        index: usize,
        /// The name the layout puts there.
        expected: String,
        /// What the file has there.
        found: String,
    },
    /// A tensor has the wrong shape or number of values.
    #[error("tensor `{name}` should be {expected_rows} x {expected_cols}, found {found}")]
    TensorShape {
        /// The tensor's name.
        name: String,
        /// Rows the layout gives it.
        expected_rows: usize,
        /// Columns the layout gives it.
        expected_cols: usize,
        /// What the file has, described.
        found: String,
    },
    /// A value that JSON cannot hold.
    #[error("tensor `{name}` holds a non-finite value ({value}) at index {index}")]
    NonFinite {
        /// The tensor's name.
        name: String,
        /// The flat index inside the tensor.
        index: usize,
        /// The value.
        value: f64,
    },
}

/// A `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// A byte count that prints in binary units, such as `3.2 GiB`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bytes(pub u128);

impl std::fmt::Display for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        let mut v = self.0 as f64;
        let mut unit = 0;
        while v >= 1024.0 && unit + 1 < UNITS.len() {
            v /= 1024.0;
            unit += 1;
        }
        if unit == 0 {
            write!(f, "{} B", self.0)
        } else {
            write!(f, "{v:.1} {}", UNITS[unit])
        }
    }
}
