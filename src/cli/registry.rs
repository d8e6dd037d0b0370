//! `cargo shipper registry serve`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::args::{GlobalArgs, MessageFormat};
use crate::local_registry::{
    Knobs, LocalRegistry, RateLimit, RegistryConfig, StopSignal, TrustedFile, UploadFault,
    parse_upload_fault,
};
use crate::model::Coded;
use crate::report;
use crate::secret::{Secret, TokenOrigin};

/// Run the embedded sparse registry
#[derive(Debug, clap::Args)]
pub struct RegistryArgs {
    #[command(subcommand)]
    command: RegistryCommand,
}

#[derive(Debug, clap::Subcommand)]
enum RegistryCommand {
    /// Serve the embedded sparse registry from a directory until Ctrl-C (or SIGTERM)
    Serve(ServeArgs),
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Directory that holds the registry (created if missing; kept across restarts)
    #[arg(long, value_name = "DIR")]
    root: PathBuf,
    /// Address to listen on
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// Listen on a non-loopback address; every request but config.json then needs the token
    #[arg(long)]
    allow_remote: bool,
    /// Token for publish, yank and owners (generated when not given)
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    /// Require the token for reads too: index files, downloads, web API (config.json stays open)
    #[arg(long)]
    auth_required: bool,
    /// Serve crates this registry does not hold from this sparse index, read-only
    #[arg(long, value_name = "INDEX")]
    upstream: Option<String>,
    /// Play crates.io's trusted publishing (OIDC token exchange and revocation) as this TOML file
    /// configures it: crates, token lifetime, and the issuer (an external one's URL and key, or a
    /// `[provider]` table for a test OIDC provider started beside the registry)
    #[arg(long, value_name = "FILE")]
    trusted_publishing: Option<PathBuf>,
    /// Output format of the start-up message
    #[arg(long, value_enum, value_name = "FMT", default_value_t)]
    message_format: MessageFormat,
    /// New versions appear in the index this many milliseconds after upload
    #[arg(long, value_name = "MS", default_value_t = 0, help_heading = "Testing",
          value_parser = clap::value_parser!(u64).range(0..=crate::cli::args::MAX_TEST_MS))]
    propagation_delay_ms: u64,
    /// Delay every upload by this many milliseconds
    #[arg(long, value_name = "MS", default_value_t = 0, help_heading = "Testing",
          value_parser = clap::value_parser!(u64).range(0..=crate::cli::args::MAX_TEST_MS))]
    upload_latency_ms: u64,
    /// Delay every index read by this many milliseconds (a slow index)
    #[arg(long, value_name = "MS", default_value_t = 0, help_heading = "Testing",
          value_parser = clap::value_parser!(u64).range(0..=crate::cli::args::MAX_TEST_MS))]
    index_latency_ms: u64,
    /// Fault on the Nth upload: N:5xx, N:429=SECONDSs, N:429=date+SECONDS, N:drop (stored, then the
    /// connection drops), N:unindexed (kept out of the index, the connection drops; later uploads of
    /// that version answer 500 "already exists")
    #[arg(long, value_name = "N:FAULT", value_parser = parse_upload_fault, help_heading = "Testing")]
    fail_upload: Vec<(u32, UploadFault)>,
    /// Index files answer 200 and 404 in turn
    #[arg(long, help_heading = "Testing")]
    flapping_index: bool,
    /// After N uploads, crate index reads and version lookups answer 503
    #[arg(long, value_name = "N", help_heading = "Testing")]
    fail_reads_after: Option<u32>,
    /// Index files answer 200 with a body that is not an index entry
    #[arg(long, help_heading = "Testing")]
    garbage_index: bool,
    /// Answer every version lookup in the web API (`GET /api/v1/crates/NAME/VERSION`) with an
    /// empty 404, as kellnr does
    #[arg(long, help_heading = "Testing")]
    no_version_api: bool,
    /// Enforce a registry's rate limits: `crates-io` (new crates: a burst of 5, then 1 per 10
    /// minutes; new versions: 30, then 1 per minute; yanks: 100, then 1 per minute; 429 with
    /// Retry-After beyond them)
    #[arg(long, value_name = "PROFILE", value_parser = ["crates-io"], help_heading = "Testing")]
    rate_limit: Option<String>,
    /// Run the rate limits' clock N times faster
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000), help_heading = "Testing")]
    time_scale: u32,
}

pub fn exec(_global: &GlobalArgs, args: RegistryArgs) -> anyhow::Result<()> {
    let RegistryCommand::Serve(args) = args.command;
    if !args.addr.ip().is_loopback() && !args.allow_remote {
        anyhow::bail!(
            "`{}` is not a loopback address; pass `--allow-remote` to listen there (every request but config.json then needs the token)",
            args.addr
        );
    }
    // A token that could not arrive in a header would lock everyone out.
    if let Some(token) = &args.token {
        Secret::token(token.clone(), TokenOrigin::CommandLine).map_err(Coded::from)?;
    }
    // Read before anything starts: a bad file leaves no directory behind.
    let trusted = args
        .trusted_publishing
        .as_deref()
        .map(TrustedFile::load)
        .transpose()
        .map_err(Coded::from)?;
    let (trusted_publishing, provider) = match trusted {
        Some(file) => {
            let (config, provider) = file.start()?;
            (Some(config), provider)
        }
        None => (None, None),
    };
    let config = RegistryConfig {
        root: args.root.clone(),
        addr: args.addr,
        token: args.token,
        auth_required: args.auth_required || !args.addr.ip().is_loopback(),
        upstream: args.upstream,
        hidden_versions: Vec::new(),
        upstream_crate_cache: None,
        // No workspace, so no cargo config: curl's proxy variables apply.
        upstream_handles: None,
        trusted_publishing,
        require_metadata: false,
        knobs: Knobs {
            propagation_delay: Duration::from_millis(args.propagation_delay_ms),
            upload_latency: Duration::from_millis(args.upload_latency_ms),
            index_latency: Duration::from_millis(args.index_latency_ms),
            upload_faults: args.fail_upload,
            flapping_index: args.flapping_index,
            fail_reads_after_uploads: args.fail_reads_after,
            garbage_index: args.garbage_index,
            stall_timeout: None,
            no_version_api: args.no_version_api,
            rate_limit: args.rate_limit.map(|_| RateLimit {
                time_scale: args.time_scale,
            }),
        },
    };
    let registry = LocalRegistry::start(config)?;
    // Listen for Ctrl-C before saying "press Ctrl-C": a signal that arrives
    // in between must stop us, not be lost (or ignored, in a background job).
    let stop = StopSignal::install()?;
    let mut out = std::io::stdout().lock();
    match args.message_format {
        MessageFormat::Human => {
            report::registry::started_human(&registry, &args.root, provider.as_ref(), &mut out)?
        }
        MessageFormat::Json => {
            report::registry::started_json(&registry, &args.root, provider.as_ref(), &mut out)?
        }
    }
    drop(out);
    stop.wait();
    drop(registry);
    drop(provider);
    Ok(())
}
