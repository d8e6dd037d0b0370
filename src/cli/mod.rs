//! Command-line interface: clap types, one file per subcommand. Each
//! subcommand turns its arguments into an `ops` options struct, calls one
//! `ops` function and hands the result to `report`. Errors end here, as an
//! exit code (see [`exit`]).

mod args;
mod exit;
mod fix_forward;
mod plan;
mod preflight;
mod publish;
mod registry;
mod rehearse;
mod status;
mod yank;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use exit::Exit;

/// cargo runs `cargo-shipper shipper <args>`; invoked directly, the
/// `shipper` word is optional.
#[derive(Debug, Parser)]
#[command(name = "cargo", bin_name = "cargo", styles = args::styles())]
enum CargoCli {
    Shipper(ShipperCli),
}

/// Publish the crates of a workspace reliably: in dependency order, skipping
/// what is already published, journaled and resumable
#[derive(Debug, clap::Args)]
#[command(
    version = version_text(),
    author,
    after_help = "See 'cargo shipper help <command>' for more information on a specific command.\n\
                  Documentation: docs/reference/cli.md"
)]
struct ShipperCli {
    #[command(flatten)]
    global: args::GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show the publish plan: crates, order, dependency levels, plan id
    Plan(plan::PlanArgs),
    /// Check everything that can be known without publishing; a verdict and an exit code
    Preflight(preflight::PreflightArgs),
    /// Publish the plan: ordered, journaled, resumable
    Publish(publish::PublishArgs),
    /// Continue an unfinished publish run
    Resume(publish::ResumeArgs),
    /// Where the release stands: plan, journal and registry side by side; the next action
    Status(status::StatusArgs),
    /// Plan yanks from a release's receipt, dependents first (yanks nothing)
    PlanYank(yank::PlanYankArgs),
    /// Yank (or --undo: unyank) the versions of a yank plan, journaled and resumable
    Yank(yank::YankArgs),
    /// Bump a crate that needs a fix and its dependents; show the next release
    FixForward(fix_forward::FixForwardArgs),
    /// Rehearse the release into a registry standing in for the live target
    Rehearse(rehearse::RehearseArgs),
    /// Run the embedded sparse registry (for rehearsals and local tests)
    Registry(registry::RegistryArgs),
}

/// `--token -abc…`: clap would read the value as options and say
/// "unexpected argument '-a'" (echoing part of the token, and suggesting
/// `-- -abc`, which does not work). Say how to pass it, without the value.
fn refuse_detached_dash_token(argv: &[OsString]) {
    use clap::CommandFactory;
    let detached = argv.windows(2).any(|pair| {
        pair[0] == "--token"
            && pair[1]
                .to_str()
                .is_some_and(|v| v.starts_with('-') && v.len() > 1)
    });
    if detached {
        CargoCli::command()
            .error(
                clap::error::ErrorKind::InvalidValue,
                "the value after `--token` starts with `-`, so it reads as an option; \
                 attach it instead: `--token=<TOKEN>`",
            )
            .exit();
    }
}

/// `--version`: this tool's version and the cargo release it packages with
/// (the linked cargo library's).
fn version_text() -> &'static str {
    static TEXT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "{} (packages with the linked cargo library of cargo {})",
            env!("CARGO_PKG_VERSION"),
            crate::ops::linked_cargo_release()
        )
    });
    &TEXT
}

/// Entry point of the `cargo-shipper` binary.
/// A bug must end the process, not hang it: a panic on the main thread
/// (where the engine runs, inside thread scopes whose workers may wait on
/// channels the unwinding would need to close first) prints the usual
/// message and exits with 101 at once. Nothing is lost that a SIGKILL would
/// not lose: every state file is written crash-safe. Worker threads catch
/// their own panics and are not concerned.
fn exit_on_main_thread_panic() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default(info);
        if std::thread::current().name() == Some("main") {
            std::process::exit(101);
        }
    }));
}

pub fn main() -> ExitCode {
    exit_on_main_thread_panic();
    let mut argv: Vec<OsString> = std::env::args_os().collect();
    if argv.get(1).is_none_or(|a| a != "shipper") {
        argv.insert(1.min(argv.len()), "shipper".into());
    }
    refuse_detached_dash_token(&argv);
    let CargoCli::Shipper(cli) = CargoCli::parse_from(argv);
    crate::report::term::install();
    let result = match cli.command {
        Command::Plan(args) => plan::exec(&cli.global, args),
        Command::Preflight(args) => preflight::exec(&cli.global, args),
        Command::Publish(args) => publish::exec_publish(&cli.global, args),
        Command::Resume(args) => publish::exec_resume(&cli.global, args),
        Command::Status(args) => status::exec(&cli.global, args),
        Command::PlanYank(args) => yank::exec_plan_yank(&cli.global, args),
        Command::Yank(args) => yank::exec_yank(&cli.global, args),
        Command::FixForward(args) => fix_forward::exec(&cli.global, args),
        Command::Rehearse(args) => rehearse::exec(&cli.global, args),
        Command::Registry(args) => registry::exec(&cli.global, args),
    };
    match result {
        Ok(()) => Exit::Success.into(),
        Err(error) => {
            crate::report::error(&error, cli.global.color_choice());
            Exit::for_error(&error).into()
        }
    }
}
