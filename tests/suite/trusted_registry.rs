//! The embedded registry's trusted publishing, on the wire: the exchange,
//! the minted token's scope and lifetime, revocation, crates.io's error shapes.

use crate::support;

use std::time::Duration;

use crate::support::{TrustedSetup, crate_file, github_claims, http, upload_body};

fn upload_with(setup: &TrustedSetup, token: &str, name: &str) -> support::HttpReply {
    upload_version(setup, token, name, "0.1.0")
}

fn upload_version(
    setup: &TrustedSetup,
    token: &str,
    name: &str,
    version: &str,
) -> support::HttpReply {
    let auth = format!("Authorization: {token}");
    http(
        "PUT",
        &format!("{}/api/v1/crates/new", setup.registry.api()),
        &[&auth],
        &upload_body(name, version, &[], &crate_file(name, version)),
    )
    .expect("http")
}

fn minted(setup: &TrustedSetup) -> String {
    let reply = setup.exchange();
    assert_eq!(reply.status, 200, "{}", reply.text());
    let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    body["token"].as_str().unwrap().to_owned()
}

fn detail(reply: &support::HttpReply) -> String {
    let body: serde_json::Value = serde_json::from_slice(&reply.body).expect("JSON error");
    body["errors"][0]["detail"]
        .as_str()
        .expect("crates.io's error shape")
        .to_owned()
}

#[test]
fn a_minted_token_publishes_its_crates_until_it_expires() {
    let setup = TrustedSetup::start(
        &["tp-a"],
        github_claims("example/demo", "release.yml", None),
        Duration::from_secs(1),
        |_| {},
    );
    let reply = setup.exchange();
    assert_eq!(reply.status, 200, "{}", reply.text());
    let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    let token = body["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("cio_tp_"));
    assert_eq!(upload_with(&setup, &token, "tp-a").status, 200);

    // Another crate is outside the token's scope.
    let other = upload_with(&setup, &token, "tp-b");
    assert_eq!(other.status, 403);
    assert!(detail(&other).contains("`tp-b`"), "{}", other.text());

    // Expired: a 401 that says so.
    std::thread::sleep(Duration::from_millis(1100));
    let late = upload_with(&setup, &token, "tp-a");
    assert_eq!(late.status, 401);
    assert!(detail(&late).contains("expired"), "{}", late.text());
}

#[test]
fn revoking_ends_the_token_and_needs_the_token() {
    let setup = TrustedSetup::start(
        &["tp-a"],
        github_claims("example/demo", "release.yml", None),
        Duration::from_secs(60),
        |_| {},
    );
    let body: serde_json::Value = serde_json::from_slice(&setup.exchange().body).unwrap();
    let token = body["token"].as_str().unwrap().to_owned();
    assert_eq!(setup.registry.registry.live_minted_tokens(), 1);
    let url = format!("{}/api/v1/trusted_publishing/tokens", setup.registry.api());
    assert_eq!(http("DELETE", &url, &[], &[]).unwrap().status, 401);
    let auth = format!("Authorization: Bearer {token}");
    assert_eq!(http("DELETE", &url, &[&auth], &[]).unwrap().status, 204);
    assert_eq!(setup.registry.registry.live_minted_tokens(), 0);
    let after = upload_with(&setup, &token, "tp-a");
    assert_eq!(after.status, 401);
    assert!(detail(&after).contains("revoked"));
}

#[test]
fn exchanges_are_refused_in_crates_io_shapes() {
    let setup = TrustedSetup::start(
        &["tp-a"],
        github_claims("someone/else", "release.yml", None),
        Duration::from_secs(60),
        |_| {},
    );
    // Claims that match no configuration.
    let reply = setup.exchange();
    assert_eq!(reply.status, 400);
    assert!(detail(&reply).contains("someone/else"), "{}", reply.text());

    // Wrong audience, tampered signature, garbage, reuse of a JWT.
    let wrong_aud = setup.provider.jwt_for("crates.io").unwrap();
    assert!(detail(&setup.exchange_jwt(&wrong_aud)).contains("decode JWT"));
    let good = setup.provider.jwt_for(&setup.audience()).unwrap();
    let mut tampered = good.clone();
    tampered.pop();
    tampered.push(if good.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(setup.exchange_jwt(&tampered).status, 400);
    assert_eq!(setup.exchange_jwt("not-a-jwt").status, 400);
    assert_eq!(setup.registry.registry.minted_tokens().len(), 0);
}

#[test]
fn a_jwt_is_exchanged_once() {
    let setup = TrustedSetup::start(
        &["tp-a"],
        github_claims("example/demo", "release.yml", Some("release")),
        Duration::from_secs(60),
        |_| {},
    );
    let jwt = setup.provider.jwt_for(&setup.audience()).unwrap();
    assert_eq!(setup.exchange_jwt(&jwt).status, 200);
    let again = setup.exchange_jwt(&jwt);
    assert_eq!(again.status, 400);
    assert!(detail(&again).contains("already been used"));
}

#[test]
fn as_on_crates_io_a_minted_token_publishes_next_versions_but_not_a_first_one() {
    let setup = TrustedSetup::as_crates_io(
        &["tp-a"],
        github_claims("example/demo", "release.yml", None),
        Duration::from_secs(60),
    );
    let token = minted(&setup);
    let first = upload_with(&setup, &token, "tp-a");
    assert_eq!(first.status, 403, "{}", first.text());
    let why = detail(&first);
    assert!(why.contains("`tp-a`"), "{why}");
    assert!(
        why.contains("cannot publish a crate's first version"),
        "{why}"
    );
    assert!(why.contains("API token"), "{why}");
    let info = format!("{}/api/v1/crates/tp-a", setup.registry.api());
    assert_eq!(http("GET", &info, &[], &[]).unwrap().status, 404);

    // Published once with the registry's own token (crates.io: an API
    // token), the crate's next version goes out with the minted one.
    let api_token = setup.registry.registry.token().to_owned();
    assert_eq!(upload_with(&setup, &api_token, "tp-a").status, 200);
    let next = upload_version(&setup, &token, "tp-a", "0.2.0");
    assert_eq!(next.status, 200, "{}", next.text());
    // Another spelling of the configured name is the same crate.
    let spelled = upload_version(&setup, &token, "tp_a", "0.3.0");
    assert_eq!(spelled.status, 400, "{}", spelled.text());
    assert!(detail(&spelled).contains("previously named `tp-a`"));
}

#[test]
fn the_oidc_provider_takes_the_bearer_scheme_in_any_case() {
    let setup = TrustedSetup::start(
        &["tp-a"],
        github_claims("example/demo", "release.yml", None),
        Duration::from_secs(60),
        |_| {},
    );
    let url = format!("{}&audience=x", setup.provider.request_url());
    for scheme in ["Bearer", "bearer"] {
        let auth = format!("Authorization: {scheme} {}", setup.provider.request_token());
        let reply = http("GET", &url, &[&auth], &[]).unwrap();
        assert_eq!(reply.status, 200, "{scheme}: {}", reply.text());
    }
    let wrong = http("GET", &url, &["Authorization: bearer nope"], &[]).unwrap();
    assert_eq!(wrong.status, 401);
}
