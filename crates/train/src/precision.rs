//! The run in the dtype its config asks for: [`Trainer`] holds a `Run<f64>` or a
//! `Run<f32>` (`trainer.rs`, where the loop is) and passes every call on, so
//! that its users never name the element type.

use std::borrow::Cow;

use autograd::{Span, Threads};
use params::{Dtype, ModelConfig, StateDict};

use crate::checkpoint::Checkpoint;
use crate::config::{Sizes, TrainConfig};
use crate::data::Dataset;
use crate::error::Result;
use crate::fingerprint::DataFingerprint;
use crate::rng::RunRng;
use crate::tokenizer::Tokenizer;
use crate::trainer::{Run, StepReport};

/// A training run in progress, in its config's [`Dtype`].
#[derive(Debug)]
pub struct Trainer(Either);

#[derive(Debug)]
enum Either {
    F64(Run<f64>),
    F32(Run<f32>),
}

/// `$body` with `$run` bound to the run, whichever its element type.
macro_rules! each {
    ($trainer:expr, $run:ident => $body:expr) => {
        match $trainer {
            Either::F64($run) => $body,
            Either::F32($run) => $body,
        }
    };
}

/// `values`, `f32`s, as the `f64`s equal to them.
fn wide(values: &[f32]) -> Cow<'_, [f64]> {
    Cow::Owned(values.iter().map(|&v| f64::from(v)).collect())
}

impl Trainer {
    /// Prepares a run, in the reference's order: shuffle the documents, build the
    /// vocabulary, initialise the weights (drawn in `f64`, rounded for an `f32`
    /// run). Checks every setting, and that the model fits in `memory_limit`
    /// bytes, before allocating it.
    ///
    /// # Errors
    /// For an invalid config, a model too large for memory.
    pub fn new(
        dataset: Dataset,
        sizes: Sizes,
        config: TrainConfig,
        memory_limit: u128,
    ) -> Result<Self> {
        Ok(Trainer(match config.dtype {
            Dtype::F64 => Either::F64(Run::new(dataset, sizes, config, memory_limit)?),
            Dtype::F32 => Either::F32(Run::new(dataset, sizes, config, memory_limit)?),
        }))
    }

    /// Continues the run `checkpoint` froze, on `dataset`, in its dtype: the next
    /// step and every one after it, and the samples at the end, are those the run
    /// would have produced had it never stopped, bit for bit.
    ///
    /// The documents must be those the checkpoint was trained on; with `force`,
    /// other documents are accepted if their vocabulary is the same.
    ///
    /// # Errors
    /// For other documents (without `force`), another vocabulary, a model too large
    /// for `memory_limit` bytes, or a checkpoint whose weights do not fit its model.
    pub fn resume(
        dataset: Dataset,
        checkpoint: &Checkpoint,
        memory_limit: u128,
        force: bool,
    ) -> Result<Self> {
        let (d, c, m) = (dataset, checkpoint, memory_limit);
        Ok(Trainer(match checkpoint.train.dtype {
            Dtype::F64 => Either::F64(Run::resume(d, c, m, force)?),
            Dtype::F32 => Either::F32(Run::resume(d, c, m, force)?),
        }))
    }

    /// The run as it stands: everything [`Trainer::resume`] needs to continue it.
    ///
    /// # Errors
    /// [`Error::NonFiniteState`](crate::Error::NonFiniteState) if a weight or a
    /// moment is not finite: the run has diverged, and JSON could not hold it anyway.
    pub fn checkpoint(&self) -> Result<Checkpoint> {
        each!(&self.0, run => run.checkpoint())
    }

    /// What the run computes in.
    pub fn dtype(&self) -> Dtype {
        self.config().dtype
    }

    /// The number of documents.
    pub fn num_docs(&self) -> usize {
        each!(&self.0, run => run.num_docs())
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        each!(&self.0, run => run.tokenizer())
    }

    /// The model's configuration.
    pub fn model_config(&self) -> &ModelConfig {
        each!(&self.0, run => run.model_config())
    }

    /// The run's configuration.
    pub fn config(&self) -> &TrainConfig {
        each!(&self.0, run => run.config())
    }

    /// The state dict: where each tensor lies in the graph.
    pub fn state(&self) -> &StateDict {
        each!(&self.0, run => run.state())
    }

    /// The current values of `span` of the graph (a tensor of [`Trainer::state`],
    /// say), as `f64`s.
    pub fn values(&self, span: Span) -> Cow<'_, [f64]> {
        match &self.0 {
            Either::F64(run) => Cow::Borrowed(run.graph().values(span)),
            Either::F32(run) => wide(run.graph().values(span)),
        }
    }

    /// Adam's first and second moments, one per parameter, as `f64`s.
    pub fn moments(&self) -> [Cow<'_, [f64]>; 2] {
        match &self.0 {
            Either::F64(run) => [Cow::Borrowed(&run.adam().m), Cow::Borrowed(&run.adam().v)],
            Either::F32(run) => [wide(&run.adam().m), wide(&run.adam().v)],
        }
    }

    /// Steps taken so far.
    pub fn steps_done(&self) -> usize {
        each!(&self.0, run => run.steps_done())
    }

    /// The loss of every step taken, a resumed run's earlier steps included.
    pub fn losses(&self) -> &[f64] {
        each!(&self.0, run => run.losses())
    }

    /// The fingerprint of the documents this run trains on.
    pub fn data(&self) -> &DataFingerprint {
        each!(&self.0, run => run.data())
    }

    /// The generator.
    pub fn rng(&self) -> &RunRng {
        each!(&self.0, run => run.rng())
    }

    /// Records, from the next step on, the L2 norm of each tensor's gradient
    /// (read with [`Trainer::grad_norms`]); off by default.
    pub fn track_grad_norms(&mut self, on: bool) {
        each!(&mut self.0, run => run.track_grad_norms(on))
    }

    /// The L2 norm of each tensor's gradient at the last step, in state-dict order
    /// (zeros before the first tracked step); empty unless tracked.
    pub fn grad_norms(&self) -> &[f64] {
        each!(&self.0, run => run.grad_norms())
    }

    /// Generates `n` texts continuing `prefix` (ids) at `temperature`, with a fresh
    /// generator of the run's kind seeded with `seed`: the run's own generator,
    /// and so its checkpoint and its final samples, are left untouched.
    ///
    /// # Errors
    /// If the temperature is not positive, or the prefix does not fit the model.
    pub fn preview(
        &mut self,
        n: usize,
        temperature: f64,
        seed: u64,
        prefix: &[usize],
    ) -> Result<Vec<String>> {
        each!(&mut self.0, run => run.preview(n, temperature, seed, prefix))
    }

    /// Whether every step of the schedule has run.
    pub fn is_done(&self) -> bool {
        each!(&self.0, run => run.is_done())
    }

    /// Spreads the documents of every step's batch over `threads` threads (1, the
    /// default, keeps them on the calling thread), in a pool made now, once. The
    /// run's numbers are the same bits whatever the number. A run of one
    /// document a step keeps to one thread, and so does an exact run.
    ///
    /// # Errors
    /// [`crate::Error::TooManyThreads`], changing nothing, if the threads' copies
    /// of the parameters would not fit in the memory limit the run was made with (see
    /// [`Trainer::memory_needed`]); or if the system refuses to start a thread.
    pub fn set_threads(&mut self, threads: usize) -> Result<()> {
        each!(&mut self.0, run => run.set_threads(threads))
    }

    /// About the bytes the run takes on `threads` threads, as
    /// [`Trainer::set_threads`] checks them: the graph of a whole batch, Adam's
    /// moments, and for each thread after the first that the batch keeps busy, a
    /// copy of the parameters and of their gradients.
    pub fn memory_needed(&self, threads: usize) -> u128 {
        each!(&self.0, run => run.memory_needed(threads))
    }

    /// [`Trainer::set_threads`] with threads made by the caller, such as
    /// [`Threads::with_min_work`] to share out even a small Adam update.
    ///
    /// # Errors
    /// [`crate::Error::TooManyThreads`], changing nothing, if the threads'
    /// copies of the parameters would not fit in the memory limit the run was
    /// made with, as [`Trainer::set_threads`].
    pub fn use_threads(&mut self, threads: Threads) -> Result<()> {
        each!(&mut self.0, run => run.use_threads(threads))
    }

    /// The number of threads the steps run on.
    pub fn threads(&self) -> usize {
        each!(&self.0, run => run.threads())
    }

    /// Takes the next step: documents `(step * B + i) % num_docs` for `i` in
    /// `0..B`, forward, backward, Adam.
    ///
    /// # Errors
    /// If the loss or a gradient is not finite; the parameters are left as they
    /// were before the step.
    pub fn step(&mut self) -> Result<StepReport> {
        each!(&mut self.0, run => run.step())
    }

    /// Generates `n` texts with the run's temperature and generator, with the
    /// run's model in its dtype.
    ///
    /// # Errors
    /// If the model's probabilities cannot be sampled from.
    pub fn sample(&mut self, n: usize) -> Result<Vec<String>> {
        each!(&mut self.0, run => run.sample(n))
    }
}
