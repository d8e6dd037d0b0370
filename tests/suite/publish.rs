//! `cargo shipper publish` end to end against the embedded registry.

use crate::support;

use crate::support::{DEMO_CRATES, TestRegistry, assert_no_token, demo_workspace};

#[test]
fn publishes_the_demo_in_order_and_archives_the_receipt() {
    let registry = TestRegistry::start();
    let fx = demo_workspace();
    fx.use_registry(&registry);
    let run = fx.publish(&registry, &["--message-format", "json"]);
    let stdout = run.ok();
    for name in DEMO_CRATES {
        assert_eq!(registry.index_entry(name).status, 200, "{name}");
    }
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON lines"))
        .collect();
    let visible: Vec<&str> = events
        .iter()
        .filter(|e| e["kind"] == "visible")
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(visible.len(), 6);
    // Each crate is visible before anything that depends on it starts uploading.
    let pos = |kind: &str, name: &str| {
        events
            .iter()
            .position(|e| e["kind"] == kind && e["name"] == name)
            .unwrap_or_else(|| panic!("{kind} {name}"))
    };
    assert!(pos("visible", "shipper-demo-core") < pos("upload_started", "shipper-demo-left"));
    assert!(pos("visible", "shipper-demo-right") < pos("upload_started", "shipper-demo-app"));
    assert!(pos("visible", "shipper-demo-testkit") < pos("upload_started", "shipper-demo-cli"));
    assert_eq!(events.last().unwrap()["kind"], "run_finished");
    assert_eq!(events.last().unwrap()["outcome"], "success");

    // The finished run is archived: the next release starts clean.
    let shipper = fx.root().join(".shipper");
    assert!(!shipper.join("current").exists());
    let archive: Vec<_> = std::fs::read_dir(shipper.join("archive"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(archive.len(), 1);
    let receipt: serde_json::Value =
        serde_json::from_slice(&std::fs::read(archive[0].path().join("receipt.json")).unwrap())
            .unwrap();
    assert_eq!(receipt["outcome"], "success");
    assert_eq!(receipt["crates"].as_array().unwrap().len(), 6);
    assert_eq!(receipt["crates"][4]["name"], "shipper-demo-app");
    assert_eq!(
        receipt["crates"][4]["depends_on"],
        serde_json::json!(["shipper-demo-left", "shipper-demo-right"])
    );
    assert_eq!(receipt["crates"][0]["outcome"], "published");
    assert_eq!(receipt["crates"][0]["sha256"].as_str().unwrap().len(), 64);
    assert_no_token(&fx, &registry, &[&run]);

    // A rerun: everything is already there; nothing uploaded, all skipped with a reason.
    let again = fx.publish(&registry, &["--message-format", "json"]);
    let out = again.ok();
    assert_eq!(
        out.matches("\"reason\":\"already_in_registry\"").count(),
        6,
        "{out}"
    );
    assert!(!out.contains("upload_started"));
}

#[test]
fn dry_run_packages_and_verifies_but_uploads_nothing() {
    let registry = TestRegistry::start();
    let fx = demo_workspace();
    fx.use_registry(&registry);
    let run = fx.publish(&registry, &["--dry-run"]);
    run.ok();
    let err = run.stderr();
    assert!(
        err.contains("Would upload shipper-demo-core 0.1.0"),
        "{err}"
    );
    for name in DEMO_CRATES {
        assert_eq!(registry.index_entry(name).status, 404);
    }
    assert!(
        !fx.root().join(".shipper/current/events.jsonl").exists(),
        "a dry run keeps no journal"
    );
}

#[test]
fn github_step_summary_gets_a_table() {
    let registry = TestRegistry::start();
    let fx = support::chain(&["gsa", "gsb"]);
    fx.use_registry(&registry);
    let summary = fx.root().join("summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    fx.publish_cmd(&registry)
        .no_fast()
        .arg("--no-verify")
        .env("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())
        .run()
        .ok();
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(text.starts_with("earlier step\n"), "appended, not replaced");
    assert!(text.contains("| gsa | 0.1.0 | published | 1 |"), "{text}");
    assert!(text.contains("| gsb | 0.1.0 | published | 1 |"), "{text}");
}

#[test]
fn a_registry_that_needs_a_token_to_read_works_too() {
    let dir = tempfile::tempdir().unwrap();
    let inner = TestRegistry::start_with(dir.path(), |c| c.auth_required = true);
    let registry = support::TestRegistry::wrap(inner, dir);
    let fx = support::chain(&["pra", "prb"]);
    fx.use_registry(&registry);
    fx.publish(&registry, &["--no-verify"]).ok();
    let auth = format!("Authorization: {}", registry.registry.token());
    for name in ["pra", "prb"] {
        let url = cargo_shipper::registry::SparseIndexReader::new(
            &cargo_shipper::registry::Http::plain(),
            &registry.index_url(),
        )
        .crate_url(name)
        .unwrap();
        assert_eq!(support::http("GET", &url, &[], &[]).unwrap().status, 401);
        assert_eq!(
            support::http("GET", &url, &[&auth], &[]).unwrap().status,
            200
        );
    }
}

#[test]
fn quiet_prints_nothing_when_all_goes_well() {
    let registry = TestRegistry::start();
    let fx = support::chain(&["qa", "qb"]);
    fx.use_registry(&registry);
    let run = fx.publish(&registry, &["--no-verify", "-q"]);
    run.ok();
    assert_eq!(run.stderr().trim(), "", "{}", run.stderr());
    assert_eq!(registry.version_count("qb"), 1);
}

#[test]
fn publishing_linked_members_elsewhere_without_replacing_crates_io_gets_a_hint() {
    // crates.io is played by an empty embedded registry (cargo's test
    // switch), so the failure is the one a user meets, without the network.
    let cratesio = TestRegistry::start();
    let registry = TestRegistry::start();
    let fx = support::chain(&["hna", "hnb"]);
    fx.cargo_config(&registry.registry.cargo_config("local"));
    let run = fx
        .publish_cmd(&registry)
        .no_fast()
        .arg("--no-verify")
        .env(
            "__CARGO_TEST_CRATES_IO_URL_DO_NOT_USE_THIS",
            cratesio.index_url(),
        )
        .run();
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let err = run.stderr();
    assert!(
        err.contains("`[source.crates-io] replace-with = \"local\"`"),
        "{err}"
    );
    assert_eq!(registry.version_count("hna"), 0);
}
