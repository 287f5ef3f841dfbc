//! Data, tokenizer, Adam, the training loop and sampling (coming).
