//! Standard output that may be closed under us: `cargo xtask train | head -3`.
//!
//! Rust ignores SIGPIPE, so a write to a closed pipe fails with `BrokenPipe`
//! instead of killing the process. [`PipeOut`] turns that first failure into a
//! quiet state: nothing more is written, and the command notices
//! ([`PipeOut::closed`]), stops its work the way a signal stops it, keeps what it
//! must save, and exits with 141, the status a shell reports for a tool that
//! SIGPIPE ended (`seq 1 1000000 | head -3` leaves `PIPESTATUS` 141), so scripts
//! with `set -o pipefail` see the same as for any Unix tool.

use std::io::{self, ErrorKind, Write};

/// The status of a command whose output was closed: 128 + SIGPIPE (13).
pub(crate) const CLOSED_EXIT_CODE: u8 = 141;

/// A writer that goes quiet once its reader has gone.
pub(crate) struct PipeOut<'a> {
    inner: &'a mut dyn Write,
    closed: bool,
}

impl<'a> PipeOut<'a> {
    pub(crate) fn new(inner: &'a mut dyn Write) -> Self {
        PipeOut {
            inner,
            closed: false,
        }
    }

    /// Whether a write found the reader gone.
    pub(crate) fn closed(&self) -> bool {
        self.closed
    }

    fn quiet<T>(&mut self, result: io::Result<T>, closed: T) -> io::Result<T> {
        match result {
            Err(e) if e.kind() == ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(closed)
            }
            other => other,
        }
    }
}

impl Write for PipeOut<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.closed {
            return Ok(buf.len());
        }
        let result = self.inner.write(buf);
        self.quiet(result, buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        let result = self.inner.flush();
        self.quiet(result, ())
    }
}

/// Whether `err` is a write to a closed pipe, anywhere in its chain.
pub(crate) fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that reads `n` writes, then goes.
    struct Head(usize);

    impl Write for Head {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.0 == 0 {
                return Err(ErrorKind::BrokenPipe.into());
            }
            self.0 -= 1;
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_is_quiet_and_noticed() {
        let mut head = Head(2);
        let mut out = PipeOut::new(&mut head);
        for _ in 0..5 {
            writeln!(out, "line").unwrap();
        }
        assert!(out.closed());
        let other: anyhow::Error = io::Error::from(ErrorKind::PermissionDenied).into();
        assert!(!is_broken_pipe(&other));
        let gone: anyhow::Error = io::Error::from(ErrorKind::BrokenPipe).into();
        assert!(is_broken_pipe(&gone.context("writing")));
    }
}
