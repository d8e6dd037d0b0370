//! Chaos: a generated workspace, the embedded registry with upload latency
//! and propagation delay, the publisher killed (its whole process group) at
//! random moments several times per seed, then run to the end. Checked
//! from the registry's side: each crate stored exactly once with the
//! journaled checksum, zero uploads of versions it already held; and every
//! journal parses and projects to its `state.json`.
//!
//! CI runs a few seeds; `scripts/chaos.sh` runs many:
//! `CHAOS_SEEDS=N CHAOS_KILLS=K CHAOS_SIGNAL=KILL|INT|TERM`.

use crate::support;

use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Fixture, TestRegistry};
use cargo_shipper::journal::{Record, RunState};

/// A DAG of six crates: two roots, a diamond, a tail.
const CRATES: [(&str, &[&str]); 6] = [
    ("ch-a", &[]),
    ("ch-b", &["ch-a"]),
    ("ch-c", &["ch-a"]),
    ("ch-d", &["ch-b", "ch-c"]),
    ("ch-e", &["ch-d"]),
    ("ch-f", &[]),
];

fn workspace() -> Fixture {
    let fx = Fixture::new();
    let members: Vec<String> = CRATES.iter().map(|(n, _)| format!("\"{n}\"")).collect();
    fx.file(
        "Cargo.toml",
        &format!(
            "[workspace]\nresolver = \"2\"\nmembers = [{}]\n",
            members.join(", ")
        ),
    );
    for (name, deps) in CRATES {
        let deps: Vec<String> = deps
            .iter()
            .map(|d| format!("{d} = {{ path = \"../{d}\", version = \"0.1.0\" }}"))
            .collect();
        fx.package(
            name,
            name,
            "0.1.0",
            &format!("[dependencies]\n{}", deps.join("\n")),
        );
    }
    fx
}

fn publish_cmd(fx: &Fixture, registry: &TestRegistry) -> Command {
    let mut cmd = fx
        .publish_cmd(registry)
        .args(["--no-verify", "--uploads-in-flight", "3"])
        // The settle window, shortened (still far above the latency).
        .args(["--upload-timeout", "2"])
        .command();
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    cmd
}

/// What one seed saw.
#[derive(Debug, Default)]
struct Figures {
    kills: u32,
    /// Kills that landed inside a run (its journal unfinished).
    inside: u32,
    /// Graceful signals: the slowest exit after the signal.
    slowest_stop: Duration,
    upload_requests: u32,
    duplicates: u32,
    runs: u32,
}

fn signal_number(name: &str) -> i32 {
    match name {
        "INT" => libc::SIGINT,
        "TERM" => libc::SIGTERM,
        _ => libc::SIGKILL,
    }
}

fn one_seed(seed: u64, kills: u32, signal: &str) -> Figures {
    let mut rng = fastrand::Rng::with_seed(seed);
    let registry = TestRegistry::start_knobs(|k| {
        k.upload_latency = Duration::from_millis(150);
        k.propagation_delay = Duration::from_millis(300);
    });
    let fx = workspace();
    fx.use_registry(&registry);
    let events = fx.root().join(".shipper/current/events.jsonl");
    let mut figures = Figures::default();
    for _ in 0..kills {
        let mut cmd = publish_cmd(&fx, &registry);
        // Its own process group, SIGINT at its default (a background job's
        // is ignored), so the whole group gets the signal as CI's runner sends it.
        let mut child = support::child::sigint_default(&mut cmd)
            .process_group(0)
            .spawn()
            .unwrap();
        let lines_at_start = std::fs::read_to_string(&events).map_or(0, |t| t.lines().count());
        // A run of six crates journals about 25 events.
        let k = lines_at_start + rng.usize(1..25);
        let started = Instant::now();
        while std::fs::read_to_string(&events).map_or(0, |t| t.lines().count()) < k
            && child.try_wait().unwrap().is_none()
            && started.elapsed() < Duration::from_secs(60)
        {
            std::thread::sleep(Duration::from_micros(300));
        }
        std::thread::sleep(Duration::from_micros(rng.u64(0..200_000)));
        let pgid = child.id() as i32;
        let sent = Instant::now();
        // SAFETY: kill(2) of the child's own process group.
        unsafe { libc::kill(-pgid, signal_number(signal)) };
        let status = child.wait().unwrap();
        figures.kills += 1;
        figures.runs += 1;
        if signal != "KILL" {
            figures.slowest_stop = figures.slowest_stop.max(sent.elapsed());
            assert!(
                matches!(status.code(), Some(0 | 130)),
                "seed {seed}: a graceful stop exits 130 (or 0 if it had finished): {status:?}"
            );
        }
        let unfinished =
            std::fs::read_to_string(&events).is_ok_and(|t| !t.contains("\"run_finished\""));
        let stopped = std::fs::read_to_string(&events)
            .is_ok_and(|t| t.lines().last().is_some_and(|l| l.contains("interrupted")));
        if unfinished || stopped {
            figures.inside += 1;
        }
    }
    // Then to the end.
    let mut finished = false;
    for _ in 0..6 {
        figures.runs += 1;
        let status = publish_cmd(&fx, &registry).status().unwrap();
        if status.success() {
            finished = true;
            break;
        }
    }
    assert!(finished, "seed {seed}: the release never finished");
    check(seed, &fx, &registry);
    let counts = registry.registry.upload_counts();
    figures.upload_requests = counts.requests;
    figures.duplicates = counts.duplicates;
    assert_eq!(
        counts.duplicates, 0,
        "seed {seed}: uploads of stored versions"
    );
    figures
}

/// From the registry's side, then every journal.
fn check(seed: u64, fx: &Fixture, registry: &TestRegistry) {
    let archive = fx.root().join(".shipper/archive");
    let mut dirs: Vec<_> = std::fs::read_dir(&archive)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    dirs.sort();
    let published = dirs
        .iter()
        .find(|p| p.to_string_lossy().ends_with("-published"))
        .unwrap_or_else(|| panic!("seed {seed}: no published run in {dirs:?}"));
    let final_state = projection_matches(seed, published);
    for dir in &dirs {
        projection_matches(seed, dir);
    }
    for (name, _) in CRATES {
        let reply = registry.index_entry(name);
        let lines: Vec<serde_json::Value> = reply
            .text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 1, "seed {seed}: {name} stored exactly once");
        assert_eq!(
            lines[0]["cksum"].as_str(),
            final_state.crates[name].sha256.as_deref(),
            "seed {seed}: {name} stored with the journaled checksum"
        );
    }
}

/// The journal of `dir` parses and its projection is its `state.json`.
fn projection_matches(seed: u64, dir: &Path) -> RunState {
    let records: Vec<Record> = std::fs::read_to_string(dir.join("events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("seed {seed}: {dir:?}: {e}: {l}"))
        })
        .collect();
    let state: RunState =
        serde_json::from_slice(&std::fs::read(dir.join("state.json")).unwrap()).unwrap();
    assert_eq!(
        Some(&state),
        RunState::project(&records).as_ref(),
        "seed {seed}: {dir:?}"
    );
    state
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn killed_at_random_moments_each_crate_lands_once() {
    let seeds = env_u64("CHAOS_SEEDS", 3);
    let first = env_u64("CHAOS_FIRST_SEED", 0);
    let kills = env_u64("CHAOS_KILLS", 3) as u32;
    let signal = std::env::var("CHAOS_SIGNAL").unwrap_or_else(|_| "KILL".into());
    let mut total = Figures::default();
    let started = Instant::now();
    for seed in first..first + seeds {
        let f = one_seed(seed, kills, &signal);
        eprintln!("chaos: seed {seed}: {f:?}");
        total.kills += f.kills;
        total.inside += f.inside;
        total.runs += f.runs;
        total.upload_requests += f.upload_requests;
        total.duplicates += f.duplicates;
        total.slowest_stop = total.slowest_stop.max(f.slowest_stop);
    }
    eprintln!(
        "chaos: SIG{signal}, {seeds} seeds, {} signals ({} inside a run), {} runs, {} upload requests \
         for {} crates, {} uploads of stored versions, slowest graceful stop {:?}, {:.0?} in all",
        total.kills,
        total.inside,
        total.runs,
        total.upload_requests,
        seeds as usize * CRATES.len(),
        total.duplicates,
        total.slowest_stop,
        started.elapsed()
    );
    assert!(
        total.inside * 2 >= total.kills,
        "only {} of {} signals landed inside a run",
        total.inside,
        total.kills
    );
}
