//! `cargo shipper plan-yank` and `cargo shipper yank`.

use std::path::PathBuf;
use std::time::Duration;

use crate::cli::args::{
    GlobalArgs, MAX_TEST_MS, MAX_WAIT_SECS, ManifestArgs, MessageFormat, TrustedArgs,
};
use crate::model::Coded;
use crate::ops::{self, PlanYankOpts, ReceiptSource, YankRunOpts};
use crate::report;
use crate::secret::{Secret, TokenOrigin};
use crate::workspace::{LoadedWorkspace, TargetChoice};

/// Plan yanks from a release's receipt: the versions that release uploaded,
/// dependents first (the receipt's graph, not today's workspace). Nothing
/// is yanked; `--output` writes the plan for `cargo shipper yank --plan`
#[derive(Debug, clap::Args)]
pub struct PlanYankArgs {
    /// The release's receipt.json, or `latest`: the newest finished run's under the state directory
    /// that uploaded something
    #[arg(long, value_name = "FILE|latest")]
    from_receipt: String,
    /// Only this crate and everything in the release that depends on it
    #[arg(long, value_name = "CRATE")]
    starting_crate: Option<String>,
    /// Why the versions are yanked (kept in the plan)
    #[arg(long, value_name = "TEXT")]
    reason: Option<String>,
    /// Write the yank plan (JSON) to this file
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Output format: a table for people, or the plan's JSON
    #[arg(long, value_enum, value_name = "FMT", default_value_t)]
    message_format: MessageFormat,
    /// Where `latest` looks [default: .shipper/ at the workspace root]
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    #[command(flatten)]
    registry: YankRegistryArgs,
    #[command(flatten)]
    manifest: ManifestArgs,
}

/// Yank the versions of a yank plan in its order (or, with --undo, unyank
/// them in reverse), journaled and resumable: run it again to finish an
/// interrupted run
#[derive(Debug, clap::Args)]
pub struct YankArgs {
    /// The yank plan written by `cargo shipper plan-yank --output`
    #[arg(long, value_name = "FILE")]
    plan: PathBuf,
    /// Unyank the plan's versions instead (in reverse order)
    #[arg(long)]
    undo: bool,
    /// Show what would be asked, in order; ask the registry nothing
    #[arg(long)]
    dry_run: bool,
    /// Set aside (archive) an unfinished yank run of another plan or direction
    #[arg(long)]
    abandon_unfinished: bool,
    /// Output format: status lines for people on stderr, or JSON lines of the events on stdout
    #[arg(long, value_enum, value_name = "FMT", default_value_t)]
    message_format: MessageFormat,
    /// Token to use (otherwise cargo's: env vars, credentials.toml, credential providers)
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    /// Where the run journal lives [default: .shipper/ at the workspace root]
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Requests per version per run
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    max_attempts: u32,
    /// How long to wait for a change to show in the index, in seconds, 0 to 604800
    #[arg(long, value_name = "SECS", default_value_t = 600,
          value_parser = clap::value_parser!(u64).range(0..=MAX_WAIT_SECS))]
    confirm_timeout: u64,
    /// First retry delay in milliseconds (it doubles, with jitter); for tests
    #[arg(long, value_name = "MS", default_value_t = 2000, hide = true,
          value_parser = clap::value_parser!(u64).range(0..=MAX_TEST_MS))]
    retry_delay_ms: u64,
    /// First interval between index polls in milliseconds; for tests
    #[arg(long, value_name = "MS", default_value_t = 100, hide = true,
          value_parser = clap::value_parser!(u64).range(0..=MAX_TEST_MS))]
    confirm_poll_ms: u64,
    /// Start no request after this long (e.g. `50m`, `5h30m`; at most 8784h), confirm the one
    /// made, and exit with code 8: the same command continues (for CI job time limits)
    #[arg(long, value_name = "DURATION", value_parser = crate::cli::args::parse_duration)]
    stop_after: Option<Duration>,
    #[command(flatten)]
    trusted: TrustedArgs,
    #[command(flatten)]
    registry: YankRegistryArgs,
    #[command(flatten)]
    manifest: ManifestArgs,
}

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Registry Options")]
struct YankRegistryArgs {
    /// Registry, by cargo's name for it; must be the one the release went to
    #[arg(long, value_name = "REGISTRY", conflicts_with = "index")]
    registry: Option<String>,
    /// Registry index URL; must be the one the release went to
    #[arg(long, value_name = "INDEX")]
    index: Option<String>,
}

impl YankRegistryArgs {
    fn target(&self) -> Option<TargetChoice> {
        match (&self.registry, &self.index) {
            (Some(name), _) => Some(TargetChoice::Registry(name.clone())),
            (None, Some(url)) => Some(TargetChoice::Index(url.clone())),
            (None, None) => None,
        }
    }
}

pub fn exec_plan_yank(global: &GlobalArgs, args: PlanYankArgs) -> anyhow::Result<()> {
    let target = args.registry.target();
    let latest = args.from_receipt == "latest";
    // A receipt file needs no workspace (it may be a CI artifact); `latest`
    // without `--state-dir`, and a registry named by the user, do. One
    // found anyway names the registry as its cargo configuration does.
    let load = || {
        LoadedWorkspace::load(
            args.manifest.manifest_path.as_deref(),
            &global.context(&args.manifest),
        )
    };
    let ws = if (latest && args.state_dir.is_none()) || target.is_some() {
        Some(load()?)
    } else {
        load().ok()
    };
    let from = if latest {
        let state_dir = match (&args.state_dir, &ws) {
            (Some(dir), _) => dir.clone(),
            (None, Some(ws)) => ws.root()?.join(".shipper"),
            (None, None) => unreachable!("loaded above"),
        };
        ReceiptSource::Latest { state_dir }
    } else {
        ReceiptSource::File(PathBuf::from(&args.from_receipt))
    };
    let expected_registry = match (&target, &ws) {
        (Some(choice), Some(ws)) => Some(ws.target(choice, &ws.model()?)?.key),
        _ => None,
    };
    let opts = PlanYankOpts {
        from,
        starting_crate: args.starting_crate,
        reason: args.reason,
        output: args.output,
        expected_registry,
    };
    let report = ops::plan_yank(&opts, ws.as_ref())?;
    report::yank::yank_plan(&report, args.message_format == MessageFormat::Json);
    Ok(())
}

pub fn exec_yank(global: &GlobalArgs, args: YankArgs) -> anyhow::Result<()> {
    let ws = LoadedWorkspace::load(
        args.manifest.manifest_path.as_deref(),
        &global.context(&args.manifest),
    )?;
    let opts = YankRunOpts {
        plan_file: args.plan,
        undo: args.undo,
        dry_run: args.dry_run,
        target: args.registry.target(),
        state_dir: args.state_dir,
        token: args
            .token
            .map(|t| Secret::token(t, TokenOrigin::CommandLine))
            .transpose()
            .map_err(Coded::from)?,
        abandon_unfinished: args.abandon_unfinished,
        max_attempts: args.max_attempts,
        retry_base: Duration::from_millis(args.retry_delay_ms),
        confirm_timeout: Duration::from_secs(args.confirm_timeout),
        confirm_poll: Duration::from_millis(args.confirm_poll_ms.max(1)),
        stop: ops::stop_on_signals()?,
        ci: ops::CiOpts {
            stop_after: args.stop_after,
            ..args.trusted.ci()
        },
    };
    let mut reporter =
        report::yank::YankReporter::new(args.message_format == MessageFormat::Json, global.quiet)
            .verbose(global.verbose > 0);
    let result = ops::yank(&ws, &opts, &mut |step| reporter.step(step));
    reporter.finish(&result);
    result.map(|_| ())
}
