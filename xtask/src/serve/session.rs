//! The training session: at most one run, driven by a background thread that takes
//! one step at a time and publishes its losses, samples and weights to the event
//! stream. Start, pause, continue and stop change the run's status; the thread
//! reads it between steps.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use train::{AdamConfig, Checkpoint, Dataset, Preset, RngKind, Sizes, TrainConfig, Trainer};

use super::events::Hub;
use super::reply::ApiError;

/// How often the losses of the steps taken are sent.
const LOSS_EVERY: Duration = Duration::from_millis(100);
/// How often the weights and gradient norms are sent.
const WEIGHTS_EVERY: Duration = Duration::from_millis(400);
/// A heatmap is pooled down to at most this many rows and columns.
const HEATMAP_MAX: usize = 96;

/// The settings of a run, as the page's controls give them; the defaults are the
/// command line's.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Settings {
    pub(crate) steps: usize,
    /// Documents per step (`--batch-size`).
    pub(crate) batch_size: usize,
    pub(crate) seed: u64,
    pub(crate) n_embd: usize,
    pub(crate) n_head: usize,
    pub(crate) n_layer: usize,
    pub(crate) block_size: usize,
    pub(crate) lr: f64,
    pub(crate) temperature: f64,
    /// The reference's arithmetic and generator, bit for bit (`--exact`).
    pub(crate) exact: bool,
    /// Samples are drawn every this many steps (0: never during training).
    pub(crate) sample_every: usize,
    /// How many each time.
    pub(crate) samples: usize,
    /// `names` (embedded) or `upload` (the last uploaded text).
    pub(crate) data: String,
    /// `v1` or `v2` (`--preset`): the settings the page does not show (Adam's
    /// betas and schedule, the initial stds, the activation) come from it.
    pub(crate) preset: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::of_preset(Preset::V1)
    }
}

impl Settings {
    /// The command line's defaults with `--preset`.
    pub(crate) fn of_preset(preset: Preset) -> Self {
        let train = preset.train_config();
        let sizes = preset.sizes();
        Settings {
            steps: train.steps,
            batch_size: train.batch_size,
            seed: train.seed,
            n_embd: sizes.n_embd,
            n_head: sizes.n_head,
            n_layer: sizes.n_layer,
            block_size: sizes.block_size,
            lr: train.adam.learning_rate,
            temperature: train.temperature,
            exact: false,
            sample_every: 100,
            samples: 5,
            data: "names".into(),
            preset: preset.name().into(),
        }
    }

    fn preset(&self) -> Result<Preset, ApiError> {
        match self.preset.as_str() {
            "v1" => Ok(Preset::V1),
            "v2" => Ok(Preset::V2),
            other => Err(ApiError::bad(format!(
                "preset {other:?}: use \"v1\" or \"v2\""
            ))),
        }
    }

    fn sizes(&self, preset: Preset) -> Sizes {
        Sizes {
            n_embd: self.n_embd,
            n_head: self.n_head,
            n_layer: self.n_layer,
            block_size: self.block_size,
            activation: preset.sizes().activation,
        }
    }

    fn train_config(&self, preset: Preset) -> TrainConfig {
        let base = preset.train_config();
        TrainConfig {
            steps: self.steps,
            batch_size: self.batch_size,
            adam: AdamConfig {
                learning_rate: self.lr,
                ..base.adam
            },
            seed: self.seed,
            temperature: self.temperature,
            samples: self.samples,
            rng: if self.exact {
                RngKind::Python
            } else {
                RngKind::ChaCha
            },
            exact: self.exact,
            ..base
        }
    }

    /// The settings a checkpoint's run was made with.
    fn of(checkpoint: &Checkpoint, data: &str) -> Self {
        let m = checkpoint.model;
        Settings {
            steps: checkpoint.train.steps,
            batch_size: checkpoint.train.batch_size,
            seed: checkpoint.train.seed,
            n_embd: m.n_embd,
            n_head: m.n_head,
            n_layer: m.n_layer,
            block_size: m.block_size,
            lr: checkpoint.train.adam.learning_rate,
            temperature: checkpoint.train.temperature,
            exact: checkpoint.train.exact,
            data: data.into(),
            preset: checkpoint.train.preset.name().into(),
            ..Settings::default()
        }
    }
}

/// Where a run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Status {
    Running,
    Paused,
    Stopped,
    Done,
    Failed,
}

/// The run: its trainer and what the page shows of it.
struct Run {
    trainer: Trainer,
    settings: Settings,
    status: Status,
    /// Why it failed, or what last happened to it.
    message: String,
    /// The last samples drawn during training: (step, names).
    samples: Option<(usize, Vec<String>)>,
    /// Steps per second over the last interval the thread measured.
    steps_per_s: f64,
    /// Bumped whenever the run stops being driven, so that an old thread quits.
    generation: u64,
}

/// The session's state.
#[derive(Default)]
struct State {
    run: Option<Run>,
    /// The last uploaded text file, parsed.
    upload: Option<Dataset>,
    /// The thread driving the run, if one was started.
    thread: Option<JoinHandle<()>>,
    shutting_down: bool,
}

/// One playground's session, shared by the request threads.
pub(crate) struct Session {
    state: Mutex<State>,
    hub: Arc<Hub>,
    /// Requests waiting for the lock: the training thread, which takes it once
    /// per step, lets them go first (a mutex is not fair, and a thread that
    /// unlocks and locks again at once would starve them).
    waiting: AtomicUsize,
}

/// A tensor as a heatmap: its name and shape, and its values pooled to at most
/// [`HEATMAP_MAX`] rows and columns.
#[derive(Serialize)]
pub(crate) struct Heatmap {
    name: String,
    rows: usize,
    cols: usize,
    /// The shape of `values`, after pooling.
    cells: [usize; 2],
    values: Vec<f64>,
    /// The L2 norm of its gradient at the last step.
    grad_norm: Option<f64>,
}

impl Session {
    pub(crate) fn new(hub: Arc<Hub>) -> Self {
        Session {
            state: Mutex::new(State::default()),
            hub,
            waiting: AtomicUsize::new(0),
        }
    }

    /// The state, for a request: ahead of the training thread.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        // A panic in a handler must not take the session down with it.
        let guard = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        guard
    }

    /// The state, for the training thread: after any request waiting for it.
    fn lock_for_step(&self) -> MutexGuard<'_, State> {
        while self.waiting.load(Ordering::SeqCst) > 0 {
            std::thread::yield_now();
        }
        // A panic in a handler must not take the session down with it.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts a new run, replacing a stopped, finished or failed one.
    pub(crate) fn start(
        self: &Arc<Self>,
        settings: Settings,
    ) -> Result<serde_json::Value, ApiError> {
        let mut state = self.lock();
        if let Some(run) = &state.run
            && matches!(run.status, Status::Running | Status::Paused)
        {
            return Err(ApiError::conflict(
                "a run is in progress: one training run at a time; stop it first",
            ));
        }
        let dataset = match settings.data.as_str() {
            "names" => Dataset::embedded(),
            "upload" => state.upload.clone().ok_or_else(|| {
                ApiError::bad("no text file uploaded: upload one first, or train on the names")
            })?,
            other => {
                return Err(ApiError::bad(format!(
                    "data {other:?}: use \"names\" or \"upload\""
                )));
            }
        };
        if settings.samples > 50 {
            return Err(ApiError::bad("samples: at most 50 at a time"));
        }
        let preset = settings.preset()?;
        let memory = crate::limits::available_memory();
        let config = settings.train_config(preset);
        let mut trainer = Trainer::new(dataset, settings.sizes(preset), config, memory)?;
        trainer.track_grad_norms(true);
        let generation = state.run.as_ref().map_or(0, |r| r.generation + 1);
        state.run = Some(Run {
            trainer,
            settings,
            status: Status::Running,
            message: "training".into(),
            samples: None,
            steps_per_s: 0.0,
            generation,
        });
        self.spawn(&mut state);
        Ok(self.summary(&state))
    }

    /// Pauses the running run.
    pub(crate) fn pause(&self) -> Result<serde_json::Value, ApiError> {
        self.change(Status::Running, Status::Paused, "paused")
    }

    /// Continues a paused run.
    pub(crate) fn resume(self: &Arc<Self>) -> Result<serde_json::Value, ApiError> {
        let value = self.change(Status::Paused, Status::Running, "training")?;
        let mut state = self.lock();
        self.spawn(&mut state);
        Ok(value)
    }

    /// Stops the run for good; its model stays to inspect, sample and download.
    pub(crate) fn stop(&self) -> Result<serde_json::Value, ApiError> {
        let mut state = self.lock();
        let run = state
            .run
            .as_mut()
            .ok_or_else(|| ApiError::conflict("no run to stop"))?;
        if !matches!(run.status, Status::Running | Status::Paused) {
            return Err(ApiError::conflict(format!(
                "the run is already {:?}",
                run.status
            )));
        }
        run.status = Status::Stopped;
        run.message = format!("stopped at step {}", run.trainer.steps_done());
        run.generation += 1;
        let value = self.summary(&state);
        self.hub.publish("status", &value);
        Ok(value)
    }

    fn change(
        &self,
        from: Status,
        to: Status,
        message: &str,
    ) -> Result<serde_json::Value, ApiError> {
        let mut state = self.lock();
        let run = state
            .run
            .as_mut()
            .ok_or_else(|| ApiError::conflict("no run: start one first"))?;
        if run.status != from {
            return Err(ApiError::conflict(format!(
                "the run is {:?}, not {from:?}",
                run.status
            )));
        }
        run.status = to;
        run.message = message.into();
        run.generation += 1;
        let value = self.summary(&state);
        self.hub.publish("status", &value);
        Ok(value)
    }

    /// Starts a thread driving the run at its current generation; an older thread
    /// sees the generation move on and quits after its step.
    fn spawn(self: &Arc<Self>, state: &mut State) {
        if state.shutting_down {
            return;
        }
        let Some(run) = &state.run else { return };
        let generation = run.generation;
        let old = state.thread.take();
        let session = Arc::clone(self);
        state.thread = Some(std::thread::spawn(move || {
            if let Some(old) = old {
                let _ = old.join();
            }
            session.drive(generation);
        }));
    }

    /// The training loop of one thread: steps while the run is running at
    /// `generation`, sending losses, samples and weights as it goes.
    fn drive(&self, generation: u64) {
        let mut pending: Vec<(usize, f64)> = Vec::new();
        let mut last_losses = Instant::now();
        let mut last_weights = Instant::now();
        let mut steps_since = 0usize;
        loop {
            let mut state = self.lock_for_step();
            let Some(run) = state.run.as_mut() else {
                return;
            };
            let live = run.generation == generation && run.status == Status::Running;
            if live && !run.trainer.is_done() {
                match run.trainer.step() {
                    Ok(report) => {
                        pending.push((report.step, report.loss));
                        steps_since += 1;
                        let every = run.settings.sample_every;
                        if every > 0 && (report.step % every == 0 || report.step == report.steps) {
                            let seed = run.settings.seed.wrapping_add(report.step as u64);
                            let n = run.settings.samples;
                            let t = run.settings.temperature;
                            if let Ok(names) = run.trainer.preview(n, t, seed, &[]) {
                                self.hub.publish(
                                    "samples",
                                    &serde_json::json!({"step": report.step, "names": names}),
                                );
                                run.samples = Some((report.step, names));
                            }
                        }
                    }
                    Err(err) => {
                        run.status = Status::Failed;
                        run.message = err.to_string();
                    }
                }
                if run.trainer.is_done() && run.status == Status::Running {
                    run.status = Status::Done;
                    run.message = format!("done: {} steps", run.trainer.steps_done());
                }
            }
            let finished = !(run.generation == generation && run.status == Status::Running);
            let now = Instant::now();
            if finished || now - last_losses >= LOSS_EVERY {
                let dt = (now - last_losses).as_secs_f64();
                if steps_since > 0 && dt > 0.0 {
                    run.steps_per_s = steps_since as f64 / dt;
                }
                if !pending.is_empty() {
                    self.hub.publish(
                        "losses",
                        &serde_json::json!({
                            "from": pending[0].0,
                            "losses": pending.iter().map(|p| p.1).collect::<Vec<_>>(),
                            "steps_per_s": run.steps_per_s,
                        }),
                    );
                }
                pending.clear();
                steps_since = 0;
                last_losses = now;
            }
            if finished || now - last_weights >= WEIGHTS_EVERY {
                self.hub.publish("weights", &weights(&run.trainer));
                last_weights = now;
            }
            if finished {
                let summary = self.summary(&state);
                self.hub.publish("status", &summary);
                return;
            }
        }
    }

    /// Stores an uploaded text file for the next run.
    pub(crate) fn upload_data(
        &self,
        name: &str,
        bytes: &[u8],
    ) -> Result<serde_json::Value, ApiError> {
        let dataset = Dataset::from_bytes(name, bytes)?;
        let vocab = train::Tokenizer::new(&dataset.docs().collect::<Vec<_>>());
        let value = serde_json::json!({
            "name": dataset.name,
            "docs": dataset.docs().len(),
            "vocab": vocab.chars().iter().collect::<String>(),
        });
        self.lock().upload = Some(dataset);
        Ok(value)
    }

    /// Replaces the run by the one `checkpoint` froze, paused (or done), on the
    /// documents it was trained on: the names or the uploaded file.
    pub(crate) fn load(&self, checkpoint: &Checkpoint) -> Result<serde_json::Value, ApiError> {
        let mut state = self.lock();
        if let Some(run) = &state.run
            && matches!(run.status, Status::Running | Status::Paused)
        {
            return Err(ApiError::conflict(
                "a run is in progress: stop it before loading a checkpoint",
            ));
        }
        checkpoint.check()?;
        let names = Dataset::embedded();
        let (dataset, data) = if names.fingerprint().same_docs(&checkpoint.data) {
            (names, "names")
        } else if let Some(upload) = state
            .upload
            .clone()
            .filter(|d| d.fingerprint().same_docs(&checkpoint.data))
        {
            (upload, "upload")
        } else {
            return Err(ApiError::bad(format!(
                "this checkpoint was trained on {}: upload that text file first, then the checkpoint",
                checkpoint.data
            )));
        };
        let memory = crate::limits::available_memory();
        let mut trainer = Trainer::resume(dataset, checkpoint, memory, false)?;
        trainer.track_grad_norms(true);
        let done = trainer.is_done();
        let generation = state.run.as_ref().map_or(0, |r| r.generation + 1);
        state.run = Some(Run {
            settings: Settings::of(checkpoint, data),
            status: if done { Status::Done } else { Status::Paused },
            message: format!(
                "loaded a checkpoint at step {}, in {}",
                trainer.steps_done(),
                trainer.dtype()
            ),
            trainer,
            samples: None,
            steps_per_s: 0.0,
            generation,
        });
        let value = self.summary(&state);
        self.hub.publish("status", &value);
        self.hub.publish(
            "weights",
            &weights(&state.run.as_ref().expect("just set").trainer),
        );
        Ok(value)
    }

    /// The run's checkpoint as it stands.
    pub(crate) fn checkpoint(&self) -> Result<Checkpoint, ApiError> {
        let state = self.lock();
        let run = state.run.as_ref().ok_or_else(|| {
            ApiError::conflict("no model yet: train or upload a checkpoint first")
        })?;
        run.trainer
            .checkpoint()
            .map_err(|e| ApiError::conflict(e.to_string()))
    }

    /// Samples `n` names continuing `prefix` with a fresh generator.
    pub(crate) fn sample(&self, request: &SampleRequest) -> Result<Vec<String>, ApiError> {
        if request.samples == 0 || request.samples > 50 {
            return Err(ApiError::bad("samples: ask for 1 to 50"));
        }
        let mut state = self.lock();
        let run = state.run.as_mut().ok_or_else(|| {
            ApiError::conflict("no model yet: train or upload a checkpoint first")
        })?;
        let trainer = &mut run.trainer;
        let ids = trainer.tokenizer().encode(&request.prefix).map_err(|err| {
            let chars: String = trainer.tokenizer().chars().iter().collect();
            ApiError::bad(format!("prefix: {err} (the vocabulary is {chars:?})"))
        })?;
        let block_size = trainer.model_config().block_size;
        if ids.len() >= block_size {
            return Err(ApiError::bad(format!(
                "prefix: {} characters leave no room in a block_size of {block_size}",
                ids.len()
            )));
        }
        Ok(trainer.preview(request.samples, request.temperature, request.seed, &ids)?)
    }

    /// Everything the page shows of the session, for a page that (re)connects.
    pub(crate) fn snapshot(&self) -> serde_json::Value {
        let state = self.lock();
        let mut value = self.summary(&state);
        if let Some(run) = &state.run {
            value["losses"] = serde_json::json!(run.trainer.losses());
            value["weights"] = serde_json::to_value(weights(&run.trainer)).expect("serialises");
            if let Some((step, names)) = &run.samples {
                value["samples"] = serde_json::json!({"step": step, "names": names});
            }
        }
        value
    }

    /// The run's status, settings and progress, without the bulk.
    fn summary(&self, state: &State) -> serde_json::Value {
        let upload = state
            .upload
            .as_ref()
            .map(|d| serde_json::json!({"name": d.name, "docs": d.docs().len()}));
        match &state.run {
            None => serde_json::json!({
                "status": "idle",
                "message": "no run yet",
                "defaults": Settings::default(),
                "presets": presets(),
                "upload": upload,
            }),
            Some(run) => {
                let t = &run.trainer;
                serde_json::json!({
                    "status": run.status,
                    "message": run.message,
                    "settings": run.settings,
                    "defaults": Settings::default(),
                    "presets": presets(),
                    "step": t.steps_done(),
                    "steps": t.config().steps,
                    "steps_per_s": run.steps_per_s,
                    "data": t.data(),
                    "vocab": t.tokenizer().chars().iter().collect::<String>(),
                    "config": t.model_config(),
                    "upload": upload,
                })
            }
        }
    }

    /// Stops the run and waits for its thread: the server is going down.
    pub(crate) fn shutdown(&self) {
        let thread = {
            let mut state = self.lock();
            state.shutting_down = true;
            if let Some(run) = state.run.as_mut() {
                if run.status == Status::Running {
                    run.status = Status::Paused;
                    run.message = "paused: the server shut down".into();
                }
                run.generation += 1;
            }
            state.thread.take()
        };
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

/// Each preset's settings, for the page's preset control.
fn presets() -> serde_json::Value {
    serde_json::json!({
        "v1": Settings::of_preset(Preset::V1),
        "v2": Settings::of_preset(Preset::V2),
    })
}

/// `POST /api/sample`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SampleRequest {
    #[serde(default)]
    pub(crate) prefix: String,
    pub(crate) temperature: f64,
    pub(crate) samples: usize,
    #[serde(default)]
    pub(crate) seed: u64,
}

/// Every tensor of the trainer's state dict as a heatmap, with its gradient norm.
fn weights(trainer: &Trainer) -> serde_json::Value {
    let norms = trainer.grad_norms();
    let maps: Vec<Heatmap> = trainer
        .state()
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let values = trainer.values(t.span);
            let (cells, values) = pooled(&values, t.rows, t.cols, HEATMAP_MAX);
            Heatmap {
                name: t.name.to_string(),
                rows: t.rows,
                cols: t.cols,
                cells,
                values,
                grad_norm: norms.get(i).copied(),
            }
        })
        .collect();
    serde_json::json!({"step": trainer.steps_done(), "tensors": maps})
}

/// `values` (rows, cols) averaged over blocks so that neither side exceeds `max`.
fn pooled(values: &[f64], rows: usize, cols: usize, max: usize) -> ([usize; 2], Vec<f64>) {
    let (br, bc) = (rows.div_ceil(max).max(1), cols.div_ceil(max).max(1));
    let (out_r, out_c) = (rows.div_ceil(br), cols.div_ceil(bc));
    let mut out = vec![0.0; out_r * out_c];
    let mut counts = vec![0usize; out_r * out_c];
    for r in 0..rows {
        for c in 0..cols {
            let cell = (r / br) * out_c + c / bc;
            out[cell] += values[r * cols + c];
            counts[cell] += 1;
        }
    }
    for (v, n) in out.iter_mut().zip(counts) {
        *v /= n as f64;
    }
    ([out_r, out_c], out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_tensors_are_not_pooled_and_large_ones_are_averaged() {
        let v: Vec<f64> = (0..6).map(f64::from).collect();
        assert_eq!(pooled(&v, 2, 3, 96), ([2, 3], v.clone()));
        // At most 2 columns: blocks of 1x2, and a last one of 1x1.
        assert_eq!(pooled(&v, 2, 3, 2), ([2, 2], vec![0.5, 2.0, 3.5, 5.0]));
        // At most 1 of each: the mean of all.
        assert_eq!(pooled(&v, 2, 3, 1), ([1, 1], vec![2.5]));
    }
}
