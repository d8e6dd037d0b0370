//! Item 7: `status` and `preflight` tell the truth: "will wait for the
//! index" is not "will upload"; a check that cannot affect this release
//! does not block it, and its advice names this registry's variable; a
//! crate without a trusted-publishing configuration is said to lack one.

use std::time::Duration;

use crate::support::{Fixture, TestRegistry, TrustedSetup, chain, demo_workspace};

#[test]
fn status_says_resume_waits_for_an_upload_the_registry_accepted() {
    // The index shows new versions a minute after their upload.
    let registry = TestRegistry::start_knobs(|k| k.propagation_delay = Duration::from_secs(60));
    let fx = chain(&["tsa", "tsb"]);
    fx.use_registry(&registry);
    // Killed right after the registry accepted `tsa`, before the index showed it.
    let killed = fx
        .publish_cmd(&registry)
        .arg("--no-verify")
        .env("SHIPPER_FAILPOINT", "before-confirm")
        .run();
    assert!(!killed.0.status.success());
    assert_eq!(registry.registry.upload_counts().requests, 1);
    assert_eq!(registry.version_count("tsa"), 0, "not in the index yet");

    let run = fx.shipper_env(
        &registry,
        &["status", "--registry", "local", "--message-format", "json"],
        &[],
    );
    let doc: serde_json::Value = serde_json::from_str(&run.ok()).unwrap();
    assert_eq!(
        doc["next"],
        serde_json::json!({"action": "resume", "upload": 1, "settle": 0, "wait": 1}),
        "tsa is waited for, only tsb is uploaded"
    );
    let human = fx
        .shipper_env(&registry, &["status", "--registry", "local"], &[])
        .ok();
    assert!(
        human.contains(
            "`cargo shipper resume` will wait for the index to show 1 crate the registry already \
             accepted (not uploaded again), then upload 1 crate"
        ),
        "{human}"
    );
    assert!(!human.contains("will upload 2 crates"), "{human}");
}

#[test]
fn a_rejected_token_blocks_preflight_only_when_the_release_uploads() {
    let registry = TestRegistry::start();
    let fx = chain(&["tpa"]);
    fx.use_registry(&registry);
    let wrong = [("CARGO_REGISTRIES_LOCAL_TOKEN", "not-the-token")];
    let preflight = |env: &[(&str, &str)]| {
        fx.shipper_env(
            &registry,
            &[
                "preflight",
                "--registry",
                "local",
                "--allow-dirty",
                "--no-verify",
            ],
            env,
        )
    };
    // Something to upload: the rejected token blocks, and the advice names
    // the variable cargo reads for this registry.
    let blocked = preflight(&wrong);
    assert_eq!(blocked.code(), 7, "{}", blocked.stderr());
    let text = format!("{}{}", blocked.stdout(), blocked.stderr());
    assert!(text.contains("CARGO_REGISTRIES_LOCAL_TOKEN"), "{text}");
    assert!(!text.contains("CARGO_REGISTRY_TOKEN"), "{text}");

    let publish = || fx.publish_cmd(&registry).arg("--no-verify");
    publish().run().ok();
    assert_eq!(registry.version_count("tpa"), 1);
    let uploads = registry.registry.upload_counts().requests;

    // Nothing to upload: the same token cannot fail this release.
    let ready = preflight(&wrong);
    assert_eq!(ready.code(), 0, "{}{}", ready.stdout(), ready.stderr());
    let again = publish().envs(wrong).run();
    assert_eq!(again.code(), 0, "{}", again.stderr());
    assert_eq!(registry.registry.upload_counts().requests, uploads);
}

#[test]
fn a_crate_without_a_trusted_publishing_configuration_is_said_to_lack_one() {
    // First versions are accepted; every demo crate but one is configured.
    let setup = TrustedSetup::demo_except("shipper-demo-left");
    let fx: Fixture = demo_workspace();
    fx.use_registry(&setup.registry);
    let run = fx.publish_trusted(
        &setup,
        &["--trusted-publishing", "on", "--uploads-in-flight", "1"],
        &[],
    );
    assert_eq!(run.code(), 4, "{}", run.stderr());
    assert_eq!(
        setup.registry.version_count("shipper-demo-core"),
        1,
        "a first version went out by trusted publishing"
    );
    assert_eq!(setup.registry.version_count("shipper-demo-left"), 0);
    let stderr = run.stderr();
    assert!(
        stderr.contains(
            "the registry has no trusted-publishing configuration for `shipper-demo-left`"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("first version"), "{stderr}");
}
