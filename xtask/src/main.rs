//! `cargo xtask`: the project's command line.
//!
//! One binary, one module per subcommand. Run `cargo xtask --help` for the list.

mod bench;
mod golden;
mod parity;
mod shapes;
mod sizes;
mod train;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    version,
    about = "microgpt in Rust: train, sample, check and measure"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train the model on the embedded names (or --data FILE), then sample names.
    Train(train::Args),
    /// Print the JSON dump of the state dict's shapes.
    Shapes(shapes::Args),
    /// Check (or rewrite) the golden initial weights in fixtures/.
    Golden(golden::Args),
    /// Measure training speed, memory and scaling (in a release build).
    Bench(bench::Args),
    /// Compare `train --rng python` with the reference program's output in ../shared.
    Parity(parity::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => train::run(&args),
        Command::Shapes(args) => shapes::run(&args),
        Command::Golden(args) => golden::run(&args),
        Command::Parity(args) => parity::run(&args),
        Command::Bench(args) => bench::run(&args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The repository root: the parent of this crate's folder.
pub(crate) fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the root")
        .to_path_buf()
}
