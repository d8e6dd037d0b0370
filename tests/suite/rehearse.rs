//! `cargo shipper rehearse` end to end: the embedded registry started
//! in-process stands in for the live target; the gate binds `publish` to
//! what was rehearsed.

use crate::support;

use std::path::Path;

use crate::support::{DEMO_CRATES, Fixture, OFFLINE, Run, TestRegistry, chain, demo_workspace};

fn rehearse(fx: &Fixture, extra: &[&str]) -> Run {
    fx.rehearse(extra)
}

/// The embedded registry's generated token (`shipper_` and 64 hex digits)
/// appears in no output and no file under `.shipper/`.
fn assert_no_generated_token(fx: &Fixture, run: &Run) {
    let looks_like_token = |hay: &[u8]| {
        hay.windows(8 + 64)
            .any(|w| w.starts_with(b"shipper_") && w[8..].iter().all(|b| b.is_ascii_hexdigit()))
    };
    assert!(!looks_like_token(&run.0.stdout), "a token on stdout");
    assert!(!looks_like_token(&run.0.stderr), "a token on stderr");
    assert!(
        !looks_like_token(&fx.state_bytes()),
        "a token under .shipper/"
    );
}

fn record(fx: &Fixture) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(fx.root().join(".shipper/rehearsal.json")).unwrap())
        .unwrap()
}

fn crate_entry<'a>(record: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    record["crates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {record}"))
}

/// The live target is `local` (cargo's `registry.default`), which also
/// stands for crates.io, as in the other tests.
fn live_registry(fx: &Fixture, registry: &TestRegistry) {
    fx.use_registry(registry)
        .cargo_config("[registry]\ndefault = \"local\"\n");
}

fn files_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push((
                    path.strip_prefix(dir).unwrap().display().to_string(),
                    std::fs::read(&path).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn the_demo_rehearses_green_offline_with_no_registry_configured() {
    let fx = demo_workspace();
    let run = rehearse(&fx, &[]);
    run.ok();
    assert_no_generated_token(&fx, &run);
    let err = run.stderr();
    assert!(passed_then_next(&err), "{err}");
    assert!(err.contains("could not ask `crates-io`"), "{err}");
    let record = record(&fx);
    assert_eq!(record["format"], 1);
    assert_eq!(record["verdict"], "passed");
    assert_eq!(record["live_target"], "crates-io");
    assert_eq!(record["registry"]["kind"], "embedded");
    assert_eq!(record["live_check"]["status"], "unreachable");
    // Bound to the plan id `plan` gives for the live target.
    let plan = fx
        .shipper(&["plan", "--offline", "--message-format", "json"])
        .json();
    assert_eq!(record["plan_id"], plan["plan_id"]);
    for name in DEMO_CRATES {
        let c = crate_entry(&record, name);
        assert_eq!(c["outcome"], "uploaded", "{name}");
        assert_eq!(c["sha256"].as_str().unwrap().len(), 64, "{name}");
    }
    // Its journal is its own; the live state directory holds no run.
    let shipper = fx.root().join(".shipper");
    assert!(!shipper.join("current").exists());
    assert!(!shipper.join("archive").exists());
    let archived: Vec<_> = std::fs::read_dir(shipper.join("rehearsal/archive"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(archived.len(), 1, "{archived:?}");
    assert!(archived[0].ends_with("-rehearsed"), "{archived:?}");
    // Nothing was written to the user's cargo configuration; of cargo's
    // caches for the rehearsal registry, only the downloads and sources of
    // the port the next rehearsal listens on again stay, never piling up
    // (what `cargo package` keeps for its own overlay registry stays, as it
    // would after `cargo package`).
    assert!(!fx.cargo_home().join("config.toml").exists());
    let left = |dir: &str| -> Vec<String> {
        std::fs::read_dir(fx.cargo_home().join("registry").join(dir))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("127.0.0.1-"))
            .collect()
    };
    assert_eq!(left("index"), Vec::<String>::new());
    let kept = left("src");
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(left("cache"), kept);
    let first_port = consumer_port(&fx);
    rehearse(&fx, &[]).ok();
    assert_eq!(consumer_port(&fx), first_port);
    assert_eq!((left("index"), left("src")), (Vec::new(), kept));
}

/// The port the consumer build's home remembers for the rehearsal registry.
fn consumer_port(fx: &Fixture) -> u64 {
    let last = std::fs::read(fx.root().join("target/shipper/consumer/last.json")).unwrap();
    let last: serde_json::Value = serde_json::from_slice(&last).unwrap();
    last["port"].as_u64().unwrap()
}

#[test]
fn json_lines_end_with_the_verdict() {
    let fx = chain(&["rja", "rjb"]);
    let run = rehearse(&fx, &["--no-verify", "--message-format", "json"]);
    let out = run.ok();
    assert_no_generated_token(&fx, &run);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON lines"))
        .collect();
    assert_eq!(lines[0]["kind"], "live_checked");
    assert!(
        lines
            .iter()
            .any(|l| l["kind"] == "visible" && l["name"] == "rjb")
    );
    let last = lines.last().unwrap();
    assert_eq!(last["kind"], "rehearsal_finished");
    assert_eq!(last["verdict"], "passed");
    assert_eq!(last["record"]["crates"][1]["outcome"], "uploaded");
}

#[test]
fn versions_the_live_target_has_would_be_skipped() {
    let live = TestRegistry::start();
    let fx = chain(&["rla", "rlb"]);
    live_registry(&fx, &live);
    fx.publish(&live, &["-p", "rla", "--no-verify"]).ok();
    let run = rehearse(&fx, &[]);
    run.ok();
    let err = run.stderr();
    assert!(
        err.contains("Would skip rla 0.1.0, already on local"),
        "{err}"
    );
    let record = record(&fx);
    assert_eq!(record["live_check"]["status"], "checked");
    let rla = crate_entry(&record, "rla");
    assert_eq!(rla["outcome"], "on_live_target");
    let live_sum = live.index_entry("rla").text();
    assert!(
        live_sum.contains(rla["sha256"].as_str().unwrap()),
        "{live_sum}"
    );
    assert_eq!(crate_entry(&record, "rlb")["outcome"], "uploaded");
    // The live registry was only read.
    assert_eq!(live.version_count("rlb"), 0);
}

#[test]
fn a_crate_that_does_not_build_fails_the_rehearsal() {
    let fx = chain(&["rfa", "rfb"]);
    fx.file("rfb/src/lib.rs", "pub fn broken() -> u32 { \"no\" }\n");
    let run = rehearse(&fx, &[]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let err = run.stderr();
    assert!(
        err.lines()
            .last()
            .unwrap()
            .starts_with("error: the rehearsal failed: plan "),
        "{err}"
    );
    let record = record(&fx);
    assert_eq!(record["verdict"], "failed");
    assert!(
        record["failures"][0]
            .as_str()
            .unwrap()
            .contains("packaging failed"),
        "{record}"
    );
}

#[test]
fn rehearsing_leaves_an_unfinished_live_run_byte_for_byte_unchanged() {
    let live = TestRegistry::start_knobs(|k| {
        k.upload_faults = vec![(2, cargo_shipper::local_registry::UploadFault::Status(503))]
    });
    let fx = chain(&["rua", "rub"]);
    live_registry(&fx, &live);
    let first = fx.publish(&live, &["--no-verify", "--max-attempts", "1"]);
    assert_eq!(first.code(), 4, "{}", first.stderr());
    let before = files_under(&fx.root().join(".shipper"));
    rehearse(&fx, &["--no-verify"]).ok();
    let after: Vec<_> = files_under(&fx.root().join(".shipper"))
        .into_iter()
        .filter(|(p, _)| !p.starts_with("rehearsal"))
        .collect();
    assert_eq!(before, after);
}

#[test]
fn rehearsing_twice_against_a_kept_registry_skips_what_is_there() {
    let fx = chain(&["rka", "rkb"]);
    let keep = fx.root().join("kept-registry");
    let keep_arg = keep.to_str().unwrap();
    let first = rehearse(&fx, &["--no-verify", "--keep", keep_arg]);
    first.ok();
    assert!(
        first
            .stderr()
            .contains("cargo shipper registry serve --root"),
        "{}",
        first.stderr()
    );
    let second = rehearse(&fx, &["--no-verify", "--keep", keep_arg]);
    second.ok();
    let record = record(&fx);
    assert_eq!(record["verdict"], "passed");
    for name in ["rka", "rkb"] {
        assert_eq!(
            crate_entry(&record, name)["outcome"],
            "in_rehearsal_registry"
        );
    }
}

// The gate.

fn gated(fx: &Fixture, live: &TestRegistry, extra: &[&str]) -> Run {
    fx.cmd(["publish", "--allow-dirty"])
        .token(live)
        .arg("--require-rehearsal")
        .args(extra)
        .envs(OFFLINE)
        .run()
}

#[test]
fn the_demo_ships_the_bytes_it_rehearsed() {
    let live = TestRegistry::start();
    let fx = demo_workspace();
    live_registry(&fx, &live);
    rehearse(&fx, &[]).ok();
    let rehearsed = record(&fx);
    gated(&fx, &live, &[]).ok();
    for name in DEMO_CRATES {
        let sha = crate_entry(&rehearsed, name)["sha256"]
            .as_str()
            .unwrap()
            .to_owned();
        let entry = live.index_entry(name).text();
        let line: serde_json::Value = serde_json::from_str(entry.lines().next().unwrap()).unwrap();
        assert_eq!(
            line["cksum"], sha,
            "{name}: the live bytes are the rehearsed bytes"
        );
    }
}

#[test]
fn the_gate_refuses_what_was_not_rehearsed() {
    let live = TestRegistry::start();
    let fx = chain(&["rga", "rgb"]);
    live_registry(&fx, &live);

    // No rehearsal at all.
    let missing = gated(&fx, &live, &["--no-verify"]);
    assert_eq!(missing.code(), 1);
    assert!(
        missing.stderr().contains("no rehearsal found"),
        "{}",
        missing.stderr()
    );

    // A passing rehearsal, then a source edit.
    rehearse(&fx, &["--no-verify"]).ok();
    fx.file("rgb/src/lib.rs", "pub fn edited() {}\n");
    let edited = gated(&fx, &live, &["--no-verify"]);
    assert_eq!(edited.code(), 1, "{}", edited.stderr());
    let err = edited.stderr();
    assert!(err.contains("rgb 0.1.0 (source edited"), "{err}");
    assert!(
        !err.contains("rga 0.1.0 ("),
        "only the edited crate is named: {err}"
    );
    assert_eq!(live.version_count("rga"), 0);
    assert_eq!(live.version_count("rgb"), 0);

    // A rehearsal of another plan.
    fx.package(
        "rgb",
        "rgb",
        "0.2.0",
        "[dependencies]\nrga = { path = \"../rga\", version = \"0.1.0\" }",
    );
    let other = gated(&fx, &live, &["--no-verify"]);
    assert_eq!(other.code(), 1);
    assert!(
        other
            .stderr()
            .contains("the plan changed since the rehearsal")
            && other.stderr().contains("rgb 0.1.0 -> 0.2.0"),
        "{}",
        other.stderr()
    );

    // A failed rehearsal of this plan.
    fx.file("rgb/src/lib.rs", "pub fn broken() -> u32 { \"no\" }\n");
    assert_eq!(rehearse(&fx, &[]).code(), 1);
    fx.file("rgb/src/lib.rs", "pub fn fixed() {}\n");
    let failed = gated(&fx, &live, &["--no-verify"]);
    assert_eq!(failed.code(), 1);
    assert!(failed.stderr().contains("failed"), "{}", failed.stderr());
    assert!(
        failed
            .stderr()
            .contains("run `cargo shipper rehearse --allow-dirty` again"),
        "{}",
        failed.stderr()
    );

    // Rehearsed again: it goes out, and so does the metadata switch.
    rehearse(&fx, &["--no-verify"]).ok();
    let root = std::fs::read_to_string(fx.root().join("Cargo.toml")).unwrap();
    fx.file(
        "Cargo.toml",
        &format!("{root}\n[workspace.metadata.shipper]\nrequire-rehearsal = true\n"),
    );
    // (The refused 0.1.0 run stays in the live journal, nothing uploaded.)
    fx.publish(&live, &["--no-verify", "--abandon-unfinished"])
        .ok();
    assert_eq!(live.version_count("rgb"), 1);
}

#[test]
fn the_workspace_metadata_switches_the_gate_on() {
    let live = TestRegistry::start();
    let fx = chain(&["rma", "rmb"]);
    live_registry(&fx, &live);
    let root = std::fs::read_to_string(fx.root().join("Cargo.toml")).unwrap();
    fx.file(
        "Cargo.toml",
        &format!("{root}\n[workspace.metadata.shipper]\nrequire-rehearsal = true\n"),
    );
    let refused = fx.publish(&live, &["--no-verify"]);
    assert_eq!(refused.code(), 1);
    assert!(
        refused.stderr().contains("no rehearsal found"),
        "{}",
        refused.stderr()
    );
    assert_eq!(live.version_count("rma"), 0);
}

// The consumer build.

#[test]
fn the_demo_consumer_build_passes() {
    let fx = demo_workspace();
    let run = rehearse(&fx, &["--no-verify"]);
    run.ok();
    let record = record(&fx);
    assert_eq!(record["consumer_build"]["passed"], true, "{record}");
    assert!(
        run.stderr().contains("consumer build passed"),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_links_clash_fails_only_at_the_consumer_build() {
    let fx = Fixture::new();
    fx.file("Cargo.toml", "[workspace]\nmembers = [\"la\", \"lb\"]\n");
    for name in ["rcla", "rclb"] {
        let dir = if name == "rcla" { "la" } else { "lb" };
        fx.package(
            dir,
            name,
            "0.1.0",
            "links = \"rclash\"\nbuild = \"build.rs\"",
        )
        .file(&format!("{dir}/build.rs"), "fn main() {}\n");
    }
    let run = rehearse(&fx, &[]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let record = record(&fx);
    // Each crate packaged, verified and uploaded on its own...
    for name in ["rcla", "rclb"] {
        assert_eq!(
            crate_entry(&record, name)["outcome"],
            "uploaded",
            "{record}"
        );
    }
    // ...and only the consumer build sees the clash, and names both.
    assert_eq!(record["consumer_build"]["passed"], false, "{record}");
    let message = record["consumer_build"]["message"].as_str().unwrap();
    assert!(
        message.contains("rcla") && message.contains("rclb") && message.contains("rclash"),
        "{message}"
    );
    let last = run.stderr().lines().last().unwrap().to_owned();
    assert!(last.starts_with("error: the rehearsal failed:"), "{last}");
    assert!(last.contains("consumer build"), "{last}");
}

#[test]
fn a_feature_clash_fails_only_at_the_consumer_build() {
    let fx = Fixture::new();
    fx.file(
        "Cargo.toml",
        "[workspace]\nmembers = [\"fa\", \"fb\", \"fc\"]\n",
    )
    .package("fa", "rcfa", "0.1.0", "[features]\nx = []\ny = []")
    .file(
        "fa/src/lib.rs",
        "#[cfg(all(feature = \"x\", feature = \"y\"))]\ncompile_error!(\"x and y cannot meet\");\n",
    );
    for (dir, name, feature) in [("fb", "rcfb", "x"), ("fc", "rcfc", "y")] {
        fx.package(
            dir,
            name,
            "0.1.0",
            &format!(
                "[dependencies]\nrcfa = {{ path = \"../fa\", version = \"0.1.0\", features = [\"{feature}\"] }}"
            ),
        );
    }
    let run = rehearse(&fx, &[]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let record = record(&fx);
    for name in ["rcfa", "rcfb", "rcfc"] {
        assert_eq!(
            crate_entry(&record, name)["outcome"],
            "uploaded",
            "{record}"
        );
    }
    assert_eq!(record["consumer_build"]["passed"], false, "{record}");
    let message = record["consumer_build"]["message"].as_str().unwrap();
    assert!(message.contains("rcfa"), "{message}");
    assert!(
        run.stderr().contains("x and y cannot meet"),
        "{}",
        run.stderr()
    );
}

// The interruption drill.

#[test]
fn the_interruption_drill_passes_for_every_n() {
    let fx = demo_workspace();
    for n in 1..=DEMO_CRATES.len() {
        let n = n.to_string();
        let run = rehearse(&fx, &["--no-verify", "--interrupt-after", &n]);
        run.ok();
        assert_no_generated_token(&fx, &run);
        let err = run.stderr();
        assert!(err.contains(&format!("aborted after upload {n}")), "{err}");
        assert!(err.contains("interrupted; resuming"), "{err}");
        // The registry answered everything the killed child sent: the
        // resumed run settles its uploads at once, without waiting out the
        // upload timeout (two minutes) for one that cannot land any more.
        assert!(!err.contains("asking again for up to"), "{err}");
        assert!(passed_then_next(&err), "{err}");
        assert!(
            err.contains(&format!("interruption drill after {n} upload")),
            "{err}"
        );
        let record = record(&fx);
        assert_eq!(record["drill"]["interrupt_after"].to_string(), n);
        assert_eq!(record["drill"]["passed"], true, "{record}");
        assert_eq!(record["verdict"], "passed", "{record}");
        // The resumed run is the second run of the aborted journal.
        let archive = fx.root().join(".shipper/rehearsal/archive");
        let last = std::fs::read_dir(&archive)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .max()
            .unwrap();
        let events = support::events_in(&last);
        assert_eq!(
            events.iter().filter(|e| e["kind"] == "run_started").count(),
            2,
            "{last:?}"
        );
        // The upload whose outcome the crash cut off was settled by asking
        // the registry, not uploaded again.
        assert!(
            events
                .iter()
                .any(|e| e["kind"] == "reconciled" && e["found_sha256"].is_string()),
            "{events:?}"
        );
        for name in DEMO_CRATES {
            assert_eq!(
                support::count(&events, "upload_succeeded", name)
                    + events
                        .iter()
                        .filter(|e| e["kind"] == "reconciled"
                            && e["name"] == name
                            && e["found_sha256"].is_string())
                        .count(),
                1,
                "{name} uploaded once: {events:?}"
            );
        }
    }
}

#[test]
fn the_drill_draws_n_from_a_seed_it_prints_and_refuses_impossible_n() {
    let fx = chain(&["rda", "rdb"]);
    let run = rehearse(&fx, &["--no-verify", "--interrupt-after", "random"]);
    run.ok();
    assert!(run.stderr().contains("drawn from seed"), "{}", run.stderr());
    let record = record(&fx);
    assert!(record["drill"]["seed"].is_u64(), "{record}");
    let n = record["drill"]["interrupt_after"].as_u64().unwrap();
    assert!((1..=2).contains(&n), "{record}");

    let too_many = rehearse(&fx, &["--no-verify", "--interrupt-after", "3"]);
    assert_eq!(too_many.code(), 1);
    assert!(
        too_many.stderr().contains("give 1 to 2"),
        "{}",
        too_many.stderr()
    );
    let zero = rehearse(&fx, &["--interrupt-after", "0"]);
    assert_eq!(zero.code(), 2, "{}", zero.stderr());
}

// A workspace with a crates.io dependency.

#[test]
fn a_crates_io_dependency_passes_through_and_the_bytes_are_those_for_crates_io() {
    // A second embedded registry plays crates.io (the user's own source
    // replacement points there), so no network is needed.
    let cratesio = TestRegistry::start();
    let upstream = chain(&["rxdep"]);
    upstream.use_registry(&cratesio);
    upstream.publish(&cratesio, &["--no-verify"]).ok();

    let fx = Fixture::new();
    fx.file("Cargo.toml", "[workspace]\nmembers = [\"app\"]\n")
        .package("app", "rxapp", "0.1.0", "[dependencies]\nrxdep = \"0.1\"")
        .file("app/src/lib.rs", "pub use rxdep as dep;\n");
    fx.use_registry(&cratesio);
    let run = rehearse(&fx, &[]);
    run.ok();
    let record = record(&fx);
    assert_eq!(record["live_check"]["status"], "checked", "{record}");
    assert_eq!(record["consumer_build"]["passed"], true, "{record}");
    let rehearsed = crate_entry(&record, "rxapp")["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    // crates.io's copy was only read.
    assert_eq!(cratesio.version_count("rxapp"), 0);

    // Real `cargo package` for crates.io, in a target dir of its own.
    let packaged = fx.cargo(
        &cratesio,
        &[
            "package",
            "--no-verify",
            "--allow-dirty",
            "--registry",
            "crates-io",
            "--target-dir",
            "cargo-target",
        ],
    );
    packaged.ok();
    let bytes = std::fs::read(fx.root().join("cargo-target/package/rxapp-0.1.0.crate")).unwrap();
    use sha2::Digest as _;
    assert_eq!(hex::encode(sha2::Sha256::digest(&bytes)), rehearsed);
}

#[test]
fn rehearses_into_a_configured_registry_and_again_skips_what_it_holds() {
    let other = TestRegistry::start();
    let fx = chain(&["rna", "rnb"]);
    fx.cargo_config(&other.registry.cargo_config("other"));
    let rehearse = || {
        fx.cmd([
            "rehearse",
            "--registry",
            "other",
            "--allow-dirty",
            "--no-verify",
        ])
        .token(&other)
        .env("CARGO_REGISTRIES_OTHER_TOKEN", other.registry.token())
        .envs(OFFLINE)
        .run()
    };
    let first = rehearse();
    first.ok();
    assert_eq!(other.version_count("rna"), 1);
    assert_eq!(other.version_count("rnb"), 1);
    let first_record = record(&fx);
    assert_eq!(first_record["registry"]["kind"], "named");
    assert_eq!(first_record["registry"]["name"], "other");
    let second = rehearse();
    second.ok();
    let record = record(&fx);
    assert_eq!(record["verdict"], "passed", "{record}");
    for name in ["rna", "rnb"] {
        assert_eq!(
            crate_entry(&record, name)["outcome"],
            "in_rehearsal_registry"
        );
        assert_eq!(
            crate_entry(&record, name)["sha256"],
            crate_entry(&first_record, name)["sha256"]
        );
    }
    assert_eq!(other.version_count("rnb"), 1, "nothing uploaded twice");
}

#[test]
fn smoke_install_installs_the_binary_crates_from_the_rehearsal_registry() {
    let fx = chain(&["rsa", "rsb"]);
    fx.file(
        "rsa/src/lib.rs",
        "pub fn hello() -> &'static str { \"hi\" }\n",
    )
    .file(
        "rsb/src/main.rs",
        "fn main() { println!(\"{}\", rsa::hello()); }\n",
    );
    let run = rehearse(&fx, &["--no-verify", "--smoke-install"]);
    run.ok();
    let first = record(&fx);
    assert_eq!(first["smoke_install"]["passed"], true, "{first}");
    assert_eq!(
        first["smoke_install"]["crates"],
        serde_json::json!([{ "name": "rsb", "req": "=0.1.0" }]),
        "{first}"
    );
    let err = run.stderr();
    assert!(err.contains("Installing the 1 binary crate"), "{err}");
    assert!(passed_then_next(&err), "{err}");
    assert!(
        err.lines()
            .any(|l| l.starts_with("Rehearsal passed") && l.contains("smoke install passed")),
        "{err}"
    );
    // Without the flag, nothing is installed.
    rehearse(&fx, &["--no-verify"]).ok();
    assert!(record(&fx)["smoke_install"].is_null());
}

#[test]
fn dependencies_cargo_already_downloaded_are_not_downloaded_again() {
    let cratesio = TestRegistry::start();
    let upstream = chain(&["rcdep"]);
    upstream.use_registry(&cratesio);
    upstream.publish(&cratesio, &["--no-verify"]).ok();

    let fx = Fixture::new();
    fx.file("Cargo.toml", "[workspace]\nmembers = [\"app\"]\n")
        .package("app", "rcapp", "0.1.0", "[dependencies]\nrcdep = \"0.1\"")
        .file("app/src/lib.rs", "pub use rcdep as dep;\n");
    fx.use_registry(&cratesio);
    // cargo downloads the dependency once, as any build would…
    fx.cargo(&cratesio, &["fetch"]).ok();
    // …then "crates.io" loses the file: only cargo's cache can serve it.
    std::fs::remove_file(cratesio.root().join("crates/rcdep/rcdep-0.1.0.crate")).unwrap();
    let run = rehearse(&fx, &[]);
    run.ok();
    assert_eq!(record(&fx)["consumer_build"]["passed"], true);
}

#[test]
fn the_live_target_can_be_named_as_publish_names_it() {
    let live = TestRegistry::start();
    let fx = chain(&["rfra", "rfrb"]);
    fx.use_registry(&live); // `local`, but not cargo's default registry
    // With the drill too: the interrupted child plans for the same target.
    rehearse(
        &fx,
        &[
            "--no-verify",
            "--for-registry",
            "local",
            "--interrupt-after",
            "1",
        ],
    )
    .ok();
    assert_eq!(record(&fx)["live_target"], live.index_url());
    assert_eq!(record(&fx)["drill"]["passed"], true);
    let run = fx
        .publish_cmd(&live)
        .args(["--no-verify", "--require-rehearsal"])
        .envs(OFFLINE)
        .run();
    run.ok();
    assert_eq!(live.version_count("rfrb"), 1);
}

#[test]
fn the_consumer_build_never_reuses_output_of_other_bytes() {
    // Same versions, edited source: nothing of the first rehearsal's
    // consumer build may stand in for the second (cargo takes a registry
    // crate's name and version for its content).
    let fx = Fixture::new();
    fx.file(
        "Cargo.toml",
        "[workspace]\nmembers = [\"fa\", \"fb\", \"fc\"]\n",
    )
    .package("fa", "rkfa", "0.1.0", "[features]\nx = []\ny = []");
    for (dir, name, feature) in [("fb", "rkfb", "x"), ("fc", "rkfc", "y")] {
        fx.package(
            dir,
            name,
            "0.1.0",
            &format!(
                "[dependencies]\nrkfa = {{ path = \"../fa\", version = \"0.1.0\", features = [\"{feature}\"] }}"
            ),
        );
    }
    rehearse(&fx, &["--no-verify"]).ok();
    assert_eq!(record(&fx)["consumer_build"]["passed"], true);
    fx.file(
        "fa/src/lib.rs",
        "#[cfg(all(feature = \"x\", feature = \"y\"))]\ncompile_error!(\"x and y cannot meet\");\n",
    );
    let again = rehearse(&fx, &["--no-verify"]);
    assert_eq!(again.code(), 1, "{}", again.stderr());
    assert_eq!(record(&fx)["consumer_build"]["passed"], false);
}

#[test]
fn a_rehearsal_journal_is_never_continued_against_the_live_target() {
    let live = TestRegistry::start();
    let fx = chain(&["roa", "rob"]);
    live_registry(&fx, &live);
    fx.file("rob/src/lib.rs", "pub fn broken() -> u32 { \"no\" }\n");
    assert_eq!(rehearse(&fx, &[]).code(), 1);
    fx.file("rob/src/lib.rs", "pub fn fixed() {}\n");
    // Pointing publish at the rehearsal's state directory is refused.
    let state_dir = fx.root().join(".shipper/rehearsal");
    let run = fx.shipper_env(
        &live,
        &[
            "publish",
            "--allow-dirty",
            "--no-verify",
            "--state-dir",
            state_dir.to_str().unwrap(),
        ],
        &OFFLINE,
    );
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(run.stderr().contains("a rehearsal's"), "{}", run.stderr());
    assert_eq!(live.version_count("roa"), 0);
}

/// A rehearsal never publishes for real: the live target, or crates.io,
/// named as the rehearsal registry is refused before anything is asked.
#[test]
fn the_live_target_or_crates_io_is_refused_as_the_rehearsal_registry() {
    let live = TestRegistry::start();
    let fx = chain(&["rla", "rlb"]);
    fx.use_registry(&live); // `local`, standing in for crates.io too
    let token = live.registry.token().to_owned();
    let mut env = vec![("CARGO_REGISTRIES_LOCAL_TOKEN", token.as_str())];
    env.extend(OFFLINE);
    for args in [
        &["rehearse", "--registry", "local", "--for-registry", "local"][..],
        &["rehearse", "--registry", "local"][..],
        &[
            "rehearse",
            "--index",
            &live.index_url(),
            "--for-registry",
            "local",
        ][..],
        &[
            "rehearse",
            "--registry",
            "crates-io",
            "--for-registry",
            "local",
        ][..],
    ] {
        let mut args = args.to_vec();
        args.extend(["--allow-dirty", "--no-verify"]);
        let run = fx.shipper_env(&live, &args, &env);
        assert_eq!(run.code(), 2, "{args:?}: {}", run.stderr());
        assert!(
            run.stderr()
                .contains("a rehearsal there would publish for real"),
            "{args:?}: {}",
            run.stderr()
        );
    }
    assert_eq!(live.version_count("rla"), 0);
    assert_eq!(live.version_count("rlb"), 0);
}

/// A released member `rbfoo`, and a `publish = false` member that depends
/// on `rbharness` from the registry, which depends back on `rbfoo ^1` (a
/// benchmark or test harness published apart). The live registry holds
/// `rbfoo 1.0.0` and `rbharness 1.0.0`; the release bumps `rbfoo` to 1.1.0.
fn depended_back_on(live: &TestRegistry) -> Fixture {
    let old = Fixture::new();
    old.file("Cargo.toml", "[workspace]\nmembers = [\"rbfoo\"]\n")
        .package("rbfoo", "rbfoo", "1.0.0", "");
    old.use_registry(live);
    old.publish(live, &["--no-verify"]).ok();
    let harness = Fixture::new();
    harness
        .file("Cargo.toml", "[workspace]\nmembers = [\"rbharness\"]\n")
        .package(
            "rbharness",
            "rbharness",
            "1.0.0",
            "[dependencies]\nrbfoo = \"1\"",
        );
    harness.use_registry(live);
    harness.publish(live, &["--no-verify"]).ok();

    let fx = Fixture::new();
    fx.file(
        "Cargo.toml",
        "[workspace]\nmembers = [\"rbfoo\", \"rbfoo-bench\"]\n",
    )
    .package("rbfoo", "rbfoo", "1.1.0", "")
    .package(
        "rbfoo-bench",
        "rbfoo-bench",
        "0.1.0",
        "publish = false\n\n[dependencies]\nrbharness = \"1\"\nrbfoo = { path = \"../rbfoo\" }",
    );
    live_registry(&fx, live);
    // Committed, as real workspaces do: packaging then resolves the whole
    // workspace, rbfoo-bench -> rbharness -> rbfoo 1.0.0 included.
    fx.cargo(live, &["generate-lockfile"]).ok();
    fx
}

#[test]
fn a_registry_crate_that_depends_back_on_a_member_rehearses_and_publishes() {
    let live = TestRegistry::start();
    let fx = depended_back_on(&live);
    // The rehearsal hides only the version it rehearses: rbfoo 1.0.0 (which
    // rbharness needs) still passes through.
    let kept = fx.root().join("kept");
    let run = rehearse(&fx, &["--keep", kept.to_str().unwrap()]);
    run.ok();
    let record = record(&fx);
    assert_eq!(record["verdict"], "passed", "{record:#}");
    assert_eq!(crate_entry(&record, "rbfoo")["outcome"], "uploaded");
    // Differential: the real `cargo package` makes the same files.
    fx.cargo(
        &live,
        &[
            "package",
            "-p",
            "rbfoo",
            "--no-verify",
            "--allow-dirty",
            "--registry",
            "local",
            "--target-dir",
            "cargo-target",
        ],
    )
    .ok();
    support::assert_same_contents(
        "rbfoo",
        &std::fs::read(kept.join("crates/rbfoo/rbfoo-1.1.0.crate")).unwrap(),
        &std::fs::read(fx.root().join("cargo-target/package/rbfoo-1.1.0.crate")).unwrap(),
        &[],
    );
    assert_eq!(
        live.version_count("rbfoo"),
        1,
        "the rehearsal wrote nothing live"
    );
    // And the live release of the same shape.
    fx.publish(&live, &["--require-rehearsal"]).ok();
    assert_eq!(live.version_count("rbfoo"), 2);
    assert_eq!(live.version_count("rbfoo-bench"), 0);
}

/// One crate of a throwaway workspace published into `live`.
fn published_alone(live: &TestRegistry, name: &str, version: &str, extra: &str) {
    let fx = Fixture::new();
    fx.file(
        "Cargo.toml",
        &format!("[workspace]\nmembers = [\"{name}\"]\n"),
    )
    .package(name, name, version, extra);
    fx.use_registry(live);
    fx.publish(live, &["--no-verify"]).ok();
}

#[test]
fn the_consumer_pins_what_was_uploaded_and_lets_what_is_live_resolve() {
    // Live: rpx 0.1.0 (the workspace's, unchanged), rpx 0.1.1 (from a
    // later branch), and rpw 1.0.0, which needs rpx ^0.1.1.
    let live = TestRegistry::start();
    published_alone(&live, "rpx", "0.1.0", "");
    published_alone(&live, "rpx", "0.1.1", "");
    published_alone(&live, "rpw", "1.0.0", "[dependencies]\nrpx = \"0.1.1\"");
    // The release: rpx 0.1.0 as it is (would skip), a new rpz using rpw.
    let fx = Fixture::new();
    fx.file("Cargo.toml", "[workspace]\nmembers = [\"rpx\", \"rpz\"]\n")
        .package("rpx", "rpx", "0.1.0", "")
        .package(
            "rpz",
            "rpz",
            "0.2.0",
            "[dependencies]\nrpx = { path = \"../rpx\", version = \"0.1.0\" }\nrpw = \"1\"",
        );
    live_registry(&fx, &live);
    let run = rehearse(&fx, &[]);
    run.ok();
    let record = record(&fx);
    assert_eq!(record["verdict"], "passed", "{record:#}");
    assert_eq!(crate_entry(&record, "rpx")["outcome"], "on_live_target");
    assert_eq!(crate_entry(&record, "rpz")["outcome"], "uploaded");
    assert_eq!(record["consumer_build"]["passed"], true, "{record:#}");
    assert_eq!(
        record["consumer_build"]["crates"],
        serde_json::json!([
            { "name": "rpx", "req": "^0.1.0" },
            { "name": "rpz", "req": "=0.2.0" }
        ]),
        "{record:#}"
    );
    assert!(
        run.stderr()
            .contains("(1 uploaded at `=version`, 1 published before at `^version`)"),
        "{}",
        run.stderr()
    );
    // Nothing of the rehearsal reached the live registry.
    assert_eq!(live.version_count("rpz"), 0);
}

#[test]
fn a_rust_version_above_the_toolchain_is_said_plainly_before_the_consumer_build() {
    let fx = chain(&["rva", "rvb"]);
    let manifest = std::fs::read_to_string(fx.root().join("rvb/Cargo.toml")).unwrap();
    fx.file(
        "rvb/Cargo.toml",
        &manifest.replace(
            "edition = \"2021\"",
            "edition = \"2021\"\nrust-version = \"1.999\"",
        ),
    );
    // Not verified: nothing builds the crates before the consumer would.
    let run = rehearse(&fx, &["--no-verify"]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let record = record(&fx);
    assert_eq!(record["verdict"], "failed");
    let message = record["consumer_build"]["message"].as_str().unwrap();
    assert!(
        message.contains("rvb (1.999)") && message.contains("needs rustc 1.999 or newer"),
        "{message}"
    );
    assert!(!message.contains("rva"), "{message}");
    // Said instead of cargo's own list, not after it.
    assert!(
        !run.stderr().contains("cannot be built because"),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_consumer_that_cannot_resolve_is_said_with_its_chain() {
    // rya needs rydep ^0.3, whose only version is yanked after the lockfile
    // pinned it: the release packages, but no consumer can resolve it.
    let live = TestRegistry::start();
    assert_eq!(live.upload("rydep", "0.3.0", &[]).status, 200);
    let fx = Fixture::new();
    fx.file("Cargo.toml", "[workspace]\nmembers = [\"rya\"]\n")
        .package("rya", "rya", "0.1.0", "[dependencies]\nrydep = \"0.3\"");
    live_registry(&fx, &live);
    fx.cargo(&live, &["generate-lockfile"]).ok();
    let auth = format!("Authorization: {}", live.registry.token());
    let yank = format!("{}/api/v1/crates/rydep/0.3.0/yank", live.api());
    assert_eq!(
        support::http("DELETE", &yank, &[&auth], &[])
            .unwrap()
            .status,
        200
    );

    let run = rehearse(&fx, &["--no-verify"]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let record = record(&fx);
    let step = &record["consumer_build"];
    assert_eq!(step["passed"], false, "{record:#}");
    let summary = step["summary"].as_str().unwrap();
    assert!(
        summary.contains("shipper-rehearsal-consumer 0.0.0 → rya =0.1.0: failed to select a version for the requirement `rydep"),
        "{summary}"
    );
    assert!(
        summary.contains("Raise or replace that requirement"),
        "{summary}"
    );
    // cargo's whole output is kept, and the summary is what is said.
    assert!(step["message"].as_str().unwrap().contains("rydep"));
    assert!(run.stderr().contains(summary), "{}", run.stderr());
    assert!(!run.stderr().contains("cargo's output"), "{}", run.stderr());
    // With -v, cargo's own words too.
    let verbose = rehearse(&fx, &["--no-verify", "-v"]);
    assert!(
        verbose
            .stderr()
            .contains("cargo's output (consumer build):"),
        "{}",
        verbose.stderr()
    );
}

/// The consumer's lockfile, as its last build left it.
fn consumer_lock(fx: &Fixture) -> String {
    std::fs::read_to_string(fx.root().join("target/shipper/consumer/Cargo.lock")).unwrap()
}

#[test]
fn the_consumer_resolves_external_crates_as_the_workspace_locked_them_unless_yanked() {
    // The workspace locked rsext 1.0.0; 1.1.0 came out since. A consumer
    // seeded with the workspace's lockfile builds 1.0.0, until 1.0.0 is
    // yanked: no new consumer gets a yanked version, so neither does it.
    let live = TestRegistry::start();
    assert_eq!(live.upload("rsext", "1.0.0", &[]).status, 200);
    let fx = Fixture::new();
    fx.file("Cargo.toml", "[workspace]\nmembers = [\"a\"]\n")
        .package("a", "rsa", "0.1.0", "[dependencies]\nrsext = \"1\"");
    live_registry(&fx, &live);
    fx.cargo(&live, &["generate-lockfile"]).ok();
    assert_eq!(live.upload("rsext", "1.1.0", &[]).status, 200);

    rehearse(&fx, &["--no-verify"]).ok();
    assert_eq!(record(&fx)["consumer_build"]["passed"], true);
    let lock = consumer_lock(&fx);
    assert!(
        lock.contains("name = \"rsext\"\nversion = \"1.0.0\""),
        "{lock}"
    );

    let auth = format!("Authorization: {}", live.registry.token());
    let yank = format!("{}/api/v1/crates/rsext/1.0.0/yank", live.api());
    let reply = support::http("DELETE", &yank, &[&auth], &[]).unwrap();
    assert_eq!(reply.status, 200);
    rehearse(&fx, &["--no-verify"]).ok();
    assert_eq!(record(&fx)["consumer_build"]["passed"], true);
    let lock = consumer_lock(&fx);
    assert!(
        lock.contains("name = \"rsext\"\nversion = \"1.1.0\""),
        "{lock}"
    );
}

/// Every file the consumer's kept target directory holds, with its
/// modification time.
fn consumer_outputs(fx: &Fixture) -> Vec<(String, std::time::SystemTime)> {
    let deps = fx.root().join("target/shipper/consumer/target/debug/deps");
    let mut out: Vec<_> = std::fs::read_dir(&deps)
        .unwrap()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().unwrap().modified().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_second_rehearsal_of_the_same_bytes_builds_nothing_again_for_its_consumer() {
    let live = TestRegistry::start();
    assert_eq!(live.upload("rrext", "1.0.0", &[]).status, 200);
    let fx = Fixture::new();
    fx.file("Cargo.toml", "[workspace]\nmembers = [\"a\", \"b\"]\n")
        .package("a", "rra", "0.1.0", "[dependencies]\nrrext = \"1\"")
        .package(
            "b",
            "rrb",
            "0.1.0",
            "[dependencies]\nrra = { path = \"../a\", version = \"0.1.0\" }",
        );
    live_registry(&fx, &live);
    rehearse(&fx, &["--no-verify"]).ok();
    let first = consumer_outputs(&fx);
    assert!(
        first.iter().any(|(name, _)| name.starts_with("librrext-")),
        "{first:?}"
    );
    assert!(
        first.iter().any(|(name, _)| name.starts_with("librrb-")),
        "{first:?}"
    );
    rehearse(&fx, &["--no-verify"]).ok();
    assert_eq!(record(&fx)["consumer_build"]["passed"], true);
    assert_eq!(consumer_outputs(&fx), first);
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

#[test]
fn a_crate_changed_at_the_same_version_is_verified_with_its_new_bytes_in_the_next_rehearsal() {
    // The rehearsal registry is back on its port, where cargo cached
    // `rva 0.1.0`: rva's new bytes, not those, must reach rvb's verification.
    let fx = Fixture::new();
    fx.file("Cargo.toml", "[workspace]\nmembers = [\"a\", \"b\"]\n")
        .package("a", "rva", "0.1.0", "")
        .package(
            "b",
            "rvb",
            "0.1.0",
            "[dependencies]\nrva = { path = \"../a\", version = \"0.1.0\" }",
        )
        .file("a/src/lib.rs", "pub fn answer() -> u32 {\n    42\n}\n")
        .file(
            "b/src/lib.rs",
            "pub fn twice() -> u32 {\n    rva::answer() * 2\n}\n",
        );
    rehearse(&fx, &[]).ok();
    let port = consumer_port(&fx);
    fx.file("a/src/lib.rs", "pub fn renamed() -> u32 {\n    42\n}\n");
    let again = rehearse(&fx, &[]);
    assert_eq!(consumer_port(&fx), port);
    assert_ne!(again.code(), 0, "{}", again.stderr());
    assert!(
        again.stderr().contains("packaging failed for rvb"),
        "{}",
        again.stderr()
    );
}

#[test]
fn a_damaged_or_foreign_consumer_record_is_read_as_none_and_rewritten() {
    // `last.json` is ours but lives in a target directory anyone may touch:
    // garbage, or another format, counts as no record (everything cargo
    // may hold is purged, nothing stale reused), never as an error.
    let fx = chain(&["rcda", "rcdb"]);
    rehearse(&fx, &["--no-verify"]).ok();
    let last = fx.root().join("target/shipper/consumer/last.json");
    for damaged in [
        "{not json",
        "{\"version\": 99, \"port\": 1, \"crates\": {}}",
    ] {
        std::fs::write(&last, damaged).unwrap();
        rehearse(&fx, &["--no-verify"]).ok();
        assert_eq!(record(&fx)["consumer_build"]["passed"], true);
        let rewritten: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&last).unwrap()).unwrap();
        assert_eq!(rewritten["version"], 1, "{rewritten}");
        assert!(rewritten["crates"]["rcda 0.1.0"].is_string(), "{rewritten}");
    }
}
