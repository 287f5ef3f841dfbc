//! What training a model costs in memory, estimated before anything is allocated,
//! from the footprints the two forward passes give of themselves.

use autograd::Footprint;
use params::{Bytes, Dtype, ModelConfig};

use crate::error::{Error, Result};
use crate::gpt::Mode;
use crate::{fused, reference};

/// The graph of training `config` in `mode`: the parameters, and one step over a
/// full `block_size` sequence (the longest a step can be).
pub fn training_footprint(config: &ModelConfig, mode: Mode) -> Footprint {
    batch_footprint(config, mode, 1)
}

/// [`training_footprint`] of a step over `batch` documents: the parameters, and
/// `batch` full sequences (a bound: the fused ops of a batch are one op each, and
/// documents are seldom `block_size` long).
pub fn batch_footprint(config: &ModelConfig, mode: Mode, batch: usize) -> Footprint {
    let params = Footprint::leaves(config.num_params_wide().try_into().unwrap_or(usize::MAX));
    let step = match mode {
        Mode::Fast => fused::step_footprint(config),
        Mode::Exact => reference::step_footprint(config),
    };
    params + step.times(batch.max(1))
}

/// The bytes of [`training_footprint`] in a graph of `dtype` values, the
/// depth-first walk of [`Mode::Exact`] included.
pub fn training_bytes(config: &ModelConfig, mode: Mode, dtype: Dtype) -> u128 {
    batch_bytes(config, mode, dtype, 1)
}

/// [`training_bytes`] of a step over `batch` documents ([`batch_footprint`]).
pub fn batch_bytes(config: &ModelConfig, mode: Mode, dtype: Dtype, batch: usize) -> u128 {
    let f = batch_footprint(config, mode, batch);
    match mode {
        Mode::Fast => f.bytes(dtype.size()),
        Mode::Exact => f.bytes(dtype.size()).saturating_add(f.depth_first_bytes()),
    }
}

/// Checks, before anything is allocated, that training `config` in `mode` on a
/// graph of `dtype` values fits in `limit` bytes, with `per_param` more bytes for
/// each parameter (an optimiser's state), and that its graph fits the arena's
/// `u32` indices.
///
/// # Errors
/// [`Error::TooLarge`], saying what would not fit.
pub fn check_memory(
    config: &ModelConfig,
    mode: Mode,
    dtype: Dtype,
    per_param: u128,
    limit: u128,
) -> Result<()> {
    check_batch_memory(config, mode, dtype, 1, per_param, limit)
}

/// [`check_memory`] for a step over `batch` documents.
///
/// # Errors
/// [`Error::TooLarge`], saying what would not fit.
pub fn check_batch_memory(
    config: &ModelConfig,
    mode: Mode,
    dtype: Dtype,
    batch: usize,
    per_param: u128,
    limit: u128,
) -> Result<()> {
    let optimiser = config.num_params_wide().saturating_mul(per_param);
    let needed = batch_bytes(config, mode, dtype, batch).saturating_add(optimiser);
    let slots = batch_footprint(config, mode, batch).slots;
    if needed > limit || slots > u128::from(u32::MAX) {
        return Err(Error::TooLarge {
            needed: Bytes(needed),
            limit: Bytes(limit),
            slots,
        });
    }
    Ok(())
}
