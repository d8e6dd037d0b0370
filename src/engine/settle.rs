//! When an upload of unknown outcome counts as absent. Present is easy:
//! the web API or the index shows the version. Absent needs two waits:
//!
//! - a request of an earlier (killed) process can still land until the
//!   client's upload timeout has passed since its intent, so "absent" before
//!   then would invite a second upload of the same version;
//! - a registry whose web API cannot answer for a version (kellnr answers
//!   an empty 404 for every one) is settled by its index alone, which may
//!   lag: absent once the version stayed out of it for longer than the
//!   propagation this registry has shown in this release (the journal's
//!   `visible` latencies), with a floor.

use std::time::Duration;

use crate::journal::{Event, Record, RunState, now_ms};
use crate::registry::{Lookup, Registry};

/// Shortest wait before an index that lags is trusted to say "absent".
pub const INDEX_WINDOW_FLOOR: Duration = Duration::from_secs(30);

/// What one round of asking the registry says about an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// The registry holds the version, with this checksum.
    Found(String),
    /// It does not, and can no longer receive it from that intent.
    Absent,
    /// Absent so far; ask again until `left` has passed.
    NotYet { left: Duration },
    /// Neither the API nor the index could answer.
    CannotTell(String),
}

/// How long absence must last, counted from the upload's intent.
#[derive(Debug, Clone, Copy)]
pub struct Windows {
    /// A request may still land this long after its intent (zero when the
    /// request is known to have ended, as within the run that sent it).
    pub request: Duration,
    /// The index is trusted to say absent this long after the intent.
    pub index: Duration,
}

impl Windows {
    /// For intents of `state`'s release; `request`: as above.
    pub fn for_release(state: &RunState, request: Duration, floor: Duration) -> Windows {
        Windows {
            request,
            index: index_window(state, floor),
        }
    }
}

/// Twice the longest `visible` latency of this release, at least `floor`
/// (normally [`INDEX_WINDOW_FLOOR`]).
pub fn index_window(state: &RunState, floor: Duration) -> Duration {
    let longest = state
        .crates
        .values()
        .filter_map(|c| c.timings.visible_ms)
        .max()
        .unwrap_or(0);
    Duration::from_millis(longest.saturating_mul(2)).max(floor)
}

/// Ask once. `age`: time since the upload's intent.
pub fn probe(
    registry: &dyn Registry,
    name: &str,
    version: &str,
    age: Duration,
    windows: Windows,
) -> Probe {
    let (api, index) = reconcile_parts(registry, name, version);
    let wait = match (api, index) {
        (Ok(Some(sha256)), _) | (_, Ok(Some(sha256))) => return Probe::Found(sha256),
        // The API says absent: only a request still on its way can change that.
        (Ok(None), _) => windows.request,
        // The API cannot tell; the index says absent, and may lag.
        (Err(_), Ok(None)) => windows.request.max(windows.index),
        (Err(api), Err(index)) => return Probe::CannotTell(format!("{api}; index: {index}")),
    };
    match wait.checked_sub(age) {
        Some(left) if !left.is_zero() => Probe::NotYet { left },
        _ => Probe::Absent,
    }
}

/// What the web API and the index each say: the checksum held, nothing,
/// or why it could not answer.
type Answers = (
    Result<Option<String>, String>,
    Result<Option<String>, String>,
);

/// Ask the web API, then (unless it found the version) the index.
fn reconcile_parts(registry: &dyn Registry, name: &str, version: &str) -> Answers {
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

/// Time since the last upload intent of `name` in `records` (zero if none:
/// nothing in flight can be older than the journal).
pub fn intent_age(records: &[Record], name: &str) -> Duration {
    let at = records.iter().rev().find_map(|r| match &r.event {
        Event::UploadStarted { name: n, .. } if n == name => Some(r.at_ms),
        _ => None,
    });
    at.map_or(Duration::ZERO, |at| {
        Duration::from_millis(now_ms().saturating_sub(at))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{IndexError, Lookup, LookupError, UploadError, UploadJob};
    use crate::secret::Secret;

    /// `api`: `Some(answer)` or `None` for "cannot tell" (kellnr's empty
    /// 404); `index`: the checksum it lists, `Err` when unreadable.
    struct Fixed {
        api: Option<Option<&'static str>>,
        index: Result<Option<&'static str>, ()>,
    }

    impl Registry for Fixed {
        fn lookup(&self, name: &str, _: &str) -> Result<Lookup, IndexError> {
            match self.index {
                Ok(Some(sum)) => Ok(Lookup::Present { sha256: sum.into() }),
                Ok(None) => Ok(Lookup::NewVersion),
                Err(()) => Err(IndexError::Status {
                    name: name.into(),
                    status: 503,
                }),
            }
        }
        fn api_checksum(&self, name: &str, version: &str) -> Result<Option<String>, LookupError> {
            self.api
                .map(|a| a.map(str::to_owned))
                .ok_or_else(|| LookupError {
                    name: name.into(),
                    version: version.into(),
                    message: "HTTP 404".into(),
                })
        }
        fn upload(&self, _: &UploadJob, _: &Secret) -> Result<(), UploadError> {
            unreachable!("settling never uploads")
        }
    }

    const W: Windows = Windows {
        request: Duration::from_secs(120),
        index: Duration::from_secs(30),
    };

    fn ask(registry: &Fixed, age_secs: u64, windows: Windows) -> Probe {
        probe(
            registry,
            "a",
            "1.0.0",
            Duration::from_secs(age_secs),
            windows,
        )
    }

    #[test]
    fn present_as_soon_as_either_shows_it() {
        let api = Fixed {
            api: Some(Some("s")),
            index: Err(()),
        };
        assert_eq!(ask(&api, 0, W), Probe::Found("s".into()));
        let index = Fixed {
            api: None,
            index: Ok(Some("s")),
        };
        assert_eq!(ask(&index, 0, W), Probe::Found("s".into()));
    }

    #[test]
    fn a_young_intent_is_not_absent_before_its_request_could_have_landed() {
        let registry = Fixed {
            api: Some(None),
            index: Ok(None),
        };
        assert_eq!(
            ask(&registry, 10, W),
            Probe::NotYet {
                left: Duration::from_secs(110)
            }
        );
        assert_eq!(ask(&registry, 120, W), Probe::Absent);
    }

    #[test]
    fn without_the_version_api_the_index_decides_after_its_window() {
        let kellnr = Fixed {
            api: None,
            index: Ok(None),
        };
        let ended = Windows {
            request: Duration::ZERO,
            ..W
        };
        assert_eq!(
            ask(&kellnr, 5, ended),
            Probe::NotYet {
                left: Duration::from_secs(25)
            }
        );
        assert_eq!(ask(&kellnr, 30, ended), Probe::Absent);
        // An earlier process's request: the longer of the two windows.
        assert_eq!(
            ask(&kellnr, 60, W),
            Probe::NotYet {
                left: Duration::from_secs(60)
            }
        );
    }

    #[test]
    fn neither_answering_cannot_tell() {
        let registry = Fixed {
            api: None,
            index: Err(()),
        };
        assert!(matches!(ask(&registry, 500, W), Probe::CannotTell(_)));
    }

    #[test]
    fn the_index_window_follows_the_release_s_slowest_propagation() {
        let mut state: RunState = serde_json::from_value(serde_json::json!({
            "format": 1, "plan_id": "0".repeat(64), "registry": "r", "runs": 1, "last_seq": 1,
            "order": ["a"], "crates": {"a": {"version": "1.0.0", "depends_on": [], "status": "published",
            "attempts": 1, "run_attempts": 1}}
        }))
        .unwrap();
        assert_eq!(index_window(&state, INDEX_WINDOW_FLOOR), INDEX_WINDOW_FLOOR);
        state.crates.get_mut("a").unwrap().timings.visible_ms = Some(40_000);
        assert_eq!(
            index_window(&state, INDEX_WINDOW_FLOOR),
            Duration::from_secs(80)
        );
    }
}
