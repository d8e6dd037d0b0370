//! `cargo shipper plan`.

use crate::cli::args::{GlobalArgs, ManifestArgs, MessageFormat, PackageArgs, RegistryArgs};
use crate::ops::{self, PlanOpts};
use crate::report;
use crate::workspace::LoadedWorkspace;

/// Show the publish plan: which crates go out, in which order, at which
/// dependency level, and the plan id that binds a run to it
#[derive(Debug, clap::Args)]
#[command(mut_arg("offline", |a| a.help(
    "Run without accessing the network: the registry is not asked, and dev-dependency cycles \
     are reported as needing a check"
)))]
pub struct PlanArgs {
    /// Output format: text for people, or one JSON document (docs/reference/plan-json.md)
    #[arg(long, value_enum, value_name = "FMT", default_value_t)]
    message_format: MessageFormat,
    #[command(flatten)]
    packages: PackageArgs,
    #[command(flatten)]
    registry: RegistryArgs,
    #[command(flatten)]
    manifest: ManifestArgs,
}

pub fn exec(global: &GlobalArgs, args: PlanArgs) -> anyhow::Result<()> {
    let ws = LoadedWorkspace::load(
        args.manifest.manifest_path.as_deref(),
        &global.context(&args.manifest),
    )?;
    let opts = PlanOpts {
        selection: args.packages.selection(),
        target: args.registry.target(),
        offline: ws.offline(),
    };
    let plan = ops::plan(&ws, &opts)?;
    match args.message_format {
        MessageFormat::Human => report::plan::human(&plan, &mut std::io::stdout().lock())?,
        MessageFormat::Json => report::plan::json(&plan, &mut std::io::stdout().lock())?,
    }
    Ok(())
}
