//! Item 10: no flag value panics. Every duration flag of every command is
//! bounded: a value past its bound is a usage error (exit 2) before
//! anything is written, and the bound itself runs as any value does.

use crate::support::{DEMO_CRATES, TestRegistry, demo_workspace};

const HUGE: [&str; 3] = [
    "18446744073709551615",
    "18446744073709551616",
    "5124095576030431",
];

#[test]
fn duration_flags_past_their_bound_are_usage_errors_and_write_nothing() {
    let registry = TestRegistry::start();
    let fx = demo_workspace();
    fx.use_registry(&registry);
    let plan = fx.root().join("yank-plan.json");
    let plan_arg = plan.to_str().unwrap();
    let mut cases: Vec<Vec<String>> = Vec::new();
    let owned = |args: &[&str]| args.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    for stop in ["5124095576030431h", "18446744073709551615s", "8785h"] {
        for command in [
            &["publish", "--registry", "local", "--allow-dirty"][..],
            &["resume"],
            &["rehearse", "--allow-dirty"],
            &["yank", "--plan", plan_arg],
        ] {
            let mut args = owned(command);
            args.extend(owned(&["--stop-after", stop]));
            cases.push(args);
        }
    }
    for value in HUGE {
        for (command, flags) in [
            (
                &["publish", "--registry", "local", "--allow-dirty"][..],
                &[
                    "--grace",
                    "--confirm-timeout",
                    "--upload-timeout",
                    "--retry-delay-ms",
                    "--confirm-poll-ms",
                    "--token-lifetime",
                ][..],
            ),
            (
                &["resume"],
                &["--grace", "--confirm-timeout", "--retry-delay-ms"],
            ),
            (&["rehearse", "--allow-dirty"], &["--confirm-timeout"]),
            (
                &["yank", "--plan", plan_arg],
                &[
                    "--confirm-timeout",
                    "--retry-delay-ms",
                    "--confirm-poll-ms",
                    "--token-lifetime",
                ],
            ),
            (
                &["registry", "serve", "--dir", "reg"],
                &[
                    "--propagation-delay-ms",
                    "--upload-latency-ms",
                    "--index-latency-ms",
                ],
            ),
        ] {
            for flag in flags {
                let mut args = owned(command);
                args.extend(owned(&[flag, value]));
                cases.push(args);
            }
        }
    }
    for args in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = fx.shipper_env(&registry, &args, &[]);
        assert_eq!(run.code(), 2, "{args:?}: {}", run.stderr());
        assert!(!run.stderr().contains("panicked"), "{args:?}");
        assert!(!fx.root().join(".shipper").exists(), "{args:?} wrote");
        assert!(!fx.root().join("reg").exists(), "{args:?} wrote");
    }
    // The reported case reads as a bound, not as an opaque parse failure.
    let run = fx.shipper_env(
        &registry,
        &[
            "yank",
            "--plan",
            plan_arg,
            "--stop-after",
            "5124095576030431h",
        ],
        &[],
    );
    assert!(
        run.stderr().contains("longer than 8784h"),
        "{}",
        run.stderr()
    );
    for name in DEMO_CRATES {
        assert_eq!(registry.version_count(name), 0, "{name}");
    }
}

#[test]
fn the_bounds_themselves_run_a_release_and_a_yank_to_the_end() {
    let registry = TestRegistry::start();
    let fx = demo_workspace();
    fx.use_registry(&registry);
    let longest = [
        "--stop-after",
        "8784h",
        "--confirm-timeout",
        "604800",
        "--token-lifetime",
        "604800",
    ];
    let mut publish = longest.to_vec();
    publish.extend(["--grace", "3600", "--upload-timeout", "3600"]);
    let run = fx.publish(&registry, &publish);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    for name in DEMO_CRATES {
        assert_eq!(registry.version_count(name), 1, "{name}");
    }
    let plan = fx.root().join("yank-plan.json");
    let plan_arg = plan.to_str().unwrap();
    fx.shipper_env(
        &registry,
        &["plan-yank", "--from-receipt", "latest", "-o", plan_arg],
        &[],
    )
    .ok();
    let run = fx
        .yank_cmd(&registry)
        .retry_delay_ms(None)
        .args(["--plan", plan_arg])
        .args(longest)
        .run();
    assert_eq!(run.code(), 0, "{}", run.stderr());
    for name in DEMO_CRATES {
        assert_eq!(
            crate::truth::yank_undo::yanked(&registry, name, "0.1.0"),
            Some(true),
            "{name}"
        );
    }
}

#[test]
fn a_pacing_period_past_its_bound_is_refused_without_a_panic() {
    let registry = TestRegistry::start();
    let fx = crate::support::chain(&["tfa"]);
    fx.use_registry(&registry);
    let root = std::fs::read_to_string(fx.root().join("Cargo.toml")).unwrap();
    fx.file(
        "Cargo.toml",
        &format!(
            "{root}\n[workspace.metadata.shipper.pacing]\n\
             new-crates = {{ burst = 1, per-seconds = 9223372036854775807 }}\n\
             new-versions = {{ burst = 1, per-seconds = 1 }}\n"
        ),
    );
    let run = fx.publish_cmd(&registry).no_fast().arg("--no-verify").run();
    assert_ne!(run.code(), 0);
    assert_ne!(run.code(), 101, "{}", run.stderr());
    assert!(run.stderr().contains("at most 86400"), "{}", run.stderr());
    assert_eq!(registry.version_count("tfa"), 0);
}
