//! Hostile or damaged state directories: each gets a clear error and an
//! exit code, or a repair that is recorded; nothing on disk is lost.

use crate::support;

use crate::support::{TestRegistry, archived_published, chain, count, events_in};
use cargo_shipper::local_registry::UploadFault;

/// A partial run: `a` out, `b` failed (one attempt, a 500).
fn partial() -> (TestRegistry, support::Fixture) {
    let registry =
        TestRegistry::start_knobs(|k| k.upload_faults = vec![(2, UploadFault::Status(500))]);
    let fx = chain(&["ba", "bb"]);
    fx.use_registry(&registry);
    assert_eq!(
        fx.publish(&registry, &["--no-verify", "--max-attempts", "1"])
            .code(),
        4
    );
    (registry, fx)
}

fn current(fx: &support::Fixture) -> std::path::PathBuf {
    fx.root().join(".shipper/current")
}

#[test]
fn corrupt_state_json_is_rebuilt_from_the_events() {
    let (registry, fx) = partial();
    std::fs::write(current(&fx).join("state.json"), b"{ this is not json").unwrap();
    fx.shipper_env(&registry, &["resume", "--no-verify"], &[])
        .ok();
    assert_eq!(registry.version_count("ba"), 1);
    assert_eq!(registry.version_count("bb"), 1);
}

#[test]
fn truncated_events_are_repaired_and_the_repair_recorded() {
    let (registry, fx) = partial();
    let events = current(&fx).join("events.jsonl");
    let mut bytes = std::fs::read(&events).unwrap();
    let cut = bytes.len() - 7; // tear the last record
    bytes.truncate(cut);
    std::fs::write(&events, &bytes).unwrap();
    fx.shipper_env(&registry, &["resume", "--no-verify"], &[])
        .ok();
    let dir = archived_published(&fx);
    let all = events_in(&dir);
    let repaired = all
        .iter()
        .find(|e| e["kind"] == "journal_repaired")
        .expect("recorded");
    assert!(repaired["dropped_bytes"].as_u64().unwrap() > 0);
    // The torn bytes are kept beside the journal, not thrown away.
    let saved = dir.join(repaired["saved_to"].as_str().unwrap());
    assert!(
        std::fs::read(saved).unwrap().len() as u64 == repaired["dropped_bytes"].as_u64().unwrap()
    );
    assert_eq!(count(&all, "visible", "ba"), 1);
    assert_eq!(registry.version_count("bb"), 1);
}

#[test]
fn a_journal_from_a_newer_tool_is_refused_untouched() {
    let (registry, fx) = partial();
    let events = current(&fx).join("events.jsonl");
    let original = std::fs::read_to_string(&events).unwrap();
    let newer = original.replacen("\"format\":1", "\"format\":2", 1);
    std::fs::write(&events, &newer).unwrap();
    let run = fx.shipper_env(&registry, &["resume", "--no-verify"], &[]);
    assert_eq!(run.code(), 1);
    assert!(
        run.stderr().contains("written by a newer cargo-shipper"),
        "{}",
        run.stderr()
    );
    assert_eq!(std::fs::read_to_string(&events).unwrap(), newer);
}

#[test]
fn a_foreign_file_is_refused_untouched() {
    let (registry, fx) = partial();
    let events = current(&fx).join("events.jsonl");
    std::fs::write(&events, "{\"hello\":\"world\"}\n").unwrap();
    let run = fx.publish_cmd(&registry).no_fast().arg("--no-verify").run();
    assert_eq!(run.code(), 1);
    assert!(
        run.stderr()
            .contains("is not a cargo-shipper journal record"),
        "{}",
        run.stderr()
    );
    assert_eq!(
        std::fs::read_to_string(&events).unwrap(),
        "{\"hello\":\"world\"}\n"
    );
}

#[test]
fn a_lock_held_by_a_live_process_is_refused() {
    let (registry, fx) = partial();
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(fx.root().join(".shipper/lock"))
        .unwrap();
    lock.lock().unwrap();
    let run = fx.shipper_env(&registry, &["resume", "--no-verify"], &[]);
    assert_eq!(run.code(), 1);
    assert!(
        run.stderr().contains("another cargo-shipper run is using"),
        "{}",
        run.stderr()
    );
    drop(lock);
    fx.shipper_env(&registry, &["resume", "--no-verify"], &[])
        .ok();
}
