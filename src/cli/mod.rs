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

/// The command line, or clap's error (and exit), never offering a hidden
/// argument (see [`drop_hidden_suggestions`]).
fn parse(argv: &[OsString]) -> CargoCli {
    use clap::FromArgMatches;
    let mut cmd = <CargoCli as clap::CommandFactory>::command();
    let matches = cmd
        .try_get_matches_from_mut(argv)
        .and_then(|m| CargoCli::from_arg_matches(&m).map_err(|e| e.format(&mut cmd)));
    match matches {
        Ok(cli) => cli,
        Err(error) => drop_hidden_suggestions(argv, error).exit(),
    }
}

/// clap offers hidden arguments too when a flag is mistyped ("tip: a
/// similar argument exists: '--confirm-poll-ms'"), and test knobs and the
/// flags a command refuses are hidden so that nobody reaches for them: drop
/// such a tip. Which command the flag was given to comes from a partial
/// parse of the same words.
fn drop_hidden_suggestions(argv: &[OsString], mut error: clap::Error) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if error.kind() != ErrorKind::UnknownArgument {
        return error;
    }
    let mut root = <CargoCli as clap::CommandFactory>::command();
    root.build();
    // The commands the words name, outermost first.
    let mut path = vec![&root];
    // (A command not built yet: `ignore_errors` reaches subcommands on building.)
    let partial = <CargoCli as clap::CommandFactory>::command()
        .ignore_errors(true)
        .try_get_matches_from(argv);
    if let Ok(mut matches) = partial {
        while let Some((name, sub)) = matches.remove_subcommand() {
            let Some(cmd) = path.last().and_then(|c| c.find_subcommand(&name)) else {
                break;
            };
            path.push(cmd);
            matches = sub;
        }
    }
    let at = path.last().expect("the root is on the path");
    if let Some(ContextValue::String(flag)) = error.get(ContextKind::SuggestedArg)
        && !offered(at, flag)
    {
        error.remove(ContextKind::SuggestedArg);
    }
    // A flag given before its subcommand: clap offers the most similar
    // flag of the first subcommand named after it that has one ("'publish
    // --flag' exists"); ask each the same, in that order.
    if error.get(ContextKind::Suggested).is_some()
        && let Some(ContextValue::String(invalid)) = error.get(ContextKind::InvalidArg)
    {
        let named = |w: &OsString| w.to_str().and_then(|w| w.split('=').next()) == Some(invalid);
        let offer = argv
            .iter()
            .skip_while(|w| !named(w))
            .skip(1)
            .filter_map(|w| at.find_subcommand(w.to_str()?))
            .find_map(|sub| {
                let mut words: Vec<OsString> = argv[..1].to_vec();
                words.extend(path[1..].iter().map(|c| c.get_name().into()));
                words.extend([sub.get_name().into(), invalid.into()]);
                match root
                    .clone()
                    .try_get_matches_from(words)
                    .err()?
                    .get(ContextKind::SuggestedArg)
                {
                    Some(ContextValue::String(flag)) => Some((sub, flag.clone())),
                    _ => None,
                }
            });
        if let Some((sub, flag)) = offer
            && !offered(sub, &flag)
        {
            error.remove(ContextKind::Suggested);
        }
    }
    error
}

/// Whether `flag` (`--name`) is a long flag `cmd` shows in its help.
fn offered(cmd: &clap::Command, flag: &str) -> bool {
    let name = flag.trim_start_matches("--");
    cmd.get_arguments().any(|arg| {
        !arg.is_hide_set()
            && (arg.get_long() == Some(name)
                || arg
                    .get_visible_aliases()
                    .is_some_and(|aliases| aliases.contains(&name)))
    })
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
    let CargoCli::Shipper(cli) = parse(&argv);
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use clap::error::{ContextKind, ContextValue};

    /// `(words to reach the command, its hidden long flags)` for every
    /// command that has some.
    fn hidden_flags() -> Vec<(Vec<String>, Vec<String>)> {
        fn walk(
            cmd: &clap::Command,
            words: Vec<String>,
            out: &mut Vec<(Vec<String>, Vec<String>)>,
        ) {
            let hidden: Vec<String> = cmd
                .get_arguments()
                .filter(|a| a.is_hide_set())
                .filter_map(|a| a.get_long().map(str::to_owned))
                .collect();
            if !hidden.is_empty() {
                out.push((words.clone(), hidden));
            }
            for sub in cmd.get_subcommands() {
                let mut words = words.clone();
                words.push(sub.get_name().to_owned());
                walk(sub, words, out);
            }
        }
        let mut root = CargoCli::command();
        root.build();
        let mut out = Vec::new();
        walk(&root, vec!["cargo-shipper".into()], &mut out);
        out
    }

    fn error_for(words: &[String]) -> clap::Error {
        let argv: Vec<OsString> = words.iter().map(OsString::from).collect();
        let error = CargoCli::command()
            .try_get_matches_from(&argv)
            .expect_err("a mistyped flag");
        drop_hidden_suggestions(&argv, error)
    }

    /// Every hidden flag, mistyped (a letter short), after its command and
    /// before it: the error offers no hidden flag, by name or as a tip.
    #[test]
    fn no_hidden_flag_is_ever_suggested() {
        let all = hidden_flags();
        let flags: usize = all.iter().map(|(_, h)| h.len()).sum();
        // The test knobs of publish, resume, rehearse and yank, and
        // rehearse's `--stop-after`.
        assert!(flags >= 9, "{all:?}");
        for (words, hidden) in &all {
            for flag in hidden {
                let near = format!("--{}", &flag[..flag.len() - 1]);
                let mut after = words.clone();
                after.push(near.clone());
                let mut before = words[..words.len() - 1].to_vec();
                before.push(near.clone());
                before.push(words[words.len() - 1].clone());
                for case in [after, before] {
                    let error = error_for(&case);
                    assert_eq!(error.kind(), clap::error::ErrorKind::UnknownArgument);
                    let text = error.render().to_string();
                    assert!(!text.contains(flag.as_str()), "{case:?}:\n{text}");
                    assert!(!text.contains("tip:"), "{case:?}:\n{text}");
                }
            }
        }
    }

    /// A visible flag mistyped keeps clap's tip, after its command or before.
    #[test]
    fn visible_flags_are_still_suggested() {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let error = error_for(&words(&["cargo-shipper", "shipper", "publish", "--dry-rn"]));
        assert!(matches!(
            error.get(ContextKind::SuggestedArg),
            Some(ContextValue::String(s)) if s == "--dry-run"
        ));
        // `--stop-after` is `publish`'s, hidden only in `rehearse`.
        let error = error_for(&words(&[
            "cargo-shipper",
            "shipper",
            "publish",
            "--stop-afte",
        ]));
        assert!(matches!(
            error.get(ContextKind::SuggestedArg),
            Some(ContextValue::String(s)) if s == "--stop-after"
        ));
        let error = error_for(&words(&["cargo-shipper", "shipper", "--dry-rn", "publish"]));
        let text = error.render().to_string();
        assert!(text.contains("'publish --dry-run' exists"), "{text}");
    }
}
