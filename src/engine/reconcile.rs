//! Settling uploads of unknown outcome by asking the registry (web API
//! first, then the index) whether name@version exists: never by guessing,
//! never by uploading blindly. When absence counts is `settle`'s rule.

use std::time::Duration;

use super::settle::{Probe, Windows, intent_age, probe};
use super::{EngineOpts, Recorder};
use crate::journal::{CrateStatus, Event, JournalError};
use crate::registry::{Lookup, Registry};

/// What the web API and the index each say: the checksum held, nothing,
/// or why it could not answer.
pub type Answers = (
    Result<Option<String>, String>,
    Result<Option<String>, String>,
);

/// Ask the web API, then (unless it found the version) the index.
pub fn reconcile_parts(registry: &dyn Registry, name: &str, version: &str) -> Answers {
    let api = registry
        .api_checksum(name, version)
        .map_err(|e| e.to_string());
    if let Ok(Some(_)) = api {
        return (api, Ok(None));
    }
    let index = match registry.lookup(name, version) {
        Ok(Lookup::Present { sha256 }) => Ok(Some(sha256)),
        Ok(Lookup::NewCrate | Lookup::NewVersion) => Ok(None),
        Err(e) => Err(e.to_string()),
    };
    (api, index)
}

/// For every crate whose last upload has an intent but no outcome (or an
/// ambiguous one), ask the registry and record what it says, asking again
/// while absence cannot be trusted yet (see `settle`). The crates it could
/// not settle get an `unsettled` event and are returned: they, and
/// everything that depends on them, stay out of this run. A raised stop
/// flag ends the waiting: the crates still waiting are returned unrecorded.
pub fn settle_unknown_outcomes(
    rec: &mut Recorder<'_>,
    registry: &dyn Registry,
    opts: &EngineOpts,
) -> Result<Vec<String>, JournalError> {
    let state = rec.journal().state().expect("a run has started").clone();
    let windows = Windows::for_release(&state, opts.request_window);
    let mut unsettled = Vec::new();
    for (name, c) in state.crates_in_order() {
        if !matches!(c.status, CrateStatus::Uploading | CrateStatus::Ambiguous) {
            continue;
        }
        let mut announced = false;
        let mut interval = opts.confirm_poll;
        loop {
            let age = intent_age(rec.journal().records(), name);
            let found = match probe(registry, name, &c.version, age, windows) {
                Probe::Found(sha256) => Some(sha256),
                Probe::Absent => None,
                Probe::NotYet { left } => {
                    if !announced {
                        announced = true;
                        rec.record(Event::SettleWaiting {
                            name: name.clone(),
                            version: c.version.clone(),
                            wait_ms: left.as_millis() as u64,
                        })?;
                    }
                    if nap(opts, interval.min(left)) {
                        unsettled.push(name.clone());
                        break;
                    }
                    interval = (interval * 2).min(Duration::from_secs(2));
                    continue;
                }
                Probe::CannotTell(error) => {
                    rec.record(Event::Unsettled {
                        name: name.clone(),
                        version: c.version.clone(),
                        error,
                        refused_as_existing: None,
                    })?;
                    unsettled.push(name.clone());
                    break;
                }
            };
            rec.record(Event::Reconciled {
                name: name.clone(),
                version: c.version.clone(),
                found_sha256: found,
                by_operator: false,
            })?;
            break;
        }
    }
    Ok(unsettled)
}

/// Sleep for `wait`, or less if the run is asked to stop; whether it was.
fn nap(opts: &EngineOpts, wait: Duration) -> bool {
    opts.stop.sleep(wait)
}
