//! Facts a receipt records about the tools and the sources: versions of
//! cargo-shipper, the cargo library and rustc; the git commit and whether
//! the tree was dirty. Best effort: a missing `git` or `rustc` leaves a gap.
//! Also whether the user's own `cargo` is newer than the linked library.

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

/// The user's `cargo` is newer than the cargo library that packages the
/// crates: packaging rules (what goes in a `.crate`, the manifest
/// normalization, the lockfile) can differ from what `cargo package` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewerCargo {
    /// The user's cargo release, e.g. `1.99.0`.
    pub user: String,
    /// The linked library's cargo release.
    pub linked: String,
}

/// The cargo release whose packaging rules apply (the linked library's).
pub fn linked_cargo_release() -> String {
    crate::cargo_backend::linked_cargo_release()
}

/// Compare `cargo --version` (the `cargo` that runs this subcommand, from
/// `$CARGO`, else the one on `PATH`) with the linked library. `None` when it
/// is not newer, or cannot be asked.
pub fn newer_user_cargo(dir: &Path) -> Option<NewerCargo> {
    let program = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let text = output(&program, &["--version"], dir)?;
    let linked = crate::cargo_backend::linked_cargo_release();
    newer(&text, &linked)
}

/// `cargo 1.99.0 (abc 2026-01-01)` against `1.97.0`.
fn newer(user_version_line: &str, linked: &str) -> Option<NewerCargo> {
    let user = user_version_line.split_whitespace().nth(1)?;
    let parse = |v: &str| {
        let v = semver::Version::parse(v).ok()?;
        Some((v.major, v.minor, v.patch))
    };
    (parse(user)? > parse(linked)?).then(|| NewerCargo {
        user: user.to_owned(),
        linked: linked.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_newer_release_counts() {
        assert_eq!(
            newer("cargo 1.99.0 (abc 2026-01-01)", "1.97.0"),
            Some(NewerCargo {
                user: "1.99.0".into(),
                linked: "1.97.0".into()
            })
        );
        assert_eq!(newer("cargo 1.97.0", "1.97.0"), None);
        assert_eq!(newer("cargo 1.95.0 (f2d3ce0bd 2026-03-21)", "1.97.0"), None);
        // A nightly of the same release packages like it.
        assert_eq!(newer("cargo 1.97.0-nightly (x)", "1.97.0"), None);
        assert_eq!(newer("not cargo", "1.97.0"), None);
    }
}
