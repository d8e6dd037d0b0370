//! The consumer build's home between rehearsals,
//! `<target-dir>/shipper/consumer/`: the generated crate (its manifest, its
//! lockfile seeded from the workspace's), its own target directory kept so
//! that a second rehearsal builds no external crate again, the port the
//! rehearsal registry listened on last time, and what the last consumer
//! build depended on, by checksum.
//!
//! Why the port: cargo names its download caches, and fingerprints a
//! registry crate's build, by the registry's URL; a new port each time
//! rebuilds everything. Why the checksums: cargo takes a registry crate's
//! name and version for its content, so a crate rehearsed again at the same
//! version with other bytes must be purged from cargo's caches and from the
//! kept target directory, or its old build would stand in for it.
//!
//! One rehearsal at a time uses the home (an OS lock); another one running
//! beside it builds its consumer in a temporary directory, as before.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::workspace::LoadedWorkspace;

/// The home, locked for as long as the value lives.
#[derive(Debug)]
pub struct ConsumerHome {
    dir: PathBuf,
    _lock: File,
}

/// What `last.json` holds: the version of this format, the rehearsal
/// registry's port, and each plan crate the last build could see, by
/// `name version`, with its `.crate` checksum (`None`: not uploaded by the
/// rehearsal, so the live registry's, which never changes).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Last {
    version: u32,
    port: Option<u16>,
    crates: BTreeMap<String, Option<String>>,
}

const LAST_VERSION: u32 = 1;

/// A plan crate as the consumer sees it in cargo's caches.
#[derive(Debug, Clone)]
pub struct SeenCrate {
    pub name: String,
    pub version: String,
    /// Its checksum when the rehearsal uploaded it.
    pub sha256: Option<String>,
}

impl ConsumerHome {
    /// The home under `ws`'s target directory, or `None` when another
    /// rehearsal holds it or it cannot be made (the caller falls back to a
    /// temporary consumer: slower, never wrong).
    pub fn open(ws: &LoadedWorkspace) -> Option<ConsumerHome> {
        let target = ws.cargo_workspace().ok()?.target_dir().into_path_unlocked();
        let dir = target.join("shipper").join("consumer");
        std::fs::create_dir_all(&dir).ok()?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("lock"))
            .ok()?;
        lock.try_lock().ok()?;
        Some(ConsumerHome { dir, _lock: lock })
    }

    /// Where the consumer crate is generated.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The consumer's own target directory, kept between rehearsals.
    pub fn target_dir(&self) -> PathBuf {
        self.dir.join("target")
    }

    fn last_path(&self) -> PathBuf {
        self.dir.join("last.json")
    }

    /// A `last.json` of another format, or unreadable, counts as none: the
    /// next build purges and rebuilds everything it could have reused.
    fn last(&self) -> Last {
        std::fs::read(self.last_path())
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Last>(&bytes).ok())
            .filter(|last| last.version == LAST_VERSION)
            .unwrap_or_default()
    }

    fn write_last(&self, last: &Last) -> anyhow::Result<()> {
        let last = Last {
            version: LAST_VERSION,
            port: last.port,
            crates: last.crates.clone(),
        };
        let bytes = serde_json::to_vec_pretty(&last)?;
        crate::atomic::write_atomic(&self.last_path(), &bytes)
            .with_context(|| format!("could not write `{}`", self.last_path().display()))
    }

    /// The port the rehearsal registry listened on last time.
    pub fn last_port(&self) -> Option<u16> {
        self.last().port
    }

    /// Remember `port` for the next rehearsal. When it differs from the
    /// last one, cargo's caches for the last one's URL are only garbage.
    pub fn remember_port(&self, ws: &LoadedWorkspace, port: u16) -> anyhow::Result<()> {
        let mut last = self.last();
        if let Some(old) = last.port.filter(|old| *old != port) {
            crate::cargo_backend::forget_registry_caches(ws, &embedded_index(old));
        }
        last.port = Some(port);
        self.write_last(&last)
    }

    /// Before the consumer build against `index_url`: every plan crate
    /// `seen` that cargo may hold with other bytes is purged from its
    /// download and source caches for that registry (a later download
    /// brings this rehearsal's bytes), and the kept target directory is
    /// removed when a crate last built at the same version had other bytes. The
    /// index cache goes too: it is a few local files, and this registry's
    /// answers are new each time. Then the checksums are recorded.
    pub fn prepare(
        &self,
        ws: &LoadedWorkspace,
        index_url: &str,
        seen: &[SeenCrate],
    ) -> anyhow::Result<()> {
        let mut last = self.last();
        let changed = seen
            .iter()
            .any(|c| last.crates.get(&key(c)).is_some_and(|was| *was != c.sha256));
        if changed {
            let target = self.target_dir();
            if target.exists() {
                std::fs::remove_dir_all(&target).with_context(|| {
                    format!("could not remove the consumer's `{}`", target.display())
                })?;
            }
        }
        // What cargo may hold with other bytes: a crate last seen with
        // another checksum, or never recorded (a cache older than the
        // record, as after `cargo clean`). The same bytes stay cached.
        let stale: Vec<(String, String)> = seen
            .iter()
            .filter(|c| last.crates.get(&key(c)) != Some(&c.sha256))
            .map(|c| (c.name.clone(), c.version.clone()))
            .collect();
        crate::cargo_backend::forget_cached_crates(ws, index_url, &stale)?;
        // Merged, never replaced: the kept target directory may still hold
        // builds of crates this rehearsal did not see.
        last.crates
            .extend(seen.iter().map(|c| (key(c), c.sha256.clone())));
        self.write_last(&last)
    }

    /// Write the consumer's manifest, and its lockfile seeded from the
    /// workspace's (external crates resolve to the versions the workspace
    /// already built, as far as the release allows).
    pub fn write_crate(&self, manifest: &str, workspace_lock: Option<&Path>) -> anyhow::Result<()> {
        write_if_changed(&self.dir.join("src/lib.rs"), b"")?;
        write_if_changed(&self.dir.join("Cargo.toml"), manifest.as_bytes())?;
        let lock = self.dir.join("Cargo.lock");
        match workspace_lock.and_then(|path| std::fs::read(path).ok()) {
            Some(bytes) => write_if_changed(&lock, &bytes)?,
            None if lock.exists() => std::fs::remove_file(&lock)?,
            None => {}
        }
        Ok(())
    }
}

/// A file rewritten with the same bytes would look changed to cargo (its
/// modification time) and rebuild the consumer crate for nothing.
fn write_if_changed(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    crate::atomic::write_atomic(path, bytes)
        .with_context(|| format!("could not write `{}`", path.display()))
}

fn key(c: &SeenCrate) -> String {
    format!("{} {}", c.name, c.version)
}

/// The embedded rehearsal registry's index URL on `port`.
pub fn embedded_index(port: u16) -> String {
    format!("sparse+http://127.0.0.1:{port}/index/")
}
