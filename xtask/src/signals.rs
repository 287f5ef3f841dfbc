//! Ctrl-C, SIGTERM and SIGHUP (the terminal closed, ssh dropped) during training: a request to stop after the current step,
//! save, and exit with 128 plus the signal's number, the code shells report.
//!
//! The handlers only set atomics (all a signal handler may safely do); the training
//! loop reads one of them between steps, never inside one. A second signal while
//! the first is pending exits at once, unsaved, for a user who will not wait: the
//! checkpoint on disk is then the previous one, whole, since saves are atomic.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::flag;

/// The signals that stop a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Signal {
    /// Ctrl-C.
    Int,
    /// `kill`, or a service manager stopping the job.
    Term,
    /// The terminal closed, or the ssh session dropped.
    Hup,
}

impl Signal {
    fn number(self) -> i32 {
        match self {
            Signal::Int => SIGINT,
            Signal::Term => SIGTERM,
            Signal::Hup => SIGHUP,
        }
    }

    /// 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP.
    pub(crate) fn exit_code(self) -> u8 {
        u8::try_from(128 + self.number()).expect("signal numbers are small")
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Signal::Int => "SIGINT",
            Signal::Term => "SIGTERM",
            Signal::Hup => "SIGHUP",
        }
    }
}

/// Whether, and by which signal, the run was asked to stop.
#[derive(Clone)]
pub(crate) struct Stop {
    requested: Arc<AtomicBool>,
    signal: Arc<AtomicUsize>,
}

impl Stop {
    /// A request that never comes: for runs inside another command.
    pub(crate) fn never() -> Self {
        Stop {
            requested: Arc::new(AtomicBool::new(false)),
            signal: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Catches SIGINT, SIGTERM and SIGHUP from now on, for the rest of the process.
    pub(crate) fn catch() -> anyhow::Result<Self> {
        let stop = Self::never();
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            // Handlers run in the order registered: the exit checks the flag
            // before this signal sets it, so only a second signal exits.
            flag::register_conditional_shutdown(sig, 128 + sig, Arc::clone(&stop.requested))?;
            let number = usize::try_from(sig).expect("signal numbers are positive");
            flag::register_usize(sig, Arc::clone(&stop.signal), number)?;
            flag::register(sig, Arc::clone(&stop.requested))?;
        }
        Ok(stop)
    }

    /// Whether a signal asked the run to stop. One atomic load: the loop calls it
    /// once per step.
    pub(crate) fn requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }

    /// The signal that asked the run to stop, if one did.
    pub(crate) fn signal(&self) -> Option<Signal> {
        if !self.requested() {
            return None;
        }
        // The number is stored before the flag is set (handler order), so it is
        // there once the flag is.
        match i32::try_from(self.signal.load(Ordering::SeqCst)) {
            Ok(SIGTERM) => Some(Signal::Term),
            Ok(SIGHUP) => Some(Signal::Hup),
            _ => Some(Signal::Int),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exit_codes_are_the_shells() {
        assert_eq!(Signal::Int.exit_code(), 130);
        assert_eq!(Signal::Term.exit_code(), 143);
        assert_eq!(Signal::Hup.exit_code(), 129);
    }

    #[test]
    fn a_stop_that_never_comes_is_never_requested() {
        let stop = Stop::never();
        assert!(!stop.requested());
        assert_eq!(stop.signal(), None);
    }
}
