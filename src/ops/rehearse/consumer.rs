//! The consumer build: a generated crate that depends on every library
//! crate of the release, those the rehearsal uploaded at `=version` and
//! those the live target already has as a consumer would require them
//! (`^version`), resolved only through the rehearsal registry (crates.io
//! replaced by it), type-checked in-process. It catches
//! what per-crate verification cannot: two crates with the same `links`,
//! features that only meet in a consumer, a dependency that resolves only
//! through a path. It lives in [`ConsumerHome`] when it can (its target
//! directory kept, so a second rehearsal builds no external crate again),
//! with its lockfile seeded from the workspace's: external crates resolve
//! to the versions the workspace locked, unless one of them is yanked (a
//! new consumer would never get it; the consumer then resolves afresh).
//! And the smoke install (`--smoke-install`): the binary crates installed
//! from the rehearsal registry into a temporary root.

use std::time::Instant;

use anyhow::Context as _;

use super::consumer_home::ConsumerHome;
use crate::cargo_backend;
use crate::journal::StepResult;
use crate::workspace::LoadedWorkspace;

/// The name of the generated crate.
pub const CONSUMER_NAME: &str = "shipper-rehearsal-consumer";

/// A library crate the consumer depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerDep {
    pub name: String,
    pub version: String,
    /// At `=version` (the rehearsal uploaded it); else `^version`.
    pub pinned: bool,
}

impl ConsumerDep {
    pub fn requirement(&self) -> String {
        // Without build metadata (`2.0.9+zstd.1.5.5`): a requirement
        // ignores it, and cargo warns about one that has it.
        let version = self.version.split('+').next().unwrap_or_default();
        match self.pinned {
            true => format!("={version}"),
            false => format!("^{version}"),
        }
    }
}

/// `deps`: the library crates the release put out. In `home` when there is
/// one (its target directory kept for the next rehearsal), else in a
/// temporary directory.
pub fn build(
    ws: &LoadedWorkspace,
    cargo_config: &[String],
    deps: &[ConsumerDep],
    home: Option<&ConsumerHome>,
) -> StepResult {
    let started = Instant::now();
    let result = check(ws, cargo_config, deps, home);
    // Said plainly when cargo says which dependency could not be resolved.
    let summary = result.as_ref().err().and_then(|error| {
        let (path, reason) = cargo_backend::resolve_failure(error)?;
        let path: Vec<String> = path
            .iter()
            .map(|p| {
                match deps
                    .iter()
                    .find(|d| p == &format!("{} {}", d.name, d.version))
                {
                    Some(d) => format!("{} {}", d.name, d.requirement()),
                    None => p.clone(),
                }
            })
            .collect();
        Some(format!(
            "a consumer of the release cannot resolve its dependencies: {}: {reason}. Raise or \
             replace that requirement (`cargo shipper preflight` reports yanked pins), or make \
             the crates agree; cargo's whole output is in rehearsal.json (consumer_build.message)",
            path.join(" → ")
        ))
    });
    let result = result.with_context(|| {
        format!(
            "a crate depending on {} (from the rehearsal registry) does not build",
            deps.iter()
                .map(|d| format!("{} {}", d.name, d.requirement()))
                .collect::<Vec<_>>()
                .join(", ")
        )
    });
    StepResult {
        passed: result.is_ok(),
        ms: started.elapsed().as_millis() as u64,
        message: result.err().map(|e| format!("{e:#}")),
        summary,
        crates: Vec::new(),
    }
}

/// The consumer build, not run: the toolchain is older than the
/// `rust-version` of `above` (`(name, rust-version)`).
pub fn toolchain_too_old(above: &[(String, String)], rustc: &str) -> StepResult {
    let needed = above
        .iter()
        .map(|(_, v)| v.as_str())
        .max_by_key(|v| {
            let mut p = v.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
            (p.next(), p.next(), p.next())
        })
        .unwrap_or_default();
    StepResult {
        passed: false,
        ms: 0,
        summary: None,
        crates: Vec::new(),
        message: Some(format!(
            "rustc {rustc} is older than the `rust-version` of {}: building the release needs rustc \
             {needed} or newer. Run the rehearsal with a newer toolchain (`rustup update`, or \
             `cargo +{needed} shipper rehearse`), or lower those `rust-version`s if the crates \
             really build with {rustc}",
            above
                .iter()
                .map(|(name, v)| format!("{name} ({v})"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn check(
    ws: &LoadedWorkspace,
    cargo_config: &[String],
    deps: &[ConsumerDep],
    home: Option<&ConsumerHome>,
) -> anyhow::Result<()> {
    let mut manifest = format!(
        "[package]\nname = \"{CONSUMER_NAME}\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
         publish = false\n\n[workspace]\n\n[dependencies]\n"
    );
    for dep in deps {
        // Names and versions are cargo-validated: no quoting needed.
        manifest.push_str(&format!("{} = \"{}\"\n", dep.name, dep.requirement()));
    }
    let workspace_lock = ws.root()?.join("Cargo.lock");
    let temporary;
    let (dir, mut config) = match home {
        Some(home) => {
            home.write_crate(&manifest, Some(&workspace_lock))
                .context("could not write the consumer crate")?;
            let target = home.target_dir();
            let target = target
                .to_str()
                .context("the consumer's target directory is not valid UTF-8")?;
            (
                home.dir().to_owned(),
                vec![format!(
                    "build.target-dir={}",
                    serde_json::to_string(target).expect("a string serializes")
                )],
            )
        }
        None => {
            temporary = tempfile::Builder::new()
                .prefix("shipper-consumer-")
                .tempdir()
                .context("could not create a directory for the consumer crate")?;
            std::fs::write(temporary.path().join("Cargo.toml"), &manifest)?;
            std::fs::create_dir_all(temporary.path().join("src"))?;
            std::fs::write(temporary.path().join("src/lib.rs"), "")?;
            if let Ok(lock) = std::fs::read(&workspace_lock) {
                std::fs::write(temporary.path().join("Cargo.lock"), lock)?;
            }
            (temporary.path().to_owned(), Vec::new())
        }
    };
    config.extend(cargo_config.iter().cloned());
    let consumer = ws.sibling(&dir.join("Cargo.toml"), &config)?;
    // The seed keeps what the workspace locked, as far as a new consumer
    // could get it: with a yanked version in it (or a seed cargo cannot
    // use), the consumer resolves afresh, as one without a lockfile would.
    let seed = dir.join("Cargo.lock");
    // A seed that locks no registry package (a workspace without external
    // dependencies) cannot hold a yanked one: no resolve to ask.
    let locks_registry_packages = std::fs::read_to_string(&seed)
        .is_ok_and(|text| text.lines().any(|l| l.starts_with("source = \"")));
    if locks_registry_packages
        && !cargo_backend::yanked_in_resolve(&consumer).is_ok_and(|y| y.is_empty())
    {
        std::fs::remove_file(&seed).context("could not remove the consumer's lockfile")?;
    }
    cargo_backend::check_consumer(&consumer)
}

/// Install `bins` (name, version) from the rehearsal registry into a
/// temporary root, then drop it.
pub fn smoke_install(ws: &LoadedWorkspace, bins: &[(String, String)]) -> StepResult {
    let started = Instant::now();
    let result = (|| {
        let root = tempfile::Builder::new()
            .prefix("shipper-smoke-install-")
            .tempdir()
            .context("could not create a temporary install root")?;
        cargo_backend::install(ws, root.path(), bins)
    })()
    .with_context(|| {
        format!(
            "installing {} from the rehearsal registry failed",
            bins.iter()
                .map(|(name, version)| format!("{name} {version}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    });
    StepResult {
        passed: result.is_ok(),
        ms: started.elapsed().as_millis() as u64,
        message: result.err().map(|e| format!("{e:#}")),
        summary: None,
        crates: Vec::new(),
    }
}
