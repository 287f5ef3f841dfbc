//! The training run: shuffle, tokenize, initialise, then a batch of documents
//! (one, by default) per step, forward, backward, Adam; and sampling at the end.

use autograd::{Float, Graph, Mark, Threads};
use model::{Batch, Gpt, KvCache};
use params::{ModelConfig, SavedStateDict, StateDict};

use crate::adam::Adam;
use crate::checkpoint::{
    CHECKPOINT_FORMAT, CHECKPOINT_VERSION, Checkpoint, Zeros, flat, like_weights,
};
use crate::config::{Sizes, TrainConfig};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::fingerprint::DataFingerprint;
use crate::rng::RunRng;
use crate::sample::Sampler;
use crate::shards::{self, Shards};
use crate::tokenizer::Tokenizer;
use crate::tokens::Corpus;

/// What one step did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepReport {
    /// The 1-based step just taken.
    pub step: usize,
    /// Of how many.
    pub steps: usize,
    /// The mean loss of its documents (each document's mean over its positions).
    pub loss: f64,
    /// The learning rate it used.
    pub lr: f64,
}

/// A training run in progress, computing in `F`: what [`Trainer`](crate::Trainer)
/// holds for the run's dtype.
#[derive(Debug)]
pub(crate) struct Run<F: Float> {
    config: TrainConfig,
    tokenizer: Tokenizer,
    /// The documents as token ids, in the shuffled order.
    corpus: Corpus,
    graph: Graph<F>,
    state: StateDict,
    gpt: Gpt,
    adam: Adam<F>,
    rng: RunRng,
    cache: KvCache,
    /// `[BOS] + doc + [BOS]` of each document of the current step.
    batch: Batch,
    /// The end of the parameters: each step's nodes come after it.
    mark: Mark,
    /// Steps taken.
    step: usize,
    /// The loss of each step taken, resumed runs' earlier steps included.
    losses: Vec<f64>,
    /// The documents this run trains on.
    data: DataFingerprint,
    /// The L2 norm of each tensor's gradient at the last step, in state-dict
    /// order, when asked for with [`Run::track_grad_norms`]; empty otherwise,
    /// so that the command line's loop pays nothing for it.
    grad_norms: Vec<f64>,
    /// With several threads and documents per step: the graphs the batch is
    /// spread over (see `shards.rs`).
    shards: Option<Shards<F>>,
    /// The bytes the run may use, threads' copies included.
    memory_limit: u128,
}

impl<F: Float> Run<F> {
    /// Prepares a run, in the reference's order: shuffle the documents, build the
    /// vocabulary, initialise the weights. Checks every setting, and that the model
    /// fits in `memory_limit` bytes, before allocating it.
    ///
    /// # Errors
    /// For an invalid config, a model too large for memory.
    pub(crate) fn new(
        dataset: Dataset,
        sizes: Sizes,
        config: TrainConfig,
        memory_limit: u128,
    ) -> Result<Self> {
        Self::build(dataset, sizes, config, memory_limit, true)
    }

    /// Continues the run `checkpoint` froze, on `dataset`: the next step and every
    /// one after it, and the samples at the end, are those the run would have
    /// produced had it never stopped, bit for bit.
    ///
    /// The documents must be those the checkpoint was trained on; with `force`,
    /// other documents are accepted if their vocabulary is the same.
    ///
    /// # Errors
    /// For other documents (without `force`), another vocabulary, a model too large
    /// for `memory_limit` bytes, or a checkpoint whose weights do not fit its model.
    pub(crate) fn resume(
        dataset: Dataset,
        checkpoint: &Checkpoint,
        memory_limit: u128,
        force: bool,
    ) -> Result<Self> {
        checkpoint.check()?;
        let given = dataset.fingerprint();
        if !force && !given.same_docs(&checkpoint.data) {
            return Err(Error::DataMismatch {
                saved: checkpoint.data.clone(),
                given,
            });
        }
        let saved_vocab = checkpoint.tokenizer()?;
        let vocab = Tokenizer::of_dataset(&dataset);
        if vocab != saved_vocab {
            let missing: String = saved_vocab
                .chars()
                .iter()
                .filter(|c| vocab.id(**c).is_err())
                .collect();
            let new: String = vocab
                .chars()
                .iter()
                .filter(|c| saved_vocab.id(**c).is_err())
                .collect();
            let mut parts = Vec::new();
            if !missing.is_empty() {
                parts.push(format!("this data lacks {missing:?}"));
            }
            if !new.is_empty() {
                parts.push(format!("this data adds {new:?}"));
            }
            return Err(Error::VocabMismatch {
                difference: parts.join(", "),
            });
        }
        let sizes = Sizes::of(&checkpoint.model);
        // No initial draws: the weights and the generator come from the checkpoint.
        let mut t = Self::build(dataset, sizes, checkpoint.train, memory_limit, false)?;
        checkpoint.weights.load_into(&t.state, &mut t.graph)?;
        t.adam.m = flat(&checkpoint.adam_m);
        t.adam.v = flat(&checkpoint.adam_v);
        t.rng = RunRng::from_state(&checkpoint.rng, checkpoint.train.seed)?;
        t.step = checkpoint.step;
        t.losses.extend_from_slice(&checkpoint.losses);
        Ok(t)
    }

    /// Shuffles, tokenizes and lays out the model; `init` draws the initial weights
    /// (otherwise they are zeros, for a checkpoint to overwrite).
    fn build(
        dataset: Dataset,
        sizes: Sizes,
        config: TrainConfig,
        memory_limit: u128,
        init: bool,
    ) -> Result<Self> {
        config.validate()?;
        let data = dataset.fingerprint();
        let tokenizer = Tokenizer::of_dataset(&dataset);
        let model_config = sizes.config(tokenizer.vocab_size());
        model_config.validate()?;
        let mode = config.mode();
        let per_param = Adam::<F>::BYTES_PER_PARAM;
        model::check_batch_memory(
            &model_config,
            mode,
            config.dtype,
            config.batch_size,
            per_param,
            memory_limit,
        )?;

        let mut rng = RunRng::new(config.rng, config.seed);
        let corpus = Corpus::new(dataset, &tokenizer, &mut rng, config.seed)?;

        let mut graph = Graph::<F>::empty(mode.arith());
        let state = if init {
            StateDict::with_std(&mut graph, &model_config, &config.init, rng.init_source())?
        } else {
            StateDict::with_std(&mut graph, &model_config, &config.init, &mut Zeros)?
        };
        let gpt = Gpt::new(&state, mode);
        let adam = Adam::new(config.adam, state.num_params(), graph.arith());
        let cache = gpt.new_cache();
        let mark = graph.mark();
        Ok(Run {
            config,
            tokenizer,
            corpus,
            graph,
            state,
            gpt,
            adam,
            rng,
            cache,
            batch: Batch::new(),
            shards: None,
            memory_limit,
            mark,
            step: 0,
            // Room for every step's loss up front (up to a million, 8 MB), so that
            // recording one never allocates in the training loop.
            losses: Vec::with_capacity(config.steps.min(1 << 20)),
            data,
            grad_norms: Vec::new(),
        })
    }

    /// The run as it stands: everything [`Run::resume`] needs to continue it.
    ///
    /// # Errors
    /// [`Error::NonFiniteState`] if a weight or a moment is not finite: the run has
    /// diverged, and JSON could not hold it anyway.
    pub(crate) fn checkpoint(&self) -> Result<Checkpoint> {
        // Checked here rather than after every step: the next step's loss catches a
        // broken weight anyway, and a scan per step would cost the hot loop.
        let diverged = |err| match err {
            Error::Params(params::Error::NonFinite { name, index, value }) => {
                Error::NonFiniteState {
                    step: self.step,
                    name,
                    index,
                    value,
                }
            }
            err => err,
        };
        let weights =
            SavedStateDict::capture(&self.state, &self.graph).map_err(|e| diverged(e.into()))?;
        let adam_m = like_weights(&weights, &self.adam.m, "adam_m").map_err(diverged)?;
        let adam_v = like_weights(&weights, &self.adam.v, "adam_v").map_err(diverged)?;
        Ok(Checkpoint {
            format: CHECKPOINT_FORMAT.into(),
            version: CHECKPOINT_VERSION,
            step: self.step,
            train: self.config,
            model: *self.model_config(),
            vocab: self.tokenizer.chars().iter().collect(),
            data: self.data.clone(),
            rng: self.rng.state(),
            losses: self.losses.clone(),
            weights,
            adam_m,
            adam_v,
        })
    }

    /// The number of documents.
    pub(crate) fn num_docs(&self) -> usize {
        self.corpus.len()
    }

    /// The tokenizer.
    pub(crate) fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The model's configuration.
    pub(crate) fn model_config(&self) -> &ModelConfig {
        self.state.config()
    }

    /// The run's configuration.
    pub(crate) fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// The state dict.
    pub(crate) fn state(&self) -> &StateDict {
        &self.state
    }

    /// The graph holding the parameters.
    pub(crate) fn graph(&self) -> &Graph<F> {
        &self.graph
    }

    /// Steps taken so far.
    pub(crate) fn steps_done(&self) -> usize {
        self.step
    }

    /// The loss of every step taken, a resumed run's earlier steps included.
    pub(crate) fn losses(&self) -> &[f64] {
        &self.losses
    }

    /// The fingerprint of the documents this run trains on.
    pub(crate) fn data(&self) -> &DataFingerprint {
        &self.data
    }

    /// The optimiser.
    pub(crate) fn adam(&self) -> &Adam<F> {
        &self.adam
    }

    /// The generator.
    pub(crate) fn rng(&self) -> &RunRng {
        &self.rng
    }

    /// Records, from the next step on, the L2 norm of each tensor's gradient
    /// (read with [`Run::grad_norms`]); off by default.
    pub(crate) fn track_grad_norms(&mut self, on: bool) {
        self.grad_norms = if on {
            vec![0.0; self.state.iter().len()]
        } else {
            Vec::new()
        };
    }

    /// The L2 norm of each tensor's gradient at the last step, in state-dict order
    /// (zeros before the first tracked step); empty unless tracked.
    pub(crate) fn grad_norms(&self) -> &[f64] {
        &self.grad_norms
    }

    /// Generates `n` texts continuing `prefix` (ids) at `temperature`, with a fresh
    /// generator of the run's kind seeded with `seed`: the run's own generator,
    /// and so its checkpoint and its final samples, are left untouched.
    ///
    /// # Errors
    /// If the temperature is not positive, or the prefix does not fit the model.
    pub(crate) fn preview(
        &mut self,
        n: usize,
        temperature: f64,
        seed: u64,
        prefix: &[usize],
    ) -> Result<Vec<String>> {
        let inference = self.gpt.for_inference();
        let mut rng = RunRng::new(self.config.rng, seed);
        let mut sampler = Sampler::default();
        (0..n)
            .map(|_| {
                let ids =
                    sampler.generate(&inference, &mut self.graph, &mut rng, temperature, prefix)?;
                self.tokenizer.decode(ids)
            })
            .collect()
    }

    /// Whether every step of the schedule has run.
    pub(crate) fn is_done(&self) -> bool {
        self.step >= self.config.steps
    }

    /// Spreads the documents of every step's batch over `threads` threads (1, the
    /// default, keeps them on the calling thread), in a pool made now, once. The
    /// run's numbers are the same bits whatever the number. A run of one
    /// document a step keeps to one thread, and so does an exact run (its scalar
    /// graph has nothing to share out): no pool is made for them.
    ///
    /// # Errors
    /// [`Error::TooManyThreads`], changing nothing, if the threads' copies of the
    /// parameters would not fit in the run's memory limit; or if the system
    /// refuses to start a thread.
    pub(crate) fn set_threads(&mut self, threads: usize) -> Result<()> {
        if self.uses_threads() {
            self.check_thread_memory(threads)?;
            let threads = Threads::new(threads).map_err(|e| Error::Threads(e.to_string()))?;
            self.install(threads);
        }
        Ok(())
    }

    /// Checks, before any is made, that the graphs a batch would be spread over
    /// on `threads` threads fit in the run's memory limit: each graph after the
    /// first holds a copy of the parameters and of their gradients. (Their
    /// activations are the batch's, shared out, which the run's check counted.)
    ///
    /// # Errors
    /// [`Error::TooManyThreads`], with the most threads that would fit.
    fn check_thread_memory(&self, threads: usize) -> Result<()> {
        let needed = self.memory_needed(threads);
        if needed <= self.memory_limit {
            return Ok(());
        }
        let fits = (1..threads)
            .rev()
            .find(|&n| self.memory_needed(n) <= self.memory_limit)
            .unwrap_or(1);
        Err(Error::TooManyThreads {
            threads,
            needed,
            available: self.memory_limit,
            fits,
        })
    }

    /// About the bytes the run takes on `threads` threads, as checked before
    /// it starts: its graph of a whole batch, Adam's moments, and for each
    /// thread after the first that the batch keeps busy, a copy of the
    /// parameters and of their gradients.
    pub(crate) fn memory_needed(&self, threads: usize) -> u128 {
        let model = self.gpt.config();
        let params = model.num_params_wide();
        let (mode, dtype, batch) = (
            self.config.mode(),
            self.config.dtype,
            self.config.batch_size,
        );
        let run = model::batch_bytes(model, mode, dtype, batch)
            .saturating_add(params.saturating_mul(Adam::<F>::BYTES_PER_PARAM));
        let copies = if self.uses_threads() {
            shards::graphs(threads, batch) - 1
        } else {
            0
        };
        let per_copy = params.saturating_mul(2 * size_of::<F>() as u128);
        run.saturating_add(per_copy.saturating_mul(copies as u128))
    }

    /// [`Run::set_threads`] with threads made by the caller, such as
    /// [`Threads::with_min_work`] to share out even a small Adam update.
    ///
    /// # Errors
    /// [`Error::TooManyThreads`], changing nothing, as [`Run::set_threads`].
    pub(crate) fn use_threads(&mut self, threads: Threads) -> Result<()> {
        if self.uses_threads() {
            self.check_thread_memory(threads.count())?;
        }
        self.install(threads);
        Ok(())
    }

    /// Spreads the batches over `threads`, whose memory has been checked.
    fn install(&mut self, threads: Threads) {
        self.shards = None;
        if self.uses_threads() && threads.count() > 1 {
            self.graph.truncate(self.mark);
            let b = self.config.batch_size;
            self.shards = Some(Shards::new(threads, &self.graph, &self.gpt, b));
        }
    }

    /// Whether more threads than one can share a step: only a batch's documents,
    /// in the fast arithmetic. (A document's own ops could be shared out too,
    /// with [`autograd::Graph::set_threads`], but at the sizes measured, up to
    /// n_embd 256, two threads ran a step of one document no faster than one.)
    fn uses_threads(&self) -> bool {
        !self.config.exact && self.config.batch_size > 1
    }

    /// The threads the steps run on.
    fn thread_pool(&self) -> &Threads {
        match &self.shards {
            Some(shards) => shards.threads(),
            None => self.graph.threads(),
        }
    }

    /// The number of threads the steps run on.
    pub(crate) fn threads(&self) -> usize {
        self.thread_pool().count()
    }

    /// Takes the next step: documents `(step * B + i) % num_docs` for `i` in
    /// `0..B`, forward, backward, Adam.
    ///
    /// # Errors
    /// If the loss or a gradient is not finite; the parameters are left as they
    /// were before the step.
    pub(crate) fn step(&mut self) -> Result<StepReport> {
        // On the pool's threads (a clone of its handle, no allocation), kept awake
        // for the step, so that its parts go to threads already running.
        let threads = self.thread_pool().clone();
        threads.install_awake(|| self.step_here())
    }

    fn step_here(&mut self) -> Result<StepReport> {
        let step = self.step;
        let b = self.config.batch_size;
        let mut batch = std::mem::take(&mut self.batch);
        batch.clear();
        for i in 0..b {
            let doc = (step * b + i) % self.num_docs();
            batch.push_with(|seq| {
                self.tokenizer
                    .frame(seq, |seq| self.corpus.extend_doc(doc, seq))
            });
        }
        let result = self.train_on(&mut batch, step);
        self.batch = batch;
        self.graph.truncate(self.mark);
        let loss = result?;
        self.step += 1;
        self.losses.push(loss);
        let adam = self.config.adam;
        let lr = adam
            .schedule
            .lr(adam.learning_rate, step, self.config.steps);
        Ok(StepReport {
            step: step + 1,
            steps: self.config.steps,
            loss,
            lr,
        })
    }

    fn train_on(&mut self, batch: &mut Batch, step: usize) -> Result<f64> {
        let params = self.state.params();
        let value = match &mut self.shards {
            Some(shards) => {
                let (gpt, graph, cache) = (&self.gpt, &mut self.graph, &mut self.cache);
                let value = shards.loss(gpt, graph, cache, self.mark, params, batch)?;
                if value.is_finite() {
                    shards.add_param_grads(graph, params);
                }
                value.to_f64()
            }
            None => {
                let loss = self
                    .gpt
                    .loss_batch(&mut self.graph, &mut self.cache, batch)?;
                let value = self.graph.value(loss).to_f64();
                if value.is_finite() {
                    self.gpt.backward(&mut self.graph, loss);
                }
                value
            }
        };
        if !value.is_finite() {
            self.graph.zero_grad_span(params);
            return Err(Error::Diverged {
                step: step + 1,
                what: "loss",
                value,
            });
        }
        if !self.grad_norms.is_empty() {
            // Before Adam, which zeroes the gradients.
            for (norm, t) in self.grad_norms.iter_mut().zip(self.state.iter()) {
                *norm = self
                    .graph
                    .grads(t.span)
                    .iter()
                    .map(|g| g.to_f64() * g.to_f64())
                    .sum::<f64>()
                    .sqrt();
            }
        }
        let threads = self.thread_pool().clone();
        let (params, grads) = self.graph.values_and_grads_mut(params);
        if !self
            .adam
            .step_on(params, grads, step, self.config.steps, &threads)
        {
            let value = grads
                .iter()
                .map(|g| g.to_f64())
                .find(|g| !g.is_finite())
                .unwrap_or(f64::NAN);
            grads.fill(F::ZERO);
            return Err(Error::Diverged {
                step: step + 1,
                what: "gradient",
                value,
            });
        }
        Ok(value)
    }

    /// Generates `n` texts with the run's temperature and generator.
    ///
    /// # Errors
    /// If the model's probabilities cannot be sampled from.
    pub(crate) fn sample(&mut self, n: usize) -> Result<Vec<String>> {
        let inference = self.gpt.for_inference();
        let mut sampler = Sampler::default();
        (0..n)
            .map(|_| {
                let ids = sampler.generate(
                    &inference,
                    &mut self.graph,
                    &mut self.rng,
                    self.config.temperature,
                    &[],
                )?;
                self.tokenizer.decode(ids)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_non_finite_moment_is_a_divergence_and_no_checkpoint() {
        let config = TrainConfig {
            steps: 5,
            ..TrainConfig::default()
        };
        let mut t =
            Run::<f64>::new(Dataset::embedded(), Sizes::default(), config, u128::MAX).unwrap();
        t.step().unwrap();
        t.checkpoint().unwrap();
        // What a finite gradient of 1e200 leaves behind: its square overflows.
        t.adam.v[3] = f64::INFINITY;
        let err = t.checkpoint().unwrap_err();
        assert!(
            matches!(&err, Error::NonFiniteState { step: 1, name, index: 3, .. } if name == "adam_v.wte"),
            "{err}"
        );
        assert!(err.to_string().contains("diverged by step 1"), "{err}");
    }

    #[test]
    fn grad_norms_are_tracked_on_request_and_previews_leave_the_run_alone() {
        let config = TrainConfig {
            steps: 3,
            ..TrainConfig::default()
        };
        let new =
            || Run::<f64>::new(Dataset::embedded(), Sizes::default(), config, u128::MAX).unwrap();
        let (mut plain, mut tracked) = (new(), new());
        tracked.track_grad_norms(true);
        assert_eq!(plain.grad_norms(), &[] as &[f64]);
        assert_eq!(tracked.grad_norms().len(), tracked.state().iter().len());
        let a = plain.step().unwrap();
        let b = tracked.step().unwrap();
        assert_eq!(a.loss.to_bits(), b.loss.to_bits());
        // The output projections start at zero, so at step 1 only they, the
        // embeddings and lm_head have gradients; from step 2 every tensor has.
        assert!(tracked.grad_norms()[..3].iter().all(|n| *n > 0.0));
        plain.step().unwrap();
        tracked.step().unwrap();
        assert!(
            tracked
                .grad_norms()
                .iter()
                .all(|n| n.is_finite() && *n > 0.0)
        );
        let names = tracked.preview(3, 0.5, 7, &[]).unwrap();
        assert_eq!(names.len(), 3);
        assert_eq!(names, tracked.preview(3, 0.5, 7, &[]).unwrap());
        while !plain.is_done() {
            plain.step().unwrap();
            tracked.step().unwrap();
        }
        assert_eq!(plain.checkpoint().unwrap(), tracked.checkpoint().unwrap());
        assert_eq!(plain.sample(2).unwrap(), tracked.sample(2).unwrap());
    }
}
