//! The memory figure of `cargo xtask bench`: how many bytes of memory training
//! takes per byte of data file, on a generated file of names.
//!
//! The file is the embedded names, drawn in a fixed pseudo-random order until it
//! has the size asked for, written to the temporary directory and removed after.
//! The figure is the peak resident set size (`VmHWM`) of this process while it
//! reads the file, tokenizes it, builds the model and takes a few steps, over the
//! file's size. It is measured first, before anything else has raised the peak;
//! where the peak can be reset (`/proc/self/clear_refs`) it is reset first.

use std::io::Write;

use train::{Dataset, ReadOptions, Sizes, TrainConfig, Trainer};

/// `(peak RSS in bytes, file size in bytes)` of a run on a generated file of
/// `mb` MB (10^6 bytes).
pub(crate) fn measure(mb: u64) -> anyhow::Result<(u64, u64)> {
    let path = std::env::temp_dir().join(format!("microgpt-bench-{}.txt", std::process::id()));
    let size = write_names(&path, mb * 1_000_000)?;
    let result = run_on(&path);
    let _ = std::fs::remove_file(&path);
    Ok((result?, size))
}

fn run_on(path: &std::path::Path) -> anyhow::Result<u64> {
    // Resets VmHWM to the current RSS (Linux 4.0 and later); ignored elsewhere.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let options = ReadOptions {
        max_bytes: u64::MAX,
        ..ReadOptions::default()
    };
    let data = Dataset::load_with(path, &options)?;
    let config = TrainConfig {
        steps: 10,
        ..TrainConfig::default()
    };
    let mut trainer = Trainer::new(data, Sizes::default(), config, u128::MAX)?;
    while !trainer.is_done() {
        trainer.step()?;
    }
    drop(trainer);
    peak_rss().ok_or_else(|| anyhow::anyhow!("no /proc/self/status to read"))
}

/// Writes names to `path` until it holds at least `bytes`; returns its size.
fn write_names(path: &std::path::Path, bytes: u64) -> anyhow::Result<u64> {
    let embedded = train::Dataset::embedded();
    let names: Vec<&str> = embedded.docs().collect();
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let (mut written, mut state) = (0u64, 0x2545_f491_4f6c_dd1d_u64);
    while written < bytes {
        // xorshift64: any fixed order will do, as long as it is not the file's.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let name = names[(state % names.len() as u64) as usize];
        writeln!(out, "{name}")?;
        written += name.len() as u64 + 1;
    }
    out.flush()?;
    Ok(written)
}

/// The peak resident set size of this process, from `/proc/self/status`.
pub(crate) fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
