//! Items 1 and 2: a version already in the registry is skipped only when
//! its content is the release's; a changed but unbumped crate stops the run
//! before its first upload (exit 9), in `publish` and in `rehearse`.

use std::process::Command;

use crate::support::{Fixture, Run, TestRegistry, chain, demo_workspace};

const CORE: &str = "shipper-demo-core";
const CLI: &str = "shipper-demo-cli";

/// The demo, published whole into `registry`.
fn published(registry: &TestRegistry) -> Fixture {
    let fx = demo_workspace();
    fx.use_registry(registry);
    fx.publish(registry, &[]).ok();
    fx
}

/// `cli` (a leaf) bumped on its own: the next release has one crate to upload.
fn bump_cli(fx: &Fixture) {
    let path = fx.root().join("crates/cli/Cargo.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        path,
        text.replace("\nversion.workspace = true", "\nversion = \"0.1.1\""),
    )
    .unwrap();
}

fn git(fx: &Fixture, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(fx.root())
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
}

#[test]
fn a_changed_but_unbumped_crate_stops_the_release_before_any_upload() {
    let registry = TestRegistry::start();
    let fx = published(&registry);
    let core_entry = registry.index_entry(CORE).text();
    let before = registry.registry.upload_counts().requests;

    // A fix in core without a version bump, and a real bump of cli.
    fx.file("crates/core/src/lib.rs", "pub fn fixed() {}\n");
    bump_cli(&fx);
    let run = fx.publish(&registry, &[]);

    assert_eq!(run.code(), 9, "{}", run.stderr());
    let err = run.stderr();
    assert!(err.contains(CORE) && err.contains("src/lib.rs"), "{err}");
    assert!(err.contains("bump"), "{err}");
    // The registry's side: not one request, core as it was, cli not out.
    assert_eq!(registry.registry.upload_counts().requests, before);
    assert_eq!(registry.index_entry(CORE).text(), core_entry);
    assert_eq!(registry.version_count(CLI), 1);

    // `--dry-run` says the same.
    let dry = fx.publish(&registry, &["--dry-run"]);
    assert_eq!(dry.code(), 9, "{}", dry.stderr());
    assert_eq!(registry.registry.upload_counts().requests, before);

    // Once core is as published again, the release goes out: cli only.
    fx.file("crates/core/src/lib.rs", "");
    let core_lib = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/demo-workspace/crates/core/src/lib.rs"),
    )
    .unwrap();
    fx.file("crates/core/src/lib.rs", &core_lib);
    fx.publish(&registry, &[]).ok();
    assert_eq!(registry.registry.upload_counts().requests, before + 1);
    assert_eq!(registry.version_count(CLI), 2);
}

#[test]
fn an_unchanged_crate_packaged_from_a_new_commit_is_skipped_by_its_files() {
    let registry = TestRegistry::start();
    let fx = demo_workspace();
    fx.use_registry(&registry);
    std::fs::write(fx.root().join(".gitignore"), "target/\n.shipper/\n").unwrap();
    git(&fx, &["init", "-q"]);
    git(&fx, &["add", "."]);
    git(&fx, &["commit", "-qm", "release"]);
    fx.publish(&registry, &[]).ok();
    let before = registry.registry.upload_counts().requests;
    let core_entry = registry.index_entry(CORE).text();

    // A new commit touches no crate, but every `.cargo_vcs_info.json`
    // (hence every checksum) changes: the files decide.
    fx.file("NOTES.md", "next\n");
    git(&fx, &["add", "."]);
    git(&fx, &["commit", "-qm", "notes"]);
    let run = fx.publish(&registry, &[]);
    run.ok();
    assert!(
        run.stderr().contains("already in the registry"),
        "{}",
        run.stderr()
    );
    assert_eq!(registry.registry.upload_counts().requests, before);
    assert_eq!(registry.index_entry(CORE).text(), core_entry);

    // That needed no download: the release's receipt says which files the
    // uploaded checksum holds. With core's `.crate` gone from the registry's
    // storage, the next commit's rerun still skips it...
    let stored = registry
        .root()
        .join("crates")
        .join(CORE)
        .join(format!("{CORE}-0.1.0.crate"));
    std::fs::remove_file(&stored).unwrap();
    fx.file("NOTES.md", "later\n");
    git(&fx, &["commit", "-qam", "more notes"]);
    fx.publish(&registry, &[]).ok();
    assert_eq!(registry.registry.upload_counts().requests, before);

    // ...and without receipts it must download, cannot, and says so
    // rather than skip unchecked.
    std::fs::remove_dir_all(fx.root().join(".shipper/archive")).unwrap();
    let blind = fx.publish(&registry, &[]);
    assert_eq!(blind.code(), 1, "{}", blind.stderr());
    assert!(
        blind.stderr().contains("could not tell") && blind.stderr().contains(CORE),
        "{}",
        blind.stderr()
    );
    assert_eq!(registry.registry.upload_counts().requests, before);
}

#[test]
fn a_kept_rehearsal_registry_with_stale_bytes_fails_the_rehearsal() {
    let fx = demo_workspace();
    let keep = tempfile::tempdir().unwrap();
    let keep_dir = keep.path().join("reg");
    let keep_arg = keep_dir.to_str().unwrap();
    fx.rehearse(&["--no-verify", "--keep", keep_arg]).ok();
    let core_file = keep_dir
        .join("crates")
        .join(CORE)
        .join(format!("{CORE}-0.1.0.crate"));
    let kept_core = std::fs::read(&core_file).unwrap();

    fx.file("crates/core/src/lib.rs", "pub fn changed() {}\n");
    let run = fx.rehearse(&["--no-verify", "--keep", keep_arg]);
    assert_ne!(run.code(), 0, "{}", run.stderr());
    let err = run.stderr();
    assert!(err.contains(CORE) && err.contains("src/lib.rs"), "{err}");
    assert!(!err.contains("Rehearsal passed"), "{err}");
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fx.root().join(".shipper/rehearsal.json")).unwrap())
            .unwrap();
    assert_eq!(record["verdict"], "failed", "{record:#}");
    // The kept registry still holds the first rehearsal's bytes.
    assert_eq!(std::fs::read(&core_file).unwrap(), kept_core);

    // The gate refuses a publish on that record: nothing reaches the live registry.
    let live = TestRegistry::start();
    fx.use_registry(&live);
    let gated = fx.publish(&live, &["--require-rehearsal"]);
    assert_ne!(gated.code(), 0, "{}", gated.stderr());
    assert_eq!(live.registry.upload_counts().requests, 0);
}

/// A chain `ta` <- `tb` published into `live` (standing in for crates.io),
/// then `tb` bumped; `other` configured as a rehearsal registry.
fn released_chain(live: &TestRegistry, other: &TestRegistry) -> Fixture {
    let fx = chain(&["ta", "tb"]);
    fx.use_registry(live);
    fx.cargo_config(&other.registry.cargo_config("other"));
    fx.publish(live, &["--no-verify"]).ok();
    fx.file(
        "tb/Cargo.toml",
        &std::fs::read_to_string(fx.root().join("tb/Cargo.toml"))
            .unwrap()
            .replace(
                "version = \"0.1.0\"\nedition",
                "version = \"0.1.1\"\nedition",
            ),
    );
    fx
}

fn rehearse_into_other(fx: &Fixture, live: &TestRegistry, other: &TestRegistry) -> Run {
    fx.cmd(["rehearse", "--registry", "other", "--for-registry", "local"])
        .token(live)
        .args(["--allow-dirty", "--no-verify"])
        .env("CARGO_REGISTRIES_OTHER_TOKEN", other.registry.token())
        .run()
}

fn rehearsal_record(fx: &Fixture) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(fx.root().join(".shipper/rehearsal.json")).unwrap())
        .unwrap()
}

#[test]
fn a_named_rehearsal_registry_says_would_skip_for_what_the_live_target_has() {
    let (live, other) = (TestRegistry::start(), TestRegistry::start());
    let fx = released_chain(&live, &other);
    let live_uploads = live.registry.upload_counts().requests;
    let run = rehearse_into_other(&fx, &live, &other);
    run.ok();
    let record = rehearsal_record(&fx);
    let outcome = |name: &str| {
        record["crates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()["outcome"]
            .clone()
    };
    assert_eq!(outcome("ta"), "on_live_target", "{record:#}");
    assert_eq!(outcome("tb"), "uploaded", "{record:#}");
    assert!(run.stderr().contains("1 would skip"), "{}", run.stderr());
    assert_eq!(live.registry.upload_counts().requests, live_uploads);
    // The live release then uploads exactly what the rehearsal said.
    fx.publish(&live, &["--no-verify", "--require-rehearsal"])
        .ok();
    assert_eq!(live.registry.upload_counts().requests, live_uploads + 1);
    assert_eq!(live.version_count("tb"), 2);
}

#[test]
fn a_rehearsal_fails_where_the_live_target_holds_changed_content() {
    let (live, other) = (TestRegistry::start(), TestRegistry::start());
    let fx = released_chain(&live, &other);
    fx.file("ta/src/lib.rs", "pub fn changed() {}\n");
    let live_uploads = live.registry.upload_counts().requests;
    let run = rehearse_into_other(&fx, &live, &other);
    assert_ne!(run.code(), 0, "{}", run.stderr());
    let err = run.stderr();
    assert!(
        err.contains("live target") && err.contains("ta 0.1.0") && err.contains("src/lib.rs"),
        "{err}"
    );
    assert_eq!(rehearsal_record(&fx)["verdict"], "failed");
    assert_eq!(other.registry.upload_counts().requests, 0);
    assert_eq!(live.registry.upload_counts().requests, live_uploads);
}
