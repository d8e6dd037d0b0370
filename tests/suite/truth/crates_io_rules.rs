//! Item 3: the rehearsal refuses what the live target will refuse. With
//! crates.io as the live target, a crate it would refuse (no description,
//! no license, a name it does not take) fails the rehearsal before its
//! first upload, naming every such crate and the rule; the gate then
//! refuses the live publish. `preflight` blocks a name crates.io refuses.

use serde_json::Value;

use crate::support::{Fixture, TestRegistry, http, upload_body};

/// `ra` <- `rb` <- `rc`: `rb` has no description, `rc` no license.
fn missing_metadata() -> Fixture {
    let fx = Fixture::new();
    fx.file(
        "Cargo.toml",
        "[workspace]\nresolver = \"2\"\nmembers = [\"ra\", \"rb\", \"rc\"]\n",
    );
    fx.package("ra", "ra", "0.1.0", "");
    fx.file(
        "rb/Cargo.toml",
        "[package]\nname = \"rb\"\nversion = \"0.1.0\"\nedition = \"2021\"\nlicense = \"MIT\"\n\n\
         [dependencies]\nra = { path = \"../ra\", version = \"0.1.0\" }\n",
    );
    fx.file("rb/src/lib.rs", "");
    fx.file(
        "rc/Cargo.toml",
        "[package]\nname = \"rc\"\nversion = \"0.1.0\"\nedition = \"2021\"\ndescription = \"c\"\n\n\
         [dependencies]\nrb = { path = \"../rb\", version = \"0.1.0\" }\n",
    );
    fx.file("rc/src/lib.rs", "");
    fx
}

/// The live target is crates.io, which the test registry `local` stands
/// in for (cargo's source replacement): its upload counter is the live
/// side's.
#[test]
fn a_crate_crates_io_would_refuse_fails_the_rehearsal_and_the_gate() {
    let live = TestRegistry::start();
    let fx = missing_metadata();
    fx.use_registry(&live);
    let kept = fx.root().join("kept-registry");
    let kept_arg = kept.display().to_string();
    let run = fx.shipper_env(
        &live,
        &[
            "rehearse",
            "--allow-dirty",
            "--no-verify",
            "--keep",
            &kept_arg,
        ],
        &[],
    );
    let err = run.stderr();
    assert_eq!(run.code(), 1, "{err}");
    assert!(!err.contains("Rehearsal passed"), "{err}");
    // Both crates, each with its rule, at once.
    assert!(
        err.contains("rb 0.1.0: missing or empty metadata fields: description"),
        "{err}"
    );
    assert!(
        err.contains("rc 0.1.0: missing or empty metadata fields: license"),
        "{err}"
    );
    // What to run next is `rehearse`, as it was run.
    assert!(
        err.contains(&format!(
            "then `cargo shipper rehearse --keep {kept_arg} --allow-dirty` again"
        )),
        "{err}"
    );
    assert!(!err.contains("cargo shipper publish"), "{err}");
    let record: Value =
        serde_json::from_slice(&std::fs::read(fx.root().join(".shipper/rehearsal.json")).unwrap())
            .unwrap();
    assert_eq!(record["verdict"], "failed");
    assert_eq!(record["live_target"], "crates-io");
    let failures = record["failures"].to_string();
    assert!(
        failures.contains("rb 0.1.0") && failures.contains("rc 0.1.0"),
        "{failures}"
    );
    // The rehearsal registry took nothing: not even `ra`, which crates.io
    // would have taken (a partial release).
    let indexed: Vec<_> = walk(&kept.join("index"));
    assert!(indexed.is_empty(), "{indexed:?}");

    // The gate refuses the live publish; the live registry saw nothing.
    let gated = fx.shipper_env(
        &live,
        &[
            "publish",
            "--require-rehearsal",
            "--allow-dirty",
            "--no-verify",
        ],
        &[],
    );
    assert_eq!(gated.code(), 1, "{}", gated.stderr());
    assert!(gated.stderr().contains("failed"), "{}", gated.stderr());
    assert_eq!(live.registry.upload_counts().requests, 0);
    for name in ["ra", "rb", "rc"] {
        assert_eq!(live.version_count(name), 0, "{name}");
    }
}

/// Files under `dir`, recursively.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The embedded registry standing in for crates.io refuses an upload
/// without the required metadata, with crates.io's message, and stores
/// nothing.
#[test]
fn the_stand_in_for_crates_io_refuses_missing_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let registry = TestRegistry::start_with(dir.path(), |c| c.require_metadata = true);
    let registry = TestRegistry::wrap(registry, dir);
    let meta_less = |name: &str| {
        let mut body = upload_body(
            name,
            "0.1.0",
            &[],
            &crate::support::crate_file(name, "0.1.0"),
        );
        // Drop the description and the license from the metadata.
        let len = u32::from_le_bytes(body[..4].try_into().unwrap()) as usize;
        let mut meta: Value = serde_json::from_slice(&body[4..4 + len]).unwrap();
        meta["description"] = Value::Null;
        meta["license"] = Value::Null;
        let meta = meta.to_string();
        let rest = body.split_off(4 + len);
        let mut out = (meta.len() as u32).to_le_bytes().to_vec();
        out.extend(meta.as_bytes());
        out.extend(rest);
        out
    };
    let auth = format!("Authorization: {}", registry.registry.token());
    let reply = http(
        "PUT",
        &format!("{}/api/v1/crates/new", registry.api()),
        &[&auth],
        &meta_less("bare"),
    )
    .unwrap();
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert!(
        reply
            .text()
            .contains("missing or empty metadata fields: description, license"),
        "{}",
        reply.text()
    );
    assert_eq!(registry.version_count("bare"), 0);
    // With the metadata, the same registry takes it.
    assert_eq!(registry.upload("full", "0.1.0", &[]).status, 200);
}

/// cargo takes a non-ASCII package name; crates.io does not: `preflight`
/// blocks (exit 7) on that crate, for that rule.
#[test]
fn preflight_blocks_a_name_crates_io_refuses() {
    let live = TestRegistry::start();
    let fx = Fixture::new();
    fx.file(
        "Cargo.toml",
        "[workspace]\nresolver = \"2\"\nmembers = [\"ok\", \"odd\"]\n",
    );
    fx.package("ok", "fine-name", "0.1.0", "");
    fx.package("odd", "naïve", "0.1.0", "");
    fx.use_registry(&live);
    let run = fx.shipper_env(
        &live,
        &[
            "preflight",
            "--registry",
            "local",
            "--allow-dirty",
            "--no-verify",
            "--message-format",
            "json",
        ],
        &[],
    );
    assert_eq!(run.code(), 7, "{}\n{}", run.stdout(), run.stderr());
    // Run again as it was run: for `local`, not crates.io.
    assert!(
        run.stderr()
            .contains("run `cargo shipper preflight --registry local --allow-dirty` again"),
        "{}",
        run.stderr()
    );
    let report: Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(report["verdict"], "blocked", "{report}");
    let metadata = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "metadata")
        .unwrap();
    let findings = metadata["findings"].as_array().unwrap();
    assert!(
        findings.iter().any(|f| f["crate"] == "naïve"
            && f["severity"] == "fail"
            && f["message"].as_str().unwrap().contains("non-ASCII")),
        "{metadata}"
    );
    assert!(
        findings
            .iter()
            .all(|f| f["crate"] != "fine-name" || f["severity"] != "fail"),
        "{metadata}"
    );
    assert_eq!(live.registry.upload_counts().requests, 0);
}
