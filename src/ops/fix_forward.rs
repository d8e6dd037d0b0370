//! `cargo shipper fix-forward`: after a bad release, bump the crate that
//! needs the fix and every member that depends on it, rewrite the
//! manifests (comments and layout kept), and show the next release's plan.
//! A dry run by default; `--write` applies the change atomically per file.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context as _;

use crate::journal::{LoadedReceipt, Receipt};
use crate::manifest_edit::{Admitted, apply_bumps, manifest_rel, version_sources};
use crate::model::{Coded, WorkspaceModel};
use crate::plan::{BumpKind, BumpPlan, Plan, ReqEdit, VersionSources, edit_req, plan_bumps};
use crate::workspace::{LoadedWorkspace, TargetChoice};

use super::next_command::NextCommand;
use super::plan_yank::{ReceiptSource, latest_receipt};
use super::{PlanOpts, plan_model};

#[derive(Debug, Clone)]
pub struct FixForwardOpts {
    pub from: ReceiptSource,
    pub starting_crate: String,
    pub bump: BumpKind,
    /// Apply the change; otherwise only show it.
    pub write: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum FixForwardError {
    #[error("the receipt `{}` lists no crate named `{wanted}`; it holds: {holds}", receipt.display())]
    NotInRelease {
        receipt: PathBuf,
        wanted: String,
        holds: String,
    },
}

/// One manifest's change.
#[derive(Debug, Clone)]
pub struct ManifestChange {
    /// Relative to the workspace root.
    pub path: String,
    pub before: String,
    pub after: String,
}

#[derive(Debug)]
pub struct FixForwardReport {
    pub bumps: BumpPlan,
    pub changes: Vec<ManifestChange>,
    /// Requirements kept as written: they admit the new version without
    /// requiring it.
    pub admitted: Vec<Admitted>,
    pub written: bool,
    /// The next release: planned from the written manifests, or predicted
    /// from the change for a dry run.
    pub plan: Plan,
    /// The command that publishes it where the bad release went
    /// (`cargo shipper publish --registry acc`).
    pub publish: String,
}

pub fn fix_forward(
    ws: &LoadedWorkspace,
    opts: &FixForwardOpts,
) -> anyhow::Result<FixForwardReport> {
    let receipt_path = match &opts.from {
        ReceiptSource::File(path) => path.clone(),
        ReceiptSource::Latest { state_dir } => latest_receipt(state_dir)?,
    };
    let LoadedReceipt { receipt, .. } = Receipt::load(&receipt_path).map_err(Coded::from)?;
    if !receipt.crates.iter().any(|c| c.name == opts.starting_crate) {
        return Err(FixForwardError::NotInRelease {
            receipt: receipt_path,
            wanted: opts.starting_crate.clone(),
            holds: receipt
                .crates
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }
        .into());
    }
    let root = ws.root()?;
    let model = ws.model()?;
    let mut texts = BTreeMap::new();
    for rel in std::iter::once("Cargo.toml".to_owned())
        .chain(model.members.iter().map(|m| manifest_rel(&m.rel_dir)))
    {
        let path = root.join(&rel);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("could not read `{}`", path.display()))?;
        texts.insert(rel, text);
    }
    let (inheriting, workspace_version) = version_sources(&texts, &model).map_err(Coded::from)?;
    let sources = VersionSources {
        inheriting,
        workspace_version,
        released: receipt
            .crates
            .iter()
            .filter_map(|c| Some((c.name.clone(), c.version.parse().ok()?)))
            .collect(),
    };
    let bumps = plan_bumps(&model, &sources, &opts.starting_crate, opts.bump)?;
    // Every edit and every problem, in memory, before anything is shown
    // or written: a refusal (all problems listed) writes nothing.
    let edits = apply_bumps(&texts, &model, &bumps).map_err(Coded::from)?;
    let changes: Vec<ManifestChange> = edits
        .texts
        .iter()
        .map(|(path, after)| ManifestChange {
            path: path.clone(),
            before: texts[path].clone(),
            after: after.clone(),
        })
        .collect();

    // The next release goes where the bad one went, named as the next
    // `publish` names it (one name for the registry in the plan and the
    // command).
    let next = next_target(ws, &model, &receipt.registry);
    let plan_opts = PlanOpts {
        target: next.clone(),
        ..PlanOpts::default()
    };
    // Predicted from the change; it must plan before anything is written.
    let predicted = plan_model(ws, &predict(&model, &bumps), &plan_opts)?;
    let plan = if opts.write {
        let paths: Vec<_> = changes.iter().map(|c| root.join(&c.path)).collect();
        let files: Vec<(&std::path::Path, &[u8])> = paths
            .iter()
            .zip(&changes)
            .map(|(path, c)| (path.as_path(), c.after.as_bytes()))
            .collect();
        crate::atomic::write_all_atomic(&files).with_context(|| {
            format!(
                "could not write the {} manifests (each is staged before any is replaced)",
                files.len()
            )
        })?;
        super::plan(ws, &plan_opts).context(
            "the manifests were rewritten, but the workspace does not plan; see the error, fix it by hand",
        )?
    } else {
        predicted
    };
    Ok(FixForwardReport {
        bumps,
        changes,
        admitted: edits.admitted,
        written: opts.write,
        plan,
        publish: NextCommand::new("publish").target(&next).to_string(),
    })
}

/// How the next `publish` names the registry the receipt's release went
/// to (`registry`: its plan-id key): by its `[registries]` name when cargo's
/// configuration has one, else by index URL; crates.io needs no flag unless
/// the workspace publishes elsewhere by default.
fn next_target(ws: &LoadedWorkspace, model: &WorkspaceModel, registry: &str) -> TargetChoice {
    if registry == "crates-io" {
        let default_is_crates_io = ws
            .target(&TargetChoice::Default, model)
            .is_ok_and(|t| t.key == "crates-io");
        return match default_is_crates_io {
            true => TargetChoice::Default,
            false => TargetChoice::Registry("crates-io".to_owned()),
        };
    }
    match ws.registry_name_for(registry) {
        Some(name) => TargetChoice::Registry(name),
        None => TargetChoice::Index(registry.to_owned()),
    }
}

/// The workspace as the edits leave it: new versions, and requirements
/// carried by the same rule the manifests are edited with.
fn predict(model: &WorkspaceModel, bumps: &BumpPlan) -> WorkspaceModel {
    let mut predicted = model.clone();
    for member in &mut predicted.members {
        if let Some(to) = bumps.new_version(&member.name) {
            member.version = to.clone();
        }
        for dep in &mut member.deps {
            if let (Some(to), Some(req)) = (bumps.new_version(&dep.member), &dep.req)
                && let Ok(ReqEdit::Raised(new)) = edit_req(&req.to_string(), to)
            {
                dep.req = new.parse().ok();
            }
        }
    }
    predicted
}
