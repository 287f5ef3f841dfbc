//! `cargo xtask`: the project's command line.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "microgpt in Rust: train, check and measure"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train the model (coming).
    Train,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Train => anyhow::bail!("training is coming: see the issues"),
    }
}
