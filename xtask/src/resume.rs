//! `cargo xtask train --resume FILE`: the checkpoint's run, continued with its own
//! settings; a flag that contradicts them is refused, naming both values.

use std::path::Path;

use anyhow::{Context, bail};
use train::{Checkpoint, Dataset, Sizes, Trainer};

use crate::report::advise;
use crate::train_args::Args;

/// Loads the checkpoint, checks the flags against it, finds its data, and
/// restores the run.
pub(crate) fn start(args: &Args, path: &Path) -> anyhow::Result<Trainer> {
    let mut checkpoint = crate::load::checkpoint(path, "cannot resume from", args.limit)?;
    check_flags(args, &checkpoint, path)?;
    // Only the sampling after training may change.
    if args.given("temperature") {
        checkpoint.train.temperature = args.temperature;
    }
    if args.given("samples") {
        checkpoint.train.samples = args.samples;
    }
    let dataset = match &args.data {
        Some(data) => crate::load::data(data, args, checkpoint.train.exact)?,
        None => saved_data(&checkpoint, args)?,
    };
    note!("data: {} ({} documents)", dataset.name, dataset.len());
    note!(
        "resuming {} at step {} of {}",
        path.display(),
        checkpoint.step,
        checkpoint.train.steps
    );
    let memory = crate::limits::available_memory();
    Trainer::resume(dataset, &checkpoint, memory, args.force).map_err(|err| advise(err, true))
}

/// The data the checkpoint names: the embedded names, or the file it was read from.
fn saved_data(checkpoint: &Checkpoint, args: &Args) -> anyhow::Result<Dataset> {
    let embedded = Dataset::embedded();
    let name = &checkpoint.data.name;
    if *name == embedded.name {
        return Ok(embedded);
    }
    // An input too, found only now: no output may replace it.
    let inputs = [("--resume's data", Path::new(name))];
    crate::files::check_distinct(&inputs, &args.outputs(), None)?;
    crate::load::data(Path::new(name), args, checkpoint.train.exact).with_context(|| {
        format!("the checkpoint was trained on {name}; pass --data FILE with that data")
    })
}

/// Refuses flags given on the command line whose values differ from the run's.
fn check_flags(args: &Args, c: &Checkpoint, path: &Path) -> anyhow::Result<()> {
    let given = args.train_config();
    let (m, s) = (Sizes::of(&c.model), args.sizes.sizes());
    let (ga, ca) = (&given.adam, &c.train.adam);
    let flags: [(&str, String, String); 17] = [
        (
            "preset",
            given.preset.name().into(),
            c.train.preset.name().into(),
        ),
        ("steps", given.steps.to_string(), c.train.steps.to_string()),
        (
            "batch_size",
            given.batch_size.to_string(),
            c.train.batch_size.to_string(),
        ),
        ("seed", given.seed.to_string(), c.train.seed.to_string()),
        (
            "lr",
            given.adam.learning_rate.to_string(),
            c.train.adam.learning_rate.to_string(),
        ),
        ("rng", given.rng.to_string(), c.train.rng.to_string()),
        ("dtype", given.dtype.to_string(), c.train.dtype.to_string()),
        ("beta1", ga.beta1.to_string(), ca.beta1.to_string()),
        ("beta2", ga.beta2.to_string(), ca.beta2.to_string()),
        (
            "lr_schedule",
            ga.schedule.name().into(),
            ca.schedule.name().into(),
        ),
        (
            "init_std",
            given.init.std.to_string(),
            c.train.init.std.to_string(),
        ),
        (
            "zero_init_proj",
            given.init.zero_init_proj.to_string(),
            c.train.init.zero_init_proj.to_string(),
        ),
        (
            "activation",
            s.activation.name().into(),
            m.activation.name().into(),
        ),
        ("n_embd", s.n_embd.to_string(), m.n_embd.to_string()),
        ("n_head", s.n_head.to_string(), m.n_head.to_string()),
        ("n_layer", s.n_layer.to_string(), m.n_layer.to_string()),
        (
            "block_size",
            s.block_size.to_string(),
            m.block_size.to_string(),
        ),
    ];
    let mut conflicts: Vec<String> = flags
        .iter()
        .filter(|(id, value, saved)| args.given(id) && value != saved)
        .map(|(id, value, saved)| {
            format!("--{} {value} (the run has {saved})", id.replace('_', "-"))
        })
        .collect();
    // A switch: given means on, and only a run in the fast arithmetic contradicts it.
    if args.given("exact") && !c.train.exact {
        conflicts.push("--exact (the run uses the fast arithmetic)".into());
    }
    if !conflicts.is_empty() {
        bail!(
            "cannot resume {} with {}: a resumed run keeps its settings; drop {} to continue it, or start a new run without --resume",
            path.display(),
            conflicts.join(" and "),
            if conflicts.len() == 1 {
                "that flag"
            } else {
                "those flags"
            }
        );
    }
    Ok(())
}
