//! No output of a command replaces one of its inputs or another of its outputs:
//! `--save d.txt` beside `--data d.txt` would destroy the data, and `--plot x
//! --save x` would keep only one of the two.
//!
//! Paths are compared by what they lead to, not by how they are spelt: an existing
//! file by its (device, inode), so a symbolic link, a hard link or `./d.txt` is
//! the same file; a file not written yet by its directory's canonical path and its
//! name. Special files (devices, FIFOs) are left out: writing one replaces nothing.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::bail;

use super::target::{Target, parent};

/// A path given with a flag, such as `("--save", "c.json")`.
pub(crate) type Flagged<'a> = (&'static str, &'a Path);

/// What a path leads to, for comparing.
#[derive(Debug, PartialEq, Eq)]
enum Identity {
    /// An existing regular file.
    File { dev: u64, ino: u64 },
    /// A file to be created here: its directory, canonical, and its name.
    New(PathBuf),
}

fn identity(path: &Path) -> Option<Identity> {
    match Target::of(path).ok()? {
        Target::Regular(_, meta) => Some(Identity::File {
            dev: meta.dev(),
            ino: meta.ino(),
        }),
        Target::Missing(target) => {
            let dir = fs::canonicalize(parent(&target)).ok()?;
            Some(Identity::New(dir.join(target.file_name()?)))
        }
        Target::Directory | Target::Special(_) => None,
    }
}

/// Refuses, before any work, an output that is one of the `inputs` or another of
/// the `outputs`. `in_place` names an (input, output) pair of flags that may be
/// the same file: `--resume c.json --save c.json` continues a run in place.
///
/// # Errors
/// Naming both flags and the path, and the way out.
pub(crate) fn check_distinct(
    inputs: &[Flagged<'_>],
    outputs: &[Flagged<'_>],
    in_place: Option<(&str, &str)>,
) -> anyhow::Result<()> {
    let inputs: Vec<_> = inputs.iter().map(|&(f, p)| (f, p, identity(p))).collect();
    let outputs: Vec<_> = outputs.iter().map(|&(f, p)| (f, p, identity(p))).collect();
    for (i, &(out_flag, out_path, ref out_id)) in outputs.iter().enumerate() {
        let Some(out_id) = out_id else { continue };
        for &(in_flag, in_path, ref in_id) in &inputs {
            if in_id.as_ref() == Some(out_id) && in_place != Some((in_flag, out_flag)) {
                bail!(
                    "{out_flag} {} is the file of {in_flag} {}: writing it would destroy that input; give {out_flag} another path",
                    out_path.display(),
                    in_path.display()
                );
            }
        }
        for &(other_flag, other_path, ref other_id) in &outputs[..i] {
            if other_id.as_ref() == Some(out_id) {
                bail!(
                    "{other_flag} {} and {out_flag} {} are the same file: one would replace the other; give each output its own path",
                    other_path.display(),
                    out_path.display()
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    #[test]
    fn the_same_file_by_any_name_is_refused_and_in_place_allowed() {
        let dir = std::env::temp_dir().join(format!("microgpt-distinct-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("sub")).unwrap();
        let d = dir.join("d.txt");
        fs::write(&d, "ann\n").unwrap();
        symlink("d.txt", dir.join("link.txt")).unwrap();
        fs::hard_link(&d, dir.join("hard.txt")).unwrap();
        for alias in ["d.txt", "link.txt", "hard.txt", "sub/../d.txt"] {
            let out = dir.join(alias);
            let err = check_distinct(&[("--data", &d)], &[("--save", &out)], None).unwrap_err();
            assert!(err.to_string().contains("--save"), "{err}");
            assert!(err.to_string().contains("of --data"), "{err}");
        }
        // Two outputs not written yet, spelt differently.
        let (a, b) = (dir.join("new.svg"), dir.join("sub/../new.svg"));
        let err = check_distinct(&[], &[("--save", &a), ("--plot", &b)], None).unwrap_err();
        assert!(err.to_string().contains("are the same file"), "{err}");
        // Continuing a run in place, and distinct files.
        let c = dir.join("c.json");
        fs::write(&c, "{}").unwrap();
        check_distinct(
            &[("--resume", &c)],
            &[("--save", &c)],
            Some(("--resume", "--save")),
        )
        .unwrap();
        check_distinct(&[("--data", &d)], &[("--save", &c), ("--plot", &a)], None).unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }
}
