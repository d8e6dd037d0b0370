//! The events of a publish run: one JSON object per line of `events.jsonl`,
//! each with a sequence number. The on-disk form of format 1; readers skip
//! kinds they do not know (a newer minor version may add some).

use serde::{Deserialize, Serialize};

use super::token::{TokenEvent, embed_token_events};
use crate::model::PlanId;
use crate::model::{Exit, FailureClass};

/// Format of `events.jsonl`, `state.json` and the receipt. A reader refuses
/// a newer value with a clear message.
pub const FORMAT: u32 = 1;

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record<E = Event> {
    pub seq: u64,
    /// Milliseconds since the Unix epoch.
    pub at_ms: u64,
    #[serde(flatten)]
    pub event: E,
}

/// A publish run's event. Serde's derive (`remote = "Self"`) writes and
/// reads every kind but the token events, which [`TokenEvent`] does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A run (first or resumed) of a plan begins.
    RunStarted {
        format: u32,
        plan_id: PlanId,
        /// The registry's identity (plan-id key).
        registry: String,
        /// 1 for the first run of this journal, then 2, 3, … on resumes.
        run: u32,
        crates: Vec<CrateRef>,
        tool_version: String,
        /// How the release was selected, so `resume` can rebuild the same plan.
        #[serde(default)]
        selection: SelectionRecord,
        /// Crates of the plan already out (published or found in the
        /// registry) when this run started: 0 for a first run.
        #[serde(default)]
        done: u32,
    },
    /// An unfinished run of the state directory was archived before this
    /// run began (recorded right after `run_started`).
    SetAside {
        /// Its plan id (short form).
        plan_id: String,
        reason: SetAsideWhy,
        /// Its folder under `archive/`.
        archived_as: String,
    },
    /// A torn last line was cut off (its bytes saved beside the journal).
    JournalRepaired {
        dropped_bytes: u64,
        saved_to: String,
    },
    /// A crate the run will not upload, and why.
    Skipped {
        name: String,
        version: String,
        #[serde(flatten)]
        reason: SkipReason,
    },
    /// The registry holds this version with other content than the
    /// release's: a published version cannot change, so the run stops
    /// before its first upload (the version must be bumped).
    ContentDiffers {
        name: String,
        version: String,
        /// The checksum the registry serves for it.
        sha256: String,
        /// Files (paths inside the crate) that differ, `.cargo_vcs_info.json`
        /// and `Cargo.lock` aside.
        files: Vec<String>,
    },
    /// The `.crate` is built (and verified unless `--no-verify`).
    Packaged {
        name: String,
        version: String,
        sha256: String,
        ms: u64,
        /// A digest of its files, `.cargo_vcs_info.json` and `Cargo.lock`
        /// aside (`crate_file::files_digest`): a later run that packages the
        /// same sources from another commit gets the same digest.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        files_sha256: Option<String>,
        /// The `.crate` file's size (absent in older journals).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bytes: Option<u64>,
    },
    /// The run waits for the registry's rate limit before this upload.
    Paced {
        name: String,
        version: String,
        wait_ms: u64,
    },
    /// Intent: the upload is about to be sent. Written and synced first.
    UploadStarted {
        name: String,
        version: String,
        attempt: u32,
        sha256: String,
        /// The crate is new to the registry (paced as a new crate).
        new_crate: bool,
    },
    UploadSucceeded {
        name: String,
        version: String,
        attempt: u32,
        ms: u64,
    },
    UploadFailed {
        name: String,
        version: String,
        attempt: u32,
        class: FailureClass,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
    /// An upload of unknown outcome, settled by asking the registry.
    Reconciled {
        name: String,
        version: String,
        /// The checksum the registry holds for it, if it holds it.
        found_sha256: Option<String>,
        /// Not asked: an operator checked the registry by hand and said so
        /// (`resume --assume-uploaded` / `--assume-not-uploaded`).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        by_operator: bool,
    },
    /// The registry does not show an upload of unknown outcome yet, and it
    /// could still land (or an index that lags could still show it): asked
    /// again for up to `wait_ms` before it counts as absent.
    SettleWaiting {
        name: String,
        version: String,
        wait_ms: u64,
    },
    /// The registry could not say whether an upload landed; the crate is left
    /// alone (never uploaded again blindly) for a person to check.
    Unsettled {
        name: String,
        version: String,
        error: String,
        /// The registry contradicts itself: it refused the upload as
        /// already there (this is its answer), yet its index does not list
        /// the version after the settle window.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        refused_as_existing: Option<String>,
    },
    /// The version is in the sparse index with the uploaded checksum.
    Visible {
        name: String,
        version: String,
        ms: u64,
    },
    /// The index could not be read while confirming this upload (recorded
    /// when reads start failing, not on every poll): the upload went
    /// through, the confirmation waits.
    IndexFailing {
        name: String,
        version: String,
        /// What the index answered: `HTTP 503`, a transport error, …
        error: String,
    },
    VisibilityTimedOut {
        name: String,
        version: String,
        waited_ms: u64,
        /// The index's last failure, when it could not be read at the end
        /// (rather than answering without the version).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        index_error: Option<String>,
    },
    /// The registry's rate limits, applied to this run's uploads.
    PacingPlanned {
        new_crates: u32,
        new_versions: u32,
        /// Time the limits add beyond their bursts.
        eta_ms: u64,
    },
    /// Dry run: this crate would be uploaded now.
    WouldUpload {
        name: String,
        version: String,
    },
    /// The life of a token minted by trusted publishing for the uploads
    /// (written flat, as its own kind: see [`TokenEvent`]).
    #[serde(skip)]
    Token(TokenEvent),
    /// A signal asked the run to stop: nothing new starts; the uploads in
    /// flight get `grace_ms` to finish.
    Stopping {
        in_flight: u32,
        grace_ms: u64,
    },
    RunFinished {
        outcome: RunOutcome,
    },
    /// Written by a newer version of the tool; ignored.
    #[serde(other)]
    Unknown,
}

embed_token_events!(Event);

/// Why an unfinished run was set aside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SetAsideWhy {
    /// `--abandon-unfinished`.
    Abandoned,
    /// It was another plan's and never uploaded anything.
    NothingUploaded,
    /// A rehearsal starts over.
    Superseded,
    /// Written by a newer version of the tool.
    #[serde(other)]
    Other,
}

/// `-p`, `--exclude` and the registry of the run, as given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectionRecord {
    #[serde(default)]
    pub packages: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    /// `--registry NAME` (cargo's name for it), if given.
    #[serde(default)]
    pub registry: Option<String>,
    /// `--index URL`, if given.
    #[serde(default)]
    pub index: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrateRef {
    pub name: String,
    pub version: String,
    pub depends_on: Vec<String>,
    /// Those of `depends_on` it needs only as dev-dependencies (absent in
    /// journals written before they were recorded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dev_only: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum SkipReason {
    /// The registry already has this version (before this journal began, or
    /// uploaded by someone else).
    AlreadyInRegistry { sha256: String },
    /// An earlier run of this journal published it.
    AlreadyDone,
    /// A dependency in the plan failed; this crate cannot go out now.
    DependencyFailed { dependency: String },
    /// A reason a newer cargo-shipper wrote.
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// Every crate is published (or was already).
    Success,
    /// Failed before anything was uploaded.
    NothingUploaded,
    /// Some crates went out, others did not: resume.
    Partial,
    /// An upload's outcome could not be settled: a person must look.
    NeedsOperator,
    /// Stopped by a signal (SIGINT, SIGTERM): resume.
    Interrupted,
    /// An outcome a newer cargo-shipper wrote.
    #[serde(other)]
    Unknown,
}

/// The exit code of a run that ended so (`ops::RunFailed`'s); an outcome
/// a newer cargo-shipper wrote counts as partial.
impl From<RunOutcome> for Exit {
    fn from(outcome: RunOutcome) -> Exit {
        match outcome {
            RunOutcome::Partial | RunOutcome::Unknown => Exit::Partial,
            RunOutcome::NeedsOperator => Exit::NeedsOperator,
            RunOutcome::Interrupted => Exit::Interrupted,
            RunOutcome::NothingUploaded | RunOutcome::Success => Exit::Failure,
        }
    }
}

impl Event {
    /// Every kind's name on disk (what [`Self::kind`] can answer, `unknown`
    /// aside). The format test (`tests/journal_format.rs`) asks for a line
    /// of each in `tests/fixtures/journal-v1/`.
    pub fn kind_names() -> &'static [&'static str] {
        &[
            "run_started",
            "set_aside",
            "journal_repaired",
            "skipped",
            "content_differs",
            "packaged",
            "paced",
            "upload_started",
            "upload_succeeded",
            "upload_failed",
            "reconciled",
            "settle_waiting",
            "unsettled",
            "visible",
            "index_failing",
            "visibility_timed_out",
            "pacing_planned",
            "would_upload",
            "token_minted",
            "token_renewed",
            "token_revoked",
            "stopping",
            "run_finished",
        ]
    }

    /// The event's `kind` on disk. Exhaustive: a new event kind does not
    /// compile until it is named here (and in [`Self::kind_names`]).
    pub fn kind(&self) -> &'static str {
        match self {
            Event::RunStarted { .. } => "run_started",
            Event::SetAside { .. } => "set_aside",
            Event::JournalRepaired { .. } => "journal_repaired",
            Event::Skipped { .. } => "skipped",
            Event::ContentDiffers { .. } => "content_differs",
            Event::Packaged { .. } => "packaged",
            Event::Paced { .. } => "paced",
            Event::UploadStarted { .. } => "upload_started",
            Event::UploadSucceeded { .. } => "upload_succeeded",
            Event::UploadFailed { .. } => "upload_failed",
            Event::Reconciled { .. } => "reconciled",
            Event::SettleWaiting { .. } => "settle_waiting",
            Event::Unsettled { .. } => "unsettled",
            Event::Visible { .. } => "visible",
            Event::IndexFailing { .. } => "index_failing",
            Event::VisibilityTimedOut { .. } => "visibility_timed_out",
            Event::PacingPlanned { .. } => "pacing_planned",
            Event::WouldUpload { .. } => "would_upload",
            Event::Token(token) => token.kind(),
            Event::Stopping { .. } => "stopping",
            Event::RunFinished { .. } => "run_finished",
            Event::Unknown => "unknown",
        }
    }

    /// The crate the event concerns, if any.
    pub fn crate_name(&self) -> Option<&str> {
        match self {
            Event::Skipped { name, .. }
            | Event::ContentDiffers { name, .. }
            | Event::Packaged { name, .. }
            | Event::Paced { name, .. }
            | Event::UploadStarted { name, .. }
            | Event::UploadSucceeded { name, .. }
            | Event::UploadFailed { name, .. }
            | Event::Reconciled { name, .. }
            | Event::SettleWaiting { name, .. }
            | Event::Unsettled { name, .. }
            | Event::Visible { name, .. }
            | Event::IndexFailing { name, .. }
            | Event::VisibilityTimedOut { name, .. }
            | Event::WouldUpload { name, .. } => Some(name),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_publish_run_exits_by_how_it_ended() {
        for (outcome, exit) in [
            // `Success` never fails a run; a failure that recorded it (the
            // receipt could not be written) is a plain failure.
            (RunOutcome::Success, Exit::Failure),
            (RunOutcome::NothingUploaded, Exit::Failure),
            (RunOutcome::Partial, Exit::Partial),
            (RunOutcome::Unknown, Exit::Partial),
            (RunOutcome::NeedsOperator, Exit::NeedsOperator),
            (RunOutcome::Interrupted, Exit::Interrupted),
        ] {
            assert_eq!(Exit::from(outcome), exit, "{outcome:?}");
        }
    }
}
