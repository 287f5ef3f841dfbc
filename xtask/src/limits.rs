//! `--max-input-mb`: how large an input file (data or checkpoint) a command reads,
//! and the advice for the library's errors about size and memory.

use train::Error;

/// The largest input file a command reads.
#[derive(clap::Args, Clone, Copy, Debug)]
pub(crate) struct InputLimit {
    /// Refuse a data file or checkpoint larger than this many MiB.
    #[arg(long, default_value_t = 1024, value_name = "MB")]
    pub(crate) max_input_mb: u64,
}

const MIB: u64 = 1 << 20;

impl InputLimit {
    pub(crate) fn bytes(self) -> u64 {
        self.max_input_mb.saturating_mul(MIB)
    }
}

/// The memory a command may still use: what the machine, the cgroup and
/// `ulimit -v` leave; unlimited where that cannot be known.
pub(crate) fn available_memory() -> u128 {
    train::available_memory().unwrap_or(u128::MAX)
}

/// `err`, with what to do about it where the limits can help; the rest of the
/// advice is [`crate::report::advise`]'s, which calls this.
pub(crate) fn advise(err: Error) -> anyhow::Error {
    match &err {
        Error::TooLarge {
            size: Some(size), ..
        } => {
            let mb = size.div_ceil(MIB);
            anyhow::anyhow!("{err}; to read it, raise the limit with --max-input-mb {mb}")
        }
        Error::TooLarge { limit, .. } => {
            let mb = (limit / MIB).saturating_mul(2).max(1);
            anyhow::anyhow!(
                "{err}; if it is meant to be read, raise the limit with --max-input-mb (say {mb})"
            )
        }
        Error::OutOfMemory { .. } | Error::Alloc { .. } => {
            anyhow::anyhow!(
                "{err}; free some memory, raise the memory limit, or use a smaller input"
            )
        }
        _ => err.into(),
    }
}
