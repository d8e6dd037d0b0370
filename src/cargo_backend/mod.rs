//! Packaging, verification and upload metadata through the cargo library,
//! in-process (no `cargo publish` child), and tokens through cargo's own
//! credential machinery. With `workspace`, the only user of `cargo`; all of
//! it runs on the calling thread (cargo's types are not `Send`).

mod consumer;
mod facts;
mod overlay;
mod package;

pub use consumer::{
    above_toolchain, binary_members, check as check_consumer, install, library_members,
    resolve_failure, yanked_in_resolve,
};
pub use facts::{
    LockedDep, ManifestFacts, TokenLookup, find_token, locked_registry_deps, manifest_facts,
};
pub use package::{
    PackageRequest, PackagedContents, Stopped, package, package_contents, package_levels,
};

use std::collections::BTreeMap;

use anyhow::Context as _;
use cargo::core::dependency::DepKind;
use cargo::core::{Package, SourceId, Workspace};
use cargo::ops::RegistryOrIndex;
use cargo_credential::Operation;
use crates_io::{NewCrate, NewCrateDependency};

use crate::model::{Coded, RegistryTarget};
use crate::registry::UploadJob;
use crate::secret::{Secret, TokenOrigin};
use crate::workspace::LoadedWorkspace;

/// Remove what cargo cached under `$CARGO_HOME/registry/` for the registry
/// at `index_url` (index files, `.crate` files, unpacked sources): an
/// ephemeral rehearsal registry is on a new port each time, so its caches
/// would only pile up. Best effort: a failure leaves them, nothing else.
pub fn forget_registry_caches(ws: &LoadedWorkspace, index_url: &str) {
    let Some(name) = registry_dir_name(index_url) else {
        return;
    };
    let gctx = ws.gctx();
    for base in [
        gctx.registry_index_path(),
        gctx.registry_cache_path(),
        gctx.registry_source_path(),
    ] {
        let dir = base.into_path_unlocked().join(&name);
        if dir.exists() {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

/// Remove `(name, version)`'s downloaded `.crate` and unpacked sources from
/// cargo's caches for the registry at `index_url`, and that registry's index
/// cache: cargo reuses them by name and version, never asking whether the
/// registry now holds other bytes.
pub fn forget_cached_crates(
    ws: &LoadedWorkspace,
    index_url: &str,
    crates: &[(String, String)],
) -> anyhow::Result<()> {
    let Some(name) = registry_dir_name(index_url) else {
        return Ok(());
    };
    let gctx = ws.gctx();
    let index = gctx.registry_index_path().into_path_unlocked().join(&name);
    let cache = gctx.registry_cache_path().into_path_unlocked().join(&name);
    let sources = gctx.registry_source_path().into_path_unlocked().join(&name);
    let remove = |path: &std::path::Path, dir: bool| -> anyhow::Result<()> {
        let removed = match dir {
            true => std::fs::remove_dir_all(path),
            false => std::fs::remove_file(path),
        };
        match removed {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(anyhow::Error::new(e)
                .context(format!(
                    "could not remove cargo's cached `{}`",
                    path.display()
                ))),
            _ => Ok(()),
        }
    };
    remove(&index, true)?;
    for (krate, version) in crates {
        remove(&cache.join(format!("{krate}-{version}.crate")), false)?;
        remove(&sources.join(format!("{krate}-{version}")), true)?;
    }
    Ok(())
}

/// Where cargo keeps the `.crate` files it downloaded from the registry at
/// `index_url` (`$CARGO_HOME/registry/cache/<host>-<hash>/`).
pub fn registry_crate_cache(ws: &LoadedWorkspace, index_url: &str) -> Option<std::path::PathBuf> {
    let name = registry_dir_name(index_url)?;
    Some(
        ws.gctx()
            .registry_cache_path()
            .into_path_unlocked()
            .join(name),
    )
}

/// cargo's own directory name for a registry (`short_name` in its registry
/// source, kept stable across cargo versions): host, then a stable hash of
/// the source id, which hashes its kind and canonical URL only.
///
/// Hashed without making a `SourceId`: cargo interns source ids by URL, and
/// a key-less one made first would name the registry by its URL instead of
/// its configured name in every line cargo prints afterwards.
fn registry_dir_name(index_url: &str) -> Option<String> {
    let url = cargo::util::IntoUrl::into_url(index_url).ok()?;
    let kind = match index_url.starts_with("sparse+") {
        true => cargo::core::SourceKind::SparseRegistry,
        false => cargo::core::SourceKind::Registry,
    };
    let canonical = cargo::util::CanonicalUrl::new(&url).ok()?;
    Some(format!(
        "{}-{}",
        url.host_str().unwrap_or_default(),
        cargo::util::hex::short_hash(&(kind, canonical))
    ))
}

/// Whether `error` is cargo's resolver failing (a dependency no source
/// offers), by type.
pub fn is_resolve_error(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|e| e.is::<cargo::core::resolver::ResolveError>())
        || error
            .downcast_ref::<cargo::core::resolver::ResolveError>()
            .is_some()
}

/// The token for publishing `job`, from `--token` or cargo's credential
/// providers (environment, `credentials.toml`, `cargo:token`, …).
pub fn publish_token(
    ws: &LoadedWorkspace,
    target: &RegistryTarget,
    job: &UploadJob,
    cli_token: Option<&Secret>,
) -> anyhow::Result<Secret> {
    if let Some(token) = cli_token {
        return Ok(token.clone());
    }
    let sid = source_id(ws, target)?;
    let token = cargo::util::auth::auth_token(
        ws.gctx(),
        &sid,
        None,
        Operation::Publish {
            name: &job.name,
            vers: &job.version,
            cksum: &job.sha256,
        },
        Vec::new(),
        false,
    )?;
    Ok(Secret::token(token, TokenOrigin::Cargo).map_err(Coded::from)?)
}

/// The token for yanking (or, with `undo`, unyanking) `name@version`.
pub fn yank_token(
    ws: &LoadedWorkspace,
    target: &RegistryTarget,
    name: &str,
    version: &str,
    undo: bool,
    cli_token: Option<&Secret>,
) -> anyhow::Result<Secret> {
    if let Some(token) = cli_token {
        return Ok(token.clone());
    }
    let sid = source_id(ws, target)?;
    let operation = if undo {
        Operation::Unyank {
            name,
            vers: version,
        }
    } else {
        Operation::Yank {
            name,
            vers: version,
        }
    };
    let token = cargo::util::auth::auth_token(ws.gctx(), &sid, None, operation, Vec::new(), false)?;
    Ok(Secret::token(token, TokenOrigin::Cargo).map_err(Coded::from)?)
}

/// The token for reading a registry that requires one (`auth-required`).
pub fn read_token(
    ws: &LoadedWorkspace,
    target: &RegistryTarget,
    cli_token: Option<&Secret>,
) -> anyhow::Result<Secret> {
    if let Some(token) = cli_token {
        return Ok(token.clone());
    }
    let sid = source_id(ws, target)?;
    let token =
        cargo::util::auth::auth_token(ws.gctx(), &sid, None, Operation::Read, Vec::new(), false)?;
    Ok(Secret::token(token, TokenOrigin::Cargo).map_err(Coded::from)?)
}

/// The version of the cargo library linked in (the cargo release it
/// matches), for receipts.
pub fn cargo_version() -> String {
    format!("cargo {} (linked library)", cargo::version())
}

/// The cargo release the linked library matches (`1.97.0` for the cargo
/// 0.98 library), which decides the packaging rules.
pub fn linked_cargo_release() -> String {
    cargo::version().version
}

fn reg_or_index(target: &RegistryTarget) -> Option<RegistryOrIndex> {
    match target.name.as_deref() {
        Some("crates-io") => None,
        Some(name) => Some(RegistryOrIndex::Registry(name.to_owned())),
        None => Some(RegistryOrIndex::Index(
            target
                .key
                .parse()
                .expect("the index URL parsed when the target was chosen"),
        )),
    }
}

/// The target's original source id (before any source replacement), as
/// cargo uses it for tokens and for marking dependencies of other registries.
fn source_id(ws: &LoadedWorkspace, target: &RegistryTarget) -> anyhow::Result<SourceId> {
    match target.name.as_deref() {
        Some("crates-io") => SourceId::crates_io(ws.gctx()),
        Some(name) => SourceId::alt_registry(ws.gctx(), name),
        None => SourceId::for_registry(&target.key.parse()?),
    }
}

/// The publish metadata cargo sends with an upload (what its private
/// `prepare_transmit` builds), from the package as it will be published.
fn upload_metadata(
    gctx: &cargo::GlobalContext,
    ws: &Workspace<'_>,
    local: &Package,
    registry_id: SourceId,
) -> anyhow::Result<NewCrate> {
    let publish = cargo::util::toml::prepare_for_publish(local, ws, None)?;
    let deps = publish
        .dependencies()
        .iter()
        .map(|dep| {
            // In the index and API, no registry means "the one published to";
            // in Cargo.toml it means crates.io.
            let dep_registry = match dep.registry_id() {
                Some(id) => id,
                None => SourceId::crates_io(gctx)?,
            };
            Ok(NewCrateDependency {
                optional: dep.is_optional(),
                default_features: dep.uses_default_features(),
                name: dep.package_name().to_string(),
                features: dep.features().iter().map(|f| f.to_string()).collect(),
                version_req: dep.version_req().to_string(),
                target: dep.platform().map(|p| p.to_string()),
                kind: match dep.kind() {
                    DepKind::Normal => "normal",
                    DepKind::Build => "build",
                    DepKind::Development => "dev",
                }
                .to_owned(),
                registry: (dep_registry != registry_id).then(|| dep_registry.url().to_string()),
                explicit_name_in_toml: dep.explicit_name_in_toml().map(|n| n.to_string()),
                artifact: dep
                    .artifact()
                    .map(|a| a.kinds().iter().map(|k| k.as_str().into_owned()).collect()),
                bindep_target: dep
                    .artifact()
                    .and_then(|a| a.target().map(|t| t.as_str().to_owned())),
                lib: dep.artifact().is_some_and(|a| a.is_lib()),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let meta = publish.manifest().metadata();
    // The content from where the readme is in the source (`../../README.md`
    // too); the published manifest names its place inside the package.
    let readme = local
        .manifest()
        .metadata()
        .readme
        .as_ref()
        .map(|readme| {
            std::fs::read_to_string(local.root().join(readme)).with_context(|| {
                format!(
                    "failed to read `readme` file for package `{}`",
                    local.name()
                )
            })
        })
        .transpose()?;
    if let Some(file) = &local.manifest().metadata().license_file
        && !local.root().join(file).exists()
    {
        anyhow::bail!(
            "the license file `{file}` of `{}` does not exist",
            local.name()
        );
    }
    let features: BTreeMap<String, Vec<String>> = publish
        .manifest()
        .normalized_toml()
        .features()
        .map(|features| {
            features
                .iter()
                .map(|(name, values)| (name.to_string(), values.clone()))
                .collect()
        })
        .unwrap_or_default();
    Ok(NewCrate {
        name: publish.name().to_string(),
        vers: publish.version().to_string(),
        deps,
        features,
        authors: meta.authors.clone(),
        description: meta.description.clone(),
        documentation: meta.documentation.clone(),
        homepage: meta.homepage.clone(),
        readme,
        readme_file: meta.readme.clone(),
        keywords: meta.keywords.clone(),
        categories: meta.categories.clone(),
        license: meta.license.clone(),
        license_file: meta.license_file.clone(),
        repository: meta.repository.clone(),
        badges: meta.badges.clone(),
        links: meta.links.clone(),
        rust_version: meta.rust_version.as_ref().map(|v| v.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_dir_name_is_cargos_and_interns_no_source_id() {
        // A URL only this test uses: the interned id is this test's to see.
        let index = "sparse+http://127.0.0.1:1/dir-name-test/";
        let name = registry_dir_name(index).expect("a valid URL");
        let url = cargo::util::IntoUrl::into_url(index).unwrap();
        // Made with a key first: had `registry_dir_name` interned a key-less
        // id, this one would come back without its name.
        let named = SourceId::for_alt_registry(&url, "named").unwrap();
        assert_eq!(named.display_registry_name(), "named");
        let keyless = SourceId::for_registry(&url).unwrap();
        assert_eq!(
            name,
            format!("127.0.0.1-{}", cargo::util::hex::short_hash(&keyless))
        );
        let git = "https://example.invalid/git-index";
        let git_sid =
            SourceId::for_registry(&cargo::util::IntoUrl::into_url(git).unwrap()).unwrap();
        assert_eq!(
            registry_dir_name(git).unwrap(),
            format!("example.invalid-{}", cargo::util::hex::short_hash(&git_sid))
        );
    }
}
