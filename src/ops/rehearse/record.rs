//! The run's state, the live findings and the checks, folded into the
//! `rehearsal.json` record and its verdict.

use crate::journal::{
    CrateStatus, DrillResult, REHEARSAL_FORMAT, RehearsalRecord, RehearsalRegistry, RehearsedCrate,
    RehearsedOutcome, RunState, StepResult, Verdict,
};
use crate::plan::Plan;

use super::live::LiveFindings;

pub struct Inputs<'a> {
    pub plan: &'a Plan,
    pub findings: &'a LiveFindings,
    pub registry: RehearsalRegistry,
    pub state: Option<&'a RunState>,
    /// What stopped the run, if anything.
    pub error: Option<&'a anyhow::Error>,
    pub consumer_build: Option<StepResult>,
    pub smoke_install: Option<StepResult>,
    pub drill: Option<DrillResult>,
    pub started_at_ms: u64,
    pub duration_ms: u64,
}

pub fn build(inputs: Inputs<'_>) -> RehearsalRecord {
    let Inputs {
        plan,
        findings,
        registry,
        state,
        error,
        consumer_build,
        smoke_install,
        drill,
        started_at_ms,
        duration_ms,
    } = inputs;
    let mut failures = Vec::new();
    if let Some(error) = error {
        failures.push(format!("{error:#}"));
    }
    let crates: Vec<RehearsedCrate> = plan
        .crates
        .iter()
        .map(|planned| {
            let version = planned.version.to_string();
            let found = state.and_then(|s| s.crates.get(&planned.name));
            let (outcome, sha256) = match found.map(|c| c.status) {
                // The live target has it (the same content, checked before
                // the run): uploaded only so that its dependents resolve in a
                // rehearsal registry that does not pass it through.
                Some(CrateStatus::Published) if findings.present.contains_key(&planned.name) => (
                    RehearsedOutcome::OnLiveTarget,
                    findings.present.get(&planned.name).cloned(),
                ),
                Some(CrateStatus::Published) => (
                    RehearsedOutcome::Uploaded,
                    found.and_then(|c| c.sha256.clone()),
                ),
                Some(CrateStatus::AlreadyPresent) => match findings.present.get(&planned.name) {
                    Some(live) => (RehearsedOutcome::OnLiveTarget, Some(live.clone())),
                    None => (
                        RehearsedOutcome::InRehearsalRegistry,
                        found.and_then(|c| c.sha256.clone()),
                    ),
                },
                None
                | Some(CrateStatus::Pending | CrateStatus::Packaged | CrateStatus::Blocked) => {
                    (RehearsedOutcome::NotAttempted, None)
                }
                Some(_) => (
                    RehearsedOutcome::Failed,
                    found.and_then(|c| c.sha256.clone()),
                ),
            };
            if outcome == RehearsedOutcome::Failed {
                let why = found
                    .and_then(|c| c.last_error.clone())
                    .unwrap_or_else(|| "did not go out".into());
                failures.push(format!("{} {version}: {why}", planned.name));
            }
            RehearsedCrate {
                name: planned.name.clone(),
                version,
                outcome,
                sha256,
                timings: found.map(|c| c.timings).unwrap_or_default(),
            }
        })
        .collect();
    let all_out = crates.iter().all(|c| {
        matches!(
            c.outcome,
            RehearsedOutcome::Uploaded
                | RehearsedOutcome::OnLiveTarget
                | RehearsedOutcome::InRehearsalRegistry
        )
    });
    if error.is_none() && !all_out {
        failures.push("not every crate went out".into());
    }
    if let Some(step) = &consumer_build
        && !step.passed
    {
        // The plain summary when there is one; cargo's output stays in `message`.
        failures.push(format!(
            "consumer build: {}",
            step.summary
                .as_deref()
                .or(step.message.as_deref())
                .unwrap_or("failed")
        ));
    }
    if let Some(step) = &smoke_install
        && !step.passed
    {
        failures.push(format!(
            "smoke install: {}",
            step.message.as_deref().unwrap_or("failed")
        ));
    }
    if let Some(drill) = &drill
        && !drill.passed
    {
        failures.push(format!(
            "interruption drill (after {} upload{}): {}",
            drill.interrupt_after,
            if drill.interrupt_after == 1 { "" } else { "s" },
            drill.problems.join("; ")
        ));
    }
    RehearsalRecord {
        format: REHEARSAL_FORMAT,
        plan_id: plan.id.clone(),
        live_target: plan.target.key.clone(),
        registry,
        live_check: findings.check.clone(),
        crates,
        consumer_build,
        smoke_install,
        drill,
        started_at_ms,
        duration_ms,
        verdict: if failures.is_empty() {
            Verdict::Passed
        } else {
            Verdict::Failed
        },
        failures,
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
    }
}
