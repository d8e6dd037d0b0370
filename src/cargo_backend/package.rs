//! Packaging and verifying a release in-process: one plan level per
//! `cargo::ops::package` call, each resolving the earlier levels' `.crate`
//! files through our overlay of the target registry (see `overlay`).

use std::collections::{BTreeSet, HashSet};
use std::rc::Rc;

use anyhow::Context as _;
use cargo::core::Workspace;
use cargo::core::resolver::CliFeatures;
use cargo::ops::{self, PackageOpts, Packages};
use cargo::sources::SourceConfigMap;
use cargo::util::context::JobsConfig;
use sha2::{Digest, Sha256};

use super::overlay::Overlay;
use super::{reg_or_index, source_id, upload_metadata};
use crate::model::RegistryTarget;
use crate::registry::UploadJob;
use crate::workspace::LoadedWorkspace;

/// What to package.
#[derive(Debug, Clone)]
pub struct PackageRequest<'a> {
    /// Crates in groups: every crate's plan dependencies are in earlier
    /// groups (the plan's levels, [`crate::plan::Plan::packaging_batches`]).
    pub batches: &'a [Vec<String>],
    pub target: &'a RegistryTarget,
    pub verify: bool,
    pub allow_dirty: bool,
    /// Index lines (JSON) of versions another registry has that the target
    /// does not serve: a rehearsal's stand-in hides the live target's other
    /// versions of the crates it rehearses, which a dev-dependency may need.
    pub borrowed_index: &'a [String],
    /// Whether the run was asked to stop: after a failure, nothing is
    /// packaged again to name the failing crate.
    pub stopped: Stopped<'a>,
}

/// Whether a signal asked the run to stop (a failure may be its doing).
#[derive(Clone, Copy)]
pub struct Stopped<'a>(pub &'a dyn Fn() -> bool);

impl std::fmt::Debug for Stopped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Stopped").field(&(self.0)()).finish()
    }
}

/// Package (and verify) the requested members group by group, each group
/// resolving the earlier groups' `.crate` files through our overlay of the
/// target registry (see `overlay`), so members linked by `path` or through
/// `[patch]` alike are packaged and verified before the first upload.
pub fn package(
    ws: &LoadedWorkspace,
    request: &PackageRequest<'_>,
) -> anyhow::Result<Vec<UploadJob>> {
    package_levels(ws, request, &mut |_| {})
}

/// [`package`], calling `on_level` with each group's crates once they are
/// packaged (and verified): the progress of a step that can take minutes.
pub fn package_levels(
    ws: &LoadedWorkspace,
    request: &PackageRequest<'_>,
    on_level: &mut dyn FnMut(&[String]),
) -> anyhow::Result<Vec<UploadJob>> {
    if request.batches.iter().all(|b| b.is_empty()) {
        return Ok(Vec::new());
    }
    let registry_id = source_id(ws, request.target)?;
    let upstream = SourceConfigMap::empty(ws.gctx())?
        .load(registry_id, &HashSet::new())?
        .replaced_source_id();
    let build_dir = ws.cargo_workspace()?.build_dir().into_path_unlocked();
    let overlay = Overlay::create(ws.gctx(), &build_dir, upstream)?;
    let packaging = ws.with_cargo_env(&[overlay.env()])?;
    let gctx = packaging.gctx();
    share_credentials(ws.gctx(), gctx);
    for line in request.borrowed_index {
        overlay.add_line(line)?;
    }
    let cargo_ws = packaging.cargo_workspace()?;
    let flags = &ws.context_opts().compile;
    let cli_features = CliFeatures::from_command_line(
        &flags.features,
        flags.all_features,
        !flags.no_default_features,
    )?;
    // As `cargo publish`: a feature no crate of the release has is an error.
    let all: Vec<String> = request.batches.iter().flatten().cloned().collect();
    cargo_ws.members_with_features(
        &Packages::Packages(all).to_package_id_specs(&cargo_ws)?,
        &cli_features,
    )?;
    // One cargo call (and one step of cargo's output, `shown` as any, or
    // forgotten when it repeats one) for `names`.
    let package_these =
        |names: &[String], shown: bool| -> anyhow::Result<Vec<cargo::util::FileLock>> {
            let files = ops::package(
                &cargo_ws,
                &PackageOpts {
                    gctx,
                    list: false,
                    fmt: ops::PackageMessageFormat::Human,
                    check_metadata: true,
                    allow_dirty: request.allow_dirty,
                    include_lockfile: true,
                    verify: request.verify,
                    jobs: flags.jobs.as_deref().map(jobs_config),
                    keep_going: flags.keep_going,
                    to_package: Packages::Packages(names.to_vec()),
                    targets: flags.targets.clone(),
                    cli_features: batch_features(&cargo_ws, names, &cli_features)?,
                    reg_or_index: reg_or_index(request.target),
                    dry_run: false,
                },
            );
            match shown {
                true => packaging.end_cargo_step(),
                false => packaging.discard_cargo_step(),
            }
            files
        };
    let mut jobs = Vec::new();
    for batch in request.batches.iter().filter(|b| !b.is_empty()) {
        let started = std::time::SystemTime::now();
        let files = match package_these(batch, true) {
            Ok(files) => files,
            Err(error) => {
                let verified = Verified {
                    dir: &build_dir.join("package"),
                    ws: &cargo_ws,
                    since: started,
                };
                if (request.stopped.0)() {
                    // Most likely the signal's doing: nothing new starts.
                    return Err(error.context(format!("packaging failed for {}", batch.join(", "))));
                }
                // cargo's output of the batch said why; the repeats stay quiet.
                let alone = |name: &[String]| package_these(name, false);
                return Err(name_the_failure(batch, error, &verified, alone));
            }
        };
        for name in batch {
            let (pkg, file, sha256) = packaged_file(&cargo_ws, &files, name)?;
            // For the overlay, dependencies are marked against the source
            // it stands for, as cargo's own overlay marks them.
            overlay.add(
                &upload_metadata(gctx, &cargo_ws, &pkg, upstream)?,
                file.path(),
                &sha256,
            )?;
            jobs.push(UploadJob {
                name: name.clone(),
                version: pkg.version().to_string(),
                sha256,
                crate_file: file.path().to_owned(),
                metadata: upload_metadata(gctx, &cargo_ws, &pkg, registry_id)?,
            });
        }
        on_level(batch);
    }
    Ok(jobs)
}

/// Where cargo verified a batch's crates, and since when.
struct Verified<'a> {
    /// `<build dir>/package`: cargo unpacks each `.crate` into
    /// `<name>-<version>/` there to build it, one crate after the other.
    dir: &'a std::path::Path,
    ws: &'a cargo::core::Workspace<'a>,
    since: std::time::SystemTime,
}

impl Verified<'_> {
    /// Of `batch`, the crates cargo unpacked to verify since `since`, the
    /// last unpacked first: cargo stops at the first that fails, so it is
    /// most likely the newest.
    fn newest_first(&self, batch: &[String]) -> Vec<String> {
        let mut unpacked: Vec<(std::time::SystemTime, String)> = batch
            .iter()
            .filter_map(|name| {
                let pkg = self.ws.members().find(|p| p.name().as_str() == name)?;
                let dir = self.dir.join(format!("{}-{}", pkg.name(), pkg.version()));
                let modified = std::fs::metadata(dir).ok()?.modified().ok()?;
                (modified >= self.since).then(|| (modified, name.clone()))
            })
            .collect();
        unpacked.sort_by(|a, b| b.cmp(a));
        unpacked.into_iter().map(|(_, name)| name).collect()
    }
}

/// The error of a batch that failed, naming the crate that failed: cargo's
/// own error may not ("failed to verify package tarball: 1 job failed").
/// The crates cargo got to verify are packaged again one at a time, newest
/// first, until one fails: that one is named, with its own error. Only on
/// the failure path, and usually once.
fn name_the_failure(
    batch: &[String],
    error: anyhow::Error,
    verified: &Verified<'_>,
    package_these: impl Fn(&[String]) -> anyhow::Result<Vec<cargo::util::FileLock>>,
) -> anyhow::Error {
    if batch.len() > 1 {
        for name in verified.newest_first(batch) {
            if let Err(alone) = package_these(std::slice::from_ref(&name)) {
                return alone.context(format!("packaging failed for {name}"));
            }
        }
    }
    error.context(format!("packaging failed for {}", batch.join(", ")))
}

/// `-j` as cargo's command line gives it to its build configuration.
fn jobs_config(jobs: &str) -> JobsConfig {
    match jobs.parse() {
        Ok(n) => JobsConfig::Integer(n),
        Err(_) => JobsConfig::String(jobs.to_owned()),
    }
}

/// Of `cli`'s features, those some crate of `batch` has (by cargo's own
/// matching): cargo refuses, per call, a feature none of the crates it
/// packages has, and a plan level is one call while the release's features
/// were checked against all of its crates.
fn batch_features(
    ws: &Workspace<'_>,
    batch: &[String],
    cli: &CliFeatures,
) -> anyhow::Result<CliFeatures> {
    if cli.features.is_empty() {
        return Ok(cli.clone());
    }
    let specs = Packages::Packages(batch.to_vec()).to_package_id_specs(ws)?;
    let kept = cli
        .features
        .iter()
        .filter(|feature| {
            let one = CliFeatures {
                features: Rc::new(BTreeSet::from([(*feature).clone()])),
                ..cli.clone()
            };
            ws.members_with_features(&specs, &one).is_ok()
        })
        .cloned()
        .collect();
    Ok(CliFeatures {
        features: Rc::new(kept),
        ..cli.clone()
    })
}

/// Tokens cargo already obtained in `from` (a read token for a registry
/// that requires one), for the packaging context: cargo asks its
/// credential providers only once per context. In memory only.
fn share_credentials(from: &cargo::GlobalContext, to: &cargo::GlobalContext) {
    let cached = from.credential_cache();
    let mut into = to.credential_cache();
    for (url, value) in cached.iter() {
        into.insert(
            url.clone(),
            cargo::util::context::CredentialCacheValue {
                token_value: value.token_value.clone(),
                expiration: value.expiration,
                operation_independent: value.operation_independent,
            },
        );
    }
}

/// A `.crate` packaged for its contents only (see [`package_contents`]).
#[derive(Debug, Clone)]
pub struct PackagedContents {
    pub name: String,
    /// Of the file as packaged (without a lockfile: not an upload's bytes).
    pub sha256: String,
    pub crate_file: std::path::PathBuf,
}

/// Package members for their contents only, to compare with what a
/// registry holds: one cargo call, no lockfile (it costs a resolution per
/// crate and is left out of every comparison), no verification, dirtiness
/// allowed. Cheap enough for a rerun that finds hundreds of versions
/// already published.
pub fn package_contents(
    ws: &LoadedWorkspace,
    names: &[String],
    target: &RegistryTarget,
) -> anyhow::Result<Vec<PackagedContents>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let cargo_ws = ws.cargo_workspace()?;
    let files = ops::package(
        &cargo_ws,
        &PackageOpts {
            gctx: ws.gctx(),
            list: false,
            fmt: ops::PackageMessageFormat::Human,
            check_metadata: false,
            allow_dirty: true,
            include_lockfile: false,
            verify: false,
            jobs: None,
            keep_going: false,
            to_package: Packages::Packages(names.to_vec()),
            targets: Vec::new(),
            cli_features: CliFeatures::new_all(false),
            reg_or_index: reg_or_index(target),
            dry_run: false,
        },
    )
    .context("packaging to compare with the registry failed");
    ws.end_cargo_step();
    let files = files?;
    let mut out = Vec::new();
    for name in names {
        let (_, file, sha256) = packaged_file(&cargo_ws, &files, name)?;
        out.push(PackagedContents {
            name: name.clone(),
            sha256,
            crate_file: file.path().to_owned(),
        });
    }
    Ok(out)
}

/// The member `name`, the `.crate` cargo made of it among `files`, and
/// that file's sha256.
fn packaged_file<'f>(
    cargo_ws: &cargo::core::Workspace<'_>,
    files: &'f [cargo::util::FileLock],
    name: &str,
) -> anyhow::Result<(cargo::core::Package, &'f cargo::util::FileLock, String)> {
    let pkg = cargo_ws
        .members()
        .find(|p| p.name().as_str() == name)
        .with_context(|| format!("`{name}` is not a workspace member"))?;
    let file_name = pkg.package_id().tarball_name();
    let file = files
        .iter()
        .find(|f| {
            f.path()
                .file_name()
                .is_some_and(|n| n == file_name.as_str())
        })
        .with_context(|| format!("cargo produced no `{file_name}`"))?;
    let bytes = std::fs::read(file.path())
        .with_context(|| format!("could not read `{}`", file.path().display()))?;
    Ok((pkg.clone(), file, hex::encode(Sha256::digest(&bytes))))
}
