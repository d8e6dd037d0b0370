//! cargo's own flags, as `cargo publish` takes them, reach cargo's packaging
//! and verification (and the registry client) with the meaning they have in
//! cargo: each is shown by what it changes, never by parsing alone.

use crate::support;

use crate::support::{Fixture, Run, TestRegistry};

/// A one-crate workspace whose library refuses to build with feature `bad`,
/// or without its default feature `std`.
fn gated() -> Fixture {
    let fx = Fixture::new();
    fx.file(
        "Cargo.toml",
        "[workspace]\nresolver = \"2\"\nmembers = [\"ga\"]\n",
    );
    fx.package(
        "ga",
        "ga",
        "0.1.0",
        "[features]\ndefault = [\"std\"]\nstd = []\nbad = []\n",
    );
    fx.file(
        "ga/src/lib.rs",
        "#[cfg(feature = \"bad\")]\ncompile_error!(\"feature bad is on\");\n\
         #[cfg(not(feature = \"std\"))]\ncompile_error!(\"feature std is off\");\n",
    );
    fx
}

/// A workspace of `name` with two binaries that do not compile, each on its own.
fn two_broken_bins(name: &str) -> Fixture {
    let fx = Fixture::new();
    fx.file(
        "Cargo.toml",
        &format!("[workspace]\nresolver = \"2\"\nmembers = [\"{name}\"]\n"),
    );
    fx.package(name, name, "0.1.0", "");
    std::fs::remove_file(fx.root().join(format!("{name}/src/lib.rs"))).unwrap();
    fx.file(
        &format!("{name}/src/bin/one.rs"),
        "fn main() { let _x: u8 = \"one\"; }\n",
    );
    fx.file(
        &format!("{name}/src/bin/two.rs"),
        "fn main() { let _x: u8 = \"two\"; }\n",
    );
    fx
}

/// The host's target triple, as rustc says it.
fn host_triple() -> String {
    let out = std::process::Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc -vV");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("a host line")
        .to_owned()
}

/// `publish --dry-run` with `extra`, into the fixture's `local` registry.
fn dry_run(fx: &Fixture, registry: &TestRegistry, extra: &[&str]) -> Run {
    let mut args = vec!["--dry-run"];
    args.extend(extra);
    fx.publish(registry, &args)
}

#[test]
fn short_n_is_dry_run() {
    let registry = TestRegistry::start();
    let fx = support::chain(&["na", "nb"]);
    fx.use_registry(&registry);
    let run = fx.publish(&registry, &["-n", "--no-verify"]);
    run.ok();
    let err = run.stderr();
    assert!(err.contains("Would upload na 0.1.0"), "{err}");
    assert!(err.contains("Would upload nb 0.1.0"), "{err}");
    assert_eq!(registry.version_count("na"), 0);
    assert_eq!(registry.version_count("nb"), 0);
    assert!(!fx.root().join(".shipper/current").exists(), "no journal");
}

#[test]
fn features_reach_verification() {
    let registry = TestRegistry::start();
    let fx = gated();
    fx.use_registry(&registry);
    dry_run(&fx, &registry, &[]).ok();
    for (flags, says) in [
        (&["-F", "bad"][..], "feature bad is on"),
        (&["--features", "std,bad"], "feature bad is on"),
        (&["--all-features"], "feature bad is on"),
        (&["--no-default-features"], "feature std is off"),
    ] {
        let run = dry_run(&fx, &registry, flags);
        assert_ne!(run.code(), 0, "{flags:?}");
        assert!(run.stderr().contains(says), "{flags:?}: {}", run.stderr());
    }
    let run = dry_run(&fx, &registry, &["--no-default-features", "-F", "std"]);
    run.ok();
}

/// A feature only an upper plan level has: the lower level, packaged on its
/// own, is not refused for it (cargo checks features per call); verifying
/// the upper one builds with it. A feature no crate has is cargo's error.
#[test]
fn a_feature_of_one_crate_reaches_that_crate() {
    let registry = TestRegistry::start();
    let fx = support::chain(&["fla", "flb"]);
    fx.file(
        "flb/Cargo.toml",
        "[package]\nname = \"flb\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
         license = \"MIT\"\ndescription = \"fixture\"\n\
         [dependencies]\nfla = { path = \"../fla\", version = \"0.1.0\" }\n\
         [features]\nbad = []\n",
    );
    fx.file(
        "flb/src/lib.rs",
        "#[cfg(feature = \"bad\")]\ncompile_error!(\"feature bad is on\");\n",
    );
    fx.use_registry(&registry);
    // -v: cargo's lines of the level that passed show too.
    let run = dry_run(&fx, &registry, &["-F", "bad", "-v"]);
    assert_ne!(run.code(), 0);
    let err = run.stderr();
    assert!(err.contains("Verifying fla v0.1.0"), "{err}");
    assert!(err.contains("feature bad is on"), "{err}");
    assert!(err.contains("packaging failed for flb"), "{err}");

    let run = dry_run(&fx, &registry, &["-F", "nosuch"]);
    assert_ne!(run.code(), 0);
    assert!(
        run.stderr()
            .contains("none of the selected packages contains this feature: nosuch"),
        "{}",
        run.stderr()
    );
}

/// `--locked` with a lockfile that does not match the workspace: cargo's
/// refusal, in cargo's words, and the lockfile left as it was; `--frozen`
/// adds `--offline`. Without them the lockfile is brought up to date, as
/// `cargo publish` does.
#[test]
fn locked_refuses_a_stale_lockfile_as_cargo_does() {
    let registry = TestRegistry::start();
    let fx = support::chain(&["lka", "lkb"]);
    fx.use_registry(&registry);
    let stale = "version = 4\n\n[[package]]\nname = \"lka\"\nversion = \"0.1.0\"\n";
    fx.file("Cargo.lock", stale);
    let lockfile = || std::fs::read_to_string(fx.root().join("Cargo.lock")).unwrap();

    let run = dry_run(&fx, &registry, &["--locked", "--no-verify"]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let refusal = "because --locked was passed to prevent this";
    assert!(run.stderr().contains(refusal), "{}", run.stderr());
    assert_eq!(lockfile(), stale);
    assert_eq!(registry.version_count("lka"), 0);
    // The cargo CLI says the same of the same workspace.
    let cargo = fx.cargo(
        &registry,
        &[
            "package",
            "--workspace",
            "--no-verify",
            "--allow-dirty",
            "--locked",
        ],
    );
    assert_ne!(cargo.code(), 0);
    assert!(cargo.stderr().contains(refusal), "{}", cargo.stderr());
    assert_eq!(lockfile(), stale);

    // `preflight --frozen`: the package check meets the lockfile, the
    // registry check the network.
    let run = fx.shipper_env(
        &registry,
        &[
            "preflight",
            "--registry",
            "local",
            "--allow-dirty",
            "--frozen",
        ],
        &[],
    );
    assert_eq!(run.code(), 7, "{}", run.stderr());
    let out = run.stdout();
    assert!(
        out.contains("because --frozen was passed to prevent this"),
        "{out}"
    );
    assert!(
        out.contains("attempting to make an HTTP request, but --frozen was specified"),
        "{out}"
    );
    assert_eq!(lockfile(), stale);

    dry_run(&fx, &registry, &["--no-verify"]).ok();
    assert!(lockfile().contains("name = \"lkb\""), "{}", lockfile());
    // Up to date, it passes `--locked` everywhere: packaging, verification
    // against the earlier level, a rehearsal, a release.
    let current = lockfile();
    dry_run(&fx, &registry, &["--locked"]).ok();
    fx.rehearse(&["--locked"]).ok();
    fx.publish(&registry, &["--locked"]).ok();
    assert_eq!(registry.version_count("lkb"), 1);
    assert_eq!(lockfile(), current);
}

/// `--config KEY=VALUE` and `--config PATH` reach the registry client: the
/// configured index of `local` is unreachable, the override is the registry.
#[test]
fn config_overrides_reach_the_registry_client() {
    let registry = TestRegistry::start();
    let fx = support::chain(&["cfa", "cfb"]);
    // Port 9 (discard) on loopback: nothing listens there. `local` stands
    // in for crates.io (the members' path dependencies mean crates.io).
    fx.cargo_config(
        "[registries.local]\nindex = \"sparse+http://127.0.0.1:9/index/\"\n\
         [source.crates-io]\nreplace-with = \"local\"",
    );
    let unreachable = fx.publish(&registry, &["--no-verify"]);
    assert_ne!(unreachable.code(), 0, "{}", unreachable.stderr());
    assert_eq!(registry.version_count("cfa"), 0);

    let key_value = format!("registries.local.index=\"{}\"", registry.index_url());
    fx.publish(&registry, &["--no-verify", "--config", &key_value])
        .ok();
    assert_eq!(registry.version_count("cfa"), 1);
    assert_eq!(registry.version_count("cfb"), 1);

    // A file: the next run reads the index through it and finds both there.
    fx.file(
        "shipper-config.toml",
        &registry.registry.cargo_config("local"),
    );
    let run = fx.publish(
        &registry,
        &[
            "--no-verify",
            "--config",
            "shipper-config.toml",
            "--message-format",
            "json",
        ],
    );
    let out = run.ok();
    assert_eq!(
        out.matches("\"reason\":\"already_in_registry\"").count(),
        2,
        "{out}"
    );
}

/// `--target-dir`: the packages, and the verification build, go there; and
/// `preflight` counts it as build output, not as uncommitted changes.
#[test]
fn target_dir_holds_the_packages() {
    let registry = TestRegistry::start();
    let fx = support::chain(&["tda", "tdb"]);
    fx.use_registry(&registry);
    dry_run(&fx, &registry, &["--target-dir", "out"]).ok();
    for name in ["tda", "tdb"] {
        let file = fx.root().join(format!("out/package/{name}-0.1.0.crate"));
        assert!(file.is_file(), "{}", file.display());
    }
    assert!(fx.root().join("out/debug").is_dir());
    assert!(!fx.root().join("target").exists());

    fx.file(".gitignore", ".shipper/\n");
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
            .args(args)
            .current_dir(fx.root())
            .output()
            .expect("git");
        assert!(out.status.success(), "git {args:?}: {out:?}");
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "--", ".gitignore", "Cargo.toml", "tda", "tdb"]);
    git(&["commit", "-q", "-m", "release"]);
    git(&["tag", "v0.1.0"]);
    let preflight = |extra: &[&str]| {
        let mut args = vec!["preflight", "--registry", "local"];
        args.extend(extra);
        fx.shipper_env(&registry, &args, &[])
    };
    let run = preflight(&["--target-dir", "out"]);
    assert_eq!(run.code(), 0, "{}\n{}", run.stdout(), run.stderr());
    assert!(!run.stdout().contains("uncommitted"), "{}", run.stdout());
    // Without the flag, `out/` is just a directory nobody committed.
    let run = preflight(&[]);
    assert_eq!(run.code(), 7, "{}", run.stderr());
    assert!(
        run.stdout().contains("uncommitted changes (out/)"),
        "{}",
        run.stdout()
    );
}

/// `--offline` and `--frozen`: no request is made; cargo's refusal says why.
/// A plan (whose dev-dependency cycle would ask an unreachable registry)
/// is made without asking.
#[test]
fn offline_and_frozen_forbid_the_network() {
    let registry = TestRegistry::start();
    let fx = support::chain(&["ofa"]);
    fx.use_registry(&registry);
    for flag in ["--offline", "--frozen"] {
        let run = fx.publish(&registry, &["--no-verify", flag]);
        assert_eq!(run.code(), 1, "{}", run.stderr());
        let says = format!("attempting to make an HTTP request, but {flag} was specified");
        assert!(run.stderr().contains(&says), "{}", run.stderr());
    }
    assert_eq!(registry.version_count("ofa"), 0);
    // `preflight` checks what it can and says what it could not.
    let run = fx.shipper_env(
        &registry,
        &[
            "preflight",
            "--registry",
            "local",
            "--allow-dirty",
            "--offline",
        ],
        &[],
    );
    assert_eq!(run.code(), 7, "{}", run.stderr());
    let out = run.stdout();
    assert!(out.contains("1 crate(s) packaged and verified"), "{out}");
    assert!(
        out.contains("nothing can be known about what is published: run it without `--offline`"),
        "{out}"
    );

    let fx = Fixture::new();
    fx.file("Cargo.toml", "[workspace]\nmembers = [\"t\", \"t-test\"]\n")
        .package(
            "t",
            "t",
            "1.1.0",
            "[dev-dependencies]\nt-test = { path = \"../t-test\", version = \"0.4\" }",
        )
        .package(
            "t-test",
            "t-test",
            "0.4.1",
            "[dependencies]\nt = { path = \"../t\", version = \"1\" }",
        );
    fx.cargo_config("[registries.local]\nindex = \"sparse+http://127.0.0.1:9/index/\"");
    assert_eq!(fx.shipper(&["plan", "--registry", "local"]).code(), 1);
    for flag in ["--offline", "--frozen"] {
        let out = fx.shipper(&["plan", "--registry", "local", flag]).ok();
        assert!(out.contains("needs registry check"), "{flag}: {out}");
    }
}

/// `-j N` is the build's jobs: a build script sees them as `NUM_JOBS`.
#[test]
fn jobs_are_the_build_jobs() {
    let registry = TestRegistry::start();
    let fx = support::chain(&["jba"]);
    fx.file(
        "jba/build.rs",
        "fn main() {\n    println!(\"cargo:warning=NUM_JOBS={}\", std::env::var(\"NUM_JOBS\").unwrap());\n}\n",
    );
    fx.use_registry(&registry);
    for (flags, says) in [
        (&["-j", "1"][..], "NUM_JOBS=1"),
        (&["--jobs", "3"], "NUM_JOBS=3"),
    ] {
        let run = dry_run(&fx, &registry, flags);
        run.ok();
        assert!(run.stderr().contains(says), "{flags:?}: {}", run.stderr());
    }
}

/// `--keep-going`: verification builds what it can after an error; without
/// it, one job at a time, the first error ends the build.
#[test]
fn keep_going_reaches_verification() {
    let registry = TestRegistry::start();
    let fx = two_broken_bins("kga");
    fx.use_registry(&registry);
    let run = dry_run(&fx, &registry, &["-j", "1"]);
    assert_eq!(run.code(), 1);
    assert!(run.stderr().contains("1 job failed"), "{}", run.stderr());
    let run = dry_run(&fx, &registry, &["-j", "1", "--keep-going"]);
    assert_eq!(run.code(), 1);
    let err = run.stderr();
    assert!(err.contains("2 jobs failed"), "{err}");
    assert!(
        err.contains("(bin \"one\")") && err.contains("(bin \"two\")"),
        "{err}"
    );
}

/// `--target`: verification builds for that triple (its own directory under
/// the target directory); a triple rustc does not know fails there.
#[test]
fn target_reaches_verification() {
    let registry = TestRegistry::start();
    let fx = support::chain(&["tga"]);
    fx.use_registry(&registry);
    let host = host_triple();
    dry_run(&fx, &registry, &["--target", &host]).ok();
    assert!(fx.root().join("target").join(&host).join("debug").is_dir());

    let run = dry_run(&fx, &registry, &["--target", "no-such-triple"]);
    assert_eq!(run.code(), 1);
    assert!(
        run.stderr()
            .contains("could not find specification for target \"no-such-triple\""),
        "{}",
        run.stderr()
    );
}

/// `preflight` packages and verifies with them too.
#[test]
fn preflight_verifies_with_the_features() {
    let registry = TestRegistry::start();
    let fx = gated();
    fx.use_registry(&registry);
    let args = ["preflight", "--registry", "local", "--allow-dirty"];
    let run = fx.shipper_env(&registry, &args, &[]);
    assert_eq!(run.code(), 0, "{}\n{}", run.stdout(), run.stderr());
    let mut with = args.to_vec();
    with.extend(["--features", "bad"]);
    let run = fx.shipper_env(&registry, &with, &[]);
    assert_eq!(run.code(), 7, "{}", run.stderr());
    assert!(
        run.stderr().contains("feature bad is on"),
        "{}",
        run.stderr()
    );
}

/// `resume` verifies what is left with them: a run stopped by a failed
/// verification resumes only once the build passes.
#[test]
fn resume_verifies_with_the_features() {
    let registry = TestRegistry::start();
    let fx = gated();
    fx.use_registry(&registry);
    let run = fx.publish(&registry, &["-F", "bad"]);
    assert_ne!(run.code(), 0);
    assert!(
        run.stderr().contains("feature bad is on"),
        "{}",
        run.stderr()
    );
    let run = fx.resume_cmd(&registry).args(["--features", "bad"]).run();
    assert_ne!(run.code(), 0, "{}", run.stderr());
    assert!(
        run.stderr().contains("feature bad is on"),
        "{}",
        run.stderr()
    );
    assert_eq!(registry.version_count("ga"), 0);
    fx.resume_cmd(&registry).run().ok();
    assert_eq!(registry.version_count("ga"), 1);
}

/// `rehearse` packages and verifies with them, and so does the child run of
/// its interruption drill (it packages the whole release before its first
/// upload): the upper crate's binary builds only with `-F ok` (its library,
/// all a consumer of the release builds, with or without).
#[test]
fn rehearse_and_its_drill_verify_with_the_features() {
    let fx = support::chain(&["rfa", "rfb"]);
    fx.file(
        "rfb/Cargo.toml",
        "[package]\nname = \"rfb\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
         license = \"MIT\"\ndescription = \"fixture\"\n\
         [dependencies]\nrfa = { path = \"../rfa\", version = \"0.1.0\" }\n\
         [features]\nok = []\n",
    );
    fx.file(
        "rfb/src/bin/tool.rs",
        "#[cfg(not(feature = \"ok\"))]\ncompile_error!(\"feature ok is off\");\nfn main() {}\n",
    );
    let run = fx.rehearse(&[]);
    assert_ne!(run.code(), 0);
    assert!(
        run.stderr().contains("feature ok is off"),
        "{}",
        run.stderr()
    );
    let run = fx.rehearse(&["-F", "ok", "--interrupt-after", "1"]);
    run.ok();
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fx.root().join(".shipper/rehearsal.json")).unwrap())
            .unwrap();
    assert_eq!(record["drill"]["passed"], true, "{record}");
    assert_eq!(record["verdict"], "passed", "{record}");
}

/// A mistyped hidden flag (a test knob, a flag the command refuses) gets no
/// tip naming it; a mistyped shown flag keeps clap's tip.
#[test]
fn hidden_flags_are_never_suggested() {
    let fx = support::chain(&["hfa"]);
    for args in [
        &["publish", "--confirm-pol", "3"][..],
        &["resume", "--retry-delay-m", "3"],
        &["rehearse", "--stop-afte", "5m"],
        &["--confirm-pol", "3", "publish"],
        &["publish", "--index-window-m", "3"],
    ] {
        let run = fx.shipper(args);
        assert_eq!(run.code(), 2, "{args:?}");
        let err = run.stderr();
        assert!(!err.contains("tip:"), "{args:?}: {err}");
        for hidden in [
            "confirm-poll-ms",
            "retry-delay-ms",
            "stop-after",
            "index-window-ms",
        ] {
            assert!(!err.contains(hidden), "{args:?}: {err}");
        }
    }
    let run = fx.shipper(&["publish", "--dry-rn"]);
    assert_eq!(run.code(), 2);
    assert!(
        run.stderr()
            .contains("tip: a similar argument exists: '--dry-run'"),
        "{}",
        run.stderr()
    );
}
