//! `state.json`: the projection of the events, rebuilt from them whenever
//! the journal is opened and rewritten atomically after every event. It
//! is a convenience for people and tools; the events are the truth.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::event::{Event, FORMAT, Record, RunOutcome, SkipReason};
use crate::model::FailureClass;
use crate::model::Holding;
use crate::model::PlanId;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    pub format: u32,
    pub plan_id: PlanId,
    pub registry: String,
    /// Runs so far (1 + resumes).
    pub runs: u32,
    pub last_seq: u64,
    /// Outcome of the latest run, once it finished.
    #[serde(default)]
    pub outcome: Option<RunOutcome>,
    /// Publish order.
    pub order: Vec<String>,
    pub crates: BTreeMap<String, CrateState>,
    /// Start times of uploads (ms since the epoch), new crates and new
    /// versions apart: the pacing model replays them on resume.
    #[serde(default)]
    pub upload_times: UploadTimes,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadTimes {
    pub new_crates: Vec<u64>,
    pub new_versions: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrateState {
    pub version: String,
    pub depends_on: Vec<String>,
    /// Those of `depends_on` needed only as dev-dependencies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dev_only: Vec<String>,
    pub status: CrateStatus,
    #[serde(default)]
    pub sha256: Option<String>,
    /// The digest of its packaged files (see `Event::Packaged`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files_sha256: Option<String>,
    /// Upload attempts over all runs.
    pub attempts: u32,
    /// Upload attempts in the latest run (retry limits count these).
    pub run_attempts: u32,
    #[serde(default)]
    pub timings: Timings,
    #[serde(default)]
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timings {
    pub package_ms: Option<u64>,
    pub upload_ms: Option<u64>,
    /// From the end of the upload to the version showing in the index.
    pub visible_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrateStatus {
    Pending,
    Packaged,
    /// Upload intent recorded, outcome not (yet) known.
    Uploading,
    /// Uploaded, not yet seen in the index.
    Uploaded,
    /// Uploaded by this journal and seen in the index.
    Published,
    /// The registry had it already.
    AlreadyPresent,
    Failed,
    /// A dependency failed.
    Blocked,
    /// The upload may or may not have landed and the registry could not say.
    Ambiguous,
}

impl CrateStatus {
    pub fn is_done(self) -> bool {
        matches!(self, CrateStatus::Published | CrateStatus::AlreadyPresent)
    }
}

impl RunState {
    /// Fold the records into a state. `None` for an empty journal.
    pub fn project(records: &[Record]) -> Option<RunState> {
        let mut state: Option<RunState> = None;
        for record in records {
            state = Some(apply(state, record));
        }
        state
    }

    /// One step of [`Self::project`].
    pub fn apply(state: Option<RunState>, record: &Record) -> RunState {
        apply(state, record)
    }

    pub fn crates_in_order(&self) -> impl Iterator<Item = (&String, &CrateState)> {
        self.order
            .iter()
            .filter_map(|name| self.crates.get_key_value(name))
    }

    pub fn all_done(&self) -> bool {
        self.crates.values().all(|c| c.status.is_done())
    }

    /// Whether this journal may have put anything in the registry.
    pub fn any_uploaded(&self) -> bool {
        self.crates.values().any(|c| {
            matches!(
                c.status,
                CrateStatus::Published
                    | CrateStatus::Uploaded
                    | CrateStatus::Uploading
                    | CrateStatus::Ambiguous
            )
        })
    }
}

fn apply(state: Option<RunState>, record: &Record) -> RunState {
    if let Event::RunStarted { .. } = &record.event {
        return start_run(state, record);
    }
    let mut state = state.expect("the first record is run_started (checked on read)");
    state.last_seq = record.seq;
    if let Event::RunFinished { outcome } = &record.event {
        state.outcome = Some(*outcome);
        return state;
    }
    let Some(name) = record.event.crate_name() else {
        return state;
    };
    // Uploaded, not (yet) seen in the index: not "did not go out".
    let unconfirmed: Vec<String> = match &record.event {
        Event::Skipped { .. } => state
            .crates
            .iter()
            .filter(|(_, c)| c.status == CrateStatus::Uploaded)
            .map(|(n, _)| n.clone())
            .collect(),
        _ => Vec::new(),
    };
    let Some(c) = state.crates.get_mut(name) else {
        return state;
    };
    if let Event::UploadStarted { new_crate, .. } = &record.event {
        let times = match new_crate {
            true => &mut state.upload_times.new_crates,
            false => &mut state.upload_times.new_versions,
        };
        times.push(record.at_ms);
    }
    apply_to_crate(c, &record.event, &unconfirmed);
    state
}

/// A run starts (the first, or a resumed one): its crates, their attempts
/// in this run reset.
fn start_run(state: Option<RunState>, record: &Record) -> RunState {
    let Event::RunStarted {
        plan_id,
        registry,
        run,
        crates,
        ..
    } = &record.event
    else {
        unreachable!("called for run_started only");
    };
    let mut next = state.unwrap_or_else(|| RunState {
        format: FORMAT,
        plan_id: plan_id.clone(),
        registry: registry.clone(),
        runs: 0,
        last_seq: 0,
        outcome: None,
        order: Vec::new(),
        crates: BTreeMap::new(),
        upload_times: UploadTimes::default(),
    });
    next.runs = *run;
    next.outcome = None;
    next.order = crates.iter().map(|c| c.name.clone()).collect();
    for c in crates {
        let entry = next.crates.entry(c.name.clone()).or_insert(CrateState {
            version: c.version.clone(),
            depends_on: c.depends_on.clone(),
            dev_only: c.dev_only.clone(),
            status: CrateStatus::Pending,
            sha256: None,
            files_sha256: None,
            attempts: 0,
            run_attempts: 0,
            timings: Timings::default(),
            last_error: None,
        });
        entry.run_attempts = 0;
    }
    next.last_seq = record.seq;
    next
}

/// One crate's event (`unconfirmed`: the crates uploaded but not yet seen
/// in the index, for a skip's reason).
fn apply_to_crate(c: &mut CrateState, event: &Event, unconfirmed: &[String]) {
    match event {
        Event::Skipped { reason, .. } => match reason {
            SkipReason::AlreadyInRegistry { sha256 } => {
                c.status = CrateStatus::AlreadyPresent;
                c.sha256 = Some(sha256.clone());
                c.last_error = None;
            }
            SkipReason::AlreadyDone | SkipReason::Other => {}
            SkipReason::DependencyFailed { dependency } => {
                c.status = CrateStatus::Blocked;
                c.last_error = Some(if unconfirmed.contains(dependency) {
                    format!("dependency `{dependency}` is uploaded but not confirmed in the index")
                } else {
                    format!("dependency `{dependency}` did not go out")
                });
            }
        },
        Event::ContentDiffers { version, files, .. } => {
            c.status = CrateStatus::Failed;
            c.last_error = Some(format!(
                "the registry holds {version} with other content ({}); bump the version",
                files.join(", ")
            ));
        }
        Event::Packaged {
            sha256,
            ms,
            files_sha256,
            ..
        } => {
            if !c.status.is_done() {
                c.status = CrateStatus::Packaged;
            }
            c.sha256 = Some(sha256.clone());
            c.files_sha256 = files_sha256.clone();
            c.timings.package_ms = Some(*ms);
        }
        Event::UploadStarted { sha256, .. } => {
            c.status = CrateStatus::Uploading;
            c.sha256 = Some(sha256.clone());
            c.attempts += 1;
            c.run_attempts += 1;
        }
        Event::UploadSucceeded { ms, .. } => {
            c.status = CrateStatus::Uploaded;
            c.timings.upload_ms = Some(*ms);
            c.last_error = None;
        }
        Event::UploadFailed { class, message, .. } => {
            // A transport failure or a 5xx may have landed: unknown until
            // the registry says otherwise (a `reconciled` event).
            c.status = match class {
                FailureClass::Ambiguous | FailureClass::Retryable | FailureClass::Unknown => {
                    CrateStatus::Ambiguous
                }
                FailureClass::RateLimited | FailureClass::Permanent => CrateStatus::Failed,
            };
            c.last_error = Some(message.clone());
        }
        Event::Unsettled {
            error,
            refused_as_existing,
            ..
        } => {
            c.status = CrateStatus::Ambiguous;
            c.last_error = Some(match refused_as_existing {
                Some(_) => format!("the registry contradicts itself: {error}"),
                None => format!("the registry could not say whether it landed: {error}"),
            });
        }
        Event::Reconciled { found_sha256, .. } => {
            match Holding::of(found_sha256.as_deref(), c.sha256.as_deref()) {
                Holding::Ours => {
                    c.status = CrateStatus::Uploaded;
                    c.last_error = None;
                }
                Holding::Theirs { sha256 } => {
                    c.status = CrateStatus::Failed;
                    c.last_error = Some(format!(
                        "the registry holds this version with another checksum ({sha256})"
                    ));
                }
                Holding::Absent => {
                    c.status = CrateStatus::Failed;
                    c.last_error = Some("the upload did not land".into());
                }
            }
        }
        Event::Visible { ms, .. } => {
            if c.status != CrateStatus::AlreadyPresent {
                c.status = CrateStatus::Published;
            }
            c.timings.visible_ms = Some(*ms);
        }
        Event::IndexFailing { error, .. } => {
            c.last_error = Some(format!("the index could not be read: {error}"));
        }
        Event::VisibilityTimedOut {
            waited_ms,
            index_error,
            ..
        } => {
            c.last_error = Some(match index_error {
                Some(error) => format!(
                    "uploaded; the index could not confirm it in {} s: {error}",
                    waited_ms / 1000
                ),
                None => format!("not visible in the index after {} s", waited_ms / 1000),
            });
        }
        _ => {}
    }
}
