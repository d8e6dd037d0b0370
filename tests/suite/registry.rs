//! The embedded registry on the wire: protocol, checks, persistence,
//! concurrency and every fault knob.

use crate::support;

use std::time::{Duration, Instant};

use crate::support::{TestRegistry, http, upload_body};
use cargo_shipper::local_registry::{RetryAfter, UploadFault};
use cargo_shipper::registry::SparseIndexReader;

fn versions(registry: &TestRegistry, name: &str) -> Vec<String> {
    SparseIndexReader::new(
        &cargo_shipper::registry::Http::plain(),
        &registry.index_url(),
    )
    .versions(name)
    .unwrap()
    .into_iter()
    .map(|v| v.version.to_string())
    .collect()
}

#[test]
fn config_json_points_cargo_at_the_api_and_downloads() {
    let registry = TestRegistry::start();
    let reply = http(
        "GET",
        &format!("{}config.json", registry.index_http()),
        &[],
        &[],
    )
    .unwrap();
    assert_eq!(reply.status, 200);
    let config: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(config["api"], registry.api());
    assert_eq!(config["dl"], format!("{}/api/v1/crates", registry.api()));
}

#[test]
fn upload_then_read_through_crates_index_and_the_api() {
    let registry = TestRegistry::start();
    assert_eq!(registry.upload("base", "0.1.0", &[]).status, 200);
    assert_eq!(registry.upload("top", "0.2.0", &["base"]).status, 200);
    assert_eq!(versions(&registry, "base"), ["0.1.0"]);
    let read = SparseIndexReader::new(
        &cargo_shipper::registry::Http::plain(),
        &registry.index_url(),
    )
    .versions("top")
    .unwrap();
    assert_eq!(read[0].checksum.len(), 64);

    let info = http(
        "GET",
        &format!("{}/api/v1/crates/top/0.2.0", registry.api()),
        &[],
        &[],
    )
    .unwrap();
    assert_eq!(info.status, 200);
    let info: serde_json::Value = serde_json::from_slice(&info.body).unwrap();
    assert_eq!(info["version"]["num"], "0.2.0");
    assert_eq!(info["version"]["checksum"], read[0].checksum);

    let dl = http(
        "GET",
        &format!("{}/api/v1/crates/top/0.2.0/download", registry.api()),
        &[],
        &[],
    )
    .unwrap();
    assert_eq!(dl.body, support::crate_file("top", "0.2.0"));

    let owners = http(
        "GET",
        &format!("{}/api/v1/crates/top/owners", registry.api()),
        &[],
        &[],
    )
    .unwrap();
    assert!(
        owners.text().contains("\"login\":\"shipper\""),
        "{}",
        owners.text()
    );
}

#[test]
fn index_answers_304_to_a_matching_etag() {
    let registry = TestRegistry::start();
    registry.upload("etag", "0.1.0", &[]);
    let first = registry.index_entry("etag");
    let etag = first.header("etag").expect("ETag");
    assert!(first.header("last-modified").is_some());
    let url = SparseIndexReader::new(
        &cargo_shipper::registry::Http::plain(),
        &registry.index_url(),
    )
    .crate_url("etag")
    .unwrap();
    let again = http("GET", &url, &[&format!("If-None-Match: {etag}")], &[]).unwrap();
    assert_eq!(again.status, 304);
    registry.upload("etag", "0.2.0", &[]);
    let changed = http("GET", &url, &[&format!("If-None-Match: {etag}")], &[]).unwrap();
    assert_eq!(changed.status, 200);
}

#[test]
fn rejections_have_crates_io_statuses_and_store_nothing() {
    let registry = TestRegistry::start();
    assert_eq!(registry.upload("dup", "1.0.0", &[]).status, 200);

    let duplicate = registry.upload("dup", "1.0.0", &[]);
    assert_eq!(duplicate.status, 400);
    assert!(
        duplicate
            .text()
            .contains("crate version `dup@1.0.0` is already uploaded"),
        "{}",
        duplicate.text()
    );

    let unknown_dep = registry.upload("orphan", "1.0.0", &["ghost"]);
    assert_eq!(unknown_dep.status, 400);
    assert!(
        unknown_dep.text().contains("no known crate named `ghost`"),
        "{}",
        unknown_dep.text()
    );

    let bad_name = registry.upload("9lives", "1.0.0", &[]);
    assert_eq!(bad_name.status, 400);
    assert!(bad_name.text().contains("invalid crate name"));

    let url = format!("{}/api/v1/crates/new", registry.api());
    let body = upload_body("sneaky", "1.0.0", &[], b"x");
    let no_token = http("PUT", &url, &[], &body).unwrap();
    assert_eq!(no_token.status, 401);
    let wrong_token = http("PUT", &url, &["Authorization: nope"], &body).unwrap();
    assert_eq!(wrong_token.status, 403);
    assert!(wrong_token.text().starts_with("{\"errors\":[{\"detail\":"));

    assert_eq!(versions(&registry, "dup"), ["1.0.0"]);
    for name in ["orphan", "sneaky"] {
        assert_eq!(registry.index_entry(name).status, 404);
    }
}

#[test]
fn yank_and_unyank_need_the_token() {
    let registry = TestRegistry::start();
    registry.upload("yanky", "0.1.0", &[]);
    let url = format!("{}/api/v1/crates/yanky/0.1.0/yank", registry.api());
    assert_eq!(http("DELETE", &url, &[], &[]).unwrap().status, 401);
    let auth = format!("Authorization: {}", registry.registry.token());
    assert_eq!(http("DELETE", &url, &[&auth], &[]).unwrap().status, 200);
    let read = SparseIndexReader::new(
        &cargo_shipper::registry::Http::plain(),
        &registry.index_url(),
    )
    .versions("yanky")
    .unwrap();
    assert!(read[0].yanked);
    let unyank = format!("{}/api/v1/crates/yanky/0.1.0/unyank", registry.api());
    assert_eq!(http("PUT", &unyank, &[&auth], &[]).unwrap().status, 200);
    assert!(
        !SparseIndexReader::new(
            &cargo_shipper::registry::Http::plain(),
            &registry.index_url()
        )
        .versions("yanky")
        .unwrap()[0]
            .yanked
    );
}

#[test]
fn restart_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let token;
    {
        let registry = TestRegistry::start_with(dir.path(), |_| {});
        token = registry.token().to_owned();
        let auth = format!("Authorization: {token}");
        let reply = http(
            "PUT",
            &format!("http://{}/api/v1/crates/new", registry.addr()),
            &[&auth],
            &upload_body(
                "durable",
                "1.2.3",
                &[],
                &support::crate_file("durable", "1.2.3"),
            ),
        )
        .unwrap();
        assert_eq!(reply.status, 200);
    }
    let registry = TestRegistry::start_with(dir.path(), |_| {});
    let read = SparseIndexReader::new(
        &cargo_shipper::registry::Http::plain(),
        &registry.index_url(),
    )
    .versions("durable")
    .unwrap();
    assert_eq!(read.len(), 1);
    let dl = http(
        "GET",
        &format!(
            "http://{}/api/v1/crates/durable/1.2.3/download",
            registry.addr()
        ),
        &[],
        &[],
    )
    .unwrap();
    assert_eq!(dl.body, support::crate_file("durable", "1.2.3"));
}

#[test]
fn parallel_uploads_all_land() {
    let registry = TestRegistry::start();
    std::thread::scope(|s| {
        for i in 0..12 {
            let registry = &registry;
            s.spawn(move || {
                let reply = registry.upload("many", &format!("0.1.{i}"), &[]);
                assert_eq!(reply.status, 200, "{}", reply.text());
            });
        }
    });
    let mut got = versions(&registry, "many");
    got.sort_by_key(|v| semver::Version::parse(v).unwrap());
    let want: Vec<String> = (0..12).map(|i| format!("0.1.{i}")).collect();
    assert_eq!(got, want);
}

fn with_knobs(
    f: impl FnOnce(&mut cargo_shipper::local_registry::Knobs),
) -> (tempfile::TempDir, TestRegistryHandle) {
    let dir = tempfile::tempdir().unwrap();
    let registry = TestRegistry::start_with(dir.path(), |c| f(&mut c.knobs));
    (dir, TestRegistryHandle(registry))
}

struct TestRegistryHandle(cargo_shipper::local_registry::LocalRegistry);

impl TestRegistryHandle {
    fn upload(&self, name: &str, version: &str) -> Result<support::HttpReply, curl::Error> {
        http(
            "PUT",
            &format!("http://{}/api/v1/crates/new", self.0.addr()),
            &[&format!("Authorization: {}", self.0.token())],
            &upload_body(name, version, &[], &support::crate_file(name, version)),
        )
    }

    fn index(&self, name: &str) -> support::HttpReply {
        let url =
            SparseIndexReader::new(&cargo_shipper::registry::Http::plain(), &self.0.index_url())
                .crate_url(name)
                .unwrap();
        http("GET", &url, &[], &[]).unwrap()
    }
}

#[test]
fn fault_5xx_on_the_nth_upload_stores_nothing() {
    let (_dir, registry) = with_knobs(|k| k.upload_faults = vec![(2, UploadFault::Status(503))]);
    assert_eq!(registry.upload("f", "0.1.0").unwrap().status, 200);
    let failed = registry.upload("f", "0.2.0").unwrap();
    assert_eq!(failed.status, 503);
    assert!(failed.text().contains("\"errors\""));
    assert_eq!(registry.upload("f", "0.3.0").unwrap().status, 200);
    let index = registry.index("f").text();
    assert!(index.contains("0.1.0") && !index.contains("0.2.0") && index.contains("0.3.0"));
}

#[test]
fn fault_429_with_retry_after_in_seconds_and_as_a_date() {
    let (_dir, registry) = with_knobs(|k| {
        k.upload_faults = vec![
            (1, UploadFault::RateLimited(RetryAfter::Seconds(30))),
            (2, UploadFault::RateLimited(RetryAfter::HttpDate(120))),
        ]
    });
    let seconds = registry.upload("r", "0.1.0").unwrap();
    assert_eq!(seconds.status, 429);
    assert_eq!(seconds.header("retry-after").as_deref(), Some("30"));

    let dated = registry.upload("r", "0.1.0").unwrap();
    assert_eq!(dated.status, 429);
    let when = httpdate::parse_http_date(&dated.header("retry-after").unwrap()).unwrap();
    let ahead = when.duration_since(std::time::SystemTime::now()).unwrap();
    assert!(
        ahead > Duration::from_secs(100) && ahead <= Duration::from_secs(121),
        "{ahead:?}"
    );
    assert!(dated.text().contains("Please try again after"));
    assert_eq!(registry.index("r").status, 404, "nothing stored");
    assert_eq!(registry.upload("r", "0.1.0").unwrap().status, 200);
}

#[test]
fn fault_drop_after_store_leaves_the_client_guessing_but_the_upload_landed() {
    let (_dir, registry) = with_knobs(|k| k.upload_faults = vec![(1, UploadFault::DropAfterStore)]);
    let err = registry.upload("ambiguous", "1.0.0").unwrap_err();
    // No HTTP answer at all: curl reports an empty reply / closed connection.
    assert!(
        err.is_got_nothing() || err.is_recv_error() || err.is_send_error(),
        "{err:?}"
    );
    assert_eq!(registry.index("ambiguous").status, 200);
}

#[test]
fn propagation_delay_hides_a_new_version_for_a_while() {
    let (_dir, registry) = with_knobs(|k| k.propagation_delay = Duration::from_millis(700));
    let uploaded = Instant::now();
    assert_eq!(registry.upload("slowcdn", "0.1.0").unwrap().status, 200);
    assert_eq!(registry.index("slowcdn").status, 404);
    while registry.index("slowcdn").status != 200 {
        assert!(
            uploaded.elapsed() < Duration::from_secs(5),
            "never appeared"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(uploaded.elapsed() >= Duration::from_millis(700));
}

#[test]
fn flapping_index_alternates_200_and_404() {
    let (_dir, registry) = with_knobs(|k| k.flapping_index = true);
    registry.upload("flappy", "0.1.0").unwrap();
    let statuses: Vec<u32> = (0..4).map(|_| registry.index("flappy").status).collect();
    assert_eq!(statuses, [200, 404, 200, 404]);
}

#[test]
fn slow_index_and_slow_uploads() {
    let (_dir, registry) = with_knobs(|k| {
        k.index_latency = Duration::from_millis(300);
        k.upload_latency = Duration::from_millis(300);
    });
    let start = Instant::now();
    registry.upload("tortoise", "0.1.0").unwrap();
    assert!(start.elapsed() >= Duration::from_millis(300));
    let start = Instant::now();
    assert_eq!(registry.index("tortoise").status, 200);
    assert!(start.elapsed() >= Duration::from_millis(300));
}

#[test]
fn auth_required_registry_refuses_anonymous_reads() {
    let dir = tempfile::tempdir().unwrap();
    let registry = TestRegistry::start_with(dir.path(), |c| c.auth_required = true);
    let config = http(
        "GET",
        &format!("http://{}/index/config.json", registry.addr()),
        &[],
        &[],
    )
    .unwrap();
    assert!(config.text().contains("\"auth-required\":true"));
    let url = format!("http://{}/index/3/a/abc", registry.addr());
    assert_eq!(http("GET", &url, &[], &[]).unwrap().status, 401);
    let auth = format!("Authorization: {}", registry.token());
    assert_eq!(http("GET", &url, &[&auth], &[]).unwrap().status, 404);
}

#[test]
fn upstream_pass_through_serves_what_is_not_here_and_ours_wins() {
    let upstream = TestRegistry::start();
    upstream.upload("shared", "1.0.0", &[]);
    upstream.upload("only-upstream", "2.0.0", &[]);
    let dir = tempfile::tempdir().unwrap();
    let url = upstream.index_url();
    let stand_in = TestRegistry::start_with(dir.path(), |c| c.upstream = Some(url));
    let reader = SparseIndexReader::new(
        &cargo_shipper::registry::Http::plain(),
        &stand_in.index_url(),
    );
    assert_eq!(reader.versions("only-upstream").unwrap().len(), 1);

    let auth = format!("Authorization: {}", stand_in.token());
    let put = |name: &str, version: &str, deps: &[&str]| {
        http(
            "PUT",
            &format!("http://{}/api/v1/crates/new", stand_in.addr()),
            &[&auth],
            &upload_body(name, version, deps, &support::crate_file(name, version)),
        )
        .unwrap()
    };
    // A version upstream already has is taken; a dependency only upstream has is known.
    assert_eq!(put("shared", "1.0.0", &[]).status, 400);
    assert_eq!(put("shared", "1.1.0", &["only-upstream"]).status, 200);
    let shared: Vec<String> = reader
        .versions("shared")
        .unwrap()
        .into_iter()
        .map(|v| v.version.to_string())
        .collect();
    assert_eq!(shared, ["1.0.0", "1.1.0"]);
    // Downloads pass through too.
    let dl = http(
        "GET",
        &format!(
            "http://{}/api/v1/crates/only-upstream/2.0.0/download",
            stand_in.addr()
        ),
        &[],
        &[],
    )
    .unwrap();
    assert_eq!(dl.body, support::crate_file("only-upstream", "2.0.0"));
    // Nothing was written upstream.
    assert_eq!(upstream.index_entry("shared").text().lines().count(), 1);
}

#[test]
fn owners_can_be_added_and_removed_but_not_all() {
    let registry = TestRegistry::start();
    registry.upload("owned", "0.1.0", &[]);
    let url = format!("{}/api/v1/crates/owned/owners", registry.api());
    let auth = format!("Authorization: {}", registry.registry.token());
    let body = br#"{"users":["alice"]}"#;
    assert_eq!(http("PUT", &url, &[], body).unwrap().status, 401);
    let added = http("PUT", &url, &[&auth], body).unwrap();
    assert_eq!(added.status, 200, "{}", added.text());
    assert!(added.text().contains("\"ok\":true"));
    let listed = http("GET", &url, &[], &[]).unwrap().text();
    assert!(
        listed.contains("\"login\":\"alice\"") && listed.contains("\"login\":\"shipper\""),
        "{listed}"
    );
    assert_eq!(
        http("DELETE", &url, &[&auth], br#"{"users":["shipper"]}"#)
            .unwrap()
            .status,
        200
    );
    let last = http("DELETE", &url, &[&auth], br#"{"users":["alice"]}"#).unwrap();
    assert_eq!(last.status, 400, "the last owner stays");
    assert!(
        http("GET", &url, &[], &[])
            .unwrap()
            .text()
            .contains("alice")
    );
    let unknown = format!("{}/api/v1/crates/nobody/owners", registry.api());
    assert_eq!(http("GET", &unknown, &[], &[]).unwrap().status, 404);
}

#[test]
fn invalid_version_is_rejected() {
    let registry = TestRegistry::start();
    let reply = registry.upload("badver", "1.0", &[]);
    assert_eq!(reply.status, 400);
    assert!(
        reply.text().contains("invalid version `1.0`"),
        "{}",
        reply.text()
    );
    assert_eq!(registry.index_entry("badver").status, 404);
}

#[test]
fn failing_reads_after_n_uploads_answer_503() {
    let (_dir, registry) = with_knobs(|k| k.fail_reads_after_uploads = Some(1));
    let config = http(
        "GET",
        &format!("http://{}/index/config.json", registry.0.addr()),
        &[],
        &[],
    )
    .unwrap();
    assert_eq!(config.status, 200);
    assert_eq!(
        registry.index("reads").status,
        404,
        "before any upload: normal answers"
    );
    assert_eq!(registry.upload("reads", "0.1.0").unwrap().status, 200);
    assert_eq!(registry.index("reads").status, 503);
    let api = http(
        "GET",
        &format!("http://{}/api/v1/crates/reads/0.1.0", registry.0.addr()),
        &[],
        &[],
    )
    .unwrap();
    assert_eq!(api.status, 503);
    let config = http(
        "GET",
        &format!("http://{}/index/config.json", registry.0.addr()),
        &[],
        &[],
    )
    .unwrap();
    assert_eq!(config.status, 200, "config.json still answers");
}

#[test]
fn garbage_index_answers_200_with_something_else() {
    let (_dir, registry) = with_knobs(|k| k.garbage_index = true);
    registry.upload("portal", "0.1.0").unwrap();
    let reply = registry.index("portal");
    assert_eq!(reply.status, 200);
    assert!(reply.text().starts_with("<html>"));
    let err = SparseIndexReader::new(
        &cargo_shipper::registry::Http::plain(),
        &registry.0.index_url(),
    )
    .versions("portal")
    .unwrap_err();
    assert!(err.to_string().contains("malformed"), "{err}");
}

#[test]
fn oversized_uploads_are_refused() {
    let registry = TestRegistry::start();
    let auth = format!("Authorization: {}", registry.registry.token());
    let huge = vec![0u8; 12 * 1024 * 1024];
    let reply = http(
        "PUT",
        &format!("{}/api/v1/crates/new", registry.api()),
        &[&auth],
        &upload_body("huge", "0.1.0", &[], &huge),
    )
    .unwrap();
    assert_eq!(reply.status, 413);
    assert_eq!(registry.index_entry("huge").status, 404);
}
