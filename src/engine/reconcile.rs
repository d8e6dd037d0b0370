//! Settling uploads of unknown outcome of earlier runs, before a run
//! uploads anything, by asking the registry (web API first, then the
//! index) whether name@version exists: never by guessing, never by
//! uploading blindly. When absence counts is `settle`'s rule.

use std::time::Duration;

use super::settle::{Probe, Windows, intent_age, probe};
use super::{EngineOpts, Recorder};
use crate::journal::{CrateStatus, Event, JournalError};
use crate::registry::Registry;

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
    let windows = Windows::for_release(&state, opts.request_window, opts.index_window_floor);
    let mut unsettled = Vec::new();
    for (name, c) in state.crates_in_order() {
        if !matches!(c.status, CrateStatus::Uploading | CrateStatus::Ambiguous) {
            continue;
        }
        let mut announced = false;
        let mut interval = opts.session.confirm_poll;
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
                    if opts.session.wait(interval.min(left)) {
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
