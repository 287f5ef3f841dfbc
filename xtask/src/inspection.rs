//! What the model sees for a prefix: per position the next character's logits and
//! probabilities (with the top k), and every head's attention weights. One report
//! serves `cargo xtask inspect --json` and the playground's inspect endpoint.

use anyhow::{Context, bail};
use serde::Serialize;
use train::Checkpoint;

/// The label of the BOS token, which has no character.
pub(crate) const BOS: &str = "BOS";

/// One candidate for the next character.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Candidate {
    /// Its token id.
    pub(crate) id: usize,
    /// The character, or [`BOS`] for the end of a name.
    pub(crate) char: String,
    /// Its probability at temperature 1.
    pub(crate) prob: f64,
}

/// The model's view of `BOS + text`, position by position.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Report {
    /// The prefix inspected.
    pub(crate) text: String,
    /// The checkpoint's steps of training.
    pub(crate) step: usize,
    /// The token ids fed, BOS first: T of them.
    pub(crate) tokens: Vec<usize>,
    /// The label of each fed token (`BOS`, then the prefix's characters).
    pub(crate) inputs: Vec<String>,
    /// The label of each id of the vocabulary, BOS last.
    pub(crate) vocab: Vec<String>,
    /// `n_layer` and `n_head`, the attention's first two dimensions.
    pub(crate) n_layer: usize,
    pub(crate) n_head: usize,
    /// The `k` most probable next tokens after each position, most probable first.
    pub(crate) top_k: Vec<Vec<Candidate>>,
    /// (T, V): the next token's logits after each position.
    pub(crate) logits: Vec<Vec<f64>>,
    /// (T, V): their softmax at temperature 1.
    pub(crate) probs: Vec<Vec<f64>>,
    /// (n_layer, n_head, T, T): row t holds position t's weights over keys 0..=t,
    /// zeros after.
    pub(crate) attention: Vec<Vec<Vec<Vec<f64>>>>,
}

/// Inspects `text` (after BOS) with `checkpoint`'s model in its run's arithmetic,
/// listing the `top_k` most probable next tokens at each position.
///
/// # Errors
/// For a character outside the vocabulary, a prefix longer than the context, or a
/// `top_k` of 0.
pub(crate) fn inspect(checkpoint: &Checkpoint, text: &str, top_k: usize) -> anyhow::Result<Report> {
    if top_k == 0 {
        bail!("top-k 0: ask for at least one candidate");
    }
    checkpoint.check()?;
    let tokenizer = checkpoint.tokenizer()?;
    let config = checkpoint.model;
    let ids = tokenizer.encode(text).map_err(|err| {
        let chars: String = tokenizer.chars().iter().collect();
        anyhow::anyhow!("{err} (the vocabulary is {chars:?})")
    })?;
    if ids.len() >= config.block_size {
        bail!(
            "{text:?} is {} characters, but the model's context of {} (block_size) holds BOS and at most {} more",
            ids.len(),
            config.block_size,
            config.block_size - 1
        );
    }
    let mut tokens = vec![tokenizer.bos()];
    tokens.extend(&ids);

    let mut inference = train::Inference::from_checkpoint(checkpoint)?;
    let seen = inference.inspect(&tokens).context("running the model")?;

    let label = |id: usize| match tokenizer.chars().get(id) {
        Some(c) => c.to_string(),
        None => BOS.to_string(),
    };
    let (t, v) = (tokens.len(), config.vocab_size);
    let rows = |flat: &[f64], width: usize| -> Vec<Vec<f64>> {
        flat.chunks_exact(width).map(<[f64]>::to_vec).collect()
    };
    let probs = rows(&seen.probs, v);
    let top_k = probs
        .iter()
        .map(|row| {
            let mut order: Vec<usize> = (0..v).collect();
            // Most probable first; ties by id, so the order is stable.
            order.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
            order
                .into_iter()
                .take(top_k)
                .map(|id| Candidate {
                    id,
                    char: label(id),
                    prob: row[id],
                })
                .collect()
        })
        .collect();
    let heads = rows(&seen.attention, t * t);
    let attention = heads
        .chunks(config.n_head)
        .map(|layer| layer.iter().map(|head| rows(head, t)).collect())
        .collect();
    Ok(Report {
        text: text.to_string(),
        step: checkpoint.step,
        inputs: tokens.iter().map(|&id| label(id)).collect(),
        tokens,
        vocab: (0..v).map(label).collect(),
        n_layer: config.n_layer,
        n_head: config.n_head,
        top_k,
        logits: rows(&seen.logits, v),
        probs,
        attention,
    })
}
