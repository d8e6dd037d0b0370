//! Rendering `status`: the plan × journal × registry table and the next
//! action for people, or one JSON document (format 1); the journal's events
//! as readable lines (`--events`) or JSON lines.

use std::io::{self, Write};

use serde::Serialize;

use super::publish::human_line;
use crate::journal::{CrateStatus, Event, Record, RunOutcome, YankOutcome, YankStatus};
use crate::ops::{CrateRow, NextAction, RegistryTruth, RunSummary, StatusReport, YankRunSummary};

/// Version of the JSON document; bumped on any incompatible change.
pub const STATUS_JSON_FORMAT: u32 = 1;

pub fn human(report: &StatusReport, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "Status of `{}` (plan {}): {} crate(s)",
        report.registry,
        &report.plan_id[..12],
        report.crates.len()
    )?;
    writeln!(out, "Run: {}", run_text(report.run.as_ref()))?;
    let name_w = column(&report.crates, |c| c.name.len(), "crate");
    let version_w = column(&report.crates, |c| c.version.len(), "version");
    let journal_w = column(&report.crates, |c| journal_text(c.journal).len(), "journal");
    writeln!(
        out,
        "  {:name_w$}  {:version_w$}  {:journal_w$}  registry",
        "crate", "version", "journal"
    )?;
    for c in &report.crates {
        writeln!(
            out,
            "  {:name_w$}  {:version_w$}  {:journal_w$}  {}",
            c.name,
            c.version,
            journal_text(c.journal),
            registry_text(&c.registry)
        )?;
    }
    writeln!(
        out,
        "Next: {}",
        next_text(
            &report.next,
            &report.publish_command,
            &report.resume_command
        )
    )?;
    if let Some(yank) = &report.yank {
        yank_run(yank, out)?;
    }
    Ok(())
}

/// The yank run left in the state directory: where each version stands
/// and how to finish it.
fn yank_run(yank: &YankRunSummary, out: &mut dyn Write) -> io::Result<()> {
    let verb = if yank.undo { "Unyank" } else { "Yank" };
    let state = match (yank.active, yank.outcome) {
        (true, _) => "running now",
        (false, None) => "interrupted",
        (false, Some(YankOutcome::Success)) => "finished",
        (false, Some(YankOutcome::Interrupted)) => "stopped by a signal",
        (false, Some(YankOutcome::StoppedForLater)) => "stopped by `--stop-after`",
        (false, Some(_)) => "stopped with versions left",
    };
    writeln!(
        out,
        "\n{verb} run: yank plan {} in `{}`, {state}; {} of {} version(s) done, {} run(s)",
        &yank.yank_plan_id[..12.min(yank.yank_plan_id.len())],
        yank.registry,
        yank.done,
        yank.versions.len(),
        yank.runs
    )?;
    let name_w = yank
        .versions
        .iter()
        .map(|v| v.name.len())
        .max()
        .unwrap_or(0);
    let version_w = yank
        .versions
        .iter()
        .map(|v| v.version.len())
        .max()
        .unwrap_or(0);
    for v in &yank.versions {
        let status = match v.status {
            YankStatus::Pending => "pending",
            YankStatus::Requested => "requested (outcome unknown; the index settles it)",
            YankStatus::Accepted => "accepted, not yet in the index",
            YankStatus::Done if yank.undo => "unyanked",
            YankStatus::Done => "yanked",
            YankStatus::AlreadyInRegistry => "already in the wanted state",
            YankStatus::LeftAsFound => "left yanked (yanked before the yank run)",
            YankStatus::Failed => "failed",
        };
        write!(
            out,
            "  {:name_w$}  {:version_w$}  {status}",
            v.name, v.version
        )?;
        match &v.last_error {
            Some(error) if !v.status.is_done() => writeln!(out, ": {error}")?,
            _ => writeln!(out)?,
        }
    }
    if !yank.active && yank.outcome != Some(YankOutcome::Success) {
        writeln!(
            out,
            "Next for it: `cargo shipper yank --plan {}{}` finishes it (the journal resumes it)",
            yank.plan_file.as_deref().unwrap_or("FILE"),
            if yank.undo { " --undo" } else { "" }
        )?;
    }
    Ok(())
}

fn column(crates: &[CrateRow], len: impl Fn(&CrateRow) -> usize, title: &str) -> usize {
    crates.iter().map(len).max().unwrap_or(0).max(title.len())
}

fn run_text(run: Option<&RunSummary>) -> String {
    let Some(run) = run else {
        return "none in progress".into();
    };
    let state = match (run.active, run.outcome) {
        (true, _) => "running now".to_owned(),
        (false, None) => "interrupted".to_owned(),
        (false, Some(RunOutcome::Success)) => "finished (archived by the next publish)".to_owned(),
        (false, Some(RunOutcome::Partial)) => "stopped with some crates out".to_owned(),
        (false, Some(RunOutcome::NothingUploaded)) => "stopped with nothing uploaded".to_owned(),
        (false, Some(RunOutcome::Unknown)) => {
            "stopped (as a newer cargo-shipper recorded)".to_owned()
        }
        (false, Some(RunOutcome::NeedsOperator)) => {
            "stopped: an upload's outcome is unknown".to_owned()
        }
        (false, Some(RunOutcome::Interrupted)) => "stopped by a signal".to_owned(),
    };
    format!(
        "plan {}, {state}; {} run(s), {} event(s)",
        &run.plan_id[..12],
        run.runs,
        run.last_seq
    )
}

fn journal_text(status: Option<CrateStatus>) -> &'static str {
    match status {
        None => "-",
        Some(CrateStatus::Pending) => "pending",
        Some(CrateStatus::Packaged) => "packaged",
        Some(CrateStatus::Uploading) => "uploading (outcome unknown)",
        Some(CrateStatus::Uploaded) => "uploaded, not yet visible",
        Some(CrateStatus::Published) => "published",
        Some(CrateStatus::AlreadyPresent) => "already present",
        Some(CrateStatus::Failed) => "failed",
        Some(CrateStatus::Blocked) => "blocked",
        Some(CrateStatus::Ambiguous) => "outcome unknown",
    }
}

fn registry_text(truth: &RegistryTruth) -> String {
    match truth {
        RegistryTruth::Present {
            yanked,
            matches_journal,
            ..
        } => {
            let mut text = if *yanked { "yanked" } else { "present" }.to_owned();
            match matches_journal {
                Some(true) => text.push_str(" (the journal's upload)"),
                Some(false) => text.push_str(" (OTHER content than the journal's upload)"),
                None => {}
            }
            text
        }
        RegistryTruth::Absent => "absent".into(),
        RegistryTruth::Unknown { error: None } => "not asked".into(),
        RegistryTruth::Unknown { error: Some(e) } => format!("unknown ({e})"),
    }
}

/// `publish`, `resume`: the commands as they must be typed.
fn next_text(next: &NextAction, publish: &str, resume: &str) -> String {
    let crates = |n: usize| format!("{n} crate{}", if n == 1 { "" } else { "s" });
    match next {
        NextAction::Nothing => {
            "nothing to publish: every crate of the plan is in the registry".into()
        }
        NextAction::Publish { upload } => {
            format!("`{publish}` will upload {}", crates(*upload))
        }
        NextAction::Resume {
            upload,
            settle: 0,
            wait: 0,
        } => {
            format!("`{resume}` will upload {}", crates(*upload))
        }
        NextAction::Resume {
            upload: 0,
            settle,
            wait: 0,
        } => format!(
            "`{resume}` will ask the registry about {settle} upload(s) of unknown outcome; nothing else is left to upload"
        ),
        NextAction::Resume {
            upload,
            settle,
            wait: 0,
        } => format!(
            "`{resume}` will first ask the registry about {settle} upload(s) of unknown outcome, then upload up to {}",
            crates(*upload)
        ),
        NextAction::Resume {
            upload,
            settle,
            wait,
        } => {
            let mut steps = Vec::new();
            if *settle > 0 {
                steps.push(format!(
                    "ask the registry about {settle} upload(s) of unknown outcome"
                ));
            }
            steps.push(format!(
                "wait for the index to show {} the registry already accepted (not uploaded again)",
                crates(*wait)
            ));
            match (*upload, *settle) {
                (0, _) => {}
                (n, 0) => steps.push(format!("upload {}", crates(n))),
                (n, _) => steps.push(format!("upload up to {}", crates(n))),
            }
            let tail = if *upload == 0 {
                "; nothing is left to upload"
            } else {
                ""
            };
            format!("`{resume}` will {}{tail}", steps.join(", then "))
        }
        NextAction::Running => {
            "a release is running: follow it with `cargo shipper status --events --follow`".into()
        }
        NextAction::PlanChanged { journal_plan } => format!(
            "the state directory holds a run of another plan ({}): restore the workspace to that release \
             and `{resume}`, or `{publish} --abandon-unfinished`",
            &journal_plan[..12]
        ),
        NextAction::Unknown => "unknown: the registry was not asked".into(),
    }
}

pub fn json(report: &StatusReport, out: &mut dyn Write) -> io::Result<()> {
    #[derive(Serialize)]
    struct Document<'a> {
        format: u32,
        #[serde(flatten)]
        report: &'a StatusReport,
    }
    serde_json::to_writer_pretty(
        &mut *out,
        &Document {
            format: STATUS_JSON_FORMAT,
            report,
        },
    )?;
    writeln!(out)
}

/// One journal record as a line: sequence number, UTC time, what happened.
pub fn event_line(record: &Record) -> String {
    let secs = record.at_ms / 1000;
    let time = format!(
        "{:02}:{:02}:{:02}.{:03}",
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60,
        record.at_ms % 1000
    );
    let text =
        human_line(&record.event, &Default::default()).unwrap_or_else(|| match &record.event {
            Event::RunFinished { outcome } => format!(
                "{:>12} {}",
                "Finished",
                match outcome {
                    RunOutcome::Success => "the release is out",
                    RunOutcome::Partial => "some crates are out; `cargo shipper resume` finishes",
                    RunOutcome::NothingUploaded => "nothing was uploaded",
                    RunOutcome::NeedsOperator =>
                        "an upload's outcome is unknown: check the registry",
                    RunOutcome::Interrupted =>
                        "stopped by a signal; `cargo shipper resume` continues",
                    RunOutcome::Unknown => "as a newer cargo-shipper recorded",
                }
            ),
            _ => format!("{:>12} (an event this version does not know)", "Unknown"),
        });
    format!("#{:<4} {time}Z {}", record.seq, text.trim_start())
}

/// Records as readable lines, or as JSON lines (`events.jsonl`'s own form).
pub fn events(records: &[Record], json: bool, out: &mut dyn Write) -> io::Result<()> {
    for record in records {
        if json {
            serde_json::to_writer(&mut *out, record)?;
            writeln!(out)?;
        } else {
            writeln!(out, "{}", event_line(record))?;
        }
    }
    out.flush()
}

/// Said on stderr when `--events` found no run to show.
pub fn no_run() {
    eprintln!(
        "no run in the state directory: nothing to show (finished runs are under `archive/`)"
    );
}
