//! `rehearsal.json` (beside the state directory's runs): what the latest
//! rehearsal found, bound to the plan id of the LIVE target. The publish
//! gate reads it; people and CI read it too. Versioned; readers lenient.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::state::Timings;
use crate::model::PlanId;

/// Format of `rehearsal.json`. A reader refuses a newer value.
pub const REHEARSAL_FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RehearsalRecord {
    pub format: u32,
    /// The plan id for the live target (what `publish` will compute).
    pub plan_id: PlanId,
    /// The live target's key (`crates-io`, or an index URL).
    pub live_target: String,
    pub registry: RehearsalRegistry,
    /// Whether the live target could be asked which versions it has.
    pub live_check: LiveCheck,
    /// Plan crates, in publish order.
    pub crates: Vec<RehearsedCrate>,
    #[serde(default)]
    pub consumer_build: Option<StepResult>,
    /// `--smoke-install`: the binary crates installed from the rehearsal registry.
    #[serde(default)]
    pub smoke_install: Option<StepResult>,
    /// The interruption drill (`--interrupt-after`), when one ran.
    #[serde(default)]
    pub drill: Option<DrillResult>,
    /// Milliseconds since the Unix epoch.
    pub started_at_ms: u64,
    pub duration_ms: u64,
    pub verdict: Verdict,
    /// What failed, one line each (empty when the verdict is `passed`).
    #[serde(default)]
    pub failures: Vec<String>,
    pub tool_version: String,
}

/// The registry the rehearsal published to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RehearsalRegistry {
    /// Started in-process for this rehearsal; `kept` is where its data
    /// stayed (`--keep`), if anywhere.
    Embedded {
        #[serde(default)]
        kept: Option<String>,
    },
    /// A configured registry (`--registry NAME`).
    Named { name: String, index: String },
    /// `--index URL`.
    Index { index: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum LiveCheck {
    Checked,
    /// The live target could not be asked (offline, say): every version
    /// was rehearsed as new, and `publish` will ask again.
    Unreachable {
        error: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RehearsedCrate {
    pub name: String,
    pub version: String,
    pub outcome: RehearsedOutcome,
    /// For `uploaded` and `in_rehearsal_registry`: the `.crate` bytes'
    /// sha256 in the rehearsal registry; for `on_live_target`: the live one.
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default)]
    pub timings: Timings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RehearsedOutcome {
    /// Packaged, uploaded and visible in the rehearsal registry.
    Uploaded,
    /// The live target already has this version: the live run will skip it.
    OnLiveTarget,
    /// A persistent rehearsal registry already held this version.
    InRehearsalRegistry,
    Failed,
    NotAttempted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepResult {
    pub passed: bool,
    pub ms: u64,
    /// cargo's whole output when the step failed.
    #[serde(default)]
    pub message: Option<String>,
    /// The failure in one line, when it can be said more plainly than
    /// `message`: which crate and which requirement, and what to do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// What the step was about: the consumer build's dependencies, the
    /// smoke install's crates, each with the requirement it used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub crates: Vec<StepCrate>,
}

/// A crate a step depended on or installed, and at which requirement
/// (`=version`: what the rehearsal uploaded; `^version`: what the live
/// target already has, as a consumer requires it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepCrate {
    pub name: String,
    pub req: String,
}

/// The interruption drill: the rehearsal was aborted after `interrupt_after`
/// uploads, resumed, and the resume invariants checked from the registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillResult {
    pub interrupt_after: u32,
    /// With `--interrupt-after random`: the seed N was drawn from.
    #[serde(default)]
    pub seed: Option<u64>,
    pub passed: bool,
    /// Invariants that did not hold, one line each.
    #[serde(default)]
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Passed,
    Failed,
}

#[derive(Debug, thiserror::Error)]
pub enum RehearsalFileError {
    #[error("could not read `{}`", path.display())]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}` is not a rehearsal record", path.display())]
    Malformed {
        path: std::path::PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "`{}` was written by a newer cargo-shipper (format {found}, this one reads {REHEARSAL_FORMAT}); upgrade, or rehearse again",
        path.display()
    )]
    Newer {
        path: std::path::PathBuf,
        found: u32,
    },
}

impl RehearsalRecord {
    /// Read a record; `Ok(None)` when there is none.
    pub fn read(path: &Path) -> Result<Option<RehearsalRecord>, RehearsalFileError> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(RehearsalFileError::Io {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        let format = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v.get("format").and_then(|f| f.as_u64()));
        if let Some(found) = format
            && found > u64::from(REHEARSAL_FORMAT)
        {
            return Err(RehearsalFileError::Newer {
                path: path.to_owned(),
                found: found as u32,
            });
        }
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| RehearsalFileError::Malformed {
                path: path.to_owned(),
                source,
            })
    }

    /// Write atomically (temp file, fsync, rename).
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(self).expect("record serializes");
        crate::atomic::write_atomic(path, &bytes)
    }

    /// Passed by its parts, not only by its `verdict` field: every crate
    /// out, every step that ran passed, nothing recorded as failed.
    pub fn passed(&self) -> bool {
        self.verdict == Verdict::Passed && self.failed_parts().is_empty()
    }

    /// What failed, one line each, derived from the record's parts (crates,
    /// consumer build, smoke install, drill) and its `failures`; never from
    /// the `verdict` field.
    pub fn failed_parts(&self) -> Vec<String> {
        let mut failed = Vec::new();
        for c in &self.crates {
            let out = matches!(
                c.outcome,
                RehearsedOutcome::Uploaded
                    | RehearsedOutcome::OnLiveTarget
                    | RehearsedOutcome::InRehearsalRegistry
            );
            if !out {
                failed.push(format!("{} {} did not go out", c.name, c.version));
            }
        }
        for (what, step) in [
            ("consumer build", &self.consumer_build),
            ("smoke install", &self.smoke_install),
        ] {
            if let Some(step) = step.as_ref().filter(|s| !s.passed) {
                failed.push(format!(
                    "{what}: {}",
                    step.message.as_deref().unwrap_or("failed")
                ));
            }
        }
        if let Some(drill) = self
            .drill
            .as_ref()
            .filter(|d| !d.passed || !d.problems.is_empty())
        {
            failed.push(format!(
                "interruption drill: {}",
                if drill.problems.is_empty() {
                    "failed".to_owned()
                } else {
                    drill.problems.join("; ")
                }
            ));
        }
        failed.extend(self.failures.iter().cloned());
        failed
    }

    /// Why the record cannot be what a rehearsal wrote, one line each: a
    /// crate listed twice, a crate that went out without the sha256 the
    /// gate compares, or a `passed` verdict its own parts contradict.
    pub fn inconsistencies(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for c in &self.crates {
            if !seen.insert(c.name.as_str()) {
                problems.push(format!("`{}` is listed more than once", c.name));
            }
            let uploaded = matches!(
                c.outcome,
                RehearsedOutcome::Uploaded | RehearsedOutcome::InRehearsalRegistry
            );
            if uploaded && c.sha256.as_deref().is_none_or(str::is_empty) {
                problems.push(format!(
                    "`{} {}` went out without a recorded sha256",
                    c.name, c.version
                ));
            }
        }
        if self.verdict == Verdict::Passed {
            for failed in self.failed_parts() {
                problems.push(format!("its verdict says passed, yet {failed}"));
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> RehearsalRecord {
        RehearsalRecord {
            format: REHEARSAL_FORMAT,
            plan_id: PlanId::compute("crates-io", &[("a", "1.0.0".into())], &[]),
            live_target: "crates-io".into(),
            registry: RehearsalRegistry::Embedded { kept: None },
            live_check: LiveCheck::Checked,
            crates: vec![RehearsedCrate {
                name: "a".into(),
                version: "1.0.0".into(),
                outcome: RehearsedOutcome::Uploaded,
                sha256: Some("ab".into()),
                timings: Timings::default(),
            }],
            consumer_build: None,
            smoke_install: None,
            drill: None,
            started_at_ms: 1,
            duration_ms: 2,
            verdict: Verdict::Passed,
            failures: vec![],
            tool_version: "t".into(),
        }
    }

    #[test]
    fn round_trips_and_tolerates_unknown_fields() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rehearsal.json");
        assert_eq!(RehearsalRecord::read(&path).unwrap(), None);
        record().write(&path).unwrap();
        assert_eq!(RehearsalRecord::read(&path).unwrap(), Some(record()));
        let mut value: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        value["from_the_future"] = 1.into();
        std::fs::write(&path, value.to_string()).unwrap();
        assert_eq!(RehearsalRecord::read(&path).unwrap(), Some(record()));
    }

    #[test]
    fn the_verdict_is_derived_from_the_parts() {
        assert!(record().passed());
        assert!(record().inconsistencies().is_empty());
        let mut built = record();
        built.consumer_build = Some(StepResult {
            passed: false,
            ms: 1,
            message: Some("E0308".into()),
            summary: None,
            crates: Vec::new(),
        });
        assert!(
            !built.passed(),
            "a failed consumer build is a failed rehearsal"
        );
        assert!(built.inconsistencies()[0].contains("consumer build: E0308"));
        let mut drill = record();
        drill.drill = Some(DrillResult {
            interrupt_after: 1,
            seed: None,
            passed: true,
            problems: vec!["a uploaded twice".into()],
        });
        assert!(!drill.passed());
        let mut twice = record();
        twice.crates.push(twice.crates[0].clone());
        assert!(twice.inconsistencies()[0].contains("more than once"));
        let mut unsummed = record();
        unsummed.crates[0].sha256 = None;
        assert!(!unsummed.inconsistencies().is_empty());
        let mut failed = built.clone();
        failed.verdict = Verdict::Failed;
        assert!(failed.inconsistencies().is_empty(), "failed and says so");
    }

    #[test]
    fn newer_formats_and_garbage_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rehearsal.json");
        let mut value = serde_json::to_value(record()).unwrap();
        value["format"] = 2.into();
        std::fs::write(&path, value.to_string()).unwrap();
        let err = RehearsalRecord::read(&path).unwrap_err().to_string();
        assert!(err.contains("newer cargo-shipper"), "{err}");
        std::fs::write(&path, "{not json").unwrap();
        let err = RehearsalRecord::read(&path).unwrap_err().to_string();
        assert!(err.contains("not a rehearsal record"), "{err}");
    }
}
