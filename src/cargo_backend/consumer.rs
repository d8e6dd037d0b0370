//! The rehearsal's consumer build (`cargo check` of a generated crate) and
//! smoke install (`cargo install` of the binary crates), in-process; and
//! which members are libraries or binaries.

use cargo::core::compiler::UserIntent;
use cargo::ops::CompileOptions;

use crate::workspace::LoadedWorkspace;

/// Of `names`, the members that have a library target (proc-macros included).
pub fn library_members(ws: &LoadedWorkspace, names: &[String]) -> anyhow::Result<Vec<String>> {
    let cargo_ws = ws.cargo_workspace()?;
    Ok(names
        .iter()
        .filter(|name| {
            cargo_ws
                .members()
                .find(|p| p.name().as_str() == name.as_str())
                .is_some_and(|p| p.targets().iter().any(|t| t.is_lib()))
        })
        .cloned()
        .collect())
}

/// Of `names`, the members whose `rust-version` the toolchain cargo builds
/// with does not reach: `(name, rust-version)`, and that toolchain's version.
pub fn above_toolchain(
    ws: &LoadedWorkspace,
    names: &[String],
) -> anyhow::Result<(Vec<(String, String)>, String)> {
    let cargo_ws = ws.cargo_workspace()?;
    let rustc = ws.gctx().load_global_rustc(Some(&cargo_ws))?.version;
    let rustc_triple = (rustc.major, rustc.minor, rustc.patch);
    let mut above = Vec::new();
    for pkg in cargo_ws
        .members()
        .filter(|p| names.iter().any(|n| n == p.name().as_str()))
    {
        let Some(wanted) = pkg.rust_version().map(|v| v.to_string()) else {
            continue;
        };
        // `1.99` or `1.99.1`: the missing parts are 0, as cargo reads them.
        let mut parts = wanted.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
        let triple = (
            parts.next().unwrap_or(0),
            parts.next().unwrap_or(0),
            parts.next().unwrap_or(0),
        );
        if triple > rustc_triple {
            above.push((pkg.name().to_string(), wanted));
        }
    }
    Ok((above, rustc.to_string()))
}

/// Of `names`, the members that have a binary target.
pub fn binary_members(ws: &LoadedWorkspace, names: &[String]) -> anyhow::Result<Vec<String>> {
    let cargo_ws = ws.cargo_workspace()?;
    Ok(names
        .iter()
        .filter(|name| {
            cargo_ws
                .members()
                .find(|p| p.name().as_str() == name.as_str())
                .is_some_and(|p| p.targets().iter().any(|t| t.is_bin()))
        })
        .cloned()
        .collect())
}

/// `cargo install` each `(name, version)` at `=version` from crates.io as
/// `ws`'s context resolves it (a rehearsal's: the rehearsal registry) into
/// `root`, untracked.
pub fn install(
    ws: &LoadedWorkspace,
    root: &std::path::Path,
    crates: &[(String, String)],
) -> anyhow::Result<()> {
    let gctx = ws.gctx();
    let krates = crates
        .iter()
        .map(|(name, version)| Ok((name.clone(), Some(format!("={version}").parse()?))))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let root = root
        .to_str()
        .ok_or_else(|| anyhow::anyhow!("the install root is not valid UTF-8"))?;
    let opts = CompileOptions::new(gctx, UserIntent::Build)?;
    let result = cargo::ops::install(
        gctx,
        Some(root),
        krates,
        cargo::core::SourceId::crates_io(gctx)?,
        false,
        &opts,
        false,
        true,
        false,
    );
    ws.end_cargo_step();
    result?;
    Ok(())
}

/// Resolve and type-check `consumer` and everything it depends on.
/// Where a consumer's resolution failed, from cargo's typed error: the
/// packages from the consumer down to the one whose dependency could not be
/// resolved (`name version`), and cargo's reason (its first line).
pub fn resolve_failure(error: &anyhow::Error) -> Option<(Vec<String>, String)> {
    use cargo::core::resolver::ResolveError;
    let resolve = error
        .downcast_ref::<ResolveError>()
        .or_else(|| error.chain().find_map(|e| e.downcast_ref::<ResolveError>()))?;
    // cargo lists the path from the failing package up to the root.
    let path = resolve
        .package_path()
        .iter()
        .rev()
        .map(|id| format!("{} {}", id.name(), id.version()))
        .collect();
    let reason = resolve.to_string();
    let reason = reason.lines().next().unwrap_or_default().trim().to_owned();
    Some((path, reason))
}

/// The registry packages `consumer` resolves to as its lockfile stands
/// (written if missing) that their registry has yanked, as `name version`:
/// a lockfile may keep a yanked version, a new consumer never gets one.
pub fn yanked_in_resolve(consumer: &LoadedWorkspace) -> anyhow::Result<Vec<String>> {
    let cargo_ws = consumer.cargo_workspace()?;
    let (pkg_set, resolve) = cargo::ops::resolve_ws(&cargo_ws, false)?;
    let _lock = consumer
        .gctx()
        .acquire_package_cache_lock(cargo::util::cache_lock::CacheLockMode::DownloadExclusive)?;
    let sources = pkg_set.sources();
    let mut yanked = Vec::new();
    for id in resolve.iter().filter(|id| id.source_id().is_registry()) {
        let Some(source) = sources.get(id.source_id()) else {
            continue;
        };
        if super::facts::block_on(source.is_yanked(id))? {
            yanked.push(format!("{} {}", id.name(), id.version()));
        }
    }
    Ok(yanked)
}

pub fn check(consumer: &LoadedWorkspace) -> anyhow::Result<()> {
    let cargo_ws = consumer.cargo_workspace()?;
    let opts = CompileOptions::new(consumer.gctx(), UserIntent::Check { test: false })?;
    let result = cargo::ops::compile(&cargo_ws, &opts);
    consumer.end_cargo_step();
    result?;
    Ok(())
}
