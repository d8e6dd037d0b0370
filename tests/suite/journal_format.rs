//! The journal's on-disk format 1, pinned: `tests/fixtures/journal-v1/`
//! holds a publish journal and a yank journal with a line of every event
//! kind. Every later version must keep reading them to the same state, and
//! must write each event back as the same JSON. Lines a newer version may
//! write (unknown kinds, unknown values inside known ones) are read, not
//! refused.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use cargo_shipper::journal::{
    CrateStatus, Event, EventLog, Projection, Record, RunOutcome, RunState, SkipReason, YankEvent,
    YankOutcome, YankState, YankStatus,
};
use cargo_shipper::model::FailureClass;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/journal-v1")
        .join(name)
}

/// The fixture, copied (opening a journal may repair it; the fixture stays).
fn open<E: cargo_shipper::journal::LogEvent>(name: &str) -> (tempfile::TempDir, Vec<Record<E>>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    std::fs::copy(fixture(name), &path).unwrap();
    let (log, torn) = EventLog::<E>::open(&path).unwrap();
    assert!(torn.is_none());
    let records = log.records().to_vec();
    (dir, records)
}

/// Each line, read and written again, is the same JSON.
fn round_trips<E: serde::Serialize + serde::de::DeserializeOwned>(name: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(fixture(name)).unwrap();
    let mut kinds = BTreeSet::new();
    for line in text.lines() {
        let original: serde_json::Value = serde_json::from_str(line).unwrap();
        let record: Record<E> = serde_json::from_str(line).unwrap();
        let written = serde_json::to_value(&record).unwrap();
        assert_eq!(written, original, "written back differently");
        kinds.insert(original["kind"].as_str().unwrap().to_owned());
    }
    kinds
}

#[test]
fn the_publish_journal_of_format_1_reads_to_the_same_state() {
    let kinds = round_trips::<Event>("publish-events.jsonl");
    let all: BTreeSet<String> = Event::kind_names().iter().map(|k| k.to_string()).collect();
    assert_eq!(kinds, all, "a line of every event kind, no more");

    let (_dir, records) = open::<Event>("publish-events.jsonl");
    assert!(records.iter().all(|r| r.event != Event::Unknown));
    let read: BTreeSet<String> = records.iter().map(|r| r.event.kind().to_owned()).collect();
    assert_eq!(read, all, "each line read as the kind it names");
    let state = RunState::project(&records).unwrap();
    let status = |name: &str| state.crates[name].status;
    assert_eq!(status("a"), CrateStatus::Published);
    assert_eq!(status("b"), CrateStatus::AlreadyPresent);
    assert_eq!(status("c"), CrateStatus::Uploaded);
    assert_eq!(status("d"), CrateStatus::Blocked);
    assert_eq!(status("e"), CrateStatus::Ambiguous);
    assert_eq!(status("f"), CrateStatus::Failed);
    assert_eq!(state.outcome, Some(RunOutcome::NeedsOperator));
    assert_eq!(state.upload_times.new_crates.len(), 3);
    assert_eq!(state.crates["a"].timings.visible_ms, Some(40));
}

#[test]
fn the_yank_journal_of_format_1_reads_to_the_same_state() {
    let kinds = round_trips::<YankEvent>("yank-events.jsonl");
    let all: BTreeSet<String> = YankEvent::kind_names()
        .iter()
        .map(|k| k.to_string())
        .collect();
    assert_eq!(kinds, all, "a line of every event kind, no more");

    let (_dir, records) = open::<YankEvent>("yank-events.jsonl");
    let read: BTreeSet<String> = records.iter().map(|r| r.event.kind().to_owned()).collect();
    assert_eq!(read, all, "each line read as the kind it names");
    let state = records
        .iter()
        .fold(None, |s, r| Some(YankState::apply(s, r)))
        .unwrap();
    assert_eq!(state.crates["c"].status, YankStatus::AlreadyInRegistry);
    assert_eq!(state.crates["a"].status, YankStatus::Done);
    assert_eq!(state.crates["b"].status, YankStatus::Accepted);
    assert_eq!(state.crates["b"].attempts, 2);
    assert_eq!(state.request_times.len(), 3);
    assert_eq!(state.outcome, Some(YankOutcome::Partial));
}

#[test]
fn what_a_newer_version_may_write_is_read_not_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let mut text = std::fs::read_to_string(fixture("publish-events.jsonl")).unwrap();
    let lines = [
        r#"{"seq":32,"at_ms":1,"kind":"from_the_future","x":1}"#,
        r#"{"seq":33,"at_ms":1,"kind":"upload_failed","name":"c","version":"1.0.0","attempt":2,"class":"quantum","message":"?","extra":true}"#,
        r#"{"seq":34,"at_ms":1,"kind":"skipped","name":"d","version":"1.0.0","reason":"moon_phase"}"#,
        r#"{"seq":35,"at_ms":1,"kind":"run_finished","outcome":"postponed"}"#,
    ];
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    std::fs::write(&path, text).unwrap();
    let (log, _) = EventLog::<Event>::open(&path).unwrap();
    let records = log.records();
    assert_eq!(records[31].event, Event::Unknown);
    assert!(matches!(
        records[32].event,
        Event::UploadFailed {
            class: FailureClass::Unknown,
            ..
        }
    ));
    assert!(matches!(
        records[33].event,
        Event::Skipped {
            reason: SkipReason::Other,
            ..
        }
    ));
    let state = RunState::project(records).unwrap();
    // An unknown failure class is handled as "may have landed".
    assert_eq!(state.crates["c"].status, CrateStatus::Ambiguous);
    assert_eq!(state.outcome, Some(RunOutcome::Unknown));
}
