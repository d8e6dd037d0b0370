//! Trusted publishing beyond `publish`: `yank` (and `--undo`) mints its
//! token at the first request, renews it through a long paced run, revokes
//! every token at the end, and stops at a crate the job is not trusted for;
//! `rehearse --registry` uses it against a registry that plays it, and
//! refuses it for the embedded one; a release stopped by SIGINT revokes
//! its tokens before it exits.

use crate::support;

use std::process::Stdio;
use std::time::Duration;

use crate::support::child;
use crate::support::{DEMO_CRATES, Fixture, TrustedSetup, demo_workspace, github_claims};

fn count_kind(events: &[serde_json::Value], kind: &str) -> usize {
    events.iter().filter(|e| e["kind"] == kind).count()
}

/// The events of every yank run kept under `.shipper/yank/`.
fn yank_events(fx: &Fixture) -> Vec<serde_json::Value> {
    let dir = fx.root().join(".shipper/yank");
    let mut all = support::events_in(&dir.join("current"));
    for run in std::fs::read_dir(dir.join("archive")).into_iter().flatten() {
        all.extend(support::events_in(&run.unwrap().path()));
    }
    all
}

/// The demo published to `setup`'s registry with its own token, then a
/// yank plan of it written to `p.json`; `pacing`: `yanks = …` for the
/// workspace. Returns the plan's path.
fn published_and_planned(fx: &Fixture, setup: &TrustedSetup, pacing: Option<&str>) -> String {
    fx.use_registry(&setup.registry);
    fx.publish(&setup.registry, &[]).ok();
    if let Some(pacing) = pacing {
        let manifest = fx.root().join("Cargo.toml");
        let mut text = std::fs::read_to_string(&manifest).unwrap();
        text.push_str(&format!(
            "\n[workspace.metadata.shipper.pacing]\nyanks = {pacing}\n"
        ));
        std::fs::write(&manifest, text).unwrap();
    }
    let plan = fx.root().join("p.json");
    let plan = plan.to_str().unwrap().to_owned();
    fx.shipper(&["plan-yank", "--from-receipt", "latest", "-o", &plan])
        .ok();
    plan
}

fn yank_trusted(fx: &Fixture, setup: &TrustedSetup, plan: &str, extra: &[&str]) -> support::Run {
    yank_trusted_env(fx, setup, plan, extra, &[])
}

/// `yank_trusted` with more environment (GitHub Actions' variables, say).
fn yank_trusted_env(
    fx: &Fixture,
    setup: &TrustedSetup,
    plan: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> support::Run {
    fx.yank_cmd(&setup.registry)
        .trusted(setup)
        .args(["--plan", plan, "--trusted-publishing", "on"])
        .args(extra)
        .envs(env.iter().copied())
        .run()
}

fn yanked(setup: &TrustedSetup, name: &str) -> bool {
    let entry = setup.registry.index_entry(name);
    let line = entry.text().lines().next().unwrap().to_owned();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    v["yanked"].as_bool().unwrap()
}

#[test]
fn a_paced_yank_longer_than_the_token_lifetime_renews_and_revokes_every_token() {
    // Tokens live 2 s; one yank a second: the run outlives its first token.
    let setup = TrustedSetup::demo(Duration::from_secs(2));
    let fx = demo_workspace();
    let plan = published_and_planned(&fx, &setup, Some("{ burst = 1, per-seconds = 1 }"));
    let run = yank_trusted(&fx, &setup, &plan, &["--token-lifetime", "2"]);
    run.ok();
    for name in DEMO_CRATES {
        assert!(yanked(&setup, name), "{name}");
    }
    let events = yank_events(&fx);
    assert_eq!(count_kind(&events, "token_minted"), 1);
    // Minted after the index was read, right before the first request.
    let minted = events
        .iter()
        .position(|e| e["kind"] == "token_minted")
        .unwrap();
    let first_request = events
        .iter()
        .position(|e| e["kind"] == "yank_requested")
        .unwrap();
    assert!(minted < first_request);
    let renewed = count_kind(&events, "token_renewed");
    assert!(renewed >= 1, "no renewal in a run of ~5 s with 2 s tokens");
    assert_eq!(count_kind(&events, "token_revoked"), 1 + renewed);
    assert_eq!(count_kind(&events, "yank_failed"), 0);
    assert_eq!(count_kind(&events, "yank_requested"), DEMO_CRATES.len());
    assert_eq!(setup.registry.registry.minted_tokens().len(), 1 + renewed);
    assert_eq!(setup.registry.registry.live_minted_tokens(), 0);
    assert!(run.stderr().contains("minted by trusted publishing"));

    // The undo goes the same way.
    let undo = yank_trusted(&fx, &setup, &plan, &["--undo"]);
    undo.ok();
    for name in DEMO_CRATES {
        assert!(!yanked(&setup, name), "{name}");
    }
    assert_eq!(setup.registry.registry.live_minted_tokens(), 0);
}

#[test]
fn a_token_the_registry_says_expired_is_renewed_and_the_yank_not_counted_twice() {
    // The registry ends tokens after one second; the client believes they
    // last an hour: only the registry's 401 can tell it.
    let setup = TrustedSetup::demo(Duration::from_secs(1));
    let fx = demo_workspace();
    let plan = published_and_planned(&fx, &setup, Some("{ burst = 1, per-seconds = 2 }"));
    let run = yank_trusted(&fx, &setup, &plan, &["--token-lifetime", "3600"]);
    run.ok();
    let events = yank_events(&fx);
    let expired = events
        .iter()
        .filter(|e| e["kind"] == "token_renewed" && e["reason"] == "expired")
        .count();
    assert!(expired >= 1, "{events:?}");
    assert_eq!(count_kind(&events, "yank_failed"), 0);
    assert_eq!(count_kind(&events, "yank_requested"), DEMO_CRATES.len());
    assert!(
        events
            .iter()
            .filter(|e| e["kind"] == "yank_requested")
            .all(|e| e["attempt"] == 1)
    );
    for name in DEMO_CRATES {
        assert!(yanked(&setup, name), "{name}");
    }
    assert_eq!(setup.registry.registry.live_minted_tokens(), 0);
}

#[test]
fn a_crate_the_job_is_not_trusted_for_stops_the_yank_there_with_the_claims() {
    let setup = TrustedSetup::demo_except("shipper-demo-left");
    let fx = demo_workspace();
    let plan = published_and_planned(&fx, &setup, None);
    let order: Vec<String> = serde_json::from_slice::<serde_json::Value>(
        &std::fs::read(&plan).unwrap(),
    )
    .unwrap()["crates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    let refused_at = order.iter().position(|n| n == "shipper-demo-left").unwrap();
    let summary = fx.root().join("summary.md");
    let actions = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
    ];
    let run = yank_trusted_env(&fx, &setup, &plan, &[], &actions);
    let expected = if refused_at == 0 { 1 } else { 4 };
    assert_eq!(run.code(), expected, "{}", run.stderr());
    let stderr = run.stderr();
    assert!(
        stderr.contains("could not authorize `shipper-demo-left`"),
        "{stderr}"
    );
    assert!(stderr.contains("repository example/demo"), "{stderr}");
    assert!(stderr.contains("environment release"), "{stderr}");
    for (i, name) in order.iter().enumerate() {
        assert_eq!(yanked(&setup, name), i < refused_at, "{name}");
    }
    // In GitHub Actions: an annotation naming the crate, and the step
    // summary with each version, the token's lifecycle and the error.
    assert!(
        stderr.contains("::error title=cargo-shipper%3A shipper-demo-left 0.1.0::"),
        "{stderr}"
    );
    assert!(stderr.contains(
        "::error title=cargo-shipper%3A shipper-demo-left::trusted publishing could not authorize"
    ));
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(summary.contains("### cargo-shipper yank: "), "{summary}");
    assert!(
        summary.contains("| shipper-demo-left | 0.1.0 | Failed |"),
        "{summary}"
    );
    assert!(
        summary.contains("- Token minted by trusted publishing"),
        "{summary}"
    );
    assert!(summary.contains("- Token revoked"), "{summary}");
    assert!(summary.contains("could not authorize `shipper-demo-left`"));
    for secret in setup.secrets() {
        assert!(!summary.contains(&secret), "a secret in the step summary");
    }
    assert_eq!(setup.registry.registry.live_minted_tokens(), 0);
}

#[test]
fn rehearse_against_a_registry_that_plays_trusted_publishing_uses_it() {
    let setup = TrustedSetup::start(
        &["rta", "rtb"],
        github_claims("example/demo", "release.yml", None),
        Duration::from_secs(60),
        |_| {},
    );
    let fx = support::chain(&["rta", "rtb"]);
    fx.cargo_config(&setup.registry.registry.cargo_config("other"));
    let run = fx
        .cmd([
            "rehearse",
            "--registry",
            "other",
            "--trusted-publishing",
            "on",
        ])
        .trusted(&setup)
        .args(["--allow-dirty", "--no-verify", "--message-format", "json"])
        .envs([
            ("HTTPS_PROXY", "http://127.0.0.1:9"),
            ("https_proxy", "http://127.0.0.1:9"),
            ("NO_PROXY", "127.0.0.1"),
            ("no_proxy", "127.0.0.1"),
        ])
        .run();
    run.ok();
    assert_eq!(setup.registry.version_count("rta"), 1);
    assert_eq!(setup.registry.version_count("rtb"), 1);
    assert_eq!(setup.registry.registry.minted_tokens().len(), 1);
    assert_eq!(setup.registry.registry.live_minted_tokens(), 0);
}

#[test]
fn rehearse_refuses_trusted_publishing_for_the_embedded_registry_and_stop_after() {
    let setup = TrustedSetup::start(
        &["rra"],
        github_claims("example/demo", "release.yml", None),
        Duration::from_secs(60),
        |_| {},
    );
    let fx = support::chain(&["rra"]);
    let on = fx.shipper_trusted(&setup, &["rehearse", "--trusted-publishing", "on"], &[]);
    assert_eq!(on.code(), 2, "{}", on.stderr());
    assert!(
        on.stderr()
            .contains("the embedded one does not: name one with `--registry`/`--index`"),
        "{}",
        on.stderr()
    );
    let stop = fx.shipper_trusted(&setup, &["rehearse", "--stop-after", "5m"], &[]);
    assert_eq!(stop.code(), 2, "{}", stop.stderr());
    assert!(stop.stderr().contains("`--stop-after` is for `publish`"));
    assert!(!fx.root().join(".shipper").exists(), "nothing written");
}

#[test]
fn a_release_stopped_by_sigint_revokes_its_token_before_it_exits() {
    let setup = TrustedSetup::start(
        &DEMO_CRATES,
        github_claims("example/demo", "release.yml", None),
        Duration::from_secs(60),
        |k| k.upload_latency = Duration::from_millis(1500),
    );
    let fx = demo_workspace();
    fx.use_registry(&setup.registry);
    let mut cmd = fx
        .publish_cmd(&setup.registry)
        .trusted(&setup)
        .retry_delay_ms(None)
        .args(["--no-verify", "--trusted-publishing", "on"])
        .command();
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = child::sigint_default(&mut cmd).spawn().unwrap();
    let events = fx.root().join(".shipper/current/events.jsonl");
    child::wait_for_event(&events, &mut child, "upload_started", 1);
    assert_eq!(setup.registry.registry.live_minted_tokens(), 1);
    child::signal(&child, libc::SIGINT);
    let (code, stderr, _) = child::finish(child);
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("Token revoked"), "{stderr}");
    assert_eq!(setup.registry.registry.live_minted_tokens(), 0);
    let events = support::events_in(&fx.root().join(".shipper/current"));
    assert_eq!(count_kind(&events, "token_revoked"), 1);
    assert_eq!(events.last().unwrap()["kind"], "run_finished");
    for secret in setup.secrets() {
        assert!(!stderr.contains(&secret), "a secret on stderr");
    }

    // The next job mints its own token and finishes.
    fx.publish_trusted(&setup, &["--trusted-publishing", "on"], &[])
        .ok();
    for name in DEMO_CRATES {
        assert_eq!(setup.registry.version_count(name), 1, "{name}");
    }
    assert_eq!(setup.registry.registry.live_minted_tokens(), 0);
}

#[test]
fn stop_after_stops_a_paced_yank_and_the_next_job_finishes_it() {
    let setup = TrustedSetup::demo(Duration::from_secs(60));
    let fx = demo_workspace();
    let plan = published_and_planned(&fx, &setup, Some("{ burst = 1, per-seconds = 1 }"));
    let summary = fx.root().join("summary.md");
    let actions = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
    ];
    let first = yank_trusted_env(&fx, &setup, &plan, &["--stop-after", "2s"], &actions);
    assert_eq!(first.code(), 8, "{}", first.stderr());
    // A planned stop is not a failure: a notice, no error, in GitHub Actions.
    assert!(
        first
            .stderr()
            .contains("::notice title=cargo-shipper::stopped by"),
        "{}",
        first.stderr()
    );
    assert!(!first.stderr().contains("::error"), "{}", first.stderr());
    assert!(!first.stderr().contains("error:"), "{}", first.stderr());
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(
        summary.contains("stopped by `--stop-after`, to be continued"),
        "{summary}"
    );
    assert!(!summary.contains("error:"), "{summary}");
    assert!(
        first.stderr().contains("stopped by `--stop-after` with"),
        "{}",
        first.stderr()
    );
    assert!(first.stderr().contains("versions yanked"));
    let events = support::events_in(&fx.root().join(".shipper/yank/current"));
    assert_eq!(events.last().unwrap()["outcome"], "stopped_for_later");
    let done = DEMO_CRATES.iter().filter(|n| yanked(&setup, n)).count();
    assert!((1..DEMO_CRATES.len()).contains(&done), "{done} yanked");
    // Every request made was answered and confirmed before the stop.
    assert_eq!(
        count_kind(&events, "yank_requested"),
        count_kind(&events, "yank_confirmed")
    );
    assert_eq!(setup.registry.registry.live_minted_tokens(), 0);

    // The next job restores the state directory and runs the same command.
    let artifact = tempfile::tempdir().unwrap();
    support::copy_tree(&fx.root().join(".shipper"), &artifact.path().join("state"));
    std::fs::remove_dir_all(fx.root().join(".shipper")).unwrap();
    support::copy_tree(&artifact.path().join("state"), &fx.root().join(".shipper"));
    yank_trusted(&fx, &setup, &plan, &[]).ok();
    for name in DEMO_CRATES {
        assert!(yanked(&setup, name), "{name}");
    }
    let events = yank_events(&fx);
    assert_eq!(count_kind(&events, "yank_requested"), DEMO_CRATES.len());
    assert_eq!(setup.registry.registry.live_minted_tokens(), 0);
}

#[test]
fn a_token_lifetime_beyond_a_week_is_a_usage_error() {
    let fx = support::chain(&["rtl"]);
    for command in ["publish", "yank"] {
        let run = fx.shipper(&[command, "--token-lifetime", "18446744073709551615"]);
        assert_eq!(run.code(), 2, "{command}: {}", run.stderr());
        assert!(run.stderr().contains("604800"), "{}", run.stderr());
    }
}

#[test]
fn no_id_token_is_the_ci_jobs_side_not_the_registrys_configuration() {
    let setup = TrustedSetup::demo(Duration::from_secs(60));
    let fx = demo_workspace();
    fx.use_registry(&setup.registry);
    let run = fx.publish_trusted(
        &setup,
        &["--trusted-publishing", "on"],
        &[("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "not-the-request-token")],
    );
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let stderr = run.stderr();
    assert!(
        stderr.contains("could not get a token for `shipper-demo-core`"),
        "{stderr}"
    );
    assert!(stderr.contains("id-token: write"), "{stderr}");
    assert!(stderr.contains("the CI job's side"), "{stderr}");
    assert!(!stderr.contains("must match them"), "{stderr}");
    for name in DEMO_CRATES {
        assert_eq!(setup.registry.version_count(name), 0, "{name}");
    }
}
