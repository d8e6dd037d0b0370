//! `cargo shipper registry serve` as a user runs it.

use crate::support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::support::{TestRegistry, http};

#[test]
fn serves_until_ctrl_c_and_prints_how_to_use_it() {
    let root = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cargo-shipper"))
        .args([
            "shipper",
            "registry",
            "serve",
            "--message-format",
            "json",
            "--token",
            "sekrit-test-token",
        ])
        .arg("--root")
        .arg(root.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let started: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(started["format"], 1);
    assert_eq!(started["token"], "sekrit-test-token");
    let index = started["index"].as_str().unwrap();
    assert!(index.starts_with("sparse+http://127.0.0.1:"), "{index}");
    assert!(started["cargo_config"].as_str().unwrap().contains(index));

    let config = http(
        "GET",
        &format!("{}config.json", index.trim_start_matches("sparse+")),
        &[],
        &[],
    )
    .unwrap();
    assert_eq!(config.status, 200);

    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn human_start_up_message_has_the_config_snippet() {
    let root = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cargo-shipper"))
        .args(["shipper", "registry", "serve"])
        .arg("--root")
        .arg(root.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut text = String::new();
    while !text.contains("Ctrl-C") {
        assert_ne!(reader.read_line(&mut text).unwrap(), 0, "{text}");
    }
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert!(
        text.contains("[registries.shipper-local]\nindex = \"sparse+http://127.0.0.1:"),
        "{text}"
    );
    assert!(text.contains("  token: shipper_"), "{text}");
}

#[test]
fn non_loopback_needs_an_explicit_flag() {
    let root = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-shipper"))
        .args(["shipper", "registry", "serve", "--addr", "0.0.0.0:0"])
        .arg("--root")
        .arg(root.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("pass `--allow-remote`"), "{err}");
}

#[test]
fn bad_fault_script_is_a_usage_error() {
    let root = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-shipper"))
        .args(["shipper", "registry", "serve", "--fail-upload", "0:503"])
        .arg("--root")
        .arg(root.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("counts from 1"));
}

/// A background job starts with SIGINT ignored; the registry must still stop
/// on the first Ctrl-C sent once it has said it is ready.
#[test]
fn stops_on_the_first_signal_even_when_started_with_sigint_ignored() {
    use std::os::unix::process::CommandExt;
    for signal in ["-INT", "-TERM"] {
        let root = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cargo-shipper"));
        cmd.args(["shipper", "registry", "serve", "--message-format", "json"])
            .arg("--root")
            .arg(root.path())
            .stdout(Stdio::piped());
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::signal(libc::SIGINT, libc::SIG_IGN);
                Ok(())
            });
        }
        let mut child = cmd.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("{signal}: still running after the signal");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        assert!(status.success(), "{signal}: {status:?}");
    }
}

#[test]
fn the_printed_config_publishes_a_whole_workspace_with_real_cargo() {
    let dir = tempfile::tempdir().unwrap();
    let registry = TestRegistry::start_with(dir.path(), |_| {});
    let mut out = Vec::new();
    cargo_shipper::report::registry::started_json(&registry, dir.path(), None, &mut out).unwrap();
    let started: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let fx = support::demo_workspace();
    fx.cargo_config(started["cargo_config"].as_str().unwrap());
    let publish = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "publish",
            "--workspace",
            "--registry",
            "shipper-local",
            "--allow-dirty",
            "--no-verify",
        ])
        .current_dir(fx.root())
        .env("CARGO_HOME", fx.cargo_home())
        .env("CARGO_REGISTRIES_SHIPPER_LOCAL_TOKEN", registry.token())
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .unwrap();
    assert!(
        publish.status.success(),
        "{}",
        String::from_utf8_lossy(&publish.stderr)
    );
    let wrapped = TestRegistry::wrap(registry, dir);
    for name in support::DEMO_CRATES {
        assert_eq!(wrapped.version_count(name), 1, "{name}");
    }
}
