//! Releases of workspaces linked through `[patch]` (tokio's layout): members
//! depend on each other by registry requirements that `[patch.crates-io]`
//! maps to the members, with dev-dependency cycles that versions already in
//! the registry satisfy. A bumped patched member and its dependents are
//! packaged and verified against each other before the first upload.

use crate::support;

use crate::support::{Fixture, Run, TestRegistry, count, events_in, gz_tar, http};

/// A version the registry holds before the release: `(name, version, deps)`
/// with deps as `(name, requirement)`.
type Seed = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const PUBLISHED: [Seed; 4] = [
    ("tokio-macros", "2.8.0", &[]),
    ("tokio", "1.98.0", &[("tokio-macros", "^2.8")]),
    ("tokio-stream", "0.1.17", &[("tokio", "^1.15")]),
    ("tokio-test", "0.4.4", &[("tokio", "^1.0")]),
];

/// Upload `name@version` with the given normal dependencies through the API.
fn seed(registry: &TestRegistry, name: &str, version: &str, deps: &[(&str, &str)]) {
    let deps: Vec<_> = deps
        .iter()
        .map(|(d, req)| {
            serde_json::json!({"optional": false, "default_features": true, "name": d,
                "features": [], "version_req": req, "target": null, "kind": "normal"})
        })
        .collect();
    let meta = serde_json::json!({
        "name": name, "vers": version, "deps": deps, "features": {}, "authors": [],
        "description": "seed", "documentation": null, "homepage": null, "readme": null,
        "readme_file": null, "keywords": [], "categories": [], "license": "MIT",
        "license_file": null, "repository": null, "badges": {}, "links": null,
        "rust_version": null
    })
    .to_string();
    let manifest = format!("[package]\nname = \"{name}\"\nversion = \"{version}\"\n");
    let tarball = gz_tar(&[
        (&format!("{name}-{version}/Cargo.toml"), manifest.as_bytes()),
        (&format!("{name}-{version}/src/lib.rs"), b""),
    ]);
    let mut body = Vec::new();
    body.extend((meta.len() as u32).to_le_bytes());
    body.extend(meta.as_bytes());
    body.extend((tarball.len() as u32).to_le_bytes());
    body.extend(tarball);
    let auth = format!("Authorization: {}", registry.registry.token());
    let reply = http(
        "PUT",
        &format!("{}/api/v1/crates/new", registry.api()),
        &[&auth],
        &body,
    )
    .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
}

fn seeded_registry() -> TestRegistry {
    let registry = TestRegistry::start();
    seed_all(&registry);
    registry
}

/// Every version of [`PUBLISHED`] into `registry`.
fn seed_all(registry: &TestRegistry) {
    for (name, version, deps) in PUBLISHED {
        if name != "tokio-stream" {
            seed(registry, name, version, deps);
        }
    }
    // tokio-stream's packaging resolves them from the index: a registry
    // with a propagation delay shows them a little later.
    let started = std::time::Instant::now();
    for (name, version, _) in PUBLISHED.iter().filter(|s| s.0 != "tokio-stream") {
        while !registry.index_entry(name).text().contains(version)
            && started.elapsed() < std::time::Duration::from_secs(10)
        {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    // The release leaves tokio-stream unchanged, so the registry must hold
    // its very sources (a version there with other content stops a
    // release): published from a copy of the member.
    let stream = Fixture::new();
    stream
        .file(
            "Cargo.toml",
            "[workspace]\nresolver = \"2\"\nmembers = [\"tokio-stream\"]\n",
        )
        .package("tokio-stream", "tokio-stream", "0.1.17", TOKIO_STREAM);
    stream.use_registry(registry);
    publish(&stream, registry, &["--no-verify"]).ok();
}

/// tokio-stream's manifest tables, the same before and after the release.
const TOKIO_STREAM: &str =
    "[dependencies]\ntokio = \"1.15\"\n\n[dev-dependencies]\ntokio-test = \"0.4\"\n";

/// tokio's layout, after bumping the macro crate (2.8 -> 2.9) and the
/// crates that need the new one: `tokio` (requires `~2.9.0`) and
/// `tokio-test` (requires `tokio = "1.99"` and uses what only 1.99 has).
/// `tokio-stream` is unchanged; `tests-integration` is `publish = false`.
/// Dev-dependency cycles: tokio -> tokio-test -> tokio, tokio ->
/// tokio-stream -> tokio, broken by the versions the registry holds.
fn tokio_like() -> Fixture {
    let fx = Fixture::new();
    fx.file(
        "Cargo.toml",
        "[workspace]\nresolver = \"2\"\n\
         members = [\"tokio\", \"tokio-macros\", \"tokio-stream\", \"tokio-test\", \"tests-integration\"]\n\n\
         [patch.crates-io]\n\
         tokio = { path = \"tokio\" }\n\
         tokio-macros = { path = \"tokio-macros\" }\n\
         tokio-stream = { path = \"tokio-stream\" }\n\
         tokio-test = { path = \"tokio-test\" }\n",
    )
    .package(
        "tokio-macros",
        "tokio-macros",
        "2.9.0",
        "[lib]\nproc-macro = true\n",
    )
    .file(
        "tokio-macros/src/lib.rs",
        "use proc_macro::TokenStream;\n\n#[proc_macro_attribute]\n\
         pub fn main(_args: TokenStream, item: TokenStream) -> TokenStream {\n    item\n}\n",
    )
    .package(
        "tokio",
        "tokio",
        "1.99.0",
        "[dependencies]\ntokio-macros = \"~2.9.0\"\n\n\
         [dev-dependencies]\ntokio-test = \"0.4\"\ntokio-stream = \"0.1\"\n",
    )
    .file(
        "tokio/src/lib.rs",
        "pub use tokio_macros::main;\n\n#[main]\npub fn minor() -> u32 {\n    99\n}\n",
    )
    .package(
        "tokio-stream",
        "tokio-stream",
        "0.1.17",
        TOKIO_STREAM,
    )
    .package(
        "tokio-test",
        "tokio-test",
        "0.4.5",
        "[dependencies]\ntokio = \"1.99\"\n",
    )
    .file(
        "tokio-test/src/lib.rs",
        "pub fn minor() -> u32 {\n    tokio::minor()\n}\n",
    )
    .package(
        "tests-integration",
        "tests-integration",
        "0.1.0",
        "publish = false\n\n[dependencies]\ntokio = \"1.99\"\ntokio-test = \"0.4\"\n",
    );
    fx
}

const RELEASED: [(&str, &str); 3] = [
    ("tokio-macros", "2.9.0"),
    ("tokio", "1.99.0"),
    ("tokio-test", "0.4.5"),
];

/// Each released crate is in the registry once, next to its old version;
/// `tokio-stream` was not uploaded again.
fn assert_released(registry: &TestRegistry) {
    for (name, version) in RELEASED {
        let entry = registry.index_entry(name).text();
        let versions: Vec<&str> = entry
            .lines()
            .filter(|l| l.contains(&format!("\"vers\":\"{version}\"")))
            .collect();
        assert_eq!(versions.len(), 1, "{name}@{version} once: {entry}");
        assert_eq!(registry.version_count(name), 2, "{name}: {entry}");
    }
    assert_eq!(registry.version_count("tokio-stream"), 1);
    assert_eq!(registry.version_count("tests-integration"), 0);
}

fn publish(fx: &Fixture, registry: &TestRegistry, extra: &[&str]) -> Run {
    fx.publish(registry, extra)
}

#[test]
fn a_bumped_patched_member_and_its_dependents_publish_in_one_run() {
    let registry = seeded_registry();
    let fx = tokio_like();
    fx.use_registry(&registry);
    let plan = fx
        .shipper(&["plan", "--registry", "local", "--message-format", "json"])
        .json();
    let order: Vec<(String, u64)> = support::order(&plan);
    assert_eq!(order[0], ("tokio-macros".to_owned(), 0), "{plan}");
    assert_eq!(order[1], ("tokio".to_owned(), 1), "{plan}");

    publish(&fx, &registry, &[]).ok();
    assert_released(&registry);
    let events = events_in(&support::archived_published(&fx));
    for (name, _) in RELEASED {
        assert_eq!(count(&events, "packaged", name), 1, "{name} packaged once");
        assert_eq!(
            count(&events, "upload_started", name),
            1,
            "{name} uploaded once"
        );
    }
    assert_eq!(count(&events, "upload_started", "tokio-stream"), 0);
    // Verified: cargo unpacked and built each `.crate` (tokio-test's build
    // uses `tokio::minor`, which only the packaged tokio 1.99 has).
    for (name, version) in RELEASED {
        assert!(
            fx.root()
                .join(format!("target/package/{name}-{version}/Cargo.toml"))
                .exists(),
            "{name} verified"
        );
    }
    // The receipt says which cargo packaged the crates: the linked library.
    let receipt: serde_json::Value = serde_json::from_slice(
        &std::fs::read(support::archived_published(&fx).join("receipt.json")).unwrap(),
    )
    .unwrap();
    let cargo = receipt["cargo_version"].as_str().unwrap();
    assert!(
        cargo.starts_with("cargo 1.") && cargo.ends_with("(linked library)"),
        "{cargo}"
    );
    let version = fx.shipper(&["--version"]).ok();
    let linked = cargo.split_whitespace().nth(1).unwrap();
    assert!(
        version.contains(&format!("linked cargo library of cargo {linked}")),
        "{version}"
    );
    // The overlay is gone after packaging.
    let leftovers: Vec<_> = std::fs::read_dir(fx.root().join("target/package"))
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("shipper-overlay")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // And so are cargo's unpacked copies of its crates (a local registry's
    // directory name has an empty host: `-<hash>`).
    let unpacked: Vec<_> = std::fs::read_dir(fx.cargo_home().join("registry/src"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with('-'))
        .collect();
    assert!(unpacked.is_empty(), "{unpacked:?}");
}

/// The `Cargo.lock` packaged in `name-version.crate` under `target/package/`.
fn packaged_lockfile(fx: &Fixture, name: &str, version: &str) -> String {
    use std::io::Read as _;
    let file = std::fs::File::open(
        fx.root()
            .join(format!("target/package/{name}-{version}.crate")),
    )
    .unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().ends_with("Cargo.lock") {
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap();
            return text;
        }
    }
    panic!("no Cargo.lock in {name}-{version}.crate")
}

/// The `cksum` of `name@version` in the registry's index.
fn index_cksum(registry: &TestRegistry, name: &str, version: &str) -> String {
    registry
        .index_entry(name)
        .text()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["vers"] == version)
        .unwrap()["cksum"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn packaged_lockfiles_pin_the_release_as_uploaded() {
    let registry = seeded_registry();
    let fx = tokio_like();
    fx.use_registry(&registry);
    publish(&fx, &registry, &["--no-verify"]).ok();
    assert_released(&registry);
    // tokio's lockfile pins the new macro crate from the registry, with the
    // checksum of the bytes that were uploaded; its dev-dependency on
    // tokio-test resolves to the version the registry had when tokio went
    // out (0.4.5 comes after it), as a sequential `cargo publish` would.
    let lock = packaged_lockfile(&fx, "tokio", "1.99.0");
    let macros = format!(
        "name = \"tokio-macros\"\nversion = \"2.9.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"{}\"",
        index_cksum(&registry, "tokio-macros", "2.9.0")
    );
    assert!(lock.contains(&macros), "{lock}");
    assert!(
        lock.contains("name = \"tokio-test\"\nversion = \"0.4.4\""),
        "{lock}"
    );
    let lock = packaged_lockfile(&fx, "tokio-test", "0.4.5");
    let tokio = format!(
        "name = \"tokio\"\nversion = \"1.99.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"{}\"",
        index_cksum(&registry, "tokio", "1.99.0")
    );
    assert!(lock.contains(&tokio), "{lock}");
}

#[test]
fn dry_run_packages_and_verifies_everything_and_uploads_nothing() {
    let registry = seeded_registry();
    let fx = tokio_like();
    fx.use_registry(&registry);
    let run = publish(&fx, &registry, &["--dry-run"]);
    let err = run.stderr();
    run.ok();
    for (name, version) in RELEASED {
        assert!(
            err.contains(&format!("Would upload {name} {version}")),
            "{err}"
        );
        assert_eq!(registry.version_count(name), 1, "{name} not uploaded");
        assert!(
            fx.root()
                .join(format!("target/package/{name}-{version}/Cargo.toml"))
                .exists(),
            "{name} verified"
        );
    }
}

#[test]
fn a_compile_error_in_a_patched_dependent_stops_the_release_before_any_upload() {
    let registry = seeded_registry();
    let fx = tokio_like();
    fx.use_registry(&registry);
    // tokio-test needs something the new tokio does not have: only a build
    // against the packaged tokio 1.99 finds out.
    fx.file(
        "tokio-test/src/lib.rs",
        "pub fn minor() -> u32 {\n    tokio::major()\n}\n",
    );
    let run = publish(&fx, &registry, &[]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let err = run.stderr();
    assert!(err.contains("nothing was uploaded"), "{err}");
    assert!(err.contains("major"), "{err}");
    for (name, _) in RELEASED {
        assert_eq!(registry.version_count(name), 1, "{name} not uploaded");
    }

    // Another plan (`-p tokio-macros`) starts without `--abandon-unfinished`:
    // the failed run uploaded nothing, so it is archived, with a line.
    let run = publish(&fx, &registry, &["-p", "tokio-macros"]);
    let err = run.stderr();
    run.ok();
    assert!(
        err.contains("Set aside the unfinished run of plan"),
        "{err}"
    );
    assert!(err.contains("which uploaded nothing"), "{err}");
    assert_eq!(registry.version_count("tokio-macros"), 2);
    let archive: Vec<String> = std::fs::read_dir(fx.root().join(".shipper/archive"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        archive.iter().any(|n| n.ends_with("-abandoned")),
        "{archive:?}"
    );
    assert!(
        archive.iter().any(|n| n.ends_with("-published")),
        "{archive:?}"
    );
    let events = events_in(&support::archived_published(&fx));
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "set_aside" && e["reason"] == "nothing_uploaded"),
        "{events:?}"
    );
}

#[test]
fn a_run_that_uploaded_something_still_blocks_another_plan() {
    let registry = seeded_registry();
    let fx = tokio_like();
    fx.use_registry(&registry);
    // Killed right after the first upload: tokio-macros is out.
    let crashed = fx
        .publish_cmd(&registry)
        .no_fast()
        .arg("--no-verify")
        .env("SHIPPER_FAILPOINT", "after-upload@1")
        .run();
    assert_eq!(crashed.0.status.code(), None, "{}", crashed.stderr());
    let run = publish(&fx, &registry, &["-p", "tokio-stream"]);
    assert_ne!(run.code(), 0);
    assert!(
        run.stderr().contains("--abandon-unfinished"),
        "{}",
        run.stderr()
    );
    // The same plan finishes it.
    publish(&fx, &registry, &["--no-verify"]).ok();
    assert_released(&registry);
}

/// SIGKILL while the uploads are under way, then `publish` finishes the
/// release: each crate once.
#[test]
fn sigkill_during_the_uploads_then_publish_finishes() {
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let registry = TestRegistry::start_knobs(|k| {
        k.upload_latency = Duration::from_millis(150);
        k.propagation_delay = Duration::from_millis(100);
    });
    seed_all(&registry);
    // The seeds show in the index after the propagation delay.
    std::thread::sleep(Duration::from_millis(300));
    let fx = tokio_like();
    fx.use_registry(&registry);
    // Both runs: an upload of the killed one lands within 2 s or never,
    // so the next run settles it after 2 s, not 2 min.
    let mut child = fx
        .publish_cmd(&registry)
        .args(["--upload-timeout", "2"])
        .command()
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill once the second upload has been announced.
    let events = fx.root().join(".shipper/current/events.jsonl");
    let started = Instant::now();
    while std::fs::read_to_string(&events).map_or(0, |t| t.matches("\"upload_started\"").count())
        < 2
        && child.try_wait().unwrap().is_none()
        && started.elapsed() < Duration::from_secs(120)
    {
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the run ended before the second upload: {:?}",
        std::fs::read_dir(fx.root().join(".shipper/archive")).map(|d| d.count())
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let text = std::fs::read_to_string(&events).unwrap();
    assert!(
        !text.contains("\"run_finished\""),
        "killed inside the run:\n{text}"
    );
    assert!(text.contains("\"upload_started\""), "{text}");

    publish(&fx, &registry, &["--upload-timeout", "2"]).ok();
    assert_released(&registry);
    let events = events_in(&support::archived_published(&fx));
    for (name, _) in RELEASED {
        assert_eq!(count(&events, "visible", name), 1, "{name} confirmed once");
    }
}

fn rehearse(fx: &Fixture, extra: &[&str]) -> Run {
    rehearse_env(fx, extra, &[])
}

/// `rehearse` with the network as the test found it (it reaches the
/// seeded registry through the fixture's configuration).
fn rehearse_env(fx: &Fixture, extra: &[&str], env: &[(&str, &str)]) -> Run {
    fx.cmd(["rehearse", "--allow-dirty"])
        .args(extra)
        .env_remove("CARGO_REGISTRY_TOKEN")
        .envs(env.iter().copied())
        .run()
}

#[test]
fn the_release_rehearses() {
    let registry = seeded_registry();
    let fx = tokio_like();
    fx.use_registry(&registry)
        .cargo_config("[registry]\ndefault = \"local\"\n");
    let kept = fx.root().join("kept");
    let run = rehearse(&fx, &["--keep", kept.to_str().unwrap()]);
    let err = run.stderr();
    run.ok();
    assert!(passed_then_next(&err), "{err}");
    // The live registry is untouched.
    for (name, _) in RELEASED {
        assert_eq!(registry.version_count(name), 1, "{name}");
    }
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fx.root().join(".shipper/rehearsal.json")).unwrap())
            .unwrap();
    assert_eq!(record["verdict"], "passed", "{record}");

    // Differential: the real `cargo package --workspace` cannot package
    // this release at all: it leaves `[patch]` out and packages in name
    // order, so tokio's `~2.9.0` finds only the registry's 2.8.0 (why
    // `cargo_backend` packages through an overlay of its own). What it can
    // package alone, the macro crate, it packages as the rehearsal did.
    let refused = cargo_package(
        &fx,
        &registry,
        &["--workspace", "--exclude", "tests-integration"],
    );
    assert_eq!(refused.code(), 101, "{}", refused.stderr());
    assert!(
        refused
            .stderr()
            .contains("failed to select a version for the requirement `tokio-macros = \"~2.9.0\"`"),
        "{}",
        refused.stderr()
    );
    cargo_package(&fx, &registry, &["-p", "tokio-macros"]).ok();
    support::assert_same_contents(
        "tokio-macros",
        &std::fs::read(kept.join("crates/tokio-macros/tokio-macros-2.9.0.crate")).unwrap(),
        &std::fs::read(
            fx.root()
                .join("cargo-target/package/tokio-macros-2.9.0.crate"),
        )
        .unwrap(),
        &[],
    );

    // The interruption drill (a real process killed after the second
    // upload, then resumed) passes too.
    let run = rehearse(&fx, &["--interrupt-after", "2"]);
    let err = run.stderr();
    run.ok();
    assert!(passed_then_next(&err), "{err}");
    for (name, _) in RELEASED {
        assert_eq!(registry.version_count(name), 1, "{name}");
    }
}

#[test]
fn preflight_packages_and_verifies_the_release() {
    let registry = seeded_registry();
    let fx = tokio_like();
    fx.use_registry(&registry);
    let run = fx.shipper_env(
        &registry,
        &[
            "preflight",
            "--registry",
            "local",
            "--allow-dirty",
            "--message-format",
            "json",
        ],
        &[],
    );
    let doc: serde_json::Value = serde_json::from_str(&run.stdout())
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout(), run.stderr()));
    let package = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "package")
        .unwrap();
    assert_eq!(package["status"], "pass", "{package}");
}

#[test]
fn a_newer_user_cargo_gets_a_warning() {
    use std::os::unix::fs::PermissionsExt as _;
    let registry = seeded_registry();
    let fx = tokio_like();
    fx.use_registry(&registry);
    let fake = fx.cargo_home().join("newer-cargo");
    std::fs::write(&fake, "#!/bin/sh\necho 'cargo 9.99.0 (fake 2030-01-01)'\n").unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let publish = || {
        fx.publish_cmd(&registry)
            .no_fast()
            .args(["--dry-run", "--no-verify"])
    };
    let run = publish().env("CARGO", fake.to_str().unwrap()).run();
    let err = run.stderr();
    run.ok();
    assert!(
        err.contains("warning: your cargo is 9.99.0, newer than the cargo library"),
        "{err}"
    );
    // The cargo that runs the tests is not newer than the linked library.
    let run = publish().run();
    assert!(
        !run.stderr().contains("warning: your cargo"),
        "{}",
        run.stderr()
    );
    // `rehearse` warns too.
    fx.cargo_config("[registry]\ndefault = \"local\"\n");
    let run = rehearse_env(&fx, &["--no-verify"], &[("CARGO", fake.to_str().unwrap())]);
    let err = run.stderr();
    run.ok();
    assert!(
        err.contains("warning: your cargo is 9.99.0, newer than the cargo library"),
        "{err}"
    );
}

/// Two members: `pm-macros` 2.9.0 and `pm-app`, which needs it through the
/// dependency text `rt_dep`, linked by `patch` (the root manifest's tail).
fn patched_pair(patch: &str, rt_dep: &str) -> Fixture {
    let fx = Fixture::new();
    fx.file(
        "Cargo.toml",
        &format!("[workspace]\nresolver = \"2\"\nmembers = [\"macros\", \"rt\"]\n\n{patch}\n"),
    )
    .package("macros", "pm-macros", "2.9.0", "")
    .file("macros/src/lib.rs", "pub fn nine() -> u32 {\n    9\n}\n")
    .package(
        "rt",
        "pm-app",
        "1.0.0",
        &format!("[dependencies]\n{rt_dep}\n"),
    )
    .file(
        "rt/src/lib.rs",
        "pub fn nine() -> u32 {\n    pm_macros::nine()\n}\n",
    );
    fx
}

/// `plan` orders the macro crate first; `publish` (verified) puts both out.
fn assert_pair_publishes(fx: &Fixture, registry: &TestRegistry, registry_args: &[&str]) {
    let mut args = vec!["plan", "--message-format", "json"];
    args.extend(registry_args);
    let plan = fx.shipper(&args).json();
    assert_eq!(
        support::order(&plan),
        [("pm-macros".to_owned(), 0), ("pm-app".to_owned(), 1)],
        "{plan}"
    );
    fx.cmd(["publish", "--allow-dirty"])
        .token(registry)
        .args(registry_args)
        .run()
        .ok();
    assert_eq!(registry.version_count("pm-macros"), 1);
    assert_eq!(registry.version_count("pm-app"), 1);
}

#[test]
fn a_patch_entry_under_another_name_links_the_member() {
    let registry = TestRegistry::start();
    // The patch key and the dependency both rename the package.
    let fx = patched_pair(
        "[patch.crates-io]\nmacros-patched = { path = \"macros\", package = \"pm-macros\" }\n",
        "mac = { package = \"pm-macros\", version = \"~2.9.0\" }",
    );
    fx.file(
        "rt/src/lib.rs",
        "pub fn nine() -> u32 {\n    mac::nine()\n}\n",
    );
    fx.use_registry(&registry);
    assert_pair_publishes(&fx, &registry, &["--registry", "local"]);
}

#[test]
fn a_patch_of_an_alternate_registry_links_the_member() {
    let registry = TestRegistry::start();
    // Members name the registry itself; crates.io is not replaced.
    let fx = patched_pair(
        "[patch.local]\npm-macros = { path = \"macros\" }\n",
        "pm-macros = { version = \"~2.9.0\", registry = \"local\" }",
    );
    fx.cargo_config(&registry.registry.cargo_config("local"));
    fx.file(
        "macros/Cargo.toml",
        &std::fs::read_to_string(fx.root().join("macros/Cargo.toml"))
            .unwrap()
            .replace("[package]\n", "[package]\npublish = [\"local\"]\n"),
    );
    fx.file(
        "rt/Cargo.toml",
        &std::fs::read_to_string(fx.root().join("rt/Cargo.toml"))
            .unwrap()
            .replace("[package]\n", "[package]\npublish = [\"local\"]\n"),
    );
    assert_pair_publishes(&fx, &registry, &["--registry", "local"]);
}

#[test]
fn a_patch_entry_by_git_links_the_member() {
    let registry = TestRegistry::start();
    let fx = patched_pair("", "pm-macros = \"~2.9.0\"");
    // The patch points at the workspace's own repository by `git`.
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(fx.root())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["-c", "user.name=t", "-c", "user.email=t@t", "add", "."]);
    git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "-qm",
        "init",
    ]);
    let url = format!("file://{}", fx.root().display());
    let root = std::fs::read_to_string(fx.root().join("Cargo.toml")).unwrap();
    fx.file(
        "Cargo.toml",
        &format!("{root}\n[patch.crates-io]\npm-macros = {{ git = \"{url}\" }}\n"),
    );
    fx.use_registry(&registry);
    assert_pair_publishes(&fx, &registry, &["--registry", "local"]);
}

#[test]
fn status_and_publish_pass_over_a_changed_release_that_uploaded_nothing() {
    let registry = seeded_registry();
    let fx = tokio_like();
    fx.use_registry(&registry);
    fx.file(
        "tokio-test/src/lib.rs",
        "pub fn minor() -> u32 {\n    tokio::major()\n}\n",
    );
    assert_eq!(publish(&fx, &registry, &[]).code(), 1);
    // The fix comes with another version: another plan.
    fx.file(
        "tokio-test/src/lib.rs",
        "pub fn minor() -> u32 {\n    tokio::minor()\n}\n",
    );
    let manifest = std::fs::read_to_string(fx.root().join("tokio-test/Cargo.toml")).unwrap();
    fx.file(
        "tokio-test/Cargo.toml",
        &manifest.replace("version = \"0.4.5\"", "version = \"0.4.6\""),
    );
    let status = fx.shipper_env(
        &registry,
        &["status", "--registry", "local", "--message-format", "json"],
        &[],
    );
    let doc: serde_json::Value = serde_json::from_str(&status.stdout())
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", status.stdout(), status.stderr()));
    assert_eq!(doc["next"]["action"], "publish", "{doc}");
    let run = publish(&fx, &registry, &[]);
    let err = run.stderr();
    run.ok();
    assert!(err.contains("which uploaded nothing"), "{err}");
    assert_eq!(registry.version_count("tokio-test"), 2);
}

/// Real `cargo package` of `which` for `local` (standing in for crates.io),
/// unverified, into `cargo-target/`.
fn cargo_package(fx: &Fixture, registry: &TestRegistry, which: &[&str]) -> Run {
    let mut args = vec![
        "package",
        "--no-verify",
        "--allow-dirty",
        "--registry",
        "local",
    ];
    args.extend(["--target-dir", "cargo-target"]);
    args.extend(which);
    fx.cargo(registry, &args)
}

/// Differential, for a bumped patched member its dependent requires at a
/// range the registry's old version meets too (`^2.8`): `cargo package
/// --workspace` leaves `[patch]` out and locks the registry's 2.8.0; the
/// rehearsal locks 2.9.0, the version the release uploads before the
/// dependent, as a sequential `cargo publish` would. That lockfile is the
/// one difference.
#[test]
fn rehearsed_crates_hold_cargo_s_files_but_a_bumped_patch_is_locked_at_its_new_version() {
    let registry = TestRegistry::start();
    seed(&registry, "pm-macros", "2.8.0", &[]);
    let fx = patched_pair(
        "[patch.crates-io]\npm-macros = { path = \"macros\" }\n",
        "pm-macros = \"2.8\"",
    );
    fx.use_registry(&registry)
        .cargo_config("[registry]\ndefault = \"local\"\n");
    let kept = fx.root().join("kept");
    rehearse(&fx, &["--no-verify", "--keep", kept.to_str().unwrap()]).ok();
    cargo_package(&fx, &registry, &["--workspace"]).ok();
    let ours = |name: &str, version: &str| {
        std::fs::read(kept.join(format!("crates/{name}/{name}-{version}.crate"))).unwrap()
    };
    let theirs = |name: &str, version: &str| {
        std::fs::read(
            fx.root()
                .join(format!("cargo-target/package/{name}-{version}.crate")),
        )
        .unwrap()
    };
    support::assert_same_contents(
        "pm-macros",
        &ours("pm-macros", "2.9.0"),
        &theirs("pm-macros", "2.9.0"),
        &[],
    );
    let (app_ours, app_theirs) = (ours("pm-app", "1.0.0"), theirs("pm-app", "1.0.0"));
    support::assert_same_contents("pm-app", &app_ours, &app_theirs, &["Cargo.lock"]);
    let lock = |bytes: &[u8]| {
        String::from_utf8(support::crate_contents(bytes)["pm-app-1.0.0/Cargo.lock"].clone())
            .unwrap()
    };
    let ours_lock = lock(&app_ours);
    let cargo_lock = lock(&app_theirs);
    // The rehearsal: the new version, with the checksum of the bytes it uploaded.
    assert!(
        ours_lock.contains(&format!(
            "name = \"pm-macros\"\nversion = \"2.9.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"{}\"",
            sha(&ours("pm-macros", "2.9.0"))
        )),
        "{ours_lock}"
    );
    // cargo: the registry's old version.
    assert!(
        cargo_lock.contains(&format!(
            "name = \"pm-macros\"\nversion = \"2.8.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"{}\"",
            index_cksum(&registry, "pm-macros", "2.8.0")
        )),
        "{cargo_lock}"
    );
    // Nothing else differs between the two lockfiles.
    assert_eq!(
        ours_lock
            .replace(&sha(&ours("pm-macros", "2.9.0")), "CKSUM")
            .replace("2.9.0", "V"),
        cargo_lock
            .replace(&index_cksum(&registry, "pm-macros", "2.8.0"), "CKSUM")
            .replace("2.8.0", "V"),
    );
}

fn sha(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A passing rehearsal ends with its verdict, then the `publish` that ships it.
fn passed_then_next(err: &str) -> bool {
    let mut last = err.lines().rev();
    let (next, verdict) = (
        last.next().unwrap_or_default(),
        last.next().unwrap_or_default(),
    );
    verdict.starts_with("Rehearsal passed in ")
        && next.trim_start().starts_with("Next `cargo shipper publish")
}
