//! The checks crates.io runs on an uploaded `.crate` before storing it: a
//! gzip'd tar whose every entry lies under `name-version/`, no links, a
//! `Cargo.toml` at `name-version/Cargo.toml` naming the same crate and
//! version as the upload's metadata, and size limits, packed and unpacked.

use std::io::Read;
use std::path::{Component, Path};

use super::storage::Refusal;

/// Largest `.crate` accepted (crates.io's default).
pub const MAX_CRATE: usize = crate::crates_io::MAX_CRATE_BYTES as usize;

/// Largest `.crate` once decompressed (crates.io's default).
pub const MAX_UNPACKED: u64 = 512 * 1024 * 1024;

const MALFORMED: &str = "uploaded tarball is malformed or too large when decompressed";

/// Check `tarball` for `name@version` (`version` as semver prints it).
pub fn check(name: &str, version: &semver::Version, tarball: &[u8]) -> Result<(), Refusal> {
    check_with_limit(name, version, tarball, MAX_UNPACKED)
}

fn check_with_limit(
    name: &str,
    version: &semver::Version,
    tarball: &[u8],
    max_unpacked: u64,
) -> Result<(), Refusal> {
    if tarball.len() > MAX_CRATE {
        return Err(Refusal::TooLarge(format!(
            "max upload size is: {MAX_CRATE}"
        )));
    }
    let bad = |detail: String| Refusal::BadRequest(detail);
    let prefix = format!("{name}-{version}");
    let decoder = flate2::read::GzDecoder::new(tarball);
    let mut archive = tar::Archive::new(Limited {
        inner: decoder,
        left: max_unpacked,
    });
    let mut manifest = None;
    let mut miscased = None;
    let entries = archive.entries().map_err(|_| bad(MALFORMED.into()))?;
    let mut any = false;
    for entry in entries {
        let mut entry = entry.map_err(|_| bad(MALFORMED.into()))?;
        any = true;
        let path = entry
            .path()
            .map_err(|_| bad(MALFORMED.into()))?
            .into_owned();
        let shown = path.display().to_string();
        let normal = path.components().all(|c| matches!(c, Component::Normal(_)));
        if !normal || !path.starts_with(&prefix) {
            return Err(bad(format!("invalid path found: {shown}")));
        }
        let kind = entry.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            return Err(bad(format!(
                "unexpected symlink or hard link found: {shown}"
            )));
        }
        if path == Path::new(&prefix).join("Cargo.toml") {
            let mut text = String::new();
            entry
                .read_to_string(&mut text)
                .map_err(|_| bad(MALFORMED.into()))?;
            manifest = Some(text);
        } else if path
            .strip_prefix(&prefix)
            .is_ok_and(|rest| rest.to_string_lossy().eq_ignore_ascii_case("Cargo.toml"))
        {
            miscased = Some(shown);
        }
    }
    if !any {
        return Err(bad(MALFORMED.into()));
    }
    let Some(manifest) = manifest else {
        return Err(bad(match miscased {
            Some(found) => format!(
                "uploaded tarball is missing a `Cargo.toml` manifest file; `{found}` was found, but must be named `Cargo.toml` with that exact casing"
            ),
            None => "uploaded tarball is missing a `Cargo.toml` manifest file".into(),
        }));
    };
    check_manifest(name, version, &manifest)
}

/// The packaged `Cargo.toml` names the crate and version of the metadata.
fn check_manifest(name: &str, version: &semver::Version, text: &str) -> Result<(), Refusal> {
    let bad = |detail: String| Refusal::BadRequest(detail);
    let doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| bad(format!("the crate's `Cargo.toml` is invalid: {e}")))?;
    let package = &doc["package"];
    let found_name = package["name"].as_str();
    if found_name != Some(name) {
        return Err(bad(format!(
            "the crate's `Cargo.toml` names the package `{}`, but the upload is for `{name}`",
            found_name.unwrap_or("(none)")
        )));
    }
    let found_version = package["version"].as_str();
    if found_version
        .and_then(|v| semver::Version::parse(v).ok())
        .as_ref()
        != Some(version)
    {
        return Err(bad(format!(
            "the crate's `Cargo.toml` has version `{}`, but the upload is for `{version}`",
            found_version.unwrap_or("(none)")
        )));
    }
    Ok(())
}

/// A reader that fails once more than `left` bytes came through (a gzip
/// bomb stops here, not in memory).
struct Limited<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.left = self
            .left
            .checked_sub(n as u64)
            .ok_or_else(|| std::io::Error::other("decompressed size over the limit"))?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gz_tar(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::default(),
        ));
        for (path, data) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, path, *data).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_unpacked_limit() {
        let v = semver::Version::parse("0.1.0").unwrap();
        let manifest = b"[package]\nname = \"b\"\nversion = \"0.1.0\"\n";
        let big = vec![0u8; 64 * 1024];
        let bomb = gz_tar(&[("b-0.1.0/Cargo.toml", manifest), ("b-0.1.0/zeros", &big)]);
        assert!(bomb.len() < 4096, "compresses well");
        assert_eq!(
            check_with_limit("b", &v, &bomb, 32 * 1024),
            Err(Refusal::BadRequest(MALFORMED.into()))
        );
        assert_eq!(check_with_limit("b", &v, &bomb, 1024 * 1024), Ok(()));
    }
}
