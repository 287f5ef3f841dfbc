//! The GPT forward pass on the autograd graph (coming).
