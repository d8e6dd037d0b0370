//! Every registry fault knob against `publish`: each ends as its failure
//! class says, nothing is lost, nothing is published twice, no token leaks.

use std::time::{Duration, Instant};

use crate::support::{TestRegistry, archived_published, assert_no_token, chain, count, events_in};
use cargo_shipper::local_registry::{RetryAfter, UploadFault};

fn events(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

const JSON: [&str; 3] = ["--no-verify", "--message-format", "json"];

#[test]
fn server_errors_are_retried() {
    let registry = TestRegistry::start_knobs(|k| {
        k.upload_faults = vec![(1, UploadFault::Status(503)), (2, UploadFault::Status(502))]
    });
    let fx = chain(&["r5a", "r5b"]);
    fx.use_registry(&registry);
    let run = fx.publish(&registry, &JSON);
    let events = events(&run.ok());
    let failures: Vec<_> = events
        .iter()
        .filter(|e| e["kind"] == "upload_failed")
        .collect();
    assert_eq!(failures.len(), 2);
    assert!(failures.iter().all(|f| f["class"] == "retryable"));
    assert_eq!(count(&events, "upload_started", "r5a"), 3);
    assert_eq!(registry.version_count("r5a"), 1);
    assert_eq!(registry.version_count("r5b"), 1);
    assert_no_token(&fx, &registry, &[&run]);
}

#[test]
fn rate_limits_wait_as_told_in_seconds_and_as_a_date() {
    for retry in [RetryAfter::Seconds(1), RetryAfter::HttpDate(2)] {
        let registry = TestRegistry::start_knobs(|k| {
            k.upload_faults = vec![(1, UploadFault::RateLimited(retry))]
        });
        let fx = chain(&["rl"]);
        fx.use_registry(&registry);
        let started = Instant::now();
        let run = fx.publish(&registry, &JSON);
        let events = events(&run.ok());
        let failed = events
            .iter()
            .find(|e| e["kind"] == "upload_failed")
            .expect("a 429");
        assert_eq!(failed["class"], "rate_limited");
        let told = failed["retry_after_ms"].as_u64().expect("Retry-After read");
        assert!(told >= 500, "{retry:?}: {told}");
        // It waited instead of hammering: one retry, after the time it was told.
        assert_eq!(count(&events, "upload_started", "rl"), 2);
        assert!(
            started.elapsed() >= Duration::from_millis(told.min(1000)),
            "{retry:?}"
        );
        assert_eq!(registry.version_count("rl"), 1);
    }
}

#[test]
fn dropped_connection_after_store_is_reconciled_not_reuploaded() {
    let registry =
        TestRegistry::start_knobs(|k| k.upload_faults = vec![(1, UploadFault::DropAfterStore)]);
    let fx = chain(&["amb", "amb-next"]);
    fx.use_registry(&registry);
    let run = fx.publish(&registry, &JSON);
    let events = events(&run.ok());
    let failed = events
        .iter()
        .find(|e| e["kind"] == "upload_failed")
        .unwrap();
    assert_eq!(failed["class"], "ambiguous");
    let reconciled = events.iter().find(|e| e["kind"] == "reconciled").unwrap();
    assert_eq!(reconciled["name"], "amb");
    assert!(reconciled["found_sha256"].is_string());
    assert_eq!(
        count(&events, "upload_started", "amb"),
        1,
        "never uploaded twice"
    );
    assert_eq!(registry.version_count("amb"), 1);
    assert_eq!(registry.version_count("amb-next"), 1);
}

#[test]
fn slow_propagation_past_the_timeout_is_partial_then_resumes() {
    let registry = TestRegistry::start_knobs(|k| k.propagation_delay = Duration::from_millis(2500));
    let fx = chain(&["slow", "slow-next"]);
    fx.use_registry(&registry);
    let first = fx.publish(&registry, &["--no-verify", "--confirm-timeout", "1"]);
    assert_eq!(first.code(), 4, "{}", first.stderr());
    assert!(
        first.stderr().contains("not in the index after"),
        "{}",
        first.stderr()
    );
    assert!(
        first.stderr().contains("Blocked slow-next"),
        "{}",
        first.stderr()
    );
    // Resume while `slow` may still be invisible: its dependent must still
    // package (cargo's overlay holds `slow`), and `slow` is only confirmed.
    let second = fx
        .resume_cmd(&registry)
        .retry_delay_ms(None)
        .arg("--no-verify")
        .run();
    second.ok();
    let events = events_in(&archived_published(&fx));
    assert_eq!(
        count(&events, "upload_started", "slow"),
        1,
        "confirmed again, not re-uploaded"
    );
    assert_eq!(count(&events, "visibility_timed_out", "slow"), 1);
    assert_eq!(count(&events, "visible", "slow"), 1);
    assert_eq!(registry.version_count("slow-next"), 1);
}

#[test]
fn flapping_index_still_confirms() {
    let registry = TestRegistry::start_knobs(|k| k.flapping_index = true);
    let fx = chain(&["flap", "flap-next"]);
    fx.use_registry(&registry);
    let run = fx.publish(&registry, &JSON);
    let events = events(&run.ok());
    assert_eq!(count(&events, "visible", "flap"), 1);
    assert_eq!(count(&events, "upload_started", "flap"), 1);
    // Our own reads flap too: one of two consecutive reads answers.
    let seen = registry
        .version_count("flap-next")
        .max(registry.version_count("flap-next"));
    assert_eq!(seen, 1);
}

#[test]
fn bad_token_is_permanent_and_nothing_is_uploaded() {
    let registry = TestRegistry::start();
    let fx = chain(&["tok", "tok-next"]);
    fx.use_registry(&registry);
    let run = fx
        .publish_cmd(&registry)
        .no_fast()
        .args(["--no-verify", "--message-format", "json"])
        .env("CARGO_REGISTRIES_LOCAL_TOKEN", "wrong-token-value")
        .run();
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let events = events(&run.stdout());
    let failed = events
        .iter()
        .find(|e| e["kind"] == "upload_failed")
        .unwrap();
    assert_eq!(failed["class"], "permanent");
    assert!(
        failed["message"].as_str().unwrap().contains("403"),
        "{failed}"
    );
    assert_eq!(count(&events, "upload_started", "tok"), 1, "not retried");
    assert_eq!(events.last().unwrap()["outcome"], "nothing_uploaded");
    assert!(events.iter().any(|e| e["kind"] == "skipped"
        && e["name"] == "tok-next"
        && e["reason"] == "dependency_failed"));
    assert_eq!(registry.version_count("tok"), 0);
    let all = [run.0.stdout.clone(), run.0.stderr.clone(), fx.state_bytes()].concat();
    assert!(
        !all.windows(17).any(|w| w == b"wrong-token-value"),
        "the bad token leaked"
    );
}

#[test]
fn missing_token_says_how_to_provide_one() {
    let registry = TestRegistry::start();
    let fx = chain(&["notok"]);
    fx.use_registry(&registry);
    let run = fx
        .publish_cmd(&registry)
        .no_fast()
        .arg("--no-verify")
        .env("CARGO_REGISTRIES_LOCAL_TOKEN", "")
        .run();
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(run.stderr().contains("token"), "{}", run.stderr());
    assert_eq!(registry.version_count("notok"), 0);
}

#[test]
fn a_hostile_index_answer_is_a_clear_error_and_nothing_is_uploaded() {
    let registry = TestRegistry::start_knobs(|k| k.garbage_index = true);
    let fx = chain(&["hostile"]);
    fx.use_registry(&registry);
    let run = fx.publish(&registry, &["--no-verify"]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let err = run.stderr();
    assert!(
        err.contains("could not ask the registry about `hostile`"),
        "{err}"
    );
    assert!(err.contains("malformed"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!err.contains("Uploaded"), "nothing uploaded: {err}");
}
