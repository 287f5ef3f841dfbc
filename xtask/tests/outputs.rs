//! No output destroys an input or another output, through the real binary: every
//! input is hashed before and after each attempt to overwrite it. And outputs go
//! onto what the path names: a FIFO, a character device (made with `mknod` where
//! this process may) and a symbolic link stand in for `/dev/null` and its kind,
//! which a test never touches.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod common;
use common::{fails, ok, scratch, xtask};

/// Every file in `dir` (links not followed) with a hash of its bytes.
fn hashes(dir: &Path) -> BTreeMap<PathBuf, u64> {
    let mut all = BTreeMap::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = fs::symlink_metadata(&path).unwrap();
        if meta.file_type().is_file() {
            let bytes = fs::read(&path).unwrap();
            let h = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            });
            all.insert(path, h);
        }
    }
    all
}

#[test]
fn an_output_never_replaces_an_input_or_another_output() {
    let dir = scratch("outputs", "clobber");
    fs::write(dir.join("d.txt"), "anna\nbob\ncarl\n").unwrap();
    fs::create_dir(dir.join("sub")).unwrap();
    symlink("d.txt", dir.join("link.txt")).unwrap();
    ok(&dir, "train --steps 10 --stop-at 2 --save c.json");
    ok(&dir, "train --steps 3 --data d.txt --save cd.json");
    let cases: &[(&str, &[&str])] = &[
        (
            "train --data d.txt --save d.txt",
            &["--save d.txt is the file of --data d.txt"],
        ),
        (
            "train --data d.txt --plot d.txt",
            &["--plot d.txt is the file of --data d.txt"],
        ),
        (
            "train --data d.txt --metrics d.txt",
            &["--metrics d.txt", "--data d.txt"],
        ),
        (
            "train --data link.txt --save d.txt",
            &["--save d.txt", "--data link.txt"],
        ),
        (
            "train --data d.txt --save sub/../d.txt",
            &["--save sub/../d.txt"],
        ),
        (
            "train --resume c.json --plot c.json",
            &["--plot c.json is the file of --resume c.json"],
        ),
        (
            "train --resume c.json --metrics c.json",
            &["--metrics c.json", "--resume"],
        ),
        (
            "export --checkpoint c.json --out c.json",
            &["--out c.json is the file of --checkpoint c.json"],
        ),
        (
            "train --save x.json --plot x.json",
            &["--save x.json and --plot x.json are the same file"],
        ),
        (
            "train --plot y.svg --metrics ./y.svg",
            &["are the same file"],
        ),
        // The data a resumed run finds by the path its checkpoint names.
        (
            "train --resume cd.json --save d.txt",
            &["--save d.txt is the file of --resume's data d.txt"],
        ),
    ];
    for (args, says) in cases {
        let before = hashes(&dir);
        let err = fails(&dir, args);
        for word in *says {
            assert!(err.contains(word), "{args}: {err}");
        }
        assert!(
            err.contains("another path") || err.contains("its own path"),
            "{args}: {err}"
        );
        assert_eq!(hashes(&dir), before, "{args} changed a file");
        assert!(!dir.join("x.json").exists() && !dir.join("y.svg").exists());
    }
    // Continuing a run in place is the one exception.
    ok(&dir, "train --resume c.json --stop-at 4 --save c.json");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_fifo_is_written_in_place_and_a_link_is_followed_and_kept() {
    let dir = scratch("outputs", "special");
    let made = Command::new("mkfifo").arg(dir.join("pipe")).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("skipped the FIFO: mkfifo is not available");
    } else {
        // A reader for the FIFO, as `cat pipe` would be.
        let path = dir.join("pipe");
        let reader = std::thread::spawn(move || {
            let mut text = String::new();
            fs::File::open(path)
                .unwrap()
                .read_to_string(&mut text)
                .unwrap();
            text
        });
        ok(&dir, "train --steps 3 --stop-at 2 --save pipe");
        let text = reader.join().unwrap();
        assert!(
            text.contains("\"format\": \"microgpt-checkpoint\""),
            "{text}"
        );
        assert!(
            fs::symlink_metadata(dir.join("pipe"))
                .unwrap()
                .file_type()
                .is_fifo()
        );
    }

    // A link to a checkpoint: the checkpoint is replaced, the link stays, and the
    // file keeps its permissions.
    ok(&dir, "train --steps 10 --stop-at 2 --save real.json");
    fs::set_permissions(dir.join("real.json"), fs::Permissions::from_mode(0o600)).unwrap();
    symlink("real.json", dir.join("link.json")).unwrap();
    ok(
        &dir,
        "train --resume link.json --stop-at 4 --save link.json",
    );
    assert!(
        fs::symlink_metadata(dir.join("link.json"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let text = fs::read_to_string(dir.join("real.json")).unwrap();
    assert!(
        text.contains("\"step\": 4"),
        "the link's target is the new checkpoint"
    );
    let mode = fs::metadata(dir.join("real.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the permissions are kept");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_character_device_stays_a_device() {
    let dir = scratch("outputs", "device");
    // The null device's numbers, 1 and 3, under another name in the temp folder.
    let made = Command::new("mknod")
        .arg(dir.join("null"))
        .args(["c", "1", "3"])
        .stderr(Stdio::null())
        .status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("skipped: mknod is not permitted here");
        fs::remove_dir_all(&dir).unwrap();
        return;
    }
    for args in [
        "train --steps 3 --save null",
        "train --steps 3 --plot null --metrics m.jsonl",
    ] {
        let out = xtask(&dir, args);
        assert!(
            out.status.success(),
            "{args}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let meta = fs::symlink_metadata(dir.join("null")).unwrap();
        assert!(
            meta.file_type().is_char_device(),
            "{args} replaced the device"
        );
    }
    ok(&dir, "train --steps 3 --save c.json");
    ok(&dir, "export --checkpoint c.json --out null");
    assert!(
        fs::symlink_metadata(dir.join("null"))
            .unwrap()
            .file_type()
            .is_char_device()
    );
    fs::remove_dir_all(&dir).unwrap();
}
