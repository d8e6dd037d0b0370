//! Before packaging: which plan crates does the registry already hold?
//! Asked in parallel; each crate that will not be uploaded gets an event
//! that says why, except versions the registry holds from elsewhere: those
//! are returned as [`RegistryCheck::present`], to be skipped only once
//! their content is known to be ours (`ops` packages and compares them).

use std::collections::{BTreeMap, BTreeSet};

use super::Recorder;
use crate::journal::{CrateStatus, Event, JournalError, SkipReason};
use crate::model::Holding;
use crate::registry::{IndexError, Lookup, Registry};

/// What the check found for the crates still to publish.
#[derive(Debug, Default)]
pub struct RegistryCheck {
    /// Crates to package and upload, in plan order, with "new to the registry".
    pub to_upload: Vec<(String, bool)>,
    /// Crates already uploaded by this journal but not yet seen in the index.
    pub to_confirm: Vec<String>,
    /// Versions the registry holds that this journal did not upload, in
    /// plan order: skipped only when their content is ours.
    pub present: Vec<PresentVersion>,
}

/// A plan version found in the registry, with the checksum it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentVersion {
    pub name: String,
    pub version: String,
    pub sha256: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("could not ask the registry about `{name}`")]
    Registry {
        name: String,
        #[source]
        source: IndexError,
    },
    #[error(
        "the registry no longer has {}, which this release put there (the journal says so): it lost \
         data, or it is not the registry the release started on. Resuming cannot bring them back: \
         start the release over with `cargo shipper publish --abandon-unfinished` (this run is kept \
         under `archive/`)",
        crates.join(", ")
    )]
    Lost {
        /// `name version`, in plan order.
        crates: Vec<String>,
    },
}

/// `unsettled`: crates whose upload outcome is unknown; neither they nor
/// anything depending on them is asked about or packaged (the upload loop
/// records why).
pub fn check_registry(
    rec: &mut Recorder<'_>,
    registry: &dyn Registry,
    threads: usize,
    unsettled: &[String],
) -> Result<RegistryCheck, CheckError> {
    let state = rec.journal().state().expect("a run has started").clone();
    let held_back = dependents_closure(&state, unsettled);
    // What the journal says is out must still be there: a registry that
    // lost it would refuse every dependent, and no resume could fix that.
    let done: Vec<(String, String)> = state
        .crates_in_order()
        .filter(|(_, c)| c.status.is_done())
        .map(|(name, c)| (name.clone(), c.version.clone()))
        .collect();
    let mut still_there = lookup_all(registry, &done, threads);
    let mut lost = Vec::new();
    for (name, version) in &done {
        match still_there.remove(name).expect("asked") {
            Ok(Lookup::Present { .. }) => {}
            Ok(Lookup::NewCrate | Lookup::NewVersion) => lost.push(format!("`{name} {version}`")),
            Err(source) => {
                return Err(CheckError::Registry {
                    name: name.clone(),
                    source,
                });
            }
        }
    }
    if !lost.is_empty() {
        return Err(CheckError::Lost { crates: lost });
    }
    let mut ask = Vec::new();
    let mut check = RegistryCheck::default();
    for (name, c) in state.crates_in_order() {
        match c.status {
            CrateStatus::Published | CrateStatus::AlreadyPresent => {
                rec.record(Event::Skipped {
                    name: name.clone(),
                    version: c.version.clone(),
                    reason: SkipReason::AlreadyDone,
                })?;
            }
            CrateStatus::Uploaded => check.to_confirm.push(name.clone()),
            // Unsettled: neither asked nor uploaded (see `settle_unknown_outcomes`).
            CrateStatus::Uploading | CrateStatus::Ambiguous => {}
            _ if held_back.contains(name) => {}
            _ => ask.push((name.clone(), c.version.clone())),
        }
    }
    let mut answers = lookup_all(registry, &ask, threads);
    for (name, version) in ask {
        match answers.remove(&name).expect("asked") {
            // Our own earlier upload, landed after all (a request from a
            // killed run can arrive after that run's outcome was settled):
            // it is ours to confirm, not someone else's version.
            Ok(Lookup::Present { sha256 })
                if Holding::of(Some(&sha256), sent(&state.crates[&name])) == Holding::Ours =>
            {
                rec.record(Event::Reconciled {
                    name: name.clone(),
                    version,
                    found_sha256: Some(sha256),
                    by_operator: false,
                })?;
                check.to_confirm.push(name);
            }
            Ok(Lookup::Present { sha256 }) => check.present.push(PresentVersion {
                name,
                version,
                sha256,
            }),
            Ok(Lookup::NewCrate) => check.to_upload.push((name, true)),
            Ok(Lookup::NewVersion) => check.to_upload.push((name, false)),
            Err(source) => return Err(CheckError::Registry { name, source }),
        }
    }
    Ok(check)
}

/// The checksum this journal uploaded for a crate, if it ever sent one.
fn sent(c: &crate::journal::CrateState) -> Option<&str> {
    (c.attempts > 0).then_some(c.sha256.as_deref()).flatten()
}

/// `roots` and every plan crate that depends on one of them, directly or not.
fn dependents_closure(state: &crate::journal::RunState, roots: &[String]) -> BTreeSet<String> {
    let mut held: BTreeSet<String> = roots.iter().cloned().collect();
    // Plan order lists dependencies first: one pass suffices.
    for (name, c) in state.crates_in_order() {
        if c.depends_on.iter().any(|d| held.contains(d)) {
            held.insert(name.clone());
        }
    }
    held
}

/// Look every crate up, `threads` at a time.
fn lookup_all(
    registry: &dyn Registry,
    ask: &[(String, String)],
    threads: usize,
) -> BTreeMap<String, Result<Lookup, IndexError>> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(BTreeMap::new());
    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, 16).min(ask.len().max(1)) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some((name, version)) = ask.get(i) else {
                        break;
                    };
                    let answer = registry.lookup(name, version);
                    results
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(name.clone(), answer);
                }
            });
        }
    });
    results.into_inner().unwrap_or_else(|p| p.into_inner())
}
