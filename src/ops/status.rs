//! `cargo shipper status`: the plan, the local journal and the registry,
//! side by side, and what the next command would do; and a yank run left
//! unfinished under `yank/`. Starts nothing and changes nothing: journals
//! are read without repair or lock.

use std::path::PathBuf;

use serde::Serialize;

use crate::cargo_backend;
use crate::journal::{
    CrateStatus, Peek, Record, RunState, StateDir, Tail, YankOutcome, YankState, YankStatus, peek,
    run_active,
};
use crate::ops::next_command::NextCommand;
use crate::ops::publish::recorded_selection;
use crate::ops::{PlanOpts, plan};
use crate::plan::Selection;
use crate::registry::{IndexVersion, LiveRegistry, SparseIndexReader};
use crate::secret::Secret;
use crate::workspace::{LoadedWorkspace, TargetChoice};

#[derive(Debug, Clone, Default)]
pub struct StatusOpts {
    /// Used when no run is in the state directory (a run's own selection wins).
    pub selection: Selection,
    pub target: TargetChoice,
    /// Default: `.shipper/` at the workspace root.
    pub state_dir: Option<PathBuf>,
    pub token: Option<Secret>,
    /// Do not ask the registry.
    pub offline: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub registry: String,
    /// The plan the workspace makes now.
    pub plan_id: String,
    /// The run in the state directory, if any.
    pub run: Option<RunSummary>,
    pub crates: Vec<CrateRow>,
    pub next: NextAction,
    /// The commands `next` names, as they must be typed (not in the JSON
    /// document: `next` says what they would do).
    #[serde(skip)]
    pub publish_command: String,
    #[serde(skip)]
    pub resume_command: String,
    /// The yank run under `yank/current/`, when one is there (unfinished,
    /// or running now).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub yank: Option<YankRunSummary>,
}

/// A yank run in the state directory, as its journal says.
#[derive(Debug, Clone, Serialize)]
pub struct YankRunSummary {
    pub yank_plan_id: String,
    pub registry: String,
    /// Unyanking (`yank --undo`).
    pub undo: bool,
    /// The yank plan file the run was given, when it recorded one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_file: Option<String>,
    pub runs: u32,
    /// A cargo-shipper process holds its lock now.
    pub active: bool,
    /// How the latest run ended; `None` when interrupted (or still going).
    pub outcome: Option<YankOutcome>,
    /// Versions in the wanted state, of `versions.len()`.
    pub done: usize,
    /// In the order the run acts on them.
    pub versions: Vec<YankRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct YankRow {
    pub name: String,
    pub version: String,
    pub status: YankStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub plan_id: String,
    /// Runs so far (1 + resumes).
    pub runs: u32,
    /// A cargo-shipper process holds the lock now.
    pub active: bool,
    /// How the latest run ended; `None` when interrupted (or still going).
    pub outcome: Option<crate::journal::RunOutcome>,
    pub last_seq: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CrateRow {
    pub name: String,
    pub version: String,
    /// The journal's state for this crate, when a run of this plan exists.
    pub journal: Option<CrateStatus>,
    pub registry: RegistryTruth,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum RegistryTruth {
    Present {
        yanked: bool,
        sha256: String,
        /// Whether it is what this journal uploaded (when it recorded a checksum).
        #[serde(skip_serializing_if = "Option::is_none")]
        matches_journal: Option<bool>,
    },
    Absent,
    /// Not asked (`--offline`) or no answer.
    Unknown {
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
}

/// What the next command would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum NextAction {
    /// Every plan crate is in the registry.
    Nothing,
    /// No run: `publish` would upload this many crates.
    Publish { upload: usize },
    /// An interrupted run of this plan: `resume` would first settle the
    /// uploads of unknown outcome with the registry, wait for the index to
    /// show the uploads the registry accepted (`wait`, not uploaded again),
    /// then upload.
    Resume {
        upload: usize,
        settle: usize,
        #[serde(default, skip_serializing_if = "is_zero")]
        wait: usize,
    },
    /// A run holds the lock: wait, or follow it (`status --events --follow`).
    Running,
    /// The state directory holds a run of another plan.
    PlanChanged { journal_plan: String },
    /// The registry could not be asked (or `--offline`): nothing to count.
    Unknown,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// What to do next, from the journal (`same_plan`: it is this plan's) and
/// the registry's side of each crate.
fn next_action(
    journal: Option<&Peek<RunState>>,
    active: bool,
    same_plan: bool,
    crates: &[CrateRow],
) -> NextAction {
    let absent = crates
        .iter()
        .filter(|c| c.registry == RegistryTruth::Absent)
        .count();
    let unknown = crates
        .iter()
        .any(|c| matches!(c.registry, RegistryTruth::Unknown { .. }));
    match journal {
        _ if active => NextAction::Running,
        // `publish` sets a run of another plan that uploaded nothing aside.
        Some(j) if !same_plan && !super::publish::uploaded_nothing(&j.records) => {
            NextAction::PlanChanged {
                journal_plan: j.state.plan_id.as_str().to_owned(),
            }
        }
        _ if unknown => NextAction::Unknown,
        Some(_) if !same_plan => NextAction::Publish { upload: absent },
        Some(j) => {
            let settle = j
                .state
                .crates
                .values()
                .filter(|c| matches!(c.status, CrateStatus::Uploading | CrateStatus::Ambiguous))
                .count();
            // Accepted by the registry, not yet in its index: `resume` only waits.
            let wait = crates
                .iter()
                .filter(|c| {
                    c.registry == RegistryTruth::Absent && c.journal == Some(CrateStatus::Uploaded)
                })
                .count();
            if absent == 0 && settle == 0 {
                NextAction::Nothing
            } else {
                NextAction::Resume {
                    upload: absent - wait,
                    settle,
                    wait,
                }
            }
        }
        None if absent == 0 => NextAction::Nothing,
        None => NextAction::Publish { upload: absent },
    }
}

pub fn status(ws: &LoadedWorkspace, opts: &StatusOpts) -> anyhow::Result<StatusReport> {
    let dir = resolve_dir(ws, opts.state_dir.as_ref())?;
    let journal = peek::<RunState>(&dir)?;
    let active = run_active(&dir);
    // A run is shown as the release it started, whatever the flags say now.
    let (selection, target) = match &journal {
        Some(Peek { records, .. }) => recorded_selection(records),
        None => (opts.selection.clone(), opts.target.clone()),
    };
    // Spelled to work as printed: this release's registry, selection and
    // state directory (never `--token` or `--config`: either may hold a
    // secret).
    let publish_command = NextCommand::new("publish")
        .target(&target)
        .selection(&selection)
        .state_dir(opts.state_dir.as_deref())
        .manifest_path(ws.manifest_path())
        .to_string();
    let resume_command = NextCommand::new("resume")
        .state_dir(opts.state_dir.as_deref())
        .manifest_path(ws.manifest_path())
        .to_string();
    let plan = plan(
        ws,
        &PlanOpts {
            selection,
            target,
            offline: opts.offline,
        },
    )?;
    let same_plan = journal.as_ref().is_some_and(|j| j.state.plan_id == plan.id);
    let truth = if opts.offline {
        vec![RegistryTruth::Unknown { error: None }; plan.crates.len()]
    } else {
        registry_truth(ws, &plan, opts.token.as_ref())
    };
    let crates: Vec<CrateRow> = plan
        .crates
        .iter()
        .zip(truth)
        .map(|(c, registry)| {
            let recorded = journal
                .as_ref()
                .filter(|_| same_plan)
                .and_then(|j| j.state.crates.get(&c.name));
            let registry = match registry {
                RegistryTruth::Present { yanked, sha256, .. } => RegistryTruth::Present {
                    matches_journal: recorded
                        .and_then(|r| r.sha256.as_ref())
                        .map(|ours| *ours == sha256),
                    yanked,
                    sha256,
                },
                other => other,
            };
            CrateRow {
                name: c.name.clone(),
                version: c.version.to_string(),
                journal: recorded.map(|r| r.status),
                registry,
            }
        })
        .collect();
    let next = next_action(journal.as_ref(), active, same_plan, &crates);
    Ok(StatusReport {
        registry: plan.target.display_name().to_owned(),
        plan_id: plan.id.as_str().to_owned(),
        run: journal.map(|j| RunSummary {
            plan_id: j.state.plan_id.as_str().to_owned(),
            runs: j.state.runs,
            active,
            outcome: j.state.outcome,
            last_seq: j.state.last_seq,
        }),
        crates,
        next,
        publish_command,
        resume_command,
        yank: yank_run(&dir)?,
    })
}

/// The yank run under `yank/current/`, if any.
fn yank_run(dir: &StateDir) -> anyhow::Result<Option<YankRunSummary>> {
    let dir = StateDir::new(&dir.root().join("yank"));
    let Some(Peek { state, .. }) = peek::<YankState>(&dir)? else {
        return Ok(None);
    };
    let versions: Vec<YankRow> = state
        .crates_in_order()
        .map(|(name, c)| YankRow {
            name: name.clone(),
            version: c.version.clone(),
            status: c.status,
            last_error: c.last_error.clone(),
        })
        .collect();
    Ok(Some(YankRunSummary {
        done: versions.iter().filter(|v| v.status.is_done()).count(),
        active: run_active(&dir),
        yank_plan_id: state.yank_plan_id,
        registry: state.registry,
        undo: state.undo,
        plan_file: state.plan_file,
        runs: state.runs,
        outcome: state.outcome,
        versions,
    }))
}

/// Every plan crate's version in the sparse index (fresh reads, a few at a time).
fn registry_truth(
    ws: &LoadedWorkspace,
    plan: &crate::plan::Plan,
    token: Option<&Secret>,
) -> Vec<RegistryTruth> {
    let unknown = |error: String| RegistryTruth::Unknown { error: Some(error) };
    let Some(sparse) = plan.target.sparse_index.as_deref() else {
        return vec![unknown("not a sparse registry".into()); plan.crates.len()];
    };
    let http = match ws.http() {
        Ok(http) => http,
        Err(error) => return vec![unknown(format!("{error:#}")); plan.crates.len()],
    };
    let reader = match LiveRegistry::index_config(&http, sparse, None) {
        Ok(config) if config.auth_required() => {
            match cargo_backend::read_token(ws, &plan.target, token) {
                Ok(token) => SparseIndexReader::new(&http, sparse).with_token(Some(token)),
                Err(error) => return vec![unknown(format!("{error:#}")); plan.crates.len()],
            }
        }
        Ok(_) => SparseIndexReader::new(&http, sparse),
        Err(error) => return vec![unknown(format!("{error:#}")); plan.crates.len()],
    };
    let answer = |name: &str, version: &semver::Version| match reader.versions(name) {
        Ok(versions) => versions
            .into_iter()
            .find(|v: &IndexVersion| &v.version == version)
            .map_or(RegistryTruth::Absent, |v| RegistryTruth::Present {
                yanked: v.yanked,
                sha256: v.checksum,
                matches_journal: None,
            }),
        Err(error) => unknown(error.to_string()),
    };
    let next = std::sync::atomic::AtomicUsize::new(0);
    let answers = std::sync::Mutex::new(vec![None; plan.crates.len()]);
    std::thread::scope(|s| {
        for _ in 0..8.min(plan.crates.len()) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(c) = plan.crates.get(i) else { break };
                    let truth = answer(&c.name, &c.version);
                    answers.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(truth);
                }
            });
        }
    });
    answers
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .map(|a| a.unwrap_or(RegistryTruth::Unknown { error: None }))
        .collect()
}

fn resolve_dir(ws: &LoadedWorkspace, given: Option<&PathBuf>) -> anyhow::Result<StateDir> {
    Ok(StateDir::new(&match given {
        Some(dir) => dir.clone(),
        None => ws.root()?.join(".shipper"),
    }))
}

/// The journal's records so far (empty when there is no run).
pub fn events(ws: &LoadedWorkspace, state_dir: Option<&PathBuf>) -> anyhow::Result<Vec<Record>> {
    let dir = resolve_dir(ws, state_dir)?;
    Ok(peek::<RunState>(&dir)?
        .map(|p| p.records)
        .unwrap_or_default())
}

/// Follow the journal of a running release: `sink` gets every record, old
/// and new, until the run finishes or no process holds the lock and nothing
/// new arrives.
pub fn follow(
    ws: &LoadedWorkspace,
    state_dir: Option<&PathBuf>,
    sink: &mut dyn FnMut(&Record),
) -> anyhow::Result<()> {
    let dir = resolve_dir(ws, state_dir)?;
    let mut tail = Tail::new(&dir);
    loop {
        // Ask whether the run is alive before reading: what it wrote before
        // letting go of the lock is then surely read.
        let active = run_active(&dir);
        let records = tail.poll()?;
        for record in &records {
            sink(record);
        }
        if records.iter().any(Record::ends_run) || (!active && records.is_empty()) {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
