//! Rendering a publish run: the event stream as cargo-style status lines
//! on stderr (with a progress bar when stderr is a terminal and not CI) or
//! as JSON lines on stdout; a closing summary; a Markdown table appended to
//! `$GITHUB_STEP_SUMMARY` when set.

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use super::github;
use super::token;
use crate::journal::{CrateStatus, Event, Record, RunOutcome, RunState, SetAsideWhy, SkipReason};
use crate::model::{Coded, FailureClass};
use crate::ops::{LevelPackaged, PublishReport, RunFailed, Step};

pub struct Reporter {
    json: bool,
    /// `-q`: warnings and the outcome only.
    quiet: bool,
    /// `-v`: each upload's start too.
    verbose: bool,
    /// Whether a progress bar may be drawn (a terminal, not CI, not JSON).
    interactive: bool,
    /// The one bar, from the run's start to its end (a rehearsal's consumer
    /// build included); every line, cargo's too, is printed above it
    /// (`term`).
    bar: Option<ProgressBar>,
    /// Crates in the run, and those already out, for the bar.
    total: u64,
    out: u64,
    started: Instant,
    /// Uploaded crates the index did not confirm in time.
    unconfirmed: BTreeSet<String>,
    /// Another wording for some events (a rehearsal's); `None` keeps the default.
    rewrite: Option<Rewrite>,
    /// The registry token's lifecycle (trusted publishing), for the step summary.
    token_lines: Vec<String>,
    /// Stopping on a signal: uploads still in flight.
    stopping: Option<u32>,
    /// The bar counts crates packaged (and verified), not crates out.
    packaging: bool,
    /// The registry by the name people give it (the journal keeps its key).
    registry: Option<String>,
}

/// Returns the line to print instead of the default one, if any.
pub type Rewrite = Box<dyn FnMut(&Event) -> Option<String>>;

impl Reporter {
    pub fn new(json: bool, quiet: bool) -> Self {
        let interactive = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        Reporter {
            json,
            quiet,
            verbose: false,
            interactive: interactive && !json && !quiet,
            bar: None,
            total: 0,
            out: 0,
            started: Instant::now(),
            unconfirmed: BTreeSet::new(),
            rewrite: None,
            token_lines: Vec::new(),
            stopping: None,
            packaging: false,
            registry: None,
        }
    }

    pub fn step(&mut self, step: Step<'_>) {
        match step {
            Step::Registry(name) => self.registry = Some(name.to_owned()),
            Step::Event(record) => self.event(record),
            Step::LevelPackaged(level) => self.level_packaged(&level),
        }
    }

    /// A plan level packaged (and verified): the bar counts the crates
    /// packaged until the first is ready; without a bar, a plain line
    /// (packaging and verifying can take minutes, with nothing else said).
    /// Not journaled: no JSON line.
    pub fn level_packaged(&mut self, level: &LevelPackaged<'_>) {
        if self.json || self.quiet {
            return;
        }
        let Some(bar) = &self.bar else {
            super::term::line(&level_line(level));
            return;
        };
        if !self.packaging {
            self.packaging = true;
            bar.set_style(packaging_style(level.verified));
            bar.set_length(level.total as u64);
            bar.reset_eta();
        }
        bar.set_position(level.done as u64);
        bar.set_message(match level.done < level.total {
            true => format!("after {}", level.crates.join(", ")),
            false => "all packaged".to_owned(),
        });
    }

    /// `-v`: show each upload's start as well.
    pub fn verbose(mut self, verbose: bool) -> Self {
        self.verbose = verbose;
        self
    }

    pub fn with_rewrite(mut self, rewrite: Rewrite) -> Self {
        self.rewrite = Some(rewrite);
        self
    }

    /// Clear the progress bar; print no summary (the caller prints its own).
    pub fn stop(&mut self) {
        if let Some(bar) = self.bar.take() {
            super::term::set_bar(None);
            bar.finish_and_clear();
        }
    }

    /// What the run does now, on the bar (a rehearsal's consumer build).
    pub fn phase(&mut self, what: &str) {
        if let Some(bar) = &self.bar {
            bar.set_style(bar_style(false));
            bar.set_message(what.to_owned());
        }
    }

    /// A line of the caller's, above the bar when there is one.
    pub fn line(&self, line: &str) {
        super::term::line(line);
    }

    fn start_bar(&mut self) {
        if !self.interactive || self.bar.is_some() {
            return;
        }
        let bar = ProgressBar::new(self.total);
        bar.set_style(bar_style(false));
        bar.set_position(self.out);
        bar.set_message("checking the registry, packaging and verifying");
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        super::term::set_bar(Some(bar.clone()));
        self.bar = Some(bar);
    }

    pub fn event(&mut self, record: &Record) {
        if let Event::Token(event) = &record.event {
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
        if self.packaging
            && let Some(bar) = &self.bar
        {
            // Packaging is over: back to counting crates out.
            self.packaging = false;
            bar.set_style(bar_style(false));
            bar.set_length(self.total);
            bar.set_position(self.out);
            bar.reset_eta();
            bar.set_message("ready to upload");
        }
        match &record.event {
            Event::RunStarted { crates, done, .. } => {
                self.total = crates.len() as u64;
                self.out = u64::from(*done);
                self.start_bar();
            }
            Event::Visible { .. }
            | Event::Skipped {
                reason: SkipReason::AlreadyDone | SkipReason::AlreadyInRegistry { .. },
                ..
            } => self.out += 1,
            Event::UploadStarted { name, .. } => {
                if let Some(bar) = &self.bar {
                    // From the first upload on, a rate to tell an ETA by.
                    bar.set_style(bar_style(true));
                    bar.set_message(format!("uploading {name}"));
                }
            }
            Event::UploadSucceeded { name, .. } => {
                if let Some(bar) = &self.bar {
                    bar.set_message(format!("confirming {name} in the index"));
                }
            }
            Event::RunFinished { .. } => {
                if let Some(bar) = &self.bar {
                    bar.set_message("run finished");
                }
            }
            Event::Paced { name, wait_ms, .. } => {
                if let Some(bar) = &self.bar {
                    bar.set_message(format!(
                        "rate limit: next upload ({name}) in {}",
                        human_duration(*wait_ms)
                    ));
                }
            }
            Event::Stopping { in_flight, .. } => {
                self.stopping = Some(*in_flight);
                if let Some(bar) = &self.bar {
                    bar.set_message(format!("stopping: {}", waiting_for(*in_flight)));
                }
            }
            _ => {}
        }
        if let Some(bar) = &self.bar {
            bar.set_position(self.out);
        }
        let still = match (&record.event, self.stopping.as_mut()) {
            (Event::UploadSucceeded { .. } | Event::UploadFailed { .. }, Some(n)) if *n > 0 => {
                *n -= 1;
                Some(*n)
            }
            _ => None,
        };
        if let Event::VisibilityTimedOut { name, .. } = &record.event {
            self.unconfirmed.insert(name.clone());
        }
        // An upload's start says little the lines after it do not (`-v`
        // shows it; a retry says which attempt).
        if let Event::UploadStarted { attempt: 1, .. } = &record.event
            && !self.verbose
        {
            return;
        }
        let rewritten = self.rewrite.as_mut().and_then(|f| f(&record.event));
        let named = || match (&record.event, &self.registry) {
            (Event::RunStarted { .. }, Some(name)) => run_started_line(&record.event, name),
            _ => human_line(&record.event, &self.unconfirmed),
        };
        let Some(line) = rewritten.or_else(named) else {
            return;
        };
        if self.quiet && !line.starts_with("warning:") {
            return;
        }
        super::term::line(&line);
        if let Some(n) = still.filter(|n| *n > 0) {
            match &self.bar {
                Some(bar) => bar.set_message(format!("stopping: {}", waiting_for(n))),
                None => super::term::line(&format!("{:>12} {}", "Stopping", waiting_for(n))),
            }
        }
    }

    pub fn finish(&mut self, result: &anyhow::Result<PublishReport>) {
        self.stop();
        if let Ok(report) = result {
            if !self.json && !self.quiet {
                let secs = self.started.elapsed().as_secs_f64();
                let out = report
                    .state
                    .crates
                    .values()
                    .filter(|c| c.status == CrateStatus::Published)
                    .count();
                let uploaded_nothing = !report.state.any_uploaded();
                match &report.receipt {
                    Some(receipt) if uploaded_nothing => {
                        eprintln!(
                            "{:>12} nothing to upload: every crate of the plan is already in the registry; receipt: {}",
                            "Finished",
                            super::shown_path(receipt)
                        );
                        match &report.latest_release {
                            Some(release) => eprintln!(
                                "{:>12} `latest` still names the release that uploaded them: {}",
                                "Note",
                                super::shown_path(release)
                            ),
                            None => eprintln!(
                                "{:>12} no run under this state directory uploaded anything: `plan-yank --from-receipt latest` has no release to plan from",
                                "Note"
                            ),
                        }
                    }
                    Some(receipt) => eprintln!(
                        "{:>12} {out} crate{} in {secs:.1}s; receipt: {}",
                        "Finished",
                        if out == 1 { "" } else { "s" },
                        super::shown_path(receipt)
                    ),
                    None => eprintln!("{:>12} dry run: nothing was uploaded", "Finished"),
                }
            }
            if let Some(why) = &report.archive_failed {
                // Even with `-q` or JSON: the next run depends on it.
                eprintln!(
                    "warning: the release went out, but the finished run could not be archived: {why}"
                );
            }
            step_summary(
                Some((&report.state, report.outcome)),
                None,
                &self.token_lines,
            );
        }
        // A failed run writes its summary too: that is when people read it.
        if let Err(error) = result {
            let failed = Coded::find::<RunFailed>(error);
            step_summary(
                failed.map(|f| (&*f.state, f.outcome)),
                Some(error),
                &self.token_lines,
            );
            github::annotate(error, || annotations(failed.map(|f| &*f.state), error));
        }
    }
}

/// `unconfirmed`: crates uploaded whose confirmation timed out.
pub(crate) fn human_line(event: &Event, unconfirmed: &BTreeSet<String>) -> Option<String> {
    let status = |verb: &str, rest: String| Some(format!("{verb:>12} {rest}"));
    match event {
        Event::RunStarted {
            registry,
            selection,
            ..
        } => run_started_line(event, selection.registry.as_deref().unwrap_or(registry)),
        Event::JournalRepaired {
            dropped_bytes,
            saved_to,
        } => Some(torn_warning(*dropped_bytes, saved_to)),
        Event::SetAside {
            plan_id,
            reason,
            archived_as,
        } => status(
            "Set aside",
            format!(
                "the unfinished run of plan {plan_id} ({}); kept in archive/{archived_as}",
                match reason {
                    SetAsideWhy::Abandoned => "--abandon-unfinished",
                    SetAsideWhy::NothingUploaded => "another plan's, which uploaded nothing",
                    SetAsideWhy::Superseded => "an earlier rehearsal's",
                    SetAsideWhy::Other => "by a newer cargo-shipper's rule",
                }
            ),
        ),
        Event::Skipped {
            name,
            version,
            reason,
        } => match reason {
            SkipReason::AlreadyDone => status(
                "Skipping",
                format!("{name} {version}: published earlier in this release"),
            ),
            SkipReason::AlreadyInRegistry { .. } => status(
                "Skipping",
                format!("{name} {version}: already in the registry"),
            ),
            SkipReason::DependencyFailed { dependency } if unconfirmed.contains(dependency) => {
                status(
                    "Blocked",
                    format!(
                        "{name} {version}: needs {dependency}, which is uploaded but not yet confirmed in the index"
                    ),
                )
            }
            SkipReason::DependencyFailed { dependency } => status(
                "Blocked",
                format!("{name} {version}: needs {dependency}, which did not go out"),
            ),
            SkipReason::Other => status(
                "Skipping",
                format!("{name} {version} (a reason a newer cargo-shipper recorded)"),
            ),
        },
        Event::ContentDiffers {
            name,
            version,
            files,
            ..
        } => status(
            "Changed",
            format!(
                "{name} {version}: the registry holds this version with other content ({} differ{}); bump the version",
                files.join(", "),
                if files.len() == 1 { "s" } else { "" }
            ),
        ),
        // Not cargo's "Packaged N files": the `.crate` is made (and
        // verified) and ready to upload.
        Event::Packaged {
            name,
            version,
            sha256,
            bytes,
            ..
        } => status(
            "Ready",
            format!(
                "{name} {version} ({}sha256 {})",
                bytes.map_or(String::new(), |b| format!("{}, ", human_bytes(b))),
                &sha256[..12.min(sha256.len())]
            ),
        ),
        Event::PacingPlanned {
            new_crates,
            new_versions,
            eta_ms,
        } => status(
            "Pacing",
            format!(
                "{new_crates} new crate(s), {new_versions} new version(s); the registry's rate limits add about {}",
                human_duration(*eta_ms)
            ),
        ),
        Event::Paced { name, wait_ms, .. } => status(
            "Waiting",
            format!(
                "{} for the registry's rate limit before {name}",
                human_duration(*wait_ms)
            ),
        ),
        Event::UploadStarted {
            name,
            version,
            attempt,
            ..
        } => status(
            "Uploading",
            if *attempt > 1 {
                format!("{name} {version} (attempt {attempt})")
            } else {
                format!("{name} {version}")
            },
        ),
        Event::UploadSucceeded {
            name, version, ms, ..
        } => status(
            "Uploaded",
            format!("{name} {version} in {}", human_duration(*ms)),
        ),
        Event::UploadFailed {
            name,
            version,
            class,
            message,
            ..
        } => Some(format!(
            "warning: upload of {name} {version} failed ({}): {message}",
            match class {
                FailureClass::Retryable => "retryable",
                FailureClass::RateLimited => "rate limited",
                FailureClass::Ambiguous | FailureClass::Unknown => {
                    "may have landed; asking the registry"
                }
                FailureClass::Permanent => "permanent",
            }
        )),
        Event::Reconciled {
            name,
            version,
            found_sha256,
            by_operator: false,
        } => status(
            "Reconciled",
            match found_sha256 {
                Some(_) => format!("{name} {version}: the registry has it"),
                None => format!("{name} {version}: the registry does not have it"),
            },
        ),
        Event::Reconciled {
            name,
            version,
            found_sha256,
            by_operator: true,
        } => status(
            "Assumed",
            match found_sha256 {
                Some(_) => format!(
                    "{name} {version}: uploaded, as the operator says (confirmed in the index before its dependents go out)"
                ),
                None => format!(
                    "{name} {version}: not uploaded, as the operator says (it is uploaded again)"
                ),
            },
        ),
        Event::SettleWaiting {
            name,
            version,
            wait_ms,
        } => status(
            "Settling",
            format!(
                "{name} {version}: not in the registry yet, and an earlier upload of it may still land; \
                 asking again for up to {} before uploading it",
                human_duration(*wait_ms)
            ),
        ),
        Event::Unsettled {
            name,
            version,
            error,
            refused_as_existing: Some(_),
        } => Some(format!(
            "error: the registry contradicts itself about {name} {version}: {error}. It is left alone \
             (not uploaded again): check the registry; if it holds this release's {name} {version}, \
             `cargo shipper resume --assume-uploaded {name}@{version}`; if it holds a broken \
             version, remove it there, then `cargo shipper resume`"
        )),
        Event::Unsettled {
            name,
            version,
            error,
            refused_as_existing: None,
        } => Some(format!(
            "warning: could not learn from the registry whether {name} {version} landed ({error}); \
             it is left alone: check the registry, then `cargo shipper resume` (after checking by hand: \
             `cargo shipper resume --assume-not-uploaded {name}@{version}`, or `--assume-uploaded {name}@{version}`)"
        )),
        Event::Visible { name, version, ms } => status(
            "Published",
            format!(
                "{name} {version} (in the index after {})",
                human_duration(*ms)
            ),
        ),
        Event::IndexFailing {
            name,
            version,
            error,
        } => Some(format!(
            "warning: the registry index is failing ({error} for {name}); {name} {version} was uploaded, \
             still waiting for the index to show it (up to --confirm-timeout)"
        )),
        Event::VisibilityTimedOut {
            name,
            version,
            waited_ms,
            index_error: Some(error),
        } => Some(format!(
            "warning: {name} {version} was uploaded, but the index could not confirm it in {}: it answered {error}; \
             `cargo shipper resume` checks again (it never uploads it twice)",
            human_duration(*waited_ms)
        )),
        Event::VisibilityTimedOut {
            name,
            version,
            waited_ms,
            index_error: None,
        } => Some(format!(
            "warning: {name} {version} was uploaded but is not in the index after {}; `cargo shipper resume` checks again",
            human_duration(*waited_ms)
        )),
        Event::WouldUpload { name, version } => status("Would upload", format!("{name} {version}")),
        Event::Token(event) => Some(token::human_line(event)),
        Event::Stopping { in_flight: 0, .. } => status(
            "Stopping",
            "on a signal: nothing new starts; `cargo shipper resume` continues".into(),
        ),
        Event::Stopping {
            in_flight,
            grace_ms,
        } => status(
            "Stopping",
            format!(
                "on a signal: nothing new starts; {} in flight (up to {}; a second signal stops at once)",
                waiting_for(*in_flight),
                human_duration(*grace_ms)
            ),
        ),
        Event::RunFinished { .. } | Event::Unknown => None,
    }
}

/// The progress bar's look: while preparing (no rate yet), or uploading,
/// with an ETA from the rate crates go out at.
fn bar_style(uploading: bool) -> ProgressStyle {
    let template = match uploading {
        true => "{spinner} [{bar:30}] {pos}/{len} crates out, {elapsed} (ETA {eta})  {msg}",
        false => "{spinner} [{bar:30}] {pos}/{len} crates out, {elapsed}  {msg}",
    };
    ProgressStyle::with_template(template)
        .expect("valid template")
        .progress_chars("=> ")
}

/// `Publishing …` (or `Resuming …`) for a `RunStarted` event, the registry
/// named `registry`.
fn run_started_line(event: &Event, registry: &str) -> Option<String> {
    let status = |verb: &str, rest: String| Some(format!("{verb:>12} {rest}"));
    match event {
        Event::RunStarted {
            plan_id,
            run,
            crates,
            done,
            ..
        } => {
            let plural = |n: usize| if n == 1 { "" } else { "s" };
            let total = crates.len();
            if *run > 1 {
                // What is left, not the plan's size: that is what this run does.
                let left = total.saturating_sub(*done as usize);
                status(
                    "Resuming",
                    format!(
                        "{left} crate{} left of {total} ({done} out) to `{registry}` (plan {}, run {run})",
                        plural(left),
                        plan_id.short()
                    ),
                )
            } else {
                status(
                    "Publishing",
                    format!(
                        "{total} crate{} to `{registry}` (plan {})",
                        plural(total),
                        plan_id.short()
                    ),
                )
            }
        }
        _ => None,
    }
}

/// While packaging: crates packaged (and verified) of those to package.
fn packaging_style(verified: bool) -> ProgressStyle {
    let template = match verified {
        true => {
            "{spinner} [{bar:30}] {pos}/{len} crates packaged and verified, {elapsed} (ETA {eta})  {msg}"
        }
        false => "{spinner} [{bar:30}] {pos}/{len} crates packaged, {elapsed} (ETA {eta})  {msg}",
    };
    ProgressStyle::with_template(template)
        .expect("valid template")
        .progress_chars("=> ")
}

/// A plan level packaged, as a plain line: the count, then its crates (the
/// first three of a wide level).
pub(crate) fn level_line(level: &LevelPackaged<'_>) -> String {
    let verb = if level.verified {
        "Verified"
    } else {
        "Packaged"
    };
    let shown = level.crates.len().min(3);
    let mut names = level.crates[..shown].join(", ");
    if level.crates.len() > shown {
        names.push_str(&format!(" and {} more", level.crates.len() - shown));
    }
    format!(
        "{verb:>12} {} of {} crate{} ({names})",
        level.done,
        level.total,
        if level.total == 1 { "" } else { "s" }
    )
}

/// A file size as cargo says one (`868B`, `1.3KiB`, `2.0MiB`).
pub(crate) fn human_bytes(bytes: u64) -> String {
    match bytes {
        0..1024 => format!("{bytes}B"),
        1024..1_048_576 => format!("{:.1}KiB", bytes as f64 / 1024.0),
        _ => format!("{:.1}MiB", bytes as f64 / 1_048_576.0),
    }
}

/// A time of day in UTC (`HH:MM:SS`) from milliseconds since the epoch.
pub(crate) fn clock(ms: u64) -> String {
    let secs = ms / 1000 % 86_400;
    format!(
        "{:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// What a stopping run waits for.
fn waiting_for(uploads: u32) -> String {
    format!(
        "waiting for {uploads} upload{}",
        if uploads == 1 { "" } else { "s" }
    )
}

/// The warning for a torn last line cut from a journal.
pub(crate) fn torn_warning(dropped_bytes: u64, saved_to: &str) -> String {
    format!(
        "warning: the journal's last line was cut by a crash; {dropped_bytes} bytes set aside in {saved_to}"
    )
}

pub(crate) fn human_duration(ms: u64) -> String {
    match ms {
        0..1000 => format!("{ms}ms"),
        1000..60_000 => format!("{:.1}s", ms as f64 / 1000.0),
        60_000..3_600_000 => format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000),
        // Rate limits of a large release: hours (to the minute) say it.
        _ => format!("{} h {:02} min", ms / 3_600_000, (ms % 3_600_000) / 60_000),
    }
}

/// Append a Markdown summary for GitHub Actions: the run's table when it
/// got that far, and the error when it failed.
fn step_summary(
    run: Option<(&RunState, RunOutcome)>,
    error: Option<&anyhow::Error>,
    token_lines: &[String],
) {
    let stopped = error.is_some_and(|e| github::stopped(e).is_some());
    let mut text = match run {
        Some((state, _)) if stopped => format!(
            "### cargo-shipper: stopped by `--stop-after`, to be continued (plan `{}`)\n\n",
            state.plan_id.short()
        ),
        Some((state, outcome)) => format!(
            "### cargo-shipper: {:?} (plan `{}`)\n\n",
            outcome,
            state.plan_id.short()
        ),
        None => "### cargo-shipper: failed before the run started\n\n".to_owned(),
    };
    if let Some((state, _)) = run {
        text.push_str("| crate | version | outcome | attempts |\n|---|---|---|---:|\n");
        for (name, c) in state.crates_in_order() {
            text.push_str(&format!(
                "| {name} | {} | {} | {} |\n",
                c.version,
                summary_outcome(c.status),
                c.attempts
            ));
        }
        let notes: Vec<String> = state
            .crates_in_order()
            .filter(|(_, c)| !c.status.is_done())
            .filter_map(|(name, c)| Some(format!("- `{name}`: {}\n", c.last_error.as_ref()?)))
            .collect();
        if !notes.is_empty() {
            text.push('\n');
            text.extend(notes);
        }
    }
    text.push_str(&github::token_section(token_lines));
    if let Some(error) = error {
        text.push_str(&github::ending(error));
    }
    github::append_summary(&text);
}

/// A crate's outcome in the step summary: what happened to it, and for a
/// crate whose upload was never attempted, that it was not.
fn summary_outcome(status: CrateStatus) -> &'static str {
    match status {
        CrateStatus::Pending | CrateStatus::Packaged => "not uploaded",
        CrateStatus::Uploading => "upload of unknown outcome",
        CrateStatus::Uploaded => "uploaded, not yet in the index",
        CrateStatus::Published => "published",
        CrateStatus::AlreadyPresent => "already in the registry",
        CrateStatus::Failed => "failed",
        CrateStatus::Blocked => "blocked by a dependency",
        CrateStatus::Ambiguous => "ambiguous: check the registry",
    }
}

/// GitHub Actions `::error` annotations for a failed run: one per crate
/// that failed with an error (named in the title), and one for the run's
/// error, naming the crate trusted publishing refused when it did.
fn annotations(state: Option<&RunState>, error: &anyhow::Error) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(state) = state {
        for (name, c) in state.crates_in_order() {
            if let (false, Some(message)) = (c.status.is_done(), &c.last_error) {
                lines.push(github::error_annotation(
                    &format!("cargo-shipper: {name} {}", c.version),
                    &format!("{name} {} did not go out: {message}", c.version),
                ));
            }
        }
    }
    lines.push(github::run_error_annotation(error));
    lines
}

#[cfg(test)]
mod tests {
    use super::human_duration;
    use crate::journal::{CrateRef, Event, Record, SelectionRecord};
    use crate::model::PlanId;
    use crate::ops::LevelPackaged;

    fn names(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn a_level_packaged_reads_as_a_count_and_its_crates() {
        let one = names(&["core"]);
        let level = LevelPackaged {
            crates: &one,
            done: 1,
            total: 6,
            verified: true,
        };
        assert_eq!(
            super::level_line(&level),
            "    Verified 1 of 6 crates (core)"
        );
        let wide = names(&["a", "b", "c", "d", "e"]);
        let level = LevelPackaged {
            crates: &wide,
            done: 6,
            total: 6,
            verified: false,
        };
        assert_eq!(
            super::level_line(&level),
            "    Packaged 6 of 6 crates (a, b, c and 2 more)"
        );
    }

    /// `Publishing` names the registry by the name the run was given
    /// (`--registry`, or cargo's name for the one it inferred), not by the
    /// key the journal records.
    #[test]
    fn publishing_names_the_registry_as_people_do() {
        let event = Event::RunStarted {
            format: 1,
            plan_id: PlanId::compute("k", &[], &[]),
            registry: "sparse+http://127.0.0.1:1/index/".into(),
            run: 1,
            crates: Vec::new(),
            tool_version: "test".into(),
            selection: SelectionRecord::default(),
            done: 0,
        };
        let line = super::run_started_line(&event, "local").unwrap();
        assert!(
            line.starts_with("  Publishing 0 crates to `local` (plan "),
            "{line}"
        );
        let line = super::human_line(&event, &Default::default()).unwrap();
        assert!(
            line.contains("to `sparse+http://127.0.0.1:1/index/`"),
            "{line}"
        );
    }

    fn record(seq: u64, event: Event) -> Record {
        Record {
            seq,
            at_ms: 0,
            event,
        }
    }

    /// The bar (drawn nowhere here: stderr is no terminal in tests) counts
    /// crates packaged while packaging, then crates out from the first
    /// `Ready` on.
    #[test]
    fn the_bar_counts_packaged_crates_then_crates_out() {
        let mut reporter = super::Reporter::new(false, false);
        reporter.interactive = true;
        // Quiet for the events: their lines would print on the test's stderr.
        reporter.quiet = true;
        let crates = ["core", "left", "right"]
            .iter()
            .map(|n| CrateRef {
                name: n.to_string(),
                version: "0.1.0".into(),
                depends_on: Vec::new(),
                dev_only: Vec::new(),
            })
            .collect();
        reporter.event(&record(
            1,
            Event::RunStarted {
                format: 1,
                plan_id: PlanId::compute("local", &[], &[]),
                registry: "local".into(),
                run: 1,
                crates,
                tool_version: "test".into(),
                selection: SelectionRecord::default(),
                done: 1,
            },
        ));
        let bar = reporter.bar.clone().expect("a bar on a terminal");
        assert_eq!((bar.position(), bar.length()), (1, Some(3)));
        let left = names(&["left", "right"]);
        reporter.quiet = false;
        reporter.level_packaged(&LevelPackaged {
            crates: &left[..1],
            done: 1,
            total: 2,
            verified: true,
        });
        assert_eq!((bar.position(), bar.length()), (1, Some(2)));
        reporter.level_packaged(&LevelPackaged {
            crates: &left[1..],
            done: 2,
            total: 2,
            verified: true,
        });
        assert_eq!((bar.position(), bar.length()), (2, Some(2)));
        reporter.quiet = true;
        reporter.event(&record(
            2,
            Event::Packaged {
                name: "left".into(),
                version: "0.1.0".into(),
                sha256: "00".repeat(32),
                ms: 1,
                files_sha256: None,
                bytes: Some(900),
            },
        ));
        // Back to crates out: `core` was out before the run.
        assert_eq!((bar.position(), bar.length()), (1, Some(3)));
        reporter.stop();
    }

    #[test]
    fn sizes_read_as_cargo_says_them() {
        assert_eq!(super::human_bytes(868), "868B");
        assert_eq!(super::human_bytes(1331), "1.3KiB");
        assert_eq!(super::human_bytes(3 * 1_048_576), "3.0MiB");
    }

    #[test]
    fn durations_read_at_their_scale() {
        assert_eq!(human_duration(850), "850ms");
        assert_eq!(human_duration(35_000), "35.0s");
        assert_eq!(human_duration(600_000), "10m00s");
        // crates.io's limits on 40 new crates: 35 x 10 minutes.
        assert_eq!(human_duration(35 * 600_000), "5 h 50 min");
    }

    fn line(event: Event) -> String {
        super::human_line(&event, &std::collections::BTreeSet::new()).unwrap_or_default()
    }

    #[test]
    fn each_crate_step_reads_as_a_cargo_status_line() {
        let ready = line(Event::Packaged {
            name: "core".into(),
            version: "1.2.0".into(),
            sha256: "0123456789abcdef0123".into(),
            ms: 5,
            files_sha256: None,
            bytes: Some(2048),
        });
        assert_eq!(
            ready,
            "       Ready core 1.2.0 (2.0KiB, sha256 0123456789ab)"
        );
        // An older journal without the size says what it knows.
        let old = line(Event::Packaged {
            name: "core".into(),
            version: "1.2.0".into(),
            sha256: "abc".into(),
            ms: 5,
            files_sha256: None,
            bytes: None,
        });
        assert_eq!(old, "       Ready core 1.2.0 (sha256 abc)");
        let again = line(Event::UploadStarted {
            name: "core".into(),
            version: "1.2.0".into(),
            attempt: 2,
            sha256: "abc".into(),
            new_crate: false,
        });
        assert_eq!(again, "   Uploading core 1.2.0 (attempt 2)");
    }

    #[test]
    fn a_blocked_crate_says_whether_its_dependency_is_only_unconfirmed() {
        let blocked = Event::Skipped {
            name: "cli".into(),
            version: "1.0.0".into(),
            reason: crate::journal::SkipReason::DependencyFailed {
                dependency: "core".into(),
            },
        };
        assert_eq!(
            line(blocked.clone()),
            "     Blocked cli 1.0.0: needs core, which did not go out"
        );
        let unconfirmed = std::collections::BTreeSet::from(["core".to_owned()]);
        assert_eq!(
            super::human_line(&blocked, &unconfirmed).unwrap(),
            "     Blocked cli 1.0.0: needs core, which is uploaded but not yet confirmed in the index"
        );
    }

    #[test]
    fn a_changed_version_names_its_files_in_agreement() {
        let changed = |files: &[&str]| {
            line(Event::ContentDiffers {
                name: "core".into(),
                version: "1.0.0".into(),
                sha256: "abc".into(),
                files: names(files),
            })
        };
        assert!(
            changed(&["src/lib.rs"]).ends_with("(src/lib.rs differs); bump the version"),
            "{}",
            changed(&["src/lib.rs"])
        );
        assert!(changed(&["a.rs", "b.rs"]).contains("(a.rs, b.rs differ)"));
    }

    #[test]
    fn failures_say_what_the_run_does_about_them() {
        let failed = |class| {
            line(Event::UploadFailed {
                name: "core".into(),
                version: "1.0.0".into(),
                attempt: 1,
                class,
                message: "503".into(),
                retry_after_ms: None,
            })
        };
        use crate::model::FailureClass;
        assert_eq!(
            failed(FailureClass::Ambiguous),
            "warning: upload of core 1.0.0 failed (may have landed; asking the registry): 503"
        );
        assert!(failed(FailureClass::RateLimited).contains("(rate limited)"));
        // An operator's word is said as theirs, not the registry's.
        let assumed = line(Event::Reconciled {
            name: "core".into(),
            version: "1.0.0".into(),
            found_sha256: None,
            by_operator: true,
        });
        assert!(assumed.starts_with("     Assumed core 1.0.0: not uploaded, as the operator says"));
        // A registry that contradicts itself is an error with the way out.
        let contradiction = line(Event::Unsettled {
            name: "core".into(),
            version: "1.0.0".into(),
            error: "refused as existing".into(),
            refused_as_existing: Some("already uploaded".into()),
        });
        assert!(
            contradiction.starts_with("error: the registry contradicts itself about core 1.0.0")
        );
        assert!(contradiction.contains("--assume-uploaded core@1.0.0"));
        let late = line(Event::VisibilityTimedOut {
            name: "core".into(),
            version: "1.0.0".into(),
            waited_ms: 600_000,
            index_error: Some("HTTP 503".into()),
        });
        assert!(late.contains("it answered HTTP 503"), "{late}");
        assert!(late.contains("(it never uploads it twice)"));
    }
}
