//! What people see: the human output of each command on the demo workspace
//! (`examples/demo-workspace`) against the real embedded registry, at the
//! default verbosity and with `-v`, as transcripts under
//! `tests/suite/snapshots/output/` (`SNAPSHOTS=overwrite cargo test --test suite output::`
//! rewrites them after a deliberate change). Timings, paths, ports and
//! hashes are normalised. The default rehearsal is also the example under
//! "What you see" in `docs/how-to/rehearse.md`, compared line by line.
//!
//! Uploads run one at a time (`--uploads-in-flight 1`) and cargo builds one crate at a
//! time (`CARGO_BUILD_JOBS=1`): the lines are the same at any width, their
//! order is not.

use std::path::Path;

use crate::support::{Fixture, Run, TestRegistry, demo_workspace};
use regex::Regex;

/// A transcript: each command, its exit code, then what it printed.
struct Transcript<'a> {
    fx: &'a Fixture,
    registry: &'a TestRegistry,
    text: String,
}

impl<'a> Transcript<'a> {
    fn new(fx: &'a Fixture, registry: &'a TestRegistry) -> Self {
        Transcript {
            fx,
            registry,
            text: String::new(),
        }
    }

    /// Run `cargo shipper <args>` and add it; returns the run.
    fn run(&mut self, args: &[&str]) -> Run {
        self.run_env(args, &[])
    }

    /// The same, with more environment.
    fn run_env(&mut self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut env = env.to_vec();
        env.push(("CARGO_BUILD_JOBS", "1"));
        let run = self.fx.shipper_env(self.registry, args, &env);
        self.add(args, &run);
        run
    }

    fn add(&mut self, args: &[&str], run: &Run) {
        self.text.push_str(&format!(
            "$ cargo shipper {}\n[exit {}]\n",
            args.join(" "),
            run.code()
        ));
        for (name, text) in [("stdout", run.stdout()), ("stderr", run.stderr())] {
            if !text.is_empty() {
                self.text.push_str(&format!("--- {name}\n"));
                self.text
                    .push_str(&normalise(&text, self.fx, self.registry));
            }
        }
        self.text.push('\n');
    }

    fn assert_matches(&self, snapshot: snapbox::Data) {
        snapbox::assert_data_eq!(self.text.clone(), snapshot);
    }
}

/// Output that does not change from run to run: the fixture's and the
/// registry's directories, ports, times, hashes and plan ids replaced by
/// placeholders, and each crate's confirmation moved under its upload
/// (index polls finish in any order against the next upload).
fn normalise(text: &str, fx: &Fixture, registry: &TestRegistry) -> String {
    let mut text = text.to_owned();
    for (dir, name) in [
        (fx.root(), "[ROOT]"),
        (fx.cargo_home(), "[CARGO_HOME]"),
        (registry.root().to_owned(), "[REGISTRY]"),
    ] {
        for spelling in [dir.clone(), dir.canonicalize().unwrap_or(dir)] {
            text = text.replace(spelling.to_str().unwrap(), name);
        }
    }
    normalise_text(&text)
}

/// The fixture-independent part of [`normalise`] (the docs' example goes
/// through it too).
fn normalise_text(text: &str) -> String {
    let rules: &[(&str, &str)] = &[
        // The system's temporary directory (a rehearsal's registry, a
        // consumer crate).
        (r"(/tmp|/var/folders)/[^\s`'()]+", "[TMP]"),
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
        (r"\b\d{13}\b", "[MS]"),
        (r"\b[0-9a-f]{12,64}\b", "[HASH]"),
        (r"-[0-9a-f]{16}\b", "-[HASH]"),
        (r"shipper-overlay-\d+", "shipper-overlay-[PID]"),
        (r"\b\d\d:\d\d:\d\d UTC\b", "[CLOCK]"),
        (r"\b\d+m\d\ds\b", "[TIME]"),
        (r"\b\d+(\.\d+)?(ms|s)\b", "[TIME]"),
        // cargo's compiler command lines (flags vary with the toolchain).
        (r"(?m)^(\s+Running) `.*`$", "$1 `[RUSTC]`"),
        // cargo's reasons to rebuild (file times).
        (r"(?m)^\s+Dirty .*\n", ""),
    ];
    let mut text = text.to_owned();
    for (pattern, with) in rules {
        text = Regex::new(pattern)
            .unwrap()
            .replace_all(&text, *with)
            .into_owned();
    }
    cargo_units_sorted(&confirmations_under_uploads(&text))
}

/// Sort each run of cargo's `Downloaded`/`Compiling`/`Checking`/`Fresh`
/// lines (a unit with its `Running` line): what is ready at once is
/// fetched and built in any order.
fn cargo_units_sorted(text: &str) -> String {
    let is_unit = |l: &str| {
        [
            "   Compiling ",
            "    Checking ",
            "       Fresh ",
            "  Downloaded ",
        ]
        .iter()
        .any(|verb| l.starts_with(verb))
    };
    let mut out: Vec<String> = Vec::new();
    let mut units: Vec<String> = Vec::new();
    // Downloads first, then the builds by crate name.
    let flush = |units: &mut Vec<String>, out: &mut Vec<String>| {
        units.sort_by_key(|u| {
            let mut words = u.split_whitespace();
            let verb = words.next().unwrap_or_default();
            (
                verb != "Downloaded",
                words.next().unwrap_or_default().to_owned(),
            )
        });
        out.append(units);
    };
    for line in text.lines() {
        if is_unit(line) {
            units.push(line.to_owned());
        } else if line.starts_with("     Running ") && !units.is_empty() {
            let last = units.last_mut().unwrap();
            last.push('\n');
            last.push_str(line);
        } else {
            flush(&mut units, &mut out);
            out.push(line.to_owned());
        }
    }
    flush(&mut units, &mut out);
    let mut joined = out.join("\n");
    if text.ends_with('\n') {
        joined.push('\n');
    }
    joined
}

/// Move each `Published NAME VERSION` line right under the `Uploaded NAME
/// VERSION` line it confirms.
fn confirmations_under_uploads(text: &str) -> String {
    let key = |line: &str, verb: &str| {
        let rest = line.trim_start().strip_prefix(verb)?;
        let mut words = rest.split_whitespace();
        Some(format!("{} {}", words.next()?, words.next()?))
    };
    let mut lines: Vec<&str> = text.lines().collect();
    let published: Vec<(usize, String)> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| Some((i, key(l, "Published ")?)))
        .collect();
    for (_, crate_at) in published {
        let Some(from) = lines
            .iter()
            .position(|l| key(l, "Published ").as_ref() == Some(&crate_at))
        else {
            continue;
        };
        let Some(upload) = lines
            .iter()
            .position(|l| key(l, "Uploaded ").as_ref() == Some(&crate_at))
        else {
            continue;
        };
        let line = lines.remove(from);
        let upload = if from < upload { upload - 1 } else { upload };
        lines.insert(upload + 1, line);
    }
    let mut out = lines.join("\n");
    if text.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// A demo workspace whose crates.io is `registry` (named `local`).
fn demo(registry: &TestRegistry) -> Fixture {
    let fx = demo_workspace();
    fx.use_registry(registry);
    fx
}

const PUBLISH: &[&str] = &[
    "publish",
    "--registry",
    "local",
    "--allow-dirty",
    "--uploads-in-flight",
    "1",
    "--retry-delay-ms",
    "20",
    "--confirm-poll-ms",
    "20",
];

/// Before a release: the plan, the preflight and the status, each at both
/// verbosities.
#[test]
fn plan_preflight_and_status_before_a_release() {
    let registry = TestRegistry::start();
    let fx = demo(&registry);
    let mut t = Transcript::new(&fx, &registry);
    for verbose in [false, true] {
        let v: &[&str] = if verbose { &["-v"] } else { &[] };
        t.run(&[&["plan", "--registry", "local"], v].concat());
        t.run(&[&["preflight", "--registry", "local", "--allow-dirty"], v].concat());
        t.run(&[&["status", "--registry", "local"], v].concat());
    }
    // No token: blocked, and cargo's two-line message keeps its indentation.
    let args = ["preflight", "--registry", "local", "--allow-dirty"];
    let run = fx.shipper(&args);
    assert_eq!(run.code(), 7, "{}", run.stderr());
    t.add(&args, &run);
    t.assert_matches(snapbox::file!["snapshots/output/before_release.txt"]);
}

/// A release and what follows it: status, a yank plan, the yank and its
/// undo, and a fix-forward, each at both verbosities.
#[test]
fn publish_then_status_yank_and_fix_forward() {
    let registry = TestRegistry::start();
    let fx = demo(&registry);
    let mut t = Transcript::new(&fx, &registry);
    t.run(PUBLISH).ok();
    for verbose in [false, true] {
        let v: &[&str] = if verbose { &["-v"] } else { &[] };
        t.run(&[&["status", "--registry", "local"], v].concat());
        t.run(
            &[
                &[
                    "plan-yank",
                    "--from-receipt",
                    "latest",
                    "--output",
                    "yank.json",
                ],
                v,
            ]
            .concat(),
        );
        t.run(&[&["yank", "--plan", "yank.json"], v].concat());
        t.run(&[&["yank", "--plan", "yank.json", "--undo"], v].concat());
        t.run(
            &[
                &[
                    "fix-forward",
                    "--from-receipt",
                    "latest",
                    "--starting-crate",
                    "shipper-demo-app",
                ],
                v,
            ]
            .concat(),
        );
    }
    t.assert_matches(snapbox::file!["snapshots/output/after_release.txt"]);
}

/// `publish -v`: cargo's own packaging and verification lines too; then a
/// second run, which has nothing to upload.
#[test]
fn publish_verbose_then_again() {
    let registry = TestRegistry::start();
    let fx = demo(&registry);
    let mut t = Transcript::new(&fx, &registry);
    t.run(&[PUBLISH, &["-v"]].concat()).ok();
    t.run(PUBLISH).ok();
    t.assert_matches(snapbox::file!["snapshots/output/publish_verbose.txt"]);
}

/// A stop by `--stop-after` says "Stopped" once, and how the run continues
/// (one second is over before packaging and verification are, each rustc
/// call made half a second slower: nothing out, however fast the machine).
#[cfg(unix)]
#[test]
fn a_stop_after_says_how_to_continue() {
    use std::os::unix::fs::PermissionsExt as _;

    let registry = TestRegistry::start();
    let fx = demo(&registry);
    let wrapper = fx.root().join("slow-rustc.sh");
    std::fs::write(&wrapper, "#!/bin/sh\nsleep 0.5\nexec \"$@\"\n").unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut t = Transcript::new(&fx, &registry);
    let run = t.run_env(
        &[PUBLISH, &["--stop-after", "1s"]].concat(),
        &[("RUSTC_WRAPPER", wrapper.to_str().unwrap())],
    );
    assert_eq!(run.code(), 8, "{}", run.stderr());
    t.assert_matches(snapbox::file!["snapshots/output/stop_after.txt"]);
}

/// The rehearsal with one crate already on the live target (crates.io,
/// here the test registry standing in for it): the docs' example, and the
/// same with `-v`.
#[test]
fn rehearse_as_the_docs_show_it() {
    let registry = TestRegistry::start();
    let fx = demo(&registry);
    let mut t = Transcript::new(&fx, &registry);
    let core = fx.shipper_env(
        &registry,
        &[PUBLISH, &["--package", "shipper-demo-core"]].concat(),
        &[],
    );
    core.ok();
    let rehearse = ["rehearse", "--allow-dirty", "--uploads-in-flight", "1"];
    let run = fx.shipper_env(&registry, &rehearse, &[("CARGO_BUILD_JOBS", "1")]);
    run.ok();
    let shown = normalise(&run.stderr(), &fx, &registry);
    let documented = normalise_text(&docs_example(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/how-to/rehearse.md"),
        "What you see",
    ));
    // The docs drop `--allow-dirty` (a git checkout needs none).
    let shown = shown.replace(" --allow-dirty", "");
    assert_eq!(
        documented, shown,
        "docs/how-to/rehearse.md's \"What you see\" is not what a rehearsal shows"
    );
    t.run(&[&rehearse[..], &["-v"]].concat()).ok();
    t.assert_matches(snapbox::file!["snapshots/output/rehearse_verbose.txt"]);
}

/// The first ```text block after `marker` in a Markdown file.
fn docs_example(path: impl AsRef<Path>, marker: &str) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let after = &text[text.find(marker).expect("the marker") + marker.len()..];
    let start = after.find("```text\n").expect("a text block") + "```text\n".len();
    let end = after[start..].find("```").expect("the block's end");
    after[start..start + end].to_owned()
}

/// cargo's own output stays out of a default run, except a step that
/// carries a warning: that step's output is shown whole, the compiler's
/// diagnostic with it; the steps without one stay quiet.
#[test]
fn a_warning_from_cargo_shows_at_the_default_verbosity() {
    let registry = TestRegistry::start();
    let fx = demo(&registry);
    fx.file(
        "crates/left/src/lib.rs",
        "//! Left side of the diamond.\n\npub fn left() -> u32 {\n    let unused = 1;\n    shipper_demo_core::base() + 1\n}\n",
    );
    let run = fx.shipper_env(
        &registry,
        &[PUBLISH, &["--dry-run"]].concat(),
        &[("CARGO_BUILD_JOBS", "1")],
    );
    run.ok();
    let err = normalise(&run.stderr(), &fx, &registry);
    // The verification of `left` (its plan level's step) is shown: cargo's
    // lines and the compiler's warning.
    assert!(err.contains("warning: unused variable: `unused`"), "{err}");
    assert!(
        err.contains(
            "   Compiling shipper-demo-left v0.1.0 ([ROOT]/target/package/shipper-demo-left-0.1.0)"
        ),
        "{err}"
    );
    // The other levels' steps said nothing worth showing.
    assert!(!err.contains("Packaging shipper-demo-core"), "{err}");
    assert!(!err.contains("Packaging shipper-demo-app"), "{err}");
    assert!(err.contains("Would upload shipper-demo-cli 0.1.0"), "{err}");
}

/// A `--config` value can hold a secret: the commands our lines suggest
/// never repeat one. A ready preflight names the `publish` it checked, a
/// stopped release the command that continues it, `status` the `publish`
/// that uploads: with the run's registry and flags, never `--config`
/// (here a file with the registry token, and an `[env]` value).
#[test]
fn suggested_commands_never_echo_config_values() {
    // Each upload takes 1.5 s: `--stop-after 1s` stops the release at its
    // first upload at the latest.
    let registry = TestRegistry::start_with_knobs(|k| {
        k.upload_latency = std::time::Duration::from_millis(1500)
    });
    let fx = demo(&registry);
    let token = registry.registry.token().to_owned();
    // cargo takes a token from a `--config` file, not from `KEY=VALUE`.
    fx.file(
        "secret-config.toml",
        &format!("[registries.local]\ntoken = \"{token}\"\n"),
    );
    let secret = "env.SHIPPER_DEMO_SECRET=\"not-for-output-3141\"";
    let config: &[&str] = &["--config", "secret-config.toml", "--config", secret];
    // `fx.shipper`: no token in the environment, only the one in the file.
    let preflight = fx.shipper(
        &[
            &["preflight", "--registry", "local", "--allow-dirty"],
            config,
        ]
        .concat(),
    );
    assert_eq!(preflight.code(), 0, "{}", preflight.stderr());
    assert!(
        preflight
            .stdout()
            .contains("\nNext: `cargo shipper publish --registry local --allow-dirty`\n"),
        "{}",
        preflight.stdout()
    );
    let status = fx.shipper(&[&["status", "--registry", "local"], config].concat());
    assert!(
        status
            .stdout()
            .contains("Next: `cargo shipper publish --registry local` will upload 6 crates"),
        "{}",
        status.stdout()
    );
    let stopped = fx.shipper(&[PUBLISH, config, &["--stop-after", "1s"]].concat());
    assert_eq!(stopped.code(), 8, "{}", stopped.stderr());
    assert!(
        stopped
            .stderr()
            .contains("`cargo shipper publish --registry local --allow-dirty` continues it"),
        "{}",
        stopped.stderr()
    );
    for run in [&preflight, &status, &stopped] {
        for text in [run.stdout(), run.stderr()] {
            for leak in [
                token.as_str(),
                "not-for-output-3141",
                "secret-config",
                "--config",
            ] {
                assert!(!text.contains(leak), "`{leak}` in:\n{text}");
            }
        }
    }
}

/// A workspace that requires a rehearsal: a ready preflight points at the
/// `rehearse` that `publish` would ask for first, then, once one of this
/// plan passed, at the `publish`. Each works as printed.
#[test]
fn a_ready_preflight_names_the_rehearsal_a_workspace_requires() {
    let registry = TestRegistry::start();
    let fx = demo(&registry);
    let manifest = std::fs::read_to_string(fx.root().join("Cargo.toml")).unwrap();
    fx.file(
        "Cargo.toml",
        &format!("{manifest}\n[workspace.metadata.shipper]\nrequire-rehearsal = true\n"),
    );
    let preflight = ["preflight", "--registry", "local", "--allow-dirty"];
    let next = |run: &crate::support::Run| {
        run.ok()
            .lines()
            .find_map(|l| l.strip_prefix("Next: `"))
            .and_then(|l| l.split_once('`'))
            .map(|(cmd, _)| cmd.to_owned())
            .expect("a Next line")
    };
    let rehearse = next(&fx.shipper_env(&registry, &preflight, &[]));
    assert_eq!(
        rehearse,
        "cargo shipper rehearse --for-registry local --allow-dirty"
    );
    let args: Vec<&str> = rehearse.split(' ').skip(2).collect();
    fx.shipper_env(&registry, &args, &[]).ok();
    let publish = next(&fx.shipper_env(&registry, &preflight, &[]));
    assert_eq!(
        publish,
        "cargo shipper publish --registry local --allow-dirty"
    );
    let args: Vec<&str> = publish.split(' ').skip(2).collect();
    fx.shipper_env(&registry, &args, &[]).ok();
    assert_eq!(registry.registry.upload_counts().requests, 6);
}
