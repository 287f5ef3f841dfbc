//! Writing a file atomically: a crash at any moment leaves the old file or the new
//! one, never a torn one; and checking, before any work, that such a write can
//! happen at all.
//!
//! The bytes go to a new temporary file in the target's directory (a rename is only
//! atomic within one file system), which is flushed and synced to disk, then renamed
//! over the target; then the directory is synced, so the rename itself survives a
//! power cut. On any error the temporary file is removed and the target is untouched.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// Writes `bytes` to `path` atomically.
///
/// # Errors
/// If `path` names no file (it ends in `..` or is empty), or the directory cannot
/// be written; the error names `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_via(path, bytes, Write::write_all)
}

/// [`write_atomic`], with the bytes written to the temporary file by `write`: the
/// seam through which the tests make a write fail halfway, as a full disk does.
fn write_atomic_via(
    path: &Path,
    bytes: &[u8],
    write: impl FnOnce(&mut File, &[u8]) -> std::io::Result<()>,
) -> Result<()> {
    let fail = |source| Error::Write {
        path: path.into(),
        source,
    };
    let Some(name) = path.file_name() else {
        let why = "the path names no file";
        return Err(fail(std::io::Error::new(ErrorKind::InvalidInput, why)));
    };
    let dir = parent(path);
    let tmp = temp_path(dir, &name.to_string_lossy());
    let result = write_then_rename(&tmp, path, dir, bytes, write);
    if result.is_err() {
        // Gone already if the rename happened; otherwise a partial file to clear.
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(fail)
}

/// Checks that [`write_atomic`] could write `path`, before the work whose result
/// it will hold: that the path names a file that is not a directory, in a
/// directory that exists and where a file can be created.
///
/// The last is asked of the file system itself: a temporary file is created
/// beside the target, as the write will do, and removed. Permission bits alone
/// would not tell (root ignores them; a read-only mount or a quota does not show
/// in them).
///
/// # Errors
/// [`Error::NotWritable`], saying what is in the way and what to do.
pub fn check_writable(path: &Path) -> Result<()> {
    let refuse = |why: String| {
        Err(Error::NotWritable {
            path: path.into(),
            why,
        })
    };
    let Some(name) = path.file_name() else {
        return refuse("the path names no file; end it with a file name".into());
    };
    let dir = parent(path);
    match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return refuse(format!("{} is not a directory", dir.display())),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return refuse(format!(
                "the directory {} does not exist; create it first, or choose another path",
                dir.display()
            ));
        }
        Err(e) => return refuse(format!("cannot reach {}: {e}", dir.display())),
    }
    if path.is_dir() {
        return refuse("it is a directory; give the path of a file".into());
    }
    let probe = temp_path(dir, &name.to_string_lossy());
    match OpenOptions::new().write(true).create_new(true).open(&probe) {
        Ok(file) => {
            drop(file);
            fs::remove_file(&probe).map_err(|source| Error::Write {
                path: probe,
                source,
            })
        }
        Err(e) => refuse(format!(
            "cannot create a file in {}: {e}; choose a directory you can write to",
            dir.display()
        )),
    }
}

/// The directory a file of `path` goes in.
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// `.NAME.PID-N.tmp` beside the target: hidden, and unique to this process and call,
/// so two writers never share one.
fn temp_path(dir: &Path, name: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".{name}.{}-{n}.tmp", std::process::id()))
}

fn write_then_rename(
    tmp: &Path,
    path: &Path,
    dir: &Path,
    bytes: &[u8],
    write: impl FnOnce(&mut File, &[u8]) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(tmp)?;
    write(&mut file, bytes)?;
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

    #[test]
    fn a_write_that_fails_halfway_leaves_the_old_file_and_no_temporary_one() {
        // What a full disk does: the first bytes go in, then ENOSPC. The failure is
        // injected (a real full disk needs a small file system: see
        // xtask/tests/faults.rs), but the temporary file and its cleanup are real.
        let dir = scratch("full");
        let path = dir.join("c.json");
        write_atomic(&path, b"the previous checkpoint").unwrap();
        let err = write_atomic_via(&path, b"a new checkpoint, longer", |file, bytes| {
            file.write_all(&bytes[..5])?;
            file.sync_all()?;
            Err(std::io::Error::new(
                ErrorKind::StorageFull,
                "no space left on device",
            ))
        })
        .unwrap_err();
        assert!(
            matches!(&err, Error::Write { source, .. } if source.kind() == ErrorKind::StorageFull),
            "{err}"
        );
        assert!(err.to_string().contains("c.json"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"the previous checkpoint");
        assert_eq!(entries(&dir), ["c.json"], "the partial file is cleared");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_path_that_cannot_be_written_is_found_before_any_write() {
        let dir = scratch("check");
        fs::write(dir.join("file"), "x").unwrap();
        fs::create_dir(dir.join("sub")).unwrap();
        let cases = [
            ("no/such/c.json", "the directory"),
            ("file/c.json", "is not a directory"),
            ("file/deeper/c.json", "cannot reach"),
            ("sub", "it is a directory"),
            ("sub/..", "names no file"),
        ];
        for (rel, why) in cases {
            let err = check_writable(&dir.join(rel)).unwrap_err();
            assert!(matches!(err, Error::NotWritable { .. }), "{rel}: {err}");
            assert!(err.to_string().contains(why), "{rel}: {err}");
            assert!(err.to_string().contains(rel), "{rel}: {err}");
        }
        check_writable(&dir.join("sub/c.json")).unwrap();
        check_writable(&dir.join("file")).unwrap();
        // The probe is gone, and the existing file untouched.
        assert_eq!(entries(&dir), ["file", "sub"]);
        assert!(entries(&dir.join("sub")).is_empty());
        assert_eq!(fs::read(dir.join("file")).unwrap(), b"x");
        fs::remove_dir_all(&dir).unwrap();
    }
}
