//! `cargo shipper publish` and `cargo shipper resume`.

use std::path::PathBuf;
use std::time::Duration;

use crate::cli::args::{
    BuildArgs, GlobalArgs, MAX_TEST_MS, MAX_WAIT_SECS, ManifestArgs, MessageFormat, PackageArgs,
    RegistryArgs, TrustedArgs,
};
use crate::model::Coded;
use crate::ops::{self, Mode, PublishOpts, RunTuning};
use crate::plan::Selection;
use crate::report;
use crate::secret::{InvalidToken, Secret, TokenOrigin};
use crate::workspace::{LoadedWorkspace, TargetChoice};

/// Publish the plan: skip what the registry has, package and verify the
/// rest up front, upload in dependency order, confirm each version in the
/// index before its dependents go out. Resumes an unfinished run of the same
/// plan by itself
#[derive(Debug, clap::Args)]
pub struct PublishArgs {
    /// Package and verify, show what would be uploaded or skipped; upload nothing
    #[arg(short = 'n', long)]
    dry_run: bool,
    /// Set aside (archive) an unfinished run, of another plan or this one, and start over
    #[arg(long)]
    abandon_unfinished: bool,
    /// Refuse unless a passing `rehearse` of this plan uploaded exactly these bytes
    #[arg(long)]
    require_rehearsal: bool,
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    interrupt: InterruptArgs,
    #[command(flatten)]
    packages: PackageArgs,
    #[command(flatten)]
    registry: RegistryArgs,
    #[command(flatten)]
    build: BuildArgs,
    #[command(flatten)]
    manifest: ManifestArgs,
}

/// Continue the unfinished run in the state directory, with the selection
/// and registry it started with; refuses when there is none or the plan changed
#[derive(Debug, clap::Args)]
pub struct ResumeArgs {
    /// After checking the registry by hand: this upload of unknown outcome did not land
    /// (it is uploaded again); journaled
    #[arg(long, value_name = "NAME@VERSION", value_parser = parse_crate_at)]
    assume_not_uploaded: Vec<(String, String)>,
    /// After checking the registry by hand: this upload of unknown outcome landed (it is
    /// confirmed in the index with the journal's checksum before its dependents go out); journaled
    #[arg(long, value_name = "NAME@VERSION", value_parser = parse_crate_at)]
    assume_uploaded: Vec<(String, String)>,
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    interrupt: InterruptArgs,
    #[command(flatten)]
    build: BuildArgs,
    #[command(flatten)]
    manifest: ManifestArgs,
}

fn parse_crate_at(text: &str) -> Result<(String, String), String> {
    match text.split_once('@') {
        Some((name, version)) if !name.is_empty() && !version.is_empty() => {
            Ok((name.to_owned(), version.to_owned()))
        }
        _ => Err(format!(
            "`{text}`: expected NAME@VERSION, e.g. my-crate@1.2.0"
        )),
    }
}

/// SIGINT and SIGTERM (`publish`, `resume`).
#[derive(Debug, clap::Args)]
struct InterruptArgs {
    /// After SIGINT or SIGTERM, how long uploads in flight may take to finish, in seconds, 0 to
    /// 3600 (a second signal stops at once)
    #[arg(long, value_name = "SECS", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(0..=3600))]
    grace: u64,
}

impl InterruptArgs {
    /// Listen for the signals from now on; the run's stop flag and grace.
    fn install(&self, tuning: &mut RunTuning) -> anyhow::Result<()> {
        tuning.stop = ops::stop_on_signals()?;
        tuning.grace = Duration::from_secs(self.grace);
        Ok(())
    }
}

#[derive(Debug, clap::Args)]
pub(super) struct RunArgs {
    /// Output format: progress for people on stderr, or JSON lines of the events on stdout
    #[arg(long, value_enum, value_name = "FMT", default_value_t)]
    pub(super) message_format: MessageFormat,
    /// Token to use (otherwise cargo's: env vars, credentials.toml, credential providers)
    #[arg(long, value_name = "TOKEN")]
    pub(super) token: Option<String>,
    /// Allow dirty working directories to be packaged
    #[arg(long)]
    pub(super) allow_dirty: bool,
    /// Do not build the packaged crates before uploading
    #[arg(long)]
    pub(super) no_verify: bool,
    /// Uploads in flight at once, 1 to 64 (index confirmations run beside them; `-j` is
    /// cargo's build jobs)
    #[arg(long, value_name = "N", default_value_t = 4, allow_negative_numbers = true,
          value_parser = clap::value_parser!(i64).range(1..=RunTuning::MAX_JOBS as i64))]
    pub(super) uploads_in_flight: i64,
    /// Where the run journal lives [default: .shipper/ at the workspace root]
    #[arg(long, value_name = "DIR")]
    pub(super) state_dir: Option<PathBuf>,
    /// How long to wait for a new version to show in the index, in seconds, 0 to 604800
    #[arg(long, value_name = "SECS", default_value_t = 600,
          value_parser = clap::value_parser!(u64).range(0..=MAX_WAIT_SECS))]
    pub(super) confirm_timeout: u64,
    /// Upload attempts per crate per run, 1 to 100
    #[arg(long, value_name = "N", default_value_t = 5, allow_negative_numbers = true,
          value_parser = clap::value_parser!(i64).range(1..=100))]
    pub(super) max_attempts: i64,
    /// How long one upload request may take, in seconds; a later run waits this long after an
    /// interrupted upload before counting it as not landed
    #[arg(long, value_name = "SECS", default_value_t = 120,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(super) upload_timeout: u64,
    /// First retry delay in milliseconds (it doubles, with jitter); for tests
    #[arg(long, value_name = "MS", default_value_t = 2000, hide = true,
          value_parser = clap::value_parser!(u64).range(0..=MAX_TEST_MS))]
    pub(super) retry_delay_ms: u64,
    /// First interval between index polls in milliseconds; for tests
    #[arg(long, value_name = "MS", default_value_t = 100, hide = true,
          value_parser = clap::value_parser!(u64).range(0..=MAX_TEST_MS))]
    pub(super) confirm_poll_ms: u64,
    /// Shortest wait in milliseconds before an index that lags is believed to say a version is
    /// absent; for tests
    #[arg(long, value_name = "MS", default_value_t = RunTuning::INDEX_WINDOW_FLOOR.as_millis() as u64, hide = true,
          value_parser = clap::value_parser!(u64).range(0..=MAX_TEST_MS))]
    pub(super) index_window_ms: u64,
    #[command(flatten)]
    pub(super) trusted: TrustedArgs,
    /// Start no upload after this long (e.g. `5h30m`, `90m`, `45s`; at most 8784h), let those in
    /// flight settle, and exit with code 8: the next `publish` continues (for CI job time limits)
    #[arg(long, value_name = "DURATION", value_parser = crate::cli::args::parse_duration)]
    pub(super) stop_after: Option<Duration>,
}

fn ci(run: &RunArgs) -> ops::CiOpts {
    ops::CiOpts {
        stop_after: run.stop_after,
        ..run.trusted.ci()
    }
}

pub fn exec_publish(global: &GlobalArgs, args: PublishArgs) -> anyhow::Result<()> {
    let selection = args.packages.selection();
    let target = args.registry.target();
    let mut opts = opts(&args.run, Mode::Publish, selection, target).map_err(Coded::from)?;
    args.interrupt.install(&mut opts.tuning)?;
    opts.dry_run = args.dry_run;
    opts.abandon_unfinished = args.abandon_unfinished;
    opts.require_rehearsal = args.require_rehearsal;
    run(global, &args.run, &args.manifest, &args.build, &opts)
}

pub fn exec_resume(global: &GlobalArgs, args: ResumeArgs) -> anyhow::Result<()> {
    let mut opts = opts(
        &args.run,
        Mode::Resume,
        Selection::default(),
        TargetChoice::Default,
    )
    .map_err(Coded::from)?;
    args.interrupt.install(&mut opts.tuning)?;
    let assume = |list: &[(String, String)], uploaded| {
        list.iter()
            .map(move |(name, version)| ops::Assumption {
                name: name.clone(),
                version: version.clone(),
                uploaded,
            })
            .collect::<Vec<_>>()
    };
    opts.assume = assume(&args.assume_not_uploaded, false);
    opts.assume.extend(assume(&args.assume_uploaded, true));
    run(global, &args.run, &args.manifest, &args.build, &opts)
}

fn opts(
    run: &RunArgs,
    mode: Mode,
    selection: Selection,
    target: TargetChoice,
) -> Result<PublishOpts, InvalidToken> {
    let token = run
        .token
        .clone()
        .map(|t| Secret::token(t, TokenOrigin::CommandLine))
        .transpose()?;
    Ok(PublishOpts {
        mode,
        selection,
        target,
        state_dir: run.state_dir.clone(),
        token,
        allow_dirty: run.allow_dirty,
        verify: !run.no_verify,
        dry_run: false,
        abandon_unfinished: false,
        tuning: tuning(run),
        require_rehearsal: false,
        stand_in: None,
        stand_in_index: Vec::new(),
        ci: ci(run),
        assume: Vec::new(),
    })
}

pub(super) fn tuning(run: &RunArgs) -> RunTuning {
    RunTuning {
        // In range: clap checked them.
        jobs: run.uploads_in_flight as usize,
        max_attempts: run.max_attempts as u32,
        retry_delay: Duration::from_millis(run.retry_delay_ms),
        confirm_timeout: Duration::from_secs(run.confirm_timeout),
        confirm_poll: Duration::from_millis(run.confirm_poll_ms.max(1)),
        stop: Default::default(),
        grace: Duration::ZERO,
        upload_timeout: Duration::from_secs(run.upload_timeout),
        request_window: None,
        index_window_floor: Duration::from_millis(run.index_window_ms),
    }
}

fn run(
    global: &GlobalArgs,
    args: &RunArgs,
    manifest: &ManifestArgs,
    build: &BuildArgs,
    opts: &PublishOpts,
) -> anyhow::Result<()> {
    if !global.quiet
        && let Some(newer) = ops::newer_user_cargo(std::path::Path::new("."))
    {
        report::newer_cargo(&newer);
    }
    let mut reporter =
        report::publish::Reporter::new(args.message_format == MessageFormat::Json, global.quiet)
            .verbose(global.verbose > 0);
    // The reporter sees every failure, a workspace that does not load too
    // (the step summary says why the release did not start).
    let result = LoadedWorkspace::load(
        manifest.manifest_path.as_deref(),
        &global.build_context(manifest, build),
    )
    .and_then(|ws| ops::publish(&ws, opts, &mut |step| reporter.step(step)));
    reporter.finish(&result);
    result.map(|_| ())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::{CargoCli, Command};
    use crate::workspace::ContextOpts;

    /// The cargo context a `publish` command line asks for.
    fn context<S: AsRef<str>>(words: &[S]) -> ContextOpts {
        let argv = ["cargo-shipper", "shipper", "publish"]
            .into_iter()
            .chain(words.iter().map(AsRef::as_ref));
        let CargoCli::Shipper(cli) = CargoCli::try_parse_from(argv).unwrap();
        let Command::Publish(args) = cli.command else {
            unreachable!("a publish command line")
        };
        cli.global.build_context(&args.manifest, &args.build)
    }

    /// A child run given `cargo_args()` (the rehearsal drill's) gets the
    /// same cargo flags, every one of them.
    #[test]
    fn cargo_args_give_a_child_the_same_flags() {
        let first = context(&[
            "--locked",
            "--offline",
            "--frozen",
            "--config",
            "net.retry=1",
            "--config",
            "my config.toml",
            "--target-dir",
            "out dir",
            "-F",
            "a,b",
            "--features",
            "c",
            "--all-features",
            "--no-default-features",
            "-j",
            "-1",
            "--keep-going",
            "--target",
            "x86_64-unknown-linux-gnu",
            "--target",
            "wasm32-unknown-unknown",
        ]);
        let again = context(&first.cargo_args());
        assert_eq!(format!("{again:?}"), format!("{first:?}"));
        let none = context::<&str>(&[]);
        assert!(none.cargo_args().is_empty(), "{none:?}");
    }
}
