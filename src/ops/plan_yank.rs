//! `cargo shipper plan-yank`: a yank plan from a release's receipt, in the
//! order the receipt's graph dictates (dependents first), optionally written
//! as a file that `yank --plan` executes. Nothing is yanked here.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::journal::{
    CrateOutcome, LoadedReceipt, Receipt, ReceiptBinding, RunOutcome, YANK_PLAN_FORMAT,
    YANK_PLAN_KIND, YankPlan, YankTarget,
};
use crate::model::Coded;
use crate::plan::{ReleasedCrate, yank_order};
use crate::workspace::LoadedWorkspace;

/// Which receipt to plan from.
#[derive(Debug, Clone)]
pub enum ReceiptSource {
    /// A receipt file (a CI artifact, an archived run).
    File(PathBuf),
    /// The newest receipt of a finished run under this state directory.
    Latest { state_dir: PathBuf },
}

#[derive(Debug, Clone)]
pub struct PlanYankOpts {
    pub from: ReceiptSource,
    pub starting_crate: Option<String>,
    pub reason: Option<String>,
    /// Where to write the plan; `None`: only show it.
    pub output: Option<PathBuf>,
    /// The registry the user expects (its key), when they named one.
    pub expected_registry: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanYankError {
    #[error(
        "no receipt of a finished run under `{}`; give a receipt file with `--from-receipt FILE`",
        .0.display()
    )]
    NoFinishedRun(PathBuf),
    #[error(
        "the receipt is for registry `{receipt}`, not `{expected}`; plan from a receipt of that registry, or drop `--registry`/`--index`"
    )]
    OtherRegistry { receipt: String, expected: String },
    #[error("the release in `{}` uploaded nothing{scope}: nothing of it is this release's to yank", path.display())]
    NothingUploaded { path: PathBuf, scope: String },
    #[error(
        "`{}` exists and is not a yank plan; choose another `--output` path (nothing was written)",
        .0.display()
    )]
    WouldOverwrite(PathBuf),
}

/// The plan, and what a person should know about how it was made.
#[derive(Debug, Clone)]
pub struct PlanYankReport {
    pub plan: YankPlan,
    pub receipt_path: PathBuf,
    /// How `latest` was resolved, when it was asked for.
    pub latest: Option<LatestPick>,
    pub receipt_outcome: RunOutcome,
    /// Crates in scope that an earlier release owns (found already present).
    pub left_to_earlier_releases: Vec<String>,
    /// Crates in scope this release did not upload (failed, not attempted).
    pub never_uploaded: Vec<String>,
    pub written_to: Option<PathBuf>,
    /// The registry for people: cargo's `[registries]` name for it when the
    /// workspace's configuration has one, else the receipt's key.
    pub registry_name: String,
}

/// The receipt to plan from: the one given, or the latest release's.
fn receipt_to_use(from: &ReceiptSource) -> anyhow::Result<(PathBuf, Option<LatestPick>)> {
    Ok(match from {
        ReceiptSource::File(path) => (path.clone(), None),
        ReceiptSource::Latest { state_dir } => {
            let pick = latest_release(state_dir)?;
            (pick.receipt.clone(), Some(pick))
        }
    })
}

/// `ws`, when there is one, names the receipt's registry as cargo's
/// configuration does.
pub fn plan_yank(
    opts: &PlanYankOpts,
    ws: Option<&LoadedWorkspace>,
) -> anyhow::Result<PlanYankReport> {
    let (receipt_path, latest) = receipt_to_use(&opts.from)?;
    let LoadedReceipt { receipt, sha256 } = Receipt::load(&receipt_path).map_err(Coded::from)?;
    if let Some(expected) = &opts.expected_registry
        && *expected != receipt.registry
    {
        return Err(PlanYankError::OtherRegistry {
            receipt: receipt.registry.clone(),
            expected: expected.clone(),
        }
        .into());
    }
    let released: Vec<ReleasedCrate> = receipt
        .crates
        .iter()
        .map(|c| ReleasedCrate {
            name: c.name.clone(),
            uploaded: c.outcome == CrateOutcome::Published,
            depends_on: c.depends_on.clone(),
            dev_only: c.dev_only.clone(),
        })
        .collect();
    let order = yank_order(&released, opts.starting_crate.as_deref())
        .map_err(Coded::from)
        .with_context(|| format!("cannot plan from `{}`", receipt_path.display()))?;
    if order.is_empty() {
        return Err(PlanYankError::NothingUploaded {
            path: receipt_path,
            scope: opts
                .starting_crate
                .as_ref()
                .map(|c| format!(" from `{c}` on"))
                .unwrap_or_default(),
        }
        .into());
    }
    let all_in_scope = yank_order(
        &released
            .iter()
            .map(|c| ReleasedCrate {
                uploaded: true,
                ..c.clone()
            })
            .collect::<Vec<_>>(),
        opts.starting_crate.as_deref(),
    )
    .map_err(Coded::from)?;
    let crate_of = |name: &str| {
        receipt
            .crates
            .iter()
            .find(|c| c.name == name)
            .expect("ordered names come from the receipt")
    };
    let left_out = |outcomes: &[CrateOutcome]| -> Vec<String> {
        all_in_scope
            .iter()
            .filter(|name| !order.contains(name))
            .filter(|name| outcomes.contains(&crate_of(name).outcome))
            .map(|name| format!("{name}@{}", crate_of(name).version))
            .collect()
    };
    let left_to_earlier_releases = left_out(&[CrateOutcome::AlreadyPresent]);
    let never_uploaded = left_out(&[CrateOutcome::Failed, CrateOutcome::NotAttempted]);
    let plan = YankPlan {
        format: YANK_PLAN_FORMAT,
        kind: YANK_PLAN_KIND.to_owned(),
        registry: receipt.registry.clone(),
        receipt: ReceiptBinding {
            sha256,
            plan_id: receipt.plan_id.clone(),
        },
        starting_crate: opts.starting_crate.clone(),
        reason: opts.reason.clone(),
        crates: order.iter().map(|name| target_of(crate_of(name))).collect(),
    };
    let written_to = match &opts.output {
        Some(path) => {
            write_plan(path, &plan)?;
            Some(path.clone())
        }
        None => None,
    };
    let registry_name = ws
        .and_then(|ws| ws.registry_name_for(&plan.registry))
        .unwrap_or_else(|| plan.registry.clone());
    Ok(PlanYankReport {
        registry_name,
        plan,
        receipt_path,
        latest,
        receipt_outcome: receipt.outcome,
        left_to_earlier_releases,
        never_uploaded,
        written_to,
    })
}

fn target_of(c: &crate::journal::ReceiptCrate) -> YankTarget {
    YankTarget {
        name: c.name.clone(),
        version: c.version.clone(),
        sha256: c.sha256.clone(),
    }
}

/// Write atomically; never over a file that is not a yank plan (a receipt
/// given as `--output` by mistake must survive).
fn write_plan(path: &Path, plan: &YankPlan) -> anyhow::Result<()> {
    if path.exists() && YankPlan::load(path).is_err() {
        return Err(PlanYankError::WouldOverwrite(path.to_owned()).into());
    }
    // A mistyped directory is an error, not a directory to create.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        anyhow::bail!(
            "`{}` is not a directory; write the plan into one that exists",
            dir.display()
        );
    }
    let mut bytes = serde_json::to_vec_pretty(plan)?;
    bytes.push(b'\n');
    crate::atomic::write_atomic(path, &bytes)
        .with_context(|| format!("could not write `{}`", path.display()))
}

/// `latest`: the release a receipt stands for, as `plan-yank` and
/// `fix-forward` mean it.
#[derive(Debug, Clone)]
pub struct LatestPick {
    pub receipt: PathBuf,
    /// Newer finished runs passed over: they uploaded nothing (a rerun that
    /// found everything in the registry, a run of no crates).
    pub passed_over: usize,
    /// Whether the receipt uploaded anything (no run did, otherwise: it is
    /// the newest).
    pub uploaded: bool,
}

/// `archive/<ms>-<plan>-<what>/receipt.json` with the greatest time,
/// abandoned runs aside.
pub(super) fn latest_receipt(state_dir: &Path) -> anyhow::Result<PathBuf> {
    Ok(latest_release(state_dir)?.receipt)
}

/// The newest finished run's receipt (abandoned runs aside) of the newest
/// one's plan that uploaded something; when none did, the newest (which
/// then says so).
pub(super) fn latest_release(state_dir: &Path) -> anyhow::Result<LatestPick> {
    let archive = state_dir.join("archive");
    let entries = match std::fs::read_dir(&archive) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(PlanYankError::NoFinishedRun(state_dir.to_owned()).into());
        }
        Err(e) => {
            return Err(
                anyhow::Error::new(e).context(format!("could not list `{}`", archive.display()))
            );
        }
    };
    let mut finished: Vec<(u64, String, PathBuf)> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            // A run set aside with `--abandon-unfinished` did not finish.
            if name.ends_with("-abandoned") {
                return None;
            }
            let time: u64 = name.split('-').next()?.parse().ok()?;
            let receipt = entry.path().join("receipt.json");
            receipt.is_file().then_some((time, name, receipt))
        })
        .collect();
    finished.sort();
    let newest = finished
        .last()
        .map(|(_, _, receipt)| receipt.clone())
        .ok_or_else(|| PlanYankError::NoFinishedRun(state_dir.to_owned()))?;
    // The release of the newest run's plan: another plan's receipt is
    // another release (one whose versions this plan found, say).
    let plan_id = Receipt::load(&newest).map_err(Coded::from)?.receipt.plan_id;
    for (passed_over, (_, _, receipt)) in finished.iter().rev().enumerate() {
        let loaded = Receipt::load(receipt).map_err(Coded::from)?.receipt;
        let uploaded = loaded.plan_id == plan_id
            && loaded
                .crates
                .iter()
                .any(|c| c.outcome == CrateOutcome::Published);
        if uploaded {
            return Ok(LatestPick {
                receipt: receipt.clone(),
                passed_over,
                uploaded,
            });
        }
    }
    Ok(LatestPick {
        receipt: newest,
        passed_over: 0,
        uploaded: false,
    })
}
