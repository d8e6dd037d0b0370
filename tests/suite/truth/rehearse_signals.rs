//! Item 8: `rehearse` stops on SIGINT and SIGTERM as `publish` does: exit
//! 130, nothing reported or recorded as passed, its registry and temporary
//! directories gone.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::support::child::{self, finish, signal};
use crate::support::{Fixture, TestRegistry, chain};

/// No network: every proxy points at a closed port (loopback is exempt).
const OFFLINE: [(&str, &str); 6] = [
    ("HTTPS_PROXY", "http://127.0.0.1:9"),
    ("https_proxy", "http://127.0.0.1:9"),
    ("HTTP_PROXY", "http://127.0.0.1:9"),
    ("http_proxy", "http://127.0.0.1:9"),
    ("NO_PROXY", "127.0.0.1,localhost"),
    ("no_proxy", "127.0.0.1,localhost"),
];

/// `rehearse` in the background with SIGINT at its default, its temporary
/// files under `tmp`.
fn spawn_rehearse(fx: &Fixture, tmp: &Path, args: &[&str], env: &[(&str, &str)]) -> Child {
    let mut cmd = fx
        .cmd(["rehearse", "--allow-dirty", "--no-verify"])
        .args(args)
        .env("TMPDIR", tmp)
        .env_remove("CARGO_REGISTRY_TOKEN")
        .envs(OFFLINE)
        .envs(env.iter().copied())
        .command();
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    child::sigint_default(&mut cmd)
        .spawn()
        .expect("start cargo-shipper")
}

fn verdict(fx: &Fixture) -> Option<String> {
    let bytes = std::fs::read(fx.root().join(".shipper/rehearsal.json")).ok()?;
    let record: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    Some(record["verdict"].as_str().unwrap().to_owned())
}

/// Entries of our own temporary directories left under `tmp`.
fn left_behind(tmp: &Path) -> Vec<String> {
    std::fs::read_dir(tmp)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("shipper-"))
        .collect()
}

fn assert_stopped(fx: &Fixture, tmp: &Path, code: Option<i32>, err: &str, took: Duration) {
    eprintln!("stopped after {took:?}:\n{err}");
    assert_eq!(code, Some(130), "{err}");
    assert!(!err.contains("Rehearsal passed"), "{err}");
    assert!(err.contains("the rehearsal was interrupted"), "{err}");
    assert!(
        took < Duration::from_secs(30),
        "stopped after {took:?}: {err}"
    );
    assert_ne!(verdict(fx).as_deref(), Some("passed"), "{err}");
    assert_eq!(left_behind(tmp), Vec::<String>::new(), "{err}");
}

/// SIGINT while the rehearsal waits for its registry's index (a 60 s
/// propagation delay): the run stops, the uploaded crate is all the
/// registry got, and the next command is `rehearse` as it was run.
#[test]
fn sigint_while_waiting_for_the_index_stops_the_rehearsal() {
    let slow = TestRegistry::start_knobs(|k| k.propagation_delay = Duration::from_secs(60));
    let fx = chain(&["sia", "sib"]);
    fx.cargo_config(&slow.registry.cargo_config("slow"));
    let tmp = tempfile::tempdir().unwrap();
    let mut child = spawn_rehearse(
        &fx,
        tmp.path(),
        &["--registry", "slow"],
        &[("CARGO_REGISTRIES_SLOW_TOKEN", slow.registry.token())],
    );
    child::wait_for_event(
        &fx.root().join(".shipper/rehearsal/current/events.jsonl"),
        &mut child,
        "upload_succeeded",
        1,
    );
    signal(&child, libc::SIGINT);
    let (code, err, took) = finish(child);
    assert_stopped(&fx, tmp.path(), code, &err, took);
    assert!(
        err.contains("run `cargo shipper rehearse --registry slow --allow-dirty` again"),
        "{err}"
    );
    // From the registry's side: the first crate only; its dependent never went.
    assert_eq!(slow.registry.upload_counts().requests, 1);
    assert_eq!(verdict(&fx).as_deref(), Some("failed"));
}

/// SIGTERM during the consumer build (a build script that takes seconds):
/// no "passed", the embedded registry's and the consumer's temporary
/// directories are gone.
#[test]
fn sigterm_during_the_consumer_build_stops_the_embedded_rehearsal() {
    let fx = chain(&["sca", "scb"]);
    fx.file(
        "scb/build.rs",
        "fn main() { std::thread::sleep(std::time::Duration::from_secs(6)); }\n",
    );
    let tmp = tempfile::tempdir().unwrap();
    let mut child = spawn_rehearse(&fx, tmp.path(), &[], &[]);
    // Read stderr as it comes, to signal once the consumer build started.
    let stderr = child.stderr.take().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let reader = {
        let seen = seen.clone();
        std::thread::spawn(move || {
            use std::io::BufRead as _;
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                let mut text = seen.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        })
    };
    let started = std::time::Instant::now();
    while !seen
        .lock()
        .unwrap()
        .contains("a consumer crate that depends on")
    {
        assert!(child.try_wait().unwrap().is_none(), "the run ended first");
        assert!(started.elapsed() < Duration::from_secs(120));
        std::thread::sleep(Duration::from_millis(5));
    }
    signal(&child, libc::SIGTERM);
    let signalled = std::time::Instant::now();
    let code = child.wait().unwrap().code();
    let took = signalled.elapsed();
    reader.join().unwrap();
    let err = seen.lock().unwrap().clone();
    assert_stopped(&fx, tmp.path(), code, &err, took);
    assert_eq!(verdict(&fx).as_deref(), Some("failed"));
    // The build in progress was let finish (its processes are not ours to
    // kill), and nothing was called passed after the signal.
    assert!(!err.contains("Installing"), "{err}");
}
