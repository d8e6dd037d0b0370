//! `registry serve --trusted-publishing FILE` as a user drills their CI's
//! release locally: the registry plays crates.io's exchange and revocation,
//! a test OIDC provider runs beside it, and `publish --trusted-publishing on`
//! with the printed variables releases a workspace end to end. Bad files are
//! refused with the file and key named, before anything is written.

use crate::support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::support::{DEMO_CRATES, Run, demo_workspace, http};

/// A running `registry serve`, stopped (SIGINT) when dropped.
struct Served {
    child: Child,
    started: serde_json::Value,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

fn serve(root: &Path, file: &Path) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cargo-shipper"))
        .args(["shipper", "registry", "serve", "--message-format", "json"])
        .arg("--root")
        .arg(root)
        .arg("--trusted-publishing")
        .arg(file)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let started = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    Served { child, started }
}

fn crate_tables(crates: &[&str]) -> String {
    crates
        .iter()
        .map(|c| {
            format!(
                "[[crate]]\nname = \"{c}\"\nrepository = \"example/demo\"\nworkflow = \"release.yml\"\n"
            )
        })
        .collect()
}

#[test]
fn a_release_drilled_against_the_built_in_provider_goes_out_with_every_token_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("trusted.toml");
    std::fs::write(
        &file,
        format!(
            "token-lifetime = 60\nallow-new-crates = true\n\n[provider]\n\
             repository = \"example/demo\"\nworkflow = \"release.yml\"\n\n{}",
            crate_tables(&DEMO_CRATES)
        ),
    )
    .unwrap();
    let served = serve(&dir.path().join("registry"), &file);
    let started = &served.started;
    let trusted = &started["trusted_publishing"];
    let api = started["api"].as_str().unwrap();
    assert_eq!(trusted["audience"], api.trim_start_matches("http://"));
    assert_eq!(trusted["token_lifetime_secs"], 60);
    assert_eq!(trusted["allow_new_crates"], true);
    assert_eq!(
        trusted["crates"].as_array().unwrap().len(),
        DEMO_CRATES.len()
    );
    let env = &trusted["oidc_provider"]["env"];
    let request_url = env["ACTIONS_ID_TOKEN_REQUEST_URL"].as_str().unwrap();
    let request_token = env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"].as_str().unwrap();
    assert_eq!(
        trusted["oidc_provider"]["claims"]["job_workflow_ref"],
        "example/demo/.github/workflows/release.yml@refs/heads/main"
    );

    let fx = demo_workspace();
    let run = publish_trusted(&fx, started, request_url, request_token);
    run.ok();
    let events: Vec<serde_json::Value> = run
        .stdout()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let count = |kind: &str| events.iter().filter(|e| e["kind"] == kind).count();
    assert_eq!(count("token_minted"), 1);
    let revoked: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["kind"] == "token_revoked")
        .collect();
    assert_eq!(revoked.len(), 1 + count("token_renewed"));
    assert!(revoked.iter().all(|e| e["error"].is_null()), "{revoked:?}");
    // The journal kept the same lifecycle.
    let journal = support::events_in(&support::archived(&fx));
    let in_journal = journal
        .iter()
        .filter(|e| e["kind"] == "token_revoked")
        .count();
    assert_eq!(in_journal, revoked.len());
    for name in DEMO_CRATES {
        let reply = http(
            "GET",
            &format!("{api}/api/v1/crates/{name}/0.1.0"),
            &[],
            &[],
        )
        .unwrap();
        assert_eq!(reply.status, 200, "{name}: {}", reply.text());
    }
    // The local server's secrets stay out of the run's outputs and state.
    let registry_token = started["token"].as_str().unwrap();
    for secret in [registry_token, request_token] {
        for hay in [run.stdout(), run.stderr()] {
            assert!(!hay.contains(secret), "a secret in the output");
        }
        let state = fx.state_bytes();
        let s = secret.as_bytes();
        assert!(
            !state.windows(s.len()).any(|w| w == s),
            "a secret in .shipper/"
        );
    }
}

/// `publish --trusted-publishing on` of `fx` against the served registry,
/// with the provider's variables and no registry token.
fn publish_trusted(
    fx: &support::Fixture,
    started: &serde_json::Value,
    request_url: &str,
    request_token: &str,
) -> Run {
    fx.cargo_config(started["cargo_config"].as_str().unwrap());
    fx.cmd(["publish", "--registry", "shipper-local", "--allow-dirty"])
        .args(["--no-verify", "--trusted-publishing", "on"])
        .args(["--message-format", "json"])
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", request_url)
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", request_token)
        .env_remove("CARGO_REGISTRIES_SHIPPER_LOCAL_TOKEN")
        .env_remove("CARGO_REGISTRY_TOKEN")
        .env_remove("CRATES_IO_ID_TOKEN")
        .run()
}

/// The provider's variables in the JSON start-up message.
fn provider_env(started: &serde_json::Value) -> (String, String) {
    let env = &started["trusted_publishing"]["oidc_provider"]["env"];
    let var = |k: &str| env[k].as_str().unwrap().to_owned();
    (
        var("ACTIONS_ID_TOKEN_REQUEST_URL"),
        var("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
    )
}

#[test]
fn by_default_as_on_crates_io_a_drilled_first_release_stops_at_the_first_version() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("trusted.toml");
    std::fs::write(
        &file,
        format!(
            "[provider]\nrepository = \"example/demo\"\nworkflow = \"release.yml\"\n\n{}",
            crate_tables(&DEMO_CRATES)
        ),
    )
    .unwrap();
    let served = serve(&dir.path().join("registry"), &file);
    assert_eq!(
        served.started["trusted_publishing"]["allow_new_crates"],
        false
    );
    let (url, token) = provider_env(&served.started);
    let fx = demo_workspace();
    let run = publish_trusted(&fx, &served.started, &url, &token);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("trusted publishing cannot publish a crate's first version"),
        "{}",
        run.stderr()
    );
    // The advice fits: publish the first version with a token, not "add a
    // configuration" (a new crate cannot have one).
    assert!(
        run.stderr()
            .contains("publish its first version once with a token (`--trusted-publishing off`"),
        "{}",
        run.stderr()
    );
    assert!(
        !run.stderr().contains("must match them"),
        "{}",
        run.stderr()
    );
    let api = served.started["api"].as_str().unwrap();
    for name in DEMO_CRATES {
        let reply = http("GET", &format!("{api}/api/v1/crates/{name}"), &[], &[]).unwrap();
        assert_eq!(reply.status, 404, "{name}: {}", reply.text());
    }
}

#[test]
fn the_human_start_up_message_says_how_to_point_a_client_at_the_provider() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("trusted.toml");
    std::fs::write(
        &file,
        format!(
            "[provider]\nrepository = \"example/demo\"\nworkflow = \"release.yml\"\n\
             environment = \"release\"\n{}",
            crate_tables(&["shipper-demo-core", "shipper_demo_core"])
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cargo-shipper"))
        .args(["shipper", "registry", "serve", "--root"])
        .arg(dir.path().join("registry"))
        .arg("--trusted-publishing")
        .arg(&file)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut text = String::new();
    while !text.contains("--trusted-publishing on") {
        assert_ne!(reader.read_line(&mut text).unwrap(), 0, "{text}");
    }
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert!(
        text.contains("export ACTIONS_ID_TOKEN_REQUEST_URL='http://127.0.0.1:"),
        "{text}"
    );
    assert!(
        text.contains("export ACTIONS_ID_TOKEN_REQUEST_TOKEN=shipper_"),
        "{text}"
    );
    assert!(
        text.contains("1 crate(s) configured, minted tokens live 1800 s"),
        "{text}"
    );
    assert!(text.contains("environment release"), "{text}");
    assert!(
        text.contains("a crate's first version needs the registry's token"),
        "{text}"
    );
}

/// `registry serve` with `file`'s text: it must fail with exit 6, naming
/// the file and `expected`, and create nothing.
fn refused(text: &str, expected: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("trusted.toml");
    std::fs::write(&file, text).unwrap();
    let root = dir.path().join("registry");
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-shipper"))
        .args(["shipper", "registry", "serve", "--root"])
        .arg(&root)
        .arg("--trusted-publishing")
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(stderr.contains(&file.display().to_string()), "{stderr}");
    assert!(stderr.contains(expected), "{stderr}");
    assert!(!root.exists(), "a bad file left a registry directory");
}

const PROVIDER: &str = "[provider]\nrepository = \"example/demo\"\nworkflow = \"release.yml\"\n";

#[test]
fn a_file_without_a_crate_table_is_refused() {
    refused(PROVIDER, "it configures no crate: add a `[[crate]]` table");
}

#[test]
fn a_bad_issuer_key_is_refused() {
    let crates = crate_tables(&["a"]);
    refused(
        &format!("issuer = \"https://issuer.example\"\nissuer-key = \"not-hex\"\n{crates}"),
        "`issuer-key` is not hex",
    );
    refused(
        &format!("issuer = \"https://issuer.example\"\nissuer-key = \"abcd\"\n{crates}"),
        "`issuer-key` is 2 bytes long, not 32",
    );
}

#[test]
fn an_unknown_issuer_form_is_refused() {
    let crates = crate_tables(&["a"]);
    refused(&crates, "it names no issuer");
    refused(
        &format!("issuer = \"https://issuer.example\"\n{crates}"),
        "`issuer` without `issuer-key`",
    );
    refused(
        &format!(
            "issuer = \"https://issuer.example\"\nissuer-key = \"{}\"\n{PROVIDER}{crates}",
            "00".repeat(32)
        ),
        "both `[provider]` and `issuer`/`issuer-key`",
    );
}

#[test]
fn a_token_lifetime_beyond_a_week_is_refused() {
    let crates = crate_tables(&["a"]);
    for secs in ["9223372036854775807", "604801", "0"] {
        refused(
            &format!("token-lifetime = {secs}\n{PROVIDER}{crates}"),
            &format!("`token-lifetime = {secs}` is out of range: give 1 to 604800 seconds"),
        );
    }
}

#[test]
fn unknown_keys_and_bad_values_are_refused() {
    let crates = crate_tables(&["a"]);
    refused(
        &format!("{PROVIDER}{crates}enviroment = \"release\"\n"),
        "unknown field `enviroment`",
    );
    refused(
        &format!("{PROVIDER}rf = \"refs/heads/main\"\n{crates}"),
        "unknown field `rf`",
    );
    refused(
        &format!("allow-new-crate = true\n{PROVIDER}{crates}"),
        "unknown field `allow-new-crate`",
    );
    refused(
        &format!("{PROVIDER}{}", crate_tables(&["my crate"])),
        "`name = \"my crate\"` is not a crate name",
    );
    refused(
        &format!(
            "issuer = \"token.example\"\nissuer-key = \"{}\"\n{crates}",
            hex::encode(
                cargo_shipper::local_registry::TestIssuer::new("https://x")
                    .unwrap()
                    .public_key()
            )
        ),
        "`issuer = \"token.example\"` is not an http(s) URL",
    );
    refused(
        &format!("format = 0\n{PROVIDER}{crates}"),
        "`format = 0` is not a format",
    );
    refused(
        &format!("audience = \"\"\n{PROVIDER}{crates}"),
        "`audience` is empty",
    );
}

#[test]
fn a_file_that_is_not_toml_or_not_there_is_refused() {
    refused("token-lifetime = \"soon\"\n", "token-lifetime");
    refused("[[crate]\n", "not TOML");
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-shipper"))
        .args(["shipper", "registry", "serve", "--root"])
        .arg(dir.path().join("registry"))
        .args(["--trusted-publishing", "/nonexistent/trusted.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6));
    assert!(!dir.path().join("registry").exists());
}

#[test]
fn an_external_issuer_is_trusted_by_its_key_and_only_by_it() {
    use cargo_shipper::local_registry::TestIssuer;
    let issuer = TestIssuer::new("https://issuer.example").unwrap();
    let stranger = TestIssuer::new("https://issuer.example").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("trusted.toml");
    std::fs::write(
        &file,
        format!(
            "format = 1\nissuer = \"https://issuer.example\"\nissuer-key = \"{}\"\n{}",
            hex::encode(issuer.public_key()),
            crate_tables(&["a"])
        ),
    )
    .unwrap();
    let served = serve(&dir.path().join("registry"), &file);
    let trusted = &served.started["trusted_publishing"];
    assert_eq!(trusted["issuer"], "https://issuer.example");
    assert!(trusted["oidc_provider"].is_null(), "{trusted}");
    let api = served.started["api"].as_str().unwrap();
    let tokens = format!("{api}/api/v1/trusted_publishing/tokens");
    let claims = serde_json::json!({
        "repository": "example/demo",
        "job_workflow_ref": "example/demo/.github/workflows/release.yml@refs/heads/main",
    });
    let audience = trusted["audience"].as_str().unwrap();
    let exchange = |jwt: String| {
        let body = serde_json::json!({ "jwt": jwt }).to_string();
        http(
            "POST",
            &tokens,
            &["Content-Type: application/json"],
            body.as_bytes(),
        )
        .unwrap()
    };
    let refused = exchange(stranger.sign(audience, &claims).unwrap());
    assert_eq!(refused.status, 400, "{}", refused.text());
    let minted = exchange(issuer.sign(audience, &claims).unwrap());
    assert_eq!(minted.status, 200, "{}", minted.text());
    let token: serde_json::Value = serde_json::from_slice(&minted.body).unwrap();
    let bearer = format!("Authorization: Bearer {}", token["token"].as_str().unwrap());
    assert_eq!(
        http("DELETE", &tokens, &[&bearer], &[]).unwrap().status,
        204
    );
}
