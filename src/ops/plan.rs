//! `cargo shipper plan`: workspace -> registry-checked [`Plan`].

use anyhow::Context as _;

use crate::cargo_backend;
use crate::model::{Coded, WorkspaceModel};
use crate::plan::{Draft, Plan, RegistryAnswer, Selection};
use crate::registry::{LiveRegistry, SparseIndexReader};
use crate::workspace::{LoadedWorkspace, TargetChoice};

#[derive(Debug, Clone, Default)]
pub struct PlanOpts {
    pub selection: Selection,
    pub target: TargetChoice,
    /// Do not ask the registry: soft cycles are reported as needing a check.
    pub offline: bool,
}

pub fn plan(ws: &LoadedWorkspace, opts: &PlanOpts) -> anyhow::Result<Plan> {
    plan_model(ws, &ws.model()?, opts)
}

/// Plan `model` (the workspace's, or one changed in memory, as a
/// fix-forward predicts it) with `ws`'s cargo configuration.
pub fn plan_model(
    ws: &LoadedWorkspace,
    model: &WorkspaceModel,
    opts: &PlanOpts,
) -> anyhow::Result<Plan> {
    let model = model.clone();
    let target = ws.target(&opts.target, &model)?;
    let draft = Draft::new(&model, &target, &opts.selection).map_err(Coded::from)?;

    // The registry is only asked when a dev-dependency cycle needs it.
    let reader = match (&target.sparse_index, opts.offline) {
        (Some(url), false) if !draft.registry_questions().is_empty() => {
            let http = ws.http()?;
            let config = LiveRegistry::index_config(&http, url, None).with_context(|| {
                format!(
                    "could not reach the `{}` index (to check a dev-dependency cycle); retry, or plan with `--offline`",
                    target.display_name()
                )
            })?;
            let token = match config.auth_required() {
                true => Some(cargo_backend::read_token(ws, &target, None)?),
                false => None,
            };
            Some(SparseIndexReader::new(&http, url).with_token(token))
        }
        _ => None,
    };
    let mut answers = Vec::new();
    for question in draft.registry_questions() {
        let answer = match &reader {
            None => RegistryAnswer::Unknown,
            Some(reader) => {
                let versions = reader.versions(&question.member).with_context(|| {
                    format!(
                        "could not check `{}` in the `{}` index (to break a dev-dependency cycle); \
                         retry, or plan with `--offline`",
                        question.member,
                        target.display_name()
                    )
                })?;
                versions
                    .into_iter()
                    .filter(|v| !v.yanked && question.req.matches(&v.version))
                    .map(|v| v.version)
                    .max()
                    .map_or(RegistryAnswer::NotSatisfied, RegistryAnswer::Satisfied)
            }
        };
        answers.push((question.clone(), answer));
    }
    let plan = draft
        .finish(|q| {
            answers
                .iter()
                .find(|(asked, _)| asked == q)
                .map(|(_, a)| a.clone())
                .unwrap_or(RegistryAnswer::Unknown)
        })
        .map_err(Coded::from)?;
    Ok(plan)
}
