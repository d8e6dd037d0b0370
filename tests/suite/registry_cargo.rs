//! The embedded registry with the real `cargo` CLI on the other end:
//! publish, resolve, build, yank; and the differential check of the index
//! line it writes against crates.io's rules.

use crate::support::{DEMO_CRATES, Fixture, TestRegistry, demo_workspace, rich_workspace};

#[test]
fn real_cargo_publishes_the_demo_a_consumer_builds_it_and_a_yank_takes_effect() {
    let registry = TestRegistry::start();
    let demo = demo_workspace();
    demo.use_registry(&registry);
    demo.cargo_publish_workspace(&registry).ok();
    for name in DEMO_CRATES {
        assert_eq!(registry.index_entry(name).status, 200, "{name} published");
    }
    assert_eq!(
        registry.index_entry("shipper-demo-xtask").status,
        404,
        "publish = false"
    );

    let consumer = Fixture::new();
    let deps: String = DEMO_CRATES
        .iter()
        .map(|d| format!("{d} = \"0.1\"\n"))
        .collect();
    consumer
        .file(
            "Cargo.toml",
            &format!("[package]\nname = \"consumer\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\n{deps}"),
        )
        .file("src/main.rs", "fn main() { println!(\"{}\", shipper_demo_cli::run()); }\n")
        .use_registry(&registry);
    let run = consumer.cargo(&registry, &["run", "-q"]);
    assert_eq!(run.ok().trim(), "total = 5");

    // Yank the app: a fresh lockfile can no longer select it.
    demo.cargo(
        &registry,
        &[
            "yank",
            "--registry",
            "local",
            "--version",
            "0.1.0",
            "shipper-demo-app",
        ],
    )
    .ok();
    std::fs::remove_file(consumer.root().join("Cargo.lock")).unwrap();
    let relock = consumer.cargo(&registry, &["generate-lockfile"]);
    assert_ne!(relock.code(), 0, "a yanked version must not be selected");
    assert!(
        relock.stderr().contains("shipper-demo-app"),
        "{}",
        relock.stderr()
    );
}

#[test]
fn index_line_for_a_real_cargo_upload_follows_crates_io_rules() {
    let registry = TestRegistry::start();
    let fx = rich_workspace();
    fx.use_registry(&registry);
    fx.cargo_publish_workspace(&registry).ok();

    let line: serde_json::Value =
        serde_json::from_slice(&registry.index_entry("diff-lib").body).unwrap();
    // What crates.io writes for this manifest: renamed deps as `name` (the
    // key) + `package`; deps sorted; features using `dep:` or `?/` moved to
    // `features2` with `v: 2`; the others in `features`.
    let registry_of_path_deps = "https://github.com/rust-lang/crates.io-index";
    let dep = |name: &str,
               req: &str,
               kind: &str,
               target: Option<&str>,
               package: Option<&str>,
               optional: bool,
               default_features: bool,
               features: &[&str]| {
        let mut d = serde_json::json!({
            "name": name, "req": req, "features": features, "optional": optional,
            "default_features": default_features, "target": target, "kind": kind,
            // cargo marks path dependencies as crates.io ones (the registry here stands in for it)
            "registry": registry_of_path_deps,
        });
        if let Some(p) = package {
            d["package"] = p.into();
        }
        d
    };
    let expected = serde_json::json!({
        "name": "diff-lib",
        "vers": "1.0.0",
        "deps": [
            dep("diff-a", "=0.1.0", "build", None, None, false, true, &[]),
            dep("diff-b", "^0.1", "dev", None, None, false, true, &[]),
            dep("diff-b", "^0.1.3", "normal", Some("cfg(unix)"), None, false, true, &[]),
            dep("renamed", "^0.1", "normal", None, Some("diff-a"), true, false, &["x"]),
        ],
        "cksum": line["cksum"],
        "features": {"default": ["plain"], "plain": []},
        "features2": {"uses-dep": ["dep:renamed"], "weak": ["renamed?/x"]},
        "yanked": false,
        "links": "difflib",
        "rust_version": "1.70",
        "v": 2,
    });
    assert_eq!(line, expected);

    // The checksum is the sha256 of the .crate cargo uploaded (`cargo
    // publish` leaves it under `target/package/tmp-crate/`).
    let crate_file = fx
        .root()
        .join("target/package/tmp-crate/diff-lib-1.0.0.crate");
    let bytes = std::fs::read(crate_file).unwrap();
    use sha2::Digest;
    assert_eq!(line["cksum"], hex::encode(sha2::Sha256::digest(&bytes)));
}
