//! One run at a time: an OS advisory lock on `<state dir>/lock`, released
//! by the kernel when the process ends, however it ends.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another cargo-shipper run is using `{}` ({holder}); wait for it to finish, or stop it",
        dir.display()
    )]
    Held { dir: PathBuf, holder: String },
    #[error(transparent)]
    Symlink(#[from] super::links::SymlinkRefused),
    #[error("could not lock `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Held for as long as the value lives.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

impl RunLock {
    pub fn acquire(dir: &Path) -> Result<RunLock, LockError> {
        let path = dir.join("lock");
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        // The pid written below would otherwise truncate a link's target.
        super::links::refuse_link(&path)?;
        let mut file = super::links::no_follow(
            OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true),
        )
        .open(&path)
        .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path)
                    .ok()
                    .filter(|s| !s.trim().is_empty())
                    .map_or_else(|| "unknown process".to_owned(), |s| s.trim().to_owned());
                return Err(LockError::Held {
                    dir: dir.to_owned(),
                    holder,
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        // For people only: correctness rests on the kernel lock, not on this text.
        let _ = file.set_len(0);
        let _ = write!(file, "pid {}", std::process::id());
        Ok(RunLock { _file: file })
    }
}
