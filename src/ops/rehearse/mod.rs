//! `cargo shipper rehearse`: the whole release into a rehearsal registry
//! (the embedded one, in-process, by default) standing in for the live
//! target, through the very code path of `publish` (plan, package and
//! verify, upload, confirm, journal under `<state dir>/rehearsal/`), then
//! `rehearsal.json`: the plan id for the live target, what each crate's
//! bytes were, and a verdict the publish gate checks.

mod consumer;
mod consumer_home;
mod drill;
mod identity;
mod live;
mod record;
mod stand_in;

pub use drill::InterruptAfter;
pub use live::LiveFindings;
pub use stand_in::{RehearsalTarget, STAND_IN_NAME};

use std::path::PathBuf;

use anyhow::Context as _;
use std::time::{Duration, Instant};

use crate::cargo_backend;
use crate::journal::{
    DrillResult, LockError, Record, RehearsalRecord, RehearsalRegistry, RunState, StateDir,
    StepCrate, StepResult,
};
use crate::model::{Coded, Exit, HasExit, RegistryTarget};
use crate::ops::next_command::NextCommand;
use crate::ops::run_session;
use crate::ops::{
    LevelPackaged, Mode, PlanOpts, PublishOpts, RunTuning, Step, gate, plan, publish,
};
use crate::plan::Selection;
use crate::secret::Secret;
use crate::workspace::{LoadedWorkspace, TargetChoice};

/// How long the drill waits for its registry to finish with the killed
/// child's requests; past it, the resumed run waits out the upload timeout.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct RehearseOpts {
    pub selection: Selection,
    /// The live target the rehearsal stands in for (as `publish` picks it).
    pub live_target: TargetChoice,
    /// Where to rehearse.
    pub rehearsal: RehearsalTarget,
    /// Keep the embedded registry's data here.
    pub keep: Option<PathBuf>,
    /// Default: `.shipper/` at the workspace root; the rehearsal's journal
    /// goes to its `rehearsal/`, the record to its `rehearsal.json`.
    pub state_dir: Option<PathBuf>,
    /// For a rehearsal registry that is not the embedded one.
    pub token: Option<Secret>,
    pub allow_dirty: bool,
    pub verify: bool,
    pub tuning: super::RunTuning,
    /// The interruption drill (embedded registry only).
    pub interrupt_after: Option<InterruptAfter>,
    /// Install the plan's binary crates from the rehearsal registry into a
    /// temporary root.
    pub smoke_install: bool,
    /// Trusted publishing, for a rehearsal registry that plays it (never
    /// the embedded one); `stop_after` must be unset: a rehearsal runs whole.
    pub ci: crate::ops::CiOpts,
}

/// Options a rehearsal cannot honour, refused before anything runs.
#[derive(Debug, thiserror::Error)]
pub enum RehearseOptsError {
    #[error(
        "`--trusted-publishing on` needs a registry that plays trusted publishing; the embedded \
         one does not: name one with `--registry`/`--index` (e.g. `cargo shipper registry serve \
         --trusted-publishing FILE`), or drop the flag"
    )]
    TrustedOnEmbedded,
    #[error(
        "`--stop-after` is for `publish`: a rehearsal runs to its end (its verdict needs the whole \
         release)"
    )]
    StopAfter,
    #[error(
        "`{given}` is the registry the release goes to ({index}): a rehearsal there would publish \
         for real, and nothing published can be taken back; rehearse into the embedded registry \
         (no `--registry`/`--index`) or a throwaway or staging one"
    )]
    LiveTarget { given: String, index: String },
    #[error(
        "`{given}` is crates.io: a rehearsal there would publish for real, and nothing published \
         can be taken back; rehearse into the embedded registry (no `--registry`/`--index`) or a \
         throwaway or staging one"
    )]
    CratesIo { given: String },
}

impl HasExit for RehearseOptsError {
    /// Flags a rehearsal cannot honour are bad arguments, as clap's
    /// conflicts are.
    fn exit(&self) -> Exit {
        Exit::Usage
    }
}

/// What the rehearsal reports while it runs.
pub enum Progress<'a> {
    /// The live target was asked which plan versions it has.
    LiveChecked {
        target: &'a RegistryTarget,
        findings: &'a LiveFindings,
    },
    /// The rehearsal registry is ready at this index.
    RegistryReady {
        registry: &'a RehearsalRegistry,
        index: &'a str,
    },
    /// An event of the rehearsal's run (the same events as `publish`).
    Event(&'a Record),
    /// A plan level packaged (and verified), as `publish` reports it.
    LevelPackaged(LevelPackaged<'a>),
    /// The drill aborts the rehearsal after upload `n` (`seed`: it was drawn).
    DrillInterrupting {
        n: u32,
        seed: Option<u64>,
    },
    /// The aborted rehearsal is being resumed.
    DrillResuming,
    /// The consumer build starts, depending on these library crates, the
    /// `pinned` ones (uploaded by the rehearsal) at `=version`.
    ConsumerBuildStarted {
        crates: usize,
        pinned: usize,
    },
    ConsumerBuildFinished(&'a StepResult),
    /// The smoke install starts, for these binary crates.
    SmokeInstallStarted {
        crates: usize,
    },
    SmokeInstallFinished(&'a StepResult),
}

#[derive(Debug)]
pub struct RehearsalReport {
    pub record: RehearsalRecord,
    /// Where the record was written.
    pub path: PathBuf,
    /// The live target's name for people (`crates-io`, a registry name, a URL).
    pub live_name: String,
    /// Where the embedded registry's data stayed (`--keep`).
    pub kept: Option<PathBuf>,
    /// What stopped the run, if anything (the record has it as text).
    pub error: Option<anyhow::Error>,
    /// The `publish` that ships what was rehearsed.
    pub next: NextCommand,
}

/// A rehearsal that ran and failed; its record says what failed.
#[derive(Debug, thiserror::Error)]
#[error("the rehearsal failed: {0}")]
pub struct RehearsalFailed(pub String);

/// SIGINT or SIGTERM stopped the rehearsal: its record says `failed`, its
/// registry is gone, and nothing was published to the live target.
#[derive(Debug, thiserror::Error)]
#[error(
    "the rehearsal was interrupted before it finished; nothing was published to the live target \
     and its record says `failed` ({}); run `{again}` again",
    record.display()
)]
pub struct RehearsalInterrupted {
    pub record: PathBuf,
    /// The command that rehearses the same release again.
    pub again: String,
}

impl HasExit for RehearsalInterrupted {
    fn exit(&self) -> Exit {
        Exit::Interrupted
    }
}

impl RehearseOpts {
    /// `cargo shipper publish --require-rehearsal` for this rehearsal's live
    /// target, selection and state directory: what ships the bytes rehearsed.
    pub fn publish_command(&self) -> NextCommand {
        let cmd = NextCommand::new("publish")
            .target(&self.live_target)
            .selection(&self.selection)
            .state_dir(self.state_dir.as_deref())
            .flag("--require-rehearsal");
        match self.allow_dirty {
            true => cmd.flag("--allow-dirty"),
            false => cmd,
        }
    }

    /// `cargo shipper rehearse` with this rehearsal's target, live target,
    /// selection and state directory: the command that runs it again.
    pub fn command(&self) -> NextCommand {
        let cmd = match &self.rehearsal {
            RehearsalTarget::Embedded => NextCommand::new("rehearse"),
            RehearsalTarget::Registry(name) => NextCommand::new("rehearse").arg("--registry", name),
            RehearsalTarget::Index(url) => NextCommand::new("rehearse").arg("--index", url),
        };
        let cmd = cmd
            .for_target(&self.live_target)
            .selection(&self.selection)
            .state_dir(self.state_dir.as_deref());
        let cmd = match &self.keep {
            Some(keep) => cmd.arg("--keep", &keep.display().to_string()),
            None => cmd,
        };
        match self.allow_dirty {
            true => cmd.flag("--allow-dirty"),
            false => cmd,
        }
    }
}

pub fn rehearse(
    ws: &LoadedWorkspace,
    opts: &RehearseOpts,
    sink: &mut dyn FnMut(Progress<'_>),
) -> anyhow::Result<RehearsalReport> {
    let started = Instant::now();
    let started_at_ms = crate::journal::now_ms();
    let state_root = state_root(ws, opts)?;
    let plan = plan(
        ws,
        &PlanOpts {
            selection: opts.selection.clone(),
            target: opts.live_target.clone(),
            offline: false,
        },
    )?;
    stand_in::refuse_live(ws, &opts.rehearsal, &plan.target)?;
    let findings = live::check(ws, &plan)?;
    sink(Progress::LiveChecked {
        target: &plan.target,
        findings: &findings,
    });
    // Held to the end: the consumer build's home, and the port it remembers.
    let home = consumer_home::ConsumerHome::open(ws);
    let stand_in = start_stand_in(ws, opts, &plan, &findings, home.as_ref())?;
    sink(Progress::RegistryReady {
        registry: &stand_in.record,
        index: stand_in.target.sparse_index.as_deref().unwrap_or_default(),
    });
    let rehearsal = Rehearsal {
        ws,
        opts,
        plan: &plan,
        findings: &findings,
        state_root: &state_root,
        rehearsal_ws: ws.with_config(&stand_in.cargo_config)?,
        index: stand_in.target.sparse_index.clone().unwrap_or_default(),
        stand_in: &stand_in,
        home: home.as_ref(),
    };
    // Where the live run would stop, the rehearsal fails without running.
    let live_content = live::content_check(ws, &plan, &findings, &state_root);
    let drill_run = match (&live_content, opts.interrupt_after) {
        (Ok(()), Some(interrupt)) => Some(rehearsal.drill(interrupt, sink)?),
        _ => None,
    };
    // A signal raises `stop`: the run stops as `publish` does, and nothing
    // after it (consumer build, smoke install) starts.
    let result = match opts.tuning.stop.is_raised() {
        true => Err(anyhow::anyhow!("interrupted before the uploads")),
        false => live_content.and_then(|()| rehearsal.run(drill_run.as_ref(), sink)),
    };
    let (state, error, drill) = rehearsal.what_went_out(result, drill_run)?;
    let (consumer_build, smoke_install) =
        rehearsal.consume(state.as_ref(), error.is_none(), sink)?;
    let interrupted = opts.tuning.stop.is_raised();
    let error = match interrupted {
        true => Some(anyhow::anyhow!(
            "interrupted by a signal (SIGINT or SIGTERM) before the rehearsal finished"
        )),
        false => error,
    };
    let record = record::build(record::Inputs {
        plan: &plan,
        findings: &findings,
        registry: stand_in.record.clone(),
        state: state.as_ref(),
        error: error.as_ref(),
        consumer_build,
        smoke_install,
        drill,
        started_at_ms,
        duration_ms: started.elapsed().as_millis() as u64,
    });
    rehearsal.forget_caches();
    let path = gate::record_path(&state_root);
    record.write(&path).map_err(|e| {
        anyhow::Error::new(e).context(format!("could not write `{}`", path.display()))
    })?;
    if interrupted {
        return Err(Coded::new(RehearsalInterrupted {
            record: path,
            again: opts.command().to_string(),
        })
        .into());
    }
    Ok(RehearsalReport {
        record,
        path,
        live_name: plan.target.display_name().to_owned(),
        kept: stand_in.kept.clone(),
        error,
        next: opts.publish_command().manifest_path(ws.manifest_path()),
    })
}

/// The state directory, made and kept out of git, once the flags are
/// known to be ones a rehearsal can honour.
fn state_root(ws: &LoadedWorkspace, opts: &RehearseOpts) -> anyhow::Result<PathBuf> {
    if opts.ci.stop_after.is_some() {
        return Err(Coded::new(RehearseOptsError::StopAfter).into());
    }
    if opts.ci.trusted == crate::ops::TrustedMode::On && opts.rehearsal == RehearsalTarget::Embedded
    {
        return Err(Coded::new(RehearseOptsError::TrustedOnEmbedded).into());
    }
    let state_root = run_session::state_root(ws, opts.state_dir.as_deref())?;
    // Before anything writes there: `rehearsal/` and `rehearsal.json` too.
    run_session::make_state_root(&state_root, opts.state_dir.is_none())?;
    Ok(state_root)
}

/// The rehearsal registry, started (the embedded one on the port the home
/// remembers), with cargo's caches of this rehearsal's crates cleared.
fn start_stand_in(
    ws: &LoadedWorkspace,
    opts: &RehearseOpts,
    plan: &crate::plan::Plan,
    findings: &LiveFindings,
    home: Option<&consumer_home::ConsumerHome>,
) -> anyhow::Result<stand_in::StandIn> {
    let upstream = live::upstream(ws)?;
    let stand_in = stand_in::StandIn::start(
        ws,
        &opts.rehearsal,
        stand_in::EmbeddedSetup {
            keep: opts.keep.as_deref(),
            upstream_crate_cache: upstream
                .as_deref()
                .and_then(|url| cargo_backend::registry_crate_cache(ws, url)),
            upstream_handles: match &upstream {
                Some(_) => Some(crate::local_registry::HandleMaker(
                    ws.http()?.handle_factory(),
                )),
                None => None,
            },
            upstream,
            hidden_versions: findings
                .to_rehearse(plan)
                .into_iter()
                .filter_map(|name| Some((name.clone(), plan.get(&name)?.version.to_string())))
                .collect(),
            require_metadata: plan.target.key == "crates-io",
            port: home.and_then(|h| h.last_port()),
        },
    )?;
    if let (Some(home), Some(port)) = (home, stand_in.embedded_port()) {
        home.remember_port(ws, port)?;
    }
    // cargo reuses a downloaded `.crate` by name and version: what an
    // earlier rehearsal on this port left must not stand in for this one's
    // bytes. Verification builds against the packaging overlay (never
    // these caches); the consumer build and the smoke install go through
    // the home, which purges what changed (`ConsumerHome::prepare`); with
    // no home, a random port's caches are new.
    Ok(stand_in)
}

/// What a rehearsal works on once its registry is up.
struct Rehearsal<'r> {
    ws: &'r LoadedWorkspace,
    opts: &'r RehearseOpts,
    plan: &'r crate::plan::Plan,
    findings: &'r LiveFindings,
    state_root: &'r std::path::Path,
    /// The workspace in a cargo context pointed at the rehearsal registry.
    rehearsal_ws: LoadedWorkspace,
    index: String,
    stand_in: &'r stand_in::StandIn,
    home: Option<&'r consumer_home::ConsumerHome>,
}

/// The drill's interrupted child run: after which upload it was aborted
/// (and the seed that drew it), and whether the embedded registry then
/// finished with everything it sent (its uploads can no longer land).
struct DrillRun {
    n: u32,
    seed: Option<u64>,
    child_drained: bool,
}

impl Rehearsal<'_> {
    /// The interruption drill's first part: a child run killed after its
    /// nth upload (the resumed run is the rehearsal's own).
    fn drill(
        &self,
        interrupt: InterruptAfter,
        sink: &mut dyn FnMut(Progress<'_>),
    ) -> anyhow::Result<DrillRun> {
        let (opts, stand_in) = (self.opts, self.stand_in);
        let (RehearsalTarget::Embedded, Some(token)) = (&opts.rehearsal, &stand_in.token) else {
            anyhow::bail!(
                "the interruption drill runs against the embedded registry only (no `--registry`/`--index`)"
            );
        };
        let (n, seed) = drill::pick(interrupt, self.findings.to_rehearse(self.plan).len())?;
        sink(Progress::DrillInterrupting { n, seed });
        let child = drill::ChildRun {
            manifest: self.ws.manifest_path(),
            state_root: self.state_root,
            selection: &opts.selection,
            live_target: &opts.live_target,
            allow_dirty: opts.allow_dirty,
            verify: opts.verify,
            tuning: &opts.tuning,
            cargo_args: self.ws.context_opts().cargo_args(),
        };
        let mark = stand_in.embedded_registry().map(|r| r.activity_mark());
        drill::interrupted_run(&child, &self.index, token, n)?;
        // The child is dead: once its registry has answered or dropped all
        // it sent, none of its uploads can still land, and the resumed run
        // settles them at once instead of waiting out the upload timeout.
        let child_drained = match (stand_in.embedded_registry(), mark) {
            (Some(registry), Some(mark)) => registry.wait_drained(mark, DRAIN_TIMEOUT),
            _ => false,
        };
        sink(Progress::DrillResuming);
        Ok(DrillRun {
            n,
            seed,
            child_drained,
        })
    }

    /// `publish` into the rehearsal registry (resumed after the drill's
    /// interrupted child run, when there was one).
    fn run(
        &self,
        drill: Option<&DrillRun>,
        sink: &mut dyn FnMut(Progress<'_>),
    ) -> anyhow::Result<crate::ops::PublishReport> {
        let publish_opts = self.publish_opts(drill);
        publish(&self.rehearsal_ws, &publish_opts, &mut |step| match step {
            Step::Event(record) => sink(Progress::Event(record)),
            Step::LevelPackaged(level) => sink(Progress::LevelPackaged(level)),
            // The rehearsal names its registries itself.
            Step::Registry(_) => {}
        })
    }

    /// `publish`'s options for the run into the rehearsal registry.
    fn publish_opts(&self, drill: Option<&DrillRun>) -> PublishOpts {
        let (opts, stand_in) = (self.opts, self.stand_in);
        PublishOpts {
            mode: match drill {
                Some(_) => Mode::Resume,
                None => Mode::Fresh,
            },
            selection: opts.selection.clone(),
            target: opts.live_target.clone(),
            state_dir: Some(self.state_root.join("rehearsal")),
            // The user's token is for their registries, never the embedded one.
            token: match opts.rehearsal {
                RehearsalTarget::Embedded => stand_in.token.clone(),
                _ => opts.token.clone(),
            },
            allow_dirty: opts.allow_dirty,
            verify: opts.verify,
            dry_run: false,
            abandon_unfinished: false,
            tuning: RunTuning {
                request_window: drill
                    .is_some_and(|d| d.child_drained)
                    .then_some(Duration::ZERO),
                ..opts.tuning.clone()
            },
            require_rehearsal: false,
            stand_in: Some(stand_in.target.clone()),
            stand_in_index: live::other_versions(self.ws, self.plan, self.findings),
            ci: match opts.rehearsal {
                RehearsalTarget::Embedded => crate::ops::CiOpts::default(),
                _ => opts.ci.clone(),
            },
            assume: Vec::new(),
        }
    }

    /// The run's state (this plan's), what stopped it, and the drill's
    /// verdict from the resumed run's journal.
    #[allow(clippy::type_complexity)]
    fn what_went_out(
        &self,
        result: anyhow::Result<crate::ops::PublishReport>,
        drill_run: Option<DrillRun>,
    ) -> anyhow::Result<(Option<RunState>, Option<anyhow::Error>, Option<DrillResult>)> {
        let mut drill = drill_run.map(|run| DrillResult {
            interrupt_after: run.n,
            seed: run.seed,
            passed: false,
            problems: vec!["the resumed rehearsal did not finish".into()],
        });
        let (state, error) = match result {
            Ok(report) => {
                if let Some(drill) = &mut drill {
                    drill.problems = match drill::run_dir(report.receipt.as_deref()) {
                        Some(dir) => drill::check(self.plan, &self.index, &dir),
                        None => vec!["the resumed run left no archived journal".into()],
                    };
                    drill.passed = drill.problems.is_empty();
                }
                (Some(report.state), None)
            }
            // Another rehearsal holds the directory: its record is not ours to write.
            Err(error) if error.chain().any(|e| e.is::<LockError>()) => return Err(error),
            Err(error) => (
                read_state(&StateDir::new(&self.state_root.join("rehearsal"))),
                Some(error),
            ),
        };
        // The state must be this plan's (an error before the run started leaves none).
        let state = state.filter(|s| s.plan_id == self.plan.id);
        Ok((state, error, drill))
    }

    /// Whether the rehearsal uploaded `name` (and so pins it at `=version`).
    fn uploaded(&self, state: Option<&RunState>, name: &str) -> bool {
        !self.findings.present.contains_key(name)
            && state.is_some_and(|s| {
                s.crates
                    .get(name)
                    .is_some_and(|c| c.status == crate::journal::CrateStatus::Published)
            })
    }

    fn at_version(&self, names: &[String]) -> Vec<(String, String)> {
        self.plan
            .crates
            .iter()
            .filter(|c| names.contains(&c.name))
            .map(|c| (c.name.clone(), c.version.to_string()))
            .collect()
    }

    /// The consumer build and the smoke install, for a release that went
    /// out whole (`whole`: the run ended without an error).
    fn consume(
        &self,
        state: Option<&RunState>,
        whole: bool,
        sink: &mut dyn FnMut(Progress<'_>),
    ) -> anyhow::Result<(Option<StepResult>, Option<StepResult>)> {
        let stopped = || self.opts.tuning.stop.is_raised();
        // Only a release that went out whole is worth consuming.
        let out: Vec<String> = match (whole, state) {
            (true, Some(state)) => self
                .plan
                .crates
                .iter()
                .filter(|c| {
                    state
                        .crates
                        .get(&c.name)
                        .is_some_and(|s| s.status.is_done())
                })
                .map(|c| c.name.clone())
                .collect(),
            _ => Vec::new(),
        };
        // What this rehearsal uploaded is pinned at `=version`; what the live
        // target already has (skipped, or uploaded only so that dependents
        // resolve) is required as a consumer would (`^version`), so it may
        // resolve to a newer version another crate of the release needs.
        let libraries: Vec<consumer::ConsumerDep> = self
            .at_version(&cargo_backend::library_members(&self.rehearsal_ws, &out)?)
            .into_iter()
            .map(|(name, version)| consumer::ConsumerDep {
                pinned: self.uploaded(state, &name),
                name,
                version,
            })
            .collect();
        let home = self.prepare_home(state, &out)?;
        let consumer_build = (!libraries.is_empty() && !stopped())
            .then(|| self.consumer_build(&libraries, home, sink));
        let binaries = self.at_version(&cargo_backend::binary_members(&self.rehearsal_ws, &out)?);
        let smoke_install =
            (self.opts.smoke_install && !binaries.is_empty() && !stopped()).then(|| {
                sink(Progress::SmokeInstallStarted {
                    crates: binaries.len(),
                });
                let mut step = consumer::smoke_install(&self.rehearsal_ws, &binaries);
                step.crates = binaries
                    .iter()
                    .map(|(name, version)| StepCrate {
                        name: name.clone(),
                        req: format!("={version}"),
                    })
                    .collect();
                sink(Progress::SmokeInstallFinished(&step));
                step
            });
        Ok((consumer_build, smoke_install))
    }

    /// The home, its caches cleared of every plan crate the consumer build
    /// or the smoke install may fetch (`out`), with the checksum of the
    /// bytes the rehearsal uploaded.
    fn prepare_home(
        &self,
        state: Option<&RunState>,
        out: &[String],
    ) -> anyhow::Result<Option<&consumer_home::ConsumerHome>> {
        let Some(home) = self.home else {
            return Ok(None);
        };
        let seen: Vec<consumer_home::SeenCrate> = self
            .plan
            .crates
            .iter()
            .filter(|c| out.contains(&c.name))
            .map(|c| consumer_home::SeenCrate {
                name: c.name.clone(),
                version: c.version.to_string(),
                sha256: match self.uploaded(state, &c.name) {
                    true => state.and_then(|s| s.crates.get(&c.name)?.sha256.clone()),
                    false => None,
                },
            })
            .collect();
        home.prepare(&self.rehearsal_ws, &self.index, &seen)
            .context("could not prepare the consumer build")?;
        Ok(Some(home))
    }

    fn consumer_build(
        &self,
        libraries: &[consumer::ConsumerDep],
        home: Option<&consumer_home::ConsumerHome>,
        sink: &mut dyn FnMut(Progress<'_>),
    ) -> StepResult {
        sink(Progress::ConsumerBuildStarted {
            crates: libraries.len(),
            pinned: libraries.iter().filter(|d| d.pinned).count(),
        });
        let names: Vec<String> = libraries.iter().map(|d| d.name.clone()).collect();
        // cargo would say it in a list of every package it cannot build.
        let mut step = match cargo_backend::above_toolchain(&self.rehearsal_ws, &names) {
            Ok((above, rustc)) if !above.is_empty() => consumer::toolchain_too_old(&above, &rustc),
            _ => consumer::build(
                &self.rehearsal_ws,
                &self.stand_in.cargo_config,
                libraries,
                home,
            ),
        };
        step.crates = libraries
            .iter()
            .map(|d| StepCrate {
                name: d.name.clone(),
                req: d.requirement(),
            })
            .collect();
        sink(Progress::ConsumerBuildFinished(&step));
        step
    }

    /// Downloads and sources are kept for the next rehearsal on the same
    /// port when there is a home; the index cache never is.
    fn forget_caches(&self) {
        if self.opts.rehearsal != RehearsalTarget::Embedded {
            return;
        }
        match self.home {
            Some(_) => {
                let _ = cargo_backend::forget_cached_crates(&self.rehearsal_ws, &self.index, &[]);
            }
            None => cargo_backend::forget_registry_caches(&self.rehearsal_ws, &self.index),
        }
    }
}

/// The projection a failed run left in `current/`.
fn read_state(dir: &StateDir) -> Option<RunState> {
    serde_json::from_slice(&std::fs::read(dir.state()).ok()?).ok()
}
