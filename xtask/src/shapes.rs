//! `cargo xtask shapes`: the JSON dump of the state dict's shapes.

use params::Shapes;

use crate::sizes::SizeArgs;

/// Print the shapes of a model's state dict as JSON.
#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    sizes: SizeArgs,
    /// Vocabulary size: distinct characters of the data plus BOS.
    #[arg(long, default_value_t = 27, value_name = "N")]
    vocab_size: usize,
}

pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    let config = args.sizes.sizes().config(args.vocab_size);
    config.validate()?;
    config.check_memory(u128::MAX)?;
    print!("{}", Shapes::of(&config).to_json());
    Ok(())
}
