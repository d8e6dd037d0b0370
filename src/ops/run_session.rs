//! What every run that writes a journal sets up alike, publish, resume,
//! rehearse (a retargeted publish) and yank: the state directory (made,
//! kept out of git), the run's lock, its journal (a torn last line
//! repaired, and recorded when the run begins), archiving a run and going
//! on with an empty journal, the connection to the live registry (a read
//! token only when reads need one), trusted publishing's tokens (revoked
//! when the requests are over, a refusal kept), and the error a run that
//! did not succeed ends as. Generic over the journal's projection: a
//! publish run's [`RunState`](crate::journal::RunState), a yank run's
//! [`YankState`](crate::journal::YankState).

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::cargo_backend;
use crate::engine::{Recorder, TokenSource};
use crate::journal::{
    ArchiveError, Journal, JournalError, LogEvent, Projection, Record, RunLock, StateDir,
    TokenEvent, TornLine,
};
use crate::model::{Coded, CodedContext, Exit, HasExit, RegistryTarget};
use crate::ops::trusted::{self, CiOpts, NoProvider, TrustRefused, TrustedTokens};
use crate::registry::{Http, LiveRegistry};
use crate::secret::Secret;
use crate::workspace::LoadedWorkspace;

/// The state directory's root: `--state-dir`, else `.shipper/` at the
/// workspace root.
pub(super) fn state_root(ws: &LoadedWorkspace, given: Option<&Path>) -> anyhow::Result<PathBuf> {
    Ok(match given {
        Some(dir) => dir.to_owned(),
        None => ws.root()?.join(".shipper"),
    })
}

/// Create the state directory's root, kept out of git (`ours`: it is the
/// default `.shipper/`, not one the user named).
pub(super) fn make_state_root(root: &Path, ours: bool) -> anyhow::Result<()> {
    crate::journal::keep_out_of_git(root, ours).map_err(|e| {
        anyhow::Error::new(e).context(format!(
            "could not create the state directory `{}`",
            root.display()
        ))
    })
}

/// An `archive/` folder name: time (ms since the epoch, sorts), the plan's
/// id (a prefix), what happened.
pub(super) fn archive_label(id: &str, what: &str) -> String {
    format!("{}-{id}-{what}", crate::journal::now_ms())
}

/// `--stop-after`'s instant, counted from now (a deadline past what an
/// instant can hold is no deadline).
pub(super) fn deadline(ci: &CiOpts) -> Option<Instant> {
    ci.stop_after.and_then(|d| Instant::now().checked_add(d))
}

/// One run's journal under its state directory, the lock held while it lives.
pub(super) struct RunSession<P: Projection> {
    dir: StateDir,
    journal: Journal<P>,
    /// A torn last line cut off when the journal was opened: recorded when
    /// the run begins, unless the run it belongs to was archived first.
    torn: Option<TornLine>,
    _lock: Option<RunLock>,
}

impl<P: Projection> RunSession<P> {
    /// Make the state root `root` (kept out of git), take the lock of the
    /// run's directory `dir` (under `root`, or `root` itself) and open its
    /// journal.
    pub fn open(root: &Path, ours: bool, dir: StateDir) -> anyhow::Result<Self> {
        make_state_root(root, ours)?;
        let lock = RunLock::acquire(dir.root())?;
        let (journal, torn) = Journal::open(&dir)?;
        Ok(RunSession {
            dir,
            journal,
            torn,
            _lock: Some(lock),
        })
    }

    /// A run that writes nothing (a dry run): its journal kept in memory.
    pub fn in_memory(dir: StateDir) -> Self {
        RunSession {
            dir,
            journal: Journal::in_memory(),
            torn: None,
            _lock: None,
        }
    }

    pub fn dir(&self) -> &StateDir {
        &self.dir
    }

    pub fn journal(&self) -> &Journal<P> {
        &self.journal
    }

    pub fn state(&self) -> Option<&P> {
        self.journal.state()
    }

    /// Move the run in `current/` to `archive/<label>/` and go on with an
    /// empty journal (a torn line's repair leaves with the run it belongs
    /// to); `archive_failed` says what a failed move means for this run.
    pub fn set_aside(
        &mut self,
        label: &str,
        archive_failed: impl FnOnce(ArchiveError) -> anyhow::Error,
    ) -> anyhow::Result<PathBuf> {
        // The journal's files are moved: nothing may hold them open meanwhile.
        self.journal = Journal::in_memory();
        let archived = self.dir.archive(label).map_err(archive_failed)?;
        self.journal = Journal::open(&self.dir)?.0;
        self.torn = None;
        Ok(archived)
    }

    /// The run begins: `opening` recorded (its start, and what it set
    /// aside), then the repair of a torn line, if opening made one; the
    /// recorder for the rest of the run.
    pub fn begin<'s>(
        &'s mut self,
        sink: &'s mut dyn FnMut(&Record<P::Event>),
        opening: impl IntoIterator<Item = P::Event>,
    ) -> Result<Recorder<'s, P>, JournalError> {
        let torn = self.torn.take();
        let mut rec = Recorder::new(&mut self.journal, sink);
        for event in opening {
            rec.record(event)?;
        }
        if let Some(torn) = torn {
            rec.record(P::Event::journal_repaired(&torn))?;
        }
        Ok(rec)
    }

    /// The finished run, moved under `archive/<label>/` (the lock still held).
    pub fn archive(&self, label: &str) -> Result<PathBuf, ArchiveError> {
        self.dir.archive(label)
    }
}

/// The live registry a run talks to.
pub(super) struct Connection {
    /// The registry's client (cargo's `[http]` settings), for trusted
    /// publishing's exchanges too.
    pub http: Http,
    pub registry: LiveRegistry,
}

impl Connection {
    /// Connect to `target`'s sparse index and API; `token` is `--token`,
    /// else cargo's credentials are asked (only when reads need one).
    pub fn open(
        ws: &LoadedWorkspace,
        target: &RegistryTarget,
        token: Option<&Secret>,
    ) -> anyhow::Result<Connection> {
        let sparse_index = target.sparse_index.as_deref().ok_or_else(|| {
            anyhow::anyhow!(
                "registry `{}` does not use the sparse protocol; cargo-shipper works with sparse \
                 registries only",
                target.display_name()
            )
        })?;
        Self::to_index(ws, target, sparse_index, token)
    }

    /// Connect to the sparse index at `url` (`target`'s, or its stand-in's
    /// upstream), asking for a read token only when its `config.json` does.
    pub fn to_index(
        ws: &LoadedWorkspace,
        target: &RegistryTarget,
        url: &str,
        token: Option<&Secret>,
    ) -> anyhow::Result<Connection> {
        let http = ws.http()?;
        let config = LiveRegistry::index_config(&http, url, None)?;
        let read_token = match config.auth_required() {
            true => Some(cargo_backend::read_token(ws, target, token)?),
            false => None,
        };
        let registry = LiveRegistry::connect(&http, url, config, read_token)?;
        Ok(Connection { http, registry })
    }

    /// Trusted publishing's tokens for a run against this registry, when
    /// `ci` turns it on (`auto`: a provider is detected and no token is
    /// `configured`).
    pub fn tokens(
        &self,
        ci: &CiOpts,
        configured: impl FnOnce() -> bool,
    ) -> Result<RunTokens, NoProvider> {
        let provider = trusted::provider(ci, configured)?;
        Ok(RunTokens(provider.map(|p| {
            TrustedTokens::new(p, &self.http, self.registry.api_url(), ci.token_lifetime)
        })))
    }
}

/// A run's minted tokens: trusted publishing's when it is on, else none
/// (the requests use cargo's).
pub(super) struct RunTokens(Option<TrustedTokens>);

impl RunTokens {
    /// Trusted publishing off: cargo's tokens only.
    pub fn off() -> RunTokens {
        RunTokens(None)
    }

    pub fn trusted(&self) -> bool {
        self.0.is_some()
    }

    /// The source the engine asks per request: the minted tokens, or `cargo`'s.
    pub fn source<'a, R: ?Sized>(&'a self, cargo: &'a dyn TokenSource<R>) -> &'a dyn TokenSource<R>
    where
        TrustedTokens: TokenSource<R>,
    {
        match &self.0 {
            Some(trusted) => trusted,
            None => cargo,
        }
    }

    /// The engine's `requests`, then every minted token revoked, whatever
    /// happened: no minted token outlives them. Each revocation is
    /// journaled, unless the requests ended on a journal error (nothing
    /// more can be recorded then).
    pub fn revoked_after<P, T>(
        &self,
        rec: &mut Recorder<'_, P>,
        requests: impl FnOnce(&mut Recorder<'_, P>) -> Result<T, JournalError>,
    ) -> Result<T, JournalError>
    where
        P: Projection,
        P::Event: From<TokenEvent>,
    {
        let outcome = requests(rec);
        let Some(trusted) = &self.0 else {
            return outcome;
        };
        for (expires_at_ms, result) in trusted.revoke_all() {
            if outcome.is_ok() {
                rec.record(
                    TokenEvent::Revoked {
                        expires_at_ms,
                        error: result.err(),
                    }
                    .into(),
                )?;
            }
        }
        outcome
    }

    /// Why the run stopped for its credentials, if it did (see
    /// [`TrustedTokens::take_refusal`]).
    pub fn take_refusal(&self, is_new: impl Fn(&str) -> bool) -> Option<TrustRefused> {
        self.0.as_ref().and_then(|t| t.take_refusal(is_new))
    }
}

/// How a run ended, when it did not succeed: its typed outcome (a
/// publish run's [`RunOutcome`](crate::journal::RunOutcome), a yank run's
/// [`YankOutcome`](crate::journal::YankOutcome): the exit code's reason),
/// the message that says what to do, and where the run stood (for the step
/// summary).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Failed<O, S> {
    pub outcome: O,
    pub message: String,
    pub state: Box<S>,
}

impl<O, S> HasExit for Failed<O, S>
where
    O: Copy + Into<Exit>,
    Self: std::error::Error + Send + Sync + 'static,
{
    fn exit(&self) -> Exit {
        self.outcome.into()
    }
}

/// `--stop-after` came before the run finished: the next `publish` (or
/// `resume`), or the same `yank`, continues it.
#[derive(Debug, thiserror::Error)]
#[error(
    "stopped by `--stop-after` with {done} of {total} {what}; the state directory holds the \
     run: `{next}` continues it (in CI, save the directory as an artifact and restore it in the \
     next job)"
)]
pub struct StoppedForLater {
    /// What `done` counts: "crates out", "versions yanked".
    pub what: &'static str,
    /// The command that continues, as it must be typed.
    pub next: String,
    pub done: usize,
    pub total: usize,
}

impl HasExit for StoppedForLater {
    fn exit(&self) -> Exit {
        Exit::ToBeContinued
    }
}

/// A run that did not succeed (`failed`, its typed outcome), as the error
/// it ends with: trusted publishing's refusal, when there was one, with the
/// run's failure as its context; else a planned stop (`--stop-after`),
/// whose message (how to continue) is the one shown, the failure beneath
/// it; else the failure.
pub(super) fn ended_early<F>(
    failed: F,
    refusal: Option<TrustRefused>,
    stopped: impl FnOnce(&F) -> Option<StoppedForLater>,
) -> anyhow::Error
where
    F: HasExit,
{
    match refusal {
        Some(refusal) => anyhow::Error::new(refusal).coded_context(failed),
        None => match stopped(&failed) {
            Some(stop) => anyhow::Error::new(Coded::new(failed)).coded_context(stop),
            None => Coded::new(failed).into(),
        },
    }
}
