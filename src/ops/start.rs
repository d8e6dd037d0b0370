//! How a `publish`/`resume` run starts, decided without I/O from what the
//! journal holds, the plan and the flags: a new run, the unfinished run
//! continued, or the unfinished run set aside first; or a refusal that says
//! what to do. `ops::publish` then acts on the decision.

use std::path::PathBuf;

use crate::journal::{CrateStatus, RunState, SetAsideWhy};
use crate::plan::Plan;

/// How a run may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Start a release, or resume an unfinished run of the same plan.
    Publish,
    /// Only resume; refuse when there is nothing to resume.
    Resume,
    /// Always start a new run: an unfinished one is set aside under
    /// `archive/` (a rehearsal's registry is new each time).
    Fresh,
}

/// A run that must not start, and what to do instead.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(
        "the unfinished run has uploads whose outcome is unknown ({crates}); it cannot be set aside \
         before they are settled: restore the workspace to that release and run `cargo shipper resume`, \
         or check those versions in the registry by hand"
    )]
    UnknownOutcomes { crates: String },
    #[error("there is no unfinished run to resume in `{}`; start one with `cargo shipper publish`", .0.display())]
    NothingToResume(PathBuf),
    #[error(
        "`{dir}` holds an unfinished run of this plan against `{recorded}` (a rehearsal's, if that \
         is not your registry), not `{now}`; a rehearsal is continued by `cargo shipper rehearse`, \
         and a release keeps its own state directory"
    )]
    OtherRegistry {
        dir: String,
        recorded: String,
        now: String,
    },
    #[error(
        "`{dir}` holds an unfinished run of another plan ({old}, {done} of {total} crates out); \
         the workspace now plans {new} ({changes}). Restore the workspace to that release and run \
         `cargo shipper resume`, or set that run aside with `--abandon-unfinished` (its files \
         are kept under `archive/`)"
    )]
    PlanChanged {
        dir: String,
        old: String,
        new: String,
        done: usize,
        total: usize,
        /// What differs, e.g. "b 0.1.0 -> 0.2.0; c added".
        changes: String,
    },
}

/// What to do with the state directory's current run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum StartDecision {
    /// Nothing unfinished: start run 1.
    New,
    /// Continue the unfinished run of this plan.
    Continue,
    /// Archive the unfinished run under this label, then start run 1.
    SetAside(SetAsideReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SetAsideReason {
    /// `--abandon-unfinished`.
    Abandoned,
    /// Another plan's run that never uploaded anything: nothing of it can
    /// be in the registry, so it blocks nothing.
    NothingUploaded,
    /// A rehearsal always starts over.
    Superseded,
}

impl SetAsideReason {
    /// As the journal records it.
    pub(super) fn wire(self) -> SetAsideWhy {
        match self {
            SetAsideReason::Abandoned => SetAsideWhy::Abandoned,
            SetAsideReason::NothingUploaded => SetAsideWhy::NothingUploaded,
            SetAsideReason::Superseded => SetAsideWhy::Superseded,
        }
    }

    /// The archive folder's suffix.
    pub(super) fn label(self) -> &'static str {
        match self {
            SetAsideReason::Abandoned | SetAsideReason::NothingUploaded => "abandoned",
            SetAsideReason::Superseded => "superseded",
        }
    }
}

/// The flags that bear on the decision.
#[derive(Debug, Clone, Copy)]
pub(super) struct StartFlags {
    pub mode: Mode,
    pub abandon_unfinished: bool,
}

/// Decide how to start. `state`: the unfinished run in the journal (a
/// finished one is archived before this is asked); `dir`: the state
/// directory, for messages.
pub(super) fn decide(
    state: Option<&RunState>,
    plan: &Plan,
    flags: StartFlags,
    dir: &str,
) -> Result<StartDecision, StartError> {
    let Some(state) = state else {
        return match flags.mode {
            Mode::Resume => Err(StartError::NothingToResume(dir.into())),
            Mode::Publish | Mode::Fresh => Ok(StartDecision::New),
        };
    };
    if flags.mode == Mode::Fresh {
        return Ok(StartDecision::SetAside(SetAsideReason::Superseded));
    }
    // A rehearsal's journal binds the live plan id to another registry:
    // never continue it against the live target (nor the other way round).
    if state.plan_id == plan.id && state.registry != plan.target.key {
        return Err(StartError::OtherRegistry {
            dir: dir.into(),
            recorded: state.registry.clone(),
            now: plan.target.key.clone(),
        });
    }
    let abandon = flags.abandon_unfinished && flags.mode == Mode::Publish;
    if state.plan_id == plan.id && !abandon {
        return Ok(StartDecision::Continue);
    }
    let unknown: Vec<String> = state
        .crates
        .iter()
        .filter(|(_, c)| matches!(c.status, CrateStatus::Uploading | CrateStatus::Ambiguous))
        .map(|(name, _)| format!("`{name}`"))
        .collect();
    if abandon {
        // Setting those aside would forget an upload that may have landed.
        if !unknown.is_empty() {
            return Err(StartError::UnknownOutcomes {
                crates: unknown.join(", "),
            });
        }
        return Ok(StartDecision::SetAside(SetAsideReason::Abandoned));
    }
    let never_uploaded = state.crates.values().all(|c| c.attempts == 0);
    if never_uploaded && flags.mode == Mode::Publish {
        return Ok(StartDecision::SetAside(SetAsideReason::NothingUploaded));
    }
    Err(StartError::PlanChanged {
        dir: dir.into(),
        old: state.plan_id.short().to_owned(),
        new: plan.id.short().to_owned(),
        done: state.crates.values().filter(|c| c.status.is_done()).count(),
        total: state.crates.len(),
        changes: plan_changes(state, plan),
    })
}

/// What differs between the journal's release and the new plan.
fn plan_changes(state: &RunState, plan: &Plan) -> String {
    let mut changes = Vec::new();
    for c in &plan.crates {
        match state.crates.get(&c.name) {
            None => changes.push(format!("{} added", c.name)),
            Some(old) if old.version != c.version.to_string() => {
                changes.push(format!("{} {} -> {}", c.name, old.version, c.version))
            }
            Some(old) if old.depends_on != c.depends_on => {
                changes.push(format!("{}'s dependencies changed", c.name))
            }
            Some(_) => {}
        }
    }
    for name in state.crates.keys() {
        if plan.get(name).is_none() {
            changes.push(format!("{name} removed"));
        }
    }
    if state.registry != plan.target.key {
        changes.push(format!(
            "registry {} -> {}",
            state.registry, plan.target.key
        ));
    }
    if changes.is_empty() {
        changes.push("publish order changed".into());
    }
    changes.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{CrateRef, Event, FORMAT, Record};
    use crate::model::PlanId;
    use crate::model::RegistryTarget;
    use crate::plan::PlannedCrate;

    fn plan(version: &str, registry: &str) -> Plan {
        Plan {
            id: PlanId::compute(registry, &[("a", version.into())], &[]),
            target: RegistryTarget {
                name: Some(registry.into()),
                key: registry.into(),
                sparse_index: None,
            },
            crates: vec![PlannedCrate {
                name: "a".into(),
                version: version.parse().unwrap(),
                level: 0,
                rel_dir: "a".into(),
                depends_on: vec![],
                dev_only: vec![],
                pulled_in_by: vec![],
            }],
            broken_edges: vec![],
            excluded: vec![],
            external_requirements: vec![],
        }
    }

    /// The state of a run of `plan` with these events after its start.
    fn state(plan: &Plan, events: Vec<Event>) -> RunState {
        let mut all = vec![Event::RunStarted {
            format: FORMAT,
            plan_id: plan.id.clone(),
            registry: plan.target.key.clone(),
            run: 1,
            crates: vec![CrateRef {
                name: "a".into(),
                version: plan.crates[0].version.to_string(),
                depends_on: vec![],
                dev_only: vec![],
            }],
            tool_version: "t".into(),
            selection: Default::default(),
            done: 0,
        }];
        all.extend(events);
        RunState::project(
            &all.into_iter()
                .enumerate()
                .map(|(i, event)| Record {
                    seq: i as u64 + 1,
                    at_ms: 0,
                    event,
                })
                .collect::<Vec<_>>(),
        )
        .unwrap()
    }

    fn upload_started() -> Event {
        Event::UploadStarted {
            name: "a".into(),
            version: "1.0.0".into(),
            attempt: 1,
            sha256: "ab".into(),
            new_crate: true,
        }
    }

    const PUBLISH: StartFlags = StartFlags {
        mode: Mode::Publish,
        abandon_unfinished: false,
    };

    #[test]
    fn every_case_of_the_start() {
        let v1 = plan("1.0.0", "r");
        let v2 = plan("2.0.0", "r");
        let untouched = state(&v1, vec![]);
        let uploading = state(&v1, vec![upload_started()]);
        let abandon = StartFlags {
            abandon_unfinished: true,
            ..PUBLISH
        };
        let resume = StartFlags {
            mode: Mode::Resume,
            ..PUBLISH
        };
        let fresh = StartFlags {
            mode: Mode::Fresh,
            ..PUBLISH
        };
        let d = |s, p, f| decide(s, p, f, "dir");
        assert_eq!(d(None, &v1, PUBLISH).unwrap(), StartDecision::New);
        assert!(matches!(
            d(None, &v1, resume),
            Err(StartError::NothingToResume(_))
        ));
        assert_eq!(
            d(Some(&uploading), &v1, PUBLISH).unwrap(),
            StartDecision::Continue
        );
        assert_eq!(
            d(Some(&uploading), &v1, resume).unwrap(),
            StartDecision::Continue
        );
        // Another plan: refused while anything may be out, set aside otherwise.
        let err = d(Some(&uploading), &v2, PUBLISH).unwrap_err();
        assert!(err.to_string().contains("a 1.0.0 -> 2.0.0"), "{err}");
        assert!(matches!(
            d(Some(&uploading), &v2, resume),
            Err(StartError::PlanChanged { .. })
        ));
        assert_eq!(
            d(Some(&untouched), &v2, PUBLISH).unwrap(),
            StartDecision::SetAside(SetAsideReason::NothingUploaded)
        );
        // --abandon-unfinished: never over an upload of unknown outcome.
        assert!(matches!(
            d(Some(&uploading), &v2, abandon),
            Err(StartError::UnknownOutcomes { .. })
        ));
        assert_eq!(
            d(Some(&untouched), &v1, abandon).unwrap(),
            StartDecision::SetAside(SetAsideReason::Abandoned)
        );
        // A rehearsal always starts over; a run of this plan on another registry is refused.
        assert_eq!(
            d(Some(&uploading), &v1, fresh).unwrap(),
            StartDecision::SetAside(SetAsideReason::Superseded)
        );
        let elsewhere = plan("1.0.0", "other");
        let mut moved = elsewhere.clone();
        moved.id = v1.id.clone();
        assert!(matches!(
            d(Some(&uploading), &moved, PUBLISH),
            Err(StartError::OtherRegistry { .. })
        ));
    }
}
