//! Crash safety: abort the process at each journal step in turn (failpoints)
//! and kill it at random times; then rerun until the release is out. Every
//! crate must end in the registry exactly once, with consistent files.

use crate::support;

use std::process::Stdio;
use std::time::Duration;

use crate::support::cmd::ShipperCmd;
use crate::support::{Fixture, TestRegistry, assert_no_token, chain, count, events_in};
use cargo_shipper::journal::{Record, RunState};

const CRATES: [&str; 3] = ["ca", "cb", "cc"];

/// `publish --no-verify`, fast.
fn publish<'a>(fx: &'a Fixture, registry: &'a TestRegistry) -> ShipperCmd<'a> {
    // An intent killed before its request left is settled as absent this
    // long after it (the settle window), not after two minutes.
    fx.publish_cmd(registry)
        .args(["--no-verify", "--upload-timeout", "3"])
}

/// Rerun `publish` (it resumes by itself) until it succeeds.
fn finish(fx: &Fixture, registry: &TestRegistry) {
    for _ in 0..4 {
        let run = publish(fx, registry).run();
        if run.code() == 0 {
            assert_no_token(fx, registry, &[&run]);
            return;
        }
        assert!(
            matches!(run.code(), 1 | 4),
            "unexpected exit: {}",
            run.stderr()
        );
    }
    panic!("the release never finished");
}

fn assert_released_once(fx: &Fixture, registry: &TestRegistry) {
    for name in CRATES {
        assert_eq!(
            registry.version_count(name),
            1,
            "{name} exactly once in the registry"
        );
    }
    // Every archived run (a rerun after a finished release archives a no-op
    // run of its own): each crate confirmed once over all of them, and each
    // run's state.json is the projection of its events.
    let archive = fx.root().join(".shipper/archive");
    let runs: Vec<_> = std::fs::read_dir(&archive)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(
        runs.iter()
            .any(|p| p.to_string_lossy().ends_with("-published")),
        "{runs:?}"
    );
    let mut all = Vec::new();
    for dir in &runs {
        let events = events_in(dir);
        let records: Vec<Record> = events
            .iter()
            .map(|e| serde_json::from_value(e.clone()).unwrap())
            .collect();
        let state: RunState =
            serde_json::from_slice(&std::fs::read(dir.join("state.json")).unwrap()).unwrap();
        assert_eq!(Some(state), RunState::project(&records), "{dir:?}");
        all.extend(events);
    }
    for name in CRATES {
        if count(&all, "visible", name) != 1 {
            let mut history = String::new();
            for dir in &runs {
                history.push_str(&format!(
                    "== {dir:?}\n{}\n",
                    std::fs::read_to_string(dir.join("events.jsonl")).unwrap_or_default()
                ));
            }
            panic!(
                "{name} confirmed {} times\n{history}",
                count(&all, "visible", name)
            );
        }
    }
}

#[test]
fn abort_at_every_journal_step_then_resume() {
    let points = [
        ("before-upload", 1),
        ("before-upload", 2),
        ("after-upload", 1),
        ("after-upload", 3),
        ("before-confirm", 1),
        ("before-confirm", 2),
        ("after-confirm", 1),
        ("after-confirm", 3),
        ("journal-mid-write", 1),
        ("journal-mid-write", 6),
        ("journal-mid-write", 9),
        ("state-mid-write", 4),
    ];
    for (point, nth) in points {
        let registry = TestRegistry::start();
        let fx = chain(&CRATES);
        fx.use_registry(&registry);
        let failpoint = format!("{point}@{nth}");
        let crashed = publish(&fx, &registry)
            .env("SHIPPER_FAILPOINT", &failpoint)
            .run();
        assert_eq!(
            crashed.0.status.code(),
            None,
            "{failpoint}: the process aborted: {}",
            crashed.stderr()
        );
        finish(&fx, &registry);
        assert_released_once(&fx, &registry);
        if point == "journal-mid-write" && nth > 1 {
            let events = events_in(&support::archived_published(&fx));
            // (the repair is recorded in the run that found the torn line)
            assert!(
                events.iter().any(|e| e["kind"] == "journal_repaired"),
                "{failpoint}: repair recorded"
            );
        }
    }
}

/// A bug (a panic) on the engine's thread ends the process with 101 at
/// once, whatever threads are waiting (before, a panic inside the run's
/// thread scope could leave it hanging until CI's timeout); the next run
/// finishes the release, each crate once.
#[test]
fn a_panic_in_the_run_exits_101_at_once_then_resume() {
    for failpoint in ["before-upload@2:panic", "after-upload@1:panic"] {
        let registry = TestRegistry::start_knobs(|k| {
            k.upload_latency = Duration::from_millis(300);
        });
        let fx = chain(&CRATES);
        fx.use_registry(&registry);
        let mut child = publish(&fx, &registry)
            .env("SHIPPER_FAILPOINT", failpoint)
            .command()
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > Duration::from_secs(60) {
                child.kill().unwrap();
                panic!("{failpoint}: the process hung after the panic");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let (code, stderr, _) = support::child::finish(child);
        assert_eq!(code, status.code());
        assert_eq!(code, Some(101), "{failpoint}: {stderr}");
        assert!(stderr.contains("a bug, simulated"), "{failpoint}: {stderr}");
        finish(&fx, &registry);
        assert_released_once(&fx, &registry);
    }
}

/// SIGKILL after the k-th journal event (k chosen by the seed, plus a
/// random sliver of time), so every seed kills inside the run.
#[test]
fn sigkill_inside_the_run_then_resume() {
    let mut inside = 0;
    for seed in 0..16u64 {
        let mut rng = fastrand::Rng::with_seed(seed);
        let registry = TestRegistry::start_knobs(|k| {
            k.upload_latency = Duration::from_millis(40);
            k.propagation_delay = Duration::from_millis(40);
        });
        let fx = chain(&CRATES);
        fx.use_registry(&registry);
        let mut child = publish(&fx, &registry)
            .command()
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // A run of three new crates journals about 12 events.
        let k = rng.usize(1..12);
        let events = fx.root().join(".shipper/current/events.jsonl");
        let started = std::time::Instant::now();
        while std::fs::read(&events).map_or(0, |b| b.iter().filter(|c| **c == b'\n').count()) < k
            && child.try_wait().unwrap().is_none()
            && started.elapsed() < Duration::from_secs(60)
        {
            std::thread::sleep(Duration::from_micros(200));
        }
        std::thread::sleep(Duration::from_micros(rng.u64(0..30_000)));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let unfinished =
            std::fs::read_to_string(&events).is_ok_and(|text| !text.contains("\"run_finished\""));
        if unfinished {
            inside += 1;
        }
        finish(&fx, &registry);
        assert_released_once(&fx, &registry);
    }
    assert!(
        inside >= 12,
        "only {inside} of 16 kills landed inside the run"
    );
}
