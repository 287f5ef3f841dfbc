//! `cargo xtask`: the project's command line.
//!
//! One binary, one module per subcommand. Run `cargo xtask --help` for the list.

/// `eprintln!` that never panics: after SIGHUP the terminal may be gone, and a
/// message that cannot be shown must not cost a run its save.
macro_rules! note {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod against;
mod bench;
mod bench_memory;
mod bench_split;
mod bench_throughput;
mod decimal;
mod export;
mod files;
mod golden;
mod import;
mod inspect;
mod inspection;
mod limits;
mod load;
mod metrics;
mod parity;
mod paths;
mod pipe;
mod plot;
mod report;
mod resume;
mod sample;
mod serve;
mod shapes;
mod signals;
mod sizes;
mod step_lines;
mod train;
mod train_args;
mod usage;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

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
    Train(Box<train_args::Args>),
    /// Generate names from a checkpoint, optionally continuing a --prefix.
    Sample(sample::Args),
    /// Write a checkpoint's weights as a safetensors file.
    Export(export::Args),
    /// Turn trained safetensors weights (scripts/torch_twin.py) back into a checkpoint.
    Import(import::Args),
    /// Show the next-character probabilities and attention weights along a prefix.
    Inspect(inspect::Args),
    /// Serve the playground: train, look inside and ask the model, in a browser.
    Serve(serve::Args),
    /// Print the JSON dump of the state dict's shapes.
    Shapes(shapes::Args),
    /// Check (or rewrite) the golden initial weights in fixtures/.
    Golden(golden::Args),
    /// Measure training speed, memory and scaling (in a release build).
    Bench(bench::Args),
    /// Compare `train --exact` (v1 and v2) with the reference programs' output in ../shared.
    Parity(parity::Args),
}

fn main() -> std::process::ExitCode {
    // MICROGPT_SIMD, checked before any work: a path this CPU lacks, or a name
    // that is none, is one error line.
    if let Err(err) = autograd::simd::init() {
        eprintln!("error: {err}");
        return std::process::ExitCode::FAILURE;
    }
    let matches = Cli::command()
        .try_get_matches()
        .unwrap_or_else(|err| usage::exit(&err));
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|err| usage::exit(&err));
    let result = match cli.command {
        Command::Train(mut args) => {
            // A resumed run must tell the flags given from the defaults.
            if let Some((_, sub)) = matches.subcommand() {
                args.given = train_args::given_flags(sub);
            }
            match train::run(&args) {
                // Stopped by a signal, and saved: the shell's code for that signal.
                Ok(train::Finished::Interrupted(signal)) => {
                    return std::process::ExitCode::from(signal.exit_code());
                }
                Ok(train::Finished::OutputClosed) => {
                    return std::process::ExitCode::from(pipe::CLOSED_EXIT_CODE);
                }
                Ok(train::Finished::Done) => Ok(()),
                Err(err) => Err(err),
            }
        }
        Command::Sample(args) => sample::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Import(args) => import::run(&args),
        Command::Inspect(args) => inspect::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Shapes(args) => shapes::run(&args),
        Command::Golden(args) => golden::run(&args),
        Command::Parity(args) => parity::run(&args),
        Command::Bench(args) => bench::run(&args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // `| head` had what it wanted: quiet, with the status of a tool SIGPIPE ended.
        Err(err) if pipe::is_broken_pipe(&err) => {
            std::process::ExitCode::from(pipe::CLOSED_EXIT_CODE)
        }
        Err(err) => {
            eprintln!("error: {}", report::one_line(&err));
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_well_formed() {
        // clap's own checks of every command's flags and groups, which a debug
        // build otherwise runs only when that command is called.
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
