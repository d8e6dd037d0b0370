//! Item 11: every suggested next command works as printed. After a release
//! to `--registry acc`, `fix-forward` and the gate's refusal name `acc`
//! (a bare command would plan for crates.io); run as printed, they work.

use crate::support::{Fixture, Run, TestRegistry, chain};

/// The command between the backticks after `lead` in `text`, as words.
fn suggested(text: &str, lead: &str) -> Vec<String> {
    let start = text
        .find(lead)
        .unwrap_or_else(|| panic!("no `{lead}` in:\n{text}"))
        + lead.len();
    let command = &text[start..text[start..].find('`').unwrap() + start];
    command.split_whitespace().map(str::to_owned).collect()
}

/// Run `cargo shipper …` words as printed (the binary stands for `cargo`).
fn run_as_printed(fx: &Fixture, acc: &TestRegistry, words: &[String]) -> Run {
    assert_eq!(&words[..2], ["cargo", "shipper"], "{words:?}");
    let args: Vec<&str> = words[2..].iter().map(String::as_str).collect();
    fx.shipper_env(
        acc,
        &args,
        &[("CARGO_REGISTRIES_ACC_TOKEN", acc.registry.token())],
    )
}

#[test]
fn fix_forward_and_the_gate_suggest_the_release_registry_and_it_works() {
    let acc = TestRegistry::start();
    let fx = chain(&["nxa", "nxb"]);
    fx.cargo_config(&format!(
        "{}\n[source.crates-io]\nreplace-with = \"acc\"\n",
        acc.registry.cargo_config("acc")
    ));
    let token = [("CARGO_REGISTRIES_ACC_TOKEN", acc.registry.token())];
    fx.shipper_env(
        &acc,
        &["publish", "--registry", "acc", "--no-verify"],
        &token,
    )
    .ok();
    assert_eq!(acc.version_count("nxa"), 1);

    // fix-forward names `acc` in the command it suggests.
    let dry = fx
        .shipper_env(
            &acc,
            &[
                "fix-forward",
                "--from-receipt",
                "latest",
                "--starting-crate",
                "nxa",
            ],
            &token,
        )
        .ok();
    let publish = suggested(&dry, "Apply with `--write`, then `");
    assert_eq!(
        publish,
        ["cargo", "shipper", "publish", "--registry", "acc"]
    );
    fx.shipper_env(
        &acc,
        &[
            "fix-forward",
            "--from-receipt",
            "latest",
            "--starting-crate",
            "nxa",
            "--write",
        ],
        &token,
    )
    .ok();

    // The gate's refusal names `acc` too; its command, run as printed,
    // rehearses the plan the gate then accepts.
    let refused = fx.shipper_env(
        &acc,
        &["publish", "--registry", "acc", "--require-rehearsal"],
        &token,
    );
    assert_eq!(refused.code(), 1, "{}", refused.stderr());
    let rehearse = suggested(&refused.stderr(), "run `");
    assert_eq!(
        rehearse,
        ["cargo", "shipper", "rehearse", "--for-registry", "acc"],
        "{}",
        refused.stderr()
    );
    assert_eq!(acc.registry.upload_counts().requests, 2, "nothing sent");
    let rehearsed = run_as_printed(&fx, &acc, &rehearse);
    rehearsed.ok();
    let gated = fx.shipper_env(
        &acc,
        &["publish", "--registry", "acc", "--require-rehearsal"],
        &token,
    );
    assert_eq!(gated.code(), 0, "{}", gated.stderr());
    // From the registry's side: the next release is there, each crate once more.
    assert_eq!(acc.version_count("nxa"), 2);
    assert_eq!(acc.version_count("nxb"), 2);

    // fix-forward's own suggestion runs as printed too (nothing left to upload).
    run_as_printed(&fx, &acc, &publish).ok();
    assert_eq!(acc.registry.upload_counts().requests, 4);
}

/// A rehearsal that fails names the crate and says to run `rehearse`
/// again, as it was run: never "then `cargo shipper publish` again".
#[test]
fn a_failed_rehearsal_names_the_crate_and_says_rehearse() {
    let acc = TestRegistry::start();
    let fx = chain(&["fra", "frb"]);
    fx.cargo_config(&format!(
        "{}\n[source.crates-io]\nreplace-with = \"acc\"\n",
        acc.registry.cargo_config("acc")
    ));
    fx.file("frb/src/lib.rs", "pub fn broken() -> u32 { \"no\" }\n");
    let run = fx.shipper_env(
        &acc,
        &[
            "rehearse",
            "--for-registry",
            "acc",
            "--package",
            "frb",
            "--package",
            "fra",
        ],
        &[("CARGO_REGISTRIES_ACC_TOKEN", acc.registry.token())],
    );
    let err = run.stderr();
    assert_eq!(run.code(), 1, "{err}");
    let last = err.lines().rev().find(|l| l.starts_with("error:")).unwrap();
    assert!(last.contains("frb"), "{last}");
    assert!(!err.contains("cargo shipper publish"), "{err}");
    let again = suggested(last, "then `");
    assert_eq!(
        again,
        [
            "cargo",
            "shipper",
            "rehearse",
            "--for-registry",
            "acc",
            "--package",
            "frb",
            "--package",
            "fra"
        ]
    );
    // Fixed, the suggested command, as printed, passes.
    fx.file("frb/src/lib.rs", "pub fn fixed() {}\n");
    run_as_printed(&fx, &acc, &again).ok();
    assert_eq!(
        acc.registry.upload_counts().requests,
        0,
        "the live registry untouched"
    );
}
