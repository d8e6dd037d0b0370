//! Rendering a rehearsal: the run's events as `publish` shows them (reworded
//! where a rehearsal means something else: "would skip, already on
//! crates-io"), what the live target said, and one closing verdict line.
//! With `--message-format json`, the same as JSON lines on stdout.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::io::Write;
use std::rc::Rc;

use crate::journal::{Event, LiveCheck, RehearsalRegistry, RehearsedOutcome, SkipReason, Verdict};
use crate::ops::{Progress, RehearsalReport};
use crate::report::publish::Reporter;

pub struct RehearsalReporter {
    inner: Reporter,
    json: bool,
    quiet: bool,
    /// Plan crates the live target has, and its name (shared with the rewrite).
    on_live: Rc<RefCell<(String, BTreeSet<String>)>>,
    /// `-v`: a failed step's whole cargo output too, not only its summary.
    verbose: bool,
}

impl RehearsalReporter {
    pub fn new(json: bool, quiet: bool, verbose: bool) -> Self {
        let on_live: Rc<RefCell<(String, BTreeSet<String>)>> = Rc::default();
        let seen = on_live.clone();
        let inner = Reporter::new(json, quiet).with_rewrite(Box::new(move |event| {
            let status = |verb: &str, rest: String| Some(format!("{verb:>12} {rest}"));
            match event {
                Event::RunStarted {
                    plan_id,
                    crates,
                    run,
                    ..
                } => status(
                    "Rehearsing",
                    format!(
                        "{} crate{} (plan {} for the live target{})",
                        crates.len(),
                        if crates.len() == 1 { "" } else { "s" },
                        plan_id.short(),
                        if *run > 1 {
                            format!(", run {run}")
                        } else {
                            String::new()
                        }
                    ),
                ),
                Event::Skipped {
                    name,
                    version,
                    reason: SkipReason::AlreadyInRegistry { .. },
                } => {
                    let seen = seen.borrow();
                    if seen.1.contains(name) {
                        status(
                            "Would skip",
                            format!("{name} {version}, already on {}", seen.0),
                        )
                    } else {
                        status(
                            "Skipping",
                            format!("{name} {version}: already in the rehearsal registry"),
                        )
                    }
                }
                // A rehearsal is not resumed: it is run again.
                Event::Stopping { in_flight: 0, .. } => status(
                    "Stopping",
                    "on a signal: nothing new starts; the rehearsal ends here".into(),
                ),
                _ => None,
            }
        }));
        let inner = inner.verbose(verbose);
        RehearsalReporter {
            inner,
            json,
            quiet,
            on_live,
            verbose,
        }
    }

    pub fn progress(&mut self, progress: Progress<'_>) {
        match progress {
            Progress::Event(record) => self.inner.event(record),
            Progress::LevelPackaged(level) => self.inner.level_packaged(&level),
            Progress::LiveChecked { target, findings } => {
                *self.on_live.borrow_mut() = (
                    target.display_name().to_owned(),
                    findings.present.keys().cloned().collect(),
                );
                if self.json {
                    json_line(&serde_json::json!({
                        "kind": "live_checked",
                        "target": target.key,
                        "check": findings.check,
                        "present": findings.present,
                    }));
                    return;
                }
                match &findings.check {
                    LiveCheck::Checked => self.line(format!(
                        "{:>12} `{}`: {} of the plan's versions already there",
                        "Checked",
                        target.display_name(),
                        findings.present.len()
                    )),
                    LiveCheck::Unreachable { error } => self.inner.line(&format!(
                        "warning: could not ask `{}` which versions it has ({error}); \
                         every crate is rehearsed as new (`publish` asks again)",
                        target.display_name()
                    )),
                }
            }
            Progress::DrillInterrupting { n, seed } => {
                if self.json {
                    json_line(&serde_json::json!({
                        "kind": "drill_interrupting",
                        "after_uploads": n,
                        "seed": seed,
                    }));
                    return;
                }
                let seed = seed.map_or(String::new(), |s| format!(" (drawn from seed {s})"));
                self.line(format!(
                    "{:>12} the rehearsal will be aborted after upload {n}{seed}, as a crash would",
                    "Drill"
                ));
            }
            Progress::DrillResuming => {
                if self.json {
                    json_line(&serde_json::json!({ "kind": "drill_resuming" }));
                    return;
                }
                self.line(format!(
                    "{:>12} the rehearsal was interrupted; resuming it",
                    "Drill"
                ));
            }
            Progress::ConsumerBuildStarted { crates, pinned } => {
                if self.json {
                    json_line(&serde_json::json!({
                        "kind": "consumer_build_started",
                        "crates": crates,
                        "pinned": pinned,
                    }));
                    return;
                }
                let how = match (pinned, crates - pinned) {
                    (_, 0) => "at `=version`".to_owned(),
                    (0, _) => "at `^version` (none uploaded by this rehearsal)".to_owned(),
                    (p, rest) => format!(
                        "({p} uploaded at `=version`, {rest} published before at `^version`)"
                    ),
                };
                self.inner.phase(&format!(
                    "consumer build of {crates} library crate{}",
                    if crates == 1 { "" } else { "s" }
                ));
                self.line(format!(
                    "{:>12} a consumer crate that depends on the {crates} library crate{} {how}",
                    "Checking",
                    if crates == 1 { "" } else { "s" }
                ));
            }
            Progress::ConsumerBuildFinished(step) => {
                if self.json {
                    json_line(&serde_json::json!({
                        "kind": "consumer_build_finished",
                        "result": step,
                    }));
                    return;
                }
                if step.passed {
                    self.line(format!(
                        "{:>12} consumer build in {:.1}s",
                        "Passed",
                        step.ms as f64 / 1000.0
                    ));
                }
            }
            Progress::SmokeInstallStarted { crates } => {
                if self.json {
                    json_line(&serde_json::json!({
                        "kind": "smoke_install_started",
                        "crates": crates,
                    }));
                    return;
                }
                self.inner.phase(&format!(
                    "smoke install of {crates} binary crate{}",
                    if crates == 1 { "" } else { "s" }
                ));
                self.line(format!(
                    "{:>12} the {crates} binary crate{} from the rehearsal registry into a temporary root",
                    "Installing",
                    if crates == 1 { "" } else { "s" }
                ));
            }
            Progress::SmokeInstallFinished(step) => {
                if self.json {
                    json_line(&serde_json::json!({
                        "kind": "smoke_install_finished",
                        "result": step,
                    }));
                    return;
                }
                if step.passed {
                    self.line(format!(
                        "{:>12} smoke install in {:.1}s",
                        "Passed",
                        step.ms as f64 / 1000.0
                    ));
                }
            }
            Progress::RegistryReady { registry, index } => {
                if self.json {
                    json_line(&serde_json::json!({
                        "kind": "rehearsal_registry",
                        "registry": registry,
                        "index": index,
                    }));
                    return;
                }
                // The embedded one by the name cargo's own lines (`-v`) give it.
                let stand_in = crate::ops::STAND_IN_NAME;
                let what = match registry {
                    RehearsalRegistry::Embedded { .. } => {
                        format!("`{stand_in}` (embedded) at {index}")
                    }
                    RehearsalRegistry::Named { name, .. } => format!("`{name}` at {index}"),
                    // Named by its URL, as given (and as cargo names it).
                    RehearsalRegistry::Index { .. } => index.to_string(),
                };
                self.line(format!("{:>12} {what}", "Registry"));
            }
        }
    }

    /// The rehearsal ended without a record to show (an error, a signal):
    /// clear the progress bar before the error is printed.
    pub fn abandon(&mut self) {
        self.inner.stop();
    }

    /// What failed, then one verdict line (on success; a failure's verdict
    /// is the error line the caller prints last).
    pub fn finish(&mut self, report: &RehearsalReport) {
        self.inner.stop();
        let record = &report.record;
        if self.json {
            json_line(&serde_json::json!({
                "kind": "rehearsal_finished",
                "verdict": record.verdict,
                "path": report.path,
                "kept": report.kept,
                "record": record,
            }));
            return;
        }
        let count = |o: RehearsedOutcome| record.crates.iter().filter(|c| c.outcome == o).count();
        if let Some(kept) = &report.kept {
            self.line(format!(
                "{:>12} the rehearsal registry's data in {}; serve it again with `{}`",
                "Kept",
                kept.display(),
                crate::ops::NextCommand::new("registry")
                    .flag("serve")
                    .arg("--root", &kept.display().to_string())
            ));
        }
        if record.verdict == Verdict::Failed {
            for failure in &record.failures {
                eprintln!("  failed: {}", failure.replace('\n', "\n    "));
            }
            // The summary was said; with -v, cargo's own words as well.
            if let Some(step) = &record.consumer_build
                && self.verbose
                && step.summary.is_some()
                && let Some(message) = &step.message
            {
                eprintln!(
                    "  cargo's output (consumer build):\n    {}",
                    message.replace('\n', "\n    ")
                );
            }
            return;
        }
        let secs = record.duration_ms as f64 / 1000.0;
        let mut parts = vec![format!("{} uploaded", count(RehearsedOutcome::Uploaded))];
        let would_skip = count(RehearsedOutcome::OnLiveTarget);
        if would_skip > 0 {
            parts.push(format!(
                "{would_skip} would skip (already on {})",
                report.live_name
            ));
        }
        let held = count(RehearsedOutcome::InRehearsalRegistry);
        if held > 0 {
            parts.push(format!("{held} already in the rehearsal registry"));
        }
        if let Some(drill) = &record.drill {
            parts.push(format!(
                "interruption drill after {} upload{} passed",
                drill.interrupt_after,
                if drill.interrupt_after == 1 { "" } else { "s" }
            ));
        }
        if let Some(install) = &record.smoke_install {
            parts.push(format!(
                "smoke install {}",
                if install.passed { "passed" } else { "failed" }
            ));
        }
        if let Some(consumer) = &record.consumer_build {
            parts.push(format!(
                "consumer build {}",
                if consumer.passed { "passed" } else { "failed" }
            ));
        }
        // Printed even with -q: it is the result. The time is the whole
        // rehearsal's; each step said its own.
        eprintln!(
            "Rehearsal passed in {secs:.1}s: plan {}, {}; record: {}",
            record.plan_id.short(),
            parts.join(", "),
            super::shown_path(&report.path)
        );
        if !self.quiet {
            eprintln!("{:>12} `{}` ships exactly these bytes", "Next", report.next);
        }
    }

    fn line(&self, line: String) {
        if !self.quiet {
            self.inner.line(&line);
        }
    }
}

fn json_line(value: &serde_json::Value) {
    let mut out = std::io::stdout().lock();
    let _ = serde_json::to_writer(&mut out, value);
    let _ = writeln!(out);
    let _ = out.flush();
}
