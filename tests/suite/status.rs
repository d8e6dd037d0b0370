//! `cargo shipper status`: right before a release, during one (interrupted
//! by a crash point, and running), and after; `--events` and `--follow`.

use crate::support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::cmd::ShipperCmd;
use crate::support::{Fixture, Run, TestRegistry, chain};
use serde_json::Value;

const CRATES: [&str; 3] = ["sa", "sb", "sc"];

fn publish<'a>(fx: &'a Fixture, registry: &'a TestRegistry) -> ShipperCmd<'a> {
    fx.publish_cmd(registry).arg("--no-verify")
}

fn status(fx: &Fixture, registry: &TestRegistry, extra: &[&str]) -> Run {
    let mut args = vec!["status", "--registry", "local"];
    args.extend(extra);
    fx.shipper_env(registry, &args, &[])
}

fn status_json(fx: &Fixture, registry: &TestRegistry) -> (Value, String) {
    let run = status(fx, registry, &["--message-format", "json"]);
    let text = run.ok();
    (serde_json::from_str(&text).expect("JSON"), text)
}

/// `(journal, registry state)` of each crate.
fn rows(doc: &Value) -> Vec<(Value, Value)> {
    doc["crates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["journal"].clone(), c["registry"]["state"].clone()))
        .collect()
}

/// The JSON text with plan ids and checksums replaced, for the snapshot.
fn normalized(text: &str, doc: &Value) -> String {
    let mut text = text.replace(doc["plan_id"].as_str().unwrap(), "<plan id>");
    for c in doc["crates"].as_array().unwrap() {
        if let Some(sha) = c["registry"]["sha256"].as_str() {
            text = text.replace(sha, "<sha256>");
        }
    }
    text
}

#[test]
fn status_before_during_and_after_an_interrupted_release() {
    let registry = TestRegistry::start();
    let fx = chain(&CRATES);
    fx.use_registry(&registry);

    // Before: nothing in the journal, nothing in the registry.
    let (before, _) = status_json(&fx, &registry);
    assert_eq!(before["run"], Value::Null);
    assert_eq!(
        before["next"],
        serde_json::json!({"action": "publish", "upload": 3})
    );
    assert!(
        rows(&before)
            .iter()
            .all(|(j, r)| j.is_null() && r == "absent")
    );
    let human = status(&fx, &registry, &[]).ok();
    assert!(human.contains("Run: none in progress"), "{human}");
    assert!(
        // As it must be typed: the registry `status` was asked about.
        human.contains("Next: `cargo shipper publish --registry local` will upload 3 crates"),
        "{human}"
    );

    // During: the process dies right after the second upload landed,
    // before its outcome reached the journal.
    let crashed = publish(&fx, &registry)
        .env("SHIPPER_FAILPOINT", "after-upload@2")
        .run();
    assert!(!crashed.0.status.success());
    let (during, text) = status_json(&fx, &registry);
    assert_eq!(during["run"]["runs"], 1);
    assert_eq!(during["run"]["active"], false);
    assert_eq!(during["run"]["outcome"], Value::Null);
    assert_eq!(
        rows(&during),
        [
            ("published".into(), "present".into()),
            ("uploading".into(), "present".into()),
            ("packaged".into(), "absent".into()),
        ]
    );
    assert_eq!(during["crates"][1]["registry"]["matches_journal"], true);
    assert_eq!(
        during["next"],
        serde_json::json!({"action": "resume", "upload": 1, "settle": 1})
    );
    snapbox::assert_data_eq!(
        normalized(&text, &during),
        snapbox::file!["snapshots/status_interrupted.json"]
    );
    let human = status(&fx, &registry, &[]).ok();
    assert!(human.contains("interrupted; 1 run(s)"), "{human}");
    assert!(human.contains("uploading (outcome unknown)"), "{human}");
    assert!(
        human.contains("`cargo shipper resume` will first ask the registry about 1 upload(s) of unknown outcome, then upload up to 1 crate"),
        "{human}"
    );
    // Offline, the registry column says so and nothing is counted.
    let offline = status(&fx, &registry, &["--offline"]).ok();
    assert!(
        offline.contains("not asked") && offline.contains("Next: unknown"),
        "{offline}"
    );

    // The journal, readably: what happened up to the crash, and no end.
    let events = status(&fx, &registry, &["--events"]).ok();
    assert!(events.starts_with("#1 "), "{events}");
    assert!(
        events.contains("Publishing 3 crates to `local`"),
        "{events}"
    );
    assert!(events.contains("Uploading sb 0.1.0"), "{events}");
    assert!(!events.contains("Finished"), "{events}");
    let lines = status(&fx, &registry, &["--events", "--message-format", "json"]).ok();
    let on_disk = std::fs::read_to_string(fx.root().join(".shipper/current/events.jsonl")).unwrap();
    assert_eq!(lines, on_disk, "JSON lines are the journal's own");

    // status changed nothing: the journal is byte for byte the same.
    assert_eq!(
        std::fs::read_to_string(fx.root().join(".shipper/current/events.jsonl")).unwrap(),
        on_disk
    );

    // The workspace moved on: status says the journal is another plan's.
    let manifest = fx.root().join("sc/Cargo.toml");
    let original = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        original.replace(
            "version = \"0.1.0\"\nedition",
            "version = \"0.2.0\"\nedition",
        ),
    )
    .unwrap();
    let (moved, _) = status_json(&fx, &registry);
    assert_eq!(moved["next"]["action"], "plan_changed");
    std::fs::write(&manifest, original).unwrap();

    // After: the release finished and was archived.
    publish(&fx, &registry).run().ok();
    let (after, _) = status_json(&fx, &registry);
    assert_eq!(after["run"], Value::Null);
    assert!(
        rows(&after)
            .iter()
            .all(|(j, r)| j.is_null() && r == "present")
    );
    assert_eq!(after["next"], serde_json::json!({"action": "nothing"}));
    assert!(
        status(&fx, &registry, &[])
            .ok()
            .contains("Next: nothing to publish")
    );

    // A yanked version is still there, and says so.
    let auth = format!("Authorization: {}", registry.registry.token());
    let yank = format!("{}/api/v1/crates/sb/0.1.0/yank", registry.api());
    assert_eq!(
        support::http("DELETE", &yank, &[&auth], &[])
            .unwrap()
            .status,
        200
    );
    let (yanked, _) = status_json(&fx, &registry);
    assert_eq!(yanked["crates"][1]["registry"]["yanked"], true);
    assert_eq!(yanked["next"], serde_json::json!({"action": "nothing"}));
    assert!(status(&fx, &registry, &[]).ok().contains("  yanked"));
}

#[test]
fn follow_prints_a_running_release_until_it_ends() {
    let registry = TestRegistry::start_knobs(|k| k.upload_latency = Duration::from_millis(800));
    let fx = chain(&CRATES);
    fx.use_registry(&registry);
    let mut release = publish(&fx, &registry)
        .command()
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let events = fx.root().join(".shipper/current/events.jsonl");
    let start = Instant::now();
    while !events.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the release never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Running: status says so, and follows it to the end.
    let (running, _) = status_json(&fx, &registry);
    assert_eq!(running["run"]["active"], true, "{running:#}");
    assert_eq!(running["next"]["action"], "running");
    let followed = status(&fx, &registry, &["--events", "--follow"]).ok();
    assert!(release.wait().unwrap().success());
    assert!(followed.starts_with("#1 "), "{followed}");
    assert!(followed.contains("Published sc 0.1.0"), "{followed}");
    assert!(
        followed.trim_end().ends_with("Finished the release is out"),
        "{followed}"
    );
    // Every record of the run, once each.
    let archived = support::archived(&fx);
    let records = support::events_in(&archived);
    assert_eq!(followed.lines().count(), records.len(), "{followed}");
    // Nothing running: follow returns at once.
    let idle = status(&fx, &registry, &["--events", "--follow"]);
    assert_eq!(idle.ok(), "");
    assert!(
        idle.stderr().contains("no run in the state directory"),
        "{}",
        idle.stderr()
    );
}
