//! A request to stop, handed to the engine by whoever listens for signals
//! (the engine never installs handlers itself). The first request stops
//! anything new from starting and lets uploads in flight finish within the
//! run's grace period; what happens on a second signal is the listener's
//! business (it exits at once: everything is journaled before it happens).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often a sleeping wait looks at the flag: a stop is seen within this
/// (the upload loop and its poller, waiting on channels, look as often).
pub(super) const LOOK_EVERY: Duration = Duration::from_millis(50);

/// Shared between the listener and the run; cheap to clone. A default
/// flag is never raised (runs nobody can interrupt: tests, rehearsals' children).
#[derive(Debug, Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    pub fn new() -> Self {
        Self::default()
    }

    /// Ask the run to stop (idempotent).
    pub fn raise(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_raised(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Sleep for `wait`, or less if the run is asked to stop; whether it
    /// was. Every wait of a run goes through here, so none outlives a stop
    /// by more than [`LOOK_EVERY`]. A wait longer than an instant holds
    /// lasts until a stop.
    pub fn sleep(&self, wait: Duration) -> bool {
        let until = Instant::now().checked_add(wait);
        while !self.is_raised() {
            let left = match until {
                Some(until) => until.saturating_duration_since(Instant::now()),
                None => LOOK_EVERY,
            };
            if left.is_zero() {
                return false;
            }
            std::thread::sleep(left.min(LOOK_EVERY));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_ends_soon_after_a_stop_and_runs_out_without_one() {
        let flag = StopFlag::new();
        let started = Instant::now();
        assert!(!flag.sleep(Duration::from_millis(60)));
        assert!(started.elapsed() >= Duration::from_millis(60));

        let raiser = flag.clone();
        let stopper = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            raiser.raise();
        });
        let started = Instant::now();
        assert!(flag.sleep(Duration::MAX));
        assert!(started.elapsed() < Duration::from_secs(5));
        stopper.join().unwrap();
    }
}
