//! The scheduler on a wider DAG than `--uploads-in-flight`: every crate starts uploading
//! only after each of its plan dependencies is visible in the index, and
//! every crate goes out exactly once.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::support::{Fixture, TestRegistry, count};

/// `n` crates in `levels` levels; each depends on one to three crates of
/// lower levels (deterministic), some through versioned dev-dependencies.
fn dag(n: usize, levels: usize, seed: u64) -> (Fixture, BTreeMap<String, Vec<String>>) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let fx = Fixture::new();
    let names: Vec<String> = (0..n).map(|i| format!("dag{i:02}")).collect();
    let level = |i: usize| i * levels / n;
    let mut deps: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let members: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    fx.file(
        "Cargo.toml",
        &format!(
            "[workspace]\nresolver = \"2\"\nmembers = [{}]\n",
            members.join(", ")
        ),
    );
    for (i, name) in names.iter().enumerate() {
        let lower: Vec<usize> = (0..i).filter(|&j| level(j) < level(i)).collect();
        let mut mine: Vec<String> = Vec::new();
        let mut text = String::from("[dependencies]\n");
        if !lower.is_empty() {
            for _ in 0..rng.usize(1..=3) {
                let j = lower[rng.usize(..lower.len())];
                if !mine.contains(&names[j]) {
                    mine.push(names[j].clone());
                    text.push_str(&format!(
                        "{0} = {{ path = \"../{0}\", version = \"0.1.0\" }}\n",
                        names[j]
                    ));
                }
            }
        }
        if lower.len() > 1 && rng.bool() {
            let j = lower[rng.usize(..lower.len())];
            if !mine.contains(&names[j]) {
                mine.push(names[j].clone());
                text.push_str(&format!(
                    "[dev-dependencies]\n{0} = {{ path = \"../{0}\", version = \"0.1.0\" }}\n",
                    names[j]
                ));
            }
        }
        fx.package(name, name, "0.1.0", &text);
        deps.insert(name.clone(), mine);
    }
    (fx, deps)
}

#[test]
fn dependents_start_only_after_their_dependencies_are_visible() {
    for seed in [1, 2] {
        let registry = TestRegistry::start_knobs(|k| {
            k.propagation_delay = Duration::from_millis(60);
            k.upload_latency = Duration::from_millis(20);
        });
        let (fx, deps) = dag(14, 4, seed);
        fx.use_registry(&registry);
        let run = fx.publish(
            &registry,
            &[
                "--no-verify",
                "--uploads-in-flight",
                "2",
                "--message-format",
                "json",
            ],
        );
        let events: Vec<serde_json::Value> = run
            .ok()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let position = |kind: &str, name: &str| {
            events
                .iter()
                .position(|e| e["kind"] == kind && e["name"] == name)
                .unwrap_or_else(|| panic!("seed {seed}: no {kind} for {name}"))
        };
        for (name, mine) in &deps {
            assert_eq!(
                count(&events, "upload_started", name),
                1,
                "seed {seed}: {name}"
            );
            assert_eq!(count(&events, "visible", name), 1, "seed {seed}: {name}");
            for dep in mine {
                assert!(
                    position("visible", dep) < position("upload_started", name),
                    "seed {seed}: {name} started before {dep} was visible"
                );
            }
            assert_eq!(registry.version_count(name), 1);
        }
        // Never more than --uploads-in-flight uploads in flight.
        let mut in_flight = 0i32;
        for e in &events {
            match e["kind"].as_str() {
                Some("upload_started") => in_flight += 1,
                Some("upload_succeeded" | "upload_failed") => in_flight -= 1,
                _ => {}
            }
            assert!(in_flight <= 2, "seed {seed}: {in_flight} uploads in flight");
        }
    }
}
