//! Plain data that crosses module boundaries: the workspace as the planner
//! sees it (members, their publish settings and their dependencies on each
//! other) and the registry a release targets.
//!
//! These types carry no `cargo` types, so everything downstream of
//! [`crate::workspace`] stays independent of the cargo library.

mod exit;
mod plan_id;

pub use exit::{Coded, CodedContext, Exit, HasExit};
pub use plan_id::PlanId;

use std::time::Duration;

use semver::{Version, VersionReq};
use serde::Serialize;

/// The registry a release publishes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegistryTarget {
    /// Name as cargo knows it (`crates-io`, or a `[registries]` key);
    /// `None` when given as `--index URL`.
    pub name: Option<String>,
    /// Stable identity of the registry, part of the plan id: `crates-io` for
    /// crates.io (whatever replaces it locally), else the index URL.
    pub key: String,
    /// Sparse index URL to read from (`sparse+https://…/`), when the
    /// registry speaks the sparse protocol.
    pub sparse_index: Option<String>,
}

impl RegistryTarget {
    /// How `package.publish = [..]` lists must name this registry.
    pub fn publish_name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.key)
    }

    /// Where cargo takes this registry's token from the environment:
    /// `CARGO_REGISTRY_TOKEN` for crates.io, `CARGO_REGISTRIES_<NAME>_TOKEN`
    /// for a named registry; `None` for one given as `--index URL`.
    pub fn token_env_var(&self) -> Option<String> {
        match self.name.as_deref()? {
            "crates-io" => Some("CARGO_REGISTRY_TOKEN".to_owned()),
            name => Some(format!(
                "CARGO_REGISTRIES_{}_TOKEN",
                name.to_ascii_uppercase().replace('-', "_")
            )),
        }
    }
}

/// `package.publish` of a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "registries")]
pub enum PublishSetting {
    /// No `publish` key, or `publish = true`.
    Anywhere,
    /// `publish = false`.
    Nowhere,
    /// `publish = ["a", "b"]`.
    Only(Vec<String>),
}

impl PublishSetting {
    /// Whether cargo would let this package be published to `target`.
    pub fn allows(&self, target: &RegistryTarget) -> bool {
        match self {
            PublishSetting::Anywhere => true,
            PublishSetting::Nowhere => false,
            PublishSetting::Only(list) => target
                .publish_name()
                .is_some_and(|name| list.iter().any(|r| r == name)),
        }
    }
}

/// Kind of a dependency, as the manifest declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DepKind {
    Normal,
    Build,
    Dev,
}

/// How a dependency reaches another workspace member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DepRoute {
    /// `path = "…"`.
    Path,
    /// A registry dependency that the workspace's `[patch]` points at the member.
    Patch,
}

/// A dependency of one member on another member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDep {
    /// Package name of the member depended on.
    pub member: String,
    /// Key in the manifest (differs from `member` when renamed with `package = …`).
    pub name_in_toml: String,
    pub kind: DepKind,
    pub route: DepRoute,
    /// The version requirement, when the manifest gives one (always for `Patch`).
    pub req: Option<VersionReq>,
    /// `cfg(…)` or target triple of a `[target.….dependencies]` table.
    pub platform: Option<String>,
    pub optional: bool,
}

/// One workspace member as the planner needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub version: Version,
    /// Manifest directory relative to the workspace root, `/`-separated.
    pub rel_dir: String,
    pub publish: PublishSetting,
    /// Dependencies on other members only (external ones do not shape the plan).
    pub deps: Vec<MemberDep>,
}

/// The workspace as loaded, reduced to what planning needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceModel {
    pub members: Vec<Member>,
}

impl WorkspaceModel {
    pub fn member(&self, name: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.name == name)
    }
}

/// What the registry holds for a version, against what this journal sent:
/// the one rule behind settling, skipping and confirming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holding {
    /// This version, with the checksum this journal uploaded.
    Ours,
    /// This version with another checksum, or one this journal never sent.
    Theirs { sha256: String },
    /// Not this version.
    Absent,
}

impl Holding {
    /// `found`: the checksum the registry reports, if it has the version;
    /// `sent`: the checksum this journal uploaded, if it ever sent one.
    pub fn of(found: Option<&str>, sent: Option<&str>) -> Holding {
        match (found, sent) {
            (None, _) => Holding::Absent,
            (Some(found), Some(sent)) if found == sent => Holding::Ours,
            (Some(found), _) => Holding::Theirs {
                sha256: found.to_owned(),
            },
        }
    }
}

/// How an upload failed, decided from the error's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    /// Transport failure before anything was sent, or a 5xx: safe to retry.
    Retryable,
    /// 429: wait as long as the server says.
    RateLimited,
    /// The request may have landed: reconcile with the registry first.
    Ambiguous,
    /// Authentication, validation, a different crate under this version.
    Permanent,
    /// Read from a journal a newer cargo-shipper wrote: handled as
    /// `ambiguous` (the registry is asked before anything else happens).
    #[serde(other)]
    Unknown,
}

/// One token bucket: `burst` uploads at once, then one per `every`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    pub burst: u32,
    pub every: Duration,
}

/// Limits of a registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacingProfile {
    pub new_crates: Bucket,
    pub new_versions: Bucket,
}
