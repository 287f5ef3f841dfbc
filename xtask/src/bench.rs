//! `cargo xtask bench`: how fast training runs, how much memory it takes, and how
//! the cost grows with the model.
//!
//! Always measured in a release build: from a debug build of xtask, the command
//! re-runs itself with `cargo run --release`. The dataset is loaded before any
//! clock starts. Its last two lines are `train step median f32: X µs` (the
//! reference run with `--dtype f32`) then `train step median: X µs` (in f64).

use std::time::Instant;

use autograd::Graph;
use model::Gpt;
use params::Dtype;
use params::{ChaChaInit, StateDict};
use train::{Dataset, RngKind, Sizes, Tokenizer, TrainConfig, Trainer};

use crate::bench_split::median;

/// Measure training speed, memory and scaling.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Repeats of the reference run.
    #[arg(long, default_value_t = 7, value_name = "N")]
    repeats: usize,
    /// Steps per repeat.
    #[arg(long, default_value_t = 500, value_name = "N")]
    steps: usize,
    /// Skip the scaling table.
    #[arg(long)]
    no_scaling: bool,
    /// Instead, time this build's training step against commit REV's, in
    /// interleaved rounds, and print their ratio.
    #[arg(long, value_name = "REV")]
    against: Option<String>,
    /// Rounds of --against.
    #[arg(long, default_value_t = 3, value_name = "N", requires = "against")]
    rounds: usize,
    /// Size of the generated data file of the memory figure, in MB (0 skips it).
    #[arg(long, default_value_t = 100, value_name = "MB")]
    data_mb: u64,
    #[command(flatten)]
    throughput: crate::bench_throughput::Args,
}

/// Timings of one configuration.
struct Measured {
    /// Median µs of one training step, over every step of every repeat.
    median: f64,
    /// The median of each repeat, to show the spread.
    repeat_medians: Vec<f64>,
    /// Positions (tokens predicted) per step, on average.
    tokens_per_step: f64,
    /// Graph nodes (slots) one step adds, on average.
    nodes_per_step: f64,
    /// Tape entries one step adds, on average.
    ops_per_step: f64,
}

pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    if cfg!(debug_assertions) {
        eprintln!("bench: re-running in a release build (cargo run --release)...");
        let status = std::process::Command::new(env!("CARGO"))
            .args([
                "run",
                "--quiet",
                "--release",
                "--package",
                "xtask",
                "--",
                "bench",
            ])
            .args(std::env::args().skip(2))
            .status()?;
        std::process::exit(status.code().unwrap_or(1));
    }
    if let Some(rev) = &args.against {
        return crate::against::run(rev, args.rounds);
    }
    anyhow::ensure!(
        args.repeats >= 1 && args.steps >= 1,
        "--repeats and --steps must be at least 1"
    );
    // First, while nothing else has raised the peak.
    let memory = (args.data_mb > 0)
        .then(|| crate::bench_memory::measure(args.data_mb))
        .transpose()?;
    let data = Dataset::embedded();

    println!("cpu: {}", crate::bench_split::cpu_model());
    println!("{}", crate::bench_split::simd_line());
    println!(
        "reference configuration: n_embd 16, n_head 4, n_layer 1, block_size 8, embedded names, ChaCha, fast mode"
    );
    let fast = measure(
        &data,
        Sizes::default(),
        TrainConfig {
            steps: args.steps,
            ..TrainConfig::default()
        },
        args.repeats,
    )?;
    let spread = |m: &Measured| {
        let lo = m
            .repeat_medians
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        let hi = m.repeat_medians.iter().copied().fold(0.0, f64::max);
        format!("{lo:.2} .. {hi:.2}")
    };
    println!(
        "  µs per step: median {:.2} over {} repeats of {} steps (repeat medians {})",
        fast.median,
        args.repeats,
        args.steps,
        spread(&fast)
    );
    println!(
        "  nodes per step: {:.0} slots, {:.0} tape ops ({:.1} tokens per step)",
        fast.nodes_per_step, fast.ops_per_step, fast.tokens_per_step
    );

    // The same run in f32, measured the same way.
    let f32 = measure(
        &data,
        Sizes::default(),
        TrainConfig {
            steps: args.steps,
            dtype: Dtype::F32,
            ..TrainConfig::default()
        },
        args.repeats,
    )?;
    println!(
        "  f32 (--dtype f32): median {:.2} µs per step (repeat medians {}), {:.2}x f64's",
        f32.median,
        spread(&f32),
        f32.median / fast.median
    );

    for (dtype, split) in [
        (
            "f64",
            crate::bench_split::measure::<f64>(&data, args.steps, args.repeats)?,
        ),
        (
            "f32",
            crate::bench_split::measure::<f32>(&data, args.steps, args.repeats)?,
        ),
    ] {
        println!(
            "  split {dtype}, median µs per step: forward {:.2}, backward {:.2}, Adam {:.2}",
            split.forward, split.backward, split.adam
        );
    }
    let name_us = sampling(&data, args.steps)?;
    println!("  µs per generated name: {name_us:.2}");

    let exact_config = TrainConfig {
        steps: args.steps.min(100),
        rng: RngKind::Python,
        exact: true,
        ..TrainConfig::default()
    };
    let exact = measure(&data, Sizes::default(), exact_config, 1)?;
    println!(
        "  python-exact mode (--exact): median {:.1} µs per step",
        exact.median
    );

    if !args.no_scaling {
        println!();
        println!("scaling (n_head 4, n_layer 1, 100 steps x 3 repeats each):");
        println!("  ns/MAC: time per multiply-add of the matrix products, forward and backward,");
        println!(
            "  Adam's one per parameter counted in: flat means cost grows with the arithmetic."
        );
        println!(
            "  {:>6} {:>10} | {:>10} {:>10} {:>12} {:>10} {:>8}",
            "n_embd", "block_size", "µs/step", "µs/token", "nodes/step", "ops/step", "ns/MAC"
        );
        let rows = [(16, 8), (32, 8), (64, 8), (128, 8), (16, 16), (16, 32)];
        for (n_embd, block_size) in rows {
            let sizes = Sizes {
                n_embd,
                block_size,
                ..Sizes::default()
            };
            let m = measure(
                &data,
                sizes,
                TrainConfig {
                    steps: 100,
                    ..TrainConfig::default()
                },
                3,
            )?;
            let config = sizes.config(27);
            let macs = arithmetic(&config, m.tokens_per_step);
            println!(
                "  {n_embd:>6} {block_size:>10} | {:>10.2} {:>10.3} {:>12.0} {:>10.0} {:>8.3}",
                m.median,
                m.median / m.tokens_per_step,
                m.nodes_per_step,
                m.ops_per_step,
                m.median * 1e3 / macs
            );
        }
    }

    if let Some((peak, size)) = memory {
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        println!(
            "\nmemory per byte of data: {:.2} (peak RSS {:.1} MiB training on a generated {:.1} MiB file of names)",
            peak as f64 / size as f64,
            mib(peak),
            mib(size)
        );
    }
    if let Some(peak) = crate::bench_memory::peak_rss() {
        println!(
            "\npeak resident memory: {:.1} MiB",
            peak as f64 / (1024.0 * 1024.0)
        );
    }
    crate::bench_throughput::print(&args.throughput)?;
    // The last lines, which scripts read: one per precision, f64's last.
    println!("train step median f32: {:.2} µs", f32.median);
    println!("train step median: {:.2} µs", fast.median);
    Ok(())
}

/// Trains `repeats` fresh runs and times every step.
fn measure(
    data: &Dataset,
    sizes: Sizes,
    config: TrainConfig,
    repeats: usize,
) -> anyhow::Result<Measured> {
    let mut all = Vec::with_capacity(repeats * config.steps);
    let mut repeat_medians = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let mut trainer = Trainer::new(data.clone(), sizes, config, u128::MAX)?;
        let mut times = Vec::with_capacity(config.steps);
        while !trainer.is_done() {
            let start = Instant::now();
            trainer.step()?;
            times.push(start.elapsed().as_secs_f64() * 1e6);
        }
        repeat_medians.push(median(&mut times.clone()));
        all.extend(times);
    }
    let (tokens_per_step, nodes_per_step, ops_per_step) = graph_size(data, sizes, config)?;
    Ok(Measured {
        median: median(&mut all),
        repeat_medians,
        tokens_per_step,
        nodes_per_step,
        ops_per_step,
    })
}

/// The average tokens, graph slots and tape ops of one step, over the first
/// `config.steps` documents in file order (not the run's shuffled order, so the
/// figures do not change with the seed).
fn graph_size(
    data: &Dataset,
    sizes: Sizes,
    config: TrainConfig,
) -> anyhow::Result<(f64, f64, f64)> {
    let tokenizer = Tokenizer::of_dataset(data);
    let mode = config.mode();
    let mut graph = Graph::with_arith(mode.arith());
    let state = StateDict::new(
        &mut graph,
        &sizes.config(tokenizer.vocab_size()),
        &mut ChaChaInit::new(config.seed),
    )?;
    let gpt = Gpt::new(&state, mode);
    let mut cache = gpt.new_cache();
    let mark = graph.mark();
    let (mut tokens, mut nodes, mut ops) = (0, 0, 0);
    let docs: Vec<&str> = data.docs().take(config.steps).collect();
    let mut seq = Vec::new();
    for doc in &docs {
        seq.clear();
        tokenizer.encode_doc_into(doc, &mut seq)?;
        gpt.loss(&mut graph, &mut cache, &seq)?;
        tokens += (seq.len() - 1).min(sizes.block_size);
        nodes += graph.len() - state.num_params();
        ops += graph.tape_len();
        graph.truncate(mark);
    }
    let n = docs.len() as f64;
    Ok((tokens as f64 / n, nodes as f64 / n, ops as f64 / n))
}

/// µs per generated name, after training the reference run.
fn sampling(data: &Dataset, steps: usize) -> anyhow::Result<f64> {
    let config = TrainConfig {
        steps,
        ..TrainConfig::default()
    };
    let mut trainer = Trainer::new(data.clone(), Sizes::default(), config, u128::MAX)?;
    while !trainer.is_done() {
        trainer.step()?;
    }
    let n = 2000;
    let start = Instant::now();
    trainer.sample(n)?;
    Ok(start.elapsed().as_secs_f64() * 1e6 / n as f64)
}

/// The multiply-adds of one step: every weight meets every position once forward
/// and twice backward (for the input's gradient and its own), plus attention's
/// products over the positions seen, plus Adam's one update per parameter.
fn arithmetic(config: &params::ModelConfig, tokens: f64) -> f64 {
    let (c, l) = (config.n_embd as f64, config.n_layer as f64);
    let matrix_weights = l * 12.0 * c * c + config.vocab_size as f64 * c;
    let attention = l * tokens * c; // about T/2 keys, two products each
    3.0 * tokens * (matrix_weights + attention) + config.num_params() as f64
}
