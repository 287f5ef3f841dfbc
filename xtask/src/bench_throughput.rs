//! `cargo xtask bench`'s throughput table: documents trained per second for
//! batches of 1, 16 and 64 on one thread and on all, in f64 and f32, at the
//! reference size and at n_embd 128 (8 heads, 4 layers, block 16).
//!
//! Each cell is a fresh run on the embedded names, timed over a fixed stretch of
//! wall time after a warm-up of a few steps; the figure is documents per second
//! and µs per document.

use std::time::{Duration, Instant};

use params::Dtype;
use train::{Dataset, Sizes, TrainConfig, Trainer};

/// The throughput table's flags. (Flattened into `bench`'s own `Args`: a group
/// id of its own, or clap's debug build refuses two groups named `Args`.)
#[derive(clap::Args)]
#[group(id = "throughput")]
pub(crate) struct Args {
    /// Seconds of training timed for each cell of the throughput table (24
    /// cells); 0 skips the table.
    #[arg(long, default_value_t = 0.25, value_name = "S")]
    throughput_seconds: f64,
}

/// One cell: documents per second.
struct Cell {
    docs_per_s: f64,
}

/// Prints the table.
pub(crate) fn print(args: &Args) -> anyhow::Result<()> {
    if args.throughput_seconds <= 0.0 {
        return Ok(());
    }
    anyhow::ensure!(
        args.throughput_seconds.is_finite(),
        "--throughput-seconds must be a finite number of seconds"
    );
    let budget = Duration::from_secs_f64(args.throughput_seconds);
    let all = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let data = Dataset::embedded();
    let wide = Sizes {
        n_embd: 128,
        n_head: 8,
        n_layer: 4,
        block_size: 16,
        ..Sizes::default()
    };
    let sizes = [
        (
            "reference (16, 4 heads, 1 layer, block 8)",
            Sizes::default(),
        ),
        ("n_embd 128, 8 heads, 4 layers, block 16", wide),
    ];
    let threads: Vec<usize> = if all > 1 { vec![1, all] } else { vec![1] };
    println!();
    println!(
        "throughput (documents per second, µs per document; {:.2} s per cell):",
        args.throughput_seconds
    );
    println!(
        "  {:<42} {:>5} {:>5} {:>7} | {:>10} {:>10} {:>8}",
        "model", "dtype", "batch", "threads", "docs/s", "µs/doc", "x 1 thr"
    );
    for (name, sizes) in sizes {
        for dtype in [Dtype::F64, Dtype::F32] {
            for batch in [1, 16, 64] {
                let mut one = None;
                for &n in &threads {
                    let cell = measure(&data, sizes, dtype, batch, n, budget)?;
                    let base = *one.get_or_insert(cell.docs_per_s);
                    println!(
                        "  {name:<42} {:>5} {batch:>5} {n:>7} | {:>10.0} {:>10.2} {:>8.2}",
                        dtype.name(),
                        cell.docs_per_s,
                        1e6 / cell.docs_per_s,
                        cell.docs_per_s / base
                    );
                }
            }
        }
    }
    Ok(())
}

/// A fresh run of `batch` documents a step in `dtype` on `threads` threads, timed
/// for `budget` after a warm-up.
fn measure(
    data: &Dataset,
    sizes: Sizes,
    dtype: Dtype,
    batch: usize,
    threads: usize,
    budget: Duration,
) -> anyhow::Result<Cell> {
    // A schedule longer than any run here: the learning rate barely decays.
    let config = TrainConfig {
        steps: 1 << 30,
        batch_size: batch,
        dtype,
        ..TrainConfig::default()
    };
    let mut trainer = Trainer::new(data.clone(), sizes, config, u128::MAX)?;
    trainer.set_threads(threads)?;
    // Warm-up: the arena grows to its size, the pool's threads wake.
    let warm = Instant::now();
    while warm.elapsed() < budget / 10 {
        trainer.step()?;
    }
    let (start, first) = (Instant::now(), trainer.steps_done());
    while start.elapsed() < budget {
        trainer.step()?;
    }
    let docs = (trainer.steps_done() - first) * batch;
    Ok(Cell {
        docs_per_s: docs as f64 / start.elapsed().as_secs_f64(),
    })
}
