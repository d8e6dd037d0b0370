//! `receipt.json`: what a run did, for people, audits and yank planning
//! (it keeps the dependency graph as it was at release time).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::event::{FORMAT, RunOutcome};
use super::state::{CrateStatus, RunState, Timings};
use crate::model::{Exit, HasExit, PlanId};

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
    /// The digest of its packaged files, `.cargo_vcs_info.json` and
    /// `Cargo.lock` aside: a later run whose packaging has the same digest
    /// holds the same sources (absent in older receipts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files_sha256: Option<String>,
    pub attempts: u32,
    pub timings: Timings,
    /// Plan crates it depends on (the graph at release time).
    pub depends_on: Vec<String>,
    /// Those of `depends_on` it needs only as dev-dependencies: not its
    /// users' concern (absent in receipts written before they were recorded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dev_only: Vec<String>,
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
                    files_sha256: c.files_sha256.clone(),
                    attempts: c.attempts,
                    timings: c.timings,
                    depends_on: c.depends_on.clone(),
                    dev_only: c.dev_only.clone(),
                })
                .collect(),
        }
    }
}

/// Why a receipt file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    #[error("could not read the receipt `{}`", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}` is not a cargo-shipper receipt ({reason})", path.display())]
    Corrupt { path: PathBuf, reason: String },
    #[error(
        "`{}` was written by a newer cargo-shipper (receipt format {found}, this one reads up to {FORMAT}); upgrade cargo-shipper",
        path.display()
    )]
    NewerFormat { path: PathBuf, found: u64 },
    #[error("the receipt `{}` lists no crates", path.display())]
    Empty { path: PathBuf },
}

impl HasExit for ReceiptError {
    fn exit(&self) -> Exit {
        Exit::BadInputFile
    }
}

/// A receipt read from disk, with the sha256 of its bytes (what a yank
/// plan binds to).
#[derive(Debug, Clone)]
pub struct LoadedReceipt {
    pub receipt: Receipt,
    pub sha256: String,
}

/// What is wrong with a crate's recorded name, version or checksum, as
/// cargo-shipper never writes them (a hand-edited file): for receipts and
/// yank plans alike.
pub(super) fn crate_fields_problem(
    name: &str,
    version: &str,
    sha256: Option<&str>,
) -> Option<String> {
    let name_ok = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !name_ok {
        return Some(format!("`{name}` is not a crate name"));
    }
    if semver::Version::parse(version).is_err() {
        return Some(format!("`{name}` has an invalid version `{version}`"));
    }
    if let Some(sum) = sha256
        && !(sum.len() == 64 && sum.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Some(format!(
            "`{name}`'s sha256 `{sum}` is not 64 hexadecimal digits"
        ));
    }
    None
}

impl Receipt {
    /// Read and check a receipt: format first (a newer one is refused
    /// before its fields are trusted), then its shape.
    pub fn load(path: &Path) -> Result<LoadedReceipt, ReceiptError> {
        let bytes = std::fs::read(path).map_err(|source| ReceiptError::Unreadable {
            path: path.to_owned(),
            source,
        })?;
        let corrupt = |reason: String| ReceiptError::Corrupt {
            path: path.to_owned(),
            reason,
        };
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| corrupt(format!("not JSON: {e}")))?;
        let format = value
            .get("format")
            .and_then(|f| f.as_u64())
            .ok_or_else(|| corrupt("no `format` number".into()))?;
        if format > u64::from(FORMAT) {
            return Err(ReceiptError::NewerFormat {
                path: path.to_owned(),
                found: format,
            });
        }
        let receipt: Receipt = serde_json::from_value(value).map_err(|e| corrupt(e.to_string()))?;
        if receipt.crates.is_empty() {
            return Err(ReceiptError::Empty {
                path: path.to_owned(),
            });
        }
        for c in &receipt.crates {
            if let Some(problem) = crate_fields_problem(&c.name, &c.version, c.sha256.as_deref()) {
                return Err(corrupt(problem));
            }
        }
        Ok(LoadedReceipt {
            receipt,
            sha256: hex::encode(Sha256::digest(&bytes)),
        })
    }
}
