//! Is the version a registry holds ours? What was just packaged against
//! what the registry serves, cheapest first: the checksum (packaging is
//! deterministic, so an unchanged crate packaged from the same commit has
//! the same bytes); then the receipts of earlier releases (the registry
//! serves the checksum a release of ours uploaded, and that upload's files
//! had the digest ours have now); only then a download, to compare the
//! files inside (a new commit alone changes `.cargo_vcs_info.json`).
//! Shared by `publish` (a changed version stops the run before its first
//! upload) and `preflight` (it says so).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::cargo_backend::PackagedContents;
use crate::engine::PresentVersion;
use crate::journal::Receipt;
use crate::model::{Coded, Exit, HasExit};
use crate::registry::LiveRegistry;

/// What earlier releases uploaded, from their receipts: (name, version,
/// sha256 uploaded) -> digest of that upload's files.
#[derive(Debug, Default)]
pub struct KnownUploads(BTreeMap<(String, String, String), String>);

impl KnownUploads {
    /// Every receipt under `<state dir>/archive/` (unreadable ones are
    /// passed over: this only saves downloads).
    pub fn read(state_root: &Path) -> KnownUploads {
        let mut known = BTreeMap::new();
        let Ok(entries) = std::fs::read_dir(state_root.join("archive")) else {
            return KnownUploads(known);
        };
        for entry in entries.flatten() {
            let Ok(bytes) = std::fs::read(entry.path().join("receipt.json")) else {
                continue;
            };
            let Ok(receipt) = serde_json::from_slice::<Receipt>(&bytes) else {
                continue;
            };
            for c in receipt.crates {
                if let (Some(sha256), Some(files)) = (c.sha256, c.files_sha256) {
                    known.insert((c.name, c.version, sha256), files);
                }
            }
        }
        KnownUploads(known)
    }

    fn files_of(&self, name: &str, version: &str, sha256: &str) -> Option<&str> {
        self.0
            .get(&(name.to_owned(), version.to_owned(), sha256.to_owned()))
            .map(String::as_str)
    }
}

/// One version to judge.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub name: String,
    pub version: String,
    /// The checksum the registry serves (its index `cksum`).
    pub registry_sha256: String,
    /// The checksum of the `.crate` just packaged.
    pub local_sha256: String,
    /// The digest of its files (`crate_file::files_digest`), when known.
    pub local_files_sha256: Option<String>,
    /// That `.crate`.
    pub local_file: PathBuf,
}

/// The verdict on one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// Same bytes, or the same files (vcs info and lockfile aside).
    Ours,
    /// These files (paths inside the crate) differ.
    Differs { files: Vec<String> },
    /// The registry's `.crate` could not be read or compared.
    Uncompared { error: String },
}

/// Judge each version, in order; downloads (only where the checksums
/// differ) run a few at a time.
pub fn judge(registry: &LiveRegistry, known: &KnownUploads, todo: &[Comparison]) -> Vec<Content> {
    let verdicts = std::sync::Mutex::new(vec![None; todo.len()]);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let downloads = todo
        .iter()
        .filter(|c| c.registry_sha256 != c.local_sha256)
        .count();
    std::thread::scope(|s| {
        for _ in 0..8.min(downloads).max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(c) = todo.get(i) else { break };
                    let verdict = judge_one(registry, known, c);
                    verdicts.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(verdict);
                }
            });
        }
    });
    verdicts
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .map(|v| v.expect("every comparison judged"))
        .collect()
}

/// Judge each version the registry holds against its packaging (every
/// present version must be among `packaged`).
pub fn judge_packaged(
    registry: &LiveRegistry,
    known: &KnownUploads,
    present: &[PresentVersion],
    packaged: &[PackagedContents],
) -> Vec<(PresentVersion, Content)> {
    let todo: Vec<Comparison> = present
        .iter()
        .map(|p| {
            let local = packaged
                .iter()
                .find(|j| j.name == p.name)
                .expect("every present version was packaged");
            Comparison {
                name: p.name.clone(),
                version: p.version.clone(),
                registry_sha256: p.sha256.clone(),
                local_sha256: local.sha256.clone(),
                local_files_sha256: std::fs::read(&local.crate_file)
                    .ok()
                    .and_then(|bytes| crate::crate_file::files_digest(&bytes).ok()),
                local_file: local.crate_file.clone(),
            }
        })
        .collect();
    present
        .iter()
        .cloned()
        .zip(judge(registry, known, &todo))
        .collect()
}

/// `Ok` when every version is ours; else the versions with other content
/// ([`ContentChanged`]), or those that could not be compared
/// ([`ContentUnknown`]).
pub fn refuse_unless_ours(
    holder: Holder,
    judged: Vec<(PresentVersion, Content)>,
) -> anyhow::Result<()> {
    let mut changed = Vec::new();
    let mut unknown = Vec::new();
    for (p, verdict) in judged {
        match verdict {
            Content::Ours => {}
            Content::Differs { files } => changed.push(ChangedVersion {
                name: p.name,
                version: p.version,
                files,
            }),
            Content::Uncompared { error } => {
                unknown.push((format!("{} {}", p.name, p.version), error))
            }
        }
    }
    if !changed.is_empty() {
        return Err(Coded::new(ContentChanged {
            crates: changed,
            holder,
        })
        .into());
    }
    if !unknown.is_empty() {
        return Err(ContentUnknown { crates: unknown }.into());
    }
    Ok(())
}

fn judge_one(registry: &LiveRegistry, known: &KnownUploads, c: &Comparison) -> Content {
    if c.registry_sha256 == c.local_sha256 {
        return Content::Ours;
    }
    if let Some(local) = &c.local_files_sha256
        && known.files_of(&c.name, &c.version, &c.registry_sha256) == Some(local.as_str())
    {
        return Content::Ours;
    }
    let theirs = match registry.download_crate(&c.name, &c.version, &c.registry_sha256) {
        Ok(bytes) => bytes,
        Err(error) => {
            return Content::Uncompared {
                error: error.to_string(),
            };
        }
    };
    let ours = match std::fs::read(&c.local_file) {
        Ok(bytes) => bytes,
        Err(error) => {
            return Content::Uncompared {
                error: format!("could not read `{}`: {error}", c.local_file.display()),
            };
        }
    };
    match crate::crate_file::differing_files(&theirs, &ours) {
        Ok(files) if files.is_empty() => Content::Ours,
        Ok(files) => Content::Differs { files },
        Err(error) => Content::Uncompared {
            error: format!("the registry's .crate could not be read: {error}"),
        },
    }
}

/// Which registry holds versions with other content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// The registry this run uploads to.
    Target,
    /// A rehearsal's registry (kept from an earlier rehearsal, or named).
    RehearsalRegistry,
    /// The live target a rehearsal stands in for: the release would stop.
    LiveTarget,
}

/// Versions already in the registry whose content is not the release's:
/// the run stops before any upload (a published version cannot change).
#[derive(Debug, thiserror::Error)]
#[error(
    "{} already in the {} with other content than this release's: {}. A published version \
     cannot change: {}. Nothing was uploaded.",
    match .crates.len() { 1 => "a version is".to_owned(), n => format!("{n} versions are") },
    match .holder {
        Holder::Target => "registry",
        Holder::RehearsalRegistry => "rehearsal registry",
        Holder::LiveTarget => "live target (`publish` would stop there, exit 9)",
    },
    .crates.iter().map(ChangedVersion::to_string).collect::<Vec<_>>().join("; "),
    match .holder {
        Holder::RehearsalRegistry => "bump the version of each (and of what depends on it; \
            `cargo shipper fix-forward` computes the bumps), or, if an earlier rehearsal left those \
            bytes, rehearse into an empty registry (a new `--keep` directory)",
        _ => "bump the version of each (and of what depends on it), then run again; \
            `cargo shipper fix-forward` computes the bumps",
    }
)]
pub struct ContentChanged {
    pub crates: Vec<ChangedVersion>,
    pub holder: Holder,
}

impl HasExit for ContentChanged {
    fn exit(&self) -> Exit {
        Exit::ContentChanged
    }
}

/// One version whose content changed without a version bump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedVersion {
    pub name: String,
    pub version: String,
    pub files: Vec<String>,
}

impl std::fmt::Display for ChangedVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const SHOWN: usize = 5;
        let mut files = self
            .files
            .iter()
            .take(SHOWN)
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        if self.files.len() > SHOWN {
            files.push_str(&format!(" and {} more", self.files.len() - SHOWN));
        }
        write!(f, "{} {} (differs in {files})", self.name, self.version)
    }
}

/// Versions the registry holds that could not be compared with the
/// release's: skipping them unchecked could hide a changed crate.
#[derive(Debug, thiserror::Error)]
#[error(
    "could not tell whether the registry's copy of {} is this release's: {}; nothing was \
     uploaded. Check that the registry serves its downloads (`dl` in its config.json), then run again",
    .crates.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", "),
    .crates.iter().map(|(n, e)| format!("{n}: {e}")).collect::<Vec<_>>().join("; ")
)]
pub struct ContentUnknown {
    /// `name version`, the error.
    pub crates: Vec<(String, String)>,
}
