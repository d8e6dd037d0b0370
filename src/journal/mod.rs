//! Crash-safe run state under the state directory (`.shipper/` by default):
//!
//! - `current/events.jsonl`: the truth, append-only (see [`log`]);
//! - `current/state.json`: its projection, rewritten atomically after each event;
//! - `current/receipt.json`: what the run did;
//! - `lock`: one run at a time;
//! - `.gitignore` (`*`): the state stays out of git, and so out of a
//!   package whose directory holds it (see [`ignore`]);
//! - `rehearsal/` (a state directory of its own) and `rehearsal.json`: the
//!   latest rehearsal, which the publish gate reads (see [`rehearsal`]);
//! - `archive/<time>-<plan>-<what>/`: finished runs, so the next release
//!   starts clean. Archiving renames `current/` in one step: a crash leaves
//!   either the run in `current/` or the run in `archive/`, never half of each.
//!
//! Nothing here depends on the machine (no absolute paths, no host names):
//! a state directory restored on another CI runner resumes there.
//!
//! Nothing here follows a symbolic link inside the state directory: a link
//! planted at `current/`, a state file, `lock` or `archive/` could make a
//! write land elsewhere, so it is refused with [`SymlinkRefused`] before
//! anything is read or written (the directory itself may be a link).

mod event;
mod ignore;
mod links;
mod lock;
mod log;
mod peek;
mod receipt;
mod rehearsal;
mod state;
mod token;
mod yank_plan;
mod yank_run;

pub use event::{
    CrateRef, Event, FORMAT, Record, RunOutcome, SelectionRecord, SetAsideWhy, SkipReason,
};
pub use ignore::keep_out_of_git;
pub use links::SymlinkRefused;
pub use lock::{LockError, RunLock};
pub use log::{EventLog, JournalError, LogEvent, TornLine, now_ms};
pub use peek::{Peek, Tail, archived, peek, run_active};
pub use receipt::{
    CrateOutcome, GitInfo, LoadedReceipt, Provenance, Receipt, ReceiptCrate, ReceiptError,
};
pub use rehearsal::{
    DrillResult, LiveCheck, REHEARSAL_FORMAT, RehearsalFileError, RehearsalRecord,
    RehearsalRegistry, RehearsedCrate, RehearsedOutcome, StepCrate, StepResult, Verdict,
};
pub use state::{CrateState, CrateStatus, RunState, Timings, UploadTimes};
pub use token::{RenewReason, TokenEvent};
pub use yank_plan::{
    ReceiptBinding, YANK_PLAN_FORMAT, YANK_PLAN_KIND, YankPlan, YankPlanError, YankTarget,
};
pub use yank_run::{
    YankCrateState, YankEvent, YankOutcome, YankRef, YankSkipReason, YankState, YankStatus,
    yanked_by_others,
};

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::atomic::write_atomic;

/// The files of one state directory.
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    pub fn new(root: &Path) -> Self {
        StateDir {
            root: root.to_owned(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of the run in progress.
    pub fn current(&self) -> PathBuf {
        self.root.join("current")
    }

    pub fn events(&self) -> PathBuf {
        self.current().join("events.jsonl")
    }

    pub fn state(&self) -> PathBuf {
        self.current().join("state.json")
    }

    pub fn receipt(&self) -> PathBuf {
        self.current().join("receipt.json")
    }

    /// Refuse when a state file or directory is a symbolic link.
    pub fn refuse_links(&self) -> Result<(), SymlinkRefused> {
        let current = self.current();
        for path in [
            current.clone(),
            self.events(),
            self.state(),
            self.receipt(),
            self.root.join("archive"),
            self.root.join("lock"),
        ] {
            links::refuse_link(&path)?;
        }
        Ok(())
    }

    /// Move the run's directory to `archive/<label>/` in one rename;
    /// returns the new directory.
    pub fn archive(&self, label: &str) -> Result<PathBuf, ArchiveError> {
        self.refuse_links()?;
        let archive = self.root.join("archive");
        let dest = archive.join(label);
        let io = |io| ArchiveError::Io {
            from: self.current(),
            to: dest.clone(),
            io,
        };
        std::fs::create_dir_all(&archive).map_err(io)?;
        std::fs::rename(self.current(), &dest).map_err(io)?;
        crate::atomic::sync_dir(&archive).map_err(io)?;
        crate::atomic::sync_dir(&self.root).map_err(io)?;
        Ok(dest)
    }
}

/// A finished run could not be moved under `archive/`; it stays whole in
/// `current/`.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error(transparent)]
    Symlink(#[from] SymlinkRefused),
    #[error(
        "could not move `{}` to `{}` ({io}); its files stay where they are: \
         make `{}` a directory (or move it aside), and the next run archives them",
        from.display(),
        to.display(),
        to.parent().unwrap_or(to).display()
    )]
    Io {
        from: PathBuf,
        to: PathBuf,
        io: std::io::Error,
    },
}

/// A state folded from a journal's events (`state.json`).
pub trait Projection: Serialize + Clone + Sized {
    type Event: LogEvent;
    /// One step: the state after `record`.
    fn apply(state: Option<Self>, record: &Record<Self::Event>) -> Self;
}

impl Projection for RunState {
    type Event = Event;
    fn apply(state: Option<Self>, record: &Record) -> Self {
        RunState::apply(state, record)
    }
}

/// The event log plus its projection, kept in step: a publish run's by
/// default, a yank run's as `Journal<YankState>`.
pub struct Journal<P: Projection = RunState> {
    log: EventLog<P::Event>,
    state: Option<P>,
    /// Where `state.json` goes; `None` in memory (dry runs).
    state_path: Option<PathBuf>,
}

impl<P: Projection> Journal<P> {
    /// Open the journal in `dir`, repairing a torn last line.
    pub fn open(dir: &StateDir) -> Result<(Journal<P>, Option<TornLine>), JournalError> {
        dir.refuse_links()?;
        let (log, torn) = EventLog::open(&dir.events())?;
        let state = log
            .records()
            .iter()
            .fold(None, |state, record| Some(P::apply(state, record)));
        let journal = Journal {
            log,
            state,
            state_path: Some(dir.state()),
        };
        // A crash between an event and its projection leaves state.json one
        // step behind (or half-written): bring it back in line now.
        journal.write_state()?;
        Ok((journal, torn))
    }

    pub fn in_memory() -> Journal<P> {
        Journal {
            log: EventLog::in_memory(),
            state: None,
            state_path: None,
        }
    }

    pub fn state(&self) -> Option<&P> {
        self.state.as_ref()
    }

    pub fn records(&self) -> &[Record<P::Event>] {
        self.log.records()
    }

    /// Append an event (synced), then update and write the projection.
    pub fn record(&mut self, event: P::Event) -> Result<Record<P::Event>, JournalError> {
        let record = self.log.append(event)?.clone();
        self.state = Some(P::apply(self.state.take(), &record));
        self.write_state()?;
        Ok(record)
    }

    /// Rewrite `state.json` from the events (it may be missing or damaged).
    pub fn write_state(&self) -> Result<(), JournalError> {
        let (Some(path), Some(state)) = (&self.state_path, &self.state) else {
            return Ok(());
        };
        let bytes = serde_json::to_vec_pretty(state).expect("state serializes");
        crate::failpoint::hit("state-mid-write", || {
            let _ = std::fs::write(path, &bytes[..bytes.len() / 2]);
        });
        write_atomic(path, &bytes).map_err(|source| JournalError::Io {
            path: path.clone(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FailureClass, PlanId};

    fn started(run: u32) -> Event {
        Event::RunStarted {
            format: FORMAT,
            plan_id: PlanId::compute("r", &[("a", "1.0.0".into())], &[]),
            registry: "r".into(),
            run,
            crates: vec![CrateRef {
                name: "a".into(),
                version: "1.0.0".into(),
                depends_on: vec![],
                dev_only: vec![],
            }],
            tool_version: "test".into(),
            selection: SelectionRecord::default(),
            done: 0,
        }
    }

    fn uploaded() -> Vec<Event> {
        vec![
            Event::UploadStarted {
                name: "a".into(),
                version: "1.0.0".into(),
                attempt: 1,
                sha256: "ab".into(),
                new_crate: true,
            },
            Event::UploadSucceeded {
                name: "a".into(),
                version: "1.0.0".into(),
                attempt: 1,
                ms: 5,
            },
            Event::Visible {
                name: "a".into(),
                version: "1.0.0".into(),
                ms: 7,
            },
        ]
    }

    #[test]
    fn state_file_equals_the_projection_of_the_events() {
        let dir = tempfile::tempdir().unwrap();
        let dir = StateDir::new(dir.path());
        let (mut journal, torn) = Journal::<RunState>::open(&dir).unwrap();
        assert!(torn.is_none());
        journal.record(started(1)).unwrap();
        for e in uploaded() {
            journal.record(e).unwrap();
        }
        let on_disk: RunState =
            serde_json::from_slice(&std::fs::read(dir.state()).unwrap()).unwrap();
        let (reopened, _) = Journal::<RunState>::open(&dir).unwrap();
        assert_eq!(Some(&on_disk), reopened.state());
        assert_eq!(on_disk.crates["a"].status, CrateStatus::Published);
        assert_eq!(on_disk.upload_times.new_crates.len(), 1);
    }

    #[test]
    fn torn_last_line_is_cut_and_kept_aside() {
        let dir = tempfile::tempdir().unwrap();
        let dir = StateDir::new(dir.path());
        let (mut journal, _) = Journal::<RunState>::open(&dir).unwrap();
        journal.record(started(1)).unwrap();
        drop(journal);
        let mut bytes = std::fs::read(dir.events()).unwrap();
        let good = bytes.len();
        bytes.extend_from_slice(b"{\"seq\":2,\"at_ms\":1,\"kind\":\"upl");
        std::fs::write(dir.events(), &bytes).unwrap();

        let (mut journal, torn) = Journal::<RunState>::open(&dir).unwrap();
        let torn = torn.expect("repaired");
        assert_eq!(torn.dropped_bytes as usize, bytes.len() - good);
        assert_eq!(std::fs::read(&torn.saved_to).unwrap(), &bytes[good..]);
        assert_eq!(std::fs::read(dir.events()).unwrap().len(), good);
        let next = journal.record(started(2)).unwrap();
        assert_eq!(next.seq, 2);
    }

    #[test]
    fn corrupt_or_foreign_or_newer_journals_are_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let dir = StateDir::new(dir.path());
        let cases: [(&[u8], &str); 4] = [
            (b"{\"seq\":1,\"at_ms\":1,\"kind\":\"run_finished\",\"outcome\":\"success\"}\n", "first record"),
            (b"not json\n", "line 1"),
            (b"{\"seq\":1,\"at_ms\":1,\"kind\":\"run_started\",\"format\":9,\"plan_id\":\"x\",\"registry\":\"r\",\"run\":1,\"crates\":[],\"tool_version\":\"t\"}\n", "newer cargo-shipper"),
            (b"{\"seq\":1,\"at_ms\":1,\"kind\":\"run_started\",\"format\":1,\"plan_id\":\"x\",\"registry\":\"r\",\"run\":1,\"crates\":[],\"tool_version\":\"t\"}\n{\"seq\":3,\"at_ms\":1,\"kind\":\"run_finished\",\"outcome\":\"success\"}\n", "sequence number 3"),
        ];
        std::fs::create_dir_all(dir.current()).unwrap();
        for (bytes, says) in cases {
            std::fs::write(dir.events(), bytes).unwrap();
            let err = Journal::<RunState>::open(&dir)
                .err()
                .expect("refused")
                .to_string();
            assert!(err.contains(says), "{err}");
            assert_eq!(std::fs::read(dir.events()).unwrap(), bytes, "untouched");
        }
    }

    #[test]
    fn unknown_event_kinds_from_newer_minor_versions_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let dir = StateDir::new(dir.path());
        let (mut journal, _) = Journal::<RunState>::open(&dir).unwrap();
        journal.record(started(1)).unwrap();
        drop(journal);
        let mut bytes = std::fs::read(dir.events()).unwrap();
        bytes.extend_from_slice(b"{\"seq\":2,\"at_ms\":1,\"kind\":\"from_the_future\",\"x\":1}\n");
        std::fs::write(dir.events(), &bytes).unwrap();
        let (journal, torn) = Journal::<RunState>::open(&dir).unwrap();
        assert!(torn.is_none());
        assert_eq!(journal.records()[1].event, Event::Unknown);
    }

    #[test]
    fn failed_then_found_in_registry_becomes_already_present() {
        let mut state = RunState::project(&[Record {
            seq: 1,
            at_ms: 0,
            event: started(1),
        }]);
        let events = [
            Event::UploadFailed {
                name: "a".into(),
                version: "1.0.0".into(),
                attempt: 1,
                class: FailureClass::Permanent,
                message: "boom".into(),
                retry_after_ms: None,
            },
            Event::Skipped {
                name: "a".into(),
                version: "1.0.0".into(),
                reason: SkipReason::AlreadyInRegistry {
                    sha256: "ab".into(),
                },
            },
        ];
        for (i, event) in events.into_iter().enumerate() {
            state = Some(RunState::apply(
                state,
                &Record {
                    seq: i as u64 + 2,
                    at_ms: 0,
                    event,
                },
            ));
        }
        assert_eq!(
            state.unwrap().crates["a"].status,
            CrateStatus::AlreadyPresent
        );
    }
}
