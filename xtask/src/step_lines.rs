//! The step lines, when they go to a file or a pipe: held and written a tenth of
//! a second's worth at a time.
//!
//! Standard output is line-buffered, so a line a step costs a system call a step:
//! at batch 1, some 2% of a step under `perf`, for output nobody reads at that
//! rate. Held for at most [`EVERY`], the lines still reach a `tail -f` or a
//! `| head` promptly, and the caller writes what is left before it prints
//! anything else, so nothing is lost or reordered.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use crate::decimal::push_fixed4;

/// How long a line may be held.
pub(crate) const EVERY: Duration = Duration::from_millis(100);

/// The lines not yet written, and when the last were.
pub(crate) struct StepLines {
    held: String,
    written: Instant,
}

impl StepLines {
    pub(crate) fn new() -> Self {
        StepLines {
            held: String::with_capacity(4096),
            written: Instant::now(),
        }
    }

    /// Holds the line of step `step` of `steps`, with its loss, in the
    /// reference's format, ending in `end`.
    pub(crate) fn push(&mut self, step: usize, steps: usize, loss: f64, end: &str) {
        let _ = std::fmt::Write::write_fmt(
            &mut self.held,
            format_args!("step {step:4} / {steps:4} | loss "),
        );
        push_fixed4(&mut self.held, loss);
        self.held.push_str(end);
    }

    /// Writes the lines held if the first of them has waited [`EVERY`].
    pub(crate) fn write_due(&mut self, out: &mut impl Write) -> io::Result<()> {
        if self.written.elapsed() >= EVERY {
            self.write_all(out)?;
        }
        Ok(())
    }

    /// Writes every line held, in one write.
    pub(crate) fn write_all(&mut self, out: &mut impl Write) -> io::Result<()> {
        self.written = Instant::now();
        if self.held.is_empty() {
            return Ok(());
        }
        let result = out
            .write_all(self.held.as_bytes())
            .and_then(|()| out.flush());
        self.held.clear();
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_held_until_due_then_written_whole_and_in_order() {
        let mut lines = StepLines::new();
        let mut out = Vec::new();
        lines.push(1, 500, 3.3, "\n");
        lines.push(2, 500, 0.03125, "\n");
        lines.write_due(&mut out).unwrap();
        assert!(out.is_empty(), "not due yet");
        lines.written -= EVERY;
        lines.write_due(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            "step    1 /  500 | loss 3.3000\nstep    2 /  500 | loss 0.0312\n"
        );
        lines.push(3, 500, 2.5, "\r");
        lines.write_all(&mut out).unwrap();
        assert!(
            String::from_utf8(out)
                .unwrap()
                .ends_with("\nstep    3 /  500 | loss 2.5000\r")
        );
        assert!(lines.held.is_empty());
    }
}
