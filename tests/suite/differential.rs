//! Differential: the same crates published by the real `cargo publish` CLI
//! and by cargo-shipper (in-process) into two embedded registries give the
//! same index entries: dependencies, features, checksum.

use crate::support::{TestRegistry, rich_workspace};

#[test]
fn in_process_upload_matches_cargo_publish() {
    let by_cargo = TestRegistry::start();
    let by_us = TestRegistry::start();

    let one = rich_workspace();
    one.use_registry(&by_cargo);
    one.cargo_publish_workspace(&by_cargo).ok();

    let two = rich_workspace();
    two.use_registry(&by_us);
    two.publish(&by_us, &["--no-verify"]).ok();

    for name in ["diff-a", "diff-b", "diff-lib"] {
        let theirs: serde_json::Value =
            serde_json::from_slice(&by_cargo.index_entry(name).body).unwrap();
        let ours: serde_json::Value =
            serde_json::from_slice(&by_us.index_entry(name).body).unwrap();
        assert_eq!(ours, theirs, "{name}");
    }
    // The whole upload metadata (description, readme, license, deps with
    // their `registry`, features) is what cargo sends, byte for byte.
    let metadata = |r: &TestRegistry| {
        std::fs::read_to_string(r.root().join("crates/diff-lib/diff-lib-1.0.0.json")).unwrap()
    };
    let ours = metadata(&by_us);
    assert_eq!(ours, metadata(&by_cargo));
    assert!(ours.contains("\"readme\":\"# diff-lib\\n\""), "{ours}");
}

/// A `readme` outside the crate directory (`../../README.md`, a workspace's
/// one README for every member): cargo reads it from there and packages it
/// as `README.md`; the upload metadata carries its text, as cargo's does.
#[test]
fn a_readme_outside_the_crate_directory_is_read_from_where_it_is() {
    let make = || {
        let fx = crate::support::Fixture::new();
        fx.file("Cargo.toml", "[workspace]\nmembers = [\"crates/rd\"]\n")
            .file("README.md", "# the workspace's README\n")
            .package(
                "crates/rd",
                "diff-rd",
                "0.1.0",
                "readme = \"../../README.md\"",
            );
        fx
    };
    let by_cargo = TestRegistry::start();
    let by_us = TestRegistry::start();
    let one = make();
    one.use_registry(&by_cargo);
    one.cargo_publish_workspace(&by_cargo).ok();
    let two = make();
    two.use_registry(&by_us);
    two.publish(&by_us, &["--no-verify"]).ok();
    let metadata = |r: &TestRegistry| {
        std::fs::read_to_string(r.root().join("crates/diff-rd/diff-rd-0.1.0.json")).unwrap()
    };
    let ours = metadata(&by_us);
    assert_eq!(ours, metadata(&by_cargo));
    assert!(
        ours.contains("\"readme\":\"# the workspace's README\\n\"")
            && ours.contains("\"readme_file\":\"README.md\""),
        "{ours}"
    );
}
