//! Every bad input of issue 9, through the real binary: a table of command lines,
//! each with its exit code and the words its one-line message must hold (the
//! problem, the file, and the fix where there is one). Every case must also print
//! nothing on standard output (so nothing ran before the check), show no panic or
//! backtrace, and leave the scratch directory exactly as it found it: no new file,
//! no partial file, no changed file.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One command line and what it must do.
struct Case {
    /// Arguments, split on whitespace, run in the scratch directory.
    args: &'static str,
    /// 1 for our errors, 2 for clap's usage errors.
    code: i32,
    /// Substrings of the error line.
    says: &'static [&'static str],
    /// Needs file permissions to be enforced (see [`Privilege`]).
    permissions: bool,
}

const fn case(args: &'static str, code: i32, says: &'static [&'static str]) -> Case {
    Case {
        args,
        code,
        says,
        permissions: false,
    }
}

const fn perm_case(args: &'static str, says: &'static [&'static str]) -> Case {
    Case {
        args,
        code: 1,
        says,
        permissions: true,
    }
}

const LR: &[&str] = &["invalid --lr", "not a positive finite number"];
const TEMPERATURE: &[&str] = &[
    "invalid --temperature",
    "not a positive finite number of at least 0.001",
];

const CASES: &[Case] = &[
    // Data.
    case(
        "train --data missing.txt",
        1,
        &["cannot read missing.txt", "No such file"],
    ),
    perm_case(
        "train --data unreadable.txt",
        &[
            "cannot read unreadable.txt",
            "Permission denied",
            "check the file's permissions",
        ],
    ),
    case(
        "train --data empty.txt",
        1,
        &["empty.txt holds no documents", "one document per line"],
    ),
    case(
        "train --data blank.txt",
        1,
        &["blank.txt holds no documents", "one document per line"],
    ),
    case(
        "train --data binary.txt",
        1,
        &["binary.txt is not UTF-8 text", "0xff on line 2"],
    ),
    case(
        "train --data folder",
        1,
        &["cannot read folder", "give a file, not a directory"],
    ),
    case(
        "train --data nul.txt",
        1,
        &[
            "nul.txt is not text",
            "NUL byte on line 2",
            "give a text file",
        ],
    ),
    case(
        "train --data big.txt --max-input-mb 1",
        1,
        &[
            "big.txt is larger than the limit of 1.0 MiB",
            "--max-input-mb 2",
        ],
    ),
    case(
        "sample --checkpoint c.json --max-input-mb 0",
        1,
        &["c.json is larger than the limit of 0 B", "--max-input-mb 1"],
    ),
    // Config.
    case("train --n-embd 0", 1, &["n_embd must be at least 1"]),
    case(
        "train --n-embd 16 --n-head 3",
        1,
        &["n_embd (16) must be a multiple of n_head (3)"],
    ),
    case(
        "train --block-size 0",
        1,
        &["block_size must be at least 1"],
    ),
    case(
        "train --n-embd 100000 --n-layer 100",
        1,
        &["would need", "TiB", "choose smaller sizes"],
    ),
    case(
        "train --steps 0",
        1,
        &["invalid --steps", "at least one step"],
    ),
    case("train --lr -1", 1, LR),
    case("train --lr nan", 1, LR),
    case("train --lr inf", 1, LR),
    case("train --lr -inf", 1, LR),
    case("train --lr 0", 1, LR),
    case("train --temperature -1", 1, TEMPERATURE),
    case("train --temperature nan", 1, TEMPERATURE),
    case("train --temperature inf", 1, TEMPERATURE),
    case("train --temperature -inf", 1, TEMPERATURE),
    // Too small to divide by: refused before training, not after it.
    case(
        "train --temperature 1e-320",
        1,
        &["invalid --temperature", "at least 0.001"],
    ),
    case(
        "sample --checkpoint c.json --temperature 1e-320",
        1,
        &["invalid --temperature", "at least 0.001"],
    ),
    case(
        "train --resume c.json --temperature 1e-4",
        1,
        &["invalid --temperature", "at least 0.001"],
    ),
    case(
        "train --seed -1",
        2,
        &["--seed", "a whole number from 0 to"],
    ),
    case(
        "train --data -",
        1,
        &["--data -", "standard input", "give the path of a file"],
    ),
    case(
        "sample --checkpoint c.json --temperature -inf",
        1,
        TEMPERATURE,
    ),
    case(
        "train --n-emdb 8",
        2,
        &[
            "unexpected argument '--n-emdb'",
            "tip: a similar argument exists: '--n-embd'",
        ],
    ),
    case(
        "train --stepz 8",
        2,
        &[
            "unexpected argument '--stepz'",
            "tip: a similar argument exists: '--steps'",
        ],
    ),
    case(
        "train --steps many",
        2,
        &["invalid value 'many' for '--steps <N>'"],
    ),
    case(
        "train --batch-size 0",
        1,
        &["--batch-size", "at least one document"],
    ),
    case("train --threads 0", 1, &["--threads 0", "at least 1"]),
    case(
        "train --batch-size many",
        2,
        &["invalid value 'many' for '--batch-size <B>'"],
    ),
    case(
        "train --save-every 0 --save new.json",
        1,
        &["--save-every 0", "at least 1"],
    ),
    case(
        "train --steps 10 --stop-at 11",
        1,
        &["--stop-at 11", "choose one from 1 to 10"],
    ),
    case(
        "sample --checkpoint c.json --samples 0",
        1,
        &["--samples 0", "at least one name"],
    ),
    // Checkpoints, through each of the three commands that read one.
    case(
        "train --resume truncated.json",
        1,
        &["truncated.json", "ends early", "cut short"],
    ),
    case(
        "sample --checkpoint truncated.json",
        1,
        &["truncated.json", "ends early"],
    ),
    case(
        "export --checkpoint truncated.json --out m.safetensors",
        1,
        &["truncated.json", "ends early"],
    ),
    case(
        "train --resume bad-number.json",
        1,
        &["bad-number.json", "not a valid checkpoint", "at line"],
    ),
    case(
        "sample --checkpoint bad-number.json",
        1,
        &["bad-number.json", "not a valid checkpoint"],
    ),
    case(
        "export --checkpoint bad-number.json --out m.safetensors",
        1,
        &["bad-number.json", "not a valid checkpoint"],
    ),
    case(
        "train --resume short-tensor.json",
        1,
        &["short-tensor.json", "`wte`", "431 values", "(432 values)"],
    ),
    case(
        "sample --checkpoint short-tensor.json",
        1,
        &["short-tensor.json", "431 values"],
    ),
    case(
        "export --checkpoint short-tensor.json --out m.safetensors",
        1,
        &["short-tensor.json", "431 values"],
    ),
    case(
        "train --resume version-3.json",
        1,
        &[
            "version-3.json",
            "reads versions 1 to 2",
            "the file is version 3",
        ],
    ),
    case(
        "sample --checkpoint version-3.json",
        1,
        &["version-3.json", "the file is version 3"],
    ),
    case(
        "export --checkpoint version-3.json --out m.safetensors",
        1,
        &["version-3.json", "the file is version 3"],
    ),
    case(
        "train --resume changed-digit.json",
        1,
        &[
            "changed-digit.json",
            "checksum does not match",
            "changed after it was written",
        ],
    ),
    case(
        "sample --checkpoint changed-digit.json",
        1,
        &["changed-digit.json", "checksum does not match"],
    ),
    case(
        "export --checkpoint changed-digit.json --out m.safetensors",
        1,
        &["changed-digit.json", "checksum does not match"],
    ),
    case(
        "train --resume negative-moment.json",
        1,
        &[
            "negative-moment.json",
            "\"adam_v\" holds -0.5",
            "never negative",
        ],
    ),
    case(
        "train --resume names.txt",
        1,
        &["names.txt", "not a valid checkpoint", "line 1 column 1"],
    ),
    case(
        "sample --checkpoint names.txt",
        1,
        &["names.txt", "not a valid checkpoint"],
    ),
    case(
        "export --checkpoint names.txt --out m.safetensors",
        1,
        &["names.txt", "not a valid checkpoint"],
    ),
    case(
        "sample --checkpoint binary.json",
        1,
        &["binary.json", "not UTF-8 text", "a checkpoint is JSON"],
    ),
    case(
        "train --resume other-config.json",
        1,
        &["other-config.json", "shape [27, 16]", "shape [27, 32]"],
    ),
    case(
        "sample --checkpoint other-config.json",
        1,
        &["other-config.json", "shape [27, 32]"],
    ),
    case(
        "export --checkpoint other-config.json --out m.safetensors",
        1,
        &["other-config.json", "shape [27, 32]"],
    ),
    case(
        "train --resume c.json --n-layer 2",
        1,
        &["--n-layer 2 (the run has 1)", "drop that flag"],
    ),
    case(
        "train --resume c.json --data names.txt",
        1,
        &["names.txt", "pass the same --data", "--force"],
    ),
    case(
        "sample --checkpoint missing.json",
        1,
        &["cannot read missing.json", "No such file"],
    ),
    // Outputs, refused before any training.
    case(
        "train --save nowhere/c.json",
        1,
        &[
            "cannot write nowhere/c.json",
            "nowhere does not exist",
            "create it first",
        ],
    ),
    case(
        "train --plot nowhere/loss.svg",
        1,
        &["cannot write nowhere/loss.svg", "does not exist"],
    ),
    case(
        "train --metrics nowhere/m.jsonl",
        1,
        &["cannot write nowhere/m.jsonl", "does not exist"],
    ),
    case(
        "export --checkpoint c.json --out nowhere/m.safetensors",
        1,
        &["cannot write nowhere/m.safetensors", "does not exist"],
    ),
    case(
        "train --resume c.json --save nowhere/c.json",
        1,
        &["cannot write nowhere/c.json"],
    ),
    // A parent that is a regular file: the directory cannot exist.
    case(
        "train --save names.txt/c.json",
        1,
        &[
            "cannot write names.txt/c.json",
            "names.txt is not a directory",
        ],
    ),
    case(
        "train --save folder",
        1,
        &["cannot write folder", "it is a directory"],
    ),
    perm_case(
        "train --save read-only/c.json",
        &["cannot create a file in read-only", "Permission denied"],
    ),
    perm_case(
        "train --metrics read-only/m.jsonl",
        &["cannot create a file in read-only", "Permission denied"],
    ),
    perm_case(
        "export --checkpoint c.json --out read-only/m.safetensors",
        &["cannot create a file in read-only", "Permission denied"],
    ),
];

/// How the cases that need permission bits are run.
#[derive(Debug)]
enum Privilege {
    /// This process meets permission bits: run the binary as it is.
    Enforced,
    /// This process is root, which reads and writes whatever the bits say; the
    /// binary runs as `nobody` instead, and meets them for real.
    AsNobody,
    /// Root, and `nobody` cannot run the binary here (its path is not open to
    /// others): those cases are skipped, and say so. Their error paths are the
    /// same as those of `folder` (a read that fails) and of
    /// [`sysfs_refuses_a_file_even_to_root`] (a file that cannot be created).
    Unavailable,
}

const NOBODY: u32 = 65534;

/// Tries it: whether an unreadable file can be read, and whether `nobody` can run
/// the binary in `dir`.
fn privilege(dir: &Path) -> Privilege {
    let probe = dir.join("probe");
    fs::write(&probe, "x").unwrap();
    fs::set_permissions(&probe, fs::Permissions::from_mode(0o000)).unwrap();
    let readable = fs::read(&probe).is_ok();
    fs::remove_file(&probe).unwrap();
    if !readable {
        return Privilege::Enforced;
    }
    let as_nobody = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("--version")
        .current_dir(dir)
        .uid(NOBODY)
        .gid(NOBODY)
        .output();
    match as_nobody {
        Ok(out) if out.status.success() => Privilege::AsNobody,
        _ => Privilege::Unavailable,
    }
}

/// A fresh scratch directory, open to others (for runs as `nobody`).
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("microgpt-bad-{name}-{}", std::process::id()));
    if dir.exists() {
        remove(&dir);
    }
    fs::create_dir_all(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// Removes `dir`, giving back the permissions the cases took away.
fn remove(dir: &Path) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let _ = fs::set_permissions(&path, fs::Permissions::from_mode(0o755));
    }
    fs::remove_dir_all(dir).unwrap();
}

/// Every path under `dir` with its bytes (or, for what this process cannot read,
/// its size and time of change), hidden files included.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut all = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let what = if meta.is_dir() {
                todo.push(path.clone());
                "directory".to_string()
            } else {
                match fs::read(&path) {
                    Ok(bytes) => format!("{} bytes, fnv {:016x}", bytes.len(), fnv(&bytes)),
                    Err(_) => format!("{} bytes, changed {:?}", meta.len(), meta.modified()),
                }
            };
            all.insert(path.strip_prefix(dir).unwrap().to_path_buf(), what);
        }
    }
    all
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The files the cases read: data, a good checkpoint and broken copies of it.
fn fixtures(dir: &Path) {
    let run = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["train", "--steps", "10", "--save", "c.json"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let good = fs::read_to_string(dir.join("c.json")).unwrap();

    fs::write(dir.join("names.txt"), "anna\nbob\n").unwrap();
    fs::write(dir.join("unreadable.txt"), "anna\nbob\n").unwrap();
    fs::set_permissions(
        dir.join("unreadable.txt"),
        fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    fs::write(dir.join("empty.txt"), "").unwrap();
    fs::write(dir.join("blank.txt"), "  \n\t\r\n\u{3000}\n").unwrap();
    fs::write(dir.join("binary.txt"), b"anna\nb\xffb\n").unwrap();
    fs::write(dir.join("nul.txt"), b"anna\nb\0b\n").unwrap();
    fs::write(dir.join("big.txt"), "anna\n".repeat(240_000)).unwrap();
    fs::create_dir(dir.join("folder")).unwrap();
    fs::create_dir(dir.join("read-only")).unwrap();
    fs::set_permissions(dir.join("read-only"), fs::Permissions::from_mode(0o555)).unwrap();

    // Cut in the middle of the weights, as an interrupted copy leaves it.
    fs::write(dir.join("truncated.json"), &good[..good.len() / 2]).unwrap();
    // One byte of the first weight changed into one that no number holds.
    let values = good.find("\"values\": [").unwrap();
    let digit = values + good[values..].find(|c: char| c.is_ascii_digit()).unwrap();
    let mut bad = good.clone().into_bytes();
    bad[digit] = b'#';
    fs::write(dir.join("bad-number.json"), bad).unwrap();
    // One digit changed into another: a valid number, caught by the checksum.
    let mut changed = good.clone().into_bytes();
    changed[digit] = if changed[digit] == b'9' {
        b'8'
    } else {
        changed[digit] + 1
    };
    fs::write(dir.join("changed-digit.json"), changed).unwrap();
    // Edited files are written as version 1, which has no checksum: each is
    // refused for what the edit broke, not for the edit.
    let edit = |name: &str, change: &dyn Fn(&mut serde_json::Value)| {
        let mut v: serde_json::Value = serde_json::from_str(&good).unwrap();
        v.as_object_mut().unwrap().remove("checksum");
        v["version"] = 1.into();
        change(&mut v);
        fs::write(dir.join(name), serde_json::to_string(&v).unwrap()).unwrap();
    };
    edit("short-tensor.json", &|v| {
        let values = v["weights"]["tensors"][0]["values"].as_array_mut().unwrap();
        values.pop();
    });
    edit("version-3.json", &|v| v["version"] = 3.into());
    edit("negative-moment.json", &|v| {
        v["adam_v"]["tensors"][0]["values"][0] = (-0.5).into();
    });
    // The header says 32 wide, the weights are 16 wide.
    edit("other-config.json", &|v| v["model"]["n_embd"] = 32.into());
    fs::write(dir.join("binary.json"), [0x93, 0, 0, 0, b'{', 0xff]).unwrap();
}

#[test]
fn every_bad_input_is_one_line_a_failed_exit_and_no_file() {
    let dir = scratch("table");
    fixtures(&dir);
    let privilege = privilege(&dir);
    eprintln!("permission cases: {privilege:?}");
    let mut failures = Vec::new();
    let mut ran = 0;
    for case in CASES {
        let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
        command
            .args(case.args.split_whitespace())
            .current_dir(&dir)
            // A panic would show its backtrace: the check below would see it.
            .env("RUST_BACKTRACE", "1");
        if case.permissions {
            match privilege {
                Privilege::Enforced => {}
                Privilege::AsNobody => {
                    command.uid(NOBODY).gid(NOBODY);
                }
                Privilege::Unavailable => {
                    eprintln!("skipped (permission bits not enforced here): {}", case.args);
                    continue;
                }
            }
        }
        let before = snapshot(&dir);
        let out = command.output().unwrap();
        ran += 1;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        let mut wrong = Vec::new();
        if out.status.code() != Some(case.code) {
            wrong.push(format!("exit {:?}, not {}", out.status.code(), case.code));
        }
        if !stdout.is_empty() {
            wrong.push(format!("printed before failing: {stdout:?}"));
        }
        let errors = stderr.lines().filter(|l| l.starts_with("error")).count();
        if errors != 1 || !last.starts_with("error: ") {
            wrong.push("not one `error:` line, last".into());
        }
        if stderr.contains("panicked") || stderr.contains("backtrace") {
            wrong.push("a panic".into());
        }
        for word in case.says {
            if !last.contains(word) {
                wrong.push(format!("no {word:?}"));
            }
        }
        let after = snapshot(&dir);
        if after != before {
            let changed: Vec<_> = after
                .iter()
                .filter(|(path, what)| before.get(*path) != Some(*what))
                .map(|(path, _)| path.display().to_string())
                .chain(
                    before
                        .keys()
                        .filter(|path| !after.contains_key(*path))
                        .map(|path| format!("{} (removed)", path.display())),
                )
                .collect();
            wrong.push(format!("files changed: {changed:?}"));
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "xtask {}: {}\n    {stderr}",
                case.args,
                wrong.join("; ")
            ));
        }
    }
    remove(&dir);
    assert!(
        failures.is_empty(),
        "{} of {ran} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(ran >= CASES.len() - 5, "most cases ran");
}

/// Whatever the privileges, a file system that refuses to create files: sysfs
/// refuses every new file, to root too (`EACCES`), so this is the not-writable
/// directory case where permission bits are not enforced.
#[test]
fn sysfs_refuses_a_file_even_to_root() {
    let sys = Path::new("/sys/kernel");
    if !sys.is_dir() {
        eprintln!("skipped: no sysfs at /sys");
        return;
    }
    let dir = scratch("sysfs");
    for args in [
        "train --save /sys/kernel/c.json",
        "train --plot /sys/kernel/loss.svg",
        "train --metrics /sys/kernel/m.jsonl",
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(args.split_whitespace())
            .current_dir(&dir)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args}: {stderr}");
        assert!(out.stdout.is_empty(), "{args}: nothing ran");
        assert_eq!(stderr.lines().count(), 1, "{args}: {stderr}");
        assert!(
            stderr.contains("cannot create a file in /sys/kernel")
                && stderr.contains("choose a directory you can write to"),
            "{args}: {stderr}"
        );
    }
    assert!(fs::read_dir(&dir).unwrap().next().is_none());
    remove(&dir);
}
