//! `plan` against a live registry: a dev-dependency cycle is broken only
//! when the registry already holds a satisfying version.

use crate::support::{Fixture, TestRegistry, order};

/// tokio-like: `t` dev-depends on `t-test 0.4`, `t-test` depends on `t 1`.
fn dev_cycle(fx: &Fixture, t: &str, t_test: &str, with_dev_dep: bool) {
    let dev = if with_dev_dep {
        "[dev-dependencies]\nt-test = { path = \"../t-test\", version = \"0.4\" }"
    } else {
        ""
    };
    fx.file("Cargo.toml", "[workspace]\nmembers = [\"t\", \"t-test\"]\n")
        .package("t", "t", t, dev)
        .package(
            "t-test",
            "t-test",
            t_test,
            "[dependencies]\nt = { path = \"../t\", version = \"1\" }",
        );
}

#[test]
fn dev_cycle_is_broken_by_a_published_version() {
    let registry = TestRegistry::start();

    // An earlier release, published by the real cargo CLI.
    let earlier = Fixture::new();
    dev_cycle(&earlier, "1.0.0", "0.4.0", false);
    earlier.use_registry(&registry);
    earlier
        .cargo(
            &registry,
            &[
                "publish",
                "--workspace",
                "--registry",
                "local",
                "--no-verify",
                "--allow-dirty",
            ],
        )
        .ok();

    let next = Fixture::new();
    dev_cycle(&next, "1.1.0", "0.4.1", true);
    next.use_registry(&registry);
    let plan = next
        .shipper(&["plan", "--registry", "local", "--message-format", "json"])
        .json();
    let names: Vec<_> = order(&plan).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["t", "t-test"]);
    assert_eq!(plan["broken_edges"][0]["dependent"], "t");
    assert_eq!(plan["broken_edges"][0]["dependency"], "t-test");
    assert_eq!(plan["broken_edges"][0]["resolution"], "registry_has");
    assert_eq!(plan["broken_edges"][0]["version"], "0.4.0");

    let human = next.shipper(&["plan", "--registry", "local"]).ok();
    assert!(human.contains("the registry has t-test 0.4.0"), "{human}");
}

#[test]
fn dev_cycle_without_a_published_version_is_an_error() {
    let registry = TestRegistry::start();
    let fx = Fixture::new();
    dev_cycle(&fx, "1.1.0", "0.4.1", true);
    fx.use_registry(&registry);
    let run = fx.shipper(&["plan", "--registry", "local"]);
    assert_eq!(run.code(), 3, "{}", run.stderr());
    let err = run.stderr();
    assert!(
        err.contains("dependency cycle between `t`, `t-test`"),
        "{err}"
    );
    assert!(err.contains("`t` dev-depends on `t-test ^0.4`"), "{err}");
    assert!(err.contains("drop the `version`"), "{err}");
}

#[test]
fn unreachable_registry_says_how_to_plan_offline() {
    let fx = Fixture::new();
    dev_cycle(&fx, "1.1.0", "0.4.1", true);
    // Port 9 (discard) on loopback: nothing listens there.
    fx.cargo_config("[registries.local]\nindex = \"sparse+http://127.0.0.1:9/index/\"");
    let run = fx.shipper(&["plan", "--registry", "local"]);
    assert_eq!(run.code(), 1);
    assert!(
        run.stderr().contains("plan with `--offline`"),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_registry_that_needs_a_token_to_read_is_asked_with_cargo_s_token() {
    let dir = tempfile::tempdir().unwrap();
    let inner = TestRegistry::start_with(dir.path(), |c| c.auth_required = true);
    let registry = TestRegistry::wrap(inner, dir);
    let earlier = Fixture::new();
    dev_cycle(&earlier, "1.0.0", "0.4.0", false);
    earlier.use_registry(&registry);
    earlier.cargo_publish_workspace(&registry).ok();

    let next = Fixture::new();
    dev_cycle(&next, "1.1.0", "0.4.1", true);
    next.use_registry(&registry);
    let plan = next
        .shipper_env(
            &registry,
            &["plan", "--registry", "local", "--message-format", "json"],
            &[],
        )
        .json();
    assert_eq!(plan["broken_edges"][0]["resolution"], "registry_has");
}
