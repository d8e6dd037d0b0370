//! `fix-forward` end to end: after a release, bump the crate that needs a
//! fix and its dependents; the manifests keep their comments, `plan`
//! accepts them, and they publish as the next release.

mod support;

use support::{Fixture, TestRegistry, demo_workspace};

/// Two members inherit the workspace version; `app` has its own and reaches
/// `macros` through `[workspace.dependencies]`; `cli` pins `app` with `=`;
/// `other` is unrelated; `xtask` is not published and pins `app` too.
fn lockstep_and_pinned() -> Fixture {
    let fx = Fixture::new();
    fx.file(
        "Cargo.toml",
        r#"# Release train: core and macros move together.
[workspace]
resolver = "3"
members = ["core", "macros", "app", "cli", "other", "xtask"]

[workspace.package]
version = "1.4.0" # bumped by fix-forward
edition = "2021"
license = "MIT"

[workspace.dependencies]
# internal crates
ff-core = { path = "core", version = "1.4.0" }
ff-macros = { path = "macros", version = "1.4.0" } # keep in step
"#,
    )
    .file(
        "core/Cargo.toml",
        "[package]\nname = \"ff-core\"\ndescription = \"c\"\nversion.workspace = true\nedition.workspace = true\nlicense.workspace = true\n",
    )
    .file("core/src/lib.rs", "pub fn core() -> u32 { 1 }\n")
    .file(
        "macros/Cargo.toml",
        "[package]\nname = \"ff-macros\"\ndescription = \"m\"\nversion.workspace = true\nedition.workspace = true\nlicense.workspace = true\n\n[dependencies]\nff-core.workspace = true\n",
    )
    .file("macros/src/lib.rs", "pub fn macros() -> u32 { ff_core::core() }\n")
    .file(
        "app/Cargo.toml",
        "[package]\nname = \"ff-app\"\ndescription = \"a\"\nversion = \"0.3.0\" # app's own\nedition = \"2021\"\nlicense = \"MIT\"\n\n[dependencies]\n# the macros\nff-macros = { workspace = true }\n",
    )
    .file("app/src/lib.rs", "pub fn app() -> u32 { ff_macros::macros() }\n")
    .file(
        "cli/Cargo.toml",
        "[package]\nname = \"ff-cli\"\ndescription = \"x\"\nversion = \"0.3.0\"\nedition = \"2021\"\nlicense = \"MIT\"\n\n[dependencies]\nff-app = { path = \"../app\", version = \"=0.3.0\" } # pinned\n",
    )
    .file("cli/src/lib.rs", "pub fn cli() -> u32 { ff_app::app() }\n")
    .file(
        "other/Cargo.toml",
        "[package]\nname = \"ff-other\"\ndescription = \"o\"\nversion = \"2.0.0\"\nedition = \"2021\"\nlicense = \"MIT\"\n",
    )
    .file("other/src/lib.rs", "")
    .file(
        "xtask/Cargo.toml",
        "[package]\nname = \"ff-xtask\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\nff-app = { path = \"../app\", version = \"=0.3.0\" }\n",
    )
    .file("xtask/src/main.rs", "fn main() {}\n");
    fx
}

fn read(fx: &Fixture, rel: &str) -> String {
    std::fs::read_to_string(fx.root().join(rel)).unwrap()
}

#[test]
fn fix_forward_bumps_dependents_keeps_comments_and_publishes_as_the_next_release() {
    let registry = TestRegistry::start();
    let fx = lockstep_and_pinned();
    fx.use_registry(&registry);
    fx.publish(&registry, &[]).ok();

    // Dry run: the diff and the plan, nothing written.
    let before = read(&fx, "Cargo.toml");
    let dry = fx.shipper_env(
        &registry,
        &[
            "fix-forward",
            "--from-receipt",
            "latest",
            "--starting-crate",
            "ff-core",
        ],
        &[],
    );
    let out = dry.ok();
    assert!(out.contains("ff-core 1.4.0 -> 1.4.1"), "{out}");
    assert!(
        out.contains("ff-macros 1.4.0 -> 1.4.1  (depends on ff-core)"),
        "{out}"
    );
    assert!(
        out.contains("ff-app 0.3.0 -> 0.3.1  (depends on ff-macros)"),
        "{out}"
    );
    assert!(
        out.contains("ff-cli 0.3.0 -> 0.3.1  (depends on ff-app)"),
        "{out}"
    );
    assert!(!out.contains("ff-other 2.0.0 ->"), "{out}");
    assert!(
        out.contains("-version = \"1.4.0\" # bumped by fix-forward"),
        "{out}"
    );
    assert!(
        out.contains("+version = \"1.4.1\" # bumped by fix-forward"),
        "{out}"
    );
    assert!(out.contains("Dry run: nothing was written"), "{out}");
    assert_eq!(read(&fx, "Cargo.toml"), before, "a dry run writes nothing");

    let written = fx.shipper_env(
        &registry,
        &[
            "fix-forward",
            "--from-receipt",
            "latest",
            "--starting-crate",
            "ff-core",
            "--write",
        ],
        &[],
    );
    written.ok();
    let root = read(&fx, "Cargo.toml");
    assert!(
        root.starts_with("# Release train: core and macros move together.\n"),
        "{root}"
    );
    assert!(
        root.contains("version = \"1.4.1\" # bumped by fix-forward"),
        "{root}"
    );
    assert!(
        root.contains("# internal crates\nff-core = { path = \"core\", version = \"1.4.1\" }"),
        "{root}"
    );
    assert!(
        root.contains("ff-macros = { path = \"macros\", version = \"1.4.1\" } # keep in step"),
        "{root}"
    );
    let app = read(&fx, "app/Cargo.toml");
    assert!(app.contains("version = \"0.3.1\" # app's own"), "{app}");
    assert!(
        app.contains("# the macros\nff-macros = { workspace = true }"),
        "{app}"
    );
    let cli = read(&fx, "cli/Cargo.toml");
    assert!(
        cli.contains("ff-app = { path = \"../app\", version = \"=0.3.1\" } # pinned"),
        "{cli}"
    );
    assert!(read(&fx, "xtask/Cargo.toml").contains("version = \"=0.3.1\""));
    assert!(read(&fx, "other/Cargo.toml").contains("version = \"2.0.0\""));

    // `plan` accepts it, and it publishes as the next release.
    fx.shipper_env(&registry, &["plan", "--registry", "local"], &[])
        .ok();
    let next = fx.publish(&registry, &["--message-format", "json"]);
    let events: Vec<serde_json::Value> = next
        .ok()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let published: Vec<String> = events
        .iter()
        .filter(|e| e["kind"] == "visible")
        .map(|e| {
            format!(
                "{}@{}",
                e["name"].as_str().unwrap(),
                e["version"].as_str().unwrap()
            )
        })
        .collect();
    let mut published_sorted = published.clone();
    published_sorted.sort();
    assert_eq!(
        published_sorted,
        [
            "ff-app@0.3.1",
            "ff-cli@0.3.1",
            "ff-core@1.4.1",
            "ff-macros@1.4.1"
        ],
        "{published:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "skipped" && e["name"] == "ff-other")
    );
}

#[test]
fn fix_forward_on_the_lockstep_demo_moves_the_workspace_version() {
    let registry = TestRegistry::start();
    let fx = demo_workspace();
    fx.use_registry(&registry);
    fx.publish(&registry, &[]).ok();
    let run = fx.shipper_env(
        &registry,
        &[
            "fix-forward",
            "--from-receipt",
            "latest",
            "--starting-crate",
            "shipper-demo-left",
            "--bump",
            "minor",
            "--write",
        ],
        &[],
    );
    let out = run.ok();
    assert!(
        out.contains("[workspace.package] version 0.1.0 -> 0.2.0"),
        "{out}"
    );
    let root = read(&fx, "Cargo.toml");
    assert!(root.contains("# A small hermetic workspace"), "{root}");
    assert!(
        root.contains("shipper-demo-core = { path = \"crates/core\", version = \"0.2.0\" }"),
        "{root}"
    );
    let right = read(&fx, "crates/right/Cargo.toml");
    assert!(right.contains("version = \"0.2.0\""), "{right}");
    fx.publish(&registry, &[]).ok();
    assert_eq!(registry.version_count("shipper-demo-core"), 2);

    let unknown = fx.shipper_env(
        &registry,
        &[
            "fix-forward",
            "--from-receipt",
            "latest",
            "--starting-crate",
            "shipper-demo-xtask",
        ],
        &[],
    );
    assert_eq!(unknown.code(), 1);
    assert!(
        unknown
            .stderr()
            .contains("lists no crate named `shipper-demo-xtask`"),
        "{}",
        unknown.stderr()
    );
}
