//! `--metrics FILE.jsonl`: one JSON object per training step, for other tools.
//!
//! Each line is `{"step": 1, "loss": 3.2737…, "lr": 0.01, "elapsed_s": 0.0012}`: the
//! 1-based step, its loss and learning rate (every digit: they read back to the
//! same `f64`), and the seconds since this process started training. A line is
//! written, whole, as soon as its step is done, so the file can be followed while
//! the run goes on. A resumed run writes the steps it runs.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::Serialize;
use train::StepReport;

/// The open metrics file.
pub(crate) struct Metrics {
    file: File,
    path: PathBuf,
    line: String,
}

#[derive(Serialize)]
struct Row {
    step: usize,
    loss: f64,
    lr: f64,
    elapsed_s: f64,
}

impl Metrics {
    /// Creates (or empties) the file.
    pub(crate) fn create(path: &Path) -> anyhow::Result<Self> {
        let file =
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Metrics {
            file,
            path: path.into(),
            line: String::new(),
        })
    }

    /// Appends the line of one step.
    pub(crate) fn record(&mut self, report: &StepReport, elapsed: Duration) -> anyhow::Result<()> {
        let row = Row {
            step: report.step,
            loss: report.loss,
            lr: report.lr,
            elapsed_s: elapsed.as_secs_f64(),
        };
        self.line.clear();
        self.line.push_str(&serde_json::to_string(&row)?);
        self.line.push('\n');
        // One write per line, so a reader never sees half of one.
        self.file
            .write_all(self.line.as_bytes())
            .with_context(|| format!("cannot write {}", self.path.display()))
    }
}
