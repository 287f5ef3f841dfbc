//! Reading a checkpoint for a command: the library's checks, with the file named
//! in the error, and a note for a version 1 file, which has no checksum to check.

use std::path::Path;

use anyhow::Context;
use train::Checkpoint;

use crate::limits::{InputLimit, advise, available_memory};

/// Loads the checkpoint `path`; `doing` says what for ("cannot resume from").
pub(crate) fn checkpoint(
    path: &Path,
    doing: &str,
    limit: InputLimit,
) -> anyhow::Result<Checkpoint> {
    let checkpoint = Checkpoint::load_with(path, limit.bytes(), available_memory())
        .map_err(advise)
        .with_context(|| format!("{doing} {}", path.display()))?;
    if checkpoint.version == 1 {
        note!(
            "note: {} is a version 1 checkpoint, which has no checksum, so corruption cannot be detected; a checkpoint saved now is version {}",
            path.display(),
            train::CHECKPOINT_VERSION
        );
    }
    Ok(checkpoint)
}
