//! `cargo shipper fix-forward`.

use std::path::PathBuf;

use crate::cli::args::{GlobalArgs, ManifestArgs};
use crate::ops::{self, FixForwardOpts, ReceiptSource};
use crate::plan::BumpKind;
use crate::report;
use crate::workspace::LoadedWorkspace;

/// After a bad release: bump the crate that needs the fix and every member
/// that depends on it, rewriting the manifests (comments and layout kept),
/// and show the next release's plan. A dry run unless --write
#[derive(Debug, clap::Args)]
pub struct FixForwardArgs {
    /// The bad release's receipt.json, or `latest`: the newest finished run's under the state directory
    /// that uploaded something
    #[arg(long, value_name = "FILE|latest")]
    from_receipt: String,
    /// The crate that needs the fix; everything that depends on it comes along
    #[arg(long, value_name = "CRATE")]
    starting_crate: String,
    /// Which part of the version to bump
    #[arg(long, value_enum, value_name = "PART", default_value_t)]
    bump: BumpArg,
    /// Write the manifests (otherwise: show the diff and the plan only)
    #[arg(long)]
    write: bool,
    /// Where `latest` looks [default: .shipper/ at the workspace root]
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    #[command(flatten)]
    manifest: ManifestArgs,
}

#[derive(Debug, Clone, Copy, Default, clap::ValueEnum)]
enum BumpArg {
    #[default]
    Patch,
    Minor,
    Major,
}

pub fn exec(global: &GlobalArgs, args: FixForwardArgs) -> anyhow::Result<()> {
    let ws = LoadedWorkspace::load(
        args.manifest.manifest_path.as_deref(),
        &global.context(&args.manifest),
    )?;
    let from = if args.from_receipt == "latest" {
        let state_dir = match args.state_dir {
            Some(dir) => dir,
            None => ws.root()?.join(".shipper"),
        };
        ReceiptSource::Latest { state_dir }
    } else {
        ReceiptSource::File(PathBuf::from(&args.from_receipt))
    };
    let opts = FixForwardOpts {
        from,
        starting_crate: args.starting_crate,
        bump: match args.bump {
            BumpArg::Patch => BumpKind::Patch,
            BumpArg::Minor => BumpKind::Minor,
            BumpArg::Major => BumpKind::Major,
        },
        write: args.write,
    };
    let result = ops::fix_forward(&ws, &opts)?;
    report::fix_forward::human(&result, &mut std::io::stdout().lock())?;
    Ok(())
}
