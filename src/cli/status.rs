//! `cargo shipper status`.

use std::path::PathBuf;

use crate::cli::args::{GlobalArgs, ManifestArgs, MessageFormat, PackageArgs, RegistryArgs};
use crate::ops::{self, StatusOpts};
use crate::report;
use crate::secret::Secret;
use crate::workspace::LoadedWorkspace;

/// Show where the release stands, without starting anything: each plan
/// crate's version, its state in the local journal and in the registry, side
/// by side, and what `publish` or `resume` would do next
#[derive(Debug, clap::Args)]
#[command(mut_arg("offline", |a| a.help("Run without accessing the network: the registry is not asked")))]
pub struct StatusArgs {
    /// Print the journal's events readably instead (JSON lines with --message-format json)
    #[arg(long)]
    events: bool,
    /// With --events: keep printing a running release's events until it ends
    #[arg(long, requires = "events")]
    follow: bool,
    /// Output format: text for people, or JSON (docs/reference/cli.md)
    #[arg(long, value_enum, value_name = "FMT", default_value_t)]
    message_format: MessageFormat,
    /// Token for registries that need one to read (otherwise cargo's)
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    /// Where the run journal lives [default: .shipper/ at the workspace root]
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    #[command(flatten)]
    packages: PackageArgs,
    #[command(flatten)]
    registry: RegistryArgs,
    #[command(flatten)]
    manifest: ManifestArgs,
}

pub fn exec(global: &GlobalArgs, args: StatusArgs) -> anyhow::Result<()> {
    let ws = LoadedWorkspace::load(
        args.manifest.manifest_path.as_deref(),
        &global.context(&args.manifest),
    )?;
    let json = args.message_format == MessageFormat::Json;
    if args.follow {
        let mut out = std::io::stdout().lock();
        let mut failed = None;
        let mut printed = 0;
        ops::follow(&ws, args.state_dir.as_ref(), &mut |record| {
            printed += 1;
            if failed.is_none()
                && let Err(e) = report::status::events(std::slice::from_ref(record), json, &mut out)
            {
                failed = Some(e);
            }
        })?;
        if printed == 0 && !json {
            report::status::no_run();
        }
        return failed.map_or(Ok(()), |e| Err(e.into()));
    }
    if args.events {
        let records = ops::events(&ws, args.state_dir.as_ref())?;
        if records.is_empty() && !json {
            report::status::no_run();
        }
        report::status::events(&records, json, &mut std::io::stdout().lock())?;
        return Ok(());
    }
    let opts = StatusOpts {
        selection: args.packages.selection(),
        target: args.registry.target(),
        state_dir: args.state_dir,
        token: args.token.map(Secret::new),
        offline: ws.offline(),
    };
    let status = ops::status(&ws, &opts)?;
    match args.message_format {
        MessageFormat::Human => report::status::human(&status, &mut std::io::stdout().lock())?,
        MessageFormat::Json => report::status::json(&status, &mut std::io::stdout().lock())?,
    }
    Ok(())
}
