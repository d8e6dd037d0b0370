//! `cargo shipper rehearse`.

use std::path::PathBuf;

use crate::cli::args::{BuildArgs, GlobalArgs, ManifestArgs, MessageFormat, PackageArgs};
use crate::cli::publish::{RunArgs, tuning};
use crate::journal::Verdict;
use crate::ops::{self, InterruptAfter, RehearsalFailed, RehearsalTarget, RehearseOpts, RunTuning};
use crate::report;
use crate::secret::Secret;
use crate::workspace::{LoadedWorkspace, TargetChoice};

/// Rehearse the release: publish the plan, with the same engine as
/// `publish`, into a registry that stands in for the live target (an
/// embedded one started for the occasion, unless `--registry`/`--index`
/// name another), and write `rehearsal.json` for `publish
/// --require-rehearsal`. Versions the live target already has are reported
/// as "would skip"
#[derive(Debug, clap::Args)]
// Shared with `publish` but refused here (a rehearsal runs whole): not offered.
#[command(mut_arg("stop_after", |a| a.hide(true)))]
pub struct RehearseArgs {
    /// Keep the embedded registry's data in DIR (and say how to serve it again)
    #[arg(long, value_name = "DIR", conflicts_with_all = ["registry", "index"])]
    keep: Option<PathBuf>,
    /// Interruption drill: abort after N uploads (as a crash would), resume, check the invariants
    #[arg(long, value_name = "N|random", value_parser = parse_interrupt, conflicts_with_all = ["registry", "index"])]
    interrupt_after: Option<InterruptAfter>,
    /// Also install the plan's binary crates from the rehearsal registry into a temporary root
    #[arg(long)]
    smoke_install: bool,
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    packages: PackageArgs,
    /// Rehearse against this configured registry instead of the embedded one
    #[arg(
        long,
        value_name = "REGISTRY",
        conflicts_with = "index",
        help_heading = "Registry Options"
    )]
    registry: Option<String>,
    /// Rehearse against this sparse index instead of the embedded one
    #[arg(long, value_name = "INDEX", help_heading = "Registry Options")]
    index: Option<String>,
    /// The registry the live `publish` will use [default: as `publish` picks it]
    #[arg(
        long,
        value_name = "REGISTRY",
        conflicts_with = "for_index",
        help_heading = "Registry Options"
    )]
    for_registry: Option<String>,
    /// The index URL the live `publish` will use
    #[arg(long, value_name = "INDEX", help_heading = "Registry Options")]
    for_index: Option<String>,
    #[command(flatten)]
    build: BuildArgs,
    #[command(flatten)]
    manifest: ManifestArgs,
}

pub fn exec(global: &GlobalArgs, args: RehearseArgs) -> anyhow::Result<()> {
    if !global.quiet
        && let Some(newer) = ops::newer_user_cargo(std::path::Path::new("."))
    {
        report::newer_cargo(&newer);
    }
    let ws = LoadedWorkspace::load(
        args.manifest.manifest_path.as_deref(),
        &global.build_context(&args.manifest, &args.build),
    )?;
    let opts = RehearseOpts {
        selection: args.packages.selection(),
        live_target: match (&args.for_registry, &args.for_index) {
            (Some(name), _) => TargetChoice::Registry(name.clone()),
            (None, Some(url)) => TargetChoice::Index(url.clone()),
            (None, None) => TargetChoice::Default,
        },
        rehearsal: match (&args.registry, &args.index) {
            (Some(name), _) => RehearsalTarget::Registry(name.clone()),
            (None, Some(url)) => RehearsalTarget::Index(url.clone()),
            (None, None) => RehearsalTarget::Embedded,
        },
        keep: args.keep.clone(),
        state_dir: args.run.state_dir.clone(),
        token: args.run.token.clone().map(Secret::new),
        allow_dirty: args.run.allow_dirty,
        verify: !args.run.no_verify,
        tuning: RunTuning {
            // Uploads into a rehearsal registry are quick: a short grace.
            stop: ops::stop_on_signals()?,
            grace: std::time::Duration::from_secs(2),
            ..tuning(&args.run)
        },
        interrupt_after: args.interrupt_after,
        smoke_install: args.smoke_install,
        ci: ops::CiOpts {
            stop_after: args.run.stop_after,
            ..args.run.trusted.ci()
        },
    };
    let mut reporter = report::rehearse::RehearsalReporter::new(
        args.run.message_format == MessageFormat::Json,
        global.quiet,
        global.verbose > 0,
    );
    let report = match ops::rehearse(&ws, &opts, &mut |p| reporter.progress(p)) {
        Ok(report) => report,
        Err(error) => {
            reporter.abandon();
            return Err(error);
        }
    };
    reporter.finish(&report);
    if report.record.verdict == Verdict::Failed {
        let summary = format!(
            "plan {}: {}; record: {}",
            report.record.plan_id.short(),
            // One line: each failure's first line (the reporter showed them whole).
            report
                .record
                .failures
                .iter()
                .map(|f| f.lines().next().unwrap_or_default())
                .collect::<Vec<_>>()
                .join("; "),
            report.path.display()
        );
        let summary = format!("{summary}; fix it, then `{}` again", opts.command());
        return Err(RehearsalFailed(summary).into());
    }
    Ok(())
}

fn parse_interrupt(value: &str) -> Result<InterruptAfter, String> {
    if value == "random" {
        return Ok(InterruptAfter::Random);
    }
    match value.parse::<u32>() {
        Ok(n) if n > 0 => Ok(InterruptAfter::Uploads(n)),
        _ => Err("expected a number of uploads (1 or more) or `random`".into()),
    }
}
