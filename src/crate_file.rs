//! What is inside a `.crate` (a gzipped tar): enough to tell whether two
//! packagings of one version carry the same sources. Two files are left out
//! of the comparison because they change without the sources changing:
//! `.cargo_vcs_info.json` names the commit packaged from, and `Cargo.lock`
//! records the checksums of dependencies (which move with their own vcs info).

use std::collections::BTreeMap;
use std::io::Read;

/// Files that differ between two packagings of the same sources.
const VOLATILE: [&str; 2] = [".cargo_vcs_info.json", "Cargo.lock"];

/// Whether the two `.crate` files hold the same files with the same bytes,
/// apart from [`VOLATILE`] ones.
pub fn same_sources(a: &[u8], b: &[u8]) -> std::io::Result<bool> {
    Ok(differing_files(a, b)?.is_empty())
}

/// The files (paths inside the crate) that one `.crate` has and the other
/// lacks, or that both have with other bytes, [`VOLATILE`] ones aside; sorted.
pub fn differing_files(a: &[u8], b: &[u8]) -> std::io::Result<Vec<String>> {
    let (a, b) = (files(a)?, files(b)?);
    let mut paths: Vec<String> = a
        .iter()
        .filter(|(path, bytes)| b.get(*path) != Some(bytes))
        .map(|(path, _)| path.clone())
        .chain(b.keys().filter(|path| !a.contains_key(*path)).cloned())
        .collect();
    paths.sort();
    Ok(paths)
}

/// A digest of the files [`same_sources`] compares (paths and bytes,
/// [`VOLATILE`] ones aside): two `.crate` files with the same digest hold
/// the same sources. Recorded with each upload, so that a later run can
/// tell its packaging is what the registry holds without downloading it.
pub fn files_digest(crate_file: &[u8]) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for (path, bytes) in files(crate_file)? {
        // Lengths first: no two different file sets hash the same stream.
        hasher.update((path.len() as u64).to_le_bytes());
        hasher.update(path.as_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Path (without the `name-version/` prefix) -> contents.
fn files(crate_file: &[u8]) -> std::io::Result<BTreeMap<String, Vec<u8>>> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(crate_file));
    let mut files = BTreeMap::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        let inner = path.split_once('/').map_or(path.as_str(), |(_, rest)| rest);
        if VOLATILE.contains(&inner) {
            continue;
        }
        let inner = inner.to_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes)?;
        files.insert(inner, bytes);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crate_file(entries: &[(&str, &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::default(),
        ));
        for (path, text) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(text.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder
                .append_data(&mut header, format!("x-0.1.0/{path}"), text.as_bytes())
                .unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn vcs_info_and_lockfile_do_not_count_sources_do() {
        let a = crate_file(&[
            ("src/lib.rs", "fn a() {}"),
            (".cargo_vcs_info.json", "1"),
            ("Cargo.lock", "x"),
        ]);
        let b = crate_file(&[("src/lib.rs", "fn a() {}"), (".cargo_vcs_info.json", "2")]);
        let c = crate_file(&[("src/lib.rs", "fn b() {}"), (".cargo_vcs_info.json", "1")]);
        assert!(same_sources(&a, &b).unwrap());
        assert!(!same_sources(&a, &c).unwrap());
        assert!(same_sources(b"not a crate", &a).is_err());
    }

    #[test]
    fn differing_files_names_changed_added_and_removed_files() {
        let a = crate_file(&[
            ("src/lib.rs", "fn a() {}"),
            ("src/old.rs", ""),
            ("README.md", "same"),
            (".cargo_vcs_info.json", "1"),
        ]);
        let b = crate_file(&[
            ("src/lib.rs", "fn b() {}"),
            ("src/new.rs", ""),
            ("README.md", "same"),
            (".cargo_vcs_info.json", "2"),
        ]);
        assert_eq!(
            differing_files(&a, &b).unwrap(),
            ["src/lib.rs", "src/new.rs", "src/old.rs"]
        );
        assert!(differing_files(&a, &a).unwrap().is_empty());
    }

    #[test]
    fn the_files_digest_ignores_vcs_info_and_lockfile_only() {
        let a = crate_file(&[("src/lib.rs", "x"), (".cargo_vcs_info.json", "1")]);
        let b = crate_file(&[("src/lib.rs", "x"), ("Cargo.lock", "y")]);
        let c = crate_file(&[("src/lib.rs", "z")]);
        let d = crate_file(&[("src/lib.r", "sx")]);
        assert_eq!(files_digest(&a).unwrap(), files_digest(&b).unwrap());
        assert_ne!(files_digest(&a).unwrap(), files_digest(&c).unwrap());
        assert_ne!(files_digest(&a).unwrap(), files_digest(&d).unwrap());
    }
}
