//! `--batch-size 1` is the run as it was before batches existed: what the default
//! run prints and saves, for v1 and v2, is compared byte for byte with
//! `fixtures/batch1/`, with and without the flag, on one thread and on several,
//! and through a stop and a resume.
//!
//! The fixtures were made at commit f242f76, before `--batch-size` existed, by
//! `scripts/make_batch1_fixtures.sh` (20 steps, 5 samples, each preset's
//! defaults otherwise); the same script remakes them, should the fast arithmetic
//! ever change on purpose.

mod common;

use std::fs;
use std::path::Path;

use common::{fails, ok, scratch};

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/batch1")
        .join(name);
    fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn batch_size_1_prints_and_saves_the_bytes_of_the_run_before_batches() {
    let dir = scratch("batch1", "fixtures");
    for preset in ["v1", "v2"] {
        let (text, saved) = (
            fixture(&format!("{preset}.txt")),
            fixture(&format!("{preset}.json")),
        );
        for extra in [
            "",
            "--batch-size 1",
            "--batch-size 1 --threads 1",
            "--threads 3",
        ] {
            let _ = fs::remove_file(dir.join("c.json"));
            let args =
                format!("train --preset {preset} --steps 20 --samples 5 --save c.json {extra}");
            let out = ok(&dir, &args);
            assert!(
                out.as_bytes() == text,
                "{args}: the output differs from the fixture:\n{out}"
            );
            assert!(
                fs::read(dir.join("c.json")).unwrap() == saved,
                "{args}: the checkpoint differs"
            );
        }
        // Stopped at step 8 and resumed: the same checkpoint at the end, and the
        // same samples.
        let _ = fs::remove_file(dir.join("r.json"));
        ok(
            &dir,
            &format!("train --preset {preset} --steps 20 --samples 5 --stop-at 8 --save r.json"),
        );
        let rest = ok(&dir, "train --resume r.json --save r.json --batch-size 1");
        assert!(
            fs::read(dir.join("r.json")).unwrap() == saved,
            "{preset}: the resumed checkpoint differs"
        );
        let text = String::from_utf8(text).unwrap();
        let samples = |s: &str| {
            s.lines()
                .filter(|l| l.starts_with("sample"))
                .map(String::from)
                .collect::<Vec<_>>()
        };
        assert_eq!(samples(&rest), samples(&text));
        assert!(rest.contains("step    9 /   20"), "{rest}");
    }
}

#[test]
fn a_batched_run_resumes_with_its_batch_and_refuses_another() {
    let dir = scratch("batch1", "resume");
    ok(
        &dir,
        "train --steps 12 --batch-size 4 --stop-at 5 --save b.json --samples 0",
    );
    let saved = std::fs::read_to_string(dir.join("b.json")).unwrap();
    assert!(
        saved.contains("\"batch_size\":4"),
        "the checkpoint records the batch"
    );
    let err = fails(&dir, "train --resume b.json --batch-size 2");
    assert!(err.contains("--batch-size 2 (the run has 4)"), "{err}");
    // The exact arithmetic takes batches too: each document's graph, and their mean.
    let out = ok(&dir, "train --exact --steps 3 --batch-size 3 --samples 1");
    assert!(out.contains("step    3 /    3 | loss"), "{out}");
}
