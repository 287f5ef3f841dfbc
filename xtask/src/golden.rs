//! `cargo xtask golden --check | --update`: the initial weights and shapes of both
//! reference configurations (vocab 27, seed 42, default generator), pinned in
//! `fixtures/`: v1's (`init_seed42.json`, `shapes_reference.json`) and v2's
//! (`init_v2_seed42.json`, `shapes_v2.json`: block 16, std 0.08 everywhere, ReLU).

use std::fs;
use std::path::PathBuf;

use anyhow::{Context, bail};
use params::{ModelConfig, SavedStateDict, Shapes};

/// Compare the golden files with freshly built ones, or rewrite them.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Fail if the fixtures differ from what the code produces now (the default).
    #[arg(long, conflicts_with = "update")]
    check: bool,
    /// Rewrite the fixtures from the current code.
    #[arg(long)]
    update: bool,
}

/// One pinned configuration: its initial weights and its shapes.
struct Golden {
    init_file: &'static str,
    shapes_file: &'static str,
    config: ModelConfig,
    init: SavedStateDict,
}

fn goldens() -> [Golden; 2] {
    [
        Golden {
            init_file: "init_seed42.json",
            shapes_file: "shapes_reference.json",
            config: params::golden_config(),
            init: params::golden_init(),
        },
        Golden {
            init_file: "init_v2_seed42.json",
            shapes_file: "shapes_v2.json",
            config: params::golden_config_v2(),
            init: params::golden_init_v2(),
        },
    ]
}

fn fixture(name: &str) -> PathBuf {
    crate::paths::project_root().join("fixtures").join(name)
}

pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    let goldens = goldens();
    if args.update {
        for g in &goldens {
            let (init_path, shapes_path) = (fixture(g.init_file), fixture(g.shapes_file));
            fs::write(&init_path, g.init.to_json())
                .with_context(|| format!("writing {}", init_path.display()))?;
            fs::write(&shapes_path, Shapes::of(&g.config).to_json())
                .with_context(|| format!("writing {}", shapes_path.display()))?;
            eprintln!(
                "wrote {} and {}",
                init_path.display(),
                shapes_path.display()
            );
        }
        return Ok(());
    }
    for g in &goldens {
        check(g)?;
    }
    let counts: Vec<String> = goldens
        .iter()
        .map(|g| g.config.num_params().to_string())
        .collect();
    println!(
        "golden: initial weights and shapes match (v1 and v2: {} parameters)",
        counts.join(" and ")
    );
    Ok(())
}

fn check(g: &Golden) -> anyhow::Result<()> {
    let fix = "run `cargo xtask golden --update` if the change is intended";
    let read = |p: &PathBuf| {
        fs::read_to_string(p).with_context(|| format!("reading {}; {fix}", p.display()))
    };
    let (init_path, shapes_path) = (fixture(g.init_file), fixture(g.shapes_file));
    let init = g.init.to_json();
    let shapes = Shapes::of(&g.config).to_json();

    let expected = SavedStateDict::from_json(&read(&init_path)?)?;
    if let Some(diff) = expected.first_difference(&g.init) {
        bail!(
            "initial weights differ from {}: {diff}; {fix}",
            init_path.display()
        );
    }
    let old = read(&shapes_path)?;
    if old != shapes {
        let line = old.lines().zip(shapes.lines()).position(|(a, b)| a != b);
        let line = line.unwrap_or_else(|| old.lines().count().min(shapes.lines().count()));
        bail!(
            "shapes differ from {} at line {}; {fix}",
            shapes_path.display(),
            line + 1
        );
    }
    if expected.to_json() != init {
        bail!(
            "{} holds the right values but not in the canonical layout; {fix}",
            init_path.display()
        );
    }
    Ok(())
}
