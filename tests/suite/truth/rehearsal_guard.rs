//! Item 4: a rehearsal never publishes for real. The rehearsal registry is
//! compared with the live target by what it is (address, `config.json`),
//! not by how its URL is spelled; the refusal comes before any upload.

use crate::support::{TestRegistry, demo_workspace};

/// `rehearse --index SPELLING --for-registry acc`, where `acc` is the live
/// registry: refused with the usage code, and the live registry saw no
/// upload.
#[test]
fn every_spelling_of_the_live_registry_is_refused_before_any_upload() {
    let live = TestRegistry::start();
    let port = live.registry.addr().port();
    let fx = demo_workspace();
    fx.cargo_config(&format!(
        "{}\n[registries.acc-alias]\nindex = \"sparse+http://localhost:{port}//index//\"\n",
        live.registry.cargo_config("acc")
    ));
    let token = live.registry.token().to_owned();
    let spellings = [
        vec![
            "--index".to_owned(),
            format!("sparse+http://localhost:{port}/index/"),
        ],
        vec![
            "--index".to_owned(),
            format!("sparse+http://127.0.0.1:{port}/index//"),
        ],
        vec![
            "--index".to_owned(),
            format!("sparse+http://127.0.0.1:{port}//index"),
        ],
        vec![
            "--index".to_owned(),
            format!("sparse+HTTP://LOCALHOST:{port}/index/"),
        ],
        // Only what it serves says it: an IPv4-mapped IPv6 address reaches
        // the same socket, and its `config.json` names the same `api`.
        vec![
            "--index".to_owned(),
            format!("sparse+http://[::ffff:127.0.0.1]:{port}/index/"),
        ],
        vec!["--registry".to_owned(), "acc-alias".to_owned()],
    ];
    for spelling in &spellings {
        let mut args = vec!["rehearse"];
        args.extend(spelling.iter().map(String::as_str));
        args.extend(["--for-registry", "acc", "--allow-dirty", "--no-verify"]);
        let run = fx.shipper_env(
            &live,
            &args,
            &[
                ("CARGO_REGISTRIES_ACC_TOKEN", token.as_str()),
                ("CARGO_REGISTRIES_ACC_ALIAS_TOKEN", token.as_str()),
                ("CARGO_REGISTRIES_SHIPPER_REHEARSAL_TOKEN", token.as_str()),
            ],
        );
        assert_eq!(run.code(), 2, "{spelling:?}: {}", run.stderr());
        assert!(
            run.stderr()
                .contains("a rehearsal there would publish for real"),
            "{spelling:?}: {}",
            run.stderr()
        );
        assert_eq!(
            live.registry.upload_counts().requests,
            0,
            "{spelling:?}: the live registry received an upload"
        );
    }
    assert!(!fx.root().join(".shipper/rehearsal.json").exists());
}

/// crates.io spelled with its default port, in capitals or with a doubled
/// slash is crates.io: refused without asking it anything (no network).
#[test]
fn crates_io_with_an_explicit_default_port_is_crates_io() {
    let fx = demo_workspace();
    for index in [
        "sparse+https://index.crates.io:443/",
        "sparse+https://INDEX.crates.io/",
        "sparse+https://index.crates.io//",
    ] {
        let run = fx.shipper(&["rehearse", "--index", index, "--allow-dirty", "--no-verify"]);
        assert_eq!(run.code(), 2, "{index}: {}", run.stderr());
        assert!(
            run.stderr()
                .contains("is crates.io: a rehearsal there would publish for real"),
            "{index}: {}",
            run.stderr()
        );
    }
}
