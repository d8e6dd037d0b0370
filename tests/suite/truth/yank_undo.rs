//! Item 5: `yank --undo` reverts only what the yank run did; a version
//! that was yanked before the run stays yanked.

use crate::support::{DEMO_CRATES, TestRegistry, demo_workspace};

/// `name@version` -> yanked, from the index as the registry serves it.
pub fn yanked(registry: &TestRegistry, name: &str, version: &str) -> Option<bool> {
    registry.index_entry(name).text().lines().find_map(|line| {
        let v: serde_json::Value = serde_json::from_str(line).ok()?;
        (v["vers"] == version).then(|| v["yanked"].as_bool().unwrap())
    })
}

#[test]
fn undo_leaves_a_version_yanked_before_the_yank_run_yanked() {
    let registry = TestRegistry::start();
    let fx = demo_workspace();
    fx.use_registry(&registry);
    fx.publish(&registry, &["--no-verify"]).ok(); // a release to yank
    let plan = fx.root().join("yank-plan.json");
    let plan_arg = plan.to_str().unwrap();
    fx.shipper_env(
        &registry,
        &["plan-yank", "--from-receipt", "latest", "-o", plan_arg],
        &[],
    )
    .ok();

    // Someone yanks one version by hand before the yank run.
    let by_hand = "shipper-demo-core";
    fx.cargo(
        &registry,
        &["yank", "--registry", "local", "--version", "0.1.0", by_hand],
    )
    .ok();
    assert_eq!(yanked(&registry, by_hand, "0.1.0"), Some(true));

    let yank = |extra: &[&str]| {
        fx.yank_cmd(&registry)
            .args(["--plan", plan_arg])
            .args(extra)
            .run()
    };
    yank(&[]).ok();
    for name in DEMO_CRATES {
        assert_eq!(yanked(&registry, name, "0.1.0"), Some(true), "{name}");
    }
    // A rerun finds everything yanked; it must not make the yank run's
    // versions look like someone else's.
    yank(&[]).ok();

    let dry = yank(&["--undo", "--dry-run"]);
    dry.ok();
    assert!(
        dry.stderr()
            .contains(&format!("Would leave {by_hand} 0.1.0 yanked")),
        "{}",
        dry.stderr()
    );

    let undo = yank(&["--undo"]);
    undo.ok();
    assert!(
        undo.stderr().contains(&format!("{by_hand} 0.1.0 yanked")),
        "{}",
        undo.stderr()
    );
    assert!(
        undo.stderr().contains("Finished 5 versions unyanked"),
        "{}",
        undo.stderr()
    );
    for name in DEMO_CRATES {
        let want = name == by_hand;
        assert_eq!(
            yanked(&registry, name, "0.1.0"),
            Some(want),
            "{name}: yanked before the run stays yanked, the rest are unyanked"
        );
    }
}

#[test]
fn undo_without_the_yank_runs_journal_asks_nothing() {
    let registry = TestRegistry::start();
    let fx = demo_workspace();
    fx.use_registry(&registry);
    fx.publish(&registry, &["--no-verify"]).ok(); // a release to yank
    let plan = fx.root().join("yank-plan.json");
    let plan_arg = plan.to_str().unwrap();
    fx.shipper_env(
        &registry,
        &["plan-yank", "--from-receipt", "latest", "-o", plan_arg],
        &[],
    )
    .ok();
    fx.cargo(
        &registry,
        &[
            "yank",
            "--registry",
            "local",
            "--version",
            "0.1.0",
            "shipper-demo-core",
        ],
    )
    .ok();
    let undo = fx.shipper_env(&registry, &["yank", "--plan", plan_arg, "--undo"], &[]);
    assert_eq!(undo.code(), 1, "{}", undo.stderr());
    assert!(
        undo.stderr().contains("no yank run of this plan"),
        "{}",
        undo.stderr()
    );
    assert_eq!(yanked(&registry, "shipper-demo-core", "0.1.0"), Some(true));
    assert!(!fx.root().join(".shipper/yank/current").exists());
}
