//! Moving a torrent's files to another directory: rename where possible, otherwise
//! copy, sync and delete (another file system). A failure moves back what was moved, so
//! the data is always whole in one place.

use std::io;
use std::path::{Path, PathBuf};

/// Moves each of `rel` (paths relative to `from`) to the same place below `to`. Files
/// that do not exist (not downloaded yet) are skipped; an existing regular file at a
/// destination is an error, never overwritten. Directories left empty below `from` are
/// removed.
pub(crate) fn move_files(from: &Path, to: &Path, rel: &[PathBuf]) -> io::Result<()> {
    std::fs::create_dir_all(to)?;
    let mut done: Vec<&PathBuf> = Vec::new();
    for r in rel {
        match move_one(&from.join(r), &to.join(r)) {
            Ok(()) => done.push(r),
            Err(e) => {
                for back in done.into_iter().rev() {
                    let _ = move_one(&to.join(back), &from.join(back));
                }
                return Err(e);
            }
        }
    }
    remove_empty_parents(from, rel);
    Ok(())
}

fn move_one(src: &Path, dst: &Path) -> io::Result<()> {
    let meta = match std::fs::symlink_metadata(src) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !meta.is_file() {
        return Err(io::Error::other(format!(
            "{} is not a regular file",
            src.display()
        )));
    }
    if std::fs::symlink_metadata(dst).is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} already exists", dst.display()),
        ));
    }
    if let Some(parent) = dst.parent() {
        std::fs::create_dir_all(parent)?;
    }
    match std::fs::rename(src, dst) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::CrossesDevices => {
            std::fs::copy(src, dst)?;
            std::fs::File::open(dst)?.sync_all()?;
            std::fs::remove_file(src)
        }
        Err(e) => Err(e),
    }
}

/// Removes the now-empty directories that held `rel` below `root` (deepest first).
fn remove_empty_parents(root: &Path, rel: &[PathBuf]) {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for r in rel {
        let mut dir = r.parent();
        while let Some(d) = dir {
            if d.as_os_str().is_empty() {
                break;
            }
            dirs.push(root.join(d));
            dir = d.parent();
        }
    }
    dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    dirs.dedup();
    for d in dirs {
        let _ = std::fs::remove_dir(&d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_files_and_removes_emptied_directories() {
        let from = tempfile::tempdir().unwrap();
        let to = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(from.path().join("t/sub")).unwrap();
        std::fs::write(from.path().join("t/sub/a"), b"aaa").unwrap();
        std::fs::write(from.path().join("t/b"), b"b").unwrap();
        let rel = vec![
            PathBuf::from("t/sub/a"),
            PathBuf::from("t/b"),
            PathBuf::from("t/missing"),
        ];
        move_files(from.path(), to.path(), &rel).unwrap();
        assert_eq!(std::fs::read(to.path().join("t/sub/a")).unwrap(), b"aaa");
        assert_eq!(std::fs::read(to.path().join("t/b")).unwrap(), b"b");
        assert!(!from.path().join("t").exists());
    }

    #[test]
    fn an_existing_destination_file_aborts_and_moves_back() {
        let from = tempfile::tempdir().unwrap();
        let to = tempfile::tempdir().unwrap();
        std::fs::write(from.path().join("a"), b"a").unwrap();
        std::fs::write(from.path().join("b"), b"b").unwrap();
        std::fs::write(to.path().join("b"), b"theirs").unwrap();
        let rel = vec![PathBuf::from("a"), PathBuf::from("b")];
        assert!(move_files(from.path(), to.path(), &rel).is_err());
        assert_eq!(std::fs::read(from.path().join("a")).unwrap(), b"a");
        assert_eq!(std::fs::read(to.path().join("b")).unwrap(), b"theirs");
        assert!(!to.path().join("a").exists());
    }
}
