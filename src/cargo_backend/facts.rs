//! What `preflight` learns from the cargo library without publishing: each
//! member's publish metadata and dependencies without a version, the
//! registry versions the lockfile pins for them (and whether the registry
//! has yanked those), and whether cargo's credential machinery has a token.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use cargo::core::dependency::DepKind;
use cargo::sources::IndexSummary;
use cargo::sources::source::QueryKind;
use cargo::util::auth::AuthorizationError;
use cargo::util::cache_lock::CacheLockMode;

use crate::model::RegistryTarget;
use crate::secret::Secret;
use crate::workspace::LoadedWorkspace;

/// A member's manifest, as far as publishing cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestFacts {
    pub name: String,
    pub version: String,
    pub description: bool,
    /// `license` or `license-file`.
    pub license: bool,
    pub repository: bool,
    /// `readme` (set, or found by cargo).
    pub readme: bool,
    /// Normal and build dependencies by path or git without a version
    /// requirement (registries refuse them; dev-dependencies are stripped).
    pub unversioned_deps: Vec<String>,
}

/// Manifest facts of the named members, in the order given.
pub fn manifest_facts(
    ws: &LoadedWorkspace,
    names: &[String],
) -> anyhow::Result<Vec<ManifestFacts>> {
    let cargo_ws = ws.cargo_workspace()?;
    let mut facts = Vec::new();
    for name in names {
        let Some(pkg) = cargo_ws.members().find(|p| p.name().as_str() == name) else {
            continue;
        };
        let meta = pkg.manifest().metadata();
        let filled = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
        let unversioned_deps = pkg
            .dependencies()
            .iter()
            .filter(|d| d.kind() != DepKind::Development)
            .filter(|d| (d.source_id().is_path() || d.source_id().is_git()) && !d.specified_req())
            .map(|d| d.name_in_toml().to_string())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        facts.push(ManifestFacts {
            name: name.clone(),
            version: pkg.version().to_string(),
            description: filled(&meta.description),
            license: filled(&meta.license) || filled(&meta.license_file),
            repository: filled(&meta.repository),
            readme: filled(&meta.readme),
            unversioned_deps,
        });
    }
    Ok(facts)
}

/// A registry package the lockfile pins for a member's normal or build dependency.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LockedDep {
    pub dependent: String,
    pub name: String,
    pub version: String,
    /// The registry's name for people (`crates-io`, a `[registries]` key, a URL).
    pub registry: String,
    pub yanked: bool,
    /// Yanked, and so is every version the dependent's requirement admits
    /// (`requirement`): no new consumer can build the dependent, and
    /// `cargo update` cannot help.
    pub only_yanked: bool,
    /// The dependent's requirement on it, as written (`^0.3.0`).
    pub requirement: String,
}

/// Resolve the workspace as its lockfile says (nothing is written) and ask
/// each pinned registry version's source, through cargo's source
/// replacement, whether it is yanked. Direct dependencies of `names` only.
pub fn locked_registry_deps(
    ws: &LoadedWorkspace,
    names: &[String],
) -> anyhow::Result<Vec<LockedDep>> {
    let cargo_ws = ws.cargo_workspace()?;
    let (pkg_set, resolve) = cargo::ops::resolve_ws(&cargo_ws, true)?;
    let _lock = ws
        .gctx()
        .acquire_package_cache_lock(CacheLockMode::DownloadExclusive)?;
    let sources = pkg_set.sources();
    for (_, source) in sources.iter() {
        source.invalidate_cache();
    }
    let mut found = BTreeSet::new();
    for pkg in cargo_ws
        .members()
        .filter(|p| names.iter().any(|n| n == p.name().as_str()))
    {
        for (dep_id, deps) in resolve.deps(pkg.package_id()) {
            if !dep_id.source_id().is_registry()
                || deps.iter().all(|d| d.kind() == DepKind::Development)
            {
                continue;
            }
            let Some(source) = sources.get(dep_id.source_id()) else {
                continue;
            };
            let yanked = block_on(source.is_yanked(dep_id))?;
            let declared = deps
                .iter()
                .find(|d| d.kind() != DepKind::Development)
                .expect("a normal or build edge");
            // Every version the requirement admits, yanked ones included
            // (the edge is locked to the pinned version: ask with the
            // requirement as written).
            let only_yanked = yanked && {
                let unlocked = cargo::core::Dependency::parse(
                    declared.package_name(),
                    Some(&declared.version_req().to_string()),
                    declared.source_id(),
                )?;
                let admitted = block_on(source.query_vec(&unlocked, QueryKind::RejectedVersions))?;
                !admitted.is_empty()
                    && admitted
                        .iter()
                        .all(|s| matches!(s, IndexSummary::Yanked(_)))
            };
            found.insert(LockedDep {
                dependent: pkg.name().to_string(),
                name: dep_id.name().to_string(),
                version: dep_id.version().to_string(),
                registry: dep_id.source_id().display_registry_name(),
                yanked,
                only_yanked,
                requirement: declared.version_req().to_string(),
            });
        }
    }
    Ok(found.into_iter().collect())
}

/// Whether cargo (or `--token`) has a token for the target registry.
pub enum TokenLookup {
    Found(Secret),
    /// No token configured anywhere cargo looks; says where to put one.
    Missing(String),
    /// A credential provider failed.
    Failed(String),
}

/// Ask `--token`, then cargo's credential providers, for the target's token.
pub fn find_token(
    ws: &LoadedWorkspace,
    target: &RegistryTarget,
    cli_token: Option<&Secret>,
) -> TokenLookup {
    match super::read_token(ws, target, cli_token) {
        Ok(token) => TokenLookup::Found(token),
        Err(error) => {
            let text = error
                .chain()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join(": ");
            if error.chain().any(|e| e.is::<AuthorizationError>()) {
                TokenLookup::Missing(text)
            } else {
                TokenLookup::Failed(text)
            }
        }
    }
}

/// Run one of cargo's futures to completion on this thread (cargo's own
/// executor is private; its sources only need a waker that wakes us).
pub(super) fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(out) => return out,
            Poll::Pending => std::thread::park_timeout(std::time::Duration::from_millis(50)),
        }
    }
}
