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
            let (rehearsed, failed) = rehearsed_crate(planned, findings, state);
            failures.extend(failed);
            rehearsed
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
    failures.extend(step_failures(
        consumer_build.as_ref(),
        smoke_install.as_ref(),
        drill.as_ref(),
    ));
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

/// What became of one plan crate, and why it failed if it did.
fn rehearsed_crate(
    planned: &crate::plan::PlannedCrate,
    findings: &LiveFindings,
    state: Option<&RunState>,
) -> (RehearsedCrate, Option<String>) {
    let version = planned.version.to_string();
    let found = state.and_then(|s| s.crates.get(&planned.name));
    let ours = || found.and_then(|c| c.sha256.clone());
    let (outcome, sha256) = match found.map(|c| c.status) {
        // The live target has it (the same content, checked before the
        // run): uploaded only so that its dependents resolve in a
        // rehearsal registry that does not pass it through.
        Some(CrateStatus::Published) if findings.present.contains_key(&planned.name) => (
            RehearsedOutcome::OnLiveTarget,
            findings.present.get(&planned.name).cloned(),
        ),
        Some(CrateStatus::Published) => (RehearsedOutcome::Uploaded, ours()),
        Some(CrateStatus::AlreadyPresent) => match findings.present.get(&planned.name) {
            Some(live) => (RehearsedOutcome::OnLiveTarget, Some(live.clone())),
            None => (RehearsedOutcome::InRehearsalRegistry, ours()),
        },
        None | Some(CrateStatus::Pending | CrateStatus::Packaged | CrateStatus::Blocked) => {
            (RehearsedOutcome::NotAttempted, None)
        }
        Some(_) => (RehearsedOutcome::Failed, ours()),
    };
    let failed = (outcome == RehearsedOutcome::Failed).then(|| {
        let why = found
            .and_then(|c| c.last_error.clone())
            .unwrap_or_else(|| "did not go out".into());
        format!("{} {version}: {why}", planned.name)
    });
    let rehearsed = RehearsedCrate {
        name: planned.name.clone(),
        version,
        outcome,
        sha256,
        timings: found.map(|c| c.timings).unwrap_or_default(),
    };
    (rehearsed, failed)
}

/// The failures of the steps after the run.
fn step_failures(
    consumer_build: Option<&StepResult>,
    smoke_install: Option<&StepResult>,
    drill: Option<&DrillResult>,
) -> Vec<String> {
    let mut failures = Vec::new();
    if let Some(step) = consumer_build
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
    if let Some(step) = smoke_install
        && !step.passed
    {
        failures.push(format!(
            "smoke install: {}",
            step.message.as_deref().unwrap_or("failed")
        ));
    }
    if let Some(drill) = drill
        && !drill.passed
    {
        failures.push(format!(
            "interruption drill (after {} upload{}): {}",
            drill.interrupt_after,
            if drill.interrupt_after == 1 { "" } else { "s" },
            drill.problems.join("; ")
        ));
    }
    failures
}
