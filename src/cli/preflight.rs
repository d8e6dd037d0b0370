//! `cargo shipper preflight`.

use crate::cli::args::{
    BuildArgs, GlobalArgs, ManifestArgs, MessageFormat, PackageArgs, RegistryArgs, TrustedArg,
};
use crate::model::Coded;
use crate::ops::{self, PreflightBlocked, PreflightOpts, Verdict};
use crate::report;
use crate::secret::Secret;
use crate::workspace::LoadedWorkspace;

/// Check everything that can be known without publishing: metadata, what the
/// registry has, names, token and owners, git, yanked dependencies, a dry-run
/// package and verify, the rate-limit ETA. Exits 7 when something blocks the
/// release
#[derive(Debug, clap::Args)]
pub struct PreflightArgs {
    /// Output format: a report for people, or one JSON document (docs/reference/preflight-json.md)
    #[arg(long, value_enum, value_name = "FMT", default_value_t)]
    message_format: MessageFormat,
    /// Token to use (otherwise cargo's: env vars, credentials.toml, credential providers)
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    /// Uncommitted changes are a warning, not a blocking problem
    #[arg(long)]
    allow_dirty: bool,
    /// Package without building the packaged crates
    #[arg(long)]
    no_verify: bool,
    /// Whether `publish` will get the token by trusted publishing (OIDC), as `publish` decides it:
    /// `auto` when a CI provider offers an ID token and no token is configured; with GitHub
    /// Actions an ID token is exchanged now and the minted token revoked at once
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = TrustedArg::Auto,
          num_args = 0..=1, default_missing_value = "on")]
    trusted_publishing: TrustedArg,
    /// GitLab CI: the variable holding the job's ID token (an `id_tokens:` entry)
    #[arg(long, value_name = "VAR", default_value = ops::GITLAB_ID_TOKEN_VAR)]
    oidc_token_var: String,
    #[command(flatten)]
    packages: PackageArgs,
    #[command(flatten)]
    registry: RegistryArgs,
    #[command(flatten)]
    build: BuildArgs,
    #[command(flatten)]
    manifest: ManifestArgs,
}

pub fn exec(global: &GlobalArgs, args: PreflightArgs) -> anyhow::Result<()> {
    let ws = LoadedWorkspace::load(
        args.manifest.manifest_path.as_deref(),
        &global.build_context(&args.manifest, &args.build),
    )?;
    let opts = PreflightOpts {
        selection: args.packages.selection(),
        target: args.registry.target(),
        token: args.token.map(Secret::new),
        allow_dirty: args.allow_dirty,
        verify: !args.no_verify,
        ci: ops::CiOpts {
            trusted: args.trusted_publishing.mode(),
            oidc_token_var: args.oidc_token_var,
            ..ops::CiOpts::default()
        },
    };
    let result = ops::preflight(&ws, &opts)?;
    match args.message_format {
        MessageFormat::Human => report::preflight::human(&result, &mut std::io::stdout().lock())?,
        MessageFormat::Json => report::preflight::json(&result, &mut std::io::stdout().lock())?,
    }
    report::preflight::step_summary(&result);
    match result.verdict() {
        Verdict::Blocked => Err(Coded::new(PreflightBlocked {
            blocking: result.blocking(),
            again: {
                let again = ops::NextCommand::new("preflight")
                    .target(&opts.target)
                    .selection(&opts.selection);
                match opts.allow_dirty {
                    true => again.flag("--allow-dirty").to_string(),
                    false => again.to_string(),
                }
            },
        })
        .into()),
        Verdict::Ready | Verdict::ReadyWithWarnings => Ok(()),
    }
}
