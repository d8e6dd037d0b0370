//! `publish` with trusted publishing against the embedded registry playing
//! crates.io: tokens minted after packaging, renewed before (and when) they
//! expire, all revoked at the end, never written anywhere; refusals that
//! say what to fix; `--stop-after` and a second job that finishes.

use crate::support;

use std::time::Duration;

use crate::support::{DEMO_CRATES, TrustedSetup, demo_workspace, events_in, github_claims};

fn count_kind(events: &[serde_json::Value], kind: &str) -> usize {
    events.iter().filter(|e| e["kind"] == kind).count()
}

fn started(events: &[serde_json::Value], name: &str) -> usize {
    events
        .iter()
        .filter(|e| e["kind"] == "upload_started" && e["name"] == name)
        .count()
}

/// The events of every run kept under `.shipper/` (current and archived).
fn all_events(fx: &support::Fixture) -> Vec<serde_json::Value> {
    let shipper = fx.root().join(".shipper");
    let mut all = events_in(&shipper.join("current"));
    if let Ok(dirs) = std::fs::read_dir(shipper.join("archive")) {
        for dir in dirs.flatten() {
            all.extend(events_in(&dir.path()));
        }
    }
    all
}

#[test]
fn a_release_longer_than_several_token_lifetimes_finishes_with_every_token_revoked() {
    let setup = TrustedSetup::start(
        &DEMO_CRATES,
        github_claims("example/demo", "release.yml", None),
        Duration::from_secs(2),
        |k| k.upload_latency = Duration::from_millis(900),
    );
    let fx = demo_workspace();
    fx.use_registry(&setup.registry);
    let run = fx.publish_trusted(
        &setup,
        &[
            "--trusted-publishing",
            "--uploads-in-flight",
            "1",
            "--token-lifetime",
            "2",
            "--message-format",
            "json",
        ],
        &[],
    );
    run.ok();
    let events: Vec<serde_json::Value> = run
        .stdout()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Minted once, after everything was packaged, right before the first upload.
    assert_eq!(count_kind(&events, "token_minted"), 1);
    let minted = events
        .iter()
        .position(|e| e["kind"] == "token_minted")
        .unwrap();
    let last_packaged = events
        .iter()
        .rposition(|e| e["kind"] == "packaged")
        .unwrap();
    let first_upload = events
        .iter()
        .position(|e| e["kind"] == "upload_started")
        .unwrap();
    assert!(last_packaged < minted && minted < first_upload);
    let renewed = count_kind(&events, "token_renewed");
    assert!(
        renewed >= 2,
        "{renewed} renewals in a run of several lifetimes"
    );
    assert_eq!(count_kind(&events, "token_revoked"), 1 + renewed);
    assert!(events.iter().all(|e| e["kind"] != "upload_failed"));
    assert_eq!(setup.registry.registry.live_minted_tokens(), 0);
    assert_eq!(setup.registry.registry.minted_tokens().len(), 1 + renewed);
    for name in DEMO_CRATES {
        assert_eq!(setup.registry.version_count(name), 1, "{name}");
        assert_eq!(started(&events, name), 1, "{name}");
    }
    // The journal says when tokens expire, never what they are.
    let minted_event = &events[minted];
    assert!(minted_event["expires_at_ms"].as_u64().unwrap() > 0);
    assert_eq!(minted_event.as_object().unwrap().len(), 4, "{minted_event}");
}

#[test]
fn a_token_the_registry_says_expired_is_renewed_without_a_failed_attempt() {
    // The registry ends tokens after one second; the client believes they
    // last an hour, so only the registry's 401 can tell it.
    let setup = TrustedSetup::start(
        &DEMO_CRATES,
        github_claims("example/demo", "release.yml", None),
        Duration::from_secs(1),
        |k| k.upload_latency = Duration::from_millis(500),
    );
    let fx = demo_workspace();
    fx.use_registry(&setup.registry);
    let run = fx.publish_trusted(
        &setup,
        &[
            "--trusted-publishing",
            "on",
            "--uploads-in-flight",
            "1",
            "--token-lifetime",
            "3600",
        ],
        &[],
    );
    run.ok();
    assert!(
        run.stderr().contains("the registry said it expired"),
        "{}",
        run.stderr()
    );
    let events = all_events(&fx);
    let expired = events
        .iter()
        .filter(|e| e["kind"] == "token_renewed" && e["reason"] == "expired")
        .count();
    assert!(expired >= 1);
    assert_eq!(count_kind(&events, "upload_failed"), 0);
    for name in DEMO_CRATES {
        assert_eq!(setup.registry.version_count(name), 1, "{name}");
        assert_eq!(started(&events, name), 1, "{name}");
    }
    assert_eq!(setup.registry.registry.live_minted_tokens(), 0);
    let receipt: serde_json::Value = serde_json::from_slice(
        &std::fs::read(support::archived(&fx).join("receipt.json")).unwrap(),
    )
    .unwrap();
    assert!(
        receipt["crates"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["attempts"] == 1),
        "{receipt}"
    );
}

#[test]
fn a_crate_without_a_configuration_stops_the_release_with_the_claims() {
    // Everything but `shipper-demo-left` is configured.
    let setup = TrustedSetup::demo_except("shipper-demo-left");
    let fx = demo_workspace();
    fx.use_registry(&setup.registry);
    let summary = fx.root().join("summary.md");
    let summary_path = summary.to_str().unwrap();
    let run = fx.publish_trusted(
        &setup,
        &["--trusted-publishing", "on", "--uploads-in-flight", "1"],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", summary_path),
        ],
    );
    assert_eq!(run.code(), 4, "{}", run.stderr());
    // In GitHub Actions: annotations naming the crate, the token's
    // lifecycle in the step summary (never the token).
    assert!(
        run.stderr()
            .contains("::error title=cargo-shipper%3A shipper-demo-left 0.1.0::"),
        "{}",
        run.stderr()
    );
    assert!(run.stderr().contains(
        "::error title=cargo-shipper%3A shipper-demo-left::trusted publishing could not authorize"
    ));
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(
        summary.contains("Registry token (trusted publishing)"),
        "{summary}"
    );
    assert!(
        summary.contains("- Token minted by trusted publishing, assumed valid until"),
        "{summary}"
    );
    assert!(summary.contains("- Token revoked"), "{summary}");
    for secret in setup.secrets() {
        assert!(!summary.contains(&secret), "a secret in the step summary");
    }
    let stderr = run.stderr();
    assert!(
        stderr.contains("could not authorize `shipper-demo-left`"),
        "{stderr}"
    );
    assert!(stderr.contains("repository example/demo"), "{stderr}");
    assert!(
        stderr.contains("example/demo/.github/workflows/release.yml@refs/heads/main"),
        "{stderr}"
    );
    assert!(stderr.contains("ref refs/heads/main"), "{stderr}");
    assert!(stderr.contains("environment release"), "{stderr}");
    assert_eq!(setup.registry.version_count("shipper-demo-core"), 1);
    for name in &DEMO_CRATES[1..] {
        assert_eq!(
            setup.registry.version_count(name),
            0,
            "{name} went out after the refusal"
        );
    }
    assert_eq!(setup.registry.registry.live_minted_tokens(), 0);
}

#[test]
fn a_repository_with_no_configuration_is_refused_before_anything_goes_out() {
    let setup = TrustedSetup::start(
        &DEMO_CRATES,
        github_claims("someone/fork", "release.yml", None),
        Duration::from_secs(60),
        |_| {},
    );
    let fx = demo_workspace();
    fx.use_registry(&setup.registry);
    let run = fx.publish_trusted(&setup, &["--trusted-publishing", "on"], &[]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let stderr = run.stderr();
    assert!(
        stderr.contains("could not authorize `shipper-demo-core`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("No Trusted Publishing config found for repository `someone/fork`"),
        "{stderr}"
    );
    assert!(stderr.contains("repository someone/fork"), "{stderr}");
    for name in DEMO_CRATES {
        assert_eq!(setup.registry.version_count(name), 0, "{name}");
    }
}

#[test]
fn auto_uses_the_provider_only_when_no_token_is_configured() {
    let setup = TrustedSetup::demo(Duration::from_secs(60));
    let fx = demo_workspace();
    fx.use_registry(&setup.registry);
    // A configured token wins over the provider under `auto` (the default).
    let token = setup.registry.registry.token().to_owned();
    let run = fx.publish_trusted(
        &setup,
        &["-p", "shipper-demo-core"],
        &[("CARGO_REGISTRIES_LOCAL_TOKEN", &token)],
    );
    run.ok();
    assert!(setup.registry.registry.minted_tokens().is_empty());
    // Without one, `auto` mints.
    let run = fx.publish_trusted(
        &setup,
        &["-p", "shipper-demo-left", "--message-format", "json"],
        &[],
    );
    run.ok();
    assert_eq!(setup.registry.registry.minted_tokens().len(), 1);
    assert_eq!(setup.registry.registry.live_minted_tokens(), 0);
}

#[test]
fn stop_after_stops_cleanly_and_another_job_with_the_saved_state_finishes() {
    let setup = TrustedSetup::start(
        &DEMO_CRATES,
        github_claims("example/demo", "release.yml", None),
        Duration::from_secs(60),
        |k| k.upload_latency = Duration::from_millis(1500),
    );
    let fx = demo_workspace();
    fx.use_registry(&setup.registry);
    let first = fx.publish_trusted(
        &setup,
        &[
            "--trusted-publishing",
            "on",
            "--uploads-in-flight",
            "1",
            "--stop-after",
            "6s",
        ],
        &[("GITHUB_ACTIONS", "true")],
    );
    assert_eq!(first.code(), 8, "{}", first.stderr());
    // A planned stop: a notice and a status line, no error.
    assert!(
        first
            .stderr()
            .contains("::notice title=cargo-shipper::stopped by")
    );
    assert!(!first.stderr().contains("::error"), "{}", first.stderr());
    assert!(!first.stderr().contains("error:"), "{}", first.stderr());
    assert!(
        first.stderr().contains("stopped by `--stop-after`"),
        "{}",
        first.stderr()
    );
    let events = events_in(&fx.root().join(".shipper/current"));
    // Every upload that started got its outcome; the run ended on the record.
    assert_eq!(
        count_kind(&events, "upload_started"),
        count_kind(&events, "upload_succeeded")
    );
    assert_eq!(events.last().unwrap()["kind"], "run_finished");
    assert!(count_kind(&events, "visible") < DEMO_CRATES.len());
    assert_eq!(setup.registry.registry.live_minted_tokens(), 0);

    // The next job restores the state directory from an artifact.
    let artifact = tempfile::tempdir().unwrap();
    support::copy_tree(&fx.root().join(".shipper"), &artifact.path().join("state"));
    std::fs::remove_dir_all(fx.root().join(".shipper")).unwrap();
    support::copy_tree(&artifact.path().join("state"), &fx.root().join(".shipper"));
    let second = fx.publish_trusted(
        &setup,
        &["--trusted-publishing", "on", "--uploads-in-flight", "4"],
        &[],
    );
    second.ok();
    let events = all_events(&fx);
    for name in DEMO_CRATES {
        assert_eq!(setup.registry.version_count(name), 1, "{name}");
        assert_eq!(started(&events, name), 1, "{name}");
    }
    assert_eq!(setup.registry.registry.live_minted_tokens(), 0);
}

#[test]
fn a_gitlab_job_exchanges_the_id_token_from_its_variable() {
    let setup = TrustedSetup::demo(Duration::from_secs(60));
    let fx = demo_workspace();
    fx.use_registry(&setup.registry);
    let jwt = setup.provider.jwt_for(&setup.audience()).unwrap();
    // No GitHub request variables: the ID token comes from the job's variable.
    let run = fx.publish_trusted(
        &setup,
        &["-p", "shipper-demo-core", "--oidc-token-var", "MY_ID_TOKEN"],
        &[
            ("ACTIONS_ID_TOKEN_REQUEST_URL", ""),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", ""),
            ("MY_ID_TOKEN", &jwt),
        ],
    );
    run.ok();
    assert_eq!(setup.registry.version_count("shipper-demo-core"), 1);
    assert_eq!(setup.registry.registry.minted_tokens().len(), 1);
    assert_eq!(setup.registry.registry.live_minted_tokens(), 0);
}
