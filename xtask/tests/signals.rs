//! Ctrl-C, SIGTERM and SIGHUP sent to a real training process (with the `kill`
//! command): it finishes the step it is in, saves, and exits with 130, 143 or 129;
//! and the run resumed from that checkpoint is the run that was never interrupted,
//! bit for bit. A closed standard output (`| head`) stops it the same way, quietly;
//! and a second run saving to the same checkpoint is refused while the first runs.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use train::Checkpoint;

mod common;
use common::{entries, fails, metric_losses, ok, scratch};

/// Long enough that no run ends before the signal arrives.
const STEPS: &str = "1000000";

/// What an interrupted run did.
struct Interrupted {
    code: Option<i32>,
    /// The last step line it printed.
    last_step: u64,
    stderr: String,
}

/// Starts `xtask train --steps 1000000 ARGS`, its output piped.
fn spawn(dir: &Path, args: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["train", "--steps", STEPS])
        .args(args.split_whitespace())
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Starts `xtask train --steps 1000000 EXTRA`, reads its step lines until step 30,
/// sends `signal` (`INT` or `TERM`), and reads on until it exits.
fn interrupt(dir: &Path, signal: &str, extra: &str) -> Interrupted {
    let mut child = spawn(dir, extra);
    let stdout = child.stdout.take().unwrap();
    let mut last_step = 0;
    let mut sent = false;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let Some(rest) = line.strip_prefix("step ") else {
            continue;
        };
        last_step = rest.split('/').next().unwrap().trim().parse().unwrap();
        if last_step >= 30 && !sent {
            let kill = Command::new("kill")
                .args(["-s", signal, &child.id().to_string()])
                .status()
                .unwrap();
            assert!(kill.success(), "kill -s {signal}");
            sent = true;
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(sent, "the run ended before step 30");
    Interrupted {
        code: out.status.code(),
        last_step,
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// Interrupts a run with `--save`, checks the exit code and the checkpoint, then
/// checks that resuming it gives what the uninterrupted run gives.
fn interrupted_then_resumed(signal: &str, name: &str, code: i32) {
    let dir = scratch("signal", name);
    let run = interrupt(&dir, signal, "--save c.json --metrics m.jsonl");
    let k = run.last_step;
    eprintln!("{name} stopped the run after step {k}");
    assert_eq!(run.code, Some(code), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "interrupted by {name}: stopped after step {k} of {STEPS}; continue with --resume c.json"
        )),
        "{}",
        run.stderr
    );
    // The step the signal interrupted was finished, printed, logged and saved; no
    // step after it ran.
    let c = Checkpoint::load(&dir.join("c.json")).unwrap();
    assert_eq!(c.step as u64, k);
    let logged = metric_losses(&dir.join("m.jsonl"));
    assert_eq!(logged.len() as u64, k);
    assert_eq!(entries(&dir), ["c.json", "m.jsonl"], "no temporary file");

    // Twenty steps on, from the checkpoint and from scratch, with both saved.
    let end = k + 20;
    let resumed = ok(
        &dir,
        &format!("train --resume c.json --stop-at {end} --save r.json --metrics r.jsonl"),
    );
    let whole = ok(
        &dir,
        &format!("train --steps {STEPS} --stop-at {end} --save u.json --metrics u.jsonl"),
    );
    // The printed steps, the losses to the last bit, and the saved runs (weights,
    // Adam's moments, the generator) byte for byte.
    let steps = |out: &str| -> Vec<String> {
        out.lines()
            .filter(|l| l.starts_with("step "))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(steps(&resumed)[..], steps(&whole)[k as usize..]);
    let mut joined = logged;
    joined.extend(metric_losses(&dir.join("r.jsonl")));
    assert_eq!(joined, metric_losses(&dir.join("u.jsonl")));
    assert_eq!(
        fs::read(dir.join("r.json")).unwrap(),
        fs::read(dir.join("u.json")).unwrap(),
        "the resumed run's checkpoint is the uninterrupted run's"
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn ctrl_c_saves_exits_130_and_resumes_exactly() {
    interrupted_then_resumed("INT", "SIGINT", 130);
}

#[test]
fn sigterm_saves_exits_143_and_resumes_exactly() {
    interrupted_then_resumed("TERM", "SIGTERM", 143);
}

#[test]
fn without_save_a_signal_stops_the_run_and_says_nothing_was_saved() {
    let dir = scratch("signal", "nosave");
    let run = interrupt(&dir, "TERM", "");
    assert_eq!(run.code, Some(143), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "interrupted by SIGTERM: stopped after step {} of {STEPS}; nothing was saved (no --save)",
            run.last_step
        )),
        "{}",
        run.stderr
    );
    assert!(entries(&dir).is_empty());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sighup_saves_exits_129_and_resumes_exactly() {
    interrupted_then_resumed("HUP", "SIGHUP", 129);
}

/// Starts `xtask train --steps 1000000 ARGS` with its output piped, and reads
/// step lines until step `k`; returns the child and the rest of its output.
fn start_until(dir: &Path, args: &str, k: u64) -> (std::process::Child, impl BufRead) {
    let mut child = spawn(dir, args);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.starts_with(&format!("step {k:4}")) {
        line.clear();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "the run ended early"
        );
    }
    (child, stdout)
}

#[test]
fn a_closed_pipe_stops_quietly_saves_and_exits_141() {
    let dir = scratch("signal", "pipe");
    // What `| head -3` does: read three lines, then close the pipe.
    let (child, stdout) = start_until(&dir, "--save c.json", 3);
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(141), "{stderr}");
    assert!(
        !stderr.contains("error") && !stderr.contains("Broken pipe"),
        "{stderr}"
    );
    let c = Checkpoint::load(&dir.join("c.json")).unwrap();
    assert!(c.step >= 3, "saved after the steps that were read");
    assert!(
        stderr.contains(&format!(
            "standard output was closed: stopped after step {} of {STEPS}; continue with --resume c.json",
            c.step
        )),
        "{stderr}"
    );
    assert_eq!(entries(&dir), ["c.json"], "no temporary or lock file");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_second_run_on_one_checkpoint_is_refused_naming_the_first() {
    let dir = scratch("signal", "lock");
    let (child, stdout) = start_until(&dir, "--save c.json", 5);
    let err = fails(&dir, "train --steps 10 --save c.json");
    assert!(
        err.contains(&format!(
            "c.json is being written by another run (pid {})",
            child.id()
        )),
        "{err}"
    );
    // Another checkpoint is free meanwhile: the lock is per path.
    ok(&dir, "train --steps 10 --save other.json");
    let kill = Command::new("kill")
        .args(["-s", "TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert!(matches!(out.status.code(), Some(143 | 141)), "{out:?}");
    // The first run is gone, and with it its lock.
    ok(&dir, "train --steps 10 --save c.json");
    assert_eq!(entries(&dir), ["c.json", "other.json"]);
    fs::remove_dir_all(&dir).unwrap();
}
