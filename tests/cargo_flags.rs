//! cargo's own flags, as `cargo publish` takes them, reach cargo's packaging
//! and verification (and the registry client) with the meaning they have in
//! cargo: each is shown by what it changes, never by parsing alone.

mod support;

use support::{Fixture, Run, TestRegistry};

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
