//! `cargo shipper preflight`: everything that can be known about a release
//! without publishing it, as checks with findings and one verdict. Blocking
//! findings make the verdict `blocked` (a CI gate fails on it); warnings do
//! not. Nothing is uploaded, no journal is written, no lock is taken (the
//! dry run leaves what `cargo package` leaves: `target/package/`).

mod checks;
mod git;
mod trusted;

use serde::Serialize;

use crate::cargo_backend::{self, PackageRequest, TokenLookup};
use crate::engine::{self, Recorder};
use crate::journal::{Journal, SelectionRecord};
use crate::model::{Coded, Exit, HasExit, PublishSetting};
use crate::ops::content::{self, Content};
use crate::ops::gate;
use crate::ops::next_command::NextCommand;
use crate::ops::publish::{LimitsSource, publish_limits};
use crate::ops::trusted::{CiOpts, TrustedMode, provider};
use crate::ops::{PlanOpts, plan};
use crate::plan::{Plan, PlanError, Selection};
use crate::registry::{Http, IndexConfig, LiveRegistry};
use crate::secret::Secret;
use crate::workspace::{LoadedWorkspace, TargetChoice};

pub use checks::Severity;
pub use trusted::{Exchange, TrustedPreflight};

#[derive(Debug, Clone, Default)]
pub struct PreflightOpts {
    pub selection: Selection,
    pub target: TargetChoice,
    pub token: Option<Secret>,
    /// Uncommitted changes are a warning instead of a blocking finding.
    pub allow_dirty: bool,
    /// Build the packaged crates (the dry run's verify step).
    pub verify: bool,
    /// Trusted publishing as `publish` would decide it (`trusted` and
    /// `oidc_token_var`; the rest is not read).
    pub ci: CiOpts,
}

/// Everything preflight found.
#[derive(Debug, Clone, Serialize)]
pub struct PreflightReport {
    /// The target registry's name for people.
    pub registry: String,
    /// `None` when the workspace cannot be planned.
    pub plan_id: Option<String>,
    pub crates: Vec<CrateCheck>,
    pub checks: Vec<Check>,
    /// What the registry's rate limits make of this release.
    pub rate_limit: Option<RateLimitEta>,
    /// Set when trusted publishing will supply the token.
    pub trusted_publishing: Option<TrustedPreflight>,
    /// What a ready preflight leads to (the `publish` it checked, or the
    /// `rehearse` the workspace requires first), the command as it must be
    /// typed (not in the JSON document); `None` without a plan.
    #[serde(skip)]
    pub next: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Ready,
    ReadyWithWarnings,
    Blocked,
}

impl PreflightReport {
    pub fn verdict(&self) -> Verdict {
        let worst = self.checks.iter().map(Check::status).max();
        match worst {
            Some(CheckStatus::Fail) => Verdict::Blocked,
            Some(CheckStatus::Warn) => Verdict::ReadyWithWarnings,
            _ => Verdict::Ready,
        }
    }

    /// Findings that block the release.
    pub fn blocking(&self) -> usize {
        self.checks
            .iter()
            .flat_map(|c| &c.findings)
            .filter(|f| f.severity == Severity::Fail)
            .count()
    }

    pub fn warnings(&self) -> usize {
        self.checks
            .iter()
            .flat_map(|c| &c.findings)
            .filter(|f| f.severity == Severity::Warn)
            .count()
    }
}

/// One check: what was looked at and what was found.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub id: CheckId,
    /// One line on what was checked and the gist of the result.
    pub summary: String,
    /// Set when the check could not run (and why): it then blocks nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    pub findings: Vec<Finding>,
}

impl Check {
    pub fn status(&self) -> CheckStatus {
        if self.skipped.is_some() {
            return CheckStatus::Skipped;
        }
        match self.findings.iter().map(|f| f.severity).max() {
            Some(Severity::Fail) => CheckStatus::Fail,
            Some(Severity::Warn) => CheckStatus::Warn,
            None => CheckStatus::Pass,
        }
    }

    fn skipped(id: CheckId, why: &str) -> Check {
        Check {
            id,
            summary: String::new(),
            skipped: Some(why.to_owned()),
            findings: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Skipped,
    Pass,
    Warn,
    Fail,
}

/// The checks, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckId {
    /// The workspace plans (order, publishability, versions on member deps).
    Plan,
    /// crates.io's required and recommended `[package]` fields.
    Metadata,
    /// Path and git dependencies without a version.
    UnversionedDeps,
    /// Uncommitted changes, HEAD tagged.
    Git,
    /// Dry-run package and verify of the whole plan.
    Package,
    /// Per crate: new, already published, published with other content.
    Registry,
    /// New crate names are free (crates.io treats `-` and `_` alike).
    Names,
    /// A token is there (never shown).
    Token,
    /// The token's user owns the crates that get new versions.
    Owners,
    /// Lockfile pins on yanked versions.
    YankedDeps,
    /// The registry's publish limits, as an ETA.
    RateLimit,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    #[serde(rename = "crate", skip_serializing_if = "Option::is_none")]
    pub krate: Option<String>,
    pub severity: Severity,
    pub message: String,
}

/// A plan crate against the registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CrateCheck {
    pub name: String,
    pub version: String,
    pub state: RegistryState,
    /// sha256 of the `.crate` the dry run packaged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_sha256: Option<String>,
    /// sha256 the index lists for this version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index_sha256: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistryState {
    /// The registry does not know the crate: a new crate.
    NewCrate,
    /// The crate is there, this version is not.
    NewVersion,
    /// This version is there with the same content: publish skips it.
    Published,
    /// This version is there with other content: bump the version.
    PublishedDifferent,
    /// This version is there; the content could not be compared (packaging failed).
    PublishedUncompared,
    /// The registry could not be asked.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RateLimitEta {
    pub new_crates: u32,
    pub new_versions: u32,
    /// Time the limits add beyond their bursts.
    pub eta_ms: u64,
    /// Where the limits come from: `crates-io` or `workspace` (configured).
    pub limits: String,
}

pub fn preflight(ws: &LoadedWorkspace, opts: &PreflightOpts) -> anyhow::Result<PreflightReport> {
    let (plan, plan_check) = plan_check(ws, opts)?;
    // Without a plan, the manifest checks still cover every publishable member.
    let names: Vec<String> = match &plan {
        Some(plan) => plan.crates.iter().map(|c| c.name.clone()).collect(),
        None => ws
            .model()?
            .members
            .into_iter()
            .filter(|m| m.publish != PublishSetting::Nowhere)
            .map(|m| m.name)
            .collect(),
    };
    let facts = cargo_backend::manifest_facts(ws, &names)?;
    let mut report_checks = vec![
        plan_check,
        checks::metadata(&facts),
        checks::unversioned(&facts),
        git::check(&ws.root()?, &ws.output_dirs()?, opts.allow_dirty),
    ];
    let Some(plan) = plan else {
        return no_plan(ws, opts, report_checks);
    };

    // The dry run: every plan crate packaged (and verified), so the
    // checksums can be compared with the index's.
    let (packaged, package_check) = dry_run_package(ws, &plan, opts.verify);
    report_checks.push(package_check);

    let token = cargo_backend::find_token(ws, &plan.target, opts.token.as_ref());
    let registry = ws.http().and_then(|http| connect(&http, &plan, &token));
    let (crates, registry_check, live) = match registry {
        Ok(live) => match lookups(&plan, &live, &packaged) {
            Ok((crates, check)) => (crates, check, Some(live)),
            Err(error) => (
                unknown_crates(&plan),
                checks::registry_unreachable(&plan, &error, ws.offline_flag()),
                None,
            ),
        },
        Err(error) => (
            unknown_crates(&plan),
            checks::registry_unreachable(&plan, &error, ws.offline_flag()),
            None,
        ),
    };
    report_checks.push(registry_check);
    let (authority, trusted_publishing) =
        authority_checks(opts, &plan, &crates, live.as_ref(), &token);
    report_checks.extend(authority);
    report_checks.push(match cargo_backend::locked_registry_deps(ws, &names) {
        Ok(deps) => checks::yanked(&deps),
        Err(error) => checks::resolve_failed(&error),
    });
    let limits = publish_limits(ws, &plan.target)?.map(|(profile, source)| {
        let source = match source {
            LimitsSource::Workspace => "workspace",
            LimitsSource::CratesIo => "crates-io",
        };
        (profile, source)
    });
    let (rate_limit, rate_check) = checks::rate_limit(&crates, limits);
    report_checks.push(rate_check);
    Ok(PreflightReport {
        registry: plan.target.display_name().to_owned(),
        plan_id: Some(plan.id.as_str().to_owned()),
        crates,
        checks: report_checks,
        rate_limit,
        trusted_publishing,
        next: Some(next_step(ws, opts, &plan)),
    })
}

/// The plan, or the problems that keep the workspace from planning (a
/// failed check, not an error: the other checks still run).
fn plan_check(ws: &LoadedWorkspace, opts: &PreflightOpts) -> anyhow::Result<(Option<Plan>, Check)> {
    let planned = plan(
        ws,
        &PlanOpts {
            selection: opts.selection.clone(),
            target: opts.target.clone(),
            offline: false,
        },
    );
    match planned {
        Ok(plan) => {
            let check = Check {
                id: CheckId::Plan,
                summary: format!(
                    "{} crate(s) in {} level(s), plan {}",
                    plan.crates.len(),
                    plan.level_count(),
                    plan.id.short()
                ),
                skipped: None,
                findings: Vec::new(),
            };
            Ok((Some(plan), check))
        }
        Err(error) => match Coded::find::<PlanError>(&error) {
            Some(plan_error) => Ok((None, checks::plan_failed(plan_error))),
            None => Err(error),
        },
    }
}

/// The report of a workspace that does not plan: what needs a plan is
/// skipped, saying so.
fn no_plan(
    ws: &LoadedWorkspace,
    opts: &PreflightOpts,
    mut report_checks: Vec<Check>,
) -> anyhow::Result<PreflightReport> {
    for id in [
        CheckId::Package,
        CheckId::Registry,
        CheckId::Names,
        CheckId::Token,
        CheckId::Owners,
        CheckId::YankedDeps,
        CheckId::RateLimit,
    ] {
        report_checks.push(Check::skipped(id, "the workspace does not plan"));
    }
    Ok(PreflightReport {
        registry: ws
            .target(&opts.target, &ws.model()?)
            .map_or_else(|_| "unknown".to_owned(), |t| t.display_name().to_owned()),
        plan_id: None,
        crates: Vec::new(),
        checks: report_checks,
        rate_limit: None,
        trusted_publishing: None,
        next: None,
    })
}

/// Who may publish: the names, the token (or trusted publishing) and the
/// owners checks, and what trusted publishing found.
fn authority_checks(
    opts: &PreflightOpts,
    plan: &Plan,
    crates: &[CrateCheck],
    live: Option<&Connected>,
    token: &TokenLookup,
) -> (Vec<Check>, Option<TrustedPreflight>) {
    let mut out = Vec::new();
    let to_upload = crates
        .iter()
        .filter(|c| matches!(c.state, RegistryState::NewCrate | RegistryState::NewVersion))
        .count();
    match live {
        Some(connected) => out.push(checks::names(crates, &connected.live)),
        None => out.push(Check::skipped(
            CheckId::Names,
            "the registry could not be asked",
        )),
    }
    // As `publish` decides: a configured token wins under `auto`.
    let trusted = provider(&opts.ci, || matches!(token, TokenLookup::Found(_)));
    let mut trusted_publishing = None;
    match &trusted {
        Ok(None) => out.push(checks::token(token, to_upload)),
        Ok(Some(oidc)) => {
            let registry = live.map(|c| (&c.http, c.live.config().api.as_str()));
            let crates_io = plan.target.key == "crates-io";
            let (found, check) = trusted::check(oidc, registry, crates, crates_io);
            trusted_publishing = Some(found);
            out.push(check);
        }
        Err(no_provider) => out.push(trusted::no_provider(no_provider)),
    }
    out.push(match (live, token) {
        (Some(_), _) if !matches!(trusted, Ok(None)) => Check::skipped(
            CheckId::Owners,
            "trusted publishing: the registry's trusted-publishing configuration decides who may publish",
        ),
        (Some(connected), TokenLookup::Found(secret)) => checks::owners(
            &connected.http,
            crates,
            &connected.live.config().api,
            secret,
            to_upload,
            plan.target.token_env_var().as_deref(),
        ),
        (None, _) => Check::skipped(CheckId::Owners, "the registry could not be asked"),
        (_, _) => Check::skipped(CheckId::Owners, "no token to ask about"),
    });
    (out, trusted_publishing)
}

/// The `publish` this preflight checked or, when the workspace requires a
/// rehearsal (`require-rehearsal`) and no passing one of this plan is
/// recorded, the `rehearse` that `publish` would ask for first.
fn next_step(ws: &LoadedWorkspace, opts: &PreflightOpts, plan: &Plan) -> String {
    let rehearsed = || {
        let record = ws
            .root()
            .map(|root| gate::record_path(&root.join(".shipper")));
        record.is_ok_and(|path| gate::check_plan(&path, plan).is_ok())
    };
    if ws.requires_rehearsal().unwrap_or(false) && !rehearsed() {
        let rehearse = NextCommand::new("rehearse")
            .for_target(&opts.target)
            .selection(&opts.selection)
            .manifest_path(ws.manifest_path());
        let rehearse = match opts.allow_dirty {
            true => rehearse.flag("--allow-dirty"),
            false => rehearse,
        };
        return format!(
            "`{rehearse}` (the workspace requires a passing rehearsal of this plan before `publish`)"
        );
    }
    format!(
        "`{}`",
        opts.publish_command().manifest_path(ws.manifest_path())
    )
}

impl PreflightOpts {
    /// The `publish` this preflight checked: the same registry and
    /// selection, `--allow-dirty` and `--trusted-publishing` as given.
    /// Never `--token` or `--config` (either may hold a secret): those are
    /// given again by hand, or come from cargo's configuration.
    pub fn publish_command(&self) -> NextCommand {
        let mut cmd = NextCommand::new("publish")
            .target(&self.target)
            .selection(&self.selection);
        if self.allow_dirty {
            cmd = cmd.flag("--allow-dirty");
        }
        match self.ci.trusted {
            TrustedMode::Auto => cmd,
            TrustedMode::On => cmd.arg("--trusted-publishing", "on"),
            TrustedMode::Off => cmd.arg("--trusted-publishing", "off"),
        }
    }
}

/// A `.crate` the dry run made.
struct Packaged {
    name: String,
    sha256: String,
    file: std::path::PathBuf,
}

/// Package (and verify) every plan crate.
fn dry_run_package(ws: &LoadedWorkspace, plan: &Plan, verify: bool) -> (Vec<Packaged>, Check) {
    let names: Vec<String> = plan.crates.iter().map(|c| c.name.clone()).collect();
    let what = if verify {
        "packaged and verified"
    } else {
        "packaged"
    };
    // Dirtiness is the git check's business: packaging here is about content.
    let batches = plan.packaging_batches(&names);
    let request = PackageRequest {
        batches: &batches,
        borrowed_index: &[],
        target: &plan.target,
        verify,
        allow_dirty: true,
        stopped: cargo_backend::Stopped(&|| false),
    };
    match cargo_backend::package(ws, &request) {
        Ok(jobs) => (
            jobs.into_iter()
                .map(|j| Packaged {
                    name: j.name,
                    sha256: j.sha256,
                    file: j.crate_file,
                })
                .collect(),
            Check {
                id: CheckId::Package,
                summary: format!("{} crate(s) {what}", names.len()),
                skipped: None,
                findings: Vec::new(),
            },
        ),
        Err(error) => (Vec::new(), checks::package_failed(&error)),
    }
}

/// The target registry, read with a token when it needs one for reads.
struct Connected {
    live: LiveRegistry,
    /// For the owners checks, on the registry's web API.
    http: Http,
}

fn connect(http: &Http, plan: &Plan, token: &TokenLookup) -> anyhow::Result<Connected> {
    let sparse = plan.target.sparse_index.as_deref().ok_or_else(|| {
        anyhow::anyhow!(
            "registry `{}` does not use the sparse protocol; cargo-shipper publishes to sparse registries only",
            plan.target.display_name()
        )
    })?;
    let read_token = match token {
        TokenLookup::Found(secret) => Some(secret.clone()),
        _ => None,
    };
    let config = LiveRegistry::index_config(http, sparse, None)?;
    let read = match &config {
        IndexConfig::Read(config) if !config.auth_required => None,
        _ => read_token,
    };
    Ok(Connected {
        live: LiveRegistry::connect(http, sparse, config, read)?,
        http: http.clone(),
    })
}

/// Ask the index about every plan crate, through the publish engine's own
/// check (parallel lookups) on a journal kept in memory.
fn lookups(
    plan: &Plan,
    registry: &Connected,
    packaged: &[Packaged],
) -> anyhow::Result<(Vec<CrateCheck>, Check)> {
    let mut journal = Journal::in_memory();
    let mut sink = |_: &crate::journal::Record| {};
    let mut rec = Recorder::new(&mut journal, &mut sink);
    rec.record(super::publish::run_started(
        plan,
        1,
        SelectionRecord::default(),
        0,
    ))?;
    let check = engine::check_registry(&mut rec, &registry.live, 8, &[])?;
    let mut crates = Vec::new();
    let mut todo = Vec::new();
    for c in &plan.crates {
        let name = &c.name;
        let local = packaged.iter().find(|p| &p.name == name);
        let index = check.present.iter().find(|p| &p.name == name);
        let state = match (index, local) {
            // Judged below (downloads only where the checksums differ).
            (Some(index), Some(local)) => {
                todo.push((
                    crates.len(),
                    content::Comparison {
                        name: name.clone(),
                        version: index.version.clone(),
                        registry_sha256: index.sha256.clone(),
                        local_sha256: local.sha256.clone(),
                        local_files_sha256: None,
                        local_file: local.file.clone(),
                    },
                ));
                RegistryState::PublishedUncompared
            }
            (Some(_), None) => RegistryState::PublishedUncompared,
            (None, _) => match check.to_upload.iter().find(|(n, _)| n == name) {
                Some((_, true)) => RegistryState::NewCrate,
                Some((_, false)) => RegistryState::NewVersion,
                None => RegistryState::Unknown,
            },
        };
        crates.push(CrateCheck {
            name: name.clone(),
            version: c.version.to_string(),
            state,
            local_sha256: local.map(|p| p.sha256.clone()),
            index_sha256: index.map(|p| p.sha256.clone()),
        });
    }
    let comparisons: Vec<content::Comparison> = todo.iter().map(|(_, c)| c.clone()).collect();
    for ((i, _), verdict) in todo.iter().zip(content::judge(
        &registry.live,
        &content::KnownUploads::default(),
        &comparisons,
    )) {
        crates[*i].state = match verdict {
            Content::Ours => RegistryState::Published,
            Content::Differs { .. } => RegistryState::PublishedDifferent,
            Content::Uncompared { .. } => RegistryState::PublishedUncompared,
        };
    }
    let check = checks::registry(&crates);
    Ok((crates, check))
}

fn unknown_crates(plan: &Plan) -> Vec<CrateCheck> {
    plan.crates
        .iter()
        .map(|c| CrateCheck {
            name: c.name.clone(),
            version: c.version.to_string(),
            state: RegistryState::Unknown,
            local_sha256: None,
            index_sha256: None,
        })
        .collect()
}

/// The verdict was `blocked`: the exit code's reason (the report says why).
#[derive(Debug, thiserror::Error)]
#[error(
    "preflight found {}; the release would fail: fix {} and run `{again}` again",
    if *.blocking == 1 { "a blocking problem" } else { "blocking problems" },
    if *.blocking == 1 { "it" } else { "them" }
)]
pub struct PreflightBlocked {
    /// Findings that block (the report may show several crates' on one line).
    pub blocking: usize,
    /// `cargo shipper preflight` as it was run (registry, selection).
    pub again: String,
}

impl HasExit for PreflightBlocked {
    fn exit(&self) -> Exit {
        Exit::PreflightBlocked
    }
}
