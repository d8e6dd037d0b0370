//! Crash-safe file replacement, shared by the journal and the registry's
//! storage: a reader sees the old contents or the new, never a mix. A set
//! of files (fix-forward's manifests) is staged whole before any is
//! replaced. It also owns making a directory's entries durable
//! ([`sync_dir`]), which only Unix asks for.

use std::io::Write;
use std::path::Path;

/// The directory a file is in ("" for a bare name is the current one).
fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Replace several files: every new content is written and synced to a
/// temp file beside its target first; only when all are staged are they
/// renamed over, one by one. A failure while staging changes nothing.
pub fn write_all_atomic(files: &[(&Path, &[u8])]) -> std::io::Result<()> {
    let mut staged = Vec::with_capacity(files.len());
    for (path, bytes) in files {
        let mut tmp = tempfile::NamedTempFile::new_in(dir_of(path))?;
        tmp.write_all(bytes)?;
        tmp.as_file().sync_all()?;
        staged.push((tmp, *path));
    }
    for (tmp, path) in staged {
        tmp.persist(path).map_err(|e| e.error)?;
        sync_dir(dir_of(path))?;
    }
    Ok(())
}

/// Temp file in the same directory, fsync, rename over, fsync the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = dir_of(path);
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir)
}

/// Make `dir`'s entries (a rename into it, a new file) durable: fsync of the
/// directory on Unix. On Windows a directory cannot be opened as a file
/// (std's `File::open` refuses it) and NTFS journals its metadata itself:
/// nothing to do there.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_that_cannot_be_staged_whole_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("a.toml");
        std::fs::write(&first, "old").unwrap();
        // The second target's "directory" is a file: staging fails there.
        std::fs::write(dir.path().join("not-a-dir"), "").unwrap();
        let second = dir.path().join("not-a-dir/b.toml");
        let files: [(&Path, &[u8]); 2] = [(&first, b"new"), (&second, b"new")];
        assert!(write_all_atomic(&files).is_err());
        assert_eq!(std::fs::read_to_string(&first).unwrap(), "old");
        let files: [(&Path, &[u8]); 1] = [(&first, b"new")];
        write_all_atomic(&files).unwrap();
        assert_eq!(std::fs::read_to_string(&first).unwrap(), "new");
    }
}
