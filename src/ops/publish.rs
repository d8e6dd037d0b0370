//! `cargo shipper publish` and `resume`: plan, lock, journal, settle what
//! an earlier run left open, skip what the registry has, package and verify
//! the rest up front, upload under the scheduler, write the receipt.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::cargo_backend::{self, PackageRequest};
use crate::engine::{
    self, AttemptPolicy, EngineOpts, Prepared, PreparedTokens, Recorder, SessionOpts, StopFlag,
};
use crate::journal::{
    CrateRef, CrateStatus, Event, Receipt, Record, RunOutcome, RunState, SelectionRecord, StateDir,
};
use crate::model::{Coded, CodedContext, PacingProfile, RegistryTarget};
use crate::ops::content::{self, Content, Holder, KnownUploads};
use crate::ops::crates_io_rules;
use crate::ops::next_command::Next;
use crate::ops::run_session::{
    self, Connection, Failed, RunSession, RunTokens, StoppedForLater, ended_early,
};
use crate::ops::start::{self, Mode, StartDecision, StartError, StartFlags};
use crate::ops::trusted::CiOpts;
use crate::ops::{PlanOpts, gate, plan, provenance};
use crate::plan::{Plan, Selection};
use crate::registry::LiveRegistry;
use crate::secret::Secret;
use crate::workspace::{LoadedWorkspace, TargetChoice};

#[derive(Debug, Clone)]
pub struct PublishOpts {
    pub mode: Mode,
    pub selection: Selection,
    pub target: TargetChoice,
    /// Default: `.shipper/` at the workspace root.
    pub state_dir: Option<PathBuf>,
    pub token: Option<Secret>,
    pub allow_dirty: bool,
    pub verify: bool,
    pub dry_run: bool,
    /// Archive an unfinished run of another plan instead of refusing.
    pub abandon_unfinished: bool,
    pub tuning: RunTuning,
    /// Refuse unless a passing rehearsal of this plan recorded the bytes
    /// about to be uploaded (also `require-rehearsal = true` in the
    /// workspace metadata).
    pub require_rehearsal: bool,
    /// A rehearsal: package for and upload to this registry instead of the
    /// plan's target. The plan, and its id, stay the live target's.
    pub stand_in: Option<RegistryTarget>,
    /// A rehearsal: index lines of the live target's other versions of the
    /// rehearsed crates (the stand-in never passes those crates through),
    /// served to packaging so dev-dependencies resolve as they will live.
    pub stand_in_index: Vec<String>,
    /// Trusted publishing and `--stop-after`.
    pub ci: CiOpts,
    /// The operator's word on uploads the registry could not settle
    /// (`resume --assume-uploaded` / `--assume-not-uploaded`).
    pub assume: Vec<Assumption>,
}

/// "I checked the registry by hand: NAME@VERSION is (not) there."
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assumption {
    pub name: String,
    pub version: String,
    pub uploaded: bool,
}

/// An assumption that does not apply to the journal.
#[derive(Debug, thiserror::Error)]
#[error(
    "`{name}@{version}` is not an upload of unknown outcome in this release ({why}); \
     `--assume-uploaded`/`--assume-not-uploaded` only settle the crates an earlier run \
     reported as unsettled (`cargo shipper status` lists them)"
)]
pub struct AssumptionRefused {
    pub name: String,
    pub version: String,
    pub why: String,
}

/// How hard a run tries, as the command line sets it; `ops` turns it into
/// the engine's options.
#[derive(Debug, Clone)]
pub struct RunTuning {
    /// Uploads in flight at once, 1 to [`RunTuning::MAX_JOBS`].
    pub jobs: usize,
    /// Upload attempts per crate per run (rate-limited answers not counted).
    pub max_attempts: u32,
    /// First retry delay; doubles, with jitter, up to two minutes.
    pub retry_delay: Duration,
    /// How long to wait for an upload to show in the index.
    pub confirm_timeout: Duration,
    /// First interval between index polls.
    pub confirm_poll: Duration,
    /// Raised by a signal (see `ops::stop_on_signals`): the run stops.
    pub stop: StopFlag,
    /// How long uploads in flight may finish once `stop` is raised.
    pub grace: Duration,
    /// How long one upload request may take; an upload of unknown outcome
    /// from a killed run is not settled as absent before this long after
    /// its intent.
    pub upload_timeout: Duration,
    /// How long an upload request of an earlier, killed run may still land
    /// after its intent, when known better than `upload_timeout` (the
    /// rehearsal's drill saw its registry answer everything the killed
    /// child sent: zero).
    pub request_window: Option<Duration>,
    /// How long an index that lags must go on saying "absent" before it is
    /// believed (30 s; shorter only in tests).
    pub index_window_floor: Duration,
}

impl RunTuning {
    pub const MAX_JOBS: usize = engine::MAX_JOBS;
    pub const INDEX_WINDOW_FLOOR: Duration = engine::INDEX_WINDOW_FLOOR;

    pub(super) fn engine(&self, pacing: Option<PacingProfile>) -> EngineOpts {
        EngineOpts {
            session: SessionOpts {
                attempts: AttemptPolicy::new(self.max_attempts, self.retry_delay),
                confirm_timeout: self.confirm_timeout,
                confirm_poll: self.confirm_poll,
                stop: self.stop.clone(),
                stop_at: None,
            },
            jobs: self.jobs,
            pacing,
            grace: self.grace,
            request_window: self.request_window.unwrap_or(self.upload_timeout),
            index_window_floor: self.index_window_floor,
        }
    }
}

/// How a publish run ended, when it did not succeed.
pub type RunFailed = Failed<RunOutcome, RunState>;

/// What a finished run leaves behind.
#[derive(Debug)]
pub struct PublishReport {
    pub outcome: RunOutcome,
    /// Where the receipt was written (`None` for a dry run).
    pub receipt: Option<PathBuf>,
    pub state: RunState,
    /// The release went out, but the finished run could not be archived
    /// (it stays in `current/`; the next run archives it).
    pub archive_failed: Option<String>,
    /// A run that uploaded nothing: the receipt `latest` still names (the
    /// newest that uploaded something), if any run did.
    pub latest_release: Option<PathBuf>,
}

/// What a run reports while it runs: its journal's records as they are
/// written, and progress that is not journaled.
#[derive(Debug, Clone, Copy)]
pub enum Step<'a> {
    /// The registry the run publishes to, by the name people give it
    /// (cargo's `[registries]` name when there is one), before any record.
    Registry(&'a str),
    Event(&'a Record),
    LevelPackaged(LevelPackaged<'a>),
}

/// A plan level packaged (and verified) before the first upload: `done` of
/// the `total` crates to package are.
#[derive(Debug, Clone, Copy)]
pub struct LevelPackaged<'a> {
    pub crates: &'a [String],
    pub done: usize,
    pub total: usize,
    /// Verified too (not `--no-verify`).
    pub verified: bool,
}

pub fn publish(
    ws: &LoadedWorkspace,
    opts: &PublishOpts,
    sink: &mut dyn FnMut(Step<'_>),
) -> anyhow::Result<PublishReport> {
    // `--stop-after` counts from the start of the command.
    let stop_at = run_session::deadline(&opts.ci);
    let dir = StateDir::new(&state_root(ws, opts)?);
    if opts.dry_run {
        let plan = plan_for(ws, opts, &opts.selection, &opts.target)?;
        let start = Start {
            plan: &plan,
            selection: selection_record(&opts.selection, &opts.target),
            set_aside: None,
            stop_at,
            crates_io: crates_io_rules::live_is_crates_io(ws, opts, &opts.target, &plan)?,
        };
        return run(ws, opts, &mut RunSession::in_memory(dir), start, sink);
    }
    // Nothing to resume: say so without creating anything (not even the
    // state directory a mistyped `--state-dir` names).
    if opts.mode == Mode::Resume {
        dir.refuse_links()?;
        if !dir.events().exists() {
            return Err(StartError::NothingToResume(dir.root().to_owned()).into());
        }
    }
    let mut session = RunSession::open(dir.root(), opts.state_dir.is_none(), dir.clone())?;
    archive_if_finished(&mut session)?;
    let (selection, target) = match (opts.mode, session.state()) {
        // Resume the release as it was selected, whatever the flags say now.
        (Mode::Resume, Some(_)) => recorded_selection(session.journal().records()),
        _ => (opts.selection.clone(), opts.target.clone()),
    };
    let plan = plan_for(ws, opts, &selection, &target)?;
    let start = Start {
        plan: &plan,
        selection: selection_record(&selection, &target),
        set_aside: set_aside_if_needed(&mut session, &plan, opts)?,
        stop_at,
        crates_io: crates_io_rules::live_is_crates_io(ws, opts, &target, &plan)?,
    };
    run(ws, opts, &mut session, start, sink)
}

/// A run that finished but is not archived (a crash right at the end):
/// archived now, before anything else.
fn archive_if_finished(session: &mut RunSession<RunState>) -> anyhow::Result<()> {
    let Some(state) = session.state() else {
        return Ok(());
    };
    if state.outcome != Some(RunOutcome::Success) {
        return Ok(());
    }
    let label = archive_label(Some(state), "finished");
    session.set_aside(&label, |error| {
        anyhow::Error::new(error).context(
            "the previous run finished (its release went out) but is not archived yet, and archiving it failed",
        )
    })?;
    Ok(())
}

/// The start decision for `plan` over the run in `current/`: an unfinished
/// run of another plan is archived when the flags allow it (the journal
/// reopened empty), and the event that records it is returned.
fn set_aside_if_needed(
    session: &mut RunSession<RunState>,
    plan: &Plan,
    opts: &PublishOpts,
) -> anyhow::Result<Option<Event>> {
    let flags = StartFlags {
        mode: opts.mode,
        abandon_unfinished: opts.abandon_unfinished,
    };
    let decision = start::decide(
        session.state(),
        plan,
        flags,
        &session.dir().root().display().to_string(),
    )?;
    let StartDecision::SetAside(reason) = decision else {
        return Ok(None);
    };
    let previous = session.state().expect("a run to set aside");
    let label = archive_label(Some(previous), reason.label());
    let previous_plan = previous.plan_id.short().to_owned();
    let archived = session.set_aside(&label, anyhow::Error::from)?;
    Ok(Some(Event::SetAside {
        plan_id: previous_plan,
        reason: reason.wire(),
        archived_as: archived
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    }))
}

/// No `upload_started` in the journal: nothing of its runs can have
/// landed, so there is nothing to finish or settle.
pub(super) fn uploaded_nothing(records: &[Record]) -> bool {
    !records
        .iter()
        .any(|r| matches!(r.event, Event::UploadStarted { .. }))
}

/// What a run starts from, besides its journal.
struct Start<'a> {
    plan: &'a Plan,
    selection: SelectionRecord,
    /// The earlier run this one set aside, to record.
    set_aside: Option<Event>,
    /// `--stop-after`: no upload starts after this.
    stop_at: Option<Instant>,
    /// The live target is crates.io: its publish rules are checked before
    /// the first upload (see `crates_io_rules`).
    crates_io: bool,
}

/// The plan for the live target; for a rehearsal, retargeted to the
/// stand-in (same crates, edges and id). With the gate on, a plan that was
/// not rehearsed (or not passed) is refused here, before any journal work.
fn plan_for(
    ws: &LoadedWorkspace,
    opts: &PublishOpts,
    selection: &Selection,
    target: &TargetChoice,
) -> anyhow::Result<Plan> {
    let mut plan = plan(ws, &plan_opts(selection, target))?;
    match &opts.stand_in {
        Some(stand_in) => plan.target = stand_in.clone(),
        None if gate_on(ws, opts)? => {
            gate::check_plan(&gate::record_path(&state_root(ws, opts)?), &plan).map_err(
                |refusal| {
                    Coded::new(gate::GateRefused {
                        refusal,
                        rehearse: Next::rehearse(opts, selection, target),
                    })
                },
            )?;
        }
        None => {}
    }
    Ok(plan)
}

fn gate_on(ws: &LoadedWorkspace, opts: &PublishOpts) -> anyhow::Result<bool> {
    Ok(opts.stand_in.is_none() && (opts.require_rehearsal || ws.requires_rehearsal()?))
}

/// The registry to package for: the plan's target, or a rehearsal's
/// stand-in. When a member has a `package.publish` list, the stand-in goes
/// by its index alone: no list names it, and cargo checks those lists by
/// the registry's name only (the plan already applied the live target's
/// lists: a crate not for it is not in the plan). Otherwise by its name, so
/// that cargo's own lines (`-v`) name it as people do.
fn packaging_target(ws: &LoadedWorkspace, plan: &Plan, opts: &PublishOpts) -> RegistryTarget {
    let listed = || {
        ws.model().map_or(true, |model| {
            model
                .members
                .iter()
                .any(|m| matches!(m.publish, crate::model::PublishSetting::Only(_)))
        })
    };
    match opts.stand_in {
        Some(_) if listed() => RegistryTarget {
            name: None,
            ..plan.target.clone()
        },
        _ => plan.target.clone(),
    }
}

fn state_root(ws: &LoadedWorkspace, opts: &PublishOpts) -> anyhow::Result<PathBuf> {
    run_session::state_root(ws, opts.state_dir.as_deref())
}

fn selection_record(selection: &Selection, target: &TargetChoice) -> SelectionRecord {
    SelectionRecord {
        packages: selection.packages.clone(),
        exclude: selection.exclude.clone(),
        registry: match target {
            TargetChoice::Registry(name) => Some(name.clone()),
            _ => None,
        },
        index: match target {
            TargetChoice::Index(url) => Some(url.clone()),
            _ => None,
        },
    }
}

/// How a phase of a run ends early: a signal (the run is recorded as
/// interrupted), a failure the run records before it ends (no upload has
/// started, or the release is partial), or an error passed on as it is
/// (the journal could not be written; nothing more can be recorded).
enum Stop {
    Interrupted,
    Failed(anyhow::Error),
    Error(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for Stop {
    fn from(error: E) -> Stop {
        Stop::Error(error.into())
    }
}

/// `Stop::Interrupted` once a signal asked the run to stop.
fn stop_if_asked(opts: &PublishOpts) -> Result<(), Stop> {
    match opts.tuning.stop.is_raised() {
        true => Err(Stop::Interrupted),
        false => Ok(()),
    }
}

/// What a run works on once it is open.
struct Run<'r> {
    ws: &'r LoadedWorkspace,
    opts: &'r PublishOpts,
    dir: StateDir,
    plan: &'r Plan,
    live: Connection,
    /// `--stop-after`: no upload starts after this.
    stop_at: Option<Instant>,
    /// The live target is crates.io: its publish rules apply.
    crates_io: bool,
}

fn run(
    ws: &LoadedWorkspace,
    opts: &PublishOpts,
    session: &mut RunSession<RunState>,
    start: Start<'_>,
    sink: &mut dyn FnMut(Step<'_>),
) -> anyhow::Result<PublishReport> {
    let Start {
        plan,
        selection,
        set_aside,
        stop_at,
        crates_io,
    } = start;
    let mut live = Connection::open(ws, &plan.target, opts.token.as_ref())?;
    live.registry = live
        .registry
        .with_upload_timeout(opts.tuning.upload_timeout);
    let run = Run {
        ws,
        opts,
        dir: session.dir().clone(),
        plan,
        live,
        stop_at,
        crates_io,
    };
    let done = session.state().map_or(0, |s| {
        plan.crates
            .iter()
            .filter(|c| s.crates.get(&c.name).is_some_and(|c| c.status.is_done()))
            .count() as u32
    });
    let run_number = session.state().map_or(1, |s| s.runs + 1);
    sink(Step::Registry(plan.target.display_name()));
    // The recorder and the packaging progress both report through `sink`.
    let sink = std::cell::RefCell::new(sink);
    let mut records = |record: &Record| (*sink.borrow_mut())(Step::Event(record));
    let started = run_started(plan, run_number, selection, done);
    let mut rec = session.begin(&mut records, std::iter::once(started).chain(set_aside))?;
    let mut progress = |level: LevelPackaged<'_>| (*sink.borrow_mut())(Step::LevelPackaged(level));
    match run.phases(&mut rec, &mut progress) {
        Ok(report) => Ok(report),
        Err(Stop::Interrupted) => finish_interrupted(ws, &mut rec, &run.dir, opts),
        Err(Stop::Failed(error)) => finish_failed(ws, &mut rec, &run.dir, opts, error),
        Err(Stop::Error(error)) => Err(error),
    }
}

/// What the registry already has, as the engine found it.
struct Survey {
    check: engine::RegistryCheck,
    /// The names to upload.
    names: Vec<String>,
    pacing: Option<PacingProfile>,
}

impl Run<'_> {
    fn phases(
        &self,
        rec: &mut Recorder<'_>,
        progress: &mut dyn FnMut(LevelPackaged<'_>),
    ) -> Result<PublishReport, Stop> {
        apply_assumptions(rec, &self.opts.assume)?;
        let survey = self.survey(rec)?;
        stop_if_asked(self.opts)?;
        self.judge_present(rec, &survey)?;
        let jobs = self.package(rec, &survey, progress)?;
        if self.opts.dry_run {
            return Ok(dry_run_report(rec, &jobs)?);
        }
        let (tokens, prepared) = self.prepare_uploads(&survey, jobs)?;
        stop_if_asked(self.opts)?;
        let outcome = self.upload(rec, &survey, &prepared, &tokens)?;
        self.finish(rec, &survey, &tokens, outcome)
    }

    /// Settle what an earlier run left unknown, ask the index about every
    /// crate, and plan the pacing.
    fn survey(&self, rec: &mut Recorder<'_>) -> Result<Survey, Stop> {
        let opts = self.opts;
        // Crates the registry cannot settle stay out of this run (the engine
        // reports them as needing an operator); never re-uploaded blindly.
        let unsettled =
            engine::settle_unknown_outcomes(rec, &self.live.registry, &opts.tuning.engine(None))?;
        let check = engine::check_registry(
            rec,
            &self.live.registry,
            opts.tuning.jobs.max(4),
            &unsettled,
        )?;
        let names: Vec<String> = check.to_upload.iter().map(|(n, _)| n.clone()).collect();
        // A rehearsal's registry has no limits to respect.
        let pacing = match opts.stand_in {
            Some(_) => None,
            None => publish_limits(self.ws, &self.plan.target)?.map(|(profile, _)| profile),
        };
        if let Some(profile) = pacing
            && !names.is_empty()
        {
            let new_crates = check.to_upload.iter().filter(|(_, new)| *new).count() as u32;
            let new_versions = names.len() as u32 - new_crates;
            let eta = profile.release_eta(new_crates, new_versions);
            rec.record(Event::PacingPlanned {
                new_crates,
                new_versions,
                eta_ms: eta.as_millis() as u64,
            })?;
        }
        Ok(Survey {
            check,
            names,
            pacing,
        })
    }

    /// Versions the registry already holds are skipped only when their
    /// content is the release's: packaged for their contents (cheaply, not
    /// verified) and compared first, so that a changed one stops the run
    /// before verification compiles anything against it.
    fn judge_present(&self, rec: &mut Recorder<'_>, survey: &Survey) -> Result<(), Stop> {
        let present = &survey.check.present;
        if present.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = present.iter().map(|p| p.name.clone()).collect();
        let packaged = match cargo_backend::package_contents(
            self.ws,
            &names,
            &packaging_target(self.ws, self.plan, self.opts),
        ) {
            Ok(packaged) => packaged,
            Err(_) if self.opts.tuning.stop.is_raised() => return Err(Stop::Interrupted),
            Err(error) => return Err(Stop::Failed(error)),
        };
        skip_if_ours(
            rec,
            &self.live.registry,
            &KnownUploads::read(self.dir.root()),
            present,
            &packaged,
            self.opts.stand_in.is_some(),
        )
        .map_err(Stop::Failed)
    }

    /// Package and verify what goes out (and what waits to be confirmed,
    /// for its dependents), check it against the gate and crates.io's
    /// rules, and record each `.crate`.
    fn package(
        &self,
        rec: &mut Recorder<'_>,
        survey: &Survey,
        progress: &mut dyn FnMut(LevelPackaged<'_>),
    ) -> Result<Vec<crate::registry::UploadJob>, Stop> {
        let (ws, opts, plan) = (self.ws, self.opts, self.plan);
        // Crates uploaded earlier but not yet seen in the index are packaged
        // again (not uploaded): their dependents must resolve them from cargo's
        // overlay, since the index may still not list them.
        let mut to_package = survey.names.clone();
        to_package.extend(survey.check.to_confirm.iter().cloned());
        let started = Instant::now();
        let batches = plan.packaging_batches(&to_package);
        let total = batches.iter().map(Vec::len).sum();
        let mut done = 0;
        let packaged = match cargo_backend::package_levels(
            ws,
            &PackageRequest {
                batches: &batches,
                borrowed_index: &opts.stand_in_index,
                target: &packaging_target(ws, plan, opts),
                verify: opts.verify,
                allow_dirty: opts.allow_dirty,
                stopped: cargo_backend::Stopped(&|| opts.tuning.stop.is_raised()),
            },
            &mut |crates| {
                done += crates.len();
                progress(LevelPackaged {
                    crates,
                    done,
                    total,
                    verified: opts.verify,
                });
            },
        ) {
            Ok(jobs) => jobs,
            // Most likely cut short by the same signal (cargo's build jobs).
            Err(_) if opts.tuning.stop.is_raised() => return Err(Stop::Interrupted),
            Err(error) => return Err(Stop::Failed(with_replacement_hint(ws, plan, error))),
        };
        let jobs: Vec<_> = packaged
            .into_iter()
            .filter(|job| survey.names.contains(&job.name))
            .collect();
        if gate_on(ws, opts)?
            && let Err(refusal) = gate::check_bytes(&gate::record_path(self.dir.root()), &jobs)
        {
            let (selection, target) = recorded_selection(rec.journal().records());
            let refused = gate::GateRefused {
                refusal,
                rehearse: Next::rehearse(opts, &selection, &target),
            };
            return Err(Stop::Failed(Coded::new(refused).into()));
        }
        if self.crates_io
            && let Err(refusal) = crates_io_rules::check(&jobs)
        {
            return Err(Stop::Failed(refusal.into()));
        }
        let per_crate = started.elapsed().as_millis() as u64 / jobs.len().max(1) as u64;
        for job in &jobs {
            let bytes = std::fs::read(&job.crate_file).ok();
            rec.record(Event::Packaged {
                name: job.name.clone(),
                version: job.version.clone(),
                sha256: job.sha256.clone(),
                ms: per_crate,
                // Best effort: without it a later run downloads to compare.
                files_sha256: bytes
                    .as_ref()
                    .and_then(|bytes| crate::crate_file::files_digest(bytes).ok()),
                bytes: bytes.map(|b| b.len() as u64),
            })?;
        }
        Ok(jobs)
    }

    /// The token for each upload: trusted publishing's (a rehearsal turns
    /// it off for the embedded registry; the exchange waits for the first
    /// upload, after packaging and verification), or cargo's per crate.
    fn prepare_uploads(
        &self,
        survey: &Survey,
        jobs: Vec<crate::registry::UploadJob>,
    ) -> Result<(RunTokens, Vec<Prepared>), Stop> {
        let (ws, opts, plan) = (self.ws, self.opts, self.plan);
        // Nothing to upload needs no token: `on` outside a CI job is no failure then.
        let tokens = match jobs.is_empty() {
            true => RunTokens::off(),
            false => self
                .live
                .tokens(&opts.ci, || {
                    opts.token.is_some()
                        || cargo_backend::read_token(ws, &plan.target, None).is_ok()
                })
                .map_err(|error| Stop::Failed(error.into()))?,
        };
        let mut prepared = Vec::new();
        for job in jobs {
            let token = match tokens.trusted() {
                true => None,
                false => Some(
                    cargo_backend::publish_token(ws, &plan.target, &job, opts.token.as_ref())
                        .map_err(Stop::Failed)?,
                ),
            };
            let new_crate = survey
                .check
                .to_upload
                .iter()
                .any(|(n, new)| *n == job.name && *new);
            prepared.push(Prepared {
                job,
                token,
                new_crate,
            });
        }
        Ok((tokens, prepared))
    }

    /// Upload under the engine; whatever happens, no minted token outlives it.
    fn upload(
        &self,
        rec: &mut Recorder<'_>,
        survey: &Survey,
        prepared: &[Prepared],
        tokens: &RunTokens,
    ) -> Result<RunOutcome, Stop> {
        let mut engine_opts = self.opts.tuning.engine(survey.pacing);
        engine_opts.session.stop_at = self.stop_at;
        let to_confirm = &survey.check.to_confirm;
        let source = tokens.source(&PreparedTokens);
        Ok(tokens.revoked_after(rec, |rec| {
            engine::upload_all_with(
                rec,
                &self.live.registry,
                &engine_opts,
                prepared,
                to_confirm,
                source,
            )
        })?)
    }

    /// The receipt, then `run_finished`, then the archive; a run that did
    /// not succeed ends as the error that says what to do.
    fn finish(
        &self,
        rec: &mut Recorder<'_>,
        survey: &Survey,
        tokens: &RunTokens,
        outcome: RunOutcome,
    ) -> Result<PublishReport, Stop> {
        let (ws, opts, dir, plan) = (self.ws, self.opts, &self.dir, self.plan);
        let check = &survey.check;
        // A registry that took other first versions from this run does not
        // follow crates.io's first-version rule: its refusal is about the crate.
        let state = rec.journal().state().expect("started");
        let took_first_versions = check.to_upload.iter().any(|(n, new)| {
            *new && state
                .crates
                .get(n)
                .is_some_and(|c| matches!(c.status, CrateStatus::Published | CrateStatus::Uploaded))
        });
        let refusal = tokens.take_refusal(|name| {
            !took_first_versions && check.to_upload.iter().any(|(n, new)| n == name && *new)
        });
        // A release that went out says so, whatever fails after it.
        let again = match Next::of(opts, rec.journal().records()).publish {
            Some(publish) => {
                format!("; `{publish}` again finds them there and finishes the record")
            }
            None => String::new(),
        };
        let released = |error: anyhow::Error| match outcome {
            RunOutcome::Success => error.context(format!(
                "the release went out (all {} crates are in the registry), but recording that \
                 failed{again}",
                plan.crates.len()
            )),
            _ => error,
        };
        // The receipt first: a run recorded as finished always has one.
        let receipt = write_receipt(ws, dir, rec.journal().state().expect("started"), outcome)
            .map_err(released)?;
        rec.record(Event::RunFinished { outcome })
            .map_err(|e| released(e.into()))?;
        let state = rec.journal().state().expect("started").clone();
        if outcome == RunOutcome::Success {
            return Ok(archived(dir, opts, state, outcome, receipt));
        }
        let next = Next::of(opts, rec.journal().records());
        let failed = RunFailed {
            outcome,
            message: failure_message(outcome, &state, &receipt, &next),
            state: Box::new(state),
        };
        let stopped = self.stop_at.is_some_and(|at| Instant::now() >= at);
        // A planned stop: its message (how to continue) is the one shown;
        // the run's state stays reachable beneath it.
        Err(Stop::Error(ended_early(failed, refusal, |failed| {
            stopped.then(|| StoppedForLater {
                what: "crates out",
                // The same release: registry, selection, state directory.
                next: next
                    .publish
                    .unwrap_or_else(|| "cargo shipper publish".to_owned()),
                done: failed
                    .state
                    .crates
                    .values()
                    .filter(|c| c.status.is_done())
                    .count(),
                total: failed.state.crates.len(),
            })
        })))
    }
}

/// A dry run ends after packaging: what would be uploaded.
fn dry_run_report(
    rec: &mut Recorder<'_>,
    jobs: &[crate::registry::UploadJob],
) -> Result<PublishReport, crate::journal::JournalError> {
    for job in jobs {
        rec.record(Event::WouldUpload {
            name: job.name.clone(),
            version: job.version.clone(),
        })?;
    }
    let state = rec.journal().state().expect("started").clone();
    Ok(PublishReport {
        outcome: RunOutcome::Success,
        receipt: None,
        state,
        archive_failed: None,
        latest_release: None,
    })
}

/// A finished release archived (or left in `current/` when archiving
/// failed: the next run archives it), with the receipt `latest` names.
fn archived(
    dir: &StateDir,
    opts: &PublishOpts,
    state: RunState,
    outcome: RunOutcome,
    receipt: PathBuf,
) -> PublishReport {
    let what = match opts.stand_in {
        Some(_) => "rehearsed",
        None => "published",
    };
    let archived = dir.archive(&archive_label(Some(&state), what));
    // A run that uploaded nothing does not displace the release `latest` names.
    let latest_release = (!state.any_uploaded())
        .then(|| super::plan_yank::latest_release(dir.root()).ok())
        .flatten()
        .filter(|pick| pick.uploaded)
        .map(|pick| pick.receipt);
    match archived {
        Ok(archived) => PublishReport {
            outcome,
            receipt: Some(archived.join("receipt.json")),
            state,
            archive_failed: None,
            latest_release,
        },
        Err(error) => PublishReport {
            outcome,
            receipt: Some(receipt),
            state,
            archive_failed: Some(error.to_string()),
            latest_release,
        },
    }
}

/// Skip each version the registry already holds once its content is known
/// to be the release's; any other content stops the run (nothing uploaded
/// yet), each such version recorded as `content_differs`.
fn skip_if_ours(
    rec: &mut Recorder<'_>,
    registry: &LiveRegistry,
    known: &KnownUploads,
    present: &[engine::PresentVersion],
    packaged: &[cargo_backend::PackagedContents],
    rehearsal: bool,
) -> anyhow::Result<()> {
    let judged = content::judge_packaged(registry, known, present, packaged);
    for (p, verdict) in &judged {
        match verdict {
            Content::Ours => rec.record(Event::Skipped {
                name: p.name.clone(),
                version: p.version.clone(),
                reason: crate::journal::SkipReason::AlreadyInRegistry {
                    sha256: p.sha256.clone(),
                },
            })?,
            Content::Differs { files } => rec.record(Event::ContentDiffers {
                name: p.name.clone(),
                version: p.version.clone(),
                sha256: p.sha256.clone(),
                files: files.clone(),
            })?,
            Content::Uncompared { .. } => {}
        }
    }
    let holder = match rehearsal {
        true => Holder::RehearsalRegistry,
        false => Holder::Target,
    };
    content::refuse_unless_ours(holder, judged)
}

/// Members that depend on each other name crates.io (a path dependency is
/// a crates.io dependency once published): publishing them to another
/// registry resolves only when that registry stands in for crates.io. When
/// packaging failed to resolve for that reason, say so.
fn with_replacement_hint(ws: &LoadedWorkspace, plan: &Plan, error: anyhow::Error) -> anyhow::Error {
    let linked = plan.crates.iter().any(|c| !c.depends_on.is_empty());
    let Some(name) = plan.target.name.as_deref() else {
        return error; // `--index URL`: no name to replace crates.io with
    };
    if name == "crates-io"
        || !linked
        || !cargo_backend::is_resolve_error(&error)
        || ws.crates_io_replaced().unwrap_or(true)
    {
        return error;
    }
    error.context(format!(
        "packaging for `{name}` could not resolve the workspace's own crates: they depend on each \
         other by crates.io name, and crates.io is not replaced by `{name}`; add \
         `[source.crates-io] replace-with = \"{name}\"` to .cargo/config.toml (as `registry serve` prints)"
    ))
}

/// The `run_started` event of a run of `plan`.
pub(super) fn run_started(plan: &Plan, run: u32, selection: SelectionRecord, done: u32) -> Event {
    Event::RunStarted {
        format: crate::journal::FORMAT,
        plan_id: plan.id.clone(),
        registry: plan.target.key.clone(),
        run,
        crates: plan
            .crates
            .iter()
            .map(|c| CrateRef {
                name: c.name.clone(),
                version: c.version.to_string(),
                depends_on: c.depends_on.clone(),
                dev_only: c.dev_only.clone(),
            })
            .collect(),
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        selection,
        done,
    }
}

/// Record the operator's word on unsettled uploads, each checked against
/// the journal first (all or none).
fn apply_assumptions(rec: &mut Recorder<'_>, assume: &[Assumption]) -> anyhow::Result<()> {
    let state = rec.state().clone();
    for a in assume {
        let refuse = |why: String| AssumptionRefused {
            name: a.name.clone(),
            version: a.version.clone(),
            why,
        };
        let c = state
            .crates
            .get(&a.name)
            .ok_or_else(|| refuse("not in the plan".into()))?;
        if c.version != a.version {
            return Err(refuse(format!("the release has version {}", c.version)).into());
        }
        if !matches!(c.status, CrateStatus::Uploading | CrateStatus::Ambiguous) {
            return Err(refuse(format!("its state is {:?}", c.status).to_lowercase()).into());
        }
    }
    for a in assume {
        let sent = state.crates[&a.name].sha256.clone();
        rec.record(Event::Reconciled {
            name: a.name.clone(),
            version: a.version.clone(),
            found_sha256: if a.uploaded { sent } else { None },
            by_operator: true,
        })?;
    }
    Ok(())
}

/// A signal arrived before the uploads began: record it and stop.
fn finish_interrupted(
    ws: &LoadedWorkspace,
    rec: &mut Recorder<'_>,
    dir: &StateDir,
    opts: &PublishOpts,
) -> anyhow::Result<PublishReport> {
    if opts.dry_run {
        return Err(anyhow::anyhow!("interrupted"));
    }
    rec.record(Event::Stopping {
        in_flight: 0,
        grace_ms: opts.tuning.grace.as_millis() as u64,
    })?;
    let outcome = RunOutcome::Interrupted;
    let receipt = write_receipt(ws, dir, rec.journal().state().expect("started"), outcome)?;
    rec.record(Event::RunFinished { outcome })?;
    let state = rec.journal().state().expect("started").clone();
    Err(Coded::new(RunFailed {
        outcome,
        message: failure_message(
            outcome,
            &state,
            &receipt,
            &Next::of(opts, rec.journal().records()),
        ),
        state: Box::new(state),
    })
    .into())
}

fn finish_failed(
    ws: &LoadedWorkspace,
    rec: &mut Recorder<'_>,
    dir: &StateDir,
    opts: &PublishOpts,
    error: anyhow::Error,
) -> anyhow::Result<PublishReport> {
    if opts.dry_run {
        return Err(error);
    }
    let state = rec.journal().state().expect("started").clone();
    let outcome = if state.any_uploaded() {
        RunOutcome::Partial
    } else {
        RunOutcome::NothingUploaded
    };
    write_receipt(ws, dir, rec.journal().state().expect("started"), outcome)?;
    rec.record(Event::RunFinished { outcome })?;
    let state = rec.journal().state().expect("started").clone();
    Err(error.coded_context(RunFailed {
        outcome,
        state: Box::new(state),
        message: match (outcome, Next::of(opts, rec.journal().records())) {
            (
                RunOutcome::Partial,
                Next {
                    resume: Some(resume),
                    ..
                },
            ) => {
                format!("the release is incomplete; fix the cause, then `{resume}`")
            }
            (
                _,
                Next {
                    publish: Some(publish),
                    ..
                },
            ) => {
                format!("nothing was uploaded; fix the cause below, then `{publish}` again")
            }
            (RunOutcome::Partial, _) => "the rehearsal stopped partway".into(),
            _ => "nothing was uploaded to the rehearsal registry".into(),
        },
    }))
}

fn write_receipt(
    ws: &LoadedWorkspace,
    dir: &StateDir,
    state: &RunState,
    outcome: RunOutcome,
) -> anyhow::Result<PathBuf> {
    let provenance = provenance::collect(&ws.root()?);
    let receipt = Receipt::from_state(state, outcome, &provenance);
    let bytes = serde_json::to_vec_pretty(&receipt)?;
    crate::atomic::write_atomic(&dir.receipt(), &bytes)
        .with_context(|| format!("could not write `{}`", dir.receipt().display()))?;
    Ok(dir.receipt())
}

fn failure_message(
    outcome: RunOutcome,
    state: &RunState,
    receipt: &std::path::Path,
    next: &Next,
) -> String {
    let done = state.crates.values().filter(|c| c.status.is_done()).count();
    let total = state.crates.len();
    match outcome {
        RunOutcome::NeedsOperator => {
            let unsettled: Vec<String> = state
                .crates_in_order()
                .filter(|(_, c)| {
                    matches!(c.status, CrateStatus::Uploading | CrateStatus::Ambiguous)
                })
                .map(|(name, c)| format!("{name}@{}", c.version))
                .collect();
            let example = unsettled
                .first()
                .cloned()
                .unwrap_or_else(|| "NAME@VERSION".into());
            let resume = next.resume.as_deref().unwrap_or("cargo shipper resume");
            format!(
                "{done} of {total} crates are out; the registry could not say whether {} landed. \
                 Check the registry by hand, then `{resume}`; if it cannot tell, say what \
                 you found: `{resume} --assume-not-uploaded {example}` (uploads it again) or \
                 `--assume-uploaded {example}` (receipt: {})",
                unsettled.join(", "),
                receipt.display()
            )
        }
        RunOutcome::NothingUploaded => format!(
            "nothing was uploaded ({total} crates in the plan); see the errors above, {}",
            next.after_nothing_uploaded(state)
        ),
        RunOutcome::Interrupted => {
            let uploaded = state
                .crates
                .values()
                .filter(|c| c.status == CrateStatus::Uploaded)
                .count();
            let waiting = match uploaded {
                0 => String::new(),
                n => format!(" and {n} more uploaded, not yet confirmed in the index"),
            };
            format!(
                "interrupted: {done} of {total} crates are out{waiting}; uploads in flight were \
                 recorded; {} (receipt: {})",
                next.resume("to continue"),
                receipt.display()
            )
        }
        _ => {
            let unconfirmed: Vec<&str> = state
                .crates_in_order()
                .filter(|(_, c)| c.status == CrateStatus::Uploaded)
                .map(|(name, _)| name.as_str())
                .collect();
            let unconfirmed = match unconfirmed.len() {
                0 => String::new(),
                n => format!(
                    ", and {n} more uploaded but not yet confirmed in the index ({})",
                    unconfirmed.join(", ")
                ),
            };
            format!(
                "{done} of {total} crates are out{unconfirmed}; {} (receipt: {})",
                next.resume("to finish the release"),
                receipt.display()
            )
        }
    }
}

pub(super) fn recorded_selection(records: &[Record]) -> (Selection, TargetChoice) {
    let recorded = records
        .iter()
        .rev()
        .find_map(|r| match &r.event {
            Event::RunStarted { selection, .. } => Some(selection.clone()),
            _ => None,
        })
        .unwrap_or_default();
    let target = match (recorded.registry, recorded.index) {
        (Some(name), _) => TargetChoice::Registry(name),
        (None, Some(url)) => TargetChoice::Index(url),
        (None, None) => TargetChoice::Default,
    };
    (
        Selection {
            packages: recorded.packages,
            exclude: recorded.exclude,
        },
        target,
    )
}

/// Where a release's publish limits come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LimitsSource {
    /// `[workspace.metadata.shipper.pacing]`.
    Workspace,
    /// crates.io's published limits, built in.
    CratesIo,
}

/// The limits a release to `target` is paced by: configured limits win;
/// crates.io's are known; other registries have none.
pub(super) fn publish_limits(
    ws: &LoadedWorkspace,
    target: &crate::model::RegistryTarget,
) -> anyhow::Result<Option<(PacingProfile, LimitsSource)>> {
    Ok(match ws.pacing()? {
        Some(configured) => Some((configured, LimitsSource::Workspace)),
        None => (target.key == "crates-io")
            .then(|| (PacingProfile::crates_io(), LimitsSource::CratesIo)),
    })
}

fn plan_opts(selection: &Selection, target: &TargetChoice) -> PlanOpts {
    PlanOpts {
        selection: selection.clone(),
        target: target.clone(),
        offline: false,
    }
}

/// `archive/` folder name of a publish run (see [`run_session::archive_label`]).
fn archive_label(state: Option<&RunState>, what: &str) -> String {
    run_session::archive_label(state.map_or("unknown", |s| s.plan_id.short()), what)
}
