//! `cargo xtask inspect`: what a checkpoint's model predicts after each character
//! of a prefix, and where each attention head looks, as a table or as JSON.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use train::Checkpoint;

use crate::inspection::{Report, inspect};

/// Show the next-character probabilities and the attention weights at every
/// position of BOS + TEXT.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The checkpoint (written by `cargo xtask train --save FILE`).
    #[arg(long, value_name = "FILE")]
    pub(crate) checkpoint: PathBuf,
    /// The prefix to feed after BOS; may be empty.
    #[arg(long, value_name = "PREFIX", default_value = "")]
    pub(crate) text: String,
    /// Candidates listed per position.
    #[arg(long, value_name = "K", default_value_t = 5)]
    pub(crate) top_k: usize,
    /// Print the whole report as one JSON object: the top k, the logits and
    /// probabilities (T, V) and the attention (n_layer, n_head, T, T).
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    let path = &args.checkpoint;
    let checkpoint =
        Checkpoint::load(path).with_context(|| format!("cannot inspect {}", path.display()))?;
    let report = inspect(&checkpoint, &args.text, args.top_k)
        .with_context(|| format!("--text {:?}", args.text))?;
    // The model runs in its run's dtype (the fused engine): say so for f32.
    if checkpoint.train.dtype != params::Dtype::F64 {
        eprintln!("inspecting in {}, the run's dtype", checkpoint.train.dtype);
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer(&mut out, &report)?;
        writeln!(out)?;
    } else {
        write_table(&report, &mut out)?;
    }
    Ok(())
}

/// The report for a reader: one line per position with its top k, then one
/// matrix per head, queries down and keys across.
fn write_table(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "step {}: after each input, the next character",
        report.step
    )?;
    writeln!(
        out,
        "pos  input  top {}",
        report.top_k.first().map_or(0, Vec::len)
    )?;
    for (pos, (input, top)) in report.inputs.iter().zip(&report.top_k).enumerate() {
        let cells: Vec<String> = top
            .iter()
            .map(|c| format!("{:>3} {:.3}", c.char, c.prob))
            .collect();
        writeln!(out, "{pos:>3}  {input:<5}  {}", cells.join("  "))?;
    }
    for (l, layer) in report.attention.iter().enumerate() {
        for (h, head) in layer.iter().enumerate() {
            writeln!(out)?;
            writeln!(
                out,
                "attention, layer {l} head {h} (rows: queries, columns: keys)"
            )?;
            let header: Vec<String> = report.inputs.iter().map(|s| format!("{s:>5}")).collect();
            writeln!(out, "       {}", header.join(" "))?;
            for (t, (input, row)) in report.inputs.iter().zip(head).enumerate() {
                let cells: Vec<String> = row[..=t].iter().map(|w| format!("{w:>5.3}")).collect();
                writeln!(out, "{input:>5}  {}", cells.join(" "))?;
            }
        }
    }
    Ok(())
}
