//! Model configuration, seeded initialisation and the named state dict (in progress).

pub mod pyrandom;
