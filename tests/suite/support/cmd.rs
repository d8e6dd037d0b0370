//! The `cargo shipper …` command line of a test, built in one place: the
//! subcommand with the flags every test of it passes (`publish --registry
//! local --allow-dirty`, …), fast retry and confirmation pacing, the
//! registry's token the way cargo reads it (or a GitHub Actions job's
//! trusted publishing), and a hermetic environment.
//! Tests add their own arguments and variables, then either `run` it (the
//! token scan included) or take the std `Command` to spawn and signal.

use std::ffi::{OsStr, OsString};
use std::process::Command;

use super::{Fixture, OFFLINE, Run, TestRegistry, TrustedSetup, assert_no_secret, assert_no_token};

/// What the run authenticates with; `run` scans for its secrets.
enum Credentials<'a> {
    None,
    /// The registry's token as `CARGO_REGISTRIES_LOCAL_TOKEN`.
    Token(&'a TestRegistry),
    /// No token configured; ID tokens from the setup's provider.
    Trusted(&'a TrustedSetup),
}

/// Retry delay and confirmation poll, in milliseconds, of every test run
/// unless it asks for real delays.
const FAST_RETRY_DELAY_MS: u64 = 20;
const FAST_CONFIRM_POLL_MS: u64 = 20;

/// One `cargo shipper` run being put together. Arguments come out in this
/// order: the subcommand and its standard flags, the pacing flags, then
/// what the test added (snapshots record the command line).
#[must_use]
pub struct ShipperCmd<'a> {
    fx: &'a Fixture,
    credentials: Credentials<'a>,
    head: Vec<OsString>,
    retry_delay_ms: Option<u64>,
    confirm_poll_ms: Option<u64>,
    args: Vec<OsString>,
    env: Vec<(OsString, Option<OsString>)>,
}

impl Fixture {
    /// `cargo shipper <head…>` with fast pacing and no token; the base of
    /// the constructors below, and of runs with another subcommand.
    pub fn cmd<S: AsRef<OsStr>>(&self, head: impl IntoIterator<Item = S>) -> ShipperCmd<'_> {
        ShipperCmd {
            fx: self,
            credentials: Credentials::None,
            head: head.into_iter().map(|s| s.as_ref().to_owned()).collect(),
            retry_delay_ms: Some(FAST_RETRY_DELAY_MS),
            confirm_poll_ms: Some(FAST_CONFIRM_POLL_MS),
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    /// `publish --registry local --allow-dirty` with `registry`'s token.
    pub fn publish_cmd<'a>(&'a self, registry: &'a TestRegistry) -> ShipperCmd<'a> {
        self.cmd(["publish", "--registry", "local", "--allow-dirty"])
            .token(registry)
    }

    /// `resume` with `registry`'s token.
    pub fn resume_cmd<'a>(&'a self, registry: &'a TestRegistry) -> ShipperCmd<'a> {
        self.cmd(["resume"]).token(registry)
    }

    /// `yank` with `registry`'s token (the test names the plan).
    pub fn yank_cmd<'a>(&'a self, registry: &'a TestRegistry) -> ShipperCmd<'a> {
        self.cmd(["yank"]).token(registry)
    }

    /// `rehearse --allow-dirty`, offline (no live target to ask unless the
    /// fixture names one on loopback) and with no token at all.
    pub fn rehearse_cmd(&self) -> ShipperCmd<'_> {
        self.cmd(["rehearse", "--allow-dirty"])
            .env_remove("CARGO_REGISTRY_TOKEN")
            .envs(OFFLINE)
    }
}

impl<'a> ShipperCmd<'a> {
    /// `registry`'s token as `CARGO_REGISTRIES_LOCAL_TOKEN`; `run` then
    /// asserts it shows in no output and no file under `.shipper/`.
    pub fn token(mut self, registry: &'a TestRegistry) -> Self {
        self.credentials = Credentials::Token(registry);
        self
    }

    /// A GitHub Actions job that may mint ID tokens from `setup`'s provider,
    /// with no registry token configured (this replaces `token`); `run` then asserts no secret of
    /// the setup shows in its output or under `.shipper/`.
    pub fn trusted(mut self, setup: &'a TrustedSetup) -> Self {
        self.credentials = Credentials::Trusted(setup);
        self
    }

    /// No pacing flags: the binary's own retry delay and poll interval.
    pub fn no_fast(mut self) -> Self {
        self.retry_delay_ms = None;
        self.confirm_poll_ms = None;
        self
    }

    /// Another retry delay: a long one for a test that must see the run
    /// waiting, `None` for the binary's own (the poll stays fast).
    pub fn retry_delay_ms(mut self, ms: impl Into<Option<u64>>) -> Self {
        self.retry_delay_ms = ms.into();
        self
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<S: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.args
            .extend(args.into_iter().map(|s| s.as_ref().to_owned()));
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        let value = Some(value.as_ref().to_owned());
        self.env.push((key.as_ref().to_owned(), value));
        self
    }

    pub fn envs<K: AsRef<OsStr>, V: AsRef<OsStr>>(
        mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        for (k, v) in vars {
            self = self.env(k, v);
        }
        self
    }

    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.env.push((key.as_ref().to_owned(), None));
        self
    }

    /// The arguments after `cargo-shipper shipper`, in order.
    pub fn argv(&self) -> Vec<OsString> {
        let mut all = self.head.clone();
        let pacing = [
            ("--retry-delay-ms", self.retry_delay_ms),
            ("--confirm-poll-ms", self.confirm_poll_ms),
        ];
        for (flag, ms) in pacing {
            if let Some(ms) = ms {
                all.extend([flag.into(), ms.to_string().into()]);
            }
        }
        all.extend(self.args.iter().cloned());
        all
    }

    /// The std command, for tests that spawn, signal or pipe it themselves
    /// (no token scan: the test runs its own checks).
    pub fn command(&self) -> Command {
        let argv = self.argv();
        let words: Vec<&str> = argv.iter().filter_map(|a| a.to_str()).collect();
        super::lanes::share_if_compiling(&words);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cargo-shipper"));
        cmd.arg("shipper")
            .args(&argv)
            .current_dir(self.fx.root())
            .env("CARGO_HOME", self.fx.cargo_home())
            .env("NO_COLOR", "1")
            .env("RUSTC", super::toolchain_rustc())
            .env("TMPDIR", super::scratch())
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("GITHUB_STEP_SUMMARY");
        match self.credentials {
            Credentials::None => {}
            Credentials::Token(registry) => {
                cmd.env("CARGO_REGISTRIES_LOCAL_TOKEN", registry.registry.token());
            }
            Credentials::Trusted(setup) => {
                let provider = &setup.provider;
                cmd.env("ACTIONS_ID_TOKEN_REQUEST_URL", provider.request_url())
                    .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", provider.request_token())
                    .env_remove("CARGO_REGISTRIES_LOCAL_TOKEN")
                    .env_remove("CARGO_REGISTRY_TOKEN")
                    .env_remove("CRATES_IO_ID_TOKEN");
            }
        }
        for (key, value) in &self.env {
            match value {
                Some(value) => cmd.env(key, value),
                None => cmd.env_remove(key),
            };
        }
        cmd
    }

    /// Run to the end; with credentials, assert they leaked nowhere.
    pub fn run(self) -> Run {
        let run = Run(self.command().output().expect("run cargo-shipper"));
        match self.credentials {
            Credentials::None => {}
            Credentials::Token(registry) => assert_no_token(self.fx, registry, &[&run]),
            Credentials::Trusted(setup) => assert_no_secret(self.fx, setup, &[&run]),
        }
        run
    }
}
