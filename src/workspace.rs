//! Loads a cargo workspace in-process through the cargo library and reduces
//! it to [`crate::model`] types; resolves the target registry the way
//! `cargo publish` does. With `cargo_backend`, the only user of `cargo`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use cargo::GlobalContext;
use cargo::core::dependency::DepKind as CargoDepKind;
use cargo::core::{Dependency, Package, SourceId, Workspace};
use cargo::util::important_paths::find_root_manifest_for_wd;

use crate::cargo_output::{CargoOutput, Show};
use crate::model::{
    Bucket, Coded, CodedContext, DepKind, DepRoute, Exit, HasExit, Member, MemberDep,
    PacingProfile, PublishSetting, RegistryTarget, WorkspaceModel,
};

/// What the user said about the target registry (`--registry` / `--index`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TargetChoice {
    /// Neither flag: cargo's `registry.default`, else what the publishable
    /// members' `publish` settings imply, as `cargo publish --workspace`
    /// infers it (see [`infer_registry`]).
    #[default]
    Default,
    Registry(String),
    Index(String),
}

/// Options for building the cargo context, as cargo's flags give them: the
/// global ones, `--target-dir`, and the compilation flags verification
/// builds with. They stay with the loaded workspace, so every cargo context
/// made from it (a rehearsal's, the packaging overlay's, a consumer's) and a
/// drill's child run ([`ContextOpts::cargo_args`]) get them too.
#[derive(Debug, Clone, Default)]
pub struct ContextOpts {
    pub verbose: u32,
    pub quiet: bool,
    pub color: Option<String>,
    /// `--frozen`: `--locked` and `--offline`.
    pub frozen: bool,
    pub locked: bool,
    pub offline: bool,
    /// `--config KEY=VALUE|PATH`, in the order given (a later one wins).
    pub config: Vec<String>,
    pub target_dir: Option<PathBuf>,
    pub compile: CompileFlags,
}

/// cargo's flags for the build that verifies a package (`cargo publish`'s
/// Feature Selection and Compilation Options).
#[derive(Debug, Clone, Default)]
pub struct CompileFlags {
    /// `-F`: space or comma separated, as given.
    pub features: Vec<String>,
    pub all_features: bool,
    pub no_default_features: bool,
    /// `-j`: a whole number (negative: that many below the CPUs) or `default`.
    pub jobs: Option<String>,
    pub keep_going: bool,
    /// `--target`: target triples.
    pub targets: Vec<String>,
}

impl ContextOpts {
    /// The cargo flags of these options, for a child run of this program
    /// (verbosity and colour aside): it packages what this run packages.
    pub fn cargo_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        let mut flag = |on: bool, name: &str| {
            if on {
                args.push(name.to_owned());
            }
        };
        flag(self.frozen, "--frozen");
        flag(self.locked, "--locked");
        flag(self.offline, "--offline");
        flag(self.compile.all_features, "--all-features");
        flag(self.compile.no_default_features, "--no-default-features");
        flag(self.compile.keep_going, "--keep-going");
        for value in &self.config {
            args.push(format!("--config={value}"));
        }
        if let Some(dir) = &self.target_dir {
            args.push(format!("--target-dir={}", dir.display()));
        }
        for features in &self.compile.features {
            args.push(format!("--features={features}"));
        }
        if let Some(jobs) = &self.compile.jobs {
            args.push(format!("--jobs={jobs}"));
        }
        for target in &self.compile.targets {
            args.push(format!("--target={target}"));
        }
        args
    }
}

/// Errors loading the workspace; callers map them to exit codes.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("could not find `Cargo.toml` in `{}` or any parent directory", .0.display())]
    NoManifest(PathBuf),
    #[error("manifest path `{}` does not exist", .0.display())]
    ManifestMissing(PathBuf),
    #[error("the manifest path must end in `Cargo.toml`: `{}`", .0.display())]
    NotAManifest(PathBuf),
    #[error("could not load the workspace at `{}`", .0.display())]
    Invalid(PathBuf),
}

impl HasExit for LoadError {
    fn exit(&self) -> Exit {
        Exit::InvalidWorkspace
    }
}

/// A loaded workspace: the cargo context and the manifest it was loaded from.
pub struct LoadedWorkspace {
    gctx: GlobalContext,
    manifest: PathBuf,
    opts: ContextOpts,
    cli_config: Vec<String>,
    /// Where cargo's shell writes, shared with every context made from
    /// this one.
    output: CargoOutput,
}

impl LoadedWorkspace {
    /// Build a cargo context and check that the workspace loads.
    pub fn load(manifest_path: Option<&Path>, opts: &ContextOpts) -> anyhow::Result<Self> {
        let output = CargoOutput::new(match opts.verbose {
            0 => Show::Diagnostics,
            _ => Show::Everything,
        });
        let loaded = Self::load_with_config(manifest_path, opts, &[], &[], &output);
        // What loading said (a manifest warning) is shown now, or never.
        output.end_step();
        loaded
    }

    /// The same workspace in a new cargo context with extra `--config`
    /// entries (a rehearsal's source replacement); the user's files are
    /// never touched.
    pub fn with_config(&self, cli_config: &[String]) -> anyhow::Result<Self> {
        Self::load_with_config(
            Some(&self.manifest),
            &self.opts,
            cli_config,
            &[],
            &self.output,
        )
    }

    /// The same workspace and configuration in a new cargo context whose
    /// environment snapshot (never the process's) also holds `env`: for
    /// `cargo_backend`'s packaging overlay.
    pub(crate) fn with_cargo_env(&self, env: &[(String, String)]) -> anyhow::Result<Self> {
        Self::load_with_config(
            Some(&self.manifest),
            &self.opts,
            &self.cli_config,
            env,
            &self.output,
        )
    }

    /// Another workspace (a generated one) in a cargo context like this
    /// one's, with extra `--config` entries; never `--locked` (it has no
    /// lockfile yet; `--frozen` keeps its `--offline` half).
    pub fn sibling(&self, manifest: &Path, cli_config: &[String]) -> anyhow::Result<Self> {
        let opts = ContextOpts {
            locked: false,
            frozen: false,
            offline: self.opts.offline || self.opts.frozen,
            ..self.opts.clone()
        };
        Self::load_with_config(Some(manifest), &opts, cli_config, &[], &self.output)
    }

    /// cargo's output so far was one step (see [`CargoOutput`]): show it if
    /// it carries a warning or an error.
    pub(crate) fn end_cargo_step(&self) {
        self.output.end_step();
    }

    /// cargo's output so far repeated a step already shown: forget it.
    pub(crate) fn discard_cargo_step(&self) {
        self.output.discard_step();
    }

    /// The options this workspace's cargo context was made with.
    pub fn context_opts(&self) -> &ContextOpts {
        &self.opts
    }

    /// Whether cargo may not use the network (`--offline`, `--frozen`, or
    /// `net.offline` in its configuration).
    pub fn offline(&self) -> bool {
        self.offline_flag().is_some()
    }

    /// The flag that keeps cargo off the network, as cargo names it in its
    /// refusals (`--frozen`, `--offline`), if any.
    pub fn offline_flag(&self) -> Option<&'static str> {
        self.gctx.offline_flag()
    }

    fn load_with_config(
        manifest_path: Option<&Path>,
        opts: &ContextOpts,
        cli_config: &[String],
        extra_env: &[(String, String)],
        output: &CargoOutput,
    ) -> anyhow::Result<Self> {
        let mut gctx = GlobalContext::default()?;
        // Captured, never straight to stderr: the tool's own lines and a
        // progress bar share it (`configure` still sets the verbosity).
        *gctx.shell() = cargo_util_terminal::Shell::from_write(output.writer());
        if !extra_env.is_empty() {
            let mut env: HashMap<String, String> = std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect();
            env.extend(extra_env.iter().cloned());
            gctx.set_env(env);
        }
        // The user's `--config` first: ours (a rehearsal's source
        // replacement) must win.
        let all_config: Vec<String> = opts.config.iter().chain(cli_config).cloned().collect();
        // Relative to the working directory, as cargo reads it.
        let target_dir = opts.target_dir.as_ref().map(|dir| gctx.cwd().join(dir));
        gctx.configure(
            opts.verbose,
            opts.quiet,
            opts.color.as_deref(),
            opts.frozen,
            opts.locked,
            opts.offline,
            &target_dir,
            &[],
            &all_config,
        )?;
        let manifest = match manifest_path {
            Some(path) => {
                let absolute = gctx.cwd().join(path);
                if absolute.file_name().is_none_or(|n| n != "Cargo.toml") {
                    return Err(Coded::new(LoadError::NotAManifest(path.to_owned())).into());
                }
                if !absolute.exists() {
                    return Err(Coded::new(LoadError::ManifestMissing(path.to_owned())).into());
                }
                absolute
            }
            None => find_root_manifest_for_wd(gctx.cwd())
                .map_err(|_| Coded::new(LoadError::NoManifest(gctx.cwd().to_owned())))?,
        };
        let loaded = LoadedWorkspace {
            gctx,
            manifest,
            opts: opts.clone(),
            cli_config: cli_config.to_vec(),
            output: output.clone(),
        };
        loaded.workspace()?;
        Ok(loaded)
    }

    fn workspace(&self) -> anyhow::Result<Workspace<'_>> {
        Workspace::new(&self.manifest, &self.gctx)
            .map_err(|e| e.coded_context(LoadError::Invalid(self.manifest.clone())))
    }

    /// The HTTP client for registry requests, with the user's cargo
    /// `[http]` settings (proxy, `cainfo`, `proxy-cainfo`, `check-revoke`,
    /// `ssl-version`, `timeout`, `low-speed-limit`, `multiplexing`,
    /// `user-agent`, `debug`) applied by cargo's own code to each handle.
    /// Cargo reads the configuration here, on the cargo thread; what the
    /// client keeps is plain data, so handles are made on any thread.
    /// Fails as cargo does when `--offline` forbids the network.
    pub fn http(&self) -> anyhow::Result<crate::registry::Http> {
        use cargo::util::network::http::{HandleConfiguration, HttpTimeout};
        let configured = HandleConfiguration::new(&self.gctx)?;
        let timeout = HttpTimeout::new(&self.gctx)?;
        let http = self.gctx.http_config()?;
        let own_user_agent = http.user_agent.is_none();
        let multiplexing = configured.multiplexing;
        Ok(crate::registry::Http::new(move || {
            let mut easy = curl::easy::Easy::new();
            configured.configure(&mut easy)?;
            if own_user_agent {
                // cargo would say `cargo/<version of the library>`.
                easy.useragent(crate::registry::http::USER_AGENT)?;
            }
            // As cargo's `HttpTimeout::configure`: the connect phase and a
            // stall, never a whole transfer (a large upload may take long).
            easy.connect_timeout(timeout.dur)?;
            easy.low_speed_time(timeout.dur)?;
            easy.low_speed_limit(timeout.low_speed_limit)?;
            if !multiplexing {
                easy.http_version(curl::easy::HttpVersion::V11)?;
            }
            Ok(easy)
        }))
    }

    /// The root manifest this workspace was loaded from (absolute).
    pub fn manifest_path(&self) -> &Path {
        &self.manifest
    }

    /// For `cargo_backend`, the other user of the cargo library.
    pub(crate) fn cargo_workspace(&self) -> anyhow::Result<Workspace<'_>> {
        self.workspace()
    }

    pub(crate) fn gctx(&self) -> &GlobalContext {
        &self.gctx
    }

    /// The workspace root directory.
    pub fn root(&self) -> anyhow::Result<PathBuf> {
        Ok(self.workspace()?.root().to_owned())
    }

    /// The directories cargo writes build output to for this workspace:
    /// its target and build directories (`--target-dir`, `CARGO_TARGET_DIR`,
    /// `build.target-dir`, `build.build-dir`, or `target/`).
    pub fn output_dirs(&self) -> anyhow::Result<Vec<PathBuf>> {
        let ws = self.workspace()?;
        Ok(vec![
            ws.target_dir().into_path_unlocked(),
            ws.build_dir().into_path_unlocked(),
        ])
    }

    /// Members and their dependencies on each other.
    pub fn model(&self) -> anyhow::Result<WorkspaceModel> {
        let ws = self.workspace()?;
        let members: Vec<&Package> = ws.members().collect();
        let by_source: HashMap<SourceId, &Package> = members
            .iter()
            .map(|p| (p.package_id().source_id(), *p))
            .collect();
        let patched = patched_members(&ws, &by_source)?;
        let mut model = WorkspaceModel {
            members: members
                .iter()
                .map(|p| member(p, ws.root(), &by_source, &patched))
                .collect(),
        };
        model.members.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(model)
    }

    /// Registry rate limits from `[workspace.metadata.shipper.pacing]`:
    /// `new-crates` and `new-versions`, each `{ burst = N, per-seconds = S }`.
    pub fn pacing(&self) -> anyhow::Result<Option<PacingProfile>> {
        let Some(pacing) = self.pacing_table()? else {
            return Ok(None);
        };
        if pacing.get("new-crates").is_none() && pacing.get("new-versions").is_none() {
            return Ok(None); // only other limits (`yanks`) are configured
        }
        Ok(Some(
            PacingProfile {
                new_crates: bucket(&pacing, "new-crates")?,
                new_versions: bucket(&pacing, "new-versions")?,
            }
            .time_scaled(time_scale(&pacing)?),
        ))
    }

    /// The limit on yanks and unyanks: `yanks = { burst = N, per-seconds = S }`
    /// under `[workspace.metadata.shipper.pacing]`.
    pub fn yank_pacing(&self) -> anyhow::Result<Option<Bucket>> {
        match self.pacing_table()? {
            Some(pacing) if pacing.get("yanks").is_some() => Ok(Some(
                bucket(&pacing, "yanks")?.time_scaled(time_scale(&pacing)?),
            )),
            _ => Ok(None),
        }
    }

    /// `[workspace.metadata.shipper.pacing]`, as JSON (the `toml` crate
    /// stays cargo's business).
    fn pacing_table(&self) -> anyhow::Result<Option<serde_json::Value>> {
        let ws = self.workspace()?;
        ws.custom_metadata()
            .and_then(|m| m.get("shipper"))
            .and_then(|s| s.get("pacing"))
            .map(serde_json::to_value)
            .transpose()
            .context("`[workspace.metadata.shipper.pacing]` is not a table")
    }

    /// `require-rehearsal = true` under `[workspace.metadata.shipper]`.
    pub fn requires_rehearsal(&self) -> anyhow::Result<bool> {
        let ws = self.workspace()?;
        let Some(value) = ws
            .custom_metadata()
            .and_then(|m| m.get("shipper"))
            .and_then(|s| s.get("require-rehearsal"))
        else {
            return Ok(false);
        };
        value.as_bool().with_context(
            || "`[workspace.metadata.shipper] require-rehearsal` must be `true` or `false`",
        )
    }

    /// Whether the user's configuration replaces crates.io (`[source.crates-io]
    /// replace-with = …`), beyond cargo's built-in sparse protocol switch.
    pub fn crates_io_replaced(&self) -> anyhow::Result<bool> {
        let sid = SourceId::crates_io(&self.gctx)?;
        let set = std::collections::HashSet::new();
        let builtin = cargo::sources::SourceConfigMap::empty(&self.gctx)?
            .load(sid, &set)?
            .replaced_source_id();
        let configured = cargo::sources::SourceConfigMap::new(&self.gctx)?
            .load(sid, &set)?
            .replaced_source_id();
        Ok(builtin != configured)
    }

    /// The `[registries]` name cargo's configuration gives the registry at
    /// `index` (a plan-id key), when exactly one does: naming it spares
    /// cargo's credential lookup its "name of alternative registry" note.
    pub fn registry_name_for(&self, index: &str) -> Option<String> {
        // Compared as canonical URLs, never through a `SourceId` made from
        // the URL: cargo interns source ids, and a key-less one made first
        // would stand in for the named one afterwards.
        let wanted = cargo::util::CanonicalUrl::new(&index.parse().ok()?).ok()?;
        let values = self.gctx.values().ok()?;
        let (registries, _) = values.get("registries")?.table("registries").ok()?;
        let mut names: Vec<&String> = registries
            .keys()
            .filter(|name| {
                SourceId::alt_registry(&self.gctx, name)
                    .is_ok_and(|sid| *sid.canonical_url() == wanted)
            })
            .collect();
        names.sort();
        match names.as_slice() {
            [name] => Some((*name).clone()),
            _ => None,
        }
    }

    /// The sparse index cargo reads for `target` once the user's source
    /// replacement is applied (`[source.crates-io] replace-with = …`), or
    /// `None` when that source is not a sparse registry.
    pub fn read_index(&self, target: &RegistryTarget) -> anyhow::Result<Option<String>> {
        let sid = match target.name.as_deref() {
            Some("crates-io") => SourceId::crates_io_maybe_sparse_http(&self.gctx)?,
            Some(name) => SourceId::alt_registry(&self.gctx, name)?,
            None => SourceId::for_registry(&target.key.parse()?)?,
        };
        let replaced = cargo::sources::SourceConfigMap::new(&self.gctx)?
            .load(sid, &std::collections::HashSet::new())?
            .replaced_source_id();
        Ok(replaced.is_sparse().then(|| replaced.as_url().to_string()))
    }

    /// Resolve the target registry as `cargo publish` would.
    pub fn target(
        &self,
        choice: &TargetChoice,
        model: &WorkspaceModel,
    ) -> anyhow::Result<RegistryTarget> {
        let gctx = &self.gctx;
        let named = match choice {
            TargetChoice::Index(url) => {
                let url = url
                    .parse()
                    .with_context(|| format!("`--index {url}` is not a valid URL"))?;
                let sid = SourceId::for_registry(&url)?;
                return target_for(None, sid);
            }
            TargetChoice::Registry(name) => Some(name.clone()),
            // cargo applies `registry.default` as if given with
            // `--registry` (command_prelude.rs, `registry_or_index`), and
            // infers only without it.
            TargetChoice::Default => match gctx.default_registry()? {
                Some(name) => Some(name),
                None => infer_registry(model).map_err(Coded::from)?,
            },
        };
        match named.as_deref() {
            None | Some("crates-io") => {
                let sid = SourceId::crates_io_maybe_sparse_http(gctx)?;
                Ok(RegistryTarget {
                    name: Some("crates-io".to_owned()),
                    key: "crates-io".to_owned(),
                    sparse_index: sid.is_sparse().then(|| sid.as_url().to_string()),
                })
            }
            Some(name) => {
                let sid = SourceId::alt_registry(gctx, name)
                    .with_context(|| format!("registry `{name}` is not configured in cargo's config (`[registries.{name}]`)"))?;
                target_for(Some(name.to_owned()), sid)
            }
        }
    }
}

impl Drop for LoadedWorkspace {
    /// A context's end closes cargo's step (a packaging context's, a
    /// consumer build's): nothing it said waits for a later one.
    fn drop(&mut self) {
        self.output.end_step();
    }
}

/// One `{ burst = N, per-seconds = S }` entry of the pacing table.
/// `time-scale = N` (testing): the limits' clock runs N times faster, as
/// `registry serve --time-scale N` does.
fn time_scale(pacing: &serde_json::Value) -> anyhow::Result<u32> {
    match pacing.get("time-scale") {
        None => Ok(1),
        Some(v) => v
            .as_u64()
            .filter(|n| (1..=1_000_000).contains(n))
            .map(|n| n as u32)
            .context("`[workspace.metadata.shipper.pacing] time-scale` must be a whole number from 1 to 1000000"),
    }
}

fn bucket(pacing: &serde_json::Value, key: &str) -> anyhow::Result<Bucket> {
    let table = pacing.get(key).with_context(|| {
        format!(
            "`[workspace.metadata.shipper.pacing]` needs `{key} = {{ burst = N, per-seconds = S }}`"
        )
    })?;
    let number = |field: &str| {
        table.get(field).and_then(|v| v.as_u64()).with_context(|| {
            format!("`[workspace.metadata.shipper.pacing] {key}.{field}` must be a whole number")
        })
    };
    // A day per request at most: every wait derived from it stays in range.
    let per_seconds = number("per-seconds")?;
    anyhow::ensure!(
        per_seconds <= 86_400,
        "`[workspace.metadata.shipper.pacing] {key}.per-seconds` must be at most 86400 (a day), not {per_seconds}"
    );
    Ok(Bucket {
        burst: u32::try_from(number("burst")?)?,
        every: std::time::Duration::from_secs(per_seconds),
    })
}

fn target_for(name: Option<String>, sid: SourceId) -> anyhow::Result<RegistryTarget> {
    // The URL is recorded in journals and receipts: no credentials in it.
    if !sid.url().username().is_empty() || sid.url().password().is_some() {
        anyhow::bail!(
            "the index URL of `{}` carries credentials; remove them and give the token through cargo (`CARGO_REGISTRIES_<NAME>_TOKEN`, credentials.toml) or `--token`",
            name.as_deref().unwrap_or("--index")
        );
    }
    // Files are found by appending to the index URL's path; a query or a
    // fragment would end up in the middle (`…/?q/config.json`).
    if sid.url().query().is_some() || sid.url().fragment().is_some() {
        anyhow::bail!(
            "the index URL of `{}` (`{}`) has a query string or a fragment; an index URL names a directory: remove the `?…` or `#…` part",
            name.as_deref().unwrap_or("--index"),
            sid.url()
        );
    }
    let url = sid.as_url().to_string();
    Ok(RegistryTarget {
        name,
        key: url.clone(),
        sparse_index: sid.is_sparse().then_some(url),
    })
}

/// The members' `publish` settings do not name one registry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error(
        "every publishable member lists the registries {} in `publish`; choose one with `--registry NAME`",
        quoted(.0)
    )]
    Ambiguous(Vec<String>),
    #[error(
        "the members' `publish` settings disagree (they share {}); choose the registry with `--registry NAME`",
        quoted(.0)
    )]
    Disagree(Vec<String>),
    #[error(
        "the members' `publish` settings name no registry in common; publish them in separate runs with `--registry NAME` (members another registry is not for are left out)"
    )]
    Conflict,
}

impl HasExit for TargetError {
    fn exit(&self) -> Exit {
        Exit::InvalidWorkspace
    }
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The registry `cargo publish` 0.98 infers without `--registry`,
/// `--index` or `registry.default` (ops/registry/mod.rs `infer_registry`),
/// over the publishable members (`publish = false` ones do not count):
/// - none publishable, or all `publish` unset / `true`: crates.io (`None`);
/// - all the same list of one registry: that registry;
/// - all the same list of several: an error (which one?);
/// - settings that differ: an error, whether or not the lists share a
///   registry (cargo asks for `--registry` either way).
pub fn infer_registry(model: &WorkspaceModel) -> Result<Option<String>, TargetError> {
    let publishable: Vec<&PublishSetting> = model
        .members
        .iter()
        .map(|m| &m.publish)
        .filter(|p| **p != PublishSetting::Nowhere)
        .collect();
    let Some((first, rest)) = publishable.split_first() else {
        return Ok(None);
    };
    if rest.iter().all(|p| p == first) {
        return match first {
            PublishSetting::Only(list) if list.len() == 1 => Ok(Some(list[0].clone())),
            PublishSetting::Only(list) => {
                let mut names = list.clone();
                names.sort();
                names.dedup();
                Err(TargetError::Ambiguous(names))
            }
            _ => Ok(None),
        };
    }
    // `Anywhere` allows every registry: it narrows nothing.
    let mut common: Option<std::collections::BTreeSet<&String>> = None;
    for setting in &publishable {
        if let PublishSetting::Only(list) = setting {
            let these = list.iter().collect();
            common = Some(match common {
                None => these,
                Some(so_far) => so_far.intersection(&these).copied().collect(),
            });
        }
    }
    match common {
        Some(shared) if !shared.is_empty() => {
            Err(TargetError::Disagree(shared.into_iter().cloned().collect()))
        }
        _ => Err(TargetError::Conflict),
    }
}

/// For each registry URL, package name -> member that `[patch]` substitutes:
/// by `path` (under any key name), or by `git` naming a member's package
/// (the workspace's own repository, as some projects patch): either way the
/// dependents need that member's new version in the registry first.
fn patched_members<'p>(
    ws: &Workspace<'_>,
    by_source: &HashMap<SourceId, &'p Package>,
) -> anyhow::Result<HashMap<(String, String), &'p Package>> {
    let mut patched = HashMap::new();
    for (url, patches) in ws.root_patch()? {
        for patch in patches {
            let source = patch.dep.source_id();
            let member = if source.is_git() {
                by_source
                    .values()
                    .find(|p| p.name() == patch.dep.package_name())
            } else {
                by_source.get(&source)
            };
            if let Some(pkg) = member
                && pkg.name() == patch.dep.package_name()
            {
                patched.insert((url.to_string(), pkg.name().to_string()), *pkg);
            }
        }
    }
    Ok(patched)
}

fn member(
    pkg: &Package,
    root: &Path,
    by_source: &HashMap<SourceId, &Package>,
    patched: &HashMap<(String, String), &Package>,
) -> Member {
    let rel = pkg.root().strip_prefix(root).unwrap_or(pkg.root());
    let rel_dir = if rel.as_os_str().is_empty() {
        ".".to_owned()
    } else {
        rel.components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/")
    };
    let publish = match pkg.publish() {
        None => PublishSetting::Anywhere,
        Some(list) if list.is_empty() => PublishSetting::Nowhere,
        Some(list) => PublishSetting::Only(list.clone()),
    };
    let deps = pkg
        .dependencies()
        .iter()
        .filter_map(|dep| member_dep(dep, by_source, patched))
        .collect();
    Member {
        name: pkg.name().to_string(),
        version: pkg.version().clone(),
        rel_dir,
        publish,
        deps,
    }
}

/// The dependency as a [`MemberDep`] when it reaches another workspace member.
fn member_dep(
    dep: &Dependency,
    by_source: &HashMap<SourceId, &Package>,
    patched: &HashMap<(String, String), &Package>,
) -> Option<MemberDep> {
    let req = dep
        .specified_req()
        .then(|| {
            dep.version_req()
                .to_string()
                .parse::<semver::VersionReq>()
                .ok()
        })
        .flatten();
    let (target, route) = if dep.source_id().is_path() {
        let pkg = by_source.get(&dep.source_id())?;
        (*pkg, DepRoute::Path)
    } else {
        let key = (
            dep.source_id().url().to_string(),
            dep.package_name().to_string(),
        );
        let pkg = patched.get(&key)?;
        // A patch applies only where the requirement accepts the member's version.
        if !dep.version_req().matches(pkg.version()) {
            return None;
        }
        (*pkg, DepRoute::Patch)
    };
    Some(MemberDep {
        member: target.name().to_string(),
        name_in_toml: dep.name_in_toml().to_string(),
        kind: match dep.kind() {
            CargoDepKind::Normal => DepKind::Normal,
            CargoDepKind::Build => DepKind::Build,
            CargoDepKind::Development => DepKind::Dev,
        },
        route,
        req,
        platform: dep.platform().map(|p| p.to_string()),
        optional: dep.is_optional(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(settings: &[PublishSetting]) -> WorkspaceModel {
        WorkspaceModel {
            members: settings
                .iter()
                .enumerate()
                .map(|(i, publish)| Member {
                    name: format!("m{i}"),
                    version: "0.1.0".parse().unwrap(),
                    rel_dir: format!("m{i}"),
                    publish: publish.clone(),
                    deps: Vec::new(),
                })
                .collect(),
        }
    }

    fn only(names: &[&str]) -> PublishSetting {
        PublishSetting::Only(names.iter().map(|n| n.to_string()).collect())
    }

    use PublishSetting::{Anywhere, Nowhere};

    #[test]
    fn nothing_said_is_crates_io() {
        assert_eq!(infer_registry(&with(&[])), Ok(None));
        assert_eq!(infer_registry(&with(&[Anywhere, Anywhere])), Ok(None));
        assert_eq!(infer_registry(&with(&[Nowhere, Nowhere])), Ok(None));
    }

    #[test]
    fn one_registry_listed_by_all_is_the_target() {
        let model = with(&[only(&["alt"]), only(&["alt"]), Nowhere]);
        assert_eq!(infer_registry(&model), Ok(Some("alt".into())));
    }

    #[test]
    fn the_same_list_of_several_asks_which() {
        let model = with(&[only(&["b", "a"]), only(&["b", "a"])]);
        assert_eq!(
            infer_registry(&model),
            Err(TargetError::Ambiguous(vec!["a".into(), "b".into()]))
        );
        // A workspace that does not say where it goes: fix its manifests.
        assert_eq!(
            infer_registry(&model).unwrap_err().exit(),
            Exit::InvalidWorkspace
        );
    }

    #[test]
    fn settings_that_differ_are_an_error_even_with_a_registry_in_common() {
        // cargo asks for `--registry` here too, though `alt` would do.
        let model = with(&[only(&["alt"]), Anywhere]);
        assert_eq!(
            infer_registry(&model),
            Err(TargetError::Disagree(vec!["alt".into()]))
        );
        let model = with(&[only(&["alt", "x"]), only(&["alt"])]);
        assert_eq!(
            infer_registry(&model),
            Err(TargetError::Disagree(vec!["alt".into()]))
        );
    }

    #[test]
    fn settings_with_nothing_in_common_conflict() {
        let model = with(&[only(&["alt"]), only(&["other"])]);
        assert_eq!(infer_registry(&model), Err(TargetError::Conflict));
    }
}
