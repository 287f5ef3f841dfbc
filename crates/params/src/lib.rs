//! Model configuration, seeded initialisation and the named state dict (coming).
