//! Pacing: the run waits for the registry's rate limit instead of
//! collecting 429s, and a resumed run keeps the pace from the journal.

use crate::support;

use std::time::{Duration, Instant};

use crate::support::{TestRegistry, chain};
use cargo_shipper::local_registry::UploadFault;

const PACED: &str = "\n[workspace.metadata.shipper.pacing]\nnew-crates = { burst = 1, per-seconds = 1 }\nnew-versions = { burst = 1, per-seconds = 1 }\n";

fn paced_chain(names: &[&str]) -> support::Fixture {
    paced_chain_with(names, PACED)
}

fn paced_chain_with(names: &[&str], pacing: &str) -> support::Fixture {
    let fx = chain(names);
    let root = std::fs::read_to_string(fx.root().join("Cargo.toml")).unwrap();
    fx.file("Cargo.toml", &format!("{root}{pacing}"));
    fx
}

#[test]
fn uploads_wait_for_the_configured_rate() {
    let registry = TestRegistry::start();
    let fx = paced_chain(&["pa", "pb", "pc"]);
    fx.use_registry(&registry);
    let started = Instant::now();
    let run = fx.publish(&registry, &["--no-verify", "--message-format", "json"]);
    let out = run.ok();
    let events: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let planned = events
        .iter()
        .find(|e| e["kind"] == "pacing_planned")
        .expect("pacing planned");
    assert_eq!(planned["new_crates"], 3);
    assert_eq!(planned["eta_ms"], 2000);
    let paced: Vec<_> = events
        .iter()
        .filter(|e| e["kind"] == "paced")
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(paced, ["pb", "pc"]);
    assert!(
        started.elapsed() >= Duration::from_millis(1900),
        "{:?}",
        started.elapsed()
    );
    assert!(!out.contains("rate_limited"));
}

#[test]
fn a_resumed_run_keeps_the_pace_of_the_interrupted_one() {
    let registry =
        TestRegistry::start_knobs(|k| k.upload_faults = vec![(2, UploadFault::Status(500))]);
    // A period long enough that run 2 starts within it on a loaded machine.
    let fx = paced_chain_with(
        &["ra", "rb"],
        &PACED.replace("per-seconds = 1 }", "per-seconds = 4 }"),
    );
    fx.use_registry(&registry);
    // Run 1: ra goes out; rb's first upload (after the pacing wait) fails.
    assert_eq!(
        fx.publish(&registry, &["--no-verify", "--max-attempts", "1"])
            .code(),
        4
    );
    // Run 2, right away: rb's upload must wait, since the journal holds rb's
    // failed attempt a moment ago.
    let run = fx
        .resume_cmd(&registry)
        .retry_delay_ms(None)
        .args(["--no-verify", "--message-format", "json"])
        .run();
    let out = run.ok();
    assert!(out.contains("\"kind\":\"paced\""), "{out}");
}
