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
