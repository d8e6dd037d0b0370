//! `cargo shipper yank --plan FILE` (and `--undo`): check the plan and the
//! registry it names, then run it journaled under `<state dir>/yank/` (its
//! own lock, `current/`, `archive/`), resuming an unfinished run of the same
//! plan and direction. A dry run reads nothing and changes nothing. Tokens
//! are cargo's, or minted by trusted publishing at the first request and
//! all revoked at the end.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use crate::cargo_backend;
use crate::engine::{self, AttemptPolicy, Recorder, SessionOpts, StopFlag, TokensFrom, YankOpts};
use crate::journal::{
    FORMAT, Journal, Record, StateDir, YankEvent, YankOutcome, YankPlan, YankRef, YankState,
    YankTarget,
};
use crate::model::{Coded, PacingProfile, RegistryTarget};
use crate::ops::next_command::NextCommand;
use crate::ops::run_session::{
    self, Connection, Failed, RunSession, RunTokens, StoppedForLater, ended_early,
};
use crate::ops::trusted::CiOpts;
use crate::secret::Secret;
use crate::workspace::{LoadedWorkspace, TargetChoice};

#[derive(Debug, Clone)]
pub struct YankRunOpts {
    pub plan_file: PathBuf,
    pub undo: bool,
    pub dry_run: bool,
    /// `--registry`/`--index`; `None`: the registry the plan names.
    pub target: Option<TargetChoice>,
    /// Default: `.shipper/` at the workspace root.
    pub state_dir: Option<PathBuf>,
    pub token: Option<Secret>,
    /// Archive an unfinished yank run of another plan or direction.
    pub abandon_unfinished: bool,
    pub max_attempts: u32,
    pub retry_base: Duration,
    pub confirm_timeout: Duration,
    pub confirm_poll: Duration,
    /// Raised by a signal (see `ops::stop_on_signals`): no new request starts.
    pub stop: StopFlag,
    /// Trusted publishing, and `--stop-after` (start no request after it).
    pub ci: CiOpts,
}

#[derive(Debug, thiserror::Error)]
pub enum YankStartError {
    #[error(
        "the yank plan is for registry `{plan}`, but this command targets `{resolved}`; \
         drop `--registry`/`--index` to use the plan's registry, or name the one the plan was made for"
    )]
    OtherRegistry { plan: String, resolved: String },
    #[error(
        "`{dir}` holds an unfinished {what} run of another plan or direction ({done} of {total} done); \
         finish it with the command that started it, or set it aside with `--abandon-unfinished` \
         (yanking is idempotent: nothing is lost, its files are kept under `archive/`)"
    )]
    Unfinished {
        dir: String,
        what: &'static str,
        done: usize,
        total: usize,
    },
    #[error(
        "no yank run of this plan is recorded under `{dir}`: `--undo` unyanks only what a yank run \
         of the plan yanked, and without its journal it cannot tell a version that run yanked from \
         one that was yanked before; run `--undo` with the state directory the yank ran with \
         (`--state-dir`, or restore its `yank/archive/`); nothing was asked of the registry"
    )]
    NoYankRun { dir: String },
}

/// A yank run that did not reach every version.
pub type YankFailed = Failed<YankOutcome, YankState>;

#[derive(Debug)]
pub struct YankReport {
    pub undo: bool,
    pub registry: String,
    /// The order acted on (the plan's, reversed for `--undo`).
    pub order: Vec<YankTarget>,
    /// Time the registry's limit adds, when it has one.
    pub eta: Option<Duration>,
    /// `None` for a dry run.
    pub state: Option<YankState>,
    /// `--undo`: versions left yanked, because the yank run found them yanked.
    pub left_yanked: Vec<YankTarget>,
    pub archived_to: Option<PathBuf>,
}

/// What a yank run reports while it runs.
#[derive(Debug, Clone, Copy)]
pub enum YankStep<'a> {
    /// The registry the run acts on, by the name people give it (cargo's
    /// `[registries]` name when there is one), before any record.
    Registry(&'a str),
    Event(&'a Record<YankEvent>),
}

pub fn yank(
    ws: &LoadedWorkspace,
    opts: &YankRunOpts,
    sink: &mut dyn FnMut(YankStep<'_>),
) -> anyhow::Result<YankReport> {
    let plan = YankPlan::load(&opts.plan_file).map_err(Coded::from)?;
    let target = resolve_target(ws, &plan, opts.target.as_ref())?;
    sink(YankStep::Registry(target.display_name()));
    let mut order = plan.crates.clone();
    if opts.undo {
        order.reverse(); // dependencies first: nothing unyanked needs a yanked crate
    }
    let pacing = match ws.yank_pacing()? {
        Some(configured) => Some(configured),
        None => (target.key == "crates-io").then(PacingProfile::crates_io_yanks),
    };
    let root = run_session::state_root(ws, opts.state_dir.as_deref())?;
    let dir = StateDir::new(&root.join("yank"));
    let run = YankRun {
        ws,
        opts,
        plan: &plan,
        target: &target,
        order: &order,
        dir: &dir,
    };
    if opts.dry_run {
        return run.dry_run(pacing);
    }

    run.leave_yanked(true)?; // refused before anything is written
    let mut session = RunSession::open(&root, opts.state_dir.is_none(), dir.clone())?;
    run.set_aside_or_refuse(&mut session)?;
    let leave_yanked = run.leave_yanked(false)?;
    let left_yanked = run.left_yanked(&leave_yanked);
    let live = Connection::open(ws, &target, opts.token.as_ref())?;
    let left = run.left(session.journal(), &leave_yanked);
    let eta = pacing.map(|bucket| bucket.eta(left));
    let started = run.started(session.state().map_or(1, |s| s.runs + 1));
    let mut records = |record: &Record<YankEvent>| sink(YankStep::Event(record));
    let mut rec = session.begin(&mut records, [started])?;
    if let Some(eta) = eta {
        rec.record(YankEvent::YankPacingPlanned {
            count: left,
            eta_ms: eta.as_millis() as u64,
        })?;
    }
    let engine_opts = engine_opts(opts, pacing, leave_yanked);
    let tokens = live.tokens(&opts.ci, || {
        opts.token.is_some() || cargo_backend::read_token(ws, &target, None).is_ok()
    })?;
    let outcome = run.yank_all(&mut rec, &live.registry, &engine_opts, &tokens)?;
    rec.record(YankEvent::YankRunFinished { outcome })?;
    // Yanks concern published versions: never a first one.
    let refusal = tokens.take_refusal(|_| false);
    let state = rec.state().clone();
    if outcome != YankOutcome::Success {
        return Err(run.failed(outcome, state, refusal));
    }
    let archived_to = session.archive(&run.archive_label(&state, verb(opts.undo)))?;
    Ok(YankReport {
        undo: opts.undo,
        registry: target.display_name().to_owned(),
        order,
        eta,
        state: Some(state),
        left_yanked,
        archived_to: Some(archived_to),
    })
}

/// What a finished yank run did, for its archive's name.
fn verb(undo: bool) -> &'static str {
    if undo { "unyanked" } else { "yanked" }
}

/// The engine's options for this run.
fn engine_opts(
    opts: &YankRunOpts,
    pacing: Option<crate::model::Bucket>,
    leave_yanked: BTreeSet<String>,
) -> YankOpts {
    YankOpts {
        session: SessionOpts {
            attempts: AttemptPolicy::new(opts.max_attempts, opts.retry_base),
            confirm_timeout: opts.confirm_timeout,
            confirm_poll: opts.confirm_poll,
            stop: opts.stop.clone(),
            stop_at: run_session::deadline(&opts.ci),
        },
        undo: opts.undo,
        pacing,
        leave_yanked,
    }
}

/// What a yank run works on.
struct YankRun<'r> {
    ws: &'r LoadedWorkspace,
    opts: &'r YankRunOpts,
    plan: &'r YankPlan,
    target: &'r RegistryTarget,
    /// The order acted on (the plan's, reversed for `--undo`).
    order: &'r [YankTarget],
    dir: &'r StateDir,
}

impl YankRun<'_> {
    /// What the run would do, reading nothing and changing nothing.
    fn dry_run(&self, pacing: Option<crate::model::Bucket>) -> anyhow::Result<YankReport> {
        let left_yanked = self.left_yanked(&self.leave_yanked(false)?);
        let eta = pacing.map(|bucket| bucket.eta((self.order.len() - left_yanked.len()) as u32));
        Ok(YankReport {
            undo: self.opts.undo,
            registry: self.target.display_name().to_owned(),
            order: self.order.to_vec(),
            eta,
            state: None,
            left_yanked,
            archived_to: None,
        })
    }

    /// The versions still to do: a resumed run paces only what is left
    /// (the journal says what is done).
    fn left(&self, journal: &Journal<YankState>, leave_yanked: &BTreeSet<String>) -> u32 {
        self.order
            .iter()
            .filter(|c| !leave_yanked.contains(&c.name))
            .filter(|c| {
                !journal
                    .state()
                    .and_then(|s| s.crates.get(&c.name))
                    .is_some_and(|x| x.status.is_done())
            })
            .count() as u32
    }

    /// `--undo` leaves alone what the yank runs found yanked (read from
    /// their archived journals). The run in `current/` counts for the
    /// refusal only (`with_current`): an unfinished yank run is refused or
    /// set aside (and then archived) when the journal is opened.
    fn leave_yanked(&self, with_current: bool) -> anyhow::Result<BTreeSet<String>> {
        if !self.opts.undo {
            return Ok(BTreeSet::new());
        }
        let dir = self.dir;
        let mut runs: Vec<YankState> = crate::journal::archived::<YankState>(dir)?
            .into_iter()
            .map(|r| r.state)
            .collect();
        if with_current && let Some(current) = crate::journal::peek::<YankState>(dir)? {
            runs.push(current.state);
        }
        let others = crate::journal::yanked_by_others(&runs, &self.plan.id());
        Ok(others.ok_or_else(|| YankStartError::NoYankRun {
            dir: dir.root().display().to_string(),
        })?)
    }

    fn left_yanked(&self, leave: &BTreeSet<String>) -> Vec<YankTarget> {
        self.order
            .iter()
            .filter(|c| leave.contains(&c.name))
            .cloned()
            .collect()
    }

    /// The journal (the lock held): a finished run not yet archived (a
    /// crash at the very end), or one set aside, is archived first; an
    /// unfinished run of another plan or direction is refused.
    fn set_aside_or_refuse(&self, session: &mut RunSession<YankState>) -> anyhow::Result<()> {
        let Some(state) = session.state() else {
            return Ok(());
        };
        let finished = state.outcome == Some(YankOutcome::Success);
        let same = state.yank_plan_id == self.plan.id() && state.undo == self.opts.undo;
        if finished || (!same && self.opts.abandon_unfinished) {
            let what = if finished { "finished" } else { "abandoned" };
            let label = self.archive_label(state, what);
            session.set_aside(&label, anyhow::Error::from)?;
            return Ok(());
        }
        if !same {
            return Err(YankStartError::Unfinished {
                dir: self.dir.root().display().to_string(),
                what: if state.undo { "unyank" } else { "yank" },
                done: state.crates.values().filter(|c| c.status.is_done()).count(),
                total: state.crates.len(),
            }
            .into());
        }
        Ok(())
    }

    /// `archive/` folder name of a yank run (see [`run_session::archive_label`]).
    fn archive_label(&self, state: &YankState, what: &str) -> String {
        run_session::archive_label(&state.yank_plan_id[..12], what)
    }

    /// The `yank_run_started` event of run number `run`.
    fn started(&self, run: u32) -> YankEvent {
        let opts = self.opts;
        YankEvent::YankRunStarted {
            format: FORMAT,
            yank_plan_id: self.plan.id(),
            registry: self.plan.registry.clone(),
            undo: opts.undo,
            run,
            crates: self
                .order
                .iter()
                .map(|c| YankRef {
                    name: c.name.clone(),
                    version: c.version.clone(),
                })
                .collect(),
            tool_version: env!("CARGO_PKG_VERSION").to_owned(),
            plan_file: Some(
                std::fs::canonicalize(&opts.plan_file)
                    .unwrap_or_else(|_| opts.plan_file.clone())
                    .display()
                    .to_string(),
            ),
        }
    }

    /// Every version through the engine, with cargo's tokens or trusted
    /// publishing's; whatever happens, no minted token outlives the run.
    fn yank_all(
        &self,
        rec: &mut Recorder<'_, YankState>,
        registry: &crate::registry::LiveRegistry,
        engine_opts: &YankOpts,
        tokens: &RunTokens,
    ) -> Result<YankOutcome, crate::journal::JournalError> {
        let opts = self.opts;
        let cargo_tokens = TokensFrom(|t: &YankTarget| {
            cargo_backend::yank_token(
                self.ws,
                self.target,
                &t.name,
                &t.version,
                opts.undo,
                opts.token.as_ref(),
            )
        });
        let source = tokens.source(&cargo_tokens);
        tokens.revoked_after(rec, |rec| {
            engine::yank_all(rec, registry, engine_opts, self.order, source)
        })
    }

    /// A run that did not reach every version, as the error that says how
    /// to finish it.
    fn failed(
        &self,
        outcome: YankOutcome,
        state: YankState,
        refusal: Option<crate::ops::TrustRefused>,
    ) -> anyhow::Error {
        let undo = self.opts.undo;
        let done = state.crates.values().filter(|c| c.status.is_done()).count();
        let verb = if undo { "unyanked" } else { "yanked" };
        let (lead, fix) = match outcome {
            YankOutcome::Interrupted => ("interrupted: ", ""),
            YankOutcome::StoppedForLater => ("stopped by `--stop-after`: ", ""),
            _ => ("", "fix the cause shown above, then "),
        };
        let total = state.crates.len();
        let failed = YankFailed {
            outcome,
            message: format!(
                "{lead}{done} of {total} versions are {verb}; {fix}run the same command again to finish (the journal in `{}` resumes it)",
                self.dir.root().display()
            ),
            state: Box::new(state),
        };
        ended_early(failed, refusal, |_| {
            (outcome == YankOutcome::StoppedForLater).then(|| {
                let again = NextCommand::new("yank")
                    .arg("--plan", &self.opts.plan_file.display().to_string())
                    .state_dir(self.opts.state_dir.as_deref());
                StoppedForLater {
                    what: verb_plural(undo),
                    next: match undo {
                        true => again.flag("--undo").to_string(),
                        false => again.to_string(),
                    },
                    done,
                    total,
                }
            })
        })
    }
}

/// What a `--stop-after` stop counts.
fn verb_plural(undo: bool) -> &'static str {
    if undo {
        "versions unyanked"
    } else {
        "versions yanked"
    }
}

/// The registry the plan names, or the one the flags name if it is the same.
fn resolve_target(
    ws: &LoadedWorkspace,
    plan: &YankPlan,
    choice: Option<&TargetChoice>,
) -> anyhow::Result<RegistryTarget> {
    let model = ws.model()?;
    let from_plan = if plan.registry == "crates-io" {
        TargetChoice::Registry("crates-io".to_owned())
    } else {
        match ws.registry_name_for(&plan.registry) {
            Some(name) => TargetChoice::Registry(name),
            None => TargetChoice::Index(plan.registry.clone()),
        }
    };
    let target = ws.target(choice.unwrap_or(&from_plan), &model)?;
    if target.key != plan.registry {
        return Err(YankStartError::OtherRegistry {
            plan: plan.registry.clone(),
            resolved: target.key,
        }
        .into());
    }
    Ok(target)
}
