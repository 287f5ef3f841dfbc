//! What an output path names once its symbolic links are followed: nothing yet, a
//! regular file, a directory, or a special file (a device, a FIFO, a socket).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The kind of thing an output path leads to.
#[derive(Debug)]
pub(crate) enum Target {
    /// No file there yet; the path is where it will be created.
    Missing(PathBuf),
    /// A regular file, to be replaced atomically.
    Regular(PathBuf, fs::Metadata),
    /// A directory, which no output may replace.
    Directory,
    /// A character or block device, a FIFO or a socket: written in place, since
    /// replacing it would destroy it (`/dev/null` made a regular file).
    Special(PathBuf),
}

/// Links followed at most, as the kernel's own limit (`ELOOP`).
const MAX_LINKS: usize = 40;

impl Target {
    /// Follows `path`'s symbolic links, dangling ones included (a link to a file
    /// not written yet is where that file goes), and says what is at the end.
    ///
    /// # Errors
    /// For a loop of links, or a path that cannot be looked at.
    pub(crate) fn of(path: &Path) -> io::Result<Self> {
        let mut path = path.to_path_buf();
        for _ in 0..MAX_LINKS {
            let meta = match fs::symlink_metadata(&path) {
                Ok(meta) => meta,
                // Not there, or under a file that is not a directory: nothing to
                // follow; whoever creates it says what is in the way.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                    ) =>
                {
                    return Ok(Target::Missing(path));
                }
                Err(e) => return Err(e),
            };
            let kind = meta.file_type();
            if kind.is_symlink() {
                let link = fs::read_link(&path)?;
                // A relative link is relative to the directory that holds it.
                path = match path.parent() {
                    Some(dir) => dir.join(link),
                    None => link,
                };
            } else if kind.is_dir() {
                return Ok(Target::Directory);
            } else if kind.is_file() {
                return Ok(Target::Regular(path, meta));
            } else {
                return Ok(Target::Special(path));
            }
        }
        Err(io::Error::other(format!(
            "more than {MAX_LINKS} symbolic links in a row (a loop?)"
        )))
    }
}

/// The directory a file of `path` goes in.
pub(crate) fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}
