//! Runs a plan against a [`Registry`]: journal the intent, act, journal the
//! outcome; retry, pace, reconcile. Every step is an event, recorded (and
//! synced) before the run goes on, then handed to the caller's sink. The
//! engine never prints and never touches cargo: packaging arrives as plain
//! [`UploadJob`]s.

mod check;
#[cfg(test)]
mod double_tests;
mod pacing;
mod reconcile;
mod settle;
mod stop;
mod token;
mod upload;
mod workers;
mod yank;

pub use check::{PresentVersion, RegistryCheck, check_registry};
pub use reconcile::settle_unknown_outcomes;
pub use stop::StopFlag;
pub use token::{Lifecycle, PreparedTokens, TokenSource, TokenUnavailable, TokensFrom};
pub use upload::{Prepared, upload_all, upload_all_with};
pub use yank::{YankOpts, yank_all};

use std::time::Duration;

use crate::journal::{Journal, JournalError, Projection, Record, RunState};
use crate::model::PacingProfile;

/// Most uploads in flight at once: a thread each, and more than this only
/// collects rate limits.
pub const MAX_JOBS: usize = 64;

/// Knobs of a run (`ops` builds them from the command line's `RunTuning`).
#[derive(Debug, Clone)]
pub struct EngineOpts {
    /// Uploads in flight at once (1 to [`MAX_JOBS`]; clamped). Index
    /// confirmations do not take a slot: one poller watches them all.
    pub jobs: usize,
    /// Upload attempts per crate per run (rate-limited answers not counted).
    pub max_attempts: u32,
    /// First retry delay; doubles up to `retry_cap`, with jitter.
    pub retry_base: Duration,
    pub retry_cap: Duration,
    /// How long to wait for an upload to show in the index.
    pub confirm_timeout: Duration,
    /// First interval between index polls; grows with backoff.
    pub confirm_poll: Duration,
    pub pacing: Option<PacingProfile>,
    /// Start no upload after this instant (`--stop-after`); in-flight ones settle.
    pub stop_at: Option<std::time::Instant>,
    /// Raised by a signal: start nothing new, let uploads in flight finish
    /// within `grace`, end the run as interrupted.
    pub stop: StopFlag,
    /// How long uploads in flight may take once `stop` is raised; then they
    /// are cut off (their outcome stays unknown, settled by the next run).
    pub grace: Duration,
    /// How long after its intent an upload request of an earlier process
    /// may still land (the client's upload timeout): an intent that young
    /// is not settled as absent before then.
    pub request_window: Duration,
}

/// Writes events to the journal, then shows them to the sink (a publish
/// run's by default; a yank run's as `Recorder<YankState>`).
pub struct Recorder<'a, P: Projection = RunState> {
    journal: &'a mut Journal<P>,
    sink: &'a mut dyn FnMut(&Record<P::Event>),
}

impl<'a, P: Projection> Recorder<'a, P> {
    pub fn new(journal: &'a mut Journal<P>, sink: &'a mut dyn FnMut(&Record<P::Event>)) -> Self {
        Recorder { journal, sink }
    }

    pub fn record(&mut self, event: P::Event) -> Result<(), JournalError> {
        let record = self.journal.record(event)?;
        (self.sink)(&record);
        Ok(())
    }

    pub fn journal(&self) -> &Journal<P> {
        self.journal
    }

    /// The projection; a recorder exists only once the run has started.
    pub fn state(&self) -> &P {
        self.journal.state().expect("the run has started")
    }
}

/// Exponential backoff with jitter: `base * 2^(attempt-1)`, capped, then a
/// random point in its upper half (so parallel runs spread out).
pub fn backoff(base: Duration, cap: Duration, attempt: u32) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let full = exp.min(cap);
    let half = full / 2;
    half + full.mul_f64(fastrand::f64() * 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(1);
        for attempt in 1..10 {
            let d = backoff(base, cap, attempt);
            let full = (base * 2u32.pow(attempt - 1)).min(cap);
            assert!(d >= full / 2 && d <= full, "{attempt}: {d:?}");
        }
    }
}
