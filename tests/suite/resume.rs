//! Interrupted releases: scripted faults, resume, and the journal's
//! invariants (nothing published twice, nothing skipped silently, state is
//! the projection of the events).

use crate::support::{TestRegistry, archived, assert_no_token, chain, count, events_in};
use cargo_shipper::journal::{Record, RunState};
use cargo_shipper::local_registry::UploadFault;

/// `state.json` equals the projection of `events.jsonl` in `dir`.
fn assert_state_is_projection(dir: &std::path::Path) {
    let records: Vec<Record> = std::fs::read_to_string(dir.join("events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let state: RunState =
        serde_json::from_slice(&std::fs::read(dir.join("state.json")).unwrap()).unwrap();
    assert_eq!(Some(state), RunState::project(&records));
}

#[test]
fn interrupted_release_resumes_without_publishing_twice() {
    // Run 1: the third upload (c) fails with a 503 and no retries are left.
    let registry =
        TestRegistry::start_knobs(|k| k.upload_faults = vec![(3, UploadFault::Status(503))]);
    let fx = chain(&["a", "b", "c"]);
    fx.use_registry(&registry);
    let first = fx.publish(&registry, &["--no-verify", "--max-attempts", "1"]);
    assert_eq!(first.code(), 4, "partial: {}", first.stderr());
    assert!(
        first.stderr().contains("cargo shipper resume"),
        "{}",
        first.stderr()
    );
    assert_eq!(registry.version_count("a"), 1);
    assert_eq!(registry.version_count("b"), 1);
    assert_eq!(registry.version_count("c"), 0);
    let live = fx.root().join(".shipper/current");
    assert_state_is_projection(&live);
    let partial: serde_json::Value =
        serde_json::from_slice(&std::fs::read(live.join("receipt.json")).unwrap()).unwrap();
    assert_eq!(partial["outcome"], "partial");
    assert_eq!(partial["crates"][2]["outcome"], "failed");

    // Run 2: resume.
    let second = fx
        .resume_cmd(&registry)
        .retry_delay_ms(None)
        .arg("--no-verify")
        .run();
    second.ok();
    for name in ["a", "b", "c"] {
        assert_eq!(
            registry.version_count(name),
            1,
            "{name} once in the registry"
        );
    }
    let dir = archived(&fx);
    let events = events_in(&dir);
    assert_eq!(
        events.iter().filter(|e| e["kind"] == "run_started").count(),
        2,
        "run 1 kept"
    );
    for name in ["a", "b", "c"] {
        assert_eq!(count(&events, "visible", name), 1, "{name} published once");
        assert_eq!(
            count(&events, "upload_succeeded", name),
            1,
            "{name} uploaded once"
        );
    }
    let skips: Vec<_> = events
        .iter()
        .filter(|e| e["kind"] == "skipped" && e["reason"] == "already_done")
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(skips, ["a", "b"]);
    assert_state_is_projection(&dir);
    let receipt: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("receipt.json")).unwrap()).unwrap();
    let outcomes: Vec<_> = receipt["crates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["published", "published", "published"]);
    assert_eq!(receipt["runs"], 2);
    assert_no_token(&fx, &registry, &[&first, &second]);
}

#[test]
fn resume_refuses_when_there_is_nothing_to_resume() {
    let registry = TestRegistry::start();
    let fx = chain(&["a"]);
    fx.use_registry(&registry);
    let run = fx.shipper_env(&registry, &["resume"], &[]);
    assert_eq!(run.code(), 1);
    assert!(
        run.stderr().contains("no unfinished run to resume"),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_different_plan_with_an_unfinished_run_is_refused_until_set_aside() {
    let registry =
        TestRegistry::start_knobs(|k| k.upload_faults = vec![(2, UploadFault::Status(500))]);
    let fx = chain(&["a", "b"]);
    fx.use_registry(&registry);
    assert_eq!(
        fx.publish(&registry, &["--no-verify", "--max-attempts", "1"])
            .code(),
        4
    );

    // The release changes under the unfinished run.
    fx.package(
        "b",
        "b",
        "0.2.0",
        "[dependencies]\na = { path = \"../a\", version = \"0.1.0\" }",
    );
    let refused = fx.publish(&registry, &["--no-verify"]);
    assert_eq!(refused.code(), 1);
    let err = refused.stderr();
    assert!(err.contains("unfinished run of another plan"), "{err}");
    assert!(err.contains("b 0.1.0 -> 0.2.0"), "says what changed: {err}");
    assert!(err.contains("--abandon-unfinished"), "{err}");
    assert!(
        fx.root().join(".shipper/current/events.jsonl").exists(),
        "nothing removed"
    );

    let resumed = fx.shipper_env(&registry, &["resume", "--no-verify"], &[]);
    assert_eq!(
        resumed.code(),
        1,
        "resume refuses too: {}",
        resumed.stderr()
    );

    let fresh = fx.publish(&registry, &["--no-verify", "--abandon-unfinished"]);
    fresh.ok();
    assert_eq!(registry.version_count("b"), 1);
    let archive: Vec<_> = std::fs::read_dir(fx.root().join(".shipper/archive"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    assert!(
        archive.iter().any(|n| n.ends_with("-abandoned")),
        "{archive:?}"
    );
}

#[test]
fn a_failed_crate_someone_else_published_with_other_content_stops_the_resume() {
    let registry =
        TestRegistry::start_knobs(|k| k.upload_faults = vec![(2, UploadFault::Status(500))]);
    let fx = chain(&["xa", "xb"]);
    fx.use_registry(&registry);
    assert_eq!(
        fx.publish(&registry, &["--no-verify", "--max-attempts", "1"])
            .code(),
        4
    );
    // Meanwhile the version appears in the registry by other means, with
    // other content: skipping it would leave the release's xb unshipped.
    assert_eq!(registry.upload("xb", "0.1.0", &["xa"]).status, 200);
    let before = registry.registry.upload_counts().requests;
    let resumed = fx.shipper_env(&registry, &["resume", "--no-verify"], &[]);
    assert_eq!(resumed.code(), 9, "{}", resumed.stderr());
    assert!(
        resumed.stderr().contains("xb 0.1.0"),
        "{}",
        resumed.stderr()
    );
    assert_eq!(registry.registry.upload_counts().requests, before);
    assert_eq!(registry.version_count("xb"), 1);
    let receipt: serde_json::Value = serde_json::from_slice(
        &std::fs::read(fx.root().join(".shipper/current/receipt.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(receipt["crates"][1]["name"], "xb");
    assert_eq!(receipt["crates"][1]["outcome"], "failed");
}

#[test]
fn an_unfinished_run_with_an_unknown_outcome_cannot_be_abandoned() {
    let registry = TestRegistry::start();
    let fx = chain(&["ka", "kb"]);
    fx.use_registry(&registry);
    // Crash right after recording the intent to upload `ka`.
    let crashed = fx
        .publish_cmd(&registry)
        .no_fast()
        .arg("--no-verify")
        .env("SHIPPER_FAILPOINT", "before-upload")
        .run();
    assert_eq!(crashed.0.status.code(), None);
    fx.package(
        "kb",
        "kb",
        "0.2.0",
        "[dependencies]\nka = { path = \"../ka\", version = \"0.1.0\" }",
    );
    let refused = fx.publish(&registry, &["--no-verify", "--abandon-unfinished"]);
    assert_eq!(refused.code(), 1);
    assert!(
        refused.stderr().contains("outcome is unknown (`ka`)"),
        "{}",
        refused.stderr()
    );
    assert!(fx.root().join(".shipper/current/events.jsonl").exists());
}

#[test]
fn a_run_that_uploaded_nothing_never_blocks_another_plan() {
    let registry = TestRegistry::start();
    let fx = chain(&["na", "nb"]);
    fx.use_registry(&registry);
    // `nb` does not compile: packaging fails, nothing is uploaded.
    fx.file("nb/src/lib.rs", "pub fn broken() -> u32 { \"no\" }\n");
    let failed = fx.publish(&registry, &[]);
    assert_eq!(failed.code(), 1, "{}", failed.stderr());
    assert!(fx.root().join(".shipper/current/events.jsonl").exists());

    // Another plan (`-p na`) starts without `--abandon-unfinished`.
    let run = fx.publish(&registry, &["-p", "na"]);
    run.ok();
    assert!(
        run.stderr()
            .contains("Set aside the unfinished run of plan")
            && run.stderr().contains("which uploaded nothing"),
        "{}",
        run.stderr()
    );
    assert_eq!(registry.version_count("na"), 1);
    let archived: Vec<String> = std::fs::read_dir(fx.root().join(".shipper/archive"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        archived.iter().any(|n| n.ends_with("-abandoned")),
        "{archived:?}"
    );
}

/// A resumed release that fails by an error (a compile error in a crate
/// still to go out) after an earlier run uploaded: exit 4, partial, the
/// way out named; the registry holds the uploaded crate once and nothing
/// of the broken one.
#[test]
fn an_error_after_earlier_uploads_is_partial_with_exit_4() {
    let registry = TestRegistry::start();
    let fx = chain(&["ea", "eb"]);
    fx.use_registry(&registry);
    // Run 1 dies right after its first upload returns, as a killed job would.
    let killed = fx
        .publish_cmd(&registry)
        .args(["--no-verify"])
        .env("SHIPPER_FAILPOINT", "after-upload@1")
        .run();
    assert!(!killed.0.status.success(), "{}", killed.stderr());
    assert_eq!(registry.version_count("ea"), 1);
    fx.file(
        "eb/src/lib.rs",
        "pub fn broken() -> u32 { \"not a number\" }\n",
    );

    let resumed = fx.resume_cmd(&registry).run();
    let err = resumed.stderr();
    assert_eq!(resumed.code(), 4, "{err}");
    assert!(err.contains("the release is incomplete"), "{err}");
    assert!(err.contains("cargo shipper resume"), "{err}");
    assert_eq!(registry.version_count("ea"), 1, "ea stored once");
    assert_eq!(registry.version_count("eb"), 0, "nothing of eb");
    assert_eq!(registry.registry.upload_counts().requests, 1, "{err}");
}
