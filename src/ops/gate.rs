//! The publish gate (`--require-rehearsal`): publish only what a passing
//! rehearsal of the same plan uploaded, byte for byte (sha256 of each
//! `.crate` about to go out).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::journal::{RehearsalFileError, RehearsalRecord, RehearsedOutcome};
use crate::model::{Exit, HasExit};
use crate::plan::Plan;
use crate::registry::UploadJob;

/// Why the gate refuses. Each names what to do next.
#[derive(Debug, thiserror::Error)]
pub enum GateRefusal {
    #[error(
        "no rehearsal found (`{}`), and this release requires one; run `cargo shipper rehearse` first",
        .0.display()
    )]
    Missing(PathBuf),
    #[error("the rehearsal record cannot be used; run `cargo shipper rehearse` again")]
    Unreadable(#[source] RehearsalFileError),
    #[error(
        "`{}` is not a record a rehearsal wrote: {}; nothing was uploaded; run `cargo shipper rehearse` again",
        path.display(),
        problems.join("; ")
    )]
    Malformed {
        path: PathBuf,
        problems: Vec<String>,
    },
    #[error(
        "the plan changed since the rehearsal (rehearsed plan {rehearsed}, now {now}: {changes}); \
         run `cargo shipper rehearse` again"
    )]
    PlanChanged {
        rehearsed: String,
        now: String,
        changes: String,
    },
    #[error(
        "the rehearsal of plan {plan} failed ({failures}); fix it and run `cargo shipper rehearse` again"
    )]
    RehearsalFailed { plan: String, failures: String },
    #[error(
        "these crates differ from what the rehearsal uploaded: {crates}; run `cargo shipper rehearse` again"
    )]
    NotRehearsed {
        /// "name (why)" for each crate.
        crates: String,
    },
}

impl HasExit for GateRefusal {
    /// A record that cannot be read as one a rehearsal wrote is a bad
    /// input file; a record that refuses (missing, failed, another plan,
    /// other bytes) is a failure: rehearse again.
    fn exit(&self) -> Exit {
        match self {
            GateRefusal::Malformed { .. }
            | GateRefusal::Unreadable(
                RehearsalFileError::Malformed { .. } | RehearsalFileError::Newer { .. },
            ) => Exit::BadInputFile,
            _ => Exit::Failure,
        }
    }
}

/// `rehearsal.json` in the state directory root.
pub fn record_path(state_root: &Path) -> PathBuf {
    state_root.join("rehearsal.json")
}

/// Before packaging: a passing rehearsal of this very plan exists.
pub fn check_plan(path: &Path, plan: &Plan) -> Result<RehearsalRecord, GateRefusal> {
    let record = read_consistent(path)?;
    if record.plan_id != plan.id {
        return Err(GateRefusal::PlanChanged {
            rehearsed: record.plan_id.short().to_owned(),
            now: plan.id.short().to_owned(),
            changes: plan_changes(&record, plan),
        });
    }
    // Same plan id, so the same crates: a record that lists others was edited.
    let listed: BTreeSet<(&str, String)> = record
        .crates
        .iter()
        .map(|c| (c.name.as_str(), c.version.clone()))
        .collect();
    let planned: BTreeSet<(&str, String)> = plan
        .crates
        .iter()
        .map(|c| (c.name.as_str(), c.version.to_string()))
        .collect();
    if listed != planned {
        let mut problems: Vec<String> = planned
            .difference(&listed)
            .map(|(n, v)| format!("the plan's `{n} {v}` is missing"))
            .collect();
        problems.extend(
            listed
                .difference(&planned)
                .map(|(n, v)| format!("`{n} {v}` is not in the plan")),
        );
        return Err(GateRefusal::Malformed {
            path: path.to_owned(),
            problems,
        });
    }
    // The verdict is the parts', whatever the `verdict` field says.
    if !record.passed() {
        let failed = record.failed_parts();
        return Err(GateRefusal::RehearsalFailed {
            plan: record.plan_id.short().to_owned(),
            failures: if failed.is_empty() {
                "no reason recorded".into()
            } else {
                failed.join("; ")
            },
        });
    }
    Ok(record)
}

/// The record at `path`, refused when missing, unreadable, or inconsistent
/// with itself (see [`RehearsalRecord::inconsistencies`]).
fn read_consistent(path: &Path) -> Result<RehearsalRecord, GateRefusal> {
    let record = RehearsalRecord::read(path)
        .map_err(GateRefusal::Unreadable)?
        .ok_or_else(|| GateRefusal::Missing(path.to_owned()))?;
    let problems = record.inconsistencies();
    if problems.is_empty() {
        Ok(record)
    } else {
        Err(GateRefusal::Malformed {
            path: path.to_owned(),
            problems,
        })
    }
}

/// After packaging: each crate about to be uploaded has the sha256 the
/// rehearsal recorded for it.
pub fn check_bytes(path: &Path, jobs: &[UploadJob]) -> Result<(), GateRefusal> {
    let record = read_consistent(path)?;
    let mut differing = Vec::new();
    for job in jobs {
        let rehearsed = record
            .crates
            .iter()
            .find(|c| c.name == job.name && c.version == job.version);
        let why = match rehearsed {
            None => Some("not in the rehearsal".to_owned()),
            Some(c) if c.outcome == RehearsedOutcome::OnLiveTarget => Some(
                "the rehearsal found it on the live target already, so it was not rehearsed"
                    .to_owned(),
            ),
            Some(c)
                if !matches!(
                    c.outcome,
                    RehearsedOutcome::Uploaded | RehearsedOutcome::InRehearsalRegistry
                ) =>
            {
                Some("not uploaded by the rehearsal".to_owned())
            }
            Some(c) if c.sha256.as_deref() != Some(job.sha256.as_str()) => Some(format!(
                "source edited: sha256 {} now, {} rehearsed",
                short(&job.sha256),
                c.sha256.as_deref().map_or("none", short)
            )),
            Some(_) => None,
        };
        if let Some(why) = why {
            differing.push(format!("{} {} ({why})", job.name, job.version));
        }
    }
    if differing.is_empty() {
        Ok(())
    } else {
        Err(GateRefusal::NotRehearsed {
            crates: differing.join(", "),
        })
    }
}

fn short(sha: &str) -> &str {
    &sha[..12.min(sha.len())]
}

/// What differs between the rehearsed release and the plan now.
fn plan_changes(record: &RehearsalRecord, plan: &Plan) -> String {
    let mut changes = Vec::new();
    for c in &plan.crates {
        match record.crates.iter().find(|r| r.name == c.name) {
            None => changes.push(format!("{} added", c.name)),
            Some(old) if old.version != c.version.to_string() => {
                changes.push(format!("{} {} -> {}", c.name, old.version, c.version))
            }
            Some(_) => {}
        }
    }
    for old in &record.crates {
        if plan.get(&old.name).is_none() {
            changes.push(format!("{} removed", old.name));
        }
    }
    if record.live_target != plan.target.key {
        changes.push(format!(
            "target {} -> {}",
            record.live_target, plan.target.key
        ));
    }
    if changes.is_empty() {
        changes.push("dependency edges or order changed".into());
    }
    changes.join("; ")
}

/// How [`GateRefusal`]'s messages name the command that fixes them.
const BARE_REHEARSE: &str = "`cargo shipper rehearse`";

/// A [`GateRefusal`] whose message names the `rehearse` command for this
/// release (its live registry, selection, state directory), so that it
/// works as printed: a bare `cargo shipper rehearse` after `publish
/// --registry acc` would rehearse for crates.io, a plan the gate refuses.
#[derive(Debug)]
pub struct GateRefused {
    pub refusal: GateRefusal,
    /// `cargo shipper rehearse --for-registry acc …`.
    pub rehearse: String,
}

impl std::fmt::Display for GateRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = self.refusal.to_string();
        f.write_str(&text.replace(BARE_REHEARSE, &format!("`{}`", self.rehearse)))
    }
}

impl std::error::Error for GateRefused {
    // The refusal's own causes (its message is this one's).
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.refusal)
    }
}

impl HasExit for GateRefused {
    fn exit(&self) -> Exit {
        self.refusal.exit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_not_readable_as_a_rehearsals_is_a_bad_input_file() {
        let path = PathBuf::from("rehearsal.json");
        let malformed = || RehearsalFileError::Malformed {
            path: path.clone(),
            source: serde_json::from_str::<u32>("x").unwrap_err(),
        };
        let bad_file = [
            GateRefusal::Malformed {
                path: path.clone(),
                problems: vec!["a crate listed twice".into()],
            },
            GateRefusal::Unreadable(malformed()),
            GateRefusal::Unreadable(RehearsalFileError::Newer {
                path: path.clone(),
                found: 9,
            }),
        ];
        for refusal in bad_file {
            assert_eq!(refusal.exit(), Exit::BadInputFile, "{refusal}");
        }
    }

    #[test]
    fn a_record_that_refuses_is_a_failure_and_the_named_refusal_says_the_same() {
        let path = PathBuf::from("rehearsal.json");
        let refusals = [
            GateRefusal::Missing(path.clone()),
            GateRefusal::Unreadable(RehearsalFileError::Io {
                path,
                source: std::io::Error::other("denied"),
            }),
            GateRefusal::PlanChanged {
                rehearsed: "a".into(),
                now: "b".into(),
                changes: "c".into(),
            },
            GateRefusal::RehearsalFailed {
                plan: "a".into(),
                failures: "b".into(),
            },
            GateRefusal::NotRehearsed { crates: "a".into() },
        ];
        for refusal in refusals {
            assert_eq!(refusal.exit(), Exit::Failure, "{refusal}");
        }
        let refused = GateRefused {
            refusal: GateRefusal::Malformed {
                path: "r.json".into(),
                problems: Vec::new(),
            },
            rehearse: "cargo shipper rehearse".into(),
        };
        assert_eq!(refused.exit(), Exit::BadInputFile);
    }
}
