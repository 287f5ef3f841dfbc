//! Writing a file atomically: a crash at any moment leaves the old file or the new
//! one, never a torn one.
//!
//! The bytes go to a new temporary file in the target's directory (a rename is only
//! atomic within one file system), which is flushed and synced to disk, then renamed
//! over the target; then the directory is synced, so the rename itself survives a
//! power cut. On any error the temporary file is removed and the target is untouched.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// Writes `bytes` to `path` atomically.
///
/// # Errors
/// If `path` names no file (it ends in `..` or is empty), or the directory cannot
/// be written; the error names `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let fail = |source| Error::Write {
        path: path.into(),
        source,
    };
    let Some(name) = path.file_name() else {
        let why = "the path names no file";
        return Err(fail(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            why,
        )));
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let tmp = temp_path(dir, &name.to_string_lossy());
    let result = write_then_rename(&tmp, path, dir, bytes);
    if result.is_err() {
        // Gone already if the rename happened; otherwise a partial file to clear.
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(fail)
}

/// `.NAME.PID-N.tmp` beside the target: hidden, and unique to this process and call,
/// so two writers never share one.
fn temp_path(dir: &Path, name: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".{name}.{}-{n}.tmp", std::process::id()))
}

fn write_then_rename(tmp: &Path, path: &Path, dir: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(tmp)?;
    file.write_all(bytes)?;
    file.flush()?;
    file.sync_all()?;
    drop(file);
    fs::rename(tmp, path)?;
    sync_dir(dir)
}

/// Makes the rename durable: the directory entry lives in the directory's data.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Windows cannot open a directory as a file; its rename is durable on return.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("microgpt-atomic-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_the_target_whole_and_leaves_no_temporary_file() {
        let dir = scratch("replace");
        let path = dir.join("c.json");
        write_atomic(&path, b"a long first version").unwrap();
        write_atomic(&path, b"short").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"short");
        assert_eq!(entries(&dir), ["c.json"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_write_names_the_path_and_leaves_the_old_file() {
        let dir = scratch("fail");
        // The target is a non-empty directory: the rename must fail, after the
        // temporary file was written.
        let target = dir.join("taken");
        fs::create_dir_all(target.join("inside")).unwrap();
        let err = write_atomic(&target, b"data").unwrap_err();
        assert!(err.to_string().contains("taken"), "{err}");
        assert_eq!(entries(&dir), ["taken"], "the temporary file is cleared");
        assert_eq!(entries(&target), ["inside"]);

        let missing = dir.join("no/such/dir/c.json");
        let err = write_atomic(&missing, b"data").unwrap_err();
        assert!(matches!(err, Error::Write { .. }), "{err}");
        assert!(err.to_string().contains("no/such/dir/c.json"), "{err}");
        assert!(write_atomic(Path::new(".."), b"x").is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
