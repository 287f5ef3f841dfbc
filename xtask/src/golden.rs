//! `cargo xtask golden --check | --update`: the initial weights and shapes of the
//! reference configuration (vocab 27, seed 42, default generator), pinned in
//! `fixtures/`.

use std::fs;
use std::path::PathBuf;

use anyhow::{Context, bail};
use params::{SavedStateDict, Shapes};

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

/// The golden state dict's path.
pub(crate) fn init_path() -> PathBuf {
    crate::paths::project_root().join("fixtures/init_seed42.json")
}

/// The golden shapes' path.
pub(crate) fn shapes_path() -> PathBuf {
    crate::paths::project_root().join("fixtures/shapes_reference.json")
}

pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    let init = params::golden_init().to_json();
    let shapes = Shapes::of(&params::golden_config()).to_json();
    if args.update {
        fs::write(init_path(), &init)
            .with_context(|| format!("writing {}", init_path().display()))?;
        fs::write(shapes_path(), &shapes)
            .with_context(|| format!("writing {}", shapes_path().display()))?;
        eprintln!(
            "wrote {} and {}",
            init_path().display(),
            shapes_path().display()
        );
        return Ok(());
    }
    let fix = "run `cargo xtask golden --update` if the change is intended";
    let read = |p: &PathBuf| {
        fs::read_to_string(p).with_context(|| format!("reading {}; {fix}", p.display()))
    };

    let expected = SavedStateDict::from_json(&read(&init_path())?)?;
    let actual = SavedStateDict::from_json(&init)?;
    if let Some(diff) = expected.first_difference(&actual) {
        bail!(
            "initial weights differ from {}: {diff}; {fix}",
            init_path().display()
        );
    }
    if read(&shapes_path())? != shapes {
        let old = read(&shapes_path())?;
        let line = old.lines().zip(shapes.lines()).position(|(a, b)| a != b);
        let line = line.unwrap_or_else(|| old.lines().count().min(shapes.lines().count()));
        bail!(
            "shapes differ from {} at line {}; {fix}",
            shapes_path().display(),
            line + 1
        );
    }
    if expected.to_json() != init {
        bail!(
            "{} holds the right values but not in the canonical layout; {fix}",
            init_path().display()
        );
    }
    println!(
        "golden: initial weights and shapes match ({} parameters)",
        params::golden_config().num_params()
    );
    Ok(())
}
