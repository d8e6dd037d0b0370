//! Item 12: a registry that contradicts itself (its database has a version,
//! its index does not, and every upload of it is refused "already exists")
//! is said to, with both answers and what to do, and exit 5; the crate is
//! not uploaded again and again.

use crate::support::{Fixture, TestRegistry, crate_file, http, upload_body};
use cargo_shipper::local_registry::UploadFault;

#[test]
fn already_exists_yet_absent_from_the_index_stops_the_crate_for_an_operator() {
    // Kellnr-like: no version API; the first upload of the version is kept
    // in the database, not in the index (a release killed mid-upload).
    let registry = TestRegistry::start_knobs(|k| {
        k.no_version_api = true;
        k.upload_faults = vec![(1, UploadFault::StoreUnindexed)];
    });
    let fx = Fixture::new();
    fx.file(
        "Cargo.toml",
        "[workspace]\nresolver = \"2\"\nmembers = [\"tca\"]\n",
    )
    .package("tca", "tca", "0.1.0", "")
    .use_registry(&registry);
    // The killed release's upload: stored, never indexed, no answer.
    let auth = format!("Authorization: {}", registry.registry.token());
    let dropped = http(
        "PUT",
        &format!("{}/api/v1/crates/new", registry.api()),
        &[&auth],
        &upload_body("tca", "0.1.0", &[], &crate_file("tca", "0.1.0")),
    );
    assert!(dropped.is_err(), "no answer: {dropped:?}");
    assert_eq!(registry.version_count("tca"), 0, "not in the index");

    // The index is believed to say "absent" after 1 s, not 30 s.
    let run = fx.publish(&registry, &["--no-verify", "--index-window-ms", "1000"]);
    assert_eq!(run.code(), 5, "{}", run.stderr());
    assert!(run.stderr().contains("after 1 s"), "{}", run.stderr());
    let err = run.stderr();
    assert!(err.contains("contradicts itself"), "{err}");
    assert!(err.contains("Crate with version already exists"), "{err}");
    assert!(err.contains("index does not list tca 0.1.0"), "{err}");
    assert!(err.contains("--assume-uploaded tca@0.1.0"), "{err}");
    assert!(!err.contains("the registry does not have it"), "{err}");
    let counts = registry.registry.upload_counts();
    assert_eq!(
        counts.requests, 2,
        "the killed upload and one refused upload: no blind retries"
    );
    assert_eq!(counts.duplicates, 1);
    assert_eq!(registry.version_count("tca"), 0);
}
