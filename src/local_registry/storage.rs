//! The registry's directory: index files at the standard prefix paths and
//! `.crate` files, each written atomically (temp file, fsync, rename).
//! Mutations are serialized by a mutex so concurrent uploads cannot lose an
//! index line.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use crate::atomic::write_atomic;

use super::index_entry::IndexEntry;

/// Why a registry operation was refused; the server maps each to a status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("crate version `{0}` is already uploaded")]
    Duplicate(String),
    /// 413.
    #[error("{0}")]
    TooLarge(String),
    /// 403: the caller may not do this.
    #[error("{0}")]
    Forbidden(String),
}

/// Whether an upload may create a crate (its first version).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstVersion {
    Allowed,
    /// Refused with this reason (a 403).
    Refused(&'static str),
}

pub struct Storage {
    root: PathBuf,
    /// Held while writing; guards the crate names too.
    write_lock: Mutex<Names>,
}

/// Every crate held, by canonical name (see [`canonical_name`]) -> the
/// name as first published. Index files are found by the lower-cased name,
/// which keeps `-` and `_` apart; crates.io does not.
type Names = HashMap<String, String>;

impl Storage {
    pub fn open(root: &Path) -> std::io::Result<Storage> {
        std::fs::create_dir_all(root.join("index"))?;
        std::fs::create_dir_all(root.join("crates"))?;
        // Writable now, not at the first upload.
        tempfile::NamedTempFile::new_in(root.join("crates"))?;
        let mut names = Names::new();
        collect_names(&root.join("index"), &mut names)?;
        Ok(Storage {
            root: root.to_owned(),
            write_lock: Mutex::new(names),
        })
    }

    /// Index file path for `name`, relative to the index root (`3/a/abc`).
    pub fn index_rel_path(name: &str) -> String {
        let name = name.to_ascii_lowercase();
        match name.len() {
            1 => format!("1/{name}"),
            2 => format!("2/{name}"),
            3 => format!("3/{}/{name}", &name[..1]),
            _ => format!("{}/{}/{name}", &name[..2], &name[2..4]),
        }
    }

    /// Raw bytes of the index file at a relative path, if any.
    pub fn read_index_file(&self, rel: &str) -> Option<Vec<u8>> {
        if rel.split('/').any(|part| part.is_empty() || part == "..") {
            return None;
        }
        std::fs::read(self.root.join("index").join(rel)).ok()
    }

    pub fn entries(&self, name: &str) -> Vec<IndexEntry> {
        self.read_index_file(&Self::index_rel_path(name))
            .map(|bytes| parse_lines(&bytes))
            .unwrap_or_default()
    }

    /// Owners of a crate (logins), oldest first.
    pub fn owners(&self, name: &str) -> Vec<String> {
        std::fs::read(self.owners_path(name))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    pub fn set_owners(&self, name: &str, owners: &[String]) -> Result<(), Refusal> {
        let _guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        if self.entries(name).is_empty() {
            return Err(Refusal::NotFound(format!("crate `{name}` does not exist")));
        }
        let bytes = serde_json::to_vec(owners).expect("serializable");
        write_atomic(&self.owners_path(name), &bytes).map_err(internal)
    }

    fn owners_path(&self, name: &str) -> PathBuf {
        self.root
            .join("owners")
            .join(format!("{}.json", name.to_ascii_lowercase()))
    }

    fn crate_path(&self, name: &str, version: &str) -> PathBuf {
        self.root
            .join("crates")
            .join(name.to_ascii_lowercase())
            .join(format!("{}-{version}.crate", name.to_ascii_lowercase()))
    }

    pub fn read_crate(&self, name: &str, version: &str) -> Option<Vec<u8>> {
        if !valid_name(name) || version.contains(['/', '\\']) || version.starts_with('.') {
            return None;
        }
        std::fs::read(self.crate_path(name, version)).ok()
    }

    /// Store an upload: checks, then the `.crate` first and the index line
    /// second, so the index never names a file that is not there.
    /// `upstream` lists what a pass-through upstream holds for a name (empty
    /// without one): its versions count as taken, its crates as known.
    pub fn publish(
        &self,
        krate: &crates_io::NewCrate,
        tarball: &[u8],
        metadata: &[u8],
        upstream: &dyn Fn(&str) -> Vec<IndexEntry>,
        first_version: FirstVersion,
    ) -> Result<IndexEntry, Refusal> {
        if !valid_name(&krate.name) {
            return Err(Refusal::BadRequest(format!(
                "invalid crate name `{}`: use ASCII letters, digits, `-` and `_`, starting with a letter, at most 64 characters",
                krate.name
            )));
        }
        if reserved_name(&krate.name) {
            return Err(Refusal::BadRequest(
                "cannot upload a crate with a reserved name".into(),
            ));
        }
        let version = semver::Version::parse(&krate.vers)
            .map_err(|e| Refusal::BadRequest(format!("invalid version `{}`: {e}", krate.vers)))?;
        super::tarball::check(&krate.name, &version, tarball)?;
        let mut names = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let canonical = canonical_name(&krate.name);
        // The name as first published, here or upstream: names that differ
        // only in case or in `-`/`_` are one crate.
        let theirs = upstream(&krate.name);
        let known = names
            .get(&canonical)
            .cloned()
            .or_else(|| theirs.first().map(|e| e.name.clone()))
            .or_else(|| {
                spellings(&krate.name)
                    .into_iter()
                    .skip(1) // asked just above
                    .find_map(|n| upstream(&n).first().map(|e| e.name.clone()))
            });
        if let (None, FirstVersion::Refused(why)) = (&known, first_version) {
            return Err(Refusal::Forbidden(format!(
                "crate `{}` does not exist yet: {why}",
                krate.name
            )));
        }
        if let Some(known) = known
            && known != krate.name
        {
            return Err(Refusal::BadRequest(format!(
                "crate was previously named `{known}`"
            )));
        }
        let mut existing = self.entries(&krate.name);
        existing.extend(theirs);
        // crates.io: a version that differs from a published one only in
        // build metadata is the same version (`=0.1.0` could not tell them apart).
        let same = |e: &&IndexEntry| {
            semver::Version::parse(&e.vers).is_ok_and(|v| {
                (v.major, v.minor, v.patch, &v.pre)
                    == (version.major, version.minor, version.patch, &version.pre)
            })
        };
        if let Some(taken) = existing.iter().find(same) {
            if taken.vers != krate.vers {
                return Err(Refusal::BadRequest(format!(
                    "crate version `{}@{}` is already uploaded as `{}`: versions that differ only in build metadata are the same version",
                    krate.name, krate.vers, taken.vers
                )));
            }
            return Err(Refusal::Duplicate(format!("{}@{}", krate.name, krate.vers)));
        }
        for dep in &krate.deps {
            if dep.registry.is_some() {
                continue; // hosted elsewhere; not ours to check
            }
            if self.entries(&dep.name).is_empty() && upstream(&dep.name).is_empty() {
                return Err(Refusal::BadRequest(format!(
                    "no known crate named `{}` (a dependency of `{}`); publish it first",
                    dep.name, krate.name
                )));
            }
        }
        let cksum = hex::encode(Sha256::digest(tarball));
        let entry = super::index_entry::IndexEntry::from_upload(krate, cksum);
        let crate_path = self.crate_path(&krate.name, &krate.vers);
        write_atomic(&crate_path, tarball).map_err(internal)?;
        // The upload metadata as received, for audits and differential tests.
        write_atomic(&crate_path.with_extension("json"), metadata).map_err(internal)?;
        let mut index = self
            .read_index_file(&Self::index_rel_path(&krate.name))
            .unwrap_or_default();
        index.extend(serde_json::to_vec(&entry).expect("serializable"));
        index.push(b'\n');
        let index_path = self
            .root
            .join("index")
            .join(Self::index_rel_path(&krate.name));
        write_atomic(&index_path, &index).map_err(internal)?;
        if !self.owners_path(&krate.name).exists() {
            let owners = serde_json::to_vec(&[OWNER]).expect("serializable");
            write_atomic(&self.owners_path(&krate.name), &owners).map_err(internal)?;
        }
        names.insert(canonical, krate.name.clone());
        Ok(entry)
    }

    /// Set the `yanked` flag of one version.
    pub fn set_yanked(&self, name: &str, version: &str, yanked: bool) -> Result<(), Refusal> {
        let _guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut entries = self.entries(name);
        let entry = entries
            .iter_mut()
            .find(|e| e.vers == version)
            .ok_or_else(|| {
                Refusal::NotFound(format!(
                    "crate `{name}` does not have a version `{version}`"
                ))
            })?;
        let changed = entry.yanked != yanked;
        entry.yanked = yanked;
        let mut index = Vec::new();
        for e in &entries {
            index.extend(serde_json::to_vec(e).expect("serializable"));
            index.push(b'\n');
        }
        let index_path = self.root.join("index").join(Self::index_rel_path(name));
        write_atomic(&index_path, &index).map_err(internal)?;
        self.audit(&serde_json::json!({
            "action": if yanked { "yank" } else { "unyank" },
            "crate": name,
            "version": version,
            "changed": changed,
        }))
    }

    /// Append one line to `actions.jsonl`, the audit log of yanks and
    /// unyanks (as crates.io keeps one): what was asked, and whether it
    /// changed anything. Called with the write lock held.
    fn audit(&self, action: &serde_json::Value) -> Result<(), Refusal> {
        use std::io::Write as _;
        let mut line = action.to_string();
        line.push('\n');
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.root.join("actions.jsonl"))
            .and_then(|mut f| f.write_all(line.as_bytes()).and_then(|()| f.sync_data()))
            .map_err(internal)
    }
}

/// The one user of this registry: whoever holds its token.
pub const OWNER: &str = "shipper";

/// Index lines, skipping any that do not parse.
pub fn parse_lines(bytes: &[u8]) -> Vec<IndexEntry> {
    bytes
        .split(|b| *b == b'\n')
        .filter(|line| !line.is_empty())
        .filter_map(|line| serde_json::from_slice(line).ok())
        .collect()
}

fn internal(e: std::io::Error) -> Refusal {
    Refusal::BadRequest(format!("registry storage failed: {e}"))
}

/// The spellings of `name` an upstream index may hold it under: as given,
/// and with every `-` as `_` or every `_` as `-` (an index file is found by
/// its exact lower-cased name; trying every mix would be 2^n requests).
pub(super) fn spellings(name: &str) -> Vec<String> {
    let mut all = vec![name.to_owned()];
    for other in [name.replace('-', "_"), name.replace('_', "-")] {
        if !all.contains(&other) {
            all.push(other);
        }
    }
    all
}

/// Fill `names` from the index files under `dir` (at start-up).
fn collect_names(dir: &Path, names: &mut Names) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            collect_names(&entry.path(), names)?;
        } else if kind.is_file()
            && let Some(first) = parse_lines(&std::fs::read(entry.path())?)
                .into_iter()
                .next()
        {
            names
                .entry(canonical_name(&first.name))
                .or_insert(first.name);
        }
    }
    Ok(())
}

pub use crate::crates_io::{canonical_name, reserved_name, valid_name};
