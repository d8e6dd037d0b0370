//! Real workspace shapes, generated here, each planned, rehearsed (with the
//! interruption drill and the consumer build), published into an embedded
//! registry and checked from the registry's side; and a differential check:
//! the rehearsed `.crate` files hold the files, byte for byte, that the real
//! `cargo package --workspace` makes.

use crate::support;

use std::collections::BTreeMap;
use std::path::Path;

use crate::support::{Fixture, Run, TestRegistry, assert_same_contents, crate_contents};

/// One workspace with a shape in each member (crate names say which):
///
/// - `[workspace.package]` version inheritance, and a derive/runtime pair
///   pinned with `=` through `[workspace.dependencies]` (`sh-derive`, a
///   proc-macro, optional in `sh-runtime` behind `derive = ["dep:sh-derive"]`);
/// - `readme`/`license-file` outside the crate directory (`sh-derive`);
/// - `links` with a build script that reads `data/table.txt`, and
///   `package.include`, versioned with build metadata as `-sys` crates are
///   (`sh-sys 0.9.0+table.3`: `tools/gen.sh` is left out);
/// - a renamed dependency (`rt = { package = "sh-runtime" }`), a build
///   dependency on a member (`sh-codegen`), target-specific dependencies
///   (`cfg(unix)`: `sh-sys`; a cfg false here: `sh-never`), `dep:` and
///   `?/` features on an optional member (`sh-extra`), `package.exclude`,
///   and a dev-dependency on a `publish = false` member by path without a
///   version, used by its integration test (`sh-core`; `sh-testkit`
///   depends back on it);
/// - a binary-only member (`sh-cli`);
/// - pre-release versions depending on each other (`sh-pre-a 1.0.0-rc.1`,
///   `sh-pre-b 1.0.0-dev`).
fn shapes() -> Fixture {
    let fx = Fixture::new();
    fx.file(
        "Cargo.toml",
        r#"[workspace]
resolver = "2"
members = ["crates/*"]

[workspace.package]
version = "2.3.0"
edition = "2021"
license = "MIT"
description = "a workspace shape"

[workspace.dependencies]
sh-derive = { path = "crates/derive", version = "=2.3.0" }
"#,
    )
    .file("README.md", "# shapes\n\nThe workspace's README.\n")
    .file("LICENSE-MIT", "MIT License\n\nCopyright (c) shapes\n")
    .file(
        "crates/derive/Cargo.toml",
        r#"[package]
name = "sh-derive"
version.workspace = true
edition.workspace = true
description.workspace = true
license-file = "../../LICENSE-MIT"
readme = "../../README.md"

[lib]
proc-macro = true
"#,
    )
    .file(
        "crates/derive/src/lib.rs",
        r#"use proc_macro::{TokenStream, TokenTree};

/// `Type::shape_name()`, the type's name.
#[proc_macro_derive(Shape)]
pub fn derive_shape(input: TokenStream) -> TokenStream {
    let mut tokens = input.into_iter();
    let mut name = None;
    while let Some(token) = tokens.next() {
        if matches!(&token, TokenTree::Ident(i) if i.to_string() == "struct") {
            if let Some(TokenTree::Ident(n)) = tokens.next() {
                name = Some(n.to_string());
            }
            break;
        }
    }
    let name = name.expect("a struct");
    format!("impl {name} {{ pub fn shape_name() -> &'static str {{ \"{name}\" }} }}")
        .parse()
        .unwrap()
}
"#,
    )
    .file(
        "crates/runtime/Cargo.toml",
        r#"[package]
name = "sh-runtime"
version.workspace = true
edition.workspace = true
license.workspace = true
description.workspace = true

[dependencies]
sh-derive = { workspace = true, optional = true }

[dev-dependencies]
sh-testkit = { path = "../testkit" }

[features]
default = ["derive"]
derive = ["dep:sh-derive"]
fancy = []
"#,
    )
    .file(
        "crates/runtime/src/lib.rs",
        r#"#[cfg(feature = "derive")]
pub use sh_derive::Shape;

#[cfg(feature = "derive")]
#[derive(Shape)]
pub struct Circle;

pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
"#,
    )
    .file(
        "crates/sys/Cargo.toml",
        r#"[package]
name = "sh-sys"
version = "0.9.0+table.3"
edition.workspace = true
license.workspace = true
description.workspace = true
links = "shsys"
build = "build.rs"
include = ["/src", "/data", "/build.rs"]
"#,
    )
    .file(
        "crates/sys/build.rs",
        r#"fn main() {
    println!("cargo:rerun-if-changed=data/table.txt");
    let table = std::fs::read_to_string("data/table.txt").expect("data/table.txt is packaged");
    let out = std::env::var("OUT_DIR").unwrap();
    std::fs::write(format!("{out}/table.rs"), format!("pub const TABLE: &str = {table:?};")).unwrap();
    println!("cargo:rows={}", table.lines().count());
}
"#,
    )
    .file("crates/sys/data/table.txt", "one 1\ntwo 2\nthree 3\n")
    .file("crates/sys/tools/gen.sh", "#!/bin/sh\necho not packaged\n")
    .file(
        "crates/sys/src/lib.rs",
        "include!(concat!(env!(\"OUT_DIR\"), \"/table.rs\"));\n",
    )
    .file(
        "crates/codegen/Cargo.toml",
        &inheriting("sh-codegen", ""),
    )
    .file(
        "crates/codegen/src/lib.rs",
        r#"/// A constant's Rust source, for build scripts.
pub fn constant(name: &str, value: u32) -> String {
    format!("pub const {}: u32 = {value};\n", name.to_uppercase())
}
"#,
    )
    .file(
        "crates/extra/Cargo.toml",
        &inheriting("sh-extra", "[features]\nfancy = []\n"),
    )
    .file(
        "crates/extra/src/lib.rs",
        "#[cfg(feature = \"fancy\")]\npub const FANCY: bool = true;\n",
    )
    .file("crates/never/Cargo.toml", &inheriting("sh-never", ""))
    .file(
        "crates/never/src/lib.rs",
        "/// Only a target this is not (`target_os = \"none\"`) depends on it.\npub const NEVER: bool = true;\n",
    )
    .file(
        "crates/core/Cargo.toml",
        &inheriting(
            "sh-core",
            r#"exclude = ["/notes"]

[dependencies]
rt = { package = "sh-runtime", path = "../runtime", version = "2.3.0" }
sh-extra = { path = "../extra", version = "2.3.0", optional = true }

[target.'cfg(unix)'.dependencies]
sh-sys = { path = "../sys", version = "0.9.0" }

[target.'cfg(target_os = "none")'.dependencies]
sh-never = { path = "../never", version = "2.3.0" }

[build-dependencies]
sh-codegen = { path = "../codegen", version = "2.3.0" }

[dev-dependencies]
sh-testkit = { path = "../testkit" }

[features]
extra = ["dep:sh-extra"]
extra-fancy = ["sh-extra?/fancy"]
"#,
        ),
    )
    .file(
        "crates/core/build.rs",
        r#"fn main() {
    let out = std::env::var("OUT_DIR").unwrap();
    std::fs::write(format!("{out}/answer.rs"), sh_codegen::constant("answer", 42)).unwrap();
}
"#,
    )
    .file(
        "crates/core/src/lib.rs",
        r#"include!(concat!(env!("OUT_DIR"), "/answer.rs"));

pub use rt::version;

pub fn circle() -> &'static str {
    rt::Circle::shape_name()
}

#[cfg(unix)]
pub fn table() -> &'static str {
    sh_sys::TABLE
}

#[cfg(feature = "extra")]
pub use sh_extra as extra;
"#,
    )
    .file("crates/core/notes/draft.md", "not packaged\n")
    .file(
        "crates/core/tests/it.rs",
        "#[test]\nfn answer() {\n    assert_eq!(sh_testkit::answer(), 42);\n}\n",
    )
    .file(
        "crates/cli/Cargo.toml",
        &inheriting(
            "sh-cli",
            "[dependencies]\nsh-core = { path = \"../core\", version = \"2.3.0\" }\n",
        ),
    )
    .file(
        "crates/cli/src/main.rs",
        "fn main() {\n    println!(\"{} {}\", sh_core::ANSWER, sh_core::circle());\n}\n",
    )
    .file(
        "crates/testkit/Cargo.toml",
        "[package]\nname = \"sh-testkit\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
         publish = false\n\n[dependencies]\nsh-core = { path = \"../core\" }\n",
    )
    .file(
        "crates/testkit/src/lib.rs",
        "pub fn answer() -> u32 {\n    sh_core::ANSWER\n}\n",
    )
    .file(
        "crates/pre-a/Cargo.toml",
        "[package]\nname = \"sh-pre-a\"\nversion = \"1.0.0-rc.1\"\nedition = \"2021\"\n\
         license = \"MIT\"\ndescription = \"a pre-release\"\n",
    )
    .file("crates/pre-a/src/lib.rs", "pub const RC: u32 = 1;\n")
    .file(
        "crates/pre-b/Cargo.toml",
        "[package]\nname = \"sh-pre-b\"\nversion = \"1.0.0-dev\"\nedition = \"2021\"\n\
         license = \"MIT\"\ndescription = \"a pre-release\"\n\n\
         [dependencies]\nsh-pre-a = { path = \"../pre-a\", version = \"1.0.0-rc.1\" }\n",
    )
    .file(
        "crates/pre-b/src/lib.rs",
        "pub fn rc() -> u32 {\n    sh_pre_a::RC\n}\n",
    );
    fx
}

/// A member's manifest inheriting everything from `[workspace.package]`.
fn inheriting(name: &str, rest: &str) -> String {
    format!(
        "[package]\nname = \"{name}\"\nversion.workspace = true\nedition.workspace = true\n\
         license.workspace = true\ndescription.workspace = true\n{rest}"
    )
}

/// The plan's crates of [`shapes`], and their levels.
const SHAPES: [(&str, &str, u64); 10] = [
    ("sh-codegen", "2.3.0", 0),
    ("sh-derive", "2.3.0", 0),
    ("sh-extra", "2.3.0", 0),
    ("sh-never", "2.3.0", 0),
    ("sh-pre-a", "1.0.0-rc.1", 0),
    ("sh-sys", "0.9.0+table.3", 0),
    ("sh-pre-b", "1.0.0-dev", 1),
    ("sh-runtime", "2.3.0", 1),
    ("sh-core", "2.3.0", 2),
    ("sh-cli", "2.3.0", 3),
];

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

/// The one index line of `name@version`.
fn index_line(registry: &TestRegistry, name: &str, version: &str) -> serde_json::Value {
    let text = registry.index_entry(name).text();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|l: &serde_json::Value| l["vers"] == version)
        .collect();
    assert_eq!(lines.len(), 1, "{name}@{version} once: {text}");
    lines.into_iter().next().unwrap()
}

/// The dependency `name` (the manifest key) of an index line.
fn index_dep<'a>(line: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    line["deps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {line}"))
}

/// `features` and `features2` of an index line, merged.
fn index_features(line: &serde_json::Value) -> BTreeMap<String, serde_json::Value> {
    let mut all = BTreeMap::new();
    for key in ["features", "features2"] {
        if let Some(map) = line[key].as_object() {
            all.extend(map.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    all
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A stored `.crate` of a registry's directory (`crates/<name>/<name>-<version>.crate`).
fn stored_crate(root: &Path, name: &str, version: &str) -> Vec<u8> {
    std::fs::read(root.join(format!("crates/{name}/{name}-{version}.crate")))
        .unwrap_or_else(|e| panic!("{name}-{version}.crate in {}: {e}", root.display()))
}

/// Real `cargo package --workspace` for the `local` registry (standing in
/// for crates.io, as the rehearsal's registry does), into `cargo-target/`;
/// `exclude`: the `publish = false` members (`cargo package` would package
/// them, and refuses a path dependency without a version).
fn cargo_package(fx: &Fixture, registry: &TestRegistry, exclude: &[&str]) -> Run {
    let mut args = vec![
        "package",
        "--workspace",
        "--no-verify",
        "--allow-dirty",
        "--registry",
        "local",
        "--target-dir",
        "cargo-target",
    ];
    for member in exclude {
        args.extend(["--exclude", member]);
    }
    fx.cargo(registry, &args)
}

/// Everything committed to a new git repository, as a release is packaged
/// from a checkout (so both packagings write `.cargo_vcs_info.json`). The
/// `.gitignore` does not name `.shipper/`: it keeps itself out of git.
fn committed(fx: &Fixture) {
    fx.file(".gitignore", "/target/\n/kept/\n/cargo-target/\n");
    git(fx, &["init", "-q", "-b", "main"]);
    git(fx, &["add", "-A"]);
    git(fx, &["commit", "-q", "-m", "shapes"]);
}

/// `git ARGS` in the workspace root; its stdout.
fn git(fx: &Fixture, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
        .args(args)
        .current_dir(fx.root())
        .output()
        .expect("git");
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn rehearse(fx: &Fixture, extra: &[&str]) -> Run {
    fx.rehearse(extra)
}

#[test]
fn every_shape_plans_rehearses_publishes_and_packages_as_cargo_does() {
    let live = TestRegistry::start();
    let fx = shapes();
    committed(&fx);
    fx.use_registry(&live)
        .cargo_config("[registry]\ndefault = \"local\"\n");

    // Plan: hard edges through `=` pins, renames, build and target-specific
    // (even a cfg false here) and optional dependencies; none through the
    // unversioned dev-dependency on the `publish = false` member.
    let plan = fx.shipper(&["plan", "--message-format", "json"]).json();
    let mut levels = support::order(&plan);
    assert!(
        levels.windows(2).all(|w| w[0].1 <= w[1].1),
        "published level by level: {plan:#}"
    );
    levels.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    assert_eq!(
        levels,
        SHAPES
            .iter()
            .map(|(n, _, l)| (n.to_string(), *l))
            .collect::<Vec<_>>(),
        "{plan:#}"
    );
    let core = plan["crates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "sh-core")
        .unwrap();
    let mut core_deps: Vec<&str> = core["depends_on"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    core_deps.sort();
    assert_eq!(
        core_deps,
        ["sh-codegen", "sh-extra", "sh-never", "sh-runtime", "sh-sys"],
        "{plan:#}"
    );
    assert!(
        plan["excluded"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "sh-testkit" && e["reason"] == "publish_false"),
        "{plan:#}"
    );
    for (name, version, _) in SHAPES {
        let c = plan["crates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap();
        assert_eq!(c["version"], version, "{name}");
    }

    // Rehearse, verified, with the drill (a real process aborted after the
    // fifth upload, then resumed), keeping the rehearsal registry.
    let kept = fx.root().join("kept");
    let run = rehearse(
        &fx,
        &["--interrupt-after", "5", "--keep", kept.to_str().unwrap()],
    );
    run.ok();
    assert!(
        !run.stderr().contains("semver metadata"),
        "the consumer's requirements carry no build metadata: {}",
        run.stderr()
    );
    let rehearsal = record(&fx);
    assert_eq!(rehearsal["verdict"], "passed", "{rehearsal:#}");
    assert_eq!(rehearsal["drill"]["passed"], true, "{rehearsal:#}");
    assert_eq!(rehearsal["drill"]["interrupt_after"], 5);
    for (name, _, _) in SHAPES {
        assert_eq!(
            crate_entry(&rehearsal, name)["outcome"],
            "uploaded",
            "{name}"
        );
    }
    // The consumer build ran, passed, and depended on every library crate
    // at `=version`: not on the binary-only member, nor the unpublished one.
    let consumer = &rehearsal["consumer_build"];
    assert_eq!(consumer["passed"], true, "{rehearsal:#}");
    let mut depended: Vec<String> = consumer["crates"]
        .as_array()
        .unwrap_or_else(|| panic!("{consumer:#}"))
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c["name"].as_str().unwrap(),
                c["req"].as_str().unwrap()
            )
        })
        .collect();
    depended.sort();
    // Build metadata is no part of a requirement (cargo would warn).
    let mut libraries: Vec<String> = SHAPES
        .iter()
        .filter(|(n, _, _)| *n != "sh-cli")
        .map(|(n, v, _)| format!("{n} ={}", v.split('+').next().unwrap()))
        .collect();
    libraries.sort();
    assert_eq!(depended, libraries);
    // The rehearsed bytes are in the kept registry.
    for (name, version, _) in SHAPES {
        assert_eq!(
            sha256(&stored_crate(&kept, name, version)),
            crate_entry(&rehearsal, name)["sha256"].as_str().unwrap(),
            "{name}"
        );
    }
    assert_eq!(
        live.version_count("sh-core"),
        0,
        "the rehearsal wrote nothing live"
    );

    // Differential: the real cargo packages the same files with the same bytes.
    let head = git(&fx, &["rev-parse", "HEAD"]).trim().to_owned();
    cargo_package(&fx, &live, &["sh-testkit"]).ok();
    for (name, version, _) in SHAPES {
        let ours = stored_crate(&kept, name, version);
        let theirs = std::fs::read(
            fx.root()
                .join(format!("cargo-target/package/{name}-{version}.crate")),
        )
        .unwrap();
        assert_same_contents(name, &ours, &theirs, &[]);
        // Packaged from the checkout, with the commit it was packaged from.
        let vcs_info: serde_json::Value = serde_json::from_slice(
            &crate_contents(&ours)
                .remove(&format!("{name}-{version}/.cargo_vcs_info.json"))
                .unwrap_or_else(|| panic!("{name}: no .cargo_vcs_info.json")),
        )
        .unwrap();
        assert_eq!(vcs_info["git"]["sha1"], head, "{name}: {vcs_info}");
        assert!(vcs_info["git"]["dirty"].is_null(), "{name}: {vcs_info}");
    }

    // Publish, gated on the rehearsal.
    let uploads_before = live.registry.upload_counts();
    fx.publish(&live, &["--require-rehearsal"]).ok();
    let counts = live.registry.upload_counts();
    assert_eq!(
        counts.requests - uploads_before.requests,
        SHAPES.len() as u32,
        "one upload each"
    );
    assert_eq!(counts.duplicates, 0);
    assert_eq!(live.version_count("sh-testkit"), 0);
    for (name, version, _) in SHAPES {
        let line = index_line(&live, name, version);
        let stored = stored_crate(live.root(), name, version);
        assert_eq!(line["cksum"], sha256(&stored), "{name}");
        assert_eq!(
            line["cksum"],
            crate_entry(&rehearsal, name)["sha256"],
            "{name}: the live bytes are the rehearsed bytes"
        );
    }
    assert_registry_shapes(&live);
}

/// What the registry holds says each shape went out as it is.
fn assert_registry_shapes(live: &TestRegistry) {
    let runtime = index_line(live, "sh-runtime", "2.3.0");
    let derive = index_dep(&runtime, "sh-derive");
    assert_eq!(derive["req"], "=2.3.0");
    assert_eq!(derive["optional"], true);
    let features = index_features(&runtime);
    assert_eq!(features["derive"], serde_json::json!(["dep:sh-derive"]));

    let core = index_line(live, "sh-core", "2.3.0");
    let rt = index_dep(&core, "rt");
    assert_eq!(rt["package"], "sh-runtime");
    assert_eq!(rt["req"], "^2.3.0");
    assert_eq!(index_dep(&core, "sh-sys")["target"], "cfg(unix)");
    assert_eq!(
        index_dep(&core, "sh-never")["target"],
        "cfg(target_os = \"none\")"
    );
    assert_eq!(index_dep(&core, "sh-codegen")["kind"], "build");
    assert_eq!(index_dep(&core, "sh-extra")["optional"], true);
    assert!(
        !core.to_string().contains("sh-testkit"),
        "an unversioned dev-dependency is stripped: {core}"
    );
    let features = index_features(&core);
    assert_eq!(features["extra"], serde_json::json!(["dep:sh-extra"]));
    assert_eq!(
        features["extra-fancy"],
        serde_json::json!(["sh-extra?/fancy"])
    );

    assert_eq!(
        index_line(live, "sh-sys", "0.9.0+table.3")["links"],
        "shsys"
    );
    assert_eq!(index_dep(&core, "sh-sys")["req"], "^0.9.0");
    let pre_b = index_line(live, "sh-pre-b", "1.0.0-dev");
    assert_eq!(index_dep(&pre_b, "sh-pre-a")["req"], "^1.0.0-rc.1");

    let files = |name: &str, version: &str| -> Vec<String> {
        crate_contents(&stored_crate(live.root(), name, version))
            .into_keys()
            .map(|p| p.split_once('/').unwrap().1.to_owned())
            .collect()
    };
    // readme and license-file from outside the crate directory.
    let derive = crate_contents(&stored_crate(live.root(), "sh-derive", "2.3.0"));
    assert_eq!(
        derive["sh-derive-2.3.0/README.md"],
        b"# shapes\n\nThe workspace's README.\n"
    );
    assert!(
        derive.contains_key("sh-derive-2.3.0/LICENSE-MIT"),
        "{:?}",
        derive.keys()
    );
    let metadata: serde_json::Value = serde_json::from_slice(
        &std::fs::read(live.root().join("crates/sh-derive/sh-derive-2.3.0.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(metadata["readme"], "# shapes\n\nThe workspace's README.\n");
    assert_eq!(metadata["readme_file"], "README.md");
    assert_eq!(metadata["license_file"], "LICENSE-MIT");
    // include: the build script's data, not the tools.
    let sys = files("sh-sys", "0.9.0+table.3");
    assert!(sys.contains(&"data/table.txt".to_owned()), "{sys:?}");
    assert!(sys.contains(&"build.rs".to_owned()), "{sys:?}");
    assert!(!sys.iter().any(|f| f.starts_with("tools/")), "{sys:?}");
    // exclude.
    let core = files("sh-core", "2.3.0");
    assert!(!core.iter().any(|f| f.starts_with("notes/")), "{core:?}");
    // A binary ships its lockfile.
    assert!(files("sh-cli", "2.3.0").contains(&"Cargo.lock".to_owned()));
}

/// A build script's data file left out of `package.include`: the crate does
/// not build from its packaged sources, a refusal cargo makes too. It names
/// that crate, not every crate of its plan level, with the build script's
/// own words from cargo's output; nothing is uploaded.
#[test]
fn a_build_script_s_file_left_out_of_the_package_is_refused_naming_its_crate() {
    let fx = Fixture::new();
    fx.file(
        "Cargo.toml",
        "[workspace]\nresolver = \"2\"\nmembers = [\"a\", \"sys\", \"z\"]\n",
    )
    .package("a", "shl-a", "0.1.0", "")
    .package("z", "shl-z", "0.1.0", "")
    .package(
        "sys",
        "shl-sys",
        "0.1.0",
        "links = \"shl\"\nbuild = \"build.rs\"\ninclude = [\"/src\", \"/build.rs\"]",
    )
    .file(
        "sys/build.rs",
        "fn main() {\n    std::fs::read_to_string(\"data/table.txt\").expect(\"data/table.txt is packaged\");\n}\n",
    )
    .file("sys/data/table.txt", "one 1\n");
    let run = rehearse(&fx, &[]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let err = run.stderr();
    assert_eq!(
        err.matches("data/table.txt is packaged").count(),
        1,
        "cargo's output says why, once: {err}"
    );
    let record = record(&fx);
    let failure = record["failures"][0].as_str().unwrap();
    assert!(
        failure.contains("packaging failed for shl-sys: "),
        "{record:#}"
    );
    assert!(
        !failure.contains("shl-a") && !failure.contains("shl-z"),
        "{record:#}"
    );
    let last = err.lines().last().unwrap();
    assert!(
        last.contains("packaging failed for shl-sys: ") && last.contains("fix it, then"),
        "{last}"
    );
    for name in ["shl-a", "shl-sys", "shl-z"] {
        assert_ne!(crate_entry(&record, name)["outcome"], "uploaded", "{name}");
    }
}

/// clap's layout: the workspace root is a package (`shr`) pinning its
/// derive member at `=`, in a clean git checkout whose `.gitignore` knows
/// nothing of `.shipper/`. It rehearses and publishes without
/// `--allow-dirty` (the state directory, inside the root package, keeps
/// itself out of git), the root crate holds none of the state, and cargo
/// packages the same files.
#[test]
fn a_workspace_whose_root_is_a_package_rehearses_and_publishes_from_a_clean_checkout() {
    let live = TestRegistry::start();
    let fx = Fixture::new();
    fx.file(
        "Cargo.toml",
        "[package]\nname = \"shr\"\nversion = \"4.5.0\"\nedition = \"2021\"\n\
         license = \"MIT\"\ndescription = \"a root package\"\n\n\
         [dependencies]\nshr-derive = { path = \"derive\", version = \"=4.5.0\" }\n\n\
         [workspace]\nmembers = [\"derive\"]\n",
    )
    .file("src/lib.rs", "pub use shr_derive::NAME;\n")
    .package("derive", "shr-derive", "4.5.0", "")
    .file("derive/src/lib.rs", "pub const NAME: &str = \"shr\";\n")
    .file(".gitignore", "/target/\n");
    git(&fx, &["init", "-q", "-b", "main"]);
    git(&fx, &["add", "-A"]);
    git(&fx, &["commit", "-q", "-m", "root package"]);
    fx.use_registry(&live)
        .cargo_config("[registry]\ndefault = \"local\"\n");
    let plan = fx.shipper(&["plan", "--message-format", "json"]).json();
    assert_eq!(
        support::order(&plan),
        [("shr-derive".to_owned(), 0), ("shr".to_owned(), 1)],
        "{plan:#}"
    );

    let outside = tempfile::tempdir().unwrap();
    let kept = outside.path().join("kept");
    // No `--allow-dirty`: the checkout is clean.
    fx.cmd(["rehearse"])
        .token(&live)
        .args(["--interrupt-after", "1", "--keep", kept.to_str().unwrap()])
        .envs(support::OFFLINE)
        .run()
        .ok();
    let rehearsal = record(&fx);
    assert_eq!(rehearsal["verdict"], "passed", "{rehearsal:#}");
    assert_eq!(rehearsal["consumer_build"]["passed"], true, "{rehearsal:#}");
    assert_eq!(
        git(&fx, &["status", "--porcelain", "--ignored"]),
        "!! .shipper/\n!! target/\n",
        "the state is there, ignored by git"
    );

    // cargo, from the same checkout, unchanged by the rehearsal.
    let target = outside.path().join("cargo-target");
    fx.cargo(
        &live,
        &[
            "package",
            "--workspace",
            "--no-verify",
            "--registry",
            "local",
            "--target-dir",
            target.to_str().unwrap(),
        ],
    )
    .ok();
    for (name, version) in [("shr-derive", "4.5.0"), ("shr", "4.5.0")] {
        let ours = stored_crate(&kept, name, version);
        let theirs = std::fs::read(target.join(format!("package/{name}-{version}.crate"))).unwrap();
        assert_same_contents(name, &ours, &theirs, &[]);
    }

    fx.cmd(["publish", "--require-rehearsal"])
        .token(&live)
        .run()
        .ok();
    assert_eq!(live.registry.upload_counts().requests, 2);
    let root_crate: Vec<String> = crate_contents(&stored_crate(live.root(), "shr", "4.5.0"))
        .into_keys()
        .collect();
    assert!(
        !root_crate
            .iter()
            .any(|f| f.contains(".shipper") || f.contains("derive/")),
        "{root_crate:?}"
    );
    for (name, version) in [("shr-derive", "4.5.0"), ("shr", "4.5.0")] {
        assert_eq!(
            index_line(&live, name, version)["cksum"],
            crate_entry(&rehearsal, name)["sha256"],
            "{name}: the live bytes are the rehearsed bytes"
        );
    }
}

/// A workspace restricted to its own registry (`publish = ["local"]`, as
/// a company's private crates are): the rehearsal packages for a stand-in
/// no `package.publish` list names, yet rehearses, and `publish` to
/// `local` ships the bytes it rehearsed. A crate not for `local` stays out
/// of the plan, as it would out of the release.
#[test]
fn a_workspace_restricted_to_its_registry_rehearses_and_publishes() {
    let live = TestRegistry::start();
    let fx = support::chain(&["spa", "spb"]);
    for dir in ["spa", "spb"] {
        let manifest =
            std::fs::read_to_string(fx.root().join(format!("{dir}/Cargo.toml"))).unwrap();
        fx.file(
            &format!("{dir}/Cargo.toml"),
            &manifest.replace(
                "edition = \"2021\"",
                "edition = \"2021\"\npublish = [\"local\"]",
            ),
        );
    }
    fx.file(
        "Cargo.toml",
        "[workspace]\nresolver = \"2\"\nmembers = [\"spa\", \"spb\", \"spo\"]\n",
    )
    .package("spo", "spo", "0.1.0", "publish = [\"elsewhere\"]");
    fx.use_registry(&live)
        .cargo_config("[registry]\ndefault = \"local\"\n");
    let plan = fx.shipper(&["plan", "--message-format", "json"]).json();
    assert_eq!(
        support::order(&plan),
        [("spa".to_owned(), 0), ("spb".to_owned(), 1)],
        "{plan:#}"
    );
    let kept = fx.root().join("kept");
    rehearse(
        &fx,
        &["--interrupt-after", "1", "--keep", kept.to_str().unwrap()],
    )
    .ok();
    let rehearsal = record(&fx);
    assert_eq!(rehearsal["verdict"], "passed", "{rehearsal:#}");
    assert_eq!(rehearsal["consumer_build"]["passed"], true, "{rehearsal:#}");
    // Packaged by index, the bytes are those cargo packages for `local`.
    cargo_package(&fx, &live, &["spo"]).ok();
    for name in ["spa", "spb"] {
        let theirs = std::fs::read(
            fx.root()
                .join(format!("cargo-target/package/{name}-0.1.0.crate")),
        )
        .unwrap();
        assert_same_contents(name, &stored_crate(&kept, name, "0.1.0"), &theirs, &[]);
    }
    fx.publish(&live, &["--require-rehearsal"]).ok();
    for name in ["spa", "spb"] {
        assert_eq!(
            index_line(&live, name, "0.1.0")["cksum"],
            crate_entry(&rehearsal, name)["sha256"],
            "{name}"
        );
    }
    assert_eq!(live.version_count("spo"), 0);
}

/// A first release of a derive/runtime pair whose derive crate dev-depends
/// on the runtime by version (serde's layout before its first publish):
/// the cycle can only close through a version the registry has, and it has
/// none. cargo refuses too (it resolves the dev-dependency when packaging);
/// ours names the cycle, the dev-dependency, and what to do, before
/// anything is packaged, and doing it works.
#[test]
fn a_first_release_with_a_versioned_dev_dependency_cycle_is_refused_with_the_cycle() {
    let live = TestRegistry::start();
    let fx = Fixture::new();
    fx.file(
        "Cargo.toml",
        "[workspace]\nresolver = \"2\"\nmembers = [\"derive\", \"rt\"]\n",
    )
    .package(
        "derive",
        "sdc-derive",
        "1.0.0",
        "[dev-dependencies]\nsdc = { path = \"../rt\", version = \"1.0.0\" }\n",
    )
    .package(
        "rt",
        "sdc",
        "1.0.0",
        "[dependencies]\nsdc-derive = { path = \"../derive\", version = \"=1.0.0\" }\n",
    );
    fx.use_registry(&live)
        .cargo_config("[registry]\ndefault = \"local\"\n");
    let says = |run: &Run| {
        assert_eq!(run.code(), 3, "{}", run.stderr());
        let err = run.stderr();
        assert!(
            err.contains("dependency cycle between `sdc`, `sdc-derive` closes through dev-dependencies (`sdc-derive` dev-depends on `sdc ^1.0.0`)")
                && err.contains("the registry has no version that satisfies them")
                && err.contains("drop the `version` of those dev-dependencies")
                && err.contains("or publish a satisfying version first"),
            "{err}"
        );
    };
    says(&fx.shipper(&["plan"]));
    says(&rehearse(&fx, &[]));
    says(&fx.publish(&live, &[]));
    assert_eq!(live.registry.upload_counts().requests, 0);
    // cargo refuses the same release, later and less plainly.
    let cargo = fx.cargo(
        &live,
        &[
            "publish",
            "--workspace",
            "--registry",
            "local",
            "--allow-dirty",
            "--dry-run",
        ],
    );
    assert_eq!(cargo.code(), 101, "{}", cargo.stderr());
    assert!(
        cargo
            .stderr()
            .contains("no matching package named `sdc` found"),
        "{}",
        cargo.stderr()
    );
    // What it says to do: an unversioned dev-dependency, stripped on publish.
    fx.package(
        "derive",
        "sdc-derive",
        "1.0.0",
        "[dev-dependencies]\nsdc = { path = \"../rt\" }\n",
    );
    rehearse(&fx, &["--no-verify"]).ok();
    assert_eq!(record(&fx)["verdict"], "passed");
}
