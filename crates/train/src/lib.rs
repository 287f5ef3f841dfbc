//! Training microgpt: the dataset and its tokenizer, Adam, the training loop,
//! sampling, and checkpoints to stop and resume a run exactly.
//!
//! ```
//! use train::{Dataset, Sizes, TrainConfig, Trainer};
//!
//! let data = Dataset::from_text("tiny", "emma\nolivia\nava\n").unwrap();
//! let config = TrainConfig { steps: 20, samples: 3, ..TrainConfig::default() };
//! let mut trainer = Trainer::new(data, Sizes::default(), config, u128::MAX).unwrap();
//! assert_eq!(trainer.model_config().vocab_size, 8); // a e i l m o v, then BOS
//! while !trainer.is_done() {
//!     let report = trainer.step().unwrap();
//!     assert!(report.loss.is_finite());
//! }
//! for name in trainer.sample(3).unwrap() {
//!     println!("{name}");
//! }
//! ```

mod adam;
mod checkpoint;
mod config;
mod data;
mod error;
mod fingerprint;
mod fnv;
mod inference;
mod memory;
mod precision;
mod preset;
mod rng;
mod rng_state;
mod sample;
mod shards;
mod tokenizer;
mod tokens;
mod trainer;

// The surface a user of the library needs: a run (`Trainer`, its settings
// `TrainConfig`, `Sizes`, `AdamConfig`, `LrSchedule`, the `Preset` they start
// from, what a step reports, the optimiser it exposes), its data (`Dataset`, how
// it is read and what reading it noticed, `Tokenizer`), a frozen run
// (`Checkpoint`, with the types of its fields), generating (`Inference`,
// `Sampler`, the generator), the documented limits, and the errors. Which flag
// sets what, and the advice about it: the program's (`xtask`).
pub use adam::{Adam, AdamConfig, LrSchedule};
pub use checkpoint::{CHECKPOINT_VERSION, Checkpoint};
pub use config::{Sizes, TrainConfig};
pub use data::{
    DEFAULT_MAX_BYTES, Dataset, MAX_CONTROL_NOTES, MEMORY_PER_DATA_BYTE, ReadOptions, TextNotes,
    is_py_space,
};
pub use error::{Error, Result};
pub use fingerprint::DataFingerprint;
pub use inference::Inference;
pub use memory::available_memory;
pub use precision::Trainer;
pub use preset::Preset;
pub use rng::{RngKind, RunRng};
pub use rng_state::RngState;
pub use sample::{MIN_TEMPERATURE, Sampler, check_temperature};
pub use tokenizer::Tokenizer;
pub use trainer::StepReport;
// The threads a run's steps may be given (`Trainer::use_threads`).
pub use autograd::Threads;
