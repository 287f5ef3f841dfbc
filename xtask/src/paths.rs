//! Where the repository is, for the commands that read its fixtures.

use std::path::PathBuf;

/// The repository root: the parent of this crate's folder.
pub(crate) fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the root")
        .to_path_buf()
}
