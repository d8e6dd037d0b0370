//! A request to stop, handed to the engine by whoever listens for signals
//! (the engine never installs handlers itself). The first request stops
//! anything new from starting and lets uploads in flight finish within the
//! run's grace period; what happens on a second signal is the listener's
//! business (it exits at once: everything is journaled before it happens).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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
}
