//! Runs a plan against a [`Registry`]: journal the intent, act, journal the
//! outcome; retry, pace, reconcile. Every step is an event, recorded (and
//! synced) before the run goes on, then handed to the caller's sink. The
//! engine never prints and never touches cargo: packaging arrives as plain
//! [`UploadJob`]s.
//!
//! The upload loop and the yank loop speak to a registry alike: one
//! attempt policy (`attempts.rs`), one token lifecycle (`token.rs`), one
//! set of waits that end at once on stop and one deadline (`session.rs`),
//! one confirmation poller (`confirm.rs`).

mod attempts;
mod check;
mod confirm;
#[cfg(test)]
mod double_tests;
mod pacing;
mod reconcile;
mod session;
mod settle;
mod stop;
mod token;
mod upload;
mod workers;
mod yank;

pub use attempts::AttemptPolicy;
pub use check::{PresentVersion, RegistryCheck, check_registry};
pub use reconcile::settle_unknown_outcomes;
pub use session::SessionOpts;
pub use settle::INDEX_WINDOW_FLOOR;
pub use stop::StopFlag;
pub use token::{PreparedTokens, TokenSource, TokenUnavailable, TokensFrom};
pub use upload::{upload_all, upload_all_with};
pub use yank::{YankOpts, yank_all};

use std::time::Duration;

use crate::journal::{Journal, JournalError, Projection, Record, RunState};
use crate::model::PacingProfile;
use crate::registry::UploadJob;
use crate::secret::Secret;

/// Most uploads in flight at once: a thread each, and more than this only
/// collects rate limits.
pub const MAX_JOBS: usize = 64;

/// A packaged crate with its token, ready to go: the upload loop's input.
pub struct Prepared {
    pub job: UploadJob,
    /// cargo's token for it; `None` when a [`TokenSource`] mints them.
    pub token: Option<Secret>,
    /// New to the registry (paced as a new crate).
    pub new_crate: bool,
}

/// Knobs of a publish run (`ops` builds them from the command line's `RunTuning`).
#[derive(Debug, Clone)]
pub struct EngineOpts {
    /// What every run has: attempts, confirmation, stop and `--stop-after`
    /// (no upload starts after it; in-flight ones settle). A raised stop
    /// lets uploads in flight finish within `grace` and ends the run as
    /// interrupted.
    pub session: SessionOpts,
    /// Uploads in flight at once (1 to [`MAX_JOBS`]; clamped). Index
    /// confirmations do not take a slot: one poller watches them all.
    pub jobs: usize,
    pub pacing: Option<PacingProfile>,
    /// How long uploads in flight may take once `stop` is raised; then they
    /// are cut off (their outcome stays unknown, settled by the next run).
    pub grace: Duration,
    /// How long after its intent an upload request of an earlier process
    /// may still land (the client's upload timeout): an intent that young
    /// is not settled as absent before then.
    pub request_window: Duration,
    /// The shortest wait before an index that lags is trusted to say
    /// "absent" ([`settle::INDEX_WINDOW_FLOOR`] unless a test shortens it).
    pub index_window_floor: Duration,
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
