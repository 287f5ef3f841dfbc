//! The files a command writes: where they may go, how they are written, and who
//! may write them. One concept per file:
//! - [`atomic`]: writing a file whole or not at all, onto what kind of file it is;
//! - [`distinct`]: no output replaces an input or another output;
//! - [`lock`]: one writer per checkpoint.

pub(crate) mod atomic;
pub(crate) mod distinct;
pub(crate) mod lock;
mod target;

pub(crate) use atomic::{check_writable, write_atomic};
pub(crate) use distinct::check_distinct;
pub(crate) use lock::Lock;
