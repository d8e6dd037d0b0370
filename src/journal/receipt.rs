//! `receipt.json`: what a run did, for people, audits and yank planning
//! (it keeps the dependency graph as it was at release time).

use serde::{Deserialize, Serialize};

use super::event::{FORMAT, RunOutcome};
use super::state::{CrateStatus, RunState, Timings};
use crate::plan::PlanId;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    pub format: u32,
    pub plan_id: PlanId,
    pub registry: String,
    pub outcome: RunOutcome,
    pub runs: u32,
    pub tool_version: String,
    pub cargo_version: String,
    #[serde(default)]
    pub rustc_version: Option<String>,
    #[serde(default)]
    pub git: Option<GitInfo>,
    pub crates: Vec<ReceiptCrate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitInfo {
    pub commit: String,
    pub dirty: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptCrate {
    pub name: String,
    pub version: String,
    pub outcome: CrateOutcome,
    #[serde(default)]
    pub sha256: Option<String>,
    pub attempts: u32,
    pub timings: Timings,
    /// Plan crates it depends on (the graph at release time).
    pub depends_on: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrateOutcome {
    Published,
    AlreadyPresent,
    Failed,
    NotAttempted,
}

/// Facts about the tools and sources a receipt records.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    pub tool_version: String,
    pub cargo_version: String,
    pub rustc_version: Option<String>,
    pub git: Option<GitInfo>,
}

impl Receipt {
    pub fn from_state(state: &RunState, outcome: RunOutcome, provenance: &Provenance) -> Receipt {
        Receipt {
            format: FORMAT,
            plan_id: state.plan_id.clone(),
            registry: state.registry.clone(),
            outcome,
            runs: state.runs,
            tool_version: provenance.tool_version.clone(),
            cargo_version: provenance.cargo_version.clone(),
            rustc_version: provenance.rustc_version.clone(),
            git: provenance.git.clone(),
            crates: state
                .crates_in_order()
                .map(|(name, c)| ReceiptCrate {
                    name: name.clone(),
                    version: c.version.clone(),
                    outcome: match c.status {
                        CrateStatus::Published => CrateOutcome::Published,
                        CrateStatus::AlreadyPresent => CrateOutcome::AlreadyPresent,
                        CrateStatus::Pending | CrateStatus::Packaged | CrateStatus::Blocked => {
                            CrateOutcome::NotAttempted
                        }
                        _ => CrateOutcome::Failed,
                    },
                    sha256: c.sha256.clone(),
                    attempts: c.attempts,
                    timings: c.timings,
                    depends_on: c.depends_on.clone(),
                })
                .collect(),
        }
    }
}
