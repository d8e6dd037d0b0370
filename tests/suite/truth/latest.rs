//! Item 6: `latest` is the release, not the last no-op rerun.

use std::time::Duration;

use crate::support::{DEMO_CRATES, TestRegistry, TrustedSetup, demo_workspace};
use crate::truth::yank_undo::yanked;

#[test]
fn a_no_op_rerun_leaves_latest_naming_the_release_and_its_yank_plan_yanks_it() {
    let registry = TestRegistry::start();
    let fx = demo_workspace();
    fx.use_registry(&registry);
    fx.publish(&registry, &[]).ok();
    let uploads = registry.registry.upload_counts().requests;

    let rerun = fx.publish(&registry, &[]);
    rerun.ok();
    assert_eq!(
        registry.registry.upload_counts().requests,
        uploads,
        "nothing uploaded"
    );
    assert!(
        rerun.stderr().contains("Finished nothing to upload"),
        "{}",
        rerun.stderr()
    );
    assert!(
        rerun.stderr().contains("`latest` still names the release"),
        "{}",
        rerun.stderr()
    );

    let plan = fx.root().join("yank-plan.json");
    let plan_arg = plan.to_str().unwrap();
    let planned = fx.shipper_env(
        &registry,
        &["plan-yank", "--from-receipt", "latest", "-o", plan_arg],
        &[],
    );
    planned.ok();
    assert!(
        planned
            .stderr()
            .contains("newest receipt that uploaded something"),
        "says which receipt it picked: {}",
        planned.stderr()
    );
    let plan_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&plan).unwrap()).unwrap();
    assert_eq!(plan_json["crates"].as_array().unwrap().len(), 6);

    fx.yank_cmd(&registry).args(["--plan", plan_arg]).run().ok();
    for name in DEMO_CRATES {
        assert_eq!(yanked(&registry, name, "0.1.0"), Some(true), "{name}");
    }
}

#[test]
fn trusted_publishing_on_with_nothing_to_upload_exits_0_and_leaves_no_run() {
    let setup = TrustedSetup::demo(Duration::from_secs(60));
    let fx = demo_workspace();
    fx.use_registry(&setup.registry);
    fx.publish_trusted(&setup, &[], &[]).ok();
    for name in DEMO_CRATES {
        assert_eq!(setup.registry.version_count(name), 1, "{name}");
    }
    let uploads = setup.registry.registry.upload_counts().requests;
    let minted = setup.registry.registry.minted_tokens().len();

    let rerun = fx.publish_trusted(&setup, &["--trusted-publishing", "on"], &[]);
    assert_eq!(rerun.code(), 0, "{}", rerun.stderr());
    assert!(
        !fx.root().join(".shipper/current").exists(),
        "no unfinished run"
    );
    assert_eq!(setup.registry.registry.upload_counts().requests, uploads);
    assert_eq!(
        setup.registry.registry.minted_tokens().len(),
        minted,
        "no token minted for nothing"
    );
    // Outside a CI job too: no ID token is needed for nothing.
    let mut outside = fx
        .publish_cmd(&setup.registry)
        .trusted(&setup)
        .no_fast()
        .args(["--no-verify", "--trusted-publishing", "on"])
        .command();
    outside
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
    let outside = crate::support::Run(outside.output().unwrap());
    assert_eq!(outside.code(), 0, "{}", outside.stderr());
    assert!(
        !fx.root().join(".shipper/current").exists(),
        "no unfinished run"
    );
    // And `latest` is still the release.
    let planned = fx.shipper_trusted(&setup, &["plan-yank", "--from-receipt", "latest"], &[]);
    planned.ok();
}
