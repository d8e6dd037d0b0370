//! `cargo shipper preflight` against the embedded registry: each check has
//! a fixture that trips it and one that passes (the ready release below);
//! the JSON document is snapshot-tested; a blocked verdict exits 7.

use crate::support;

use std::process::Command;

use crate::support::{Fixture, Run, TestRegistry};
use serde_json::Value;

/// `preflight --registry local --message-format json` (with the token).
fn preflight(fx: &Fixture, registry: &TestRegistry, extra: &[&str]) -> Run {
    let mut args = vec![
        "preflight",
        "--registry",
        "local",
        "--message-format",
        "json",
    ];
    args.extend(extra);
    fx.shipper_env(registry, &args, &[])
}

fn parse(run: &Run) -> Value {
    serde_json::from_str(&run.stdout())
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout(), run.stderr()))
}

fn check<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id}"))
}

fn status<'a>(doc: &'a Value, id: &str) -> &'a str {
    check(doc, id)["status"].as_str().unwrap()
}

/// The findings of check `id`, as text.
fn findings(doc: &Value, id: &str) -> String {
    check(doc, id)["findings"].to_string()
}

/// A full `[package]` for crates.io: description, license, repository, readme.
fn full_package(fx: &Fixture, name: &str, version: &str, extra: &str) {
    fx.file(
        &format!("{name}/Cargo.toml"),
        &format!(
            "[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2021\"\n\
             description = \"a fixture\"\nlicense = \"MIT\"\nrepository = \"https://example.invalid/{name}\"\n\
             readme = \"README.md\"\n{extra}\n"
        ),
    )
    .file(&format!("{name}/README.md"), &format!("# {name}\n"))
    .file(&format!("{name}/src/lib.rs"), "pub fn f() {}\n");
}

/// `pf-a` <- `pf-b`, both with full metadata.
fn pair(a_version: &str, b_version: &str) -> Fixture {
    let fx = Fixture::new();
    fx.file(
        "Cargo.toml",
        "[workspace]\nresolver = \"2\"\nmembers = [\"pf-a\", \"pf-b\"]\n",
    );
    full_package(&fx, "pf-a", a_version, "");
    full_package(
        &fx,
        "pf-b",
        b_version,
        &format!("[dependencies]\npf-a = {{ path = \"../pf-a\", version = \"{a_version}\" }}"),
    );
    fx
}

fn git(fx: &Fixture, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
        .args(args)
        .current_dir(fx.root())
        .output()
        .expect("git");
    assert!(out.status.success(), "git {args:?}: {:?}", out);
}

/// A git repository with everything committed and HEAD tagged `tag`.
fn commit_all(fx: &Fixture, tag: &str) {
    fx.file(".gitignore", "target/\n.shipper/\n");
    if !fx.root().join(".git").exists() {
        git(fx, &["init", "-q", "-b", "main"]);
    }
    git(fx, &["add", "-A"]);
    git(fx, &["commit", "-q", "-m", tag]);
    git(fx, &["tag", tag]);
}

/// The JSON text as printed, with checksums, the plan id and the commit
/// replaced by stable placeholders, for the snapshot.
fn normalized(text: &str, doc: &Value) -> String {
    let mut text = text.to_owned();
    let plan_id = doc["plan_id"].as_str().unwrap();
    text = text
        .replace(plan_id, "<plan id>")
        .replace(&plan_id[..12], "<plan>");
    for c in doc["crates"].as_array().unwrap() {
        for key in ["local_sha256", "index_sha256"] {
            if let Some(sha) = c[key].as_str() {
                assert_eq!(sha.len(), 64);
                text = text.replace(sha, "<sha256>");
            }
        }
    }
    let git = check(doc, "git")["summary"].as_str().unwrap();
    text.replace(git, "HEAD <commit>, tagged v0.2.0")
}

/// Every check passes: full metadata, a clean tagged checkout, `pf-a`
/// already published with the same content (skipped), `pf-b` a new version
/// of a crate the token's user owns, packaged and verified.
#[test]
fn a_clean_tagged_release_is_ready_and_its_json_is_stable() {
    let registry = TestRegistry::start();
    let fx = pair("0.1.0", "0.1.0");
    fx.use_registry(&registry);
    fx.publish(&registry, &["--no-verify"]).ok();
    fx.file(
        "pf-b/Cargo.toml",
        &std::fs::read_to_string(fx.root().join("pf-b/Cargo.toml"))
            .unwrap()
            .replace(
                "version = \"0.1.0\"\nedition",
                "version = \"0.2.0\"\nedition",
            ),
    );
    commit_all(&fx, "v0.2.0");

    let run = preflight(&fx, &registry, &[]);
    assert_eq!(run.code(), 0, "{}\n{}", run.stdout(), run.stderr());
    let doc = parse(&run);
    assert_eq!(doc["verdict"], "ready", "{doc:#}");
    assert_eq!(doc["crates"][0]["state"], "published");
    // Other bytes (`.cargo_vcs_info.json` now names a commit), same files.
    assert_ne!(
        doc["crates"][0]["local_sha256"],
        doc["crates"][0]["index_sha256"]
    );
    assert_eq!(doc["crates"][1]["state"], "new_version");
    snapbox::assert_data_eq!(
        normalized(&run.stdout(), &doc),
        snapbox::file!["snapshots/preflight_ready.json"]
    );

    // The same in words, for people.
    let human = fx.shipper_env(&registry, &["preflight", "--registry", "local"], &[]);
    let text = human.ok();
    let line = |name: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap()
    };
    assert!(
        line("pf-a").ends_with("published, same content (skipped)"),
        "{text}"
    );
    assert!(line("pf-b").ends_with("new version"), "{text}");
    assert!(text.contains("Verdict: ready\n"), "{text}");
}

#[test]
fn missing_required_metadata_blocks_and_missing_recommended_warns() {
    let registry = TestRegistry::start();
    let fx = Fixture::new();
    fx.file("Cargo.toml", "[workspace]\nmembers = [\"bare\"]\n")
        .file(
            "bare/Cargo.toml",
            "[package]\nname = \"pf-bare\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        )
        .file("bare/src/lib.rs", "");
    fx.use_registry(&registry);
    let run = preflight(&fx, &registry, &["--no-verify"]);
    assert_eq!(run.code(), 7, "{}", run.stderr());
    assert!(
        run.stderr().contains("blocking problem"),
        "{}",
        run.stderr()
    );
    let doc = parse(&run);
    assert_eq!(doc["verdict"], "blocked");
    assert_eq!(status(&doc, "metadata"), "fail");
    let text = findings(&doc, "metadata");
    for needle in ["`description`", "`license`", "`repository`", "readme"] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    let severities: Vec<&str> = check(&doc, "metadata")["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["severity"].as_str().unwrap())
        .collect();
    assert_eq!(severities, ["fail", "fail", "warn", "warn"]);

    // In GitHub Actions, the findings go to the step summary too.
    let summary = fx.root().join("summary.md");
    let run = fx.shipper_env(
        &registry,
        &["preflight", "--registry", "local", "--no-verify"],
        &[("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())],
    );
    assert_eq!(run.code(), 7);
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(
        text.starts_with("### cargo-shipper preflight: blocked"),
        "{text}"
    );
    assert!(
        text.contains("| metadata | fail | pf-bare: no `description`"),
        "{text}"
    );
}

#[test]
fn without_uploads_a_missing_token_only_warns() {
    let registry = TestRegistry::start();
    let fx = pair("0.1.0", "0.1.0");
    fx.use_registry(&registry);
    fx.publish(&registry, &["--no-verify"]).ok();
    let run = fx.shipper(&[
        "preflight",
        "--registry",
        "local",
        "--no-verify",
        "--message-format",
        "json",
    ]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let doc = parse(&run);
    assert_eq!(status(&doc, "token"), "warn");
    assert_eq!(status(&doc, "registry"), "pass");
    assert!(
        check(&doc, "registry")["summary"]
            .as_str()
            .unwrap()
            .ends_with("2 already published (skipped)")
    );
}

#[test]
fn a_member_dependency_without_a_version_fails_the_plan_check_and_skips_the_rest() {
    let registry = TestRegistry::start();
    let fx = pair("0.1.0", "0.1.0");
    fx.file(
        "pf-b/Cargo.toml",
        &std::fs::read_to_string(fx.root().join("pf-b/Cargo.toml"))
            .unwrap()
            .replace(", version = \"0.1.0\" }", " }"),
    );
    fx.use_registry(&registry);
    let run = preflight(&fx, &registry, &["--no-verify"]);
    assert_eq!(run.code(), 7);
    let doc = parse(&run);
    assert_eq!(doc["plan_id"], Value::Null);
    assert_eq!(status(&doc, "plan"), "fail");
    assert!(findings(&doc, "plan").contains("without a version"));
    // Found by the manifest check too, which runs without a plan.
    assert_eq!(status(&doc, "unversioned_deps"), "fail");
    assert_eq!(status(&doc, "package"), "skipped");
    assert_eq!(status(&doc, "registry"), "skipped");
}

#[test]
fn a_path_dependency_outside_the_workspace_without_a_version_blocks() {
    let registry = TestRegistry::start();
    let fx = Fixture::new();
    fx.file(
        "Cargo.toml",
        "[workspace]\nmembers = [\"pf-out\"]\nexclude = [\"helper\"]\n",
    );
    full_package(
        &fx,
        "pf-out",
        "0.1.0",
        "[dependencies]\nhelper = { path = \"../helper\" }",
    );
    fx.package("helper", "helper", "0.1.0", "");
    fx.use_registry(&registry);
    let run = preflight(&fx, &registry, &["--no-verify"]);
    assert_eq!(run.code(), 7);
    let doc = parse(&run);
    assert_eq!(
        status(&doc, "plan"),
        "pass",
        "not a member: the planner cannot see it"
    );
    assert_eq!(status(&doc, "unversioned_deps"), "fail");
    assert!(findings(&doc, "unversioned_deps").contains("`helper`"));
    // cargo refuses to package it too, and says so.
    assert_eq!(status(&doc, "package"), "fail");
}

#[test]
fn uncommitted_changes_block_unless_allowed_and_an_untagged_head_warns() {
    let registry = TestRegistry::start();
    let fx = pair("0.1.0", "0.1.0");
    fx.use_registry(&registry);
    commit_all(&fx, "v0.1.0");
    let clean = parse(&preflight(&fx, &registry, &["--no-verify"]));
    assert_eq!(status(&clean, "git"), "pass", "{clean:#}");

    fx.file("pf-a/src/lib.rs", "pub fn changed() {}\n");
    let dirty = preflight(&fx, &registry, &["--no-verify"]);
    assert_eq!(dirty.code(), 7);
    let doc = parse(&dirty);
    assert_eq!(status(&doc, "git"), "fail");
    assert!(findings(&doc, "git").contains("pf-a/src/lib.rs"));
    assert!(findings(&doc, "git").contains("--allow-dirty"));

    let allowed = preflight(&fx, &registry, &["--no-verify", "--allow-dirty"]);
    assert_eq!(allowed.code(), 0, "{}", allowed.stderr());
    assert_eq!(status(&parse(&allowed), "git"), "warn");

    git(&fx, &["commit", "-q", "-am", "untagged"]);
    let untagged = parse(&preflight(&fx, &registry, &["--no-verify"]));
    assert_eq!(status(&untagged, "git"), "warn");
    assert!(findings(&untagged, "git").contains("has no tag"));
}

#[test]
fn a_crate_that_does_not_compile_fails_the_dry_run() {
    let registry = TestRegistry::start();
    let fx = pair("0.1.0", "0.1.0");
    fx.file("pf-b/src/lib.rs", "pub fn broken( {}\n");
    fx.use_registry(&registry);
    let run = preflight(&fx, &registry, &[]);
    assert_eq!(run.code(), 7);
    let doc = parse(&run);
    assert_eq!(status(&doc, "package"), "fail");
    assert!(findings(&doc, "package").contains("failed to verify"));
    // cargo's own diagnostics, on stderr, say where.
    assert!(run.stderr().contains("Verifying pf-b"), "{}", run.stderr());
    // Nothing reached the registry.
    assert_eq!(registry.version_count("pf-a"), 0);
}

#[test]
fn a_published_version_with_other_content_says_bump_the_version() {
    let registry = TestRegistry::start();
    let fx = pair("0.1.0", "0.1.0");
    fx.use_registry(&registry);
    fx.publish(&registry, &["--no-verify"]).ok();
    fx.file("pf-a/src/lib.rs", "pub fn f() { /* changed */ }\n");
    let run = preflight(&fx, &registry, &["--no-verify"]);
    assert_eq!(run.code(), 7);
    let doc = parse(&run);
    assert_eq!(doc["crates"][0]["state"], "published_different");
    assert_eq!(doc["crates"][1]["state"], "published");
    assert_eq!(status(&doc, "registry"), "fail");
    assert!(findings(&doc, "registry").contains("bump the version"));
}

#[test]
fn a_new_name_whose_other_spelling_exists_is_taken() {
    let registry = TestRegistry::start();
    assert_eq!(registry.upload("pf_a", "9.0.0", &[]).status, 200);
    let fx = pair("0.1.0", "0.1.0");
    fx.use_registry(&registry);
    let run = preflight(&fx, &registry, &["--no-verify"]);
    assert_eq!(run.code(), 7);
    let doc = parse(&run);
    assert_eq!(status(&doc, "names"), "fail");
    assert!(findings(&doc, "names").contains("`pf_a` exists"));
}

#[test]
fn a_missing_token_blocks_and_a_rejected_one_is_reported_without_being_shown() {
    let registry = TestRegistry::start();
    let fx = pair("0.1.0", "0.1.0");
    fx.use_registry(&registry);
    // No token anywhere cargo looks.
    let run = fx.shipper(&[
        "preflight",
        "--registry",
        "local",
        "--no-verify",
        "--message-format",
        "json",
    ]);
    assert_eq!(run.code(), 7, "{}", run.stderr());
    let doc = parse(&run);
    assert_eq!(status(&doc, "token"), "fail");
    assert_eq!(status(&doc, "owners"), "skipped");

    // A wrong token: the registry refuses it; the value is printed nowhere.
    fx.publish(&registry, &["--no-verify", "-p", "pf-a"]).ok();
    let wrong = "shipper_wrong_token_0123456789";
    let run = preflight(&fx, &registry, &["--no-verify", "--token", wrong]);
    assert_eq!(run.code(), 7);
    assert!(!run.stdout().contains(wrong) && !run.stderr().contains(wrong));
    let doc = parse(&run);
    assert_eq!(status(&doc, "token"), "pass");
    assert_eq!(status(&doc, "owners"), "fail");
    assert!(findings(&doc, "owners").contains("401"));
}

#[test]
fn a_crate_owned_by_someone_else_blocks_by_name() {
    let registry = TestRegistry::start();
    let fx = pair("0.1.0", "0.1.0");
    fx.use_registry(&registry);
    fx.publish(&registry, &["--no-verify"]).ok();
    let owners = format!("{}/api/v1/crates/pf-b/owners", registry.api());
    let auth = format!("Authorization: {}", registry.registry.token());
    for (method, body) in [
        ("PUT", r#"{"users":["someone"]}"#),
        ("DELETE", r#"{"users":["shipper"]}"#),
    ] {
        let reply = support::http(method, &owners, &[&auth], body.as_bytes()).unwrap();
        assert_eq!(reply.status, 200, "{}", reply.text());
    }
    fx.file(
        "pf-b/Cargo.toml",
        &std::fs::read_to_string(fx.root().join("pf-b/Cargo.toml"))
            .unwrap()
            .replace(
                "version = \"0.1.0\"\nedition",
                "version = \"0.2.0\"\nedition",
            ),
    );
    let run = preflight(&fx, &registry, &["--no-verify"]);
    assert_eq!(run.code(), 7);
    let doc = parse(&run);
    assert_eq!(status(&doc, "owners"), "fail");
    let text = findings(&doc, "owners");
    assert!(text.contains("\"crate\":\"pf-b\""), "{text}");
    assert!(
        text.contains("`shipper` is not an owner (owners: someone)"),
        "{text}"
    );

    // A team among the owners: membership cannot be checked, so it warns.
    let reply = support::http(
        "PUT",
        &owners,
        &[&auth],
        br#"{"users":["github:org:release"]}"#,
    )
    .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    let run = preflight(&fx, &registry, &["--no-verify"]);
    assert_eq!(run.code(), 0, "{}", run.stdout());
    let doc = parse(&run);
    assert_eq!(status(&doc, "owners"), "warn");
    assert!(findings(&doc, "owners").contains("a team owns it too"));
}

#[test]
fn a_lockfile_pin_on_a_yanked_version_blocks_when_every_admitted_version_is_yanked() {
    let registry = TestRegistry::start();
    assert_eq!(registry.upload("pf-dep", "0.1.0", &[]).status, 200);
    let fx = Fixture::new();
    fx.file(
        "Cargo.toml",
        "[workspace]\nresolver = \"2\"\nmembers = [\"pf-user\", \"pf-other\"]\n",
    );
    full_package(&fx, "pf-user", "0.1.0", "[dependencies]\npf-dep = \"0.1\"");
    full_package(
        &fx,
        "pf-other",
        "0.1.0",
        "[dependencies]\npf-dep = \"0.1.0\"",
    );
    fx.use_registry(&registry);
    let before = parse(&preflight(&fx, &registry, &["--no-verify"]));
    assert_eq!(status(&before, "yanked_deps"), "pass", "{before:#}");
    assert!(
        check(&before, "yanked_deps")["summary"]
            .as_str()
            .unwrap()
            .starts_with("2 locked")
    );

    // The lockfile (committed, as for a binary) pins 0.1.0; then it is
    // yanked, and no other version admits `0.1`: no consumer can build.
    fx.cargo(&registry, &["generate-lockfile"]).ok();
    let auth = format!("Authorization: {}", registry.registry.token());
    let yank = format!("{}/api/v1/crates/pf-dep/0.1.0/yank", registry.api());
    assert_eq!(
        support::http("DELETE", &yank, &[&auth], &[])
            .unwrap()
            .status,
        200
    );
    let run = preflight(&fx, &registry, &["--no-verify"]);
    assert_eq!(run.code(), 7, "{}\n{}", run.stdout(), run.stderr());
    let doc = parse(&run);
    assert_eq!(doc["verdict"], "blocked");
    assert_eq!(status(&doc, "yanked_deps"), "fail");
    let said = findings(&doc, "yanked_deps");
    assert!(
        said.contains("every version these requirements admit"),
        "{said}"
    );
    assert!(said.contains("pf-user (pf-dep ^0.1)"), "{said}");
    assert!(said.contains("pf-other (pf-dep ^0.1.0)"), "{said}");
    assert!(said.contains("raise the requirement"), "{said}");
    assert!(!said.contains("cargo update -p"), "{said}");

    // A compatible version that is not yanked: a warning, as cargo's.
    assert_eq!(registry.upload("pf-dep", "0.1.1", &[]).status, 200);
    let run = preflight(&fx, &registry, &["--no-verify"]);
    assert_eq!(run.code(), 0, "{}\n{}", run.stdout(), run.stderr());
    let doc = parse(&run);
    assert_eq!(doc["verdict"], "ready_with_warnings");
    assert_eq!(status(&doc, "yanked_deps"), "warn");
    let said = findings(&doc, "yanked_deps");
    assert!(
        said.contains("pf-other, pf-user depend on pf-dep 0.1.0, which is yanked")
            && said.contains("cargo update -p pf-dep"),
        "{said}"
    );
}

#[test]
fn configured_limits_give_an_eta_and_other_registries_none() {
    let registry = TestRegistry::start();
    let fx = pair("0.1.0", "0.1.0");
    fx.use_registry(&registry);
    let none = parse(&preflight(&fx, &registry, &["--no-verify"]));
    assert_eq!(none["rate_limit"], Value::Null);
    assert_eq!(status(&none, "rate_limit"), "pass");

    let manifest = std::fs::read_to_string(fx.root().join("Cargo.toml")).unwrap();
    fx.file(
        "Cargo.toml",
        &format!(
            "{manifest}\n[workspace.metadata.shipper.pacing]\n\
             new-crates = {{ burst = 1, per-seconds = 600 }}\n\
             new-versions = {{ burst = 30, per-seconds = 60 }}\n"
        ),
    );
    let run = preflight(&fx, &registry, &["--no-verify"]);
    let doc = parse(&run);
    assert_eq!(
        doc["rate_limit"],
        serde_json::json!({"new_crates": 2, "new_versions": 0, "eta_ms": 600_000, "limits": "workspace"})
    );
    let human = fx.shipper_env(
        &registry,
        &["preflight", "--registry", "local", "--no-verify"],
        &[],
    );
    assert!(
        human.stdout().contains("they add about 10m00s"),
        "{}",
        human.stdout()
    );
}

/// `preflight --registry local --no-verify --message-format json` in a CI
/// job: GitHub Actions' request variables point at `setup`'s provider when
/// given, and no registry token is configured.
fn preflight_in_ci(
    fx: &Fixture,
    setup: Option<&support::TrustedSetup>,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Run {
    let head = ["preflight", "--registry", "local", "--no-verify"];
    let cmd = fx
        .cmd(head)
        .no_fast()
        .args(["--message-format", "json"])
        .args(extra);
    let cmd = match setup {
        Some(setup) => cmd.trusted(setup),
        None => cmd
            .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
            .env_remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
            .env_remove("CARGO_REGISTRIES_LOCAL_TOKEN")
            .env_remove("CARGO_REGISTRY_TOKEN")
            .env_remove("CRATES_IO_ID_TOKEN"),
    };
    cmd.envs(env.iter().copied()).run()
}

#[test]
fn trusted_publishing_supplies_the_token_and_is_tried_now() {
    let setup = support::TrustedSetup::start(
        &["pf-a", "pf-b"],
        support::github_claims("example/demo", "release.yml", None),
        std::time::Duration::from_secs(60),
        |_| {},
    );
    let fx = pair("0.1.0", "0.1.0");
    fx.use_registry(&setup.registry);
    // `auto` (the default) in a GitHub Actions job without a token.
    let run = preflight_in_ci(&fx, Some(&setup), &[], &[]);
    assert_ne!(run.code(), 7, "{}\n{}", run.stdout(), run.stderr());
    let doc = parse(&run);
    // New crates: crates.io's trusted publishing could not publish them;
    // this registry's policy is not known, so a warning per crate.
    assert_eq!(status(&doc, "token"), "warn", "{doc:#}");
    let findings = check(&doc, "token")["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 2, "{doc:#}");
    assert!(
        findings[0]["message"]
            .as_str()
            .unwrap()
            .contains("a new crate: trusted publishing cannot, on crates.io"),
        "{doc:#}"
    );
    let summary = check(&doc, "token")["summary"].as_str().unwrap();
    assert!(
        summary.contains("from trusted publishing (GitHub Actions) at upload time"),
        "{summary}"
    );
    assert!(
        summary.contains("a configuration matching repository example/demo, workflow"),
        "{summary}"
    );
    assert_eq!(status(&doc, "owners"), "skipped");
    let trusted = &doc["trusted_publishing"];
    assert_eq!(trusted["provider"], "GitHub Actions");
    assert_eq!(trusted["exchange"], "ok");
    assert_eq!(trusted["claims"]["repository"], "example/demo");
    assert_eq!(trusted["claims"]["ref"], "refs/heads/main");
    // Minted to check the configuration, revoked at once.
    assert_eq!(setup.registry.registry.minted_tokens().len(), 1);
    assert_eq!(setup.registry.registry.live_minted_tokens(), 0);

    // `off`: the token check is what it was, and nothing is minted.
    let run = preflight_in_ci(&fx, Some(&setup), &["--trusted-publishing", "off"], &[]);
    assert_eq!(run.code(), 7);
    let doc = parse(&run);
    assert_eq!(status(&doc, "token"), "fail");
    assert!(doc.get("trusted_publishing").is_none(), "{doc:#}");
    // A configured token wins under `auto`, as in `publish`.
    let token = setup.registry.registry.token().to_owned();
    let run = preflight_in_ci(
        &fx,
        Some(&setup),
        &[],
        &[("CARGO_REGISTRIES_LOCAL_TOKEN", &token)],
    );
    let doc = parse(&run);
    assert_eq!(status(&doc, "token"), "pass");
    assert!(doc.get("trusted_publishing").is_none(), "{doc:#}");
    assert_eq!(setup.registry.registry.minted_tokens().len(), 1);

    // GitLab CI: the job's one ID token is left for the release; its claims show.
    let jwt = setup.provider.jwt_for(&setup.audience()).unwrap();
    let run = preflight_in_ci(
        &fx,
        None,
        &[
            "--trusted-publishing",
            "on",
            "--oidc-token-var",
            "MY_ID_TOKEN",
        ],
        &[("MY_ID_TOKEN", &jwt)],
    );
    support::assert_no_secret(&fx, &setup, &[&run]);
    let doc = parse(&run);
    assert_eq!(status(&doc, "token"), "warn", "{doc:#}"); // the new crates, as above
    assert_eq!(doc["trusted_publishing"]["provider"], "GitLab CI");
    assert_eq!(doc["trusted_publishing"]["exchange"], "not_tried");
    assert_eq!(
        doc["trusted_publishing"]["claims"]["repository"],
        "example/demo"
    );
    assert_eq!(setup.registry.registry.minted_tokens().len(), 1);
}

#[test]
fn a_repository_without_a_configuration_blocks_with_the_claims() {
    let setup = support::TrustedSetup::start(
        &["pf-a", "pf-b"],
        support::github_claims("someone/fork", "release.yml", Some("release")),
        std::time::Duration::from_secs(60),
        |_| {},
    );
    let fx = pair("0.1.0", "0.1.0");
    fx.use_registry(&setup.registry);
    let run = preflight_in_ci(&fx, Some(&setup), &["--trusted-publishing", "on"], &[]);
    assert_eq!(run.code(), 7, "{}", run.stderr());
    let doc = parse(&run);
    assert_eq!(status(&doc, "token"), "fail");
    let text = findings(&doc, "token");
    assert!(
        text.contains("No Trusted Publishing config found for repository `someone/fork`"),
        "{text}"
    );
    assert!(text.contains("repository someone/fork"), "{text}");
    assert!(text.contains("environment release"), "{text}");
    assert_eq!(doc["trusted_publishing"]["exchange"], "refused");
    assert!(setup.registry.registry.minted_tokens().is_empty());
}

#[test]
fn trusted_publishing_on_without_a_provider_blocks() {
    let registry = TestRegistry::start();
    let fx = pair("0.1.0", "0.1.0");
    fx.use_registry(&registry);
    let run = preflight_in_ci(&fx, None, &["--trusted-publishing"], &[]);
    assert_eq!(run.code(), 7, "{}", run.stderr());
    let doc = parse(&run);
    assert_eq!(status(&doc, "token"), "fail");
    let text = findings(&doc, "token");
    assert!(
        text.contains("`--trusted-publishing on`, but no OIDC provider was found"),
        "{text}"
    );
    assert!(text.contains("CRATES_IO_ID_TOKEN"), "{text}");
}
