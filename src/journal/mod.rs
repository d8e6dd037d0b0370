//! Crash-safe run state under the state directory (`.shipper/` by default):
//!
//! - `current/events.jsonl`: the truth, append-only (see [`log`]);
//! - `current/state.json`: its projection, rewritten atomically after each event;
//! - `current/receipt.json`: what the run did;
//! - `lock`: one run at a time;
//! - `rehearsal/` (a state directory of its own) and `rehearsal.json`: the
//!   latest rehearsal, which the publish gate reads (see [`rehearsal`]);
//! - `archive/<time>-<plan>-<what>/`: finished runs, so the next release
//!   starts clean. Archiving renames `current/` in one step: a crash leaves
//!   either the run in `current/` or the run in `archive/`, never half of each.
//!
//! Nothing here depends on the machine (no absolute paths, no host names):
//! a state directory restored on another CI runner resumes there.

mod event;
mod lock;
mod log;
mod receipt;
mod rehearsal;
mod state;

pub use event::{
    CrateRef, Event, FORMAT, FailureClass, Record, RunOutcome, SelectionRecord, SkipReason,
};
pub use lock::{LockError, RunLock};
pub use log::{EventLog, JournalError, TornLine, now_ms};
pub use receipt::{CrateOutcome, GitInfo, Provenance, Receipt, ReceiptCrate};
pub use rehearsal::{
    DrillResult, LiveCheck, REHEARSAL_FORMAT, RehearsalFileError, RehearsalRecord,
    RehearsalRegistry, RehearsedCrate, RehearsedOutcome, StepResult, Verdict,
};
pub use state::{CrateState, CrateStatus, RunState, Timings, UploadTimes};

use std::path::{Path, PathBuf};

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

    /// Move the run's directory to `archive/<label>/` in one rename;
    /// returns the new directory.
    pub fn archive(&self, label: &str) -> std::io::Result<PathBuf> {
        let archive = self.root.join("archive");
        std::fs::create_dir_all(&archive)?;
        let dest = archive.join(label);
        std::fs::rename(self.current(), &dest)?;
        std::fs::File::open(&archive)?.sync_all()?;
        std::fs::File::open(&self.root)?.sync_all()?;
        Ok(dest)
    }
}

/// The event log plus its projection, kept in step.
pub struct Journal {
    log: EventLog,
    state: Option<RunState>,
    /// Where `state.json` goes; `None` in memory (dry runs).
    state_path: Option<PathBuf>,
}

impl Journal {
    /// Open the journal in `dir`, repairing a torn last line.
    pub fn open(dir: &StateDir) -> Result<(Journal, Option<TornLine>), JournalError> {
        let (log, torn) = EventLog::open(&dir.events())?;
        let state = RunState::project(log.records());
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

    pub fn in_memory() -> Journal {
        Journal {
            log: EventLog::in_memory(),
            state: None,
            state_path: None,
        }
    }

    pub fn state(&self) -> Option<&RunState> {
        self.state.as_ref()
    }

    pub fn records(&self) -> &[Record] {
        self.log.records()
    }

    /// Append an event (synced), then update and write the projection.
    pub fn record(&mut self, event: Event) -> Result<Record, JournalError> {
        let record = self.log.append(event)?.clone();
        self.state = Some(RunState::apply(self.state.take(), &record));
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
    use crate::plan::PlanId;

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
            }],
            tool_version: "test".into(),
            selection: SelectionRecord::default(),
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
        let (mut journal, torn) = Journal::open(&dir).unwrap();
        assert!(torn.is_none());
        journal.record(started(1)).unwrap();
        for e in uploaded() {
            journal.record(e).unwrap();
        }
        let on_disk: RunState =
            serde_json::from_slice(&std::fs::read(dir.state()).unwrap()).unwrap();
        let (reopened, _) = Journal::open(&dir).unwrap();
        assert_eq!(Some(&on_disk), reopened.state());
        assert_eq!(on_disk.crates["a"].status, CrateStatus::Published);
        assert_eq!(on_disk.upload_times.new_crates.len(), 1);
    }

    #[test]
    fn torn_last_line_is_cut_and_kept_aside() {
        let dir = tempfile::tempdir().unwrap();
        let dir = StateDir::new(dir.path());
        let (mut journal, _) = Journal::open(&dir).unwrap();
        journal.record(started(1)).unwrap();
        drop(journal);
        let mut bytes = std::fs::read(dir.events()).unwrap();
        let good = bytes.len();
        bytes.extend_from_slice(b"{\"seq\":2,\"at_ms\":1,\"kind\":\"upl");
        std::fs::write(dir.events(), &bytes).unwrap();

        let (mut journal, torn) = Journal::open(&dir).unwrap();
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
            let err = Journal::open(&dir).err().expect("refused").to_string();
            assert!(err.contains(says), "{err}");
            assert_eq!(std::fs::read(dir.events()).unwrap(), bytes, "untouched");
        }
    }

    #[test]
    fn unknown_event_kinds_from_newer_minor_versions_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let dir = StateDir::new(dir.path());
        let (mut journal, _) = Journal::open(&dir).unwrap();
        journal.record(started(1)).unwrap();
        drop(journal);
        let mut bytes = std::fs::read(dir.events()).unwrap();
        bytes.extend_from_slice(b"{\"seq\":2,\"at_ms\":1,\"kind\":\"from_the_future\",\"x\":1}\n");
        std::fs::write(dir.events(), &bytes).unwrap();
        let (journal, torn) = Journal::open(&dir).unwrap();
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
