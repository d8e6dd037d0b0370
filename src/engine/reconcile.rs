//! Settling uploads of unknown outcome by asking the registry (web API
//! first, then the index) whether name@version exists: never by guessing,
//! never by uploading blindly.

use super::Recorder;
use crate::journal::{CrateStatus, Event, JournalError};
use crate::registry::{Lookup, Registry};

/// What the registry holds for one version: its checksum, or nothing.
/// `Err` when neither the API nor the index could answer.
pub fn reconcile(
    registry: &dyn Registry,
    name: &str,
    version: &str,
) -> Result<Option<String>, String> {
    let api = registry.api_checksum(name, version);
    if let Ok(Some(sha256)) = api {
        return Ok(Some(sha256));
    }
    match registry.lookup(name, version) {
        Ok(Lookup::Present { sha256 }) => Ok(Some(sha256)),
        Ok(_) if api.is_ok() => Ok(None),
        Ok(_) => Err(format!("{}", api.expect_err("checked"))),
        Err(index) => match api {
            Ok(None) => Ok(None),
            _ => Err(index.to_string()),
        },
    }
}

/// For every crate whose last upload has an intent but no outcome (or an
/// ambiguous one), ask the registry and record what it says. The crates it
/// could not settle get an `unsettled` event and are returned: they, and
/// everything that depends on them, stay out of this run.
pub fn settle_unknown_outcomes(
    rec: &mut Recorder<'_>,
    registry: &dyn Registry,
) -> Result<Vec<String>, JournalError> {
    let state = rec.journal().state().expect("a run has started").clone();
    let mut unsettled = Vec::new();
    for (name, c) in state.crates_in_order() {
        if !matches!(c.status, CrateStatus::Uploading | CrateStatus::Ambiguous) {
            continue;
        }
        match reconcile(registry, name, &c.version) {
            Ok(found_sha256) => rec.record(Event::Reconciled {
                name: name.clone(),
                version: c.version.clone(),
                found_sha256,
            })?,
            Err(error) => {
                rec.record(Event::Unsettled {
                    name: name.clone(),
                    version: c.version.clone(),
                    error,
                })?;
                unsettled.push(name.clone());
            }
        }
    }
    Ok(unsettled)
}
