//! One writer per checkpoint: an advisory lock held for the whole run, so that
//! two runs saving to one path cannot overwrite each other's work in turn.
//!
//! The lock is not taken on the checkpoint itself: every save renames a new file
//! over it, and a lock belongs to the old file. It is taken on `.NAME.lock` beside
//! it, which holds the pid of the run that holds it, for the message a second run
//! gets. The file is removed when the run ends; a run killed outright leaves it,
//! unlocked, and the next run simply takes it (the kernel drops a dead process's
//! locks). The lock is the standard library's (`flock` on Unix), so no crate is
//! needed for it.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::target::{Target, parent};

/// A held lock; dropping it removes the lock file and releases the lock.
#[derive(Debug)]
pub(crate) struct Lock {
    path: PathBuf,
    _file: File,
}

impl Lock {
    /// Locks the checkpoint `path` (the file a symbolic link leads to) for this
    /// run; a special file such as `/dev/null` needs no lock, and gets none.
    ///
    /// # Errors
    /// If another run holds it, naming that run's pid; or if the lock file cannot
    /// be made.
    pub(crate) fn checkpoint(path: &Path) -> anyhow::Result<Option<Lock>> {
        let target = match Target::of(path) {
            Ok(Target::Missing(t) | Target::Regular(t, _)) => t,
            _ => return Ok(None),
        };
        let Some(name) = target.file_name() else {
            return Ok(None);
        };
        let lock_path = parent(&target).join(format!(".{}.lock", name.to_string_lossy()));
        let cannot = || format!("cannot lock {}", lock_path.display());
        // A run that held the lock may remove the file between our open and our
        // lock: then the lock is on a file no one else will find, so open again.
        for _ in 0..10 {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&lock_path)
                .with_context(cannot)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    let mut pid = String::new();
                    let _ = file.read_to_string(&mut pid);
                    let holder = match pid.trim().parse::<u32>() {
                        Ok(pid) => format!("another run (pid {pid})"),
                        Err(_) => "another run".into(),
                    };
                    bail!(
                        "{} is being written by {holder}: two runs saving to one checkpoint would overwrite each other's work; wait for it to finish, stop it, or give --save another path",
                        path.display()
                    );
                }
                Err(TryLockError::Error(e)) => return Err(e).with_context(cannot),
            }
            let same = match (file.metadata(), fs::metadata(&lock_path)) {
                (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
                _ => false,
            };
            if !same {
                continue;
            }
            file.set_len(0).with_context(cannot)?;
            file.rewind().with_context(cannot)?;
            write!(file, "{}", std::process::id()).with_context(cannot)?;
            return Ok(Some(Lock {
                path: lock_path,
                _file: file,
            }));
        }
        bail!("{}: the lock file keeps changing", cannot())
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Removed while still locked, so no other run can take the old file.
        let _ = fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_names_the_first_holder_and_a_released_one_is_free() {
        let dir = std::env::temp_dir().join(format!("microgpt-lock-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let c = dir.join("c.json");
        let first = Lock::checkpoint(&c).unwrap().unwrap();
        let err = Lock::checkpoint(&c).unwrap_err();
        let pid = format!("pid {}", std::process::id());
        assert!(err.to_string().contains(&pid), "{err}");
        assert!(err.to_string().contains("c.json is being written"), "{err}");
        drop(first);
        assert!(
            fs::read_dir(&dir).unwrap().next().is_none(),
            "the lock file is gone"
        );
        let again = Lock::checkpoint(&c).unwrap();
        assert!(again.is_some());
        drop(again);
        fs::remove_dir_all(&dir).unwrap();
    }
}
