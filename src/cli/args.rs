//! Argument groups shared by subcommands, named and spelled as cargo's.

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::styling::{AnsiColor, Effects, Styles};

use crate::ops;
use crate::plan::Selection;
use crate::workspace::{CompileFlags, ContextOpts, TargetChoice};

/// cargo's help colours.
pub fn styles() -> Styles {
    Styles::styled()
        .header(AnsiColor::Green.on_default() | Effects::BOLD)
        .usage(AnsiColor::Green.on_default() | Effects::BOLD)
        .literal(AnsiColor::Cyan.on_default() | Effects::BOLD)
        .placeholder(AnsiColor::Cyan.on_default())
        .error(AnsiColor::Red.on_default() | Effects::BOLD)
        .valid(AnsiColor::Cyan.on_default() | Effects::BOLD)
        .invalid(AnsiColor::Yellow.on_default() | Effects::BOLD)
}

#[derive(Debug, Clone, clap::Args)]
pub struct GlobalArgs {
    /// Use verbose output (-vv very verbose)
    #[arg(short, long, action = clap::ArgAction::Count, global = true, display_order = 900)]
    pub verbose: u8,
    /// Do not print cargo log messages
    #[arg(
        short,
        long,
        global = true,
        conflicts_with = "verbose",
        display_order = 901
    )]
    pub quiet: bool,
    /// Coloring
    #[arg(long, value_name = "WHEN", global = true, value_parser = ["auto", "always", "never"], display_order = 902)]
    pub color: Option<String>,
}

impl GlobalArgs {
    pub fn color_choice(&self) -> Option<&str> {
        self.color.as_deref()
    }

    /// The cargo context `manifest`'s flags ask for (cargo's global flags).
    pub fn context(&self, manifest: &ManifestArgs) -> ContextOpts {
        ContextOpts {
            verbose: u32::from(self.verbose),
            quiet: self.quiet,
            color: self.color.clone(),
            frozen: manifest.frozen,
            locked: manifest.locked,
            offline: manifest.offline,
            config: manifest.config.clone(),
            target_dir: None,
            compile: CompileFlags::default(),
        }
    }

    /// The cargo context for packaging and verifying: `manifest`'s flags and
    /// `build`'s, as `cargo publish` takes them.
    pub fn build_context(&self, manifest: &ManifestArgs, build: &BuildArgs) -> ContextOpts {
        ContextOpts {
            target_dir: build.compilation.target_dir.clone(),
            compile: build.flags(),
            ..self.context(manifest)
        }
    }
}

/// The manifest, and cargo's global flags for its configuration and
/// lockfile (cargo takes them with every command).
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Manifest Options")]
pub struct ManifestArgs {
    /// Path to Cargo.toml
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Assert that `Cargo.lock` will remain unchanged
    #[arg(long)]
    pub locked: bool,
    /// Run without accessing the network
    #[arg(long)]
    pub offline: bool,
    /// Equivalent to specifying both --locked and --offline
    #[arg(long)]
    pub frozen: bool,
    /// Override a configuration value
    #[arg(long, value_name = "KEY=VALUE|PATH", help_heading = None::<&str>, display_order = 903)]
    pub config: Vec<String>,
}

/// cargo's flags for the build that verifies each package, as `cargo
/// publish` takes them.
#[derive(Debug, Clone, clap::Args)]
pub struct BuildArgs {
    #[command(flatten)]
    features: FeatureArgs,
    #[command(flatten)]
    compilation: CompilationArgs,
}

impl BuildArgs {
    fn flags(&self) -> CompileFlags {
        CompileFlags {
            features: self.features.features.clone(),
            all_features: self.features.all_features,
            no_default_features: self.features.no_default_features,
            jobs: self.compilation.jobs.clone(),
            keep_going: self.compilation.keep_going,
            targets: self.compilation.target.clone(),
        }
    }
}

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Feature Selection")]
struct FeatureArgs {
    /// Space or comma separated list of features to activate
    #[arg(short = 'F', long, value_name = "FEATURES")]
    features: Vec<String>,
    /// Activate all available features
    #[arg(long)]
    all_features: bool,
    /// Do not activate the `default` feature
    #[arg(long)]
    no_default_features: bool,
}

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Compilation Options")]
struct CompilationArgs {
    /// Number of parallel jobs, defaults to # of CPUs.
    #[arg(short, long, value_name = "N", allow_hyphen_values = true, value_parser = parse_jobs)]
    jobs: Option<String>,
    /// Do not abort the build as soon as there is an error
    #[arg(long)]
    keep_going: bool,
    /// Build for the target triple
    #[arg(long, value_name = "TRIPLE")]
    target: Vec<String>,
    /// Directory for all generated artifacts
    #[arg(long, value_name = "DIRECTORY")]
    target_dir: Option<PathBuf>,
}

/// `-j N` as cargo reads it: a whole number other than 0 (a negative one
/// counts down from the CPUs), or `default`. Checked here, before anything
/// starts; cargo would say so only when verification builds.
fn parse_jobs(text: &str) -> Result<String, String> {
    match text.parse::<i32>() {
        Ok(0) => Err("jobs may not be 0".into()),
        Ok(_) => Ok(text.to_owned()),
        Err(_) if text == "default" => Ok(text.to_owned()),
        Err(_) => Err(format!(
            "could not parse `{text}`. Number of parallel jobs should be `default` or a number."
        )),
    }
}

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Package Selection")]
pub struct PackageArgs {
    /// Package(s) to publish; the workspace members they need come along
    #[arg(short, long = "package", value_name = "SPEC")]
    pub packages: Vec<String>,
    /// Publish all packages in the workspace (the default)
    #[arg(long, conflicts_with = "packages")]
    pub workspace: bool,
    /// Exclude packages from the release
    #[arg(long, value_name = "SPEC")]
    pub exclude: Vec<String>,
}

impl PackageArgs {
    pub fn selection(&self) -> Selection {
        Selection {
            packages: self.packages.clone(),
            exclude: self.exclude.clone(),
        }
    }
}

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Registry Options")]
pub struct RegistryArgs {
    /// Registry to publish to
    #[arg(long, value_name = "REGISTRY", conflicts_with = "index")]
    pub registry: Option<String>,
    /// Registry index URL to publish to
    #[arg(long, value_name = "INDEX")]
    pub index: Option<String>,
}

impl RegistryArgs {
    pub fn target(&self) -> TargetChoice {
        match (&self.registry, &self.index) {
            (Some(name), _) => TargetChoice::Registry(name.clone()),
            (None, Some(url)) => TargetChoice::Index(url.clone()),
            (None, None) => TargetChoice::Default,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum MessageFormat {
    #[default]
    Human,
    Json,
}

/// Trusted publishing (OIDC), for the commands that send tokens.
#[derive(Debug, Clone, clap::Args)]
pub struct TrustedArgs {
    /// Get the registry token by trusted publishing (OIDC): `auto` uses it when a CI provider
    /// (GitHub Actions, GitLab CI) offers an ID token and no token is configured
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = TrustedArg::Auto,
          num_args = 0..=1, default_missing_value = "on")]
    pub trusted_publishing: TrustedArg,
    /// GitLab CI: the variable holding the job's ID token (an `id_tokens:` entry)
    #[arg(long, value_name = "VAR", default_value = ops::GITLAB_ID_TOKEN_VAR)]
    pub oidc_token_var: String,
    /// Lifetime of a token minted by trusted publishing, in seconds, 1 to 604800 (crates.io:
    /// 1800); it is renewed a safety margin before it ends
    #[arg(long, value_name = "SECS", default_value_t = 1800,
          value_parser = clap::value_parser!(u64).range(1..=604_800))]
    pub token_lifetime: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TrustedArg {
    On,
    Off,
    Auto,
}

impl TrustedArg {
    pub fn mode(self) -> ops::TrustedMode {
        match self {
            TrustedArg::On => ops::TrustedMode::On,
            TrustedArg::Off => ops::TrustedMode::Off,
            TrustedArg::Auto => ops::TrustedMode::Auto,
        }
    }
}

impl TrustedArgs {
    pub fn ci(&self) -> ops::CiOpts {
        ops::CiOpts {
            trusted: self.trusted_publishing.mode(),
            oidc_token_var: self.oidc_token_var.clone(),
            token_lifetime: Duration::from_secs(self.token_lifetime),
            stop_after: None,
        }
    }
}

/// The longest wait a `SECS` flag takes (`--confirm-timeout`): a week, as
/// `--token-lifetime`; nothing derived from it can overflow an instant.
pub const MAX_WAIT_SECS: u64 = 604_800;

/// The longest `MS` a test knob takes (retry delay, poll interval,
/// `registry serve` latencies): an hour.
pub const MAX_TEST_MS: u64 = 3_600_000;

/// The longest `--stop-after`: 8784h (366 days), beyond any CI job's limit.
pub const MAX_STOP_AFTER_SECS: u64 = 366 * 86_400;

/// `5h30m`, `90m`, `45s`, `2h`: numbers each followed by `h`, `m` or `s`;
/// at most [`MAX_STOP_AFTER_SECS`].
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration; write it like `5h30m`, `90m` or `45s`");
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.trim().chars() {
        match c {
            '0'..='9' => number.push(c),
            'h' | 'm' | 's' if !number.is_empty() => {
                let n: u64 = number.parse().map_err(|_| bad())?;
                let unit = match c {
                    'h' => 3600,
                    'm' => 60,
                    _ => 1,
                };
                total = n
                    .checked_mul(unit)
                    .and_then(|v| total.checked_add(v))
                    .ok_or_else(bad)?;
                number.clear();
            }
            _ => return Err(bad()),
        }
    }
    if !number.is_empty() {
        return Err(bad());
    }
    if total == 0 {
        return Err(format!(
            "`{text}` is no time at all; give a duration above zero, like `90m`"
        ));
    }
    if total > MAX_STOP_AFTER_SECS {
        return Err(format!(
            "`{text}` is longer than {}h (366 days), the longest this takes",
            MAX_STOP_AFTER_SECS / 3600
        ));
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_ci_writes_them() {
        assert_eq!(
            parse_duration("5h30m"),
            Ok(Duration::from_secs(5 * 3600 + 1800))
        );
        assert_eq!(parse_duration("90m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("45s"), Ok(Duration::from_secs(45)));
        assert_eq!(
            parse_duration("8784h"),
            Ok(Duration::from_secs(366 * 86_400))
        );
        for bad in [
            "",
            "5",
            "h",
            "5x",
            "0s",
            "-1m",
            "1.5h",
            "8785h",
            "5124095576030431h",
            "18446744073709551615s",
            "99999999999999999999s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
