//! What every run of the engine shares, a publish run's upload loop and a
//! yank run alike: how hard requests are tried ([`AttemptPolicy`]), how
//! confirmations are watched, and when the run stops: a signal's
//! [`StopFlag`] (every wait ends at once on it) or `--stop-after`'s instant
//! (no request starts past it).

use std::time::{Duration, Instant};

use super::StopFlag;
use super::attempts::AttemptPolicy;

/// The knobs every run has (`EngineOpts` and `YankOpts` embed them).
#[derive(Debug, Clone)]
pub struct SessionOpts {
    /// Attempts per item per run (rate-limited answers not counted), and
    /// the backoff between them.
    pub attempts: AttemptPolicy,
    /// How long to wait for the index to show a change.
    pub confirm_timeout: Duration,
    /// First interval between index polls; the poller's cadence takes it
    /// from there.
    pub confirm_poll: Duration,
    /// Raised by a signal: start nothing new; waits end at once.
    pub stop: StopFlag,
    /// Start no request after this instant (`--stop-after`); one made is
    /// still settled.
    pub stop_at: Option<Instant>,
}

impl SessionOpts {
    /// `--stop-after`'s instant has come.
    pub(super) fn past_deadline(&self) -> bool {
        self.stop_at.is_some_and(|at| Instant::now() >= at)
    }

    /// Whether a wait of `wait` would end past `--stop-after`.
    pub(super) fn crosses_deadline(&self, wait: Duration) -> bool {
        self.stop_at
            .is_some_and(|at| Instant::now().checked_add(wait).is_none_or(|end| end >= at))
    }

    /// Sleep for `wait`, or less if a signal asks the run to stop; whether
    /// it did.
    pub(super) fn wait(&self, wait: Duration) -> bool {
        self.stop.sleep(wait)
    }

    /// Sleep before a request: `None` to go on, or why not: a signal
    /// (`Stop::Signal`) or a wait that would end past `--stop-after`
    /// (`Stop::OutOfTime`: no request could follow it).
    pub(super) fn wait_to_request(&self, wait: Duration) -> Option<Stop> {
        if self.crosses_deadline(wait) {
            return Some(Stop::OutOfTime);
        }
        self.wait(wait).then_some(Stop::Signal)
    }

    /// Whether a request may start now: `None`, or why not.
    pub(super) fn stopped(&self) -> Option<Stop> {
        if self.stop.is_raised() {
            Some(Stop::Signal)
        } else if self.past_deadline() {
            Some(Stop::OutOfTime)
        } else {
            None
        }
    }
}

/// Why no request may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
    /// A signal: the run ends interrupted.
    Signal,
    /// `--stop-after`: the run ends stopped for a later one.
    OutOfTime,
}
