//! Facts a receipt records about the tools and the sources: versions of
//! cargo-shipper, the cargo library and rustc; the git commit and whether
//! the tree was dirty. Best effort: a missing `git` or `rustc` leaves a gap.

use std::path::Path;
use std::process::Command;

use crate::journal::{GitInfo, Provenance};

pub fn collect(root: &Path) -> Provenance {
    Provenance {
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        cargo_version: crate::cargo_backend::cargo_version(),
        rustc_version: output("rustc", &["-V"], root),
        git: git(root),
    }
}

fn git(root: &Path) -> Option<GitInfo> {
    let commit = output("git", &["rev-parse", "HEAD"], root)?;
    let status = output("git", &["status", "--porcelain"], root).unwrap_or_default();
    Some(GitInfo {
        commit,
        dirty: !status.is_empty(),
    })
}

fn output(program: &str, args: &[&str], dir: &Path) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
