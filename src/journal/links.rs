//! Symbolic links inside the state directory are refused, never followed:
//! a link planted at a state file would turn our writes (truncating a torn
//! journal, appending events, the lock's pid) into writes to its target.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error(
    "`{}` is a symbolic link; cargo-shipper does not follow links inside its state directory \
     (a write would land in the link's target). Nothing was changed: put the file itself there, \
     or move the state directory aside",
    path.display()
)]
pub struct SymlinkRefused {
    pub path: PathBuf,
}

/// `Err` when `path` is a symbolic link (a missing path is fine).
pub fn refuse_link(path: &Path) -> Result<(), SymlinkRefused> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(SymlinkRefused {
            path: path.to_owned(),
        }),
        _ => Ok(()),
    }
}

/// Open options that refuse to follow a symbolic link at the last path
/// component (`O_NOFOLLOW`): the check above, kept true at open time.
#[cfg(unix)]
pub fn no_follow(options: &mut std::fs::OpenOptions) -> &mut std::fs::OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    options.custom_flags(libc::O_NOFOLLOW)
}

/// Windows has no `O_NOFOLLOW`: `FILE_FLAG_OPEN_REPARSE_POINT` opens a
/// link (a reparse point) itself instead of its target, so a link planted
/// after the check above is written to, never through.
#[cfg(windows)]
pub fn no_follow(options: &mut std::fs::OpenOptions) -> &mut std::fs::OpenOptions {
    use std::os::windows::fs::OpenOptionsExt;
    const FILE_FLAG_OPEN_REPARSE_POINT: u32 = 0x0020_0000;
    options.custom_flags(FILE_FLAG_OPEN_REPARSE_POINT)
}
