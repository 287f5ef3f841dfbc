//! Writing an output file atomically: a crash at any moment leaves the old file or
//! the new one, never a torn one; and checking, before any work, that such a write
//! can happen at all.
//!
//! The bytes go to a new temporary file in the target's directory (a rename is only
//! atomic within one file system), which takes the old file's permissions, is
//! flushed and synced to disk, then renamed over the target; then the directory is
//! synced, so the rename itself survives a power cut. On any error the temporary
//! file is removed and the target is untouched.
//!
//! Only a regular file (or none) is replaced so. A symbolic link is followed and
//! kept: the file it leads to is replaced. A device, a FIFO or a socket is written
//! in place, since it is not a file to replace (`--save /dev/null` must leave
//! `/dev/null` a device). A directory is refused.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, bail};

use super::target::{Target, parent};

/// Writes `bytes` to `path` atomically (or in place, for a special file).
///
/// # Errors
/// If `path` names no file (it ends in `..` or is empty) or a directory, or the
/// directory cannot be written; the error names `path`.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_atomic_via(path, bytes, Write::write_all)
}

/// [`write_atomic`], with the bytes written by `write`: the seam through which the
/// tests make a write fail halfway, as a full disk does.
fn write_atomic_via(
    path: &Path,
    bytes: &[u8],
    write: impl FnOnce(&mut File, &[u8]) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let fail = || format!("cannot write {}", path.display());
    if path.file_name().is_none() {
        bail!("cannot write {}: the path names no file", path.display());
    }
    let (target, old) = match Target::of(path).with_context(fail)? {
        Target::Directory => {
            bail!("cannot write {}: it is a directory", path.display())
        }
        Target::Special(device) => {
            // Opened for writing only: no create, no truncate, no rename.
            let mut file = OpenOptions::new()
                .write(true)
                .open(&device)
                .with_context(fail)?;
            return write(&mut file, bytes).with_context(fail);
        }
        Target::Missing(target) => (target, None),
        Target::Regular(target, meta) => (target, Some(meta.permissions())),
    };
    let Some(name) = target.file_name() else {
        bail!("cannot write {}: the path names no file", path.display());
    };
    let dir = parent(&target);
    let tmp = temp_path(dir, &name.to_string_lossy());
    let result = write_then_rename(&tmp, &target, dir, bytes, old, write);
    if result.is_err() {
        // Gone already if the rename happened; otherwise a partial file to clear.
        let _ = fs::remove_file(&tmp);
    }
    result.with_context(fail)
}

/// Checks that [`write_atomic`] (or any other writer of outputs) could write
/// `path`, before the work whose result it will hold: that the path names a file
/// that is not a directory, in a directory that exists and where a file can be
/// created. A special file passes as it is: it is written in place.
///
/// The last is asked of the file system itself: a temporary file is created
/// beside the target, as the write will do, and removed. Permission bits alone
/// would not tell (root ignores them; a read-only mount or a quota does not show
/// in them).
///
/// # Errors
/// Saying what is in the way and what to do.
pub(crate) fn check_writable(path: &Path) -> anyhow::Result<()> {
    let refuse = |why: String| bail!("cannot write {}: {why}", path.display());
    if path.file_name().is_none() {
        return refuse("the path names no file; end it with a file name".into());
    }
    let target = match Target::of(path) {
        Ok(Target::Special(_)) => return Ok(()),
        Ok(Target::Directory) => {
            return refuse("it is a directory; give the path of a file".into());
        }
        Ok(Target::Missing(target) | Target::Regular(target, _)) => target,
        Err(e) => return refuse(format!("cannot reach it: {e}")),
    };
    let Some(name) = target.file_name() else {
        return refuse("the path names no file; end it with a file name".into());
    };
    let dir = parent(&target);
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
    let probe = temp_path(dir, &name.to_string_lossy());
    match OpenOptions::new().write(true).create_new(true).open(&probe) {
        Ok(file) => {
            drop(file);
            fs::remove_file(&probe).with_context(|| format!("cannot remove {}", probe.display()))
        }
        Err(e) => refuse(format!(
            "cannot create a file in {}: {e}; choose a directory you can write to",
            dir.display()
        )),
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
    permissions: Option<fs::Permissions>,
    write: impl FnOnce(&mut File, &[u8]) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(tmp)?;
    // The replaced file's mode, so a file kept private (0600) stays private.
    if let Some(permissions) = permissions {
        file.set_permissions(permissions)?;
    }
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
    use std::os::unix::fs::{PermissionsExt, symlink};

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
    fn a_replaced_file_keeps_its_permissions_and_a_link_stays_a_link() {
        let dir = scratch("keep");
        let path = dir.join("c.json");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        write_atomic(&path, b"new").unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);

        // A link to the file, and a dangling link to a file not written yet.
        symlink("c.json", dir.join("link.json")).unwrap();
        write_atomic(&dir.join("link.json"), b"through the link").unwrap();
        assert!(
            fs::symlink_metadata(dir.join("link.json"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&path).unwrap(), b"through the link");
        symlink("later.json", dir.join("dangling.json")).unwrap();
        write_atomic(&dir.join("dangling.json"), b"made").unwrap();
        assert!(
            fs::symlink_metadata(dir.join("dangling.json"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(dir.join("later.json")).unwrap(), b"made");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_write_names_the_path_and_leaves_the_old_file() {
        let dir = scratch("fail");
        let target = dir.join("taken");
        fs::create_dir_all(target.join("inside")).unwrap();
        let err = write_atomic(&target, b"data").unwrap_err();
        assert!(
            format!("{err:#}").contains("taken: it is a directory"),
            "{err:#}"
        );
        assert_eq!(entries(&dir), ["taken"], "no temporary file");
        assert_eq!(entries(&target), ["inside"]);

        let missing = dir.join("no/such/dir/c.json");
        let err = write_atomic(&missing, b"data").unwrap_err();
        assert!(format!("{err:#}").contains("no/such/dir/c.json"), "{err:#}");
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
        let io = err.downcast_ref::<std::io::Error>().unwrap();
        assert_eq!(io.kind(), ErrorKind::StorageFull);
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
