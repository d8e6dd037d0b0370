//! The embedded registry's upstream pass-through under failure: an upstream
//! that cannot be asked is a 5xx (cargo retries those; a 404 is final), and
//! a publish is never accepted as "not taken" when upstream was not asked.

use crate::support::{TestRegistry, http};

/// A registry passing through to `upstream`, in a temp dir.
fn stand_in(upstream: &str) -> TestRegistry {
    let dir = tempfile::tempdir().unwrap();
    let url = upstream.to_owned();
    let registry = TestRegistry::start_with(dir.path(), |c| c.upstream = Some(url));
    TestRegistry::wrap(registry, dir)
}

#[test]
fn an_upstream_that_fails_is_never_answered_as_not_found() {
    // Upstream answers 503 to every index read.
    let upstream = TestRegistry::start_knobs(|k| k.fail_reads_after_uploads = Some(0));
    let registry = stand_in(&upstream.index_url());
    let reply = registry.index_entry("somecrate");
    assert_eq!(reply.status, 502, "{}", reply.text());
    assert!(reply.text().contains("upstream"), "{}", reply.text());

    // A refused connection is a failure too.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let registry = stand_in(&format!("sparse+http://{addr}/index/"));
    assert_eq!(registry.index_entry("somecrate").status, 502);
    let dl = http(
        "GET",
        &format!("{}/api/v1/crates/somecrate/1.0.0/download", registry.api()),
        &[],
        &[],
    )
    .unwrap();
    assert_eq!(dl.status, 502);
    // Publishing cannot know whether the version is taken upstream: refused
    // with a 503 (retryable), and nothing is stored.
    let put = registry.upload("somecrate", "1.0.0", &[]);
    assert_eq!(put.status, 503, "{}", put.text());
    let stored = std::fs::read_dir(registry.root().join("crates"))
        .unwrap()
        .count();
    assert_eq!(stored, 0);
}

#[test]
fn what_upstream_does_not_have_is_not_found_and_what_it_has_passes_through() {
    let upstream = TestRegistry::start();
    assert_eq!(upstream.upload("there", "1.0.0", &[]).status, 200);
    let registry = stand_in(&upstream.index_url());
    assert_eq!(registry.index_entry("nowhere").status, 404);
    // Asked twice (the second time from memory).
    for _ in 0..2 {
        let reply = registry.index_entry("there");
        assert_eq!(reply.status, 200);
        assert!(
            reply.text().contains("\"vers\":\"1.0.0\""),
            "{}",
            reply.text()
        );
    }
    // A version upstream published a moment ago is taken here at once,
    // cache or no cache: a publish always asks upstream again.
    assert_eq!(upstream.upload("there", "1.1.0", &[]).status, 200);
    let put = registry.upload("there", "1.1.0", &[]);
    assert_ne!(put.status, 200, "{}", put.text());
    assert!(put.text().contains("already"), "{}", put.text());
}
