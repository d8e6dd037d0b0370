//! The publish plan, computed without I/O: which members go out, in which
//! order, at which dependency level, and under which plan id.
//!
//! Planning happens in two steps so that this module never touches the
//! network: [`Draft::new`] selects crates, builds the dependency graph and
//! finds the soft (dev-dependency) edges that close a cycle; the caller asks
//! the registry about those ([`Draft::registry_questions`]) and hands the
//! answers to [`Draft::finish`], which breaks what the registry allows and
//! orders the rest.

mod bump;
mod draft;
mod graph;
mod scheduler;
mod yank;

pub use bump::{
    Bump, BumpError, BumpKind, BumpPlan, BumpReason, ReqEdit, ReqRefusal, VersionSources,
    bump_version, edit_req, plan_bumps,
};
pub use draft::{Draft, RegistryAnswer, RegistryQuestion, Selection};
pub use scheduler::PublishPlan;
pub use yank::{ReleasedCrate, YankOrderError, yank_order};

use semver::{Version, VersionReq};
use serde::Serialize;

use crate::model::{DepKind, Exit, HasExit, PlanId, RegistryTarget};

/// A finished plan: crates in publish order with the edges that bind them.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub id: PlanId,
    pub target: RegistryTarget,
    /// Publish order: topological, by level, ties by name.
    pub crates: Vec<PlannedCrate>,
    /// Soft edges dropped to break a cycle, and on what grounds.
    pub broken_edges: Vec<BrokenEdge>,
    /// Members left out, each with the reason.
    pub excluded: Vec<ExcludedMember>,
    /// Versions of members outside the plan that plan crates need from the registry.
    pub external_requirements: Vec<ExternalRequirement>,
}

impl Plan {
    pub fn get(&self, name: &str) -> Option<&PlannedCrate> {
        self.crates.iter().find(|c| c.name == name)
    }

    /// `names` grouped for packaging: one group per dependency level, in
    /// plan order, so every crate's plan dependencies are in earlier groups
    /// (names not in the plan come last, on their own).
    pub fn packaging_batches(&self, names: &[String]) -> Vec<Vec<String>> {
        let mut batches: Vec<Vec<String>> = Vec::new();
        for c in self.crates.iter().filter(|c| names.contains(&c.name)) {
            if batches.len() <= c.level {
                batches.resize_with(c.level + 1, Vec::new);
            }
            batches[c.level].push(c.name.clone());
        }
        batches.retain(|b| !b.is_empty());
        let strays: Vec<String> = names
            .iter()
            .filter(|n| self.get(n).is_none())
            .cloned()
            .collect();
        if !strays.is_empty() {
            batches.push(strays);
        }
        batches
    }

    /// Number of dependency levels (0 for an empty plan).
    pub fn level_count(&self) -> usize {
        self.crates.iter().map(|c| c.level + 1).max().unwrap_or(0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedCrate {
    pub name: String,
    pub version: Version,
    pub level: usize,
    /// Manifest directory relative to the workspace root.
    pub rel_dir: String,
    /// Plan crates that must be visible in the registry before this one goes
    /// out (hard edges, and soft edges that were kept), sorted.
    pub depends_on: Vec<String>,
    /// Those of `depends_on` it needs only as dev-dependencies (soft edges):
    /// its users do not depend on them.
    pub dev_only: Vec<String>,
    /// With `-p`: the selected crates that needed this one. Empty when the
    /// crate was selected itself (or no `-p` was given).
    pub pulled_in_by: Vec<String>,
}

/// Why a member is not in the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum ExclusionReason {
    /// `publish = false`.
    PublishFalse,
    /// `publish = [..]` does not list the target registry.
    NotForTarget { allowed: Vec<String> },
    /// `--exclude`.
    ExcludedByFlag,
    /// `-p` selected other crates and none of them needs this one.
    NotSelected,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExcludedMember {
    pub name: String,
    pub version: Version,
    #[serde(flatten)]
    pub reason: ExclusionReason,
}

/// A plan crate depends on a member that is not in the plan: the registry
/// must already hold a matching version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExternalRequirement {
    pub dependent: String,
    pub member: String,
    pub kind: DepKind,
    #[serde(serialize_with = "crate::plan::serialize_req")]
    pub req: Option<VersionReq>,
}

/// A soft edge removed to break a cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokenEdge {
    /// The crate whose dev-dependency this is.
    pub dependent: String,
    pub dependency: String,
    #[serde(serialize_with = "crate::plan::serialize_some_req")]
    pub req: VersionReq,
    #[serde(flatten)]
    pub resolution: BreakResolution,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "resolution")]
pub enum BreakResolution {
    /// The registry holds this (unyanked) version, which satisfies the requirement.
    RegistryHas { version: Version },
    /// Planned offline: the registry must be checked before publishing.
    NeedsRegistryCheck,
}

/// Problems that make a workspace unpublishable as selected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanProblem {
    #[error("`{0}` is not a member of this workspace")]
    UnknownPackage(String),
    #[error(
        "`{0}` is both selected (`-p {0}`) and excluded (`--exclude {0}`); drop one of the two"
    )]
    SelectedAndExcluded(String),
    #[error("`{name}` cannot be published to `{target}` ({why}); drop it from `-p`")]
    NotPublishable {
        name: String,
        target: String,
        why: String,
    },
    #[error(
        "`{dependent}` depends on `{dependency}`, which cannot be published to `{target}` ({why}); \
         make `{dependency}` publishable, or leave `{dependent}` out (`--exclude {dependent}` or `publish = false`)"
    )]
    UnpublishableDependency {
        dependent: String,
        dependency: String,
        target: String,
        why: String,
    },
    #[error(
        "`{dependent}` depends on `{dependency}` by path without a version; \
         registries need one: add `version = \"{version}\"` to that dependency"
    )]
    MissingVersion {
        dependent: String,
        dependency: String,
        version: Version,
    },
    #[error(
        "`{dependent}` requires `{dependency} {req}`, but the workspace has `{dependency}` {version}; \
         update the requirement or the version"
    )]
    VersionMismatch {
        dependent: String,
        dependency: String,
        req: VersionReq,
        version: Version,
    },
    #[error("dependency cycle between {}: normal and build dependencies cannot form a cycle", list(.crates))]
    HardCycle { crates: Vec<String> },
    #[error(
        "dependency cycle between {} closes through dev-dependencies ({}), and the registry has no version that satisfies them; \
         drop the `version` of those dev-dependencies (cargo then strips them on publish), or publish a satisfying version first",
        list(.crates),
        .edges.join(", ")
    )]
    SoftCycle {
        crates: Vec<String>,
        /// `a -> b (req)` for each unbroken dev-dependency edge inside the cycle.
        edges: Vec<String>,
    },
}

/// All problems found, reported together so one run shows everything to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct PlanError {
    pub problems: Vec<PlanProblem>,
}

impl HasExit for PlanError {
    fn exit(&self) -> Exit {
        Exit::InvalidWorkspace
    }
}

impl PlanError {
    fn render(&self) -> String {
        match self.problems.as_slice() {
            [one] => one.to_string(),
            many => {
                let mut text =
                    format!("the workspace cannot be planned ({} problems):", many.len());
                for p in many {
                    text.push_str("\n  - ");
                    text.push_str(&p.to_string());
                }
                text
            }
        }
    }
}

fn list(crates: &[String]) -> String {
    crates
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn serialize_req<S: serde::Serializer>(
    req: &Option<VersionReq>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match req {
        Some(r) => s.serialize_str(&r.to_string()),
        None => s.serialize_none(),
    }
}

pub(crate) fn serialize_some_req<S: serde::Serializer>(
    req: &VersionReq,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(&req.to_string())
}
