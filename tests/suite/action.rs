//! The GitHub Action's shell steps (`scripts/action/install.sh` and
//! `scripts/action/run.sh`, which `action.yml` calls) in a fake GitHub
//! Actions environment: `GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`,
//! `GITHUB_PATH`, `RUNNER_TEMP`, and the OIDC request variables pointing at
//! `registry serve --trusted-publishing` with its test provider. A two-job
//! release: the first job stops with `--stop-after`, its state directory is
//! carried to a second job on another checkout as the artifact would carry
//! it, and the second job finishes; checked from the registry's side, the
//! journal's and the step outputs'. The install step's other ways (a release
//! download checked against its sha256, a build with `cargo install`) run
//! against a fake release directory and a fake `cargo`; its cache key
//! (`install.sh resolve`) follows the sources; and the archive name agrees
//! across `[package.metadata.binstall]`, the release workflow and the
//! install step.

use crate::support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::support::{DEMO_CRATES, Fixture, Run, demo_workspace, http};

const BIN: &str = env!("CARGO_BIN_EXE_cargo-shipper");

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts/action")
        .join(name)
}

/// A running `registry serve`, stopped (SIGINT) when dropped.
struct Served {
    child: Child,
    started: serde_json::Value,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Served {
    fn start(root: &Path, file: &Path, extra: &[&str]) -> Served {
        let mut child = Command::new(BIN)
            .args(["shipper", "registry", "serve", "--message-format", "json"])
            .arg("--root")
            .arg(root)
            .arg("--trusted-publishing")
            .arg(file)
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let started = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        Served { child, started }
    }

    fn str(&self, pointer: &str) -> String {
        self.started
            .pointer(pointer)
            .and_then(|v| v.as_str())
            .unwrap_or_else(|| panic!("{pointer} in {}", self.started))
            .to_owned()
    }

    /// The lines (versions) of `name`'s sparse index file.
    fn index_lines(&self, name: &str) -> Vec<serde_json::Value> {
        let path = match name.len() {
            1 => format!("1/{name}"),
            2 => format!("2/{name}"),
            3 => format!("3/{}/{name}", &name[..1]),
            _ => format!("{}/{}/{name}", &name[..2], &name[2..4]),
        };
        let reply = http(
            "GET",
            &format!("{}/index/{path}", self.str("/api")),
            &[],
            &[],
        )
        .unwrap();
        assert_eq!(reply.status, 200, "{name}: {}", reply.text());
        reply
            .text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// One job of a fake GitHub Actions run: its runner's files, and each step's
/// own `GITHUB_OUTPUT`.
struct Job {
    dir: tempfile::TempDir,
    /// Environment every step of the job sees.
    env: Vec<(String, String)>,
    /// stdout and stderr of every step, to look for secrets in.
    logs: String,
}

impl Job {
    fn new(env: &[(&str, &str)]) -> Job {
        let dir = tempfile::Builder::new()
            .prefix("shipper-gh-job-")
            .tempdir()
            .unwrap();
        std::fs::create_dir_all(dir.path().join("runner-temp")).unwrap();
        Job {
            dir,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            logs: String::new(),
        }
    }

    fn summary_path(&self) -> PathBuf {
        self.dir.path().join("step-summary.md")
    }

    fn summary(&self) -> String {
        std::fs::read_to_string(self.summary_path()).unwrap_or_default()
    }

    fn path_file(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("path")).unwrap_or_default()
    }

    /// Run a step: `bash <script>` in `cwd` with the step's `env`; its exit
    /// code and outputs.
    fn step(
        &mut self,
        id: &str,
        script: &Path,
        cwd: &Path,
        env: &[(&str, &str)],
    ) -> (Run, BTreeMap<String, String>) {
        let output_file = self.dir.path().join(format!("output-{id}"));
        let mut cmd = Command::new("bash");
        cmd.arg(script).current_dir(cwd);
        for var in [
            "CARGO_REGISTRY_TOKEN",
            "CARGO_REGISTRIES_SHIPPER_LOCAL_TOKEN",
            "CRATES_IO_ID_TOKEN",
            "CARGO_TARGET_DIR",
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            "RUNNER_OS",
            "RUNNER_ARCH",
            "SHIPPER_FAILPOINT",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("GITHUB_ACTIONS", "true")
            .env("GITHUB_OUTPUT", &output_file)
            .env("GITHUB_STEP_SUMMARY", self.summary_path())
            .env("GITHUB_PATH", self.dir.path().join("path"))
            .env("RUNNER_TEMP", self.dir.path().join("runner-temp"))
            .env("NO_COLOR", "1");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let run = Run(cmd.output().unwrap());
        self.logs.push_str(&run.stdout());
        self.logs.push_str(&run.stderr());
        let outputs = std::fs::read_to_string(&output_file)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        (run, outputs)
    }
}

/// The state directory's files, as the artifact would carry them.
fn carry(from: &Path, to: &Path) {
    let artifact = tempfile::tempdir().unwrap();
    support::copy_tree(from, artifact.path());
    support::copy_tree(artifact.path(), to);
}

fn assert_no_secret(what: &str, hay: &[u8], secrets: &[&str]) {
    for secret in secrets {
        let s = secret.as_bytes();
        assert!(
            !hay.windows(s.len()).any(|w| w == s),
            "a secret (`{}…`) in {what}",
            &secret[..secret.len().min(7)]
        );
    }
}

const PUBLISH_ARGS: &str = "--registry shipper-local --allow-dirty --no-verify \
                            --retry-delay-ms 20 --confirm-poll-ms 20";

#[test]
fn a_two_job_release_through_the_action_steps_stops_then_finishes_each_crate_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("trusted.toml");
    let mut text = "token-lifetime = 60\nallow-new-crates = true\n\n[provider]\n\
                    repository = \"example/demo\"\nworkflow = \"release.yml\"\n\n"
        .to_owned();
    for c in DEMO_CRATES {
        text.push_str(&format!(
            "[[crate]]\nname = \"{c}\"\nrepository = \"example/demo\"\nworkflow = \"release.yml\"\n"
        ));
    }
    std::fs::write(&file, text).unwrap();
    let served = Served::start(
        &dir.path().join("registry"),
        &file,
        &["--upload-latency-ms", "2000"],
    );
    let request_url =
        served.str("/trusted_publishing/oidc_provider/env/ACTIONS_ID_TOKEN_REQUEST_URL");
    let request_token =
        served.str("/trusted_publishing/oidc_provider/env/ACTIONS_ID_TOKEN_REQUEST_TOKEN");
    let registry_token = served.str("/token");
    let cargo_config = served.str("/cargo_config");
    // Minted tokens start so (as crates.io's do); none may leak.
    let secrets = ["cio_tp_", request_token.as_str(), registry_token.as_str()];

    let job_env = |fx: &Fixture| {
        vec![
            ("CARGO_HOME".to_owned(), support::path_str(&fx.cargo_home())),
            (
                "ACTIONS_ID_TOKEN_REQUEST_URL".to_owned(),
                request_url.clone(),
            ),
            (
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN".to_owned(),
                request_token.clone(),
            ),
        ]
    };
    let as_refs = |v: &[(String, String)]| -> Vec<(String, String)> { v.to_vec() };

    // Job 1, on one runner.
    let first = demo_workspace();
    first.cargo_config(&cargo_config);
    let env = as_refs(&job_env(&first));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut job1 = Job::new(&env);
    let (install, out) = job1.step(
        "install",
        &script("install.sh"),
        &first.root(),
        &[("SHIPPER_BINARY", BIN)],
    );
    assert_eq!(install.code(), 0, "{}", install.stderr());
    assert_eq!(out["bin"], BIN);
    assert_eq!(out["source"], "binary");
    assert_eq!(
        job1.path_file().trim(),
        Path::new(BIN).parent().unwrap().to_str().unwrap()
    );
    let bin = out["bin"].clone();
    // One upload at a time, 2 s each: six take 12 s and more, so a stop
    // after 10 s always comes with some crates out and some not.
    let args = format!("{PUBLISH_ARGS} --uploads-in-flight 1 --stop-after 10s");
    let (run, out) = job1.step(
        "publish",
        &script("run.sh"),
        &first.root(),
        &[
            ("SHIPPER_BIN", &bin),
            ("SHIPPER_COMMAND", "publish"),
            ("SHIPPER_ARGS", &args),
        ],
    );
    // A stop for later is not a failed step.
    assert_eq!(run.code(), 0, "{}\n{}", run.stdout(), run.stderr());
    assert_eq!(out["verdict"], "stopped-for-later", "{out:?}");
    assert_eq!(out["exit-code"], "8");
    assert_eq!(out["continue"], "true");
    let state1 = first.root().join(".shipper");
    assert_eq!(
        out["receipt"],
        support::path_str(&state1.join("current/receipt.json")),
        "{}",
        run.stderr()
    );
    assert!(Path::new(&out["receipt"]).is_file());
    let summary = job1.summary();
    assert!(
        summary.contains("stopped by `--stop-after`, to be continued"),
        "{summary}"
    );
    assert!(
        summary.contains("**cargo shipper publish**: stopped-for-later (exit 8)"),
        "{summary}"
    );
    let events1 = support::events_in(&state1.join("current"));
    let out_after_job1 = events1.iter().filter(|e| e["kind"] == "visible").count();
    assert!(
        out_after_job1 < DEMO_CRATES.len(),
        "job 1 did not stop early"
    );
    assert!(events1.iter().any(|e| e["kind"] == "token_minted"));

    // The artifact: job 1's state directory, restored on another runner
    // into another checkout of the same commit.
    let second = demo_workspace();
    second.cargo_config(&cargo_config);
    carry(&state1, &second.root().join(".shipper"));
    let env = as_refs(&job_env(&second));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut job2 = Job::new(&env);
    let (install, out) = job2.step(
        "install",
        &script("install.sh"),
        &second.root(),
        &[("SHIPPER_BINARY", BIN)],
    );
    assert_eq!(install.code(), 0, "{}", install.stderr());
    let bin = out["bin"].clone();
    let args = format!("{PUBLISH_ARGS} --uploads-in-flight 4 --stop-after 5m");
    let (run, out) = job2.step(
        "publish",
        &script("run.sh"),
        &second.root(),
        &[
            ("SHIPPER_BIN", &bin),
            ("SHIPPER_COMMAND", "publish"),
            ("SHIPPER_ARGS", &args),
        ],
    );
    assert_eq!(run.code(), 0, "{}\n{}", run.stdout(), run.stderr());
    assert_eq!(out["verdict"], "published", "{out:?}");
    assert_eq!(out["exit-code"], "0");
    assert_eq!(out["continue"], "false");
    let archived = support::archived(&second);
    assert_eq!(
        out["receipt"],
        support::path_str(&archived.join("receipt.json"))
    );
    let receipt: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out["receipt"]).unwrap()).unwrap();
    assert!(receipt.is_object());
    assert!(
        job2.summary()
            .contains("**cargo shipper publish**: published (exit 0)"),
        "{}",
        job2.summary()
    );

    // The registry's side: every crate once, at the version released.
    for name in DEMO_CRATES {
        let lines = served.index_lines(name);
        assert_eq!(lines.len(), 1, "{name}: {lines:?}");
        assert_eq!(lines[0]["vers"], "0.1.0", "{name}");
    }
    // The journal's: one upload each over both jobs, the second continuing
    // the first's run; every minted token revoked.
    let events = support::events_in(&archived);
    for name in DEMO_CRATES {
        assert_eq!(support::count(&events, "upload_started", name), 1, "{name}");
    }
    let kind = |k: &str| events.iter().filter(|e| e["kind"] == k).count();
    assert_eq!(kind("run_started"), 2);
    assert_eq!(kind("token_minted"), 2, "a token in each job");
    assert_eq!(
        kind("token_revoked"),
        kind("token_minted") + kind("token_renewed")
    );

    // No secret in any output, summary, log or state file.
    for job in [&job1, &job2] {
        for entry in std::fs::read_dir(job.dir.path()).unwrap().flatten() {
            if entry.path().is_file() {
                let bytes = std::fs::read(entry.path()).unwrap();
                assert_no_secret(&entry.path().display().to_string(), &bytes, &secrets);
            }
        }
        assert_no_secret("a step's log", job.logs.as_bytes(), &secrets);
    }
    assert_no_secret("job 1's state", &first.state_bytes(), &secrets);
    assert_no_secret("job 2's state", &second.state_bytes(), &secrets);
}

/// A stand-in for a cargo-shipper binary: says it is `version`, records its
/// arguments one a line in `args.txt` beside it, exits `code`.
fn stub_binary(path: &Path, version: &str, code: i32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let log = path.parent().unwrap().join("args.txt");
    std::fs::write(
        path,
        format!(
            "#!/bin/sh\nif [ \"$1 $2\" = \"shipper --version\" ]; then echo \"cargo-shipper {version}\"; exit 0; fi\n\
             for a in \"$@\"; do printf '%s\\n' \"$a\"; done > '{}'\nexit {code}\n",
            log.display()
        ),
    )
    .unwrap();
    let mut perms = std::fs::metadata(path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(path, perms).unwrap();
}

const TARGET: &str = "x86_64-unknown-linux-gnu";

/// A release directory as GitHub serves one: `v<version>/<asset>` and
/// `<asset>.sha256`, the asset holding `cargo-shipper-<target>-v<version>/cargo-shipper`.
fn fake_release(root: &Path, version: &str) -> PathBuf {
    let stage = root.join("stage");
    let inner = format!("cargo-shipper-{TARGET}-v{version}");
    stub_binary(&stage.join(&inner).join("cargo-shipper"), version, 0);
    let dir = root.join("releases").join(format!("v{version}"));
    std::fs::create_dir_all(&dir).unwrap();
    let asset = format!("{inner}.tar.gz");
    let status = Command::new("tar")
        .arg("-czf")
        .arg(dir.join(&asset))
        .arg("-C")
        .arg(&stage)
        .arg(&inner)
        .status()
        .unwrap();
    assert!(status.success());
    let out = Command::new("sha256sum")
        .arg(&asset)
        .current_dir(&dir)
        .output()
        .unwrap();
    std::fs::write(dir.join(format!("{asset}.sha256")), &out.stdout).unwrap();
    dir
}

#[test]
fn the_install_step_takes_the_release_binary_checked_against_its_sha256_then_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let release = fake_release(dir.path(), "7.8.9");
    let releases = format!("file://{}", dir.path().join("releases").display());
    let root = dir.path().join("root");
    let env = [
        ("SHIPPER_RELEASES", releases.as_str()),
        ("SHIPPER_INSTALL_ROOT", root.to_str().unwrap()),
        ("SHIPPER_TARGET", TARGET),
        ("SHIPPER_VERSION", "v7.8.9"),
    ];
    let mut job = Job::new(&[]);
    let (run, out) = job.step("install", &script("install.sh"), dir.path(), &env);
    assert_eq!(run.code(), 0, "{}\n{}", run.stdout(), run.stderr());
    assert_eq!(out["source"], "release");
    assert_eq!(
        out["bin"],
        support::path_str(&root.join("bin/cargo-shipper"))
    );
    assert_eq!(job.path_file().trim(), support::path_str(&root.join("bin")));
    // Installed once, found again (the action's cache restores this root).
    let (run, out) = job.step("again", &script("install.sh"), dir.path(), &env);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(out["source"], "cache");

    // A binary that does not match its published checksum is refused.
    let asset = format!("cargo-shipper-{TARGET}-v7.8.9.tar.gz");
    std::fs::write(
        release.join(format!("{asset}.sha256")),
        format!("{}  {asset}\n", "0".repeat(64)),
    )
    .unwrap();
    let other_root = dir.path().join("other-root");
    let env = [
        ("SHIPPER_RELEASES", releases.as_str()),
        ("SHIPPER_INSTALL_ROOT", other_root.to_str().unwrap()),
        ("SHIPPER_TARGET", TARGET),
        ("SHIPPER_VERSION", "7.8.9"),
    ];
    let (run, out) = job.step("tampered", &script("install.sh"), dir.path(), &env);
    assert_eq!(run.code(), 1);
    assert!(
        run.stderr().contains("does not match its published sha256"),
        "{}",
        run.stderr()
    );
    assert!(!out.contains_key("bin"));
    assert!(!other_root.join("bin/cargo-shipper").exists());
}

#[test]
fn without_a_release_the_install_step_builds_with_cargo_install_locked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("releases")).unwrap();
    let releases = format!("file://{}", dir.path().join("releases").display());
    // A `cargo` that records its arguments and "installs" a stand-in.
    let fake = dir.path().join("fake-cargo");
    std::fs::create_dir_all(&fake).unwrap();
    let log = dir.path().join("cargo-args.txt");
    std::fs::write(
        fake.join("cargo"),
        format!(
            "#!/bin/bash\nprintf '%s\\n' \"$*\" >> '{}'\n\
             while [ $# -gt 0 ]; do case \"$1\" in --root) root=$2; shift;; --version) v=${{2#=}}; shift;; esac; shift; done\n\
             mkdir -p \"$root/bin\"\nprintf '#!/bin/sh\\necho cargo-shipper %s\\n' \"${{v:-{}}}\" > \"$root/bin/cargo-shipper\"\n\
             chmod +x \"$root/bin/cargo-shipper\"\n",
            log.display(),
            env!("CARGO_PKG_VERSION")
        ),
    )
    .unwrap();
    let mut perms = std::fs::metadata(fake.join("cargo")).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(fake.join("cargo"), perms).unwrap();
    let path = format!(
        "{}:{}",
        fake.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let repo = env!("CARGO_MANIFEST_DIR");
    let checkout_version = env!("CARGO_PKG_VERSION");
    let mut job = Job::new(&[("PATH", &path)]);
    for (version, expected) in [
        // The action's own version: built from the action's checkout.
        (
            checkout_version.to_owned(),
            format!(
                "--locked --root {}/root-a --path {repo}",
                dir.path().display()
            ),
        ),
        // Another version: from crates.io, exactly that one.
        (
            "0.0.9".to_owned(),
            format!(
                "--locked --root {}/root-b cargo-shipper --version =0.0.9",
                dir.path().display()
            ),
        ),
    ] {
        let root = if version == "0.0.9" {
            "root-b"
        } else {
            "root-a"
        };
        let root = dir.path().join(root);
        let (run, out) = job.step(
            &format!("install-{version}"),
            &script("install.sh"),
            dir.path(),
            &[
                ("SHIPPER_RELEASES", &releases),
                ("SHIPPER_INSTALL_ROOT", root.to_str().unwrap()),
                ("SHIPPER_TARGET", TARGET),
                ("SHIPPER_VERSION", &version),
                ("SHIPPER_ACTION_PATH", repo),
            ],
        );
        assert_eq!(run.code(), 0, "{}\n{}", run.stdout(), run.stderr());
        assert_eq!(out["source"], "build");
        let calls = std::fs::read_to_string(&log).unwrap();
        assert_eq!(
            calls.lines().last().unwrap(),
            format!("install {expected}"),
            "{calls}"
        );
    }
    // No cargo and no release: a clear error saying what to add.
    let mut job = Job::new(&[("PATH", "/usr/bin:/bin")]);
    let (run, _) = job.step(
        "no-cargo",
        &script("install.sh"),
        dir.path(),
        &[
            ("SHIPPER_RELEASES", &releases),
            (
                "SHIPPER_INSTALL_ROOT",
                dir.path().join("root-c").to_str().unwrap(),
            ),
            ("SHIPPER_TARGET", TARGET),
            ("SHIPPER_VERSION", "0.0.8"),
        ],
    );
    assert_eq!(run.code(), 1);
    assert!(
        run.stderr().contains("add a Rust toolchain step"),
        "{}",
        run.stderr()
    );
}

#[test]
fn the_run_step_passes_arguments_unevaluated_masks_a_token_and_fails_with_the_code() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin/cargo-shipper");
    let recorded = || -> Vec<String> {
        std::fs::read_to_string(dir.path().join("bin/args.txt"))
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    };
    let mut job = Job::new(&[]);

    // A blocked preflight fails the step with its code; no state directory
    // for a command without one.
    stub_binary(&bin, "0.1.0", 7);
    let (run, out) = job.step(
        "preflight",
        &script("run.sh"),
        dir.path(),
        &[
            ("SHIPPER_BIN", bin.to_str().unwrap()),
            ("SHIPPER_COMMAND", "preflight"),
            ("SHIPPER_ARGS", "  --token s3cret-value  -p   $HOME  *  "),
        ],
    );
    assert_eq!(run.code(), 7);
    assert_eq!(out["verdict"], "blocked");
    assert_eq!(out["exit-code"], "7");
    assert_eq!(out["receipt"], "");
    assert_eq!(out["continue"], "false");
    assert_eq!(
        recorded(),
        [
            "shipper",
            "preflight",
            "--token",
            "s3cret-value",
            "-p",
            "$HOME",
            "*"
        ]
    );
    assert!(!job.logs.contains("s3cret-value"), "{}", job.logs);
    assert!(
        run.stdout()
            .contains("cargo shipper preflight --token *** -p $HOME *")
    );
    assert!(!job.summary().contains("s3cret-value"));

    // Several lines: one argument a line, spaces kept; the state directory
    // added for a command that keeps state.
    stub_binary(&bin, "0.1.0", 0);
    let (run, out) = job.step(
        "rehearse",
        &script("run.sh"),
        dir.path(),
        &[
            ("SHIPPER_BIN", bin.to_str().unwrap()),
            ("SHIPPER_COMMAND", "rehearse"),
            (
                "SHIPPER_ARGS",
                "--manifest-path\n  my ws/Cargo.toml  \n\n--token=abc-secret-42\n",
            ),
            ("SHIPPER_STATE_DIR", "state dir"),
        ],
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(out["verdict"], "passed");
    assert_eq!(
        recorded(),
        [
            "shipper",
            "rehearse",
            "--manifest-path",
            "my ws/Cargo.toml",
            "--token=abc-secret-42",
            "--state-dir",
            "state dir"
        ]
    );
    assert!(run.stdout().contains("--token=***"), "{}", run.stdout());
    assert!(!job.logs.contains("abc-secret-42"), "{}", job.logs);

    // An unknown command never reaches the binary.
    std::fs::remove_file(dir.path().join("bin/args.txt")).unwrap();
    let (run, _) = job.step(
        "deploy",
        &script("run.sh"),
        dir.path(),
        &[
            ("SHIPPER_BIN", bin.to_str().unwrap()),
            ("SHIPPER_COMMAND", "deploy"),
        ],
    );
    assert_eq!(run.code(), 2);
    assert!(
        run.stderr()
            .contains("`deploy` is not a command the action runs")
    );
    assert!(!dir.path().join("bin/args.txt").exists());
}

/// `cargo binstall`'s template in Cargo.toml, the archive the release
/// workflow builds and the one the install step downloads name the same
/// file, with the binary at the same place inside.
#[test]
fn binstall_metadata_release_workflow_and_install_step_agree_on_the_archive() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest: toml_edit::DocumentMut = std::fs::read_to_string(root.join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let binstall = &manifest["package"]["metadata"]["binstall"];
    let expand = |template: &str, target: &str| {
        template
            .replace(
                "{ repo }",
                manifest["package"]["repository"].as_str().unwrap(),
            )
            .replace("{ name }", "cargo-shipper")
            .replace("{ bin }", "cargo-shipper")
            .replace("{ version }", "1.2.3")
            .replace("{ target }", target)
            .replace("{ archive-suffix }", ".tar.gz")
            .replace(
                "{ binary-ext }",
                if target.contains("windows") {
                    ".exe"
                } else {
                    ""
                },
            )
    };
    assert_eq!(binstall["pkg-fmt"].as_str(), Some("tgz"));
    let workflow = std::fs::read_to_string(root.join(".github/workflows/release.yml")).unwrap();
    let install = std::fs::read_to_string(script("install.sh")).unwrap();
    assert!(install.contains(
        "releases=${SHIPPER_RELEASES:-https://github.com/cargo-shipper/cargo-shipper/releases/download}"
    ));
    for target in [
        "x86_64-unknown-linux-gnu",
        "aarch64-unknown-linux-gnu",
        "aarch64-apple-darwin",
        "x86_64-pc-windows-msvc",
    ] {
        assert!(workflow.contains(&format!("target: {target}")), "{target}");
        let url = expand(binstall["pkg-url"].as_str().unwrap(), target);
        assert_eq!(
            url,
            format!(
                "https://github.com/cargo-shipper/cargo-shipper/releases/download/v1.2.3/cargo-shipper-{target}-v1.2.3.tar.gz"
            )
        );
        let bin = expand(binstall["bin-dir"].as_str().unwrap(), target);
        let exe = if target.contains("windows") {
            ".exe"
        } else {
            ""
        };
        assert_eq!(
            bin,
            format!("cargo-shipper-{target}-v1.2.3/cargo-shipper{exe}")
        );
    }
    // The workflow's archive: `cargo-shipper-$TARGET-v$VERSION.tar.gz`, the
    // binary inside its directory; the install step's, the same.
    assert!(workflow.contains(r#"name="cargo-shipper-$TARGET-v$VERSION""#));
    assert!(workflow.contains(r#"tar -czf "$name.tar.gz" "$name""#));
    assert!(workflow.contains(r#"echo "${sum%% *}  $name.tar.gz" > "$name.tar.gz.sha256""#));
    assert!(install.contains(r#"local asset="cargo-shipper-$target-v$version.tar.gz""#));
    assert!(install.contains(r#""$tmp/cargo-shipper-$target-v$version/$exe""#));
}

/// `install.sh resolve`, the action's cache key: the version of the
/// action's checkout (or the one asked for), the runner's target triple,
/// and a digest that changes with the sources a build would compile.
#[test]
fn resolve_names_the_version_the_runner_target_and_a_digest_of_the_sources() {
    let dir = tempfile::tempdir().unwrap();
    let action = dir.path().join("action");
    std::fs::create_dir_all(action.join("src")).unwrap();
    std::fs::write(
        action.join("Cargo.toml"),
        "[package]\nname = \"cargo-shipper\"\nversion = \"3.2.1\"\n\n[dependencies]\nx = { version = \"9.9.9\" }\n",
    )
    .unwrap();
    std::fs::write(action.join("Cargo.lock"), "# lock\n").unwrap();
    std::fs::write(action.join("src/main.rs"), "fn main() {}\n").unwrap();
    // `resolve` runs before anything is installed; its lines are outputs.
    let resolve_arg = |env: &[(&str, &str)]| -> BTreeMap<String, String> {
        let out = Command::new("bash")
            .arg(script("install.sh"))
            .arg("resolve")
            .env_remove("GITHUB_OUTPUT")
            .env_remove("SHIPPER_VERSION")
            .env_remove("SHIPPER_TARGET")
            .env("SHIPPER_ACTION_PATH", &action)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    };
    let linux = resolve_arg(&[("RUNNER_OS", "Linux"), ("RUNNER_ARCH", "X64")]);
    assert_eq!(linux["version"], "3.2.1");
    assert_eq!(linux["target"], "x86_64-unknown-linux-gnu");
    for (os, arch, target) in [
        ("Linux", "ARM64", "aarch64-unknown-linux-gnu"),
        ("macOS", "ARM64", "aarch64-apple-darwin"),
        ("Windows", "X64", "x86_64-pc-windows-msvc"),
    ] {
        let out = resolve_arg(&[("RUNNER_OS", os), ("RUNNER_ARCH", arch)]);
        assert_eq!(out["target"], target);
    }
    let asked = resolve_arg(&[("SHIPPER_VERSION", "v0.4.0")]);
    assert_eq!(asked["version"], "0.4.0");
    // Same sources, same key; a changed source, another.
    assert_eq!(resolve_arg(&[])["source-digest"], linux["source-digest"]);
    std::fs::write(action.join("src/main.rs"), "fn main() { }\n").unwrap();
    assert_ne!(resolve_arg(&[])["source-digest"], linux["source-digest"]);
    // Not a version: refused before anything is fetched.
    let out = Command::new("bash")
        .arg(script("install.sh"))
        .arg("resolve")
        .env("SHIPPER_ACTION_PATH", &action)
        .env("SHIPPER_VERSION", "1.0; rm -rf /")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a version"));
}

/// The wiring in `action.yml` matches the scripts: every output it forwards
/// is one a script writes, every variable it sets is one a script reads, and
/// each script it calls exists.
#[test]
fn action_yml_forwards_what_the_scripts_write_and_sets_what_they_read() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let action = std::fs::read_to_string(root.join("action.yml")).unwrap();
    let install = std::fs::read_to_string(script("install.sh")).unwrap();
    let run = std::fs::read_to_string(script("run.sh")).unwrap();
    let mut forwarded = Vec::new();
    for (step, text) in [("install", &install), ("run", &run), ("resolve", &install)] {
        let prefix = format!("steps.{step}.outputs.");
        for (i, _) in action.match_indices(&prefix) {
            let name: String = action[i + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            assert!(
                text.contains(&format!("output {name} ")),
                "action.yml uses steps.{step}.outputs.{name}, which no script writes"
            );
            forwarded.push(name);
        }
    }
    for name in [
        "verdict",
        "exit-code",
        "receipt",
        "continue",
        "bin",
        "version",
        "target",
    ] {
        assert!(
            forwarded.iter().any(|f| f == name),
            "{name} is not forwarded"
        );
    }
    let mut set = 0;
    for line in action.lines() {
        let line = line.trim();
        if let Some(var) = line
            .strip_prefix("SHIPPER_")
            .and_then(|l| l.split(':').next())
        {
            let var = format!("SHIPPER_{var}");
            assert!(
                install.contains(&var) || run.contains(&var) || line.contains("ACTION_PATH"),
                "action.yml sets {var}, which no script reads"
            );
            set += 1;
        }
    }
    assert!(set >= 8, "{set}");
    for name in ["install.sh", "run.sh"] {
        assert!(action.contains(&format!("/scripts/action/{name}")));
    }
}

/// `rehearse` through the run step: its record is the step's `receipt`,
/// passed or failed, and a failed rehearsal fails the step with its code.
#[test]
fn the_run_step_gives_a_rehearsal_its_verdict_and_its_record() {
    let fx = support::chain(&["act-a", "act-b"]);
    let mut env: Vec<(&str, &str)> = support::OFFLINE.to_vec();
    let home = support::path_str(&fx.cargo_home());
    env.push(("CARGO_HOME", &home));
    let mut job = Job::new(&env);
    let step_env = [
        ("SHIPPER_BIN", BIN),
        ("SHIPPER_COMMAND", "rehearse"),
        (
            "SHIPPER_ARGS",
            "--allow-dirty --retry-delay-ms 20 --confirm-poll-ms 20",
        ),
    ];
    let record = support::path_str(&fx.root().join(".shipper/rehearsal.json"));
    let (run, out) = job.step("rehearse", &script("run.sh"), &fx.root(), &step_env);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(out["verdict"], "passed");
    assert_eq!(out["receipt"], record);
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    assert_eq!(written["verdict"], "passed");

    fx.file("act-b/src/lib.rs", "pub fn broken() -> u32 { \"no\" }\n");
    let (run, out) = job.step("again", &script("run.sh"), &fx.root(), &step_env);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert_eq!(out["verdict"], "failed");
    assert_eq!(out["exit-code"], "1");
    // Rewritten by this run: the step names it again.
    assert_eq!(out["receipt"], record);
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    assert_eq!(written["verdict"], "failed");
    assert!(
        job.summary()
            .contains("**cargo shipper rehearse**: failed (exit 1)"),
        "{}",
        job.summary()
    );
}
