//! Our own overlay of the release's already-packaged crates on the target
//! registry, so each crate is packaged and verified against the exact
//! `.crate` files its plan dependencies will be uploaded as, before anything
//! is uploaded.
//!
//! Why not cargo's: `cargo::ops::package` keeps a temporary overlay
//! (`package/tmp-registry`) for the members it packages in one call, but it
//! links members only through `path` dependencies. Members reached through
//! `[patch]` (tokio's layout: registry requirements patched to members) get
//! no edge, so cargo packages them in name order with no overlay, and a
//! bumped patched dependency is missing when its dependent's lockfile is
//! built ("failed to select a version for the requirement").
//!
//! How: we package one plan level per `ops::package` call and add each
//! packaged crate to a local registry directory (cargo's `local-registry`
//! layout: `index/` lines and `<name>-<version>.crate` files). cargo builds
//! its lockfile and verification workspaces internally, so the only way to
//! reach them is the overlay its workspaces read from the cargo context's
//! environment snapshot (`OVERLAY_ENV`, cargo's own test hook for this
//! overlay). We set it only in a packaging context of our own, never in the
//! process environment, keyed by the source cargo packages for (the same key
//! cargo's own overlay uses, so ours replaces it and holds everything).
//! Locally packaged crates look exactly as if they were in the target
//! registry: the packaged lockfiles and bytes are those of a sequential
//! `cargo publish`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use cargo::core::SourceId;
use crates_io::NewCrate;

/// The cargo context variable that overlays a local registry on a source
/// (`<source url>=<local registry path>`), read by every workspace cargo
/// makes from that context (`Workspace::local_overlays` in cargo 0.98).
const OVERLAY_ENV: &str = "__CARGO_TEST_DEPENDENCY_CONFUSION_VULNERABILITY_DO_NOT_USE_THIS";

/// A local registry directory overlaid on the target's source for the
/// duration of one packaging; removed (with cargo's unpacked copies of its
/// crates) when dropped.
pub(super) struct Overlay {
    root: PathBuf,
    /// The source the overlay pretends to be (cargo's "upstream").
    upstream: SourceId,
    /// Where cargo unpacks the overlay's crates for verification.
    unpacked: PathBuf,
}

impl Overlay {
    /// A fresh, empty overlay under `build_dir` for `upstream` (the target's
    /// source after cargo's built-in replacement, as cargo keys its own).
    pub(super) fn create(
        gctx: &cargo::GlobalContext,
        build_dir: &Path,
        upstream: SourceId,
    ) -> anyhow::Result<Self> {
        // Per process: a concurrent preflight of the same workspace has its own.
        let root = build_dir
            .join("package")
            .join(format!("shipper-overlay-{}", std::process::id()));
        if root.exists() {
            std::fs::remove_dir_all(&root)
                .with_context(|| format!("could not clear `{}`", root.display()))?;
        }
        std::fs::create_dir_all(root.join("index"))
            .with_context(|| format!("could not create `{}`", root.display()))?;
        let sid = SourceId::for_local_registry(&root)?;
        let unpacked = gctx
            .registry_source_path()
            .into_path_unlocked()
            .join(format!(
                "{}-{}",
                sid.url().host_str().unwrap_or(""),
                cargo::util::hex::short_hash(&sid)
            ));
        // Left by a killed run of the same process id: never reuse old sources.
        let _ = std::fs::remove_dir_all(&unpacked);
        Ok(Overlay {
            root,
            upstream,
            unpacked,
        })
    }

    /// The cargo context variable that makes cargo's workspaces see it.
    pub(super) fn env(&self) -> (String, String) {
        (
            OVERLAY_ENV.to_owned(),
            format!("{}={}", self.upstream.as_url(), self.root.display()),
        )
    }

    /// Add an index line as another registry has it (no `.crate`: cargo
    /// reads it for resolution only; these are never built while packaging).
    pub(super) fn add_line(&self, line: &str) -> anyhow::Result<()> {
        let entry: serde_json::Value =
            serde_json::from_str(line).context("a borrowed index line is not JSON")?;
        let name = entry["name"]
            .as_str()
            .context("a borrowed index line has no name")?;
        self.append(name, line.trim_end())
    }

    fn append(&self, name: &str, line: &str) -> anyhow::Result<()> {
        let path = self.root.join("index").join(index_path(name));
        std::fs::create_dir_all(path.parent().expect("index paths have a parent"))?;
        let mut text = std::fs::read_to_string(&path).unwrap_or_default();
        text.push_str(line);
        text.push('\n');
        std::fs::write(&path, text).with_context(|| format!("could not write `{}`", path.display()))
    }

    /// Add a packaged crate: its `.crate` file and its index line (the line
    /// the registry will have after the upload, as cargo writes its own).
    pub(super) fn add(
        &self,
        metadata: &NewCrate,
        crate_file: &Path,
        sha256: &str,
    ) -> anyhow::Result<()> {
        let dest = self
            .root
            .join(format!("{}-{}.crate", metadata.name, metadata.vers));
        std::fs::copy(crate_file, &dest).with_context(|| {
            format!("could not copy `{}` into the overlay", crate_file.display())
        })?;
        let line = serde_json::to_string(&index_line(metadata, sha256))?;
        self.append(&metadata.name, &line)
    }
}

impl Drop for Overlay {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
        let _ = std::fs::remove_dir_all(&self.unpacked);
    }
}

/// A registry index line for `metadata`, as cargo's own overlay writes it:
/// a renamed dependency is listed under its name in the manifest, with the
/// real name as `package`.
fn index_line(metadata: &NewCrate, sha256: &str) -> serde_json::Value {
    let deps: Vec<serde_json::Value> = metadata
        .deps
        .iter()
        .map(|dep| {
            let (name, package) = match &dep.explicit_name_in_toml {
                Some(renamed) => (renamed.clone(), Some(dep.name.clone())),
                None => (dep.name.clone(), None),
            };
            serde_json::json!({
                "name": name,
                "req": dep.version_req,
                "features": dep.features,
                "optional": dep.optional,
                "default_features": dep.default_features,
                "target": dep.target,
                "kind": dep.kind,
                "registry": dep.registry,
                "package": package,
                "artifact": dep.artifact,
                "bindep_target": dep.bindep_target,
                "lib": dep.lib,
            })
        })
        .collect();
    let features: BTreeMap<&String, &Vec<String>> = metadata.features.iter().collect();
    serde_json::json!({
        "name": metadata.name,
        "vers": metadata.vers,
        "deps": deps,
        "features": features,
        "cksum": sha256,
        "yanked": false,
        "links": metadata.links,
        "v": 2,
    })
}

/// cargo's index file layout (`1/a`, `2/ab`, `3/a/abc`, `ab/cd/abcd…`),
/// lowercased.
fn index_path(name: &str) -> PathBuf {
    let name = name.to_lowercase();
    match name.len() {
        1 => PathBuf::from("1").join(&name),
        2 => PathBuf::from("2").join(&name),
        3 => PathBuf::from("3").join(&name[..1]).join(&name),
        _ => PathBuf::from(&name[..2]).join(&name[2..4]).join(&name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_paths_follow_cargo() {
        assert_eq!(index_path("a"), PathBuf::from("1/a"));
        assert_eq!(index_path("Ab"), PathBuf::from("2/ab"));
        assert_eq!(index_path("abc"), PathBuf::from("3/a/abc"));
        assert_eq!(
            index_path("tokio-macros"),
            PathBuf::from("to/ki/tokio-macros")
        );
    }
}
