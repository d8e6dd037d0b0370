//! Remediation end to end against the embedded registry: `plan-yank` from
//! a real receipt, `yank --plan` journaled and resumable, `--undo`, and the
//! refusals (bad receipts and plans, another registry, a crate the token
//! does not own).

use crate::support;

use std::path::{Path, PathBuf};

use crate::support::{DEMO_CRATES, Fixture, Run, TestRegistry, archived_published, demo_workspace};

/// The demo published into `registry`; returns the receipt's path.
fn published_demo(registry: &TestRegistry) -> (Fixture, PathBuf) {
    let fx = demo_workspace();
    fx.use_registry(registry);
    // A release to yank: what verification builds is not what is tested.
    fx.publish(registry, &["--no-verify"]).ok();
    let receipt = archived_published(&fx).join("receipt.json");
    (fx, receipt)
}

/// `plan-yank --from-receipt latest -o p.json`; the plan's path.
fn latest_plan(fx: &Fixture, registry: &TestRegistry) -> PathBuf {
    let plan = fx.root().join("p.json");
    let args = [
        "plan-yank",
        "--from-receipt",
        "latest",
        "-o",
        plan.to_str().unwrap(),
    ];
    fx.shipper_env(registry, &args, &[]).ok();
    plan
}

fn yank(fx: &Fixture, registry: &TestRegistry, extra: &[&str]) -> Run {
    fx.yank_cmd(registry).args(extra).run()
}

/// `name@version` -> yanked, from the index as served.
fn yanked(registry: &TestRegistry, name: &str, version: &str) -> Option<bool> {
    let entry = registry.index_entry(name);
    entry.text().lines().find_map(|line| {
        let v: serde_json::Value = serde_json::from_str(line).ok()?;
        (v["vers"] == version).then(|| v["yanked"].as_bool().unwrap())
    })
}

fn plan_names(plan: &Path) -> Vec<String> {
    let plan: serde_json::Value = serde_json::from_slice(&std::fs::read(plan).unwrap()).unwrap();
    plan["crates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}

fn yank_events(fx: &Fixture) -> Vec<serde_json::Value> {
    let yank_dir = fx.root().join(".shipper/yank");
    let mut events = Vec::new();
    for dir in [yank_dir.join("current")].into_iter().chain(
        std::fs::read_dir(yank_dir.join("archive"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path()),
    ) {
        events.extend(support::events_in(&dir));
    }
    events
}

#[test]
fn plan_yank_then_yank_then_undo_on_the_demo() {
    let registry = TestRegistry::start();
    let (fx, _receipt) = published_demo(&registry);

    // The table: every crate the release uploaded, dependents first.
    let shown = fx.shipper_env(&registry, &["plan-yank", "--from-receipt", "latest"], &[]);
    let table = shown.ok();
    let pos = |name: &str| {
        table
            .find(&format!(" {name} "))
            .unwrap_or_else(|| panic!("{name}: {table}"))
    };
    assert!(
        pos("shipper-demo-app") < pos("shipper-demo-left"),
        "{table}"
    );
    assert!(
        pos("shipper-demo-left") < pos("shipper-demo-core"),
        "{table}"
    );
    assert!(
        pos("shipper-demo-cli") < pos("shipper-demo-testkit"),
        "{table}"
    );
    assert!(table.contains("Nothing was yanked"), "{table}");
    for name in DEMO_CRATES {
        assert_eq!(yanked(&registry, name, "0.1.0"), Some(false), "{name}");
    }

    let plan = fx.root().join("yank-plan.json");
    fx.shipper_env(
        &registry,
        &[
            "plan-yank",
            "--from-receipt",
            "latest",
            "--reason",
            "bad build",
            "--output",
            plan.to_str().unwrap(),
        ],
        &[],
    )
    .ok();
    let names = plan_names(&plan);
    assert_eq!(names.len(), 6);
    assert_eq!(names.last().unwrap(), "shipper-demo-core");

    // A dry run asks nothing and leaves nothing on disk.
    let dry = yank(
        &fx,
        &registry,
        &["--plan", plan.to_str().unwrap(), "--dry-run"],
    );
    assert!(dry.ok().is_empty());
    assert!(
        dry.stderr().contains("Would yank shipper-demo-app 0.1.0"),
        "{}",
        dry.stderr()
    );
    assert!(!fx.root().join(".shipper/yank").exists());
    assert_eq!(yanked(&registry, "shipper-demo-app", "0.1.0"), Some(false));

    let run = yank(
        &fx,
        &registry,
        &["--plan", plan.to_str().unwrap(), "--message-format", "json"],
    );
    let events: Vec<serde_json::Value> = run
        .ok()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The plan's registry is found by its cargo name: no cargo note about it.
    assert!(
        !run.stderr().contains("name of alternative registry"),
        "{}",
        run.stderr()
    );
    let confirmed: Vec<&str> = events
        .iter()
        .filter(|e| e["kind"] == "yank_confirmed")
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        confirmed, names,
        "yanked in the plan's order, each confirmed"
    );
    for name in DEMO_CRATES {
        assert_eq!(yanked(&registry, name, "0.1.0"), Some(true), "{name}");
    }
    assert!(
        !fx.root().join(".shipper/yank/current").exists(),
        "archived"
    );

    // A fresh consumer lockfile refuses the yanked versions.
    let consumer = Fixture::new();
    consumer
        .file(
            "Cargo.toml",
            "[package]\nname = \"consumer\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\nshipper-demo-core = \"0.1\"\n",
        )
        .file("src/lib.rs", "")
        .use_registry(&registry);
    let relock = consumer.cargo(&registry, &["generate-lockfile"]);
    assert_ne!(relock.code(), 0, "a yanked version must not be selected");
    assert!(
        relock.stderr().contains("shipper-demo-core"),
        "{}",
        relock.stderr()
    );

    // Again: everything is already yanked, nothing is asked.
    let again = yank(&fx, &registry, &["--plan", plan.to_str().unwrap()]);
    again.ok();
    assert_eq!(
        again.stderr().matches("already yanked").count(),
        6,
        "{}",
        again.stderr()
    );

    // Undo: unyanked in reverse order (dependencies first).
    let undo = yank(
        &fx,
        &registry,
        &[
            "--plan",
            plan.to_str().unwrap(),
            "--undo",
            "--message-format",
            "json",
        ],
    );
    let events: Vec<serde_json::Value> = undo
        .ok()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let order: Vec<&str> = events
        .iter()
        .filter(|e| e["kind"] == "yank_confirmed")
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    let mut reversed: Vec<&str> = names.iter().map(String::as_str).collect();
    reversed.reverse();
    assert_eq!(order, reversed);
    for name in DEMO_CRATES {
        assert_eq!(yanked(&registry, name, "0.1.0"), Some(false), "{name}");
    }
    consumer.cargo(&registry, &["generate-lockfile"]).ok();
}

#[test]
fn starting_crate_limits_the_plan_to_it_and_its_dependents() {
    let registry = TestRegistry::start();
    let (fx, receipt) = published_demo(&registry);
    let plan = fx.root().join("p.json");
    fx.shipper_env(
        &registry,
        &[
            "plan-yank",
            "--from-receipt",
            receipt.to_str().unwrap(),
            "--starting-crate",
            "shipper-demo-left",
            "--output",
            plan.to_str().unwrap(),
        ],
        &[],
    )
    .ok();
    // left, and what depends on it: app, and cli through app.
    assert_eq!(
        plan_names(&plan),
        ["shipper-demo-cli", "shipper-demo-app", "shipper-demo-left"]
    );
    yank(&fx, &registry, &["--plan", plan.to_str().unwrap()]).ok();
    assert_eq!(yanked(&registry, "shipper-demo-left", "0.1.0"), Some(true));
    assert_eq!(yanked(&registry, "shipper-demo-app", "0.1.0"), Some(true));
    assert_eq!(yanked(&registry, "shipper-demo-core", "0.1.0"), Some(false));
    assert_eq!(
        yanked(&registry, "shipper-demo-right", "0.1.0"),
        Some(false)
    );

    // cli only dev-depends on testkit: yanking testkit leaves cli alone
    // (its users never depend on testkit).
    let shown = fx.shipper_env(
        &registry,
        &[
            "plan-yank",
            "--from-receipt",
            receipt.to_str().unwrap(),
            "--starting-crate",
            "shipper-demo-testkit",
            "--message-format",
            "json",
        ],
        &[],
    );
    let names: Vec<String> = shown.json()["crates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["shipper-demo-testkit"]);

    let unknown = fx.shipper_env(
        &registry,
        &[
            "plan-yank",
            "--from-receipt",
            receipt.to_str().unwrap(),
            "--starting-crate",
            "nope",
        ],
        &[],
    );
    assert_eq!(unknown.code(), 1);
    assert!(
        unknown.stderr().contains("shipper-demo-core, "),
        "{}",
        unknown.stderr()
    );
}

/// The runbook's `--output yank-plan.json`: a bare file name in the
/// current directory is written, and the command succeeds; a directory
/// that does not exist is an error, not created.
#[test]
fn output_takes_a_bare_file_name_and_refuses_a_missing_directory() {
    let registry = TestRegistry::start();
    let (fx, _) = published_demo(&registry);
    let args = ["plan-yank", "--from-receipt", "latest", "--output"];
    let bare = fx.shipper_env(&registry, &[&args[..], &["yank-plan.json"]].concat(), &[]);
    bare.ok();
    assert_eq!(plan_names(&fx.root().join("yank-plan.json")).len(), 6);
    let missing = fx.shipper_env(
        &registry,
        &[&args[..], &["no-such-dir/yank-plan.json"]].concat(),
        &[],
    );
    assert_eq!(missing.code(), 1, "{}", missing.stderr());
    assert!(
        missing
            .stderr()
            .contains("`no-such-dir` is not a directory")
    );
    assert!(!fx.root().join("no-such-dir").exists());
}

#[test]
fn crates_the_release_found_already_present_are_not_yanked() {
    let registry = TestRegistry::start();
    let fx = demo_workspace();
    fx.use_registry(&registry);
    fx.publish(&registry, &["-p", "shipper-demo-core", "--no-verify"])
        .ok();
    fx.publish(&registry, &["--no-verify"]).ok();
    let shown = fx.shipper_env(&registry, &["plan-yank", "--from-receipt", "latest"], &[]);
    let table = shown.ok();
    assert!(!table.contains(" shipper-demo-core "), "{table}");
    assert!(
        table.contains("earlier release owns them): shipper-demo-core@0.1.0"),
        "{table}"
    );
    let plan = latest_plan(&fx, &registry);
    yank(&fx, &registry, &["--plan", plan.to_str().unwrap()]).ok();
    assert_eq!(yanked(&registry, "shipper-demo-core", "0.1.0"), Some(false));
    assert_eq!(yanked(&registry, "shipper-demo-app", "0.1.0"), Some(true));
}

#[test]
fn bad_receipts_and_plans_are_refused_with_exit_6_and_nothing_written() {
    let registry = TestRegistry::start();
    let (fx, receipt) = published_demo(&registry);
    let bytes = std::fs::read(&receipt).unwrap();
    let mut newer: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    newer["format"] = 99.into();
    let mut empty: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    empty["crates"] = serde_json::json!([]);
    let mut cycle: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    cycle["crates"][0]["depends_on"] = serde_json::json!(["shipper-demo-app"]);
    // Values cargo-shipper never writes: a hand-edited receipt.
    let edited = |field: &str, value: serde_json::Value| {
        let mut r: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        r["crates"][0][field] = value;
        r.to_string().into_bytes()
    };
    let cases: [(&str, Vec<u8>, &str); 9] = [
        (
            "version.json",
            edited("version", "not-a-version".into()),
            "invalid version `not-a-version`",
        ),
        (
            "sha.json",
            edited("sha256", "zz".into()),
            "is not 64 hexadecimal digits",
        ),
        (
            "name.json",
            edited("name", "../../x".into()),
            "is not a crate name",
        ),
        ("torn.json", bytes[..bytes.len() / 2].to_vec(), "not JSON"),
        (
            "foreign.json",
            b"{\"format\": 1, \"hello\": true}".to_vec(),
            "not a cargo-shipper receipt",
        ),
        (
            "newer.json",
            newer.to_string().into_bytes(),
            "newer cargo-shipper",
        ),
        (
            "empty.json",
            empty.to_string().into_bytes(),
            "lists no crates",
        ),
        ("cycle.json", cycle.to_string().into_bytes(), "cycle"),
        ("missing.json", Vec::new(), "could not read"),
    ];
    for (name, contents, says) in cases {
        let path = fx.root().join(name);
        if name != "missing.json" {
            std::fs::write(&path, &contents).unwrap();
        }
        let out = fx.root().join(format!("{name}.plan"));
        let run = fx.shipper_env(
            &registry,
            &[
                "plan-yank",
                "--from-receipt",
                path.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
            ],
            &[],
        );
        assert_eq!(run.code(), 6, "{name}: {}", run.stderr());
        assert!(run.stderr().contains(says), "{name}: {}", run.stderr());
        assert!(!out.exists(), "{name}: no plan written");
    }

    // A receipt given where a plan is expected, and a plan for another registry.
    let run = yank(&fx, &registry, &["--plan", receipt.to_str().unwrap()]);
    assert_eq!(run.code(), 6);
    assert!(
        run.stderr().contains("looks like a receipt"),
        "{}",
        run.stderr()
    );
    let plan = latest_plan(&fx, &registry);
    let run = yank(
        &fx,
        &registry,
        &["--plan", plan.to_str().unwrap(), "--registry", "crates-io"],
    );
    assert_eq!(run.code(), 1);
    assert!(
        run.stderr().contains("is for registry `sparse+http://"),
        "{}",
        run.stderr()
    );
    assert!(
        !fx.root().join(".shipper/yank").exists(),
        "refused before any state"
    );
    let run = fx.shipper_env(
        &registry,
        &[
            "plan-yank",
            "--from-receipt",
            "latest",
            "--index",
            "sparse+http://127.0.0.1:9/index/",
        ],
        &[],
    );
    assert_eq!(run.code(), 1);
    assert!(
        run.stderr().contains("the receipt is for registry"),
        "{}",
        run.stderr()
    );

    // `--output` never overwrites a file that is not a yank plan.
    let run = fx.shipper_env(
        &registry,
        &[
            "plan-yank",
            "--from-receipt",
            receipt.to_str().unwrap(),
            "-o",
            receipt.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code(), 1);
    assert_eq!(
        std::fs::read(&receipt).unwrap(),
        bytes,
        "the receipt survives"
    );
}

#[test]
fn a_crate_the_token_does_not_own_fails_permanently_by_name_and_the_rest_go_on() {
    let registry = TestRegistry::start();
    let (fx, _) = published_demo(&registry);
    // Hand `shipper-demo-right` to someone else.
    let api = registry.api();
    let owners = format!("{api}/api/v1/crates/shipper-demo-right/owners");
    let auth = format!("Authorization: {}", registry.registry.token());
    let change = |method: &str, body: &[u8]| {
        support::http(method, &owners, &[&auth], body)
            .unwrap()
            .status
    };
    assert_eq!(change("PUT", br#"{"users":["someone"]}"#), 200);
    assert_eq!(change("DELETE", br#"{"users":["shipper"]}"#), 200);

    let plan = latest_plan(&fx, &registry);
    let run = yank(&fx, &registry, &["--plan", plan.to_str().unwrap()]);
    assert_eq!(run.code(), 4, "{}", run.stderr());
    assert!(
        run.stderr().contains(
            "shipper-demo-right 0.1.0 failed (permanent): HTTP 403: must already be an owner"
        ),
        "{}",
        run.stderr()
    );
    assert_eq!(
        yanked(&registry, "shipper-demo-right", "0.1.0"),
        Some(false)
    );
    assert_eq!(yanked(&registry, "shipper-demo-app", "0.1.0"), Some(true));
    assert_eq!(yanked(&registry, "shipper-demo-core", "0.1.0"), Some(true));
    assert!(
        run.stderr().contains("run the same command again"),
        "{}",
        run.stderr()
    );
    // Only one request for the refused crate: a 403 is not retried.
    let requests = yank_events(&fx)
        .iter()
        .filter(|e| e["kind"] == "yank_requested" && e["name"] == "shipper-demo-right")
        .count();
    assert_eq!(requests, 1);

    // Undo while the yank is unfinished: refused, nothing changed.
    let plan_arg = plan.to_str().unwrap();
    let undo = yank(&fx, &registry, &["--plan", plan_arg, "--undo"]);
    assert_eq!(undo.code(), 1);
    assert!(
        undo.stderr().contains("--abandon-unfinished"),
        "{}",
        undo.stderr()
    );
    assert_eq!(yanked(&registry, "shipper-demo-app", "0.1.0"), Some(true));

    // Ownership given back: the same command finishes the run.
    assert_eq!(change("PUT", br#"{"users":["shipper"]}"#), 200);
    let again = yank(&fx, &registry, &["--plan", plan_arg]);
    again.ok();
    assert!(again.stderr().contains("Resuming"), "{}", again.stderr());
    assert!(
        again.stderr().contains("done earlier in this run"),
        "{}",
        again.stderr()
    );
    assert_eq!(yanked(&registry, "shipper-demo-right", "0.1.0"), Some(true));
    for name in DEMO_CRATES {
        assert_eq!(yank_actions(&registry, name), 1, "{name}");
    }
}

#[test]
fn configured_yank_limits_pace_the_run_and_the_eta_is_shown_first() {
    let registry = TestRegistry::start();
    let (fx, _) = published_demo(&registry);
    let manifest = fx.root().join("Cargo.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str(
        "\n[workspace.metadata.shipper.pacing]\nyanks = { burst = 4, per-seconds = 1 }\n",
    );
    std::fs::write(&manifest, text).unwrap();
    let plan = latest_plan(&fx, &registry);
    let dry = yank(
        &fx,
        &registry,
        &["--plan", plan.to_str().unwrap(), "--dry-run"],
    );
    assert!(
        dry.stderr()
            .contains("the registry's limit adds about 2.0s"),
        "{}",
        dry.stderr()
    );
    let started = std::time::Instant::now();
    let run = yank(
        &fx,
        &registry,
        &["--plan", plan.to_str().unwrap(), "--message-format", "json"],
    );
    let events: Vec<serde_json::Value> = run
        .ok()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(started.elapsed() >= std::time::Duration::from_millis(1900));
    assert_eq!(
        events[1]["kind"], "yank_pacing_planned",
        "before any request"
    );
    assert_eq!(events[1]["eta_ms"], 2000);
    let paced = events.iter().filter(|e| e["kind"] == "yank_paced").count();
    assert_eq!(paced, 2, "the 5th and 6th requests wait");
}

#[test]
fn a_yank_run_killed_at_every_step_resumes_and_requests_each_version_once() {
    for point in [
        "yank-before-outcome@1",
        "yank-before-outcome@4",
        "journal-mid-write@5",
        "journal-mid-write@12",
    ] {
        let registry = TestRegistry::start();
        let (fx, _) = published_demo(&registry);
        let plan = latest_plan(&fx, &registry);
        let killed = fx
            .yank_cmd(&registry)
            .no_fast()
            .args(["--plan", plan.to_str().unwrap()])
            .env("SHIPPER_FAILPOINT", point)
            .run();
        assert!(!killed.0.status.success(), "{point}: the failpoint aborts");
        let resumed = yank(&fx, &registry, &["--plan", plan.to_str().unwrap()]);
        resumed.ok();
        for name in DEMO_CRATES {
            assert_eq!(
                yanked(&registry, name, "0.1.0"),
                Some(true),
                "{point}: {name}"
            );
            let requests = yank_events(&fx)
                .iter()
                .filter(|e| e["kind"] == "yank_requested" && e["name"] == *name)
                .count();
            assert!(requests <= 1, "{point}: {name} requested {requests} times");
        }
    }
}

/// The registry's audit log: how many times `name@version` was yanked.
fn yank_actions(registry: &TestRegistry, name: &str) -> usize {
    std::fs::read_to_string(registry.root().join("actions.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|a| a["action"] == "yank" && a["crate"] == name)
        .count()
}

#[test]
fn sigkill_after_the_kth_event_then_resume_yanks_every_version_exactly_once() {
    use cargo_shipper::journal::{EventLog, Projection, YankEvent, YankState};
    let mut interrupted = 0;
    let points = [1, 2, 3, 5, 8, 11, 14, 17];
    for k in points {
        let registry = TestRegistry::start();
        let (fx, _) = published_demo(&registry);
        let plan = latest_plan(&fx, &registry);
        let mut child = fx
            .yank_cmd(&registry)
            .retry_delay_ms(None)
            .args(["--plan", plan.to_str().unwrap()])
            .command()
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let events = fx.root().join(".shipper/yank/current/events.jsonl");
        let started = std::time::Instant::now();
        loop {
            let lines =
                std::fs::read(&events).map_or(0, |b| b.iter().filter(|c| **c == b'\n').count());
            if lines >= k || child.try_wait().unwrap().is_some() || started.elapsed().as_secs() > 30
            {
                break;
            }
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        if fx.root().join(".shipper/yank/current").exists() {
            interrupted += 1;
            yank(&fx, &registry, &["--plan", plan.to_str().unwrap()]).ok();
        }
        let archive = fx.root().join(".shipper/yank/archive");
        let runs: Vec<PathBuf> = std::fs::read_dir(&archive)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert_eq!(runs.len(), 1, "k={k}");
        for name in DEMO_CRATES {
            assert_eq!(
                yanked(&registry, name, "0.1.0"),
                Some(true),
                "k={k}: {name}"
            );
            assert_eq!(
                yank_actions(&registry, name),
                1,
                "k={k}: {name} yanked exactly once"
            );
        }
        // The journal parses, and state.json is its projection.
        let (log, torn) = EventLog::<YankEvent>::open(&runs[0].join("events.jsonl")).unwrap();
        assert!(torn.is_none(), "k={k}");
        let projected = log
            .records()
            .iter()
            .fold(None, |s, r| Some(YankState::apply(s, r)))
            .unwrap();
        let on_disk: YankState =
            serde_json::from_slice(&std::fs::read(runs[0].join("state.json")).unwrap()).unwrap();
        assert_eq!(on_disk, projected, "k={k}");
    }
    assert!(
        interrupted >= points.len() / 2,
        "only {interrupted} runs were killed mid-way"
    );
}

/// SIGINT while a yank run waits for its rate limit: it stops at once
/// (exit 130, outcome `interrupted`), nothing more is requested; the same
/// command again finishes, keeping the pace from the journal.
#[test]
fn sigint_stops_a_yank_run_between_requests_and_the_same_command_finishes() {
    // A bound on a duration: no other test shares the cores.
    crate::support::lanes::alone();
    use std::time::{Duration, Instant};

    let registry = TestRegistry::start();
    let (fx, _receipt) = published_demo(&registry);
    let plan = latest_plan(&fx, &registry);
    // One yank per second once the first is out.
    let manifest = fx.root().join("Cargo.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str(
        "\n[workspace.metadata.shipper.pacing]\nyanks = { burst = 1, per-seconds = 60 }\ntime-scale = 60\n",
    );
    std::fs::write(&manifest, text).unwrap();

    let mut cmd = fx
        .yank_cmd(&registry)
        .args(["--plan", plan.to_str().unwrap()])
        .command();
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = support::child::sigint_default(&mut cmd).spawn().unwrap();
    let events = fx.root().join(".shipper/yank/current/events.jsonl");
    let started = Instant::now();
    while !std::fs::read_to_string(&events).is_ok_and(|t| t.contains("\"yank_paced\"")) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the yank run ended first"
        );
        assert!(started.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(5));
    }
    // SAFETY: kill(2) of our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let sent = Instant::now();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(
        sent.elapsed() < Duration::from_millis(900),
        "{:?}",
        sent.elapsed()
    );
    let recorded = support::events_in(&fx.root().join(".shipper/yank/current"));
    assert_eq!(recorded.last().unwrap()["outcome"], "interrupted");
    assert_eq!(
        recorded
            .iter()
            .filter(|e| e["kind"] == "yank_requested")
            .count(),
        1,
        "nothing requested after the signal"
    );
    // `status` shows the unfinished yank run and how to finish it.
    let shown = fx.shipper_env(&registry, &["status", "--offline"], &[]);
    let text = shown.ok();
    assert!(
        text.contains("Yank run: yank plan ")
            && text.contains("stopped by a signal; 1 of 6 version(s) done"),
        "{text}"
    );
    assert!(text.contains("shipper-demo-cli"), "{text}");
    let plan_path = std::fs::canonicalize(&plan).unwrap();
    assert!(
        text.contains(&format!(
            "Next for it: `cargo shipper yank --plan {}` finishes it",
            plan_path.display()
        )),
        "{text}"
    );
    let json = fx
        .shipper_env(
            &registry,
            &["status", "--offline", "--message-format", "json"],
            &[],
        )
        .json();
    assert_eq!(json["yank"]["done"], 1, "{json}");
    assert_eq!(json["yank"]["outcome"], "interrupted", "{json}");
    assert_eq!(json["yank"]["versions"].as_array().unwrap().len(), 6);
    assert_eq!(json["yank"]["versions"][0]["status"], "done", "{json}");

    yank(&fx, &registry, &["--plan", plan.to_str().unwrap()]).ok();
    // The resumed run paced only what was left.
    let planned: Vec<u64> = yank_events(&fx)
        .iter()
        .filter(|e| e["kind"] == "yank_pacing_planned")
        .map(|e| e["count"].as_u64().unwrap())
        .collect();
    assert_eq!(planned, [6, 5]);
    for name in DEMO_CRATES {
        assert_eq!(yanked(&registry, name, "0.1.0"), Some(true), "{name}");
    }
    // Finished and archived: `status` no longer shows it.
    let json = fx
        .shipper_env(
            &registry,
            &["status", "--offline", "--message-format", "json"],
            &[],
        )
        .json();
    assert!(json.get("yank").is_none(), "{json}");
}

/// SIGINT while a yank run waits out an index outage (every crate read
/// answers 503, the retry delay is long): the wait ends at once, exit 130,
/// nothing requested; the same command finishes once the index is back.
#[test]
fn sigint_during_an_index_outage_stops_a_yank_run_within_a_second() {
    // A bound on a duration: no other test shares the cores.
    crate::support::lanes::alone();
    use std::time::{Duration, Instant};

    let registry = TestRegistry::start();
    let (fx, _receipt) = published_demo(&registry);
    let plan = latest_plan(&fx, &registry);
    let registry = registry.restart(|c| c.knobs.fail_reads_after_uploads = Some(0));

    let mut cmd = fx
        .yank_cmd(&registry)
        .retry_delay_ms(20_000)
        .args(["--plan", plan.to_str().unwrap()])
        .command();
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = support::child::sigint_default(&mut cmd).spawn().unwrap();
    let events = fx.root().join(".shipper/yank/current/events.jsonl");
    support::child::wait_for_event(&events, &mut child, "yank_run_started", 1);
    // Into the first backoff (20 s) after the first failed read.
    std::thread::sleep(Duration::from_millis(500));
    support::child::signal(&child, libc::SIGINT);
    let sent = Instant::now();
    let status = child.wait().unwrap();
    assert!(
        sent.elapsed() < Duration::from_secs(1),
        "{:?}",
        sent.elapsed()
    );
    assert_eq!(status.code(), Some(130));
    let recorded = support::events_in(&fx.root().join(".shipper/yank/current"));
    assert_eq!(recorded.last().unwrap()["outcome"], "interrupted");
    assert!(!recorded.iter().any(|e| e["kind"] == "yank_requested"));

    let registry = registry.restart(|_| {});
    for name in DEMO_CRATES {
        assert_eq!(yanked(&registry, name, "0.1.0"), Some(false), "{name}");
    }
    yank(&fx, &registry, &["--plan", plan.to_str().unwrap()]).ok();
    for name in DEMO_CRATES {
        assert_eq!(yanked(&registry, name, "0.1.0"), Some(true), "{name}");
    }
}
