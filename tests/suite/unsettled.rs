//! An upload whose outcome the registry cannot tell: the run stops with
//! "needs an operator" (exit 5) and uploads nothing blindly; once the
//! registry answers again, a resume settles it and finishes the release.

use crate::support::{TestRegistry, archived_published, chain, count, events_in};
use cargo_shipper::local_registry::UploadFault;

#[test]
fn an_unsettled_upload_needs_an_operator_then_resumes() {
    let registry = TestRegistry::start_knobs(|k| {
        // The first upload is stored but its answer is lost, and from then
        // on the registry cannot say what it holds.
        k.upload_faults = vec![(1, UploadFault::DropAfterStore)];
        k.fail_reads_after_uploads = Some(1);
    });
    let fx = chain(&["ua", "ub"]);
    fx.use_registry(&registry);
    let first = fx.publish(&registry, &["--no-verify", "--max-attempts", "2"]);
    assert_eq!(first.code(), 5, "{}", first.stderr());
    let err = first.stderr();
    assert!(
        err.contains("could not learn from the registry whether ua 0.1.0 landed"),
        "{err}"
    );
    assert!(err.contains("Blocked ub"), "{err}");

    let registry = registry.restart(|_| {});
    assert_eq!(registry.version_count("ua"), 1, "the upload had landed");
    let second = fx
        .resume_cmd(&registry)
        .retry_delay_ms(None)
        .arg("--no-verify")
        .run();
    second.ok();
    let events = events_in(&archived_published(&fx));
    assert_eq!(
        count(&events, "upload_started", "ua"),
        1,
        "never uploaded twice"
    );
    assert_eq!(count(&events, "unsettled", "ua"), 1);
    assert_eq!(count(&events, "visible", "ua"), 1);
    assert_eq!(count(&events, "visible", "ub"), 1);
    assert_eq!(events.last().unwrap()["outcome"], "success");
    assert_eq!(registry.version_count("ua"), 1);
    assert_eq!(registry.version_count("ub"), 1);
}

/// The operator's last resort: the exit-5 message names it; an assumption
/// about a crate that is not unsettled is refused before anything is
/// recorded; the operator's word is journaled and the release finishes,
/// the crate confirmed in the index with the journal's checksum.
#[test]
fn the_operator_settles_an_upload_the_registry_cannot() {
    let registry = TestRegistry::start_knobs(|k| {
        k.upload_faults = vec![(1, UploadFault::DropAfterStore)];
        k.fail_reads_after_uploads = Some(1);
    });
    let fx = chain(&["oa", "ob"]);
    fx.use_registry(&registry);
    let first = fx.publish(&registry, &["--no-verify", "--max-attempts", "2"]);
    assert_eq!(first.code(), 5, "{}", first.stderr());
    assert!(
        first
            .stderr()
            .contains("cargo shipper resume --assume-not-uploaded oa@0.1.0"),
        "{}",
        first.stderr()
    );

    let registry = registry.restart(|_| {});
    let resume = |extra: &[&str]| {
        fx.resume_cmd(&registry)
            .retry_delay_ms(None)
            .arg("--no-verify")
            .args(extra)
            .run()
    };
    let events_before = events_in(&fx.root().join(".shipper/current")).len();
    let refused = resume(&["--assume-uploaded", "ob@0.1.0"]);
    assert_eq!(refused.code(), 1, "{}", refused.stderr());
    assert!(
        refused
            .stderr()
            .contains("not an upload of unknown outcome"),
        "{}",
        refused.stderr()
    );
    let events = events_in(&fx.root().join(".shipper/current"));
    assert!(
        !events[events_before..]
            .iter()
            .any(|e| e["kind"] == "reconciled"),
        "nothing assumed"
    );

    resume(&["--assume-uploaded", "oa@0.1.0"]).ok();
    let events = events_in(&archived_published(&fx));
    let assumed: Vec<_> = events
        .iter()
        .filter(|e| e["kind"] == "reconciled" && e["by_operator"] == true)
        .collect();
    assert_eq!(assumed.len(), 1, "{events:?}");
    assert_eq!(assumed[0]["name"], "oa");
    assert_eq!(
        count(&events, "upload_started", "oa"),
        1,
        "never uploaded twice"
    );
    assert_eq!(count(&events, "visible", "oa"), 1);
    assert_eq!(registry.version_count("oa"), 1);
    assert_eq!(registry.version_count("ob"), 1);
}
