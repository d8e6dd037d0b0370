//! The yank plan file (`plan-yank --output`): which versions to yank, in
//! which order, bound to the receipt it was made from (its sha256, plan id
//! and registry). Versioned like every on-disk format: readers ignore fields
//! they do not know and refuse a newer format.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::{Exit, HasExit, PlanId};

/// Format of the yank plan file.
pub const YANK_PLAN_FORMAT: u32 = 1;
/// The `kind` field: tells a yank plan from a receipt or another JSON file.
pub const YANK_PLAN_KIND: &str = "cargo-shipper-yank-plan";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct YankPlan {
    pub format: u32,
    pub kind: String,
    /// The registry's identity as the receipt records it (`crates-io` or
    /// the index URL).
    pub registry: String,
    pub receipt: ReceiptBinding,
    #[serde(default)]
    pub starting_crate: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    /// Yank order: dependents first. `--undo` walks it backwards.
    pub crates: Vec<YankTarget>,
}

/// The receipt a plan was made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptBinding {
    /// sha256 of the receipt file's bytes.
    pub sha256: String,
    /// The release's plan id.
    pub plan_id: PlanId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct YankTarget {
    pub name: String,
    pub version: String,
    /// The checksum the release uploaded: the registry must hold exactly
    /// this, or the version is not the release's to yank.
    #[serde(default)]
    pub sha256: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum YankPlanError {
    #[error("could not read the yank plan `{}`", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}` is not a cargo-shipper yank plan ({reason}); make one with `cargo shipper plan-yank --from-receipt FILE --output FILE`", path.display())]
    Invalid { path: PathBuf, reason: String },
    #[error(
        "`{}` was written by a newer cargo-shipper (yank plan format {found}, this one reads up to {YANK_PLAN_FORMAT}); upgrade cargo-shipper",
        path.display()
    )]
    NewerFormat { path: PathBuf, found: u64 },
}

impl HasExit for YankPlanError {
    fn exit(&self) -> Exit {
        Exit::BadInputFile
    }
}

impl YankPlan {
    /// A stable identity of what the plan does: the registry, the receipt
    /// and the ordered versions (a reformatted file keeps it; an edited
    /// list does not). Yank journals are bound to it.
    pub fn id(&self) -> String {
        let mut text = String::from("cargo-shipper yank plan v1\n");
        text.push_str(&format!("registry {}\n", self.registry));
        text.push_str(&format!("receipt {}\n", self.receipt.sha256));
        for c in &self.crates {
            text.push_str(&format!("crate {}@{}\n", c.name, c.version));
        }
        hex::encode(Sha256::digest(text.as_bytes()))
    }

    pub fn load(path: &Path) -> Result<YankPlan, YankPlanError> {
        let bytes = std::fs::read(path).map_err(|source| YankPlanError::Unreadable {
            path: path.to_owned(),
            source,
        })?;
        let invalid = |reason: String| YankPlanError::Invalid {
            path: path.to_owned(),
            reason,
        };
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| invalid(format!("not JSON: {e}")))?;
        if value.get("kind").and_then(|k| k.as_str()) != Some(YANK_PLAN_KIND) {
            let hint = if value.get("crates").is_some() && value.get("outcome").is_some() {
                "it looks like a receipt"
            } else {
                "no `kind: cargo-shipper-yank-plan`"
            };
            return Err(invalid(hint.into()));
        }
        let format = value
            .get("format")
            .and_then(|f| f.as_u64())
            .ok_or_else(|| invalid("no `format` number".into()))?;
        if format > u64::from(YANK_PLAN_FORMAT) {
            return Err(YankPlanError::NewerFormat {
                path: path.to_owned(),
                found: format,
            });
        }
        let plan: YankPlan = serde_json::from_value(value).map_err(|e| invalid(e.to_string()))?;
        if plan.crates.is_empty() {
            return Err(invalid("it lists no crates".into()));
        }
        let mut seen = std::collections::BTreeSet::new();
        for c in &plan.crates {
            if let Some(problem) =
                super::receipt::crate_fields_problem(&c.name, &c.version, c.sha256.as_deref())
            {
                return Err(invalid(problem));
            }
            if !seen.insert(&c.name) {
                return Err(invalid(format!("`{}` is listed twice", c.name)));
            }
        }
        Ok(plan)
    }
}
