//! The git side of a release: uncommitted changes (cargo refuses to package
//! them without `--allow-dirty`) and whether HEAD carries a tag.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::checks::Severity;
use super::{Check, CheckId, Finding};

/// `output`: the directories cargo writes to (target and build directory,
/// wherever `--target-dir` or the configuration puts them).
pub fn check(root: &Path, output: &[PathBuf], allow_dirty: bool) -> Check {
    let finding = |severity, message: String| Finding {
        krate: None,
        severity,
        message,
    };
    let Some(head) = git(root, &["rev-parse", "--short=12", "HEAD"]) else {
        return Check {
            id: CheckId::Git,
            summary: "not a git checkout (or no commit yet)".into(),
            skipped: None,
            findings: vec![finding(
                Severity::Warn,
                "the workspace is not in a git repository with a commit: the release records no commit"
                    .into(),
            )],
        };
    };
    let mut findings = Vec::new();
    // The state directory and build output are never part of a package.
    let mut args: Vec<String> = ["status", "--porcelain", "--", ".", ":(exclude).shipper"]
        .map(String::from)
        .into();
    args.extend(
        output
            .iter()
            .filter_map(|dir| dir.strip_prefix(root).ok())
            .filter(|rel| !rel.as_os_str().is_empty())
            .filter_map(|rel| rel.to_str())
            .chain(["target"])
            .map(|rel| format!(":(exclude){rel}")),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let changes = git(root, &args).unwrap_or_default();
    let changed: Vec<&str> = changes.lines().map(|l| l.get(3..).unwrap_or(l)).collect();
    if !changed.is_empty() {
        let shown = changed
            .iter()
            .take(5)
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        let more = changed.len().saturating_sub(5);
        let list = if more > 0 {
            format!("{shown} and {more} more")
        } else {
            shown
        };
        findings.push(if allow_dirty {
            finding(
                Severity::Warn,
                format!("uncommitted changes ({list}); allowed by `--allow-dirty`"),
            )
        } else {
            finding(
                Severity::Fail,
                format!(
                    "uncommitted changes ({list}): commit them, or pass `--allow-dirty` to publish them as they are"
                ),
            )
        });
    }
    let tags = git(root, &["tag", "--points-at", "HEAD"]).unwrap_or_default();
    let tags: Vec<&str> = tags.lines().filter(|t| !t.is_empty()).collect();
    if tags.is_empty() {
        findings.push(finding(
            Severity::Warn,
            format!("HEAD ({head}) has no tag: tag the release commit so it can be found later"),
        ));
    }
    Check {
        id: CheckId::Git,
        summary: if tags.is_empty() {
            format!("HEAD {head}")
        } else {
            format!("HEAD {head}, tagged {}", tags.join(", "))
        },
        skipped: None,
        findings,
    }
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim_end().to_owned())
}
