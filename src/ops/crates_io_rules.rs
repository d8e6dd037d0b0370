//! crates.io's publish rules applied to a release before its first upload
//! when the live target is crates.io (`publish`, and `rehearse` standing in
//! for it): a crate crates.io would refuse stops the release while nothing
//! is out yet, instead of after its dependencies went out (a partial
//! release). Every offending crate is named at once, with the rule.

use crate::crates_io::{MAX_CRATE_BYTES, missing_metadata, name_problem};
use crate::ops::PublishOpts;
use crate::plan::Plan;
use crate::registry::UploadJob;
use crate::workspace::{LoadedWorkspace, TargetChoice};

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

/// Whether the release's live target is crates.io (for a rehearsal: the
/// target it stands in for, not the stand-in).
pub fn live_is_crates_io(
    ws: &LoadedWorkspace,
    opts: &PublishOpts,
    target: &TargetChoice,
    plan: &Plan,
) -> anyhow::Result<bool> {
    Ok(match opts.stand_in {
        None => plan.target.key == "crates-io",
        Some(_) => ws.target(target, &ws.model()?)?.key == "crates-io",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn job(name: &str, description: Option<&str>, license_file: Option<&str>) -> UploadJob {
        UploadJob {
            name: name.into(),
            version: "1.0.0".into(),
            sha256: String::new(),
            crate_file: "/nonexistent".into(),
            metadata: crates_io::NewCrate {
                name: name.into(),
                vers: "1.0.0".into(),
                deps: vec![],
                features: BTreeMap::new(),
                authors: vec![],
                description: description.map(str::to_owned),
                documentation: None,
                homepage: None,
                readme: None,
                readme_file: None,
                keywords: vec![],
                categories: vec![],
                license: None,
                license_file: license_file.map(str::to_owned),
                repository: None,
                badges: BTreeMap::new(),
                links: None,
                rust_version: None,
            },
        }
    }

    #[test]
    fn every_refused_crate_is_named_with_each_rule() {
        let fine = job("fine", Some("d"), Some("LICENSE"));
        assert!(check(std::slice::from_ref(&fine)).is_ok());

        let big = tempfile::NamedTempFile::new().unwrap();
        big.as_file().set_len(MAX_CRATE_BYTES + 1).unwrap();
        let mut oversized = job("big", Some("d"), Some("LICENSE"));
        oversized.crate_file = big.path().to_owned();
        let jobs = [
            fine,
            job("bare", Some("  "), None),
            job("std", Some("d"), Some("LICENSE")),
            oversized,
        ];
        let refused = check(&jobs).unwrap_err();
        assert_eq!(refused.crates, ["bare 1.0.0", "std 1.0.0", "big 1.0.0"]);
        let text = refused.refusals.join("\n");
        assert!(
            text.contains("bare 1.0.0: missing or empty metadata fields: description, license"),
            "{text}"
        );
        assert!(text.contains("std 1.0.0: the name is reserved"), "{text}");
        assert!(
            text.contains("big 1.0.0: the `.crate` is 10485761 bytes"),
            "{text}"
        );
    }
}
