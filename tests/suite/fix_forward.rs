//! `fix-forward` end to end: after a release, bump the crate that needs a
//! fix and its dependents; the manifests keep their comments, `plan`
//! accepts them, and they publish as the next release.

use std::collections::BTreeMap;

use crate::support::{Fixture, Run, TestRegistry, demo_workspace};
use cargo_shipper::report::fix_forward::unified_diff;

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

/// `fix-forward --from-receipt latest --starting-crate <start>` and `extra`.
fn fix_forward(fx: &Fixture, registry: &TestRegistry, start: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "fix-forward",
        "--from-receipt",
        "latest",
        "--starting-crate",
        start,
    ];
    args.extend(extra);
    fx.shipper_env(registry, &args, &[])
}

/// Every `Cargo.toml` of the workspace, by path relative to the root.
fn manifests(fx: &Fixture) -> BTreeMap<String, String> {
    let mut all = BTreeMap::new();
    for entry in std::fs::read_dir(fx.root()).unwrap() {
        let entry = entry.unwrap();
        let rel = if entry.file_name() == "Cargo.toml" {
            "Cargo.toml".to_owned()
        } else if entry.path().join("Cargo.toml").is_file() {
            format!("{}/Cargo.toml", entry.file_name().to_string_lossy())
        } else {
            continue;
        };
        all.insert(rel.clone(), read(fx, &rel));
    }
    all
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
    let after_first = manifests(&fx);

    // Run again, dry and written: every member inheriting the (already
    // moved) workspace version is ahead of the release, so nothing moves.
    for extra in [&[][..], &["--write"][..]] {
        let again = fix_forward(&fx, &registry, "ff-core", extra).ok();
        assert!(!again.contains(" -> "), "{again}");
        assert!(
            again.contains("ff-core: kept, already ahead of the release (1.4.1 > 1.4.0)"),
            "{again}"
        );
        assert!(!again.contains("--- a/"), "{again}");
        assert_eq!(manifests(&fx), after_first, "a second run changes nothing");
    }

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

/// Requirements fix-forward must not rewrite by swapping the number, and
/// tables cargo reads under other spellings: `<` and comma ranges that
/// exclude the new version, `>`/wildcards that admit it, a target key
/// spaced unlike cargo's form, the `_` aliases of dependency tables.
fn requirement_shapes() -> Fixture {
    let fx = Fixture::new();
    let base = "gg-base = { path = \"../base\", version = ";
    fx.file(
        "Cargo.toml",
        "[workspace]\nresolver = \"2\"\nmembers = [\"base\", \"lt\", \"gt\", \"range\", \"wild\", \"sp\", \"us\", \"dus\"]\n\n[workspace.package]\nversion = \"9.9.9\" # nobody inherits it\n",
    )
    .package("base", "gg-base", "0.3.0", "")
    .package("lt", "gg-lt", "1.0.0", &format!("[dependencies]\n{base}\"<0.3.1\" }}"))
    .package("gt", "gg-gt", "1.0.0", &format!("[dependencies]\n{base}\">0.2\" }}"))
    .package(
        "range",
        "gg-range",
        "1.0.0",
        &format!("[dependencies]\n{base}\">=0.2, <0.3.1\" }}"),
    )
    .package("wild", "gg-wild", "1.0.0", &format!("[dependencies]\n{base}\"0.3.*\" }}"))
    .package(
        "sp",
        "gg-sp",
        "1.0.0",
        &format!("[target.'cfg(any(unix,windows))'.dependencies]\n{base}\"=0.3.0\" }}"),
    )
    .package(
        "us",
        "gg-us",
        "1.0.0",
        &format!("[build_dependencies]\n{base}\"=0.3.0\" }} # pinned"),
    )
    .package(
        "dus",
        "gg-dus",
        "1.0.0",
        &format!("[dev_dependencies]\n{base}\"~0.3.0\" }}"),
    );
    fx
}

#[test]
fn fix_forward_refuses_requirements_it_cannot_carry_before_writing_and_never_creates_tables() {
    let registry = TestRegistry::start();
    let fx = requirement_shapes();
    fx.use_registry(&registry);
    fx.publish(&registry, &[]).ok();
    let before = manifests(&fx);

    // Dry run and --write refuse alike: every problem at once, nothing written.
    for extra in [&[][..], &["--write"][..]] {
        let refused = fix_forward(&fx, &registry, "gg-base", extra);
        assert_eq!(refused.code(), 3, "{}", refused.stderr());
        let err = refused.stderr();
        assert!(err.contains("nothing was written"), "{err}");
        assert!(
            err.contains(
                "`lt/Cargo.toml` [dependencies] `gg-base` requires `<0.3.1`, which does not admit 0.3.1"
            ),
            "{err}"
        );
        assert!(
            err.contains(
                "`range/Cargo.toml` [dependencies] `gg-base` requires `>=0.2, <0.3.1`, which does not admit 0.3.1"
            ),
            "{err}"
        );
        assert_eq!(err.matches("\n  - ").count(), 2, "{err}");
        assert_eq!(manifests(&fx), before, "a refusal writes nothing");
    }

    // Fixed by hand: now it goes through.
    fx.file(
        "lt/Cargo.toml",
        &read(&fx, "lt/Cargo.toml").replace("\"<0.3.1\"", "\"<0.4\""),
    );
    fx.file(
        "range/Cargo.toml",
        &read(&fx, "range/Cargo.toml").replace("<0.3.1", "<0.4"),
    );
    let before = manifests(&fx);
    let dry = fix_forward(&fx, &registry, "gg-base", &[]).ok();
    assert_eq!(manifests(&fx), before, "a dry run writes nothing");
    for kept in [
        "`gt/Cargo.toml` [dependencies] `gg-base` `>0.2` admits 0.3.1",
        "`lt/Cargo.toml` [dependencies] `gg-base` `<0.4` admits 0.3.1",
        "`range/Cargo.toml` [dependencies] `gg-base` `>=0.2, <0.4` admits 0.3.1",
        "`wild/Cargo.toml` [dependencies] `gg-base` `0.3.*` admits 0.3.1",
    ] {
        assert!(dry.contains(kept), "{kept}\n{dry}");
    }
    fix_forward(&fx, &registry, "gg-base", &["--write"]).ok();
    let after = manifests(&fx);

    // What the dry run showed is exactly what was written.
    for (path, text) in &after {
        if before[path] != *text {
            let diff = unified_diff(path, &before[path], text);
            assert!(dry.contains(&diff), "{diff}\nnot in the dry run:\n{dry}");
        }
    }
    let changed: Vec<&String> = after.keys().filter(|p| before[*p] != after[*p]).collect();
    assert_eq!(
        changed,
        [
            "base/Cargo.toml",
            "dus/Cargo.toml",
            "gt/Cargo.toml",
            "lt/Cargo.toml",
            "range/Cargo.toml",
            "sp/Cargo.toml",
            "us/Cargo.toml",
            "wild/Cargo.toml"
        ]
    );
    for (path, req) in [
        ("gt/Cargo.toml", "\">0.2\""),
        ("lt/Cargo.toml", "\"<0.4\""),
        ("range/Cargo.toml", "\">=0.2, <0.4\""),
        ("wild/Cargo.toml", "\"0.3.*\""),
    ] {
        assert!(after[path].contains(req), "{path}: {}", after[path]);
    }
    // The real tables were edited; none was created.
    let sp = &after["sp/Cargo.toml"];
    assert!(
        sp.contains("[target.'cfg(any(unix,windows))'.dependencies]\ngg-base = { path = \"../base\", version = \"=0.3.1\" }"),
        "{sp}"
    );
    assert_eq!(sp.matches("target").count(), 1, "{sp}");
    let us = &after["us/Cargo.toml"];
    assert!(us.starts_with("[package]"), "{us}");
    assert!(!us.contains("build-dependencies"), "{us}");
    assert!(
        us.contains(
            "[build_dependencies]\ngg-base = { path = \"../base\", version = \"=0.3.1\" } # pinned"
        ),
        "{us}"
    );
    let dus = &after["dus/Cargo.toml"];
    assert!(!dus.contains("dev-dependencies"), "{dus}");
    assert!(dus.contains("version = \"~0.3.1\""), "{dus}");
    fx.shipper_env(&registry, &["plan", "--registry", "local"], &[])
        .ok();
}

#[test]
fn fix_forward_keeps_build_metadata_and_says_so() {
    let registry = TestRegistry::start();
    let fx = Fixture::new();
    fx.file(
        "Cargo.toml",
        "[workspace]\nresolver = \"2\"\nmembers = [\"base\", \"sys\"]\n\n[workspace.package]\nversion = \"5.0.0\"\n",
    )
    .package("base", "hh-base", "0.3.0", "")
    .package(
        "sys",
        "hh-sys",
        "0.4.0+zstd.1.5.5",
        "[dependencies]\nhh-base = { path = \"../base\", version = \"0.3.0\" }",
    );
    fx.use_registry(&registry);
    fx.publish(&registry, &[]).ok();
    let out = fix_forward(&fx, &registry, "hh-base", &["--write"]).ok();
    assert!(
        out.contains(
            "hh-sys 0.4.0+zstd.1.5.5 -> 0.4.1+zstd.1.5.5  (depends on hh-base); build metadata `+zstd.1.5.5` kept"
        ),
        "{out}"
    );
    let sys = read(&fx, "sys/Cargo.toml");
    assert!(sys.contains("version = \"0.4.1+zstd.1.5.5\""), "{sys}");
    assert!(sys.contains("version = \"0.3.1\" }"), "{sys}");
    fx.publish(&registry, &[]).ok();
    assert_eq!(registry.version_count("hh-sys"), 2);
}

#[test]
fn fix_forward_without_a_workspace_version() {
    let registry = TestRegistry::start();
    let fx = Fixture::new();
    // `[workspace.package]` without `version`.
    fx.file(
        "Cargo.toml",
        "[workspace]\nresolver = \"2\"\nmembers = [\"base\", \"user\"]\n\n[workspace.package]\nedition = \"2021\"\n",
    )
    .package("base", "ii-base", "0.3.0", "")
    .package(
        "user",
        "ii-user",
        "2.0.0",
        "[dependencies]\nii-base = { path = \"../base\", version = \"=0.3.0\" }",
    );
    fx.use_registry(&registry);
    fx.publish(&registry, &[]).ok();
    let out = fix_forward(&fx, &registry, "ii-base", &["--write"]).ok();
    assert!(
        out.contains("ii-user 2.0.0 -> 2.0.1  (depends on ii-base)"),
        "{out}"
    );
    assert!(read(&fx, "user/Cargo.toml").contains("version = \"=0.3.1\" }"));
    let root = read(&fx, "Cargo.toml");
    assert!(!root.contains("version"), "{root}");
}

#[test]
fn fix_forward_on_a_single_crate_repository() {
    let registry = TestRegistry::start();
    let fx = Fixture::new();
    fx.package(".", "solo-crate", "1.0.0", "# just me");
    fx.use_registry(&registry);
    fx.publish(&registry, &[]).ok();
    let out = fix_forward(&fx, &registry, "solo-crate", &["--write"]).ok();
    assert!(
        out.contains("solo-crate 1.0.0 -> 1.0.1  (the fix)"),
        "{out}"
    );
    let manifest = read(&fx, "Cargo.toml");
    assert!(manifest.contains("version = \"1.0.1\""), "{manifest}");
    assert!(!manifest.contains("workspace"), "{manifest}");
}
