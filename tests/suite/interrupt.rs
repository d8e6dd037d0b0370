//! Graceful interruption, as CI cancellation and Ctrl-C deliver it: SIGINT
//! or SIGTERM during uploads lets the uploads in flight finish and records
//! them, starts nothing new, exits 130 with how to continue; a second signal
//! exits at once; `resume` then finishes with each crate stored once.

use crate::support;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::support::child::{self, finish, signal};
use crate::support::{Fixture, TestRegistry, count, events_in};

const CRATES: [&str; 4] = ["ia", "ib", "ic", "id"];

/// Four crates that depend on nothing: two go out at once with `--uploads-in-flight 2`.
fn independent() -> Fixture {
    let fx = Fixture::new();
    let members: Vec<String> = CRATES.iter().map(|n| format!("\"{n}\"")).collect();
    fx.file(
        "Cargo.toml",
        &format!(
            "[workspace]\nresolver = \"2\"\nmembers = [{}]\n",
            members.join(", ")
        ),
    );
    for name in CRATES {
        fx.package(name, name, "0.1.0", "");
    }
    fx
}

/// `publish` in the background, its stderr kept. SIGINT's disposition is
/// reset: a non-interactive shell starts background jobs with it ignored.
fn spawn_publish(fx: &Fixture, registry: &TestRegistry, extra: &[&str]) -> Child {
    let mut cmd = fx
        .publish_cmd(registry)
        .args(["--no-verify", "--uploads-in-flight", "2"])
        .args(extra)
        .command();
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    child::sigint_default(&mut cmd)
        .spawn()
        .expect("start cargo-shipper")
}

/// Wait until the run's journal holds `n` events of `kind`.
fn wait_for(fx: &Fixture, child: &mut Child, kind: &str, n: usize) {
    child::wait_for_event(
        &fx.root().join(".shipper/current/events.jsonl"),
        child,
        kind,
        n,
    );
}

fn resume(fx: &Fixture, registry: &TestRegistry) {
    let run = fx.resume_cmd(registry).arg("--no-verify").run();
    assert_eq!(run.code(), 0, "resume: {}", run.stderr());
}

fn assert_each_once(registry: &TestRegistry) {
    for name in CRATES {
        assert_eq!(registry.version_count(name), 1, "{name} stored once");
    }
}

/// The first signal: the two uploads in flight finish and are recorded,
/// nothing new starts, exit 130 saying how to continue.
fn graceful(sig: i32) {
    let registry = TestRegistry::start_knobs(|k| k.upload_latency = Duration::from_millis(1500));
    let fx = independent();
    fx.use_registry(&registry);
    let mut child = spawn_publish(&fx, &registry, &[]);
    wait_for(&fx, &mut child, "upload_started", 2);
    signal(&child, sig);
    let (code, stderr, took) = finish(child);
    eprintln!("graceful stop (signal {sig}, two 1.5 s uploads in flight): exit after {took:?}");
    assert_eq!(code, Some(130), "{stderr}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(stderr.contains("waiting for 2 uploads"), "{stderr}");
    assert!(stderr.contains("cargo shipper resume"), "{stderr}");

    let events = events_in(&fx.root().join(".shipper/current"));
    let stop = events
        .iter()
        .position(|e| e["kind"] == "stopping")
        .expect("a stopping event");
    assert_eq!(events[stop]["in_flight"], 2);
    let after = &events[stop..];
    assert!(
        !after.iter().any(|e| e["kind"] == "upload_started"),
        "nothing new after the signal"
    );
    let outcomes = after
        .iter()
        .filter(|e| e["kind"] == "upload_succeeded")
        .count();
    assert_eq!(outcomes, 2, "both uploads in flight recorded");
    assert_eq!(
        events.last().unwrap()["outcome"],
        "interrupted",
        "{events:?}"
    );
    assert!(fx.root().join(".shipper/current/receipt.json").exists());
    assert_eq!(registry.registry.upload_counts().requests, 2);

    resume(&fx, &registry);
    assert_each_once(&registry);
    let counts = registry.registry.upload_counts();
    assert_eq!((counts.requests, counts.duplicates), (4, 0));
}

#[test]
fn sigint_during_uploads_finishes_them_then_resume_finishes() {
    // A bound on a duration: no other test shares the cores.
    crate::support::lanes::alone();
    graceful(libc::SIGINT);
}

#[test]
fn sigterm_during_uploads_finishes_them_then_resume_finishes() {
    // A bound on a duration: no other test shares the cores.
    crate::support::lanes::alone();
    graceful(libc::SIGTERM);
}

/// Two signals: the second exits at once, the journal stays consistent
/// and `resume` finishes with each crate stored once.
#[test]
fn a_second_sigint_exits_at_once_and_resume_still_finishes() {
    // A bound on a duration: no other test shares the cores.
    crate::support::lanes::alone();
    let registry = TestRegistry::start_knobs(|k| k.upload_latency = Duration::from_millis(3000));
    let fx = independent();
    fx.use_registry(&registry);
    let mut child = spawn_publish(&fx, &registry, &[]);
    wait_for(&fx, &mut child, "upload_started", 2);
    signal(&child, libc::SIGINT);
    wait_for(&fx, &mut child, "stopping", 1);
    signal(&child, libc::SIGINT);
    let (code, stderr, took) = finish(child);
    eprintln!("second SIGINT (3 s uploads in flight): exit after {took:?}");
    assert_eq!(code, Some(130), "{stderr}");
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    let events = events_in(&fx.root().join(".shipper/current"));
    assert!(!events.iter().any(|e| e["kind"] == "run_finished"));

    resume(&fx, &registry);
    assert_each_once(&registry);
    let archived = support::archived_published(&fx);
    let all = events_in(&archived);
    for name in CRATES {
        assert_eq!(count(&all, "visible", name), 1, "{name} confirmed once");
    }
}

/// Past the grace period, uploads still in flight are cut off: the run
/// exits within the bound, their outcome stays unknown, and `resume`
/// settles them before anything else.
#[test]
fn uploads_past_the_grace_period_are_cut_off_and_settled_by_resume() {
    // A bound on a duration: no other test shares the cores.
    crate::support::lanes::alone();
    let registry = TestRegistry::start_knobs(|k| k.upload_latency = Duration::from_millis(4000));
    let fx = independent();
    fx.use_registry(&registry);
    let mut child = spawn_publish(&fx, &registry, &["--grace", "1"]);
    wait_for(&fx, &mut child, "upload_started", 2);
    signal(&child, libc::SIGTERM);
    let (code, stderr, took) = finish(child);
    eprintln!("grace 1 s, 4 s uploads in flight: exit after {took:?}");
    assert_eq!(code, Some(130), "{stderr}");
    assert!(took < Duration::from_millis(3500), "took {took:?}");
    let events = events_in(&fx.root().join(".shipper/current"));
    assert_eq!(events.last().unwrap()["outcome"], "interrupted");
    assert_eq!(
        events
            .iter()
            .filter(|e| e["kind"] == "upload_failed" && e["class"] == "ambiguous")
            .count(),
        2,
        "{events:?}"
    );

    resume(&fx, &registry);
    assert_each_once(&registry);
}

/// The settle window: a run killed during an upload (500 ms upload
/// latency, so the request lands after the kill) and the next started at
/// once must not upload that version again: it asks until the earlier
/// request could no longer land, and finds it. Counted at the registry.
#[test]
fn a_kill_during_an_upload_then_an_immediate_resume_sends_no_duplicate() {
    let registry = TestRegistry::start_knobs(|k| k.upload_latency = Duration::from_millis(500));
    let fx = independent();
    fx.use_registry(&registry);
    // Kill the first run during its first uploads, the second during its
    // next ones, then let a third finish.
    for uploads_seen in [1, 3] {
        let mut child = spawn_publish(&fx, &registry, &[]);
        wait_for(&fx, &mut child, "upload_started", uploads_seen);
        // The request is at the registry (it answers after 500 ms).
        std::thread::sleep(Duration::from_millis(150));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    let started = Instant::now();
    resume(&fx, &registry);
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_each_once(&registry);
    let counts = registry.registry.upload_counts();
    assert_eq!(counts.duplicates, 0, "{counts:?}");
    assert_eq!(counts.requests, CRATES.len() as u32, "{counts:?}");
    let all = events_in(&support::archived_published(&fx));
    assert!(all.iter().any(|e| e["kind"] == "settle_waiting"), "{all:?}");
}

/// A registry without crates.io's version API (kellnr answers an empty 404
/// for every version): a run killed during an upload is resumed and
/// finished, each crate stored once, settled by the index.
#[test]
fn without_the_version_api_a_killed_upload_is_settled_by_the_index() {
    let registry = TestRegistry::start_knobs(|k| {
        k.upload_latency = Duration::from_millis(500);
        k.no_version_api = true;
    });
    let fx = independent();
    fx.use_registry(&registry);
    let mut child = spawn_publish(&fx, &registry, &[]);
    wait_for(&fx, &mut child, "upload_started", 1);
    std::thread::sleep(Duration::from_millis(150));
    child.kill().unwrap();
    child.wait().unwrap();
    resume(&fx, &registry);
    assert_each_once(&registry);
    let counts = registry.registry.upload_counts();
    assert_eq!(counts.duplicates, 0, "{counts:?}");
    let all = events_in(&support::archived_published(&fx));
    assert!(!all.iter().any(|e| e["kind"] == "unsettled"), "{all:?}");
}
