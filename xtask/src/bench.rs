//! `cargo xtask bench`: training speed, memory and scaling (coming).

/// Measure training speed.
#[derive(clap::Args)]
pub(crate) struct Args {}

pub(crate) fn run(_args: &Args) -> anyhow::Result<()> {
    anyhow::bail!("bench is coming")
}
