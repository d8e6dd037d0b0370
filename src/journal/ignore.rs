//! The state directory keeps itself out of git. Under a workspace whose
//! root is a package (clap's layout), `.shipper/` is inside that package:
//! cargo lists a package's files through git, so the state would make the
//! package dirty (packaging refuses it) or, with `--allow-dirty`, be
//! packaged into the crate. A `.gitignore` of `*` in the directory hides it,
//! and itself, from git, as `cargo new` does for `target/`'s contents.

use std::path::Path;

const GITIGNORE: &[u8] =
    b"# cargo-shipper's state: kept out of git, and so out of packaged crates\n*\n";

/// Create `root` (and its missing parents). The topmost directory this
/// creates gets the `.gitignore`; so does `root` when it is `ours` (the
/// default `.shipper/`) and has none. A directory the user named that
/// already exists is left as it is.
pub fn keep_out_of_git(root: &Path, ours: bool) -> std::io::Result<()> {
    let mut created = None;
    let mut probe = Some(root);
    while let Some(dir) = probe {
        if dir.as_os_str().is_empty() || dir.exists() {
            break;
        }
        created = Some(dir);
        probe = dir.parent();
    }
    std::fs::create_dir_all(root)?;
    let at = match (created, ours) {
        (Some(top), _) => top,
        (None, true) => root,
        (None, false) => return Ok(()),
    };
    let path = at.join(".gitignore");
    // One there already (or a link: not ours to write through) stays.
    if std::fs::symlink_metadata(&path).is_ok() {
        return Ok(());
    }
    crate::atomic::write_atomic(&path, GITIGNORE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_topmost_created_directory_ignores_everything_under_it() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join(".shipper");
        keep_out_of_git(&root.join("rehearsal"), false).unwrap();
        assert_eq!(std::fs::read(root.join(".gitignore")).unwrap(), GITIGNORE);
        assert!(!root.join("rehearsal/.gitignore").exists());
    }

    #[test]
    fn an_existing_directory_gets_one_only_when_it_is_ours() {
        let tmp = tempfile::tempdir().unwrap();
        keep_out_of_git(tmp.path(), false).unwrap();
        assert!(!tmp.path().join(".gitignore").exists(), "a named directory");
        keep_out_of_git(tmp.path(), true).unwrap();
        assert_eq!(
            std::fs::read(tmp.path().join(".gitignore")).unwrap(),
            GITIGNORE
        );
        // A `.gitignore` there already is left alone.
        std::fs::write(tmp.path().join(".gitignore"), "mine\n").unwrap();
        keep_out_of_git(tmp.path(), true).unwrap();
        assert_eq!(
            std::fs::read_to_string(tmp.path().join(".gitignore")).unwrap(),
            "mine\n"
        );
    }
}
