//! Rendering remediation: the yank plan as a table (or its JSON), and a
//! yank run's events as status lines on stderr or JSON lines on stdout.

use std::io::Write;

use super::github;
use super::publish::{human_duration, torn_warning};
use super::token;
use crate::journal::{Record, RunOutcome, YankEvent, YankOutcome, YankSkipReason, YankState};
use crate::model::{Coded, FailureClass};
use crate::ops::{PlanYankReport, YankFailed, YankReport, YankStep};

/// `plan-yank`: the plan for people (stdout), or the plan file's JSON.
pub fn yank_plan(report: &PlanYankReport, json: bool) {
    if let Some(pick) = &report.latest {
        eprintln!(
            "note: `latest` is {}, the newest receipt that uploaded something{}",
            super::shown_path(&pick.receipt),
            match pick.passed_over {
                0 => String::new(),
                1 => " (1 newer run uploaded nothing)".to_owned(),
                n => format!(" ({n} newer runs uploaded nothing)"),
            }
        );
    }
    let mut out = std::io::stdout().lock();
    if json {
        let _ = serde_json::to_writer_pretty(&mut out, &report.plan);
        let _ = writeln!(out);
        return;
    }
    let plan = &report.plan;
    let mut text = format!(
        "Yank plan for `{}` from {} (release plan {}{}), dependents first:\n\n",
        report.registry_name,
        super::shown_path(&report.receipt_path),
        plan.receipt.plan_id.short(),
        match report.receipt_outcome {
            RunOutcome::Success => String::new(),
            other => format!(", a {} release", format!("{other:?}").to_lowercase()),
        }
    );
    let width = plan
        .crates
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(4)
        .max(5);
    text.push_str(&format!(
        "  {:>3}  {:<width$}  {:<12}  sha256\n",
        "#", "crate", "version"
    ));
    for (i, c) in plan.crates.iter().enumerate() {
        text.push_str(&format!(
            "  {:>3}  {:<width$}  {:<12}  {}\n",
            i + 1,
            c.name,
            c.version,
            c.sha256.as_deref().map_or("-", |s| &s[..12.min(s.len())])
        ));
    }
    if let Some(start) = &plan.starting_crate {
        text.push_str(&format!(
            "\nScope: `{start}` and everything in the release that depends on it.\n"
        ));
    }
    if !report.never_uploaded.is_empty() {
        text.push_str(&format!(
            "Not yanked (this release did not upload them: failed or not attempted): {}\n",
            report.never_uploaded.join(", ")
        ));
    }
    if !report.left_to_earlier_releases.is_empty() {
        text.push_str(&format!(
            "Not yanked (already in the registry before this release; an earlier release owns them): {}\n",
            report.left_to_earlier_releases.join(", ")
        ));
    }
    if let Some(reason) = &plan.reason {
        text.push_str(&format!("Reason: {reason}\n"));
    }
    match &report.written_to {
        Some(path) => text.push_str(&format!(
            "\nWritten to {}. Nothing was yanked; run `cargo shipper yank --plan {}` to yank.\n",
            path.display(),
            path.display()
        )),
        None => text.push_str(
            "\nNothing was yanked. Write the plan with `--output FILE`, then `cargo shipper yank --plan FILE`.\n",
        ),
    }
    let _ = out.write_all(text.as_bytes());
}

/// A yank run's events as they happen.
pub struct YankReporter {
    json: bool,
    quiet: bool,
    /// `-v`: each request's start too.
    verbose: bool,
    /// The run unyanks (from its first event).
    undo: bool,
    /// Token lifecycle lines, for the step summary.
    token_lines: Vec<String>,
    /// The registry by the name people give it (the journal keeps its key).
    registry: Option<String>,
}

impl YankReporter {
    pub fn new(json: bool, quiet: bool) -> Self {
        YankReporter {
            json,
            quiet,
            verbose: false,
            undo: false,
            token_lines: Vec::new(),
            registry: None,
        }
    }

    pub fn step(&mut self, step: YankStep<'_>) {
        match step {
            YankStep::Registry(name) => self.registry = Some(name.to_owned()),
            YankStep::Event(record) => self.event(record),
        }
    }

    /// `-v`: show each request's start as well.
    pub fn verbose(mut self, verbose: bool) -> Self {
        self.verbose = verbose;
        self
    }

    pub fn event(&mut self, record: &Record<YankEvent>) {
        if let YankEvent::Token(event) = &record.event {
            self.token_lines
                .push(token::human_line(event).trim().to_owned());
        }
        if self.json {
            let mut out = std::io::stdout().lock();
            let _ = serde_json::to_writer(&mut out, record);
            let _ = writeln!(out);
            let _ = out.flush();
            return;
        }
        if let YankEvent::YankRunStarted { undo, .. } = &record.event {
            self.undo = *undo;
        }
        // The line after it says how it went (`-v` shows the request; a
        // retry says which attempt).
        if let YankEvent::YankRequested { attempt: 1, .. } = &record.event
            && !self.verbose
        {
            return;
        }
        let Some(line) = human_line(&record.event, self.undo, self.registry.as_deref()) else {
            return;
        };
        if self.quiet && !line.starts_with("warning:") {
            return;
        }
        eprintln!("{line}");
    }

    pub fn finish(&mut self, result: &anyhow::Result<YankReport>) {
        let report = match result {
            Ok(report) => report,
            Err(error) => {
                let failed = Coded::find::<YankFailed>(error);
                step_summary(failed.map(|f| &*f.state), Some(error), &self.token_lines);
                github::annotate(error, || annotations(failed.map(|f| &*f.state), error));
                return;
            }
        };
        if let Some(state) = &report.state {
            step_summary(Some(state), None, &self.token_lines);
        }
        let verb = if report.undo { "unyank" } else { "yank" };
        if report.state.is_none() {
            // A dry run: what would happen, in order; nothing was called.
            if self.json {
                let mut out = std::io::stdout().lock();
                for c in &report.order {
                    let kind = if report.left_yanked.contains(c) {
                        "would_leave_yanked".to_owned()
                    } else {
                        format!("would_{verb}")
                    };
                    let line =
                        serde_json::json!({"kind": kind, "name": c.name, "version": c.version});
                    let _ = writeln!(out, "{line}");
                }
                return;
            }
            for c in &report.order {
                if report.left_yanked.contains(c) {
                    eprintln!(
                        "{:>12} {} {} yanked: it was yanked before the yank run, not by it",
                        "Would leave", c.name, c.version
                    );
                } else {
                    eprintln!("{:>12} {} {}", format!("Would {verb}"), c.name, c.version);
                }
            }
            if let Some(eta) = report.eta.filter(|d| !d.is_zero()) {
                eprintln!(
                    "{:>12} the registry's limit adds about {}",
                    "Pacing",
                    human_duration(eta.as_millis() as u64)
                );
            }
            eprintln!(
                "{:>12} dry run: nothing was asked of `{}`",
                "Finished", report.registry
            );
            return;
        }
        if !self.json && !self.quiet {
            let changed = report.order.len() - report.left_yanked.len();
            for c in &report.left_yanked {
                eprintln!(
                    "{:>12} {} {} yanked: the yank run found it yanked and did not yank it",
                    "Left", c.name, c.version
                );
            }
            eprintln!(
                "{:>12} {} version{} {verb}ed in `{}`{}",
                "Finished",
                changed,
                if changed == 1 { "" } else { "s" },
                report.registry,
                report
                    .archived_to
                    .as_ref()
                    .map(|p| format!("; journal: {}", super::shown_path(p)))
                    .unwrap_or_default()
            );
        }
    }
}

/// Append a Markdown summary of a yank run for GitHub Actions: each
/// version's state, the token's lifecycle, the error when it failed.
fn step_summary(state: Option<&YankState>, error: Option<&anyhow::Error>, token_lines: &[String]) {
    let verb = if state.is_some_and(|s| s.undo) {
        "unyank"
    } else {
        "yank"
    };
    let mut text = match state {
        Some(state) => format!(
            "### cargo-shipper {verb}: {} (yank plan `{}`)\n\n| crate | version | status | requests |\n|---|---|---|---:|\n",
            match state.outcome {
                Some(YankOutcome::Success) => "success",
                Some(YankOutcome::Partial) => "partial",
                Some(YankOutcome::NothingChanged) => "nothing changed",
                Some(YankOutcome::Interrupted) => "interrupted",
                Some(YankOutcome::StoppedForLater) => "stopped by `--stop-after`, to be continued",
                Some(YankOutcome::Unknown) | None => "unfinished",
            },
            &state.yank_plan_id[..12.min(state.yank_plan_id.len())]
        ),
        None => "### cargo-shipper yank: failed before the run started\n\n".to_owned(),
    };
    if let Some(state) = state {
        for (name, c) in state.crates_in_order() {
            text.push_str(&format!(
                "| {name} | {} | {:?} | {} |\n",
                c.version, c.status, c.attempts
            ));
        }
        for (name, c) in state.crates_in_order() {
            if let (false, Some(error)) = (c.status.is_done(), &c.last_error) {
                text.push_str(&format!("\n- `{name}`: {error}"));
            }
        }
        text.push('\n');
    }
    text.push_str(&github::token_section(token_lines));
    if let Some(error) = error {
        text.push_str(&github::ending(error));
    }
    github::append_summary(&text);
}

/// `::error` annotations for a failed yank run: one per version left
/// undone with an error, and one for the run's error.
fn annotations(state: Option<&YankState>, error: &anyhow::Error) -> Vec<String> {
    let mut lines = Vec::new();
    for (name, c) in state.iter().flat_map(|s| s.crates_in_order()) {
        if let (false, Some(message)) = (c.status.is_done(), &c.last_error) {
            lines.push(github::error_annotation(
                &format!("cargo-shipper: {name} {}", c.version),
                &format!("{name} {} was not changed: {message}", c.version),
            ));
        }
    }
    lines.push(github::run_error_annotation(error));
    lines
}

/// `name`: the registry's name for people, in place of the key the
/// journal records.
fn human_line(event: &YankEvent, undo: bool, name: Option<&str>) -> Option<String> {
    let status = |verb: &str, rest: String| Some(format!("{verb:>12} {rest}"));
    match event {
        YankEvent::YankRunStarted {
            registry,
            undo,
            run,
            crates,
            ..
        } => status(
            match (*undo, *run > 1) {
                (false, false) => "Yanking",
                (true, false) => "Unyanking",
                (_, true) => "Resuming",
            },
            format!(
                "{} version{} in `{}`{}",
                crates.len(),
                if crates.len() == 1 { "" } else { "s" },
                name.unwrap_or(registry),
                if *run > 1 {
                    format!(" (run {run})")
                } else {
                    String::new()
                }
            ),
        ),
        YankEvent::JournalRepaired {
            dropped_bytes,
            saved_to,
        } => Some(torn_warning(*dropped_bytes, saved_to)),
        YankEvent::YankSkipped {
            name,
            version,
            reason,
        } => status(
            "Skipping",
            match reason {
                YankSkipReason::AlreadyDone => {
                    format!("{name} {version}: done earlier in this run")
                }
                YankSkipReason::Other => {
                    format!("{name} {version} (a reason a newer cargo-shipper recorded)")
                }
                YankSkipReason::YankedBeforeTheRun => format!(
                    "{name} {version}: left yanked, as the yank run found it (it did not yank it)"
                ),
                YankSkipReason::AlreadyInRegistry { yanked: true } => {
                    format!("{name} {version}: already yanked")
                }
                YankSkipReason::AlreadyInRegistry { yanked: false } => {
                    format!("{name} {version}: not yanked")
                }
            },
        ),
        YankEvent::Token(event) => Some(token::human_line(event)),
        YankEvent::YankPacingPlanned { count, eta_ms } => status(
            "Pacing",
            format!(
                "{count} request(s); the registry's limit adds about {}",
                human_duration(*eta_ms)
            ),
        ),
        YankEvent::YankPaced { name, wait_ms, .. } => status(
            "Waiting",
            format!(
                "{} for the registry's limit before {name}",
                human_duration(*wait_ms)
            ),
        ),
        YankEvent::YankRequested {
            name,
            version,
            attempt,
        } => status(
            "Requesting",
            if *attempt > 1 {
                format!("{name} {version} (attempt {attempt})")
            } else {
                format!("{name} {version}")
            },
        ),
        YankEvent::YankSucceeded { .. } => None,
        YankEvent::YankFailed {
            name,
            version,
            class,
            message,
            ..
        } => Some(format!(
            "warning: {name} {version} failed ({}): {message}",
            match class {
                FailureClass::Retryable => "retryable; checking the index",
                FailureClass::RateLimited => "rate limited",
                FailureClass::Ambiguous | FailureClass::Unknown => {
                    "may have landed; checking the index"
                }
                FailureClass::Permanent => "permanent",
            }
        )),
        YankEvent::YankConfirmed { name, version, .. } => status(
            if undo { "Unyanked" } else { "Yanked" },
            format!("{name} {version} (confirmed in the index)"),
        ),
        YankEvent::YankConfirmTimedOut {
            name,
            version,
            waited_ms,
        } => Some(format!(
            "warning: the registry accepted {name} {version}, but the index does not show it after {}; run the same command again to check",
            human_duration(*waited_ms)
        )),
        YankEvent::YankRunFinished { .. } | YankEvent::Unknown => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::journal::{YankEvent, YankRef};

    fn started(undo: bool) -> YankEvent {
        YankEvent::YankRunStarted {
            format: 1,
            yank_plan_id: "p".into(),
            registry: "sparse+http://127.0.0.1:1/index/".into(),
            undo,
            run: 1,
            crates: vec![YankRef {
                name: "core".into(),
                version: "0.1.0".into(),
            }],
            tool_version: "test".into(),
            plan_file: None,
        }
    }

    /// The first line names the registry as the `Finished` line does: by
    /// the name people gave it, the journal's key only without one.
    #[test]
    fn the_run_names_its_registry_as_people_do() {
        assert_eq!(
            super::human_line(&started(false), false, Some("local")).as_deref(),
            Some("     Yanking 1 version in `local`")
        );
        assert_eq!(
            super::human_line(&started(true), true, None).as_deref(),
            Some("   Unyanking 1 version in `sparse+http://127.0.0.1:1/index/`")
        );
    }
}
