//! `cargo shipper plan` end to end: the real binary on fixture workspaces.

use crate::support::{Fixture, order};

const JSON: [&str; 2] = ["--message-format", "json"];

fn plan_json(fx: &Fixture, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["plan"];
    args.extend(JSON);
    args.extend(extra);
    fx.shipper(&args).json()
}

fn names(list: &[(String, u64)]) -> Vec<(&str, u64)> {
    list.iter().map(|(n, l)| (n.as_str(), *l)).collect()
}

/// core <- left, right <- app <- cli (a diamond, then a chain).
fn diamond_and_chain(members: &str) -> Fixture {
    let fx = Fixture::new();
    fx.file("Cargo.toml", &format!("[workspace]\nresolver = \"2\"\nmembers = [{members}]\n"))
        .package("core", "core-x", "0.1.0", "")
        .package("left", "left-x", "0.1.0", "[dependencies]\ncore-x = { path = \"../core\", version = \"0.1\" }")
        .package("right", "right-x", "0.1.0", "[dependencies]\ncore-x = { path = \"../core\", version = \"0.1\" }")
        .package(
            "app",
            "app-x",
            "0.1.0",
            "[dependencies]\nleft-x = { path = \"../left\", version = \"0.1\" }\nright-x = { path = \"../right\", version = \"0.1\" }",
        )
        .package("cli", "cli-x", "0.2.0", "[dependencies]\napp-x = { path = \"../app\", version = \"0.1\" }");
    fx
}

#[test]
fn diamond_and_chain_in_levels() {
    let fx = diamond_and_chain(r#""core", "left", "right", "app", "cli""#);
    let plan = plan_json(&fx, &[]);
    assert_eq!(plan["format"], 1);
    assert_eq!(
        names(&order(&plan)),
        [
            ("core-x", 0),
            ("left-x", 1),
            ("right-x", 1),
            ("app-x", 2),
            ("cli-x", 3)
        ]
    );
    assert_eq!(plan["levels"], 4);
    assert_eq!(plan["registry"]["key"], "crates-io");
    assert_eq!(
        plan["crates"][3]["depends_on"],
        serde_json::json!(["left-x", "right-x"])
    );
    assert_eq!(plan["crates"][4]["version"], "0.2.0");
    assert_eq!(plan["crates"][4]["rel_dir"], "cli");

    let human = fx.shipper(&["plan"]).ok();
    assert!(human.starts_with("Plan "), "{human}");
    assert!(human.contains("5 crates in 4 levels"), "{human}");
    assert!(human.contains(&format!("Plan id: {}", plan["plan_id"].as_str().unwrap())));
}

#[test]
fn plan_id_is_stable_across_runs_and_member_order() {
    let one = diamond_and_chain(r#""core", "left", "right", "app", "cli""#);
    let two = diamond_and_chain(r#""cli", "app", "right", "left", "core""#);
    let first = plan_json(&one, &[]);
    assert_eq!(first["plan_id"], plan_json(&one, &[])["plan_id"]);
    assert_eq!(first["plan_id"], plan_json(&two, &[])["plan_id"]);
    assert_eq!(first["plan_id"].as_str().unwrap().len(), 64);

    // Bumping a version is a different release.
    two.package(
        "cli",
        "cli-x",
        "0.2.1",
        "[dependencies]\napp-x = { path = \"../app\", version = \"0.1\" }",
    );
    assert_ne!(first["plan_id"], plan_json(&two, &[])["plan_id"]);
}

#[test]
fn package_flag_pulls_in_what_it_needs_and_says_so() {
    let fx = diamond_and_chain(r#""core", "left", "right", "app", "cli""#);
    let plan = plan_json(&fx, &["-p", "left-x"]);
    assert_eq!(names(&order(&plan)), [("core-x", 0), ("left-x", 1)]);
    assert_eq!(
        plan["crates"][0]["pulled_in_by"],
        serde_json::json!(["left-x"])
    );
    let human = fx.shipper(&["plan", "-p", "left-x"]).ok();
    assert!(human.contains("needed by left-x"), "{human}");
    assert!(human.contains("app-x 0.1.0: not selected by -p"), "{human}");
}

#[test]
fn exclude_leaves_a_registry_requirement() {
    let fx = diamond_and_chain(r#""core", "left", "right", "app", "cli""#);
    let plan = plan_json(&fx, &["--exclude", "core-x"]);
    assert_eq!(order(&plan).len(), 4);
    assert_eq!(plan["excluded"][0]["reason"], "excluded_by_flag");
    let needs: Vec<_> = plan["external_requirements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["dependent"].as_str().unwrap(),
                r["member"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(needs, [("left-x", "core-x"), ("right-x", "core-x")]);
}

#[test]
fn hard_cycle_is_an_error_naming_the_crates() {
    let fx = Fixture::new();
    fx.file(
        "Cargo.toml",
        "[workspace]\nmembers = [\"a\", \"b\", \"c\"]\n",
    )
    .package(
        "a",
        "cyc-a",
        "0.1.0",
        "[dependencies]\ncyc-b = { path = \"../b\", version = \"0.1\" }",
    )
    .package(
        "b",
        "cyc-b",
        "0.1.0",
        "[build-dependencies]\ncyc-a = { path = \"../a\", version = \"0.1\" }",
    )
    .package("c", "cyc-c", "0.1.0", "");
    let run = fx.shipper(&["plan"]);
    assert_eq!(run.code(), 3, "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("dependency cycle between `cyc-a`, `cyc-b`"),
        "{}",
        run.stderr()
    );
    assert!(run.stdout().is_empty());
}

#[test]
fn versioned_dev_dependency_orders_without_a_cycle() {
    let fx = Fixture::new();
    fx.file("Cargo.toml", "[workspace]\nmembers = [\"a\", \"kit\"]\n")
        .package(
            "a",
            "dev-a",
            "0.1.0",
            "[dev-dependencies]\ndev-kit = { path = \"../kit\", version = \"0.1\" }",
        )
        .package("kit", "dev-kit", "0.1.0", "");
    let plan = plan_json(&fx, &[]);
    assert_eq!(names(&order(&plan)), [("dev-kit", 0), ("dev-a", 1)]);
    assert!(plan["broken_edges"].as_array().unwrap().is_empty());
}

/// tokio-like: `t` dev-depends on `t-test` with a version, `t-test` depends on `t`.
fn dev_cycle(dev_version: Option<&str>) -> Fixture {
    let fx = Fixture::new();
    let dev = match dev_version {
        Some(v) => format!("t-test = {{ path = \"../t-test\", version = \"{v}\" }}"),
        None => "t-test = { path = \"../t-test\" }".to_owned(),
    };
    fx.file("Cargo.toml", "[workspace]\nmembers = [\"t\", \"t-test\"]\n")
        .package("t", "t", "1.2.0", &format!("[dev-dependencies]\n{dev}"))
        .package(
            "t-test",
            "t-test",
            "0.4.1",
            "[dependencies]\nt = { path = \"../t\", version = \"1\" }",
        );
    fx
}

#[test]
fn dev_cycle_offline_needs_a_registry_check() {
    let fx = dev_cycle(Some("0.4"));
    let plan = plan_json(&fx, &["--offline"]);
    assert_eq!(names(&order(&plan)), [("t", 0), ("t-test", 1)]);
    assert_eq!(
        plan["broken_edges"][0]["resolution"],
        "needs_registry_check"
    );
    let human = fx.shipper(&["plan", "--offline"]).ok();
    assert!(
        human.contains("t dev-depends on t-test ^0.4: needs registry check"),
        "{human}"
    );
}

#[test]
fn unversioned_dev_dependency_closes_no_cycle() {
    let fx = dev_cycle(None);
    let plan = plan_json(&fx, &[]);
    assert_eq!(names(&order(&plan)), [("t", 0), ("t-test", 1)]);
    assert!(plan["broken_edges"].as_array().unwrap().is_empty());
}

#[test]
fn patch_reached_members_are_hard_edges() {
    // tokio's layout: members depend on crates.io names that [patch] maps to members.
    let fx = Fixture::new();
    fx.file(
        "Cargo.toml",
        "[workspace]\nmembers = [\"app\", \"lib\"]\n\n[patch.crates-io]\npatched-lib = { path = \"lib\" }\n",
    )
    .package("app", "patched-app", "0.3.0", "[dependencies]\npatched-lib = \"0.2\"")
    .package("lib", "patched-lib", "0.2.5", "");
    let plan = plan_json(&fx, &[]);
    assert_eq!(
        names(&order(&plan)),
        [("patched-lib", 0), ("patched-app", 1)]
    );
}

#[test]
fn patch_that_does_not_match_the_requirement_makes_no_edge() {
    let fx = Fixture::new();
    fx.file(
        "Cargo.toml",
        "[workspace]\nmembers = [\"app\", \"lib\"]\n\n[patch.crates-io]\npatched-lib = { path = \"lib\" }\n",
    )
    .package("app", "patched-app", "0.3.0", "[dependencies]\npatched-lib = \"0.1\"")
    .package("lib", "patched-lib", "0.2.5", "");
    let plan = plan_json(&fx, &[]);
    assert_eq!(
        names(&order(&plan)),
        [("patched-app", 0), ("patched-lib", 0)]
    );
}

#[test]
fn publish_false_dependency_is_an_error_naming_both() {
    let fx = Fixture::new();
    fx.file("Cargo.toml", "[workspace]\nmembers = [\"pub\", \"priv\"]\n")
        .package(
            "pub",
            "open-crate",
            "0.1.0",
            "[dependencies]\nclosed-crate = { path = \"../priv\", version = \"0.1\" }",
        )
        .package("priv", "closed-crate", "0.1.0", "publish = false");
    let run = fx.shipper(&["plan"]);
    assert_eq!(run.code(), 3);
    let err = run.stderr();
    assert!(
        err.contains("`open-crate` depends on `closed-crate`"),
        "{err}"
    );
    assert!(err.contains("publish = false"), "{err}");
    assert!(err.contains("--exclude open-crate"), "{err}");
}

#[test]
fn publish_list_follows_the_target_registry() {
    let fx = Fixture::new();
    fx.file("Cargo.toml", "[workspace]\nmembers = [\"a\", \"b\"]\n")
        .package("a", "alt-only", "0.1.0", "publish = [\"alt\"]")
        .package("b", "anywhere", "0.1.0", "")
        .cargo_config("[registries.alt]\nindex = \"sparse+http://127.0.0.1:9/index/\"");
    // As `cargo publish --workspace`: settings that differ name no target.
    let run = fx.shipper(&["plan"]);
    assert_eq!(run.code(), 3, "{}", run.stderr());
    assert!(run.stderr().contains("`alt`"), "{}", run.stderr());
    assert!(run.stderr().contains("--registry NAME"), "{}", run.stderr());

    let default = plan_json(&fx, &["--registry", "crates-io"]);
    assert_eq!(names(&order(&default)), [("anywhere", 0)]);
    assert_eq!(default["excluded"][0]["reason"], "not_for_target");
    assert_eq!(
        default["excluded"][0]["allowed"],
        serde_json::json!(["alt"])
    );

    let alt = plan_json(&fx, &["--registry", "alt"]);
    assert_eq!(names(&order(&alt)), [("alt-only", 0), ("anywhere", 0)]);
    assert_eq!(alt["registry"]["key"], "sparse+http://127.0.0.1:9/index/");
    assert_ne!(alt["plan_id"], default["plan_id"]);

    // An index URL has no name a `publish` list could match.
    let by_index = plan_json(&fx, &["--index", "sparse+http://127.0.0.1:9/index/"]);
    assert_eq!(names(&order(&by_index)), [("anywhere", 0)]);

    // cargo applies `registry.default` as if given with `--registry`.
    fx.cargo_config("[registry]\ndefault = \"alt\"\n");
    let configured = plan_json(&fx, &[]);
    assert_eq!(configured["registry"]["key"], alt["registry"]["key"]);
    assert_eq!(configured["plan_id"], alt["plan_id"]);
}

#[test]
fn one_registry_all_members_list_is_the_target() {
    let fx = Fixture::new();
    fx.file("Cargo.toml", "[workspace]\nmembers = [\"a\", \"b\", \"p\"]\n")
        .package("a", "alt-a", "0.1.0", "publish = [\"alt\"]")
        .package("b", "alt-b", "0.1.0", "publish = [\"alt\"]")
        // `publish = false` members do not take part in the inference.
        .package("p", "private", "0.1.0", "publish = false")
        .cargo_config("[registries.alt]\nindex = \"sparse+http://127.0.0.1:9/index/\"\n[registries.other]\nindex = \"sparse+http://127.0.0.1:9/other/\"");
    let plan = plan_json(&fx, &[]);
    assert_eq!(plan["registry"]["key"], "sparse+http://127.0.0.1:9/index/");
    assert_eq!(names(&order(&plan)), [("alt-a", 0), ("alt-b", 0)]);

    // The same list of two registries: cargo asks which.
    for dir in ["a", "b"] {
        let path = fx.root().join(dir).join("Cargo.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("[\"alt\"]", "[\"alt\", \"other\"]")).unwrap();
    }
    let run = fx.shipper(&["plan"]);
    assert_eq!(run.code(), 3, "{}", run.stderr());
    assert!(run.stderr().contains("`alt`, `other`"), "{}", run.stderr());
    // A flag settles it.
    let other = plan_json(&fx, &["--registry", "other"]);
    assert_eq!(other["registry"]["key"], "sparse+http://127.0.0.1:9/other/");
}

#[test]
fn renamed_and_target_specific_dependencies_are_edges() {
    let fx = Fixture::new();
    fx.file(
        "Cargo.toml",
        "[workspace]\nmembers = [\"a\", \"b\", \"c\"]\n",
    )
    .package("a", "ren-a", "0.1.0", "")
    .package("b", "ren-b", "0.1.0", "")
    .package(
        "c",
        "ren-c",
        "0.1.0",
        "[dependencies]\nalias = { package = \"ren-a\", path = \"../a\", version = \"0.1\" }\n\
             [target.'cfg(windows)'.dependencies]\nren-b = { path = \"../b\", version = \"0.1\" }",
    );
    let plan = plan_json(&fx, &[]);
    assert_eq!(
        names(&order(&plan)),
        [("ren-a", 0), ("ren-b", 0), ("ren-c", 1)]
    );
    assert_eq!(
        plan["crates"][2]["depends_on"],
        serde_json::json!(["ren-a", "ren-b"])
    );
}

#[test]
fn workspace_inheritance_and_a_root_package() {
    let fx = Fixture::new();
    fx.file(
        "Cargo.toml",
        "[package]\nname = \"root-pkg\"\nversion.workspace = true\nedition = \"2021\"\n\
         license = \"MIT\"\ndescription = \"root\"\n\n[dependencies]\ninh-core.workspace = true\n\n\
         [workspace]\nmembers = [\"core\"]\n\n[workspace.package]\nversion = \"3.1.4\"\n\n\
         [workspace.dependencies]\ninh-core = { path = \"core\", version = \"3.1\" }\n",
    )
    .file("src/lib.rs", "")
    .file(
        "core/Cargo.toml",
        "[package]\nname = \"inh-core\"\nversion.workspace = true\nedition = \"2021\"\n\
         license = \"MIT\"\ndescription = \"core\"\n",
    )
    .file("core/src/lib.rs", "");
    let plan = plan_json(&fx, &[]);
    assert_eq!(names(&order(&plan)), [("inh-core", 0), ("root-pkg", 1)]);
    assert_eq!(plan["crates"][1]["version"], "3.1.4");
    assert_eq!(plan["crates"][1]["rel_dir"], ".");
}

#[test]
fn broken_manifest_is_a_clear_error_with_its_exit_code() {
    let fx = Fixture::new();
    fx.file("Cargo.toml", "[workspace]\nmembers = [\"a\"]\n")
        .file(
            "a/Cargo.toml",
            "[package]\nname = \"a\"\nversion = \"0.1.0\nedition = \"2021\"\n",
        );
    let run = fx.shipper(&["plan"]);
    assert_eq!(run.code(), 3);
    let err = run.stderr();
    assert!(
        err.contains("error: could not load the workspace at"),
        "{err}"
    );
    assert!(
        err.contains("a/Cargo.toml:3:17"),
        "cargo points at the line: {err}"
    );
    assert!(err.contains("invalid basic string"), "{err}");
    assert!(run.stdout().is_empty());
}

#[test]
fn missing_manifest_and_unknown_package_and_registry() {
    let fx = diamond_and_chain(r#""core", "left", "right", "app", "cli""#);
    let run = fx.shipper(&["plan", "--manifest-path", "nope/Cargo.toml"]);
    assert_eq!(run.code(), 3);
    assert!(
        run.stderr()
            .contains("manifest path `nope/Cargo.toml` does not exist")
    );

    let run = fx.shipper(&["plan", "-p", "ghost"]);
    assert_eq!(run.code(), 3);
    assert!(
        run.stderr()
            .contains("`ghost` is not a member of this workspace")
    );

    let run = fx.shipper(&["plan", "--registry", "nowhere"]);
    assert_eq!(run.code(), 1);
    assert!(
        run.stderr().contains("registry `nowhere`"),
        "{}",
        run.stderr()
    );
}

#[test]
fn path_dependency_without_version_is_reported_before_publishing() {
    let fx = Fixture::new();
    fx.file("Cargo.toml", "[workspace]\nmembers = [\"a\", \"b\"]\n")
        .package(
            "a",
            "nov-a",
            "0.1.0",
            "[dependencies]\nnov-b = { path = \"../b\" }",
        )
        .package("b", "nov-b", "0.7.0", "");
    let run = fx.shipper(&["plan"]);
    assert_eq!(run.code(), 3);
    assert!(
        run.stderr().contains("add `version = \"0.7.0\"`"),
        "{}",
        run.stderr()
    );
}

#[test]
fn index_urls_with_credentials_are_refused() {
    let fx = diamond_and_chain(r#""core", "left", "right", "app", "cli""#);
    let run = fx.shipper(&[
        "plan",
        "--index",
        "sparse+http://user:secret@127.0.0.1:9/index/",
    ]);
    assert_eq!(run.code(), 1);
    assert!(
        run.stderr().contains("carries credentials"),
        "{}",
        run.stderr()
    );
    assert!(!run.stderr().contains("secret"), "{}", run.stderr());
}
