//! crates.io's publish rules applied to a release before its first upload
//! when the live target is crates.io (`publish`, and `rehearse` standing in
//! for it): a crate crates.io would refuse stops the release while nothing
//! is out yet, instead of after its dependencies went out (a partial
//! release). Every offending crate is named at once, with the rule.

use crate::crates_io::{MAX_CRATE_BYTES, missing_metadata, name_problem};
use crate::registry::UploadJob;

/// crates.io would refuse these uploads; nothing was uploaded.
#[derive(Debug, thiserror::Error)]
#[error(
    "crates.io would refuse {}, so nothing was uploaded:\n  {}",
    .crates.join(", "),
    .refusals.join("\n  ")
)]
pub struct CratesIoWouldRefuse {
    /// "NAME VERSION" of each crate refused.
    pub crates: Vec<String>,
    /// "NAME VERSION: why" for each refusal.
    pub refusals: Vec<String>,
}

/// Check the packaged uploads (their metadata is what crates.io reads).
pub fn check(jobs: &[UploadJob]) -> Result<(), CratesIoWouldRefuse> {
    let mut refusals = Vec::new();
    let mut crates = Vec::new();
    for job in jobs {
        let before = refusals.len();
        let mut refuse =
            |why: String| refusals.push(format!("{} {}: {why}", job.name, job.version));
        if let Some(problem) = name_problem(&job.name) {
            refuse(problem);
        }
        let filled = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
        let meta = &job.metadata;
        let missing = missing_metadata(
            filled(&meta.description),
            filled(&meta.license) || filled(&meta.license_file),
        );
        if !missing.is_empty() {
            refuse(format!(
                "missing or empty metadata fields: {}; crates.io requires them: add {} to its `[package]`",
                missing.join(", "),
                missing
                    .iter()
                    .map(|field| match *field {
                        "license" => "`license = \"…\"` (or `license-file`)",
                        _ => "`description = \"…\"`",
                    })
                    .collect::<Vec<_>>()
                    .join(" and ")
            ));
        }
        if let Ok(file) = std::fs::metadata(&job.crate_file)
            && file.len() > MAX_CRATE_BYTES
        {
            refuse(format!(
                "the `.crate` is {} bytes; crates.io takes at most {MAX_CRATE_BYTES} (exclude files with `package.exclude`)",
                file.len()
            ));
        }
        if refusals.len() > before {
            crates.push(format!("{} {}", job.name, job.version));
        }
    }
    match refusals.is_empty() {
        true => Ok(()),
        false => Err(CratesIoWouldRefuse { crates, refusals }),
    }
}
