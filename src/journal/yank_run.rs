//! The journal of a yank run (`yank --plan`, also `--undo`), kept under
//! `<state dir>/yank/` with the same guarantees as a publish run: one JSON
//! event a line, the intent synced before each request, its outcome after,
//! and `state.json` as the projection.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Projection;
use super::event::{FORMAT, Record};
use super::log::LogEvent;
use super::token::{TokenEvent, embed_token_events};
use crate::model::{Exit, FailureClass};

/// A yank run's event. Serde's derive (`remote = "Self"`) writes and reads
/// every kind but the token events, which [`TokenEvent`] does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", tag = "kind", rename_all = "snake_case")]
pub enum YankEvent {
    /// A run (first or resumed) of a yank plan begins.
    YankRunStarted {
        format: u32,
        /// [`super::YankPlan::id`].
        yank_plan_id: String,
        registry: String,
        /// Unyank instead of yank.
        undo: bool,
        run: u32,
        /// In the order this run acts on them.
        crates: Vec<YankRef>,
        tool_version: String,
        /// The yank plan file as the run was given it (absolute), to say
        /// which command continues it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        plan_file: Option<String>,
    },
    JournalRepaired {
        dropped_bytes: u64,
        saved_to: String,
    },
    /// The run will not ask the registry to change this version, and why.
    YankSkipped {
        name: String,
        version: String,
        #[serde(flatten)]
        reason: YankSkipReason,
    },
    /// The run waits for the registry's rate limit before this request.
    YankPaced {
        name: String,
        version: String,
        wait_ms: u64,
    },
    /// Intent: the request is about to be sent. Written and synced first.
    YankRequested {
        name: String,
        version: String,
        attempt: u32,
    },
    YankSucceeded {
        name: String,
        version: String,
        attempt: u32,
        ms: u64,
    },
    YankFailed {
        name: String,
        version: String,
        attempt: u32,
        class: FailureClass,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
    /// The sparse index shows the wanted `yanked` flag.
    YankConfirmed {
        name: String,
        version: String,
        ms: u64,
    },
    YankConfirmTimedOut {
        name: String,
        version: String,
        waited_ms: u64,
    },
    /// The registry's limit on yanks, applied to this run.
    YankPacingPlanned {
        count: u32,
        eta_ms: u64,
    },
    /// The life of a token minted by trusted publishing for the requests
    /// (written flat, as its own kind: see [`TokenEvent`]).
    #[serde(skip)]
    Token(TokenEvent),
    YankRunFinished {
        outcome: YankOutcome,
    },
    /// Written by a newer version of the tool; ignored.
    #[serde(other)]
    Unknown,
}

embed_token_events!(YankEvent);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct YankRef {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum YankSkipReason {
    /// The index already shows the wanted flag (yanked for a yank,
    /// not yanked for an undo).
    AlreadyInRegistry { yanked: bool },
    /// An earlier run of this journal confirmed it.
    AlreadyDone,
    /// `--undo`: the yank runs of this plan found the version already
    /// yanked and did not yank it; it stays as they found it.
    YankedBeforeTheRun,
    /// A reason a newer cargo-shipper wrote.
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum YankOutcome {
    /// Every version shows the wanted flag.
    Success,
    /// Some versions changed, others did not: run the same command again.
    Partial,
    /// No version changed.
    NothingChanged,
    /// Stopped by a signal (SIGINT, SIGTERM): run the same command again.
    Interrupted,
    /// Stopped by `--stop-after` before every version was changed: to be
    /// continued by the same command.
    StoppedForLater,
    /// An outcome a newer cargo-shipper wrote.
    #[serde(other)]
    Unknown,
}

/// The exit code of a yank run that ended so (`ops::YankFailed`'s).
impl From<YankOutcome> for Exit {
    fn from(outcome: YankOutcome) -> Exit {
        match outcome {
            YankOutcome::Partial | YankOutcome::Unknown => Exit::Partial,
            YankOutcome::Interrupted => Exit::Interrupted,
            YankOutcome::StoppedForLater => Exit::ToBeContinued,
            YankOutcome::NothingChanged | YankOutcome::Success => Exit::Failure,
        }
    }
}

impl LogEvent for YankEvent {
    const OPENING_KIND: &'static str = "yank_run_started";
    fn opening_format(&self) -> Option<u32> {
        match self {
            YankEvent::YankRunStarted { format, .. } => Some(*format),
            _ => None,
        }
    }
    fn journal_repaired(torn: &super::TornLine) -> Self {
        YankEvent::JournalRepaired {
            dropped_bytes: torn.dropped_bytes,
            saved_to: torn.saved_as(),
        }
    }
}

impl YankEvent {
    /// Every kind's name on disk; see [`super::Event::kind_names`].
    pub fn kind_names() -> &'static [&'static str] {
        &[
            "yank_run_started",
            "journal_repaired",
            "yank_skipped",
            "yank_paced",
            "yank_requested",
            "yank_succeeded",
            "yank_failed",
            "yank_confirmed",
            "yank_confirm_timed_out",
            "yank_pacing_planned",
            "token_minted",
            "token_renewed",
            "token_revoked",
            "yank_run_finished",
        ]
    }

    /// The event's `kind` on disk. Exhaustive: a new event kind does not
    /// compile until it is named here (and in [`Self::kind_names`]).
    pub fn kind(&self) -> &'static str {
        match self {
            YankEvent::YankRunStarted { .. } => "yank_run_started",
            YankEvent::JournalRepaired { .. } => "journal_repaired",
            YankEvent::YankSkipped { .. } => "yank_skipped",
            YankEvent::YankPaced { .. } => "yank_paced",
            YankEvent::YankRequested { .. } => "yank_requested",
            YankEvent::YankSucceeded { .. } => "yank_succeeded",
            YankEvent::YankFailed { .. } => "yank_failed",
            YankEvent::YankConfirmed { .. } => "yank_confirmed",
            YankEvent::YankConfirmTimedOut { .. } => "yank_confirm_timed_out",
            YankEvent::YankPacingPlanned { .. } => "yank_pacing_planned",
            YankEvent::Token(token) => token.kind(),
            YankEvent::YankRunFinished { .. } => "yank_run_finished",
            YankEvent::Unknown => "unknown",
        }
    }

    /// The crate the event concerns, if any.
    pub fn crate_name(&self) -> Option<&str> {
        match self {
            YankEvent::YankSkipped { name, .. }
            | YankEvent::YankPaced { name, .. }
            | YankEvent::YankRequested { name, .. }
            | YankEvent::YankSucceeded { name, .. }
            | YankEvent::YankFailed { name, .. }
            | YankEvent::YankConfirmed { name, .. }
            | YankEvent::YankConfirmTimedOut { name, .. } => Some(name),
            _ => None,
        }
    }
}

/// `state.json` of a yank run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct YankState {
    pub format: u32,
    pub yank_plan_id: String,
    pub registry: String,
    pub undo: bool,
    pub runs: u32,
    pub last_seq: u64,
    #[serde(default)]
    pub outcome: Option<YankOutcome>,
    pub order: Vec<String>,
    pub crates: BTreeMap<String, YankCrateState>,
    /// Start times of requests (ms since the epoch): pacing replays them.
    #[serde(default)]
    pub request_times: Vec<u64>,
    /// The latest run's yank plan file, when it recorded one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_file: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct YankCrateState {
    pub version: String,
    pub status: YankStatus,
    pub attempts: u32,
    /// Attempts in the latest run (the retry limit counts these).
    pub run_attempts: u32,
    #[serde(default)]
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum YankStatus {
    Pending,
    /// Request sent, outcome not recorded: settled by reading the index.
    Requested,
    /// The registry said yes; not yet seen in the index.
    Accepted,
    /// Seen in the index with the wanted flag (by this journal).
    Done,
    /// The index showed the wanted flag before this journal asked.
    AlreadyInRegistry,
    /// `--undo` left it yanked: it was yanked before the yank run, not by it.
    LeftAsFound,
    Failed,
}

impl YankStatus {
    pub fn is_done(self) -> bool {
        matches!(
            self,
            YankStatus::Done | YankStatus::AlreadyInRegistry | YankStatus::LeftAsFound
        )
    }
}

/// What `--undo` must leave yanked: the versions the yank runs of plan
/// `yank_plan_id` found already yanked and never yanked themselves, read
/// from those runs' states (oldest first). An unyank run in between counts
/// as a new start: what it unyanked (or found unyanked) is nobody's until a
/// later yank run yanks it. `None` when no yank run of the plan is among
/// `runs`: nothing says what a yank run did.
pub fn yanked_by_others<'a>(
    runs: impl IntoIterator<Item = &'a YankState>,
    yank_plan_id: &str,
) -> Option<std::collections::BTreeSet<String>> {
    use std::collections::BTreeSet;
    let mut ours = BTreeSet::new();
    let mut found_yanked = BTreeSet::new();
    let mut any_yank_run = false;
    for run in runs.into_iter().filter(|r| r.yank_plan_id == yank_plan_id) {
        for (name, c) in &run.crates {
            match (run.undo, c.status) {
                (false, YankStatus::Done | YankStatus::Accepted | YankStatus::Requested) => {
                    ours.insert(name.clone());
                    found_yanked.remove(name);
                }
                (false, YankStatus::AlreadyInRegistry) if !ours.contains(name) => {
                    found_yanked.insert(name.clone());
                }
                (true, YankStatus::Done | YankStatus::AlreadyInRegistry) => {
                    ours.remove(name);
                    found_yanked.remove(name);
                }
                _ => {}
            }
        }
        any_yank_run |= !run.undo;
    }
    any_yank_run.then_some(found_yanked)
}

impl YankState {
    pub fn crates_in_order(&self) -> impl Iterator<Item = (&String, &YankCrateState)> {
        self.order
            .iter()
            .filter_map(|name| self.crates.get_key_value(name))
    }

    pub fn all_done(&self) -> bool {
        self.crates.values().all(|c| c.status.is_done())
    }

    /// Whether this journal changed (or may have changed) anything.
    pub fn any_changed(&self) -> bool {
        self.crates.values().any(|c| {
            matches!(
                c.status,
                YankStatus::Done | YankStatus::Accepted | YankStatus::Requested
            )
        })
    }
}

impl Projection for YankState {
    type Event = YankEvent;

    fn apply(state: Option<Self>, record: &Record<YankEvent>) -> Self {
        if let YankEvent::YankRunStarted {
            yank_plan_id,
            registry,
            undo,
            run,
            crates,
            plan_file,
            ..
        } = &record.event
        {
            let mut next = state.unwrap_or_else(|| YankState {
                format: FORMAT,
                yank_plan_id: yank_plan_id.clone(),
                registry: registry.clone(),
                undo: *undo,
                runs: 0,
                last_seq: 0,
                outcome: None,
                order: Vec::new(),
                crates: BTreeMap::new(),
                request_times: Vec::new(),
                plan_file: None,
            });
            next.runs = *run;
            next.plan_file = plan_file.clone();
            next.outcome = None;
            next.order = crates.iter().map(|c| c.name.clone()).collect();
            for c in crates {
                next.crates
                    .entry(c.name.clone())
                    .or_insert(YankCrateState {
                        version: c.version.clone(),
                        status: YankStatus::Pending,
                        attempts: 0,
                        run_attempts: 0,
                        last_error: None,
                    })
                    .run_attempts = 0;
            }
            next.last_seq = record.seq;
            return next;
        }
        let mut state = state.expect("the first record is yank_run_started (checked on read)");
        state.last_seq = record.seq;
        if let YankEvent::YankRunFinished { outcome } = &record.event {
            state.outcome = Some(*outcome);
            return state;
        }
        let Some(c) = record
            .event
            .crate_name()
            .and_then(|name| state.crates.get_mut(name))
        else {
            return state;
        };
        match &record.event {
            YankEvent::YankSkipped { reason, .. } => {
                match reason {
                    YankSkipReason::AlreadyInRegistry { .. } => {
                        c.status = YankStatus::AlreadyInRegistry
                    }
                    YankSkipReason::YankedBeforeTheRun => c.status = YankStatus::LeftAsFound,
                    YankSkipReason::AlreadyDone | YankSkipReason::Other => {}
                }
                c.last_error = None;
            }
            YankEvent::YankRequested { .. } => {
                c.status = YankStatus::Requested;
                c.attempts += 1;
                c.run_attempts += 1;
                state.request_times.push(record.at_ms);
            }
            YankEvent::YankSucceeded { .. } => {
                c.status = YankStatus::Accepted;
                c.last_error = None;
            }
            YankEvent::YankFailed { message, .. } => {
                c.status = YankStatus::Failed;
                c.last_error = Some(message.clone());
            }
            YankEvent::YankConfirmed { .. } => {
                c.status = YankStatus::Done;
                c.last_error = None;
            }
            YankEvent::YankConfirmTimedOut { waited_ms, .. } => {
                c.last_error = Some(format!(
                    "the index did not show the change after {} s",
                    waited_ms / 1000
                ));
            }
            _ => {}
        }
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_yank_run_exits_by_how_it_ended() {
        for (outcome, exit) in [
            (YankOutcome::Success, Exit::Failure),
            (YankOutcome::NothingChanged, Exit::Failure),
            (YankOutcome::Partial, Exit::Partial),
            (YankOutcome::Unknown, Exit::Partial),
            (YankOutcome::Interrupted, Exit::Interrupted),
            (YankOutcome::StoppedForLater, Exit::ToBeContinued),
        ] {
            assert_eq!(Exit::from(outcome), exit, "{outcome:?}");
        }
    }

    fn run(undo: bool, crates: &[(&str, YankStatus)]) -> YankState {
        YankState {
            format: FORMAT,
            yank_plan_id: "p".into(),
            registry: "r".into(),
            undo,
            runs: 1,
            last_seq: 1,
            outcome: Some(YankOutcome::Success),
            order: crates.iter().map(|(n, _)| (*n).into()).collect(),
            crates: crates
                .iter()
                .map(|(n, status)| {
                    (
                        (*n).into(),
                        YankCrateState {
                            version: "1.0.0".into(),
                            status: *status,
                            attempts: 0,
                            run_attempts: 0,
                            last_error: None,
                        },
                    )
                })
                .collect(),
            request_times: Vec::new(),
            plan_file: None,
        }
    }

    #[test]
    fn undo_leaves_what_the_yank_runs_found_yanked_and_never_yanked() {
        use YankStatus::*;
        let names = |runs: &[YankState]| {
            yanked_by_others(runs, "p").map(|s| s.into_iter().collect::<Vec<_>>())
        };
        assert_eq!(names(&[]), None, "no yank run: nothing known");
        assert_eq!(names(&[run(true, &[("a", Done)])]), None);
        let first = run(false, &[("a", Done), ("b", AlreadyInRegistry)]);
        assert_eq!(names(std::slice::from_ref(&first)), Some(vec!["b".into()]));
        // A rerun finds everything yanked: `a` is still the first run's.
        let rerun = run(false, &[("a", AlreadyInRegistry), ("b", AlreadyInRegistry)]);
        assert_eq!(
            names(&[first.clone(), rerun.clone()]),
            Some(vec!["b".into()])
        );
        // After an undo, a version yanked by hand before the next yank run
        // is not that run's.
        let undo = run(true, &[("a", Done), ("b", LeftAsFound)]);
        assert_eq!(
            names(&[first, undo, rerun]),
            Some(vec!["a".into(), "b".into()])
        );
        let mut other = run(false, &[("c", AlreadyInRegistry)]);
        other.yank_plan_id = "q".into();
        assert_eq!(names(&[other]), None, "another plan's runs do not count");
    }
}
