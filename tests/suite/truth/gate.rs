//! Item 9: the gate derives its verdict from the rehearsal record's parts,
//! and refuses a record that contradicts itself (exit 6), uploading nothing.

use crate::support::{Fixture, Run, TestRegistry, chain};

/// No network: every proxy points at a closed port (loopback is exempt).
pub const OFFLINE: [(&str, &str); 4] = [
    ("HTTPS_PROXY", "http://127.0.0.1:9"),
    ("https_proxy", "http://127.0.0.1:9"),
    ("NO_PROXY", "127.0.0.1,localhost"),
    ("no_proxy", "127.0.0.1,localhost"),
];

fn rehearse(fx: &Fixture, registry: &TestRegistry) -> Run {
    fx.cmd(["rehearse", "--allow-dirty", "--no-verify"])
        .token(registry)
        .envs(OFFLINE)
        .run()
}

fn gated(fx: &Fixture, registry: &TestRegistry) -> Run {
    fx.cmd([
        "publish",
        "--require-rehearsal",
        "--allow-dirty",
        "--no-verify",
    ])
    .token(registry)
    .envs(OFFLINE)
    .run()
}

/// A hand edit of the record.
type Edit = fn(&mut serde_json::Value);

#[test]
fn a_hand_edited_passed_verdict_over_failed_parts_or_a_crate_listed_twice_is_refused() {
    let live = TestRegistry::start();
    let fx = chain(&["tga", "tgb"]);
    fx.use_registry(&live)
        .cargo_config("[registry]\ndefault = \"local\"\n");
    rehearse(&fx, &live).ok();
    let path = fx.root().join(".shipper/rehearsal.json");
    let original: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(original["verdict"], "passed");

    let edits: [(&str, Edit); 4] = [
        (
            "consumer build",
            |r| {
                r["consumer_build"] = serde_json::json!({"passed": false, "ms": 1, "message": "E0308 mismatched types"})
            },
        ),
        ("interruption drill", |r| {
            r["drill"] = serde_json::json!({"interrupt_after": 1, "passed": false,
                                            "problems": ["tga uploaded twice"]})
        }),
        ("more than once", |r| {
            let first = r["crates"][0].clone();
            r["crates"].as_array_mut().unwrap().push(first);
        }),
        ("did not go out", |r| {
            r["crates"][1]["outcome"] = "failed".into()
        }),
    ];
    for (says, edit) in edits {
        let mut record = original.clone();
        edit(&mut record);
        assert_eq!(record["verdict"], "passed", "the edit keeps the claim");
        std::fs::write(&path, record.to_string()).unwrap();
        let run = gated(&fx, &live);
        assert_eq!(run.code(), 6, "{says}: {}", run.stderr());
        assert!(run.stderr().contains(says), "{says}: {}", run.stderr());
        assert!(
            run.stderr().contains("`cargo shipper rehearse") && run.stderr().contains("` again"),
            "{}",
            run.stderr()
        );
        assert_eq!(live.version_count("tga"), 0, "{says}: nothing uploaded");
        assert_eq!(live.version_count("tgb"), 0, "{says}: nothing uploaded");
    }

    // Not a record at all, or one of a newer format: refused the same way.
    for text in ["{not json".to_owned(), {
        let mut newer = original.clone();
        newer["format"] = 99.into();
        newer.to_string()
    }] {
        std::fs::write(&path, text).unwrap();
        let run = gated(&fx, &live);
        assert_eq!(run.code(), 6, "{}", run.stderr());
        assert_eq!(live.version_count("tga"), 0);
    }

    // The record as the rehearsal wrote it still opens the gate.
    std::fs::write(&path, original.to_string()).unwrap();
    let run = gated(&fx, &live);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(live.version_count("tga"), 1);
    assert_eq!(live.version_count("tgb"), 1);
}
