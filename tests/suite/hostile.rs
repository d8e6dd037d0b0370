//! Hostile input, gathered: each test is one attack, and its doc comment
//! says the attack and the defined state it must end in (a clear error and
//! exit code, nothing lost, nothing half-written, no token anywhere). The
//! registry's crates.io rules are listed in `docs/reference/registry.md`.
//! Other hostile state (torn, foreign, newer journals; a held lock) is in
//! `tests/bad_state.rs`; kills and faults in `tests/crash.rs` and
//! `tests/faults.rs`.
//!
//! One line each, attack -> defined state:
//! - `0.1.0+build7` after `0.1.0` -> 400, one version in the index
//! - `foo-bar` / `Foo_bar` after `foo_bar` -> 400 "previously named `foo_bar`"
//! - anonymous API reads with `--auth-required` -> 401 (only `config.json` open)
//! - a symlink at `current/events.jsonl`, `lock` or `current/` -> exit 1, target untouched
//! - `--uploads-in-flight 1000000`/`0`/`-1`, `--jobs 0`, `--max-attempts 0` -> exit 2, nothing created
//! - `.shipper/archive` a file after a release -> exit 0, "Finished", a warning naming the path
//! - the index answers 503 while confirming -> a warning at once, exit 4, "uploaded but not confirmed"
//! - a failed run with `GITHUB_STEP_SUMMARY` set -> the summary is written, with the error
//! - a `.crate` that is not a crate (not gzip, empty, bad paths, links, no or wrong `Cargo.toml`, > 10 MiB) -> 400/413, nothing stored
//! - CR/LF in a token (`--token`, cargo's, `registry serve --token`) -> refused before any request, never echoed
//! - `-p X --exclude X` -> exit 3 naming `X`
//! - reserved names (`std`, `con`, `nul`, …) -> 400 "reserved name"
//! - `registry serve` on a file root, a read-only root, a busy address -> exit 1 naming it, no root created
//! - `429=date+<absurd>` -> exit 2 from the CLI; a 429 (not a 500) from the library
//! - stalled connections (slowloris) -> cut off after the stall timeout
//! - an index URL with `?query` or `#fragment` -> exit 1 naming it
//! - `resume` after the registry lost the release's crates -> exit 1 naming them, offering `--abandon-unfinished`
//! - `resume --state-dir <missing>` -> exit 1, nothing created
//! - a plan that fails in `publish` -> exit 3, no journal left
//! - `--token -abc` -> exit 2 "use `--token=<TOKEN>`", nothing echoed
//! - a packaging failure -> exit 1, "nothing was uploaded" said once
//! - `resume` with 2 of 3 out -> "Resuming 1 crate left of 3 (2 out)"

use crate::support;

use crate::support::{TestRegistry, http, upload_body};
use cargo_shipper::registry::SparseIndexReader;

/// `0.1.0+build7` after `0.1.0`: refused (400, "build metadata"); the index keeps one version.
#[test]
fn build_metadata_does_not_make_a_second_version() {
    let registry = TestRegistry::start();
    assert_eq!(registry.upload("meta", "0.1.0", &[]).status, 200);
    let again = registry.upload("meta", "0.1.0+build7", &[]);
    assert_eq!(again.status, 400);
    assert!(again.text().contains("build metadata"), "{}", again.text());
    assert_eq!(registry.version_count("meta"), 1);
    // A pre-release is another version, build metadata or not.
    assert_eq!(registry.upload("meta", "0.1.1-rc.1+b", &[]).status, 200);
}

/// `foo-bar` after `foo_bar` (and `Foo_bar`): refused as "previously named `foo_bar`"; one crate stored.
#[test]
fn dash_and_underscore_names_are_one_crate() {
    let registry = TestRegistry::start();
    assert_eq!(registry.upload("foo_bar", "0.1.0", &[]).status, 200);
    for other in ["foo-bar", "Foo_bar", "FOO-BAR"] {
        let reply = registry.upload(other, "0.2.0", &[]);
        assert_eq!(reply.status, 400, "{other}");
        assert!(
            reply
                .text()
                .contains("crate was previously named `foo_bar`"),
            "{other}: {}",
            reply.text()
        );
    }
    assert_eq!(registry.index_entry("foo-bar").status, 404);
    // The rule survives a restart (names are read back from the index).
    let registry = registry.restart(|_| {});
    assert_eq!(registry.upload("foo-bar", "0.3.0", &[]).status, 400);
    assert_eq!(registry.upload("foo_bar", "0.3.0", &[]).status, 200);

    // A stand-in refuses a spelling of a crate its upstream holds.
    let url = registry.index_url();
    let dir = tempfile::tempdir().unwrap();
    let stand_in = TestRegistry::wrap(
        TestRegistry::start_with(dir.path(), |c| c.upstream = Some(url)),
        dir,
    );
    let reply = stand_in.upload("foo-bar", "0.4.0", &[]);
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert!(
        reply.text().contains("previously named `foo_bar`"),
        "{}",
        reply.text()
    );
}

/// With `--auth-required`, anonymous reads of every kind (web API, index,
/// downloads): 401, nothing disclosed; with the token: answered. Only
/// `config.json` (URLs, and the `auth-required` flag cargo needs) stays open.
#[test]
fn auth_required_closes_the_web_api_too() {
    let dir = tempfile::tempdir().unwrap();
    let inner = TestRegistry::start_with(dir.path(), |c| c.auth_required = true);
    let registry = TestRegistry::wrap(inner, dir);
    assert_eq!(registry.upload("closed", "0.1.0", &[]).status, 200);
    let api = registry.api();
    let index = SparseIndexReader::new(
        &cargo_shipper::registry::Http::plain(),
        &registry.index_url(),
    )
    .crate_url("closed")
    .unwrap();
    let auth = format!("Authorization: {}", registry.registry.token());
    for url in [
        format!("{api}/api/v1/crates/closed"),
        format!("{api}/api/v1/crates/closed/0.1.0"),
        format!("{api}/api/v1/crates/closed/owners"),
        format!("{api}/api/v1/crates/closed/0.1.0/download"),
        index,
    ] {
        let anonymous = http("GET", &url, &[], &[]).unwrap();
        assert_eq!(anonymous.status, 401, "{url}");
        assert!(!anonymous.text().contains("0.1.0"), "{url}");
        let wrong = http("GET", &url, &["Authorization: nope"], &[]).unwrap();
        assert_eq!(wrong.status, 403, "{url}");
        assert_eq!(
            http("GET", &url, &[&auth], &[]).unwrap().status,
            200,
            "{url}"
        );
    }
    let config = http("GET", &format!("{api}/index/config.json"), &[], &[]).unwrap();
    assert!(config.text().contains("\"auth-required\":true"));
}

/// `.shipper/current/events.jsonl`, `.shipper/lock` or `.shipper/current` a
/// symlink to a user's file or directory: `resume` and `publish` refuse
/// (exit 1, "symbolic link"), the target is untouched and nothing is written there.
#[test]
fn state_files_never_follow_symlinks() {
    let registry = TestRegistry::start();
    let fx = support::chain(&["sla"]);
    fx.use_registry(&registry);
    let outside = tempfile::tempdir().unwrap();
    let precious = outside.path().join("precious.txt");
    let bytes = b"a user's file\nwithout a final newline";
    let state = fx.root().join(".shipper");
    for link in ["current/events.jsonl", "lock", "current"] {
        let _ = std::fs::remove_dir_all(&state);
        std::fs::create_dir_all(state.join("current")).unwrap();
        let at = state.join(link);
        let _ = std::fs::remove_dir(&at);
        let target = if link == "current" {
            outside.path().to_owned()
        } else {
            precious.clone()
        };
        std::fs::write(&precious, bytes).unwrap();
        std::os::unix::fs::symlink(&target, &at).unwrap();
        for (args, cmd) in [
            ("resume", fx.resume_cmd(&registry)),
            (
                "publish --no-verify",
                fx.publish_cmd(&registry).arg("--no-verify"),
            ),
        ] {
            let run = cmd.run();
            assert_eq!(run.code(), 1, "{link} {args:?}: {}", run.stderr());
            assert!(
                run.stderr().contains("is a symbolic link"),
                "{link}: {}",
                run.stderr()
            );
            assert_eq!(std::fs::read(&precious).unwrap(), bytes, "{link}");
            assert!(at.symlink_metadata().unwrap().file_type().is_symlink());
            let mut outside_files: Vec<_> = std::fs::read_dir(outside.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            outside_files.sort();
            assert_eq!(
                outside_files,
                ["precious.txt"],
                "{link}: nothing written there"
            );
        }
    }
    assert_eq!(registry.version_count("sla"), 0);
}

/// `--uploads-in-flight 1000000`, `0`, `-1`, `--max-attempts 0`, cargo's
/// `--jobs 0` and `--jobs many`: refused before anything starts (exit 2, the
/// allowed range or cargo's words), no state directory.
#[test]
fn out_of_range_jobs_and_attempts_are_refused() {
    let fx = support::chain(&["jra"]);
    for (flag, value, says) in [
        ("--uploads-in-flight", "1000000", "1..=64"),
        ("--uploads-in-flight", "0", "1..=64"),
        ("--uploads-in-flight", "-1", "1..=64"),
        ("--jobs", "0", "jobs may not be 0"),
        ("--jobs", "many", "should be `default` or a number"),
        ("--max-attempts", "0", "1..=100"),
        ("--max-attempts", "-3", "1..=100"),
    ] {
        for command in ["publish", "resume"] {
            let run = fx.shipper(&[command, flag, value]);
            assert_eq!(run.code(), 2, "{flag} {value}: {}", run.stderr());
            assert!(
                run.stderr().contains(flag) && run.stderr().contains(says),
                "{flag} {value}: {}",
                run.stderr()
            );
        }
    }
    assert!(!fx.root().join(".shipper").exists());
}

/// `.shipper/archive` is a file, so the finished run cannot be archived: the
/// run still says the release went out (exit 0, "Finished", a warning naming
/// the path and the fix); the next run refuses with the same clarity until
/// the path is fixed, then archives the finished run and starts clean.
#[test]
fn a_failed_archive_does_not_hide_a_release() {
    let registry = TestRegistry::start();
    let fx = support::chain(&["ara", "arb"]);
    fx.use_registry(&registry);
    let archive = fx.root().join(".shipper/archive");
    std::fs::create_dir_all(archive.parent().unwrap()).unwrap();
    std::fs::write(&archive, b"in the way").unwrap();

    let run = fx.publish(&registry, &["--no-verify"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let err = run.stderr();
    assert!(err.contains("Finished 2 crates"), "{err}");
    assert!(
        err.contains("receipt: ") && err.contains("current/receipt.json"),
        "{err}"
    );
    assert!(
        err.contains("warning: the release went out, but the finished run could not be archived")
            && err.contains(".shipper/archive"),
        "{err}"
    );
    assert_eq!(registry.version_count("arb"), 1);
    assert!(fx.root().join(".shipper/current/receipt.json").exists());

    let again = fx.publish(&registry, &["--no-verify"]);
    assert_eq!(again.code(), 1, "{}", again.stderr());
    assert!(
        again.stderr().contains("release went out") && again.stderr().contains(".shipper/archive"),
        "{}",
        again.stderr()
    );

    std::fs::remove_file(&archive).unwrap();
    fx.publish(&registry, &["--no-verify"]).ok();
    assert!(archive.is_dir());
    assert_eq!(registry.version_count("ara"), 1);
}

/// The index answers 503 once uploads start: the run says so while it waits
/// (a warning with the status, recorded long before the timeout), ends
/// partial (exit 4) saying the crate was uploaded but not confirmed, and
/// never claims that it "did not go out" or is "not in the index".
#[test]
fn a_failing_index_is_reported_while_waiting() {
    let registry = TestRegistry::start_knobs(|k| k.fail_reads_after_uploads = Some(1));
    let fx = support::chain(&["ifa", "ifb"]);
    fx.use_registry(&registry);
    let run = fx.publish(&registry, &["--no-verify", "--confirm-timeout", "2"]);
    assert_eq!(run.code(), 4, "{}", run.stderr());
    let err = run.stderr();
    assert!(
        err.contains("warning: the registry index is failing (HTTP 503 for ifa)"),
        "{err}"
    );
    assert!(
        err.contains("the index could not confirm it in") && err.contains("HTTP 503"),
        "{err}"
    );
    assert!(
        err.contains("needs ifa, which is uploaded but not yet confirmed in the index"),
        "{err}"
    );
    assert!(
        err.contains("1 more uploaded but not yet confirmed in the index (ifa)"),
        "{err}"
    );
    assert!(
        !err.contains("did not go out") && !err.contains("is not in the index"),
        "{err}"
    );
    let events = support::events_in(&fx.root().join(".shipper/current"));
    let at = |kind: &str| {
        events
            .iter()
            .find(|e| e["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind}"))["at_ms"]
            .as_u64()
            .unwrap()
    };
    assert!(
        at("index_failing") + 1000 < at("visibility_timed_out"),
        "said early"
    );
    assert_eq!(
        support::count(&events, "index_failing", "ifa"),
        1,
        "said once"
    );
}

/// `GITHUB_STEP_SUMMARY` set and the run fails (partial, exit 4; or it
/// cannot start, exit 1): the summary is written anyway, with the table
/// when there is one, why each crate is not out, and the error.
#[test]
fn a_failed_run_writes_its_step_summary() {
    let registry = TestRegistry::start_knobs(|k| {
        k.upload_faults = vec![(2, cargo_shipper::local_registry::UploadFault::Status(500))]
    });
    let fx = support::chain(&["gfa", "gfb", "gfc"]);
    fx.use_registry(&registry);
    let summary = fx.root().join("summary.md");
    let env = [("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())];
    let run = fx
        .publish_cmd(&registry)
        .args(["--no-verify", "--max-attempts", "1"])
        .envs(env)
        .run();
    assert_eq!(run.code(), 4, "{}", run.stderr());
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(text.contains("### cargo-shipper: Partial"), "{text}");
    assert!(text.contains("| gfa | 0.1.0 | published | 1 |"), "{text}");
    assert!(text.contains("| gfb | 0.1.0 | "), "{text}");
    // Never attempted: not listed as if packaged or out.
    assert!(
        text.contains("| gfc | 0.1.0 | blocked by a dependency | 0 |"),
        "{text}"
    );
    assert!(
        text.contains("- `gfc`: dependency `gfb` did not go out"),
        "{text}"
    );
    assert!(text.contains("error: 1 of 3 crates are out"), "{text}");

    // A run that cannot start (the lock is held) says so too.
    std::fs::remove_file(&summary).unwrap();
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(fx.root().join(".shipper/lock"))
        .unwrap();
    lock.lock().unwrap();
    let held = fx.shipper_env(&registry, &["resume"], &env);
    assert_eq!(held.code(), 1);
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(
        text.contains("failed before the run started")
            && text.contains("another cargo-shipper run is using"),
        "{text}"
    );
}

/// A `.crate` that is not what it claims (not gzip, empty, gzip but not tar,
/// entries outside `name-version/`, `..`, a link, no or a mis-cased
/// `Cargo.toml`, a `Cargo.toml` naming another crate or version, over
/// 10 MiB): refused with crates.io's status and message; nothing stored.
#[test]
fn a_crate_file_that_is_not_a_crate_is_refused() {
    use crate::support::gz_tar;
    let registry = TestRegistry::start();
    let manifest = b"[package]\nname = \"tb\"\nversion = \"0.1.0\"\n" as &[u8];
    let mut link = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Symlink);
    header.set_size(0);
    header.set_cksum();
    link.append_link(&mut header, "tb-0.1.0/Cargo.toml", "/etc/passwd")
        .unwrap();
    let link = link.into_inner().unwrap().finish().unwrap();
    let gzip_of = |bytes: &[u8]| {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
    };
    let mut oversized = gz_tar(&[("tb-0.1.0/Cargo.toml", manifest)]);
    oversized.resize(10 * 1024 * 1024 + 1, 0);
    let cases: Vec<(&str, Vec<u8>, u32, &str)> = vec![
        ("not gzip", b"just some bytes".to_vec(), 400, "malformed"),
        ("empty", Vec::new(), 400, "malformed"),
        ("gzip, not tar", gzip_of(&[7u8; 1000]), 400, "malformed"),
        (
            "another crate's path",
            gz_tar(&[("tb-0.1.0/Cargo.toml", manifest), ("other-0.1.0/x", b"x")]),
            400,
            "invalid path found: other-0.1.0/x",
        ),
        (
            "parent dir",
            gz_tar(&[
                ("tb-0.1.0/Cargo.toml", manifest),
                ("tb-0.1.0/../../evil", b"x"),
            ]),
            400,
            "invalid path found",
        ),
        ("a symlink", link, 400, "unexpected symlink or hard link"),
        (
            "no Cargo.toml",
            gz_tar(&[("tb-0.1.0/src/lib.rs", b"")]),
            400,
            "missing a `Cargo.toml`",
        ),
        (
            "cargo.toml",
            gz_tar(&[("tb-0.1.0/cargo.toml", manifest)]),
            400,
            "must be named `Cargo.toml`",
        ),
        (
            "another name inside",
            gz_tar(&[(
                "tb-0.1.0/Cargo.toml",
                b"[package]\nname = \"other\"\nversion = \"0.1.0\"\n",
            )]),
            400,
            "names the package `other`",
        ),
        (
            "another version inside",
            gz_tar(&[(
                "tb-0.1.0/Cargo.toml",
                b"[package]\nname = \"tb\"\nversion = \"0.2.0\"\n",
            )]),
            400,
            "has version `0.2.0`",
        ),
        ("over 10 MiB", oversized, 413, "max upload size"),
    ];
    let auth = format!("Authorization: {}", registry.registry.token());
    let url = format!("{}/api/v1/crates/new", registry.api());
    for (what, tarball, status, says) in cases {
        let reply = http(
            "PUT",
            &url,
            &[&auth],
            &upload_body("tb", "0.1.0", &[], &tarball),
        )
        .unwrap();
        assert_eq!(reply.status, status, "{what}: {}", reply.text());
        assert!(reply.text().contains(says), "{what}: {}", reply.text());
        assert_eq!(
            registry.index_entry("tb").status,
            404,
            "{what}: nothing stored"
        );
    }
    assert!(!registry.root().join("crates/tb").exists());
    assert_eq!(
        registry.upload("tb", "0.1.0", &[]).status,
        200,
        "a real one passes"
    );
}

/// A token with CR/LF (`--token $'S\r\nX-Injected: yes'`, or the same in
/// cargo's token variable) against an auth-required registry: refused before
/// any request (exit 2 for `--token`, 1 for cargo's), never echoed, no run
/// started; `registry serve --token` with one: exit 2.
#[test]
fn a_token_that_would_inject_a_header_is_refused_at_the_edge() {
    let dir = tempfile::tempdir().unwrap();
    let inner = TestRegistry::start_with(dir.path(), |c| c.auth_required = true);
    let registry = TestRegistry::wrap(inner, dir);
    let fx = support::chain(&["tka"]);
    fx.use_registry(&registry);
    let evil = "S\r\nX-Injected: yes";
    let run = fx.publish(&registry, &["--no-verify", "--token", evil]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(
        run.stderr().contains(
            "the `--token` value contains a character that cannot be sent in an HTTP header"
        ),
        "{}",
        run.stderr()
    );
    assert!(!run.stderr().contains("X-Injected"), "never echoed");
    assert!(
        !fx.root().join(".shipper/current").exists(),
        "no run started"
    );

    let from_cargo = fx
        .publish_cmd(&registry)
        .no_fast()
        .arg("--no-verify")
        .env("CARGO_REGISTRIES_LOCAL_TOKEN", evil)
        .run();
    assert_eq!(from_cargo.code(), 1, "{}", from_cargo.stderr());
    assert!(
        from_cargo
            .stderr()
            .contains("the token cargo's credentials give for this registry"),
        "{}",
        from_cargo.stderr()
    );
    assert!(!from_cargo.stderr().contains("X-Injected"));
    assert!(!registry.root().join("crates/tka").exists());

    let root = tempfile::tempdir().unwrap();
    let serve = support::Fixture::new().shipper(&[
        "registry",
        "serve",
        "--root",
        root.path().to_str().unwrap(),
        "--token",
        evil,
    ]);
    assert_eq!(serve.code(), 2, "{}", serve.stderr());
    assert!(!serve.stderr().contains("X-Injected"));
}

/// `-p X --exclude X`: an error naming `X` (exit 3), not a silent empty plan.
#[test]
fn a_crate_both_selected_and_excluded_is_refused() {
    let fx = support::chain(&["sea", "seb"]);
    for command in ["plan", "publish"] {
        let run = fx.shipper(&[command, "-p", "seb", "--exclude", "seb"]);
        assert_eq!(run.code(), 3, "{command}: {}", run.stderr());
        assert!(
            run.stderr()
                .contains("`seb` is both selected (`-p seb`) and excluded (`--exclude seb`)"),
            "{}",
            run.stderr()
        );
    }
}

/// Reserved names (`std`, `core`, `proc-macro`, Windows' `con`, `NUL`, `lpt1`):
/// refused (400, "reserved name"); nothing stored.
#[test]
fn reserved_crate_names_are_refused() {
    let registry = TestRegistry::start();
    for name in [
        "std",
        "core",
        "proc-macro",
        "con",
        "NUL",
        "lpt1",
        "Rustc_Driver",
    ] {
        let reply = registry.upload(name, "0.1.0", &[]);
        assert_eq!(reply.status, 400, "{name}");
        assert!(
            reply
                .text()
                .contains("cannot upload a crate with a reserved name"),
            "{name}: {}",
            reply.text()
        );
        assert_eq!(registry.index_entry(name).status, 404, "{name}");
    }
    assert_eq!(registry.upload("stdx", "0.1.0", &[]).status, 200);
}

/// `registry serve` with a root that is a file, a read-only root, or an
/// address in use: exit 1 with an error naming the path or the address;
/// an address in use creates no root.
#[test]
fn registry_serve_errors_name_the_path_or_address() {
    let fx = support::Fixture::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let serve = |root: &std::path::Path, addr: &str| {
        fx.shipper(&[
            "registry",
            "serve",
            "--root",
            root.to_str().unwrap(),
            "--addr",
            addr,
        ])
    };
    let run = serve(&file, "127.0.0.1:0");
    assert_eq!(run.code(), 1);
    assert!(
        run.stderr()
            .contains(&format!("could not use `{}`", file.display())),
        "{}",
        run.stderr()
    );

    // Root ignores permissions; the check only means something for others.
    if unsafe { libc::geteuid() } != 0 {
        use std::os::unix::fs::PermissionsExt;
        let read_only = dir.path().join("read-only");
        std::fs::create_dir(&read_only).unwrap();
        std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o555)).unwrap();
        let run = serve(&read_only, "127.0.0.1:0");
        assert_eq!(run.code(), 1);
        assert!(
            run.stderr()
                .contains(&format!("could not use `{}`", read_only.display())),
            "{}",
            run.stderr()
        );
    }

    let busy = TestRegistry::start();
    let addr = busy.registry.addr().to_string();
    let fresh = dir.path().join("fresh");
    let run = serve(&fresh, &addr);
    assert_eq!(run.code(), 1);
    assert!(
        run.stderr()
            .contains(&format!("could not listen on `{addr}`")),
        "{}",
        run.stderr()
    );
    assert!(!fresh.exists(), "no root created");
}

/// A `429=` fault with an absurd date: `registry serve` refuses the flag
/// (exit 2); set through the library, the upload is answered 429 with a
/// date a year ahead, not a panicked handler's 500.
#[test]
fn an_absurd_retry_after_date_is_bounded() {
    use cargo_shipper::local_registry::{RetryAfter, UploadFault};
    let run = support::Fixture::new().shipper(&[
        "registry",
        "serve",
        "--root",
        "/nonexistent-never-created",
        "--fail-upload",
        "1:429=date+99999999999999",
    ]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("a year"), "{}", run.stderr());
    assert!(!std::path::Path::new("/nonexistent-never-created").exists());

    let registry = TestRegistry::start_knobs(|k| {
        k.upload_faults = vec![(1, UploadFault::RateLimited(RetryAfter::HttpDate(u64::MAX)))]
    });
    let reply = registry.upload("late", "0.1.0", &[]);
    assert_eq!(reply.status, 429, "{}", reply.text());
    let when = httpdate::parse_http_date(&reply.header("retry-after").unwrap()).unwrap();
    assert!(when > std::time::SystemTime::now());
}

/// Stalled connections (slowloris): one that sends nothing, one that stops
/// mid-head, one that stops mid-body: each is cut off after the stall
/// timeout (408 or closed), and the registry keeps serving others.
#[test]
fn stalled_connections_are_cut_off() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let registry =
        TestRegistry::start_knobs(|k| k.stall_timeout = Some(Duration::from_millis(300)));
    let addr = registry.registry.addr();
    let starts: [&[u8]; 3] = [
        b"",
        b"GET /index/config.json HTTP/1.1\r\nHost: x\r\nX-Slow: ",
        b"PUT /api/v1/crates/new HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc",
    ];
    let mut held = Vec::new();
    for start in starts {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.write_all(start).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        held.push(stream);
    }
    assert_eq!(
        registry.upload("busy", "0.1.0", &[]).status,
        200,
        "still serving"
    );
    for (i, mut stream) in held.into_iter().enumerate() {
        let waited = Instant::now();
        let mut answer = Vec::new();
        // Ends when the server closes the connection (EOF), never by our timeout.
        stream.read_to_end(&mut answer).unwrap();
        assert!(waited.elapsed() < Duration::from_secs(5), "case {i}");
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
            "case {i}: {answer}"
        );
    }
}

/// An index URL with a query string or fragment (`--index …/index/?q`, or
/// in cargo's config): refused with a message naming it, never mangled
/// into `?q/config.json`.
#[test]
fn an_index_url_with_a_query_is_refused() {
    let fx = support::chain(&["qua"]);
    for url in [
        "sparse+http://127.0.0.1:9/index/?q",
        "sparse+http://127.0.0.1:9/index/#frag",
    ] {
        for command in ["plan", "publish"] {
            let run = fx.shipper(&[command, "--index", url]);
            assert_eq!(run.code(), 1, "{url}: {}", run.stderr());
            assert!(
                run.stderr().contains("has a query string or a fragment"),
                "{url}: {}",
                run.stderr()
            );
            assert!(!run.stderr().contains("config.json"), "{}", run.stderr());
        }
    }
    fx.cargo_config("[registries.odd]\nindex = \"sparse+http://127.0.0.1:9/index/?x=1\"\n");
    let run = fx.shipper(&["plan", "--registry", "odd"]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(
        run.stderr().contains("the index URL of `odd`"),
        "{}",
        run.stderr()
    );
}

/// The registry loses what a partial run published, then `resume`: an error
/// naming what the registry no longer has and offering
/// `--abandon-unfinished` (exit 1, nothing uploaded), not a resume that
/// fails the same way forever; `publish --abandon-unfinished` then starts over.
#[test]
fn resume_after_the_registry_lost_its_data_says_what_is_missing() {
    use cargo_shipper::local_registry::UploadFault;
    let registry =
        TestRegistry::start_knobs(|k| k.upload_faults = vec![(2, UploadFault::Status(500))]);
    let fx = support::chain(&["lda", "ldb"]);
    fx.use_registry(&registry);
    let run = fx.publish(&registry, &["--no-verify", "--max-attempts", "1"]);
    assert_eq!(run.code(), 4, "{}", run.stderr());
    for dir in ["index", "crates", "owners"] {
        let _ = std::fs::remove_dir_all(registry.root().join(dir));
    }
    let registry = registry.restart(|_| {});

    let resume = fx.resume_cmd(&registry).arg("--no-verify").run();
    assert_eq!(resume.code(), 1, "{}", resume.stderr());
    let err = resume.stderr();
    assert!(
        err.contains("the registry no longer has `lda 0.1.0`"),
        "{err}"
    );
    assert!(
        err.contains("cargo shipper publish --abandon-unfinished"),
        "{err}"
    );
    assert_eq!(registry.version_count("ldb"), 0, "nothing uploaded");

    fx.publish(&registry, &["--no-verify", "--abandon-unfinished"])
        .ok();
    assert_eq!(registry.version_count("lda"), 1);
    assert_eq!(registry.version_count("ldb"), 1);
}

/// `resume --state-dir` naming a missing path: "no unfinished run" (exit 1),
/// and the path is not created.
#[test]
fn resume_with_a_missing_state_dir_creates_nothing() {
    let fx = support::chain(&["sda"]);
    let missing = fx.root().join("no/such/dir");
    let run = fx.shipper(&["resume", "--state-dir", missing.to_str().unwrap()]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(
        run.stderr().contains("no unfinished run"),
        "{}",
        run.stderr()
    );
    assert!(!fx.root().join("no").exists());
    let run = fx.shipper(&["resume"]);
    assert_eq!(run.code(), 1);
    assert!(!fx.root().join(".shipper").exists());
}

/// A run whose plan fails (`-p` naming no member): exit 3, and no journal
/// left behind (no empty `.shipper/current/events.jsonl`).
#[test]
fn a_run_whose_plan_fails_leaves_no_journal() {
    let fx = support::chain(&["pfa"]);
    let run = fx.shipper(&["publish", "-p", "nope"]);
    assert_eq!(run.code(), 3, "{}", run.stderr());
    assert!(!fx.root().join(".shipper/current").exists());
}

/// `--token -abc…` (a token that starts with `-`): a usage error (exit 2)
/// saying to write `--token=…`, without echoing any of the token;
/// `--token=-abc…` is taken as the token.
#[test]
fn a_token_starting_with_a_dash_is_explained() {
    let fx = support::chain(&["dta"]);
    for command in ["publish", "resume"] {
        let run = fx.shipper(&[command, "--token", "-zq9secret"]);
        assert_eq!(run.code(), 2, "{}", run.stderr());
        assert!(
            run.stderr().contains("`--token=<TOKEN>`"),
            "{}",
            run.stderr()
        );
        assert!(!run.stderr().contains("zq9"), "{}", run.stderr());
    }
    let attached = fx.shipper(&["resume", "--token=-zq9secret"]);
    assert_eq!(attached.code(), 1, "{}", attached.stderr());
    assert!(
        attached.stderr().contains("no unfinished run"),
        "{}",
        attached.stderr()
    );
}

/// Packaging fails (a `readme` that does not exist): exit 1, and the error
/// says "nothing was uploaded" once, with the cause below it.
#[test]
fn a_packaging_failure_says_nothing_was_uploaded_once() {
    let registry = TestRegistry::start();
    let fx = support::Fixture::new();
    fx.file(
        "Cargo.toml",
        "[workspace]\nresolver = \"2\"\nmembers = [\"pka\"]\n",
    )
    .package("pka", "pka", "0.1.0", "readme = \"NOPE.md\"");
    fx.use_registry(&registry);
    let run = fx.publish(&registry, &["--no-verify"]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let err = run.stderr();
    assert_eq!(err.matches("nothing was uploaded").count(), 1, "{err}");
    assert!(err.contains("packaging failed"), "{err}");
    assert!(err.contains("NOPE.md"), "{err}");
}

/// Resuming a run with 2 of 3 crates out says "1 crate left of 3 (2 out)",
/// not "Resuming 3 crates"; the count is in the journal (`run_started.done`).
#[test]
fn resume_says_how_many_are_left() {
    use cargo_shipper::local_registry::UploadFault;
    let registry =
        TestRegistry::start_knobs(|k| k.upload_faults = vec![(3, UploadFault::Status(500))]);
    let fx = support::chain(&["rla", "rlb", "rlc"]);
    fx.use_registry(&registry);
    let run = fx.publish(&registry, &["--no-verify", "--max-attempts", "1"]);
    assert_eq!(run.code(), 4, "{}", run.stderr());
    let resume = fx.resume_cmd(&registry).arg("--no-verify").run();
    resume.ok();
    assert!(
        resume
            .stderr()
            .contains("Resuming 1 crate left of 3 (2 out) to `local`"),
        "{}",
        resume.stderr()
    );
    let events = support::events_in(&support::archived_published(&fx));
    let starts: Vec<u64> = events
        .iter()
        .filter(|e| e["kind"] == "run_started")
        .map(|e| e["done"].as_u64().unwrap())
        .collect();
    assert_eq!(starts, [0, 2]);
}
