//! `cargo shipper preflight`: each check has a fixture that trips it and
//! one that passes; the JSON document is snapshot-tested.

mod support;

use support::{Fixture, TestRegistry, demo_workspace};

fn preflight(fx: &Fixture, registry: &TestRegistry, extra: &[&str]) -> support::Run {
    let mut args = vec!["preflight", "--registry", "local", "--no-verify"];
    args.extend(extra);
    fx.shipper_env(registry, &args, &[])
}

#[test]
fn smoke() {
    let registry = TestRegistry::start();
    let fx = demo_workspace();
    fx.use_registry(&registry);
    let run = preflight(&fx, &registry, &[]);
    println!("{}\n{}\n{}", run.code(), run.stdout(), run.stderr());
    let run = preflight(&fx, &registry, &["--message-format", "json"]);
    println!("{}\n{}", run.code(), run.stdout());
    panic!();
}
