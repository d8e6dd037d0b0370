//! crates.io's rate limits, emulated by the embedded registry
//! (`--rate-limit crates-io`, clock 600 times faster) and met by the
//! pacing profile on the same clock: no 429, and the uploads as close to
//! the token-bucket optimum as the limits allow.

use crate::support;

use crate::support::{Fixture, TestRegistry, events_in};
use cargo_shipper::local_registry::RateLimit;

const SCALE: u64 = 600;

/// `n` crates that depend on nothing, paced like crates.io on a clock
/// `SCALE` times faster.
fn independent(n: usize) -> (Fixture, Vec<String>) {
    let fx = Fixture::new();
    let names: Vec<String> = (0..n).map(|i| format!("rl{i:02}")).collect();
    let members: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    fx.file(
        "Cargo.toml",
        &format!(
            "[workspace]\nresolver = \"2\"\nmembers = [{}]\n\n\
             [workspace.metadata.shipper.pacing]\n\
             new-crates = {{ burst = 5, per-seconds = 600 }}\n\
             new-versions = {{ burst = 30, per-seconds = 60 }}\n\
             time-scale = {SCALE}\n",
            members.join(", ")
        ),
    );
    for name in &names {
        fx.package(name, name, "0.1.0", "");
    }
    (fx, names)
}

#[test]
fn eight_new_crates_meet_the_limits_without_a_429_near_the_optimum() {
    // A bound on a duration: no other test shares the cores.
    crate::support::lanes::alone();
    let registry = TestRegistry::start_knobs(|k| {
        k.rate_limit = Some(RateLimit {
            time_scale: SCALE as u32,
        })
    });
    let (fx, names) = independent(8);
    fx.use_registry(&registry);
    let run = fx.publish(&registry, &["--no-verify", "--uploads-in-flight", "4"]);
    run.ok();
    let err = run.stderr();
    assert!(err.contains("limits add about 3.0s"), "the ETA: {err}");
    assert_eq!(registry.registry.upload_counts().rate_limited, 0);
    let events = events_in(&support::archived_published(&fx));
    assert!(!events.iter().any(|e| e["kind"] == "upload_failed"));
    let starts: Vec<u64> = events
        .iter()
        .filter(|e| e["kind"] == "upload_started")
        .map(|e| e["at_ms"].as_u64().unwrap())
        .collect();
    assert_eq!(starts.len(), names.len());
    // Five at once, then one per 600 s / 600: the last starts 3 s after the first.
    let optimum = (names.len() as u64 - 5) * 600_000 / SCALE;
    let took = starts.last().unwrap() - starts.first().unwrap();
    assert!(
        took >= optimum && took as f64 <= optimum as f64 * 1.02,
        "{took} ms against an optimum of {optimum} ms"
    );
}

/// Without a pacing profile the registry's 429s are met instead: waited out
/// for their `Retry-After` and counted as rate-limited, never as failures.
#[test]
fn without_a_profile_the_registry_s_429s_are_waited_out() {
    // A bound on a duration: no other test shares the cores.
    crate::support::lanes::alone();
    let registry = TestRegistry::start_knobs(|k| {
        k.rate_limit = Some(RateLimit {
            time_scale: SCALE as u32,
        })
    });
    let fx = Fixture::new();
    let names: Vec<String> = (0..6).map(|i| format!("np{i}")).collect();
    let members: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    fx.file(
        "Cargo.toml",
        &format!(
            "[workspace]\nresolver = \"2\"\nmembers = [{}]\n",
            members.join(", ")
        ),
    );
    for name in &names {
        fx.package(name, name, "0.1.0", "");
    }
    fx.use_registry(&registry);
    let run = fx.publish(
        &registry,
        &[
            "--no-verify",
            "--uploads-in-flight",
            "1",
            "--max-attempts",
            "1",
        ],
    );
    run.ok();
    let events = events_in(&support::archived_published(&fx));
    let limited: Vec<_> = events
        .iter()
        .filter(|e| e["kind"] == "upload_failed")
        .collect();
    assert!(!limited.is_empty(), "the sixth new crate meets a 429");
    assert!(
        limited.iter().all(|e| e["class"] == "rate_limited"),
        "{limited:?}"
    );
    assert!(registry.registry.upload_counts().rate_limited >= 1);
    for name in &names {
        assert_eq!(registry.version_count(name), 1);
    }
}
