//! Safe resolution of torrent file paths under the storage root: relative paths with
//! only `Normal` components, no symlink followed at any level below the root, and
//! opening with `O_NOFOLLOW`.
//!
//! A local attacker who swaps a checked directory for a symlink between the check and
//! the open (TOCTOU) is out of scope; files planted before we run are refused.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use crate::error::{classify, IoOp, StorageError};

/// Rebuilds `p` from its components, refusing anything but a non-empty list of
/// `Normal` components without NUL bytes.
pub(crate) fn normalise(p: &Path) -> Result<PathBuf, StorageError> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(s) if !s.as_bytes().contains(&0) => out.push(s),
            _ => return Err(StorageError::UnsafePath(p.to_path_buf())),
        }
    }
    if out.as_os_str().is_empty() {
        return Err(StorageError::UnsafePath(p.to_path_buf()));
    }
    Ok(out)
}

/// Walks the parent directories of `rel` under `root`, refusing symlinks and
/// non-directories. With `create`, missing directories are made; without, returns
/// `Ok(false)` as soon as one is missing.
fn check_parents(root: &Path, rel: &Path, create: bool) -> Result<bool, StorageError> {
    let Some(parent) = rel.parent() else {
        return Ok(true);
    };
    let mut cur = root.to_path_buf();
    for comp in parent.components() {
        cur.push(comp);
        match fs::symlink_metadata(&cur) {
            Ok(m) => check_is_dir(&cur, &m)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if !create {
                    return Ok(false);
                }
                match fs::create_dir(&cur) {
                    Ok(()) => {}
                    // Created concurrently by another thread: re-check what is there.
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        let m = fs::symlink_metadata(&cur)
                            .map_err(|e| classify(IoOp::Stat, &cur, e))?;
                        check_is_dir(&cur, &m)?;
                    }
                    Err(e) => return Err(classify(IoOp::CreateDir, &cur, e)),
                }
            }
            Err(e) => return Err(classify(IoOp::Stat, &cur, e)),
        }
    }
    Ok(true)
}

fn check_is_dir(path: &Path, m: &fs::Metadata) -> Result<(), StorageError> {
    if m.file_type().is_symlink() {
        return Err(StorageError::UnsafePath(path.to_path_buf()));
    }
    if !m.is_dir() {
        return Err(StorageError::Io {
            path: path.to_path_buf(),
            op: IoOp::CreateDir,
            source: io::Error::from_raw_os_error(libc::ENOTDIR),
        });
    }
    Ok(())
}

/// What is at the final path: `None` if nothing; refuses symlinks and non-files.
fn check_leaf(full: &Path) -> Result<Option<u64>, StorageError> {
    match fs::symlink_metadata(full) {
        Ok(m) if m.file_type().is_symlink() => Err(StorageError::UnsafePath(full.to_path_buf())),
        Ok(m) if !m.is_file() => Err(StorageError::NotAFile {
            path: full.to_path_buf(),
        }),
        Ok(m) => Ok(Some(m.len())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(classify(IoOp::Stat, full, e)),
    }
}

fn ensure_root(root: &Path) -> Result<(), StorageError> {
    fs::create_dir_all(root).map_err(|e| classify(IoOp::CreateDir, root, e))
}

fn open_checked(full: &Path, mut opts: OpenOptions, op: IoOp) -> Result<File, StorageError> {
    let file = opts
        .custom_flags(libc::O_NOFOLLOW)
        .open(full)
        .map_err(|e| classify(op, full, e))?;
    let meta = file.metadata().map_err(|e| classify(IoOp::Stat, full, e))?;
    if !meta.is_file() {
        return Err(StorageError::NotAFile {
            path: full.to_path_buf(),
        });
    }
    Ok(file)
}

/// Opens (creating parents and the file if needed) for reading and writing. A file
/// shorter than `length` is extended sparsely to it; a longer one is left alone.
pub(crate) fn open_write(root: &Path, rel: &Path, length: u64) -> Result<File, StorageError> {
    ensure_root(root)?;
    check_parents(root, rel, true)?;
    let full = root.join(rel);
    check_leaf(&full)?;
    let mut opts = OpenOptions::new();
    opts.read(true).write(true).create(true);
    let file = open_checked(&full, opts, IoOp::OpenWrite)?;
    let len = file
        .metadata()
        .map_err(|e| classify(IoOp::Stat, &full, e))?
        .len();
    if len < length {
        // Only ever grows: concurrent writers never write past `length`.
        file.set_len(length)
            .map_err(|e| classify(IoOp::SetLen, &full, e))?;
    }
    Ok(file)
}

/// Opens an existing file read-only; a missing file or directory is `Missing`.
pub(crate) fn open_read(root: &Path, rel: &Path) -> Result<File, StorageError> {
    let full = root.join(rel);
    if !check_parents(root, rel, false)? || check_leaf(&full)?.is_none() {
        return Err(StorageError::Missing { path: full });
    }
    let mut opts = OpenOptions::new();
    opts.read(true);
    open_checked(&full, opts, IoOp::OpenRead)
}

/// Length of the existing regular file at `rel`, or `None` if it (or a parent) is absent.
pub(crate) fn probe(root: &Path, rel: &Path) -> Result<Option<u64>, StorageError> {
    if !check_parents(root, rel, false)? {
        return Ok(None);
    }
    check_leaf(&root.join(rel))
}

/// Creates `rel` as an empty file if it does not exist (never truncates).
pub(crate) fn create_empty(root: &Path, rel: &Path) -> Result<(), StorageError> {
    ensure_root(root)?;
    check_parents(root, rel, true)?;
    let full = root.join(rel);
    if check_leaf(&full)?.is_none() {
        let mut opts = OpenOptions::new();
        opts.write(true).create(true);
        open_checked(&full, opts, IoOp::OpenWrite)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn normalise_paths() {
        assert_eq!(
            normalise(Path::new("a/./b/")).unwrap(),
            PathBuf::from("a/b")
        );
        for bad in ["", "/a", "../a", "a/../b", "./", "a/.."] {
            assert!(normalise(Path::new(bad)).is_err(), "{bad:?}");
        }
        let nul = PathBuf::from(std::ffi::OsStr::from_bytes(b"a\0b"));
        assert!(normalise(&nul).is_err());
    }

    #[test]
    fn symlinked_parent_refused() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        symlink(outside.path(), root.path().join("d")).unwrap();
        let rel = Path::new("d/f");
        assert!(matches!(
            open_write(root.path(), rel, 4),
            Err(StorageError::UnsafePath(_))
        ));
        assert!(matches!(
            open_read(root.path(), rel),
            Err(StorageError::UnsafePath(_))
        ));
        assert!(matches!(
            probe(root.path(), rel),
            Err(StorageError::UnsafePath(_))
        ));
        assert!(matches!(
            create_empty(root.path(), rel),
            Err(StorageError::UnsafePath(_))
        ));
        assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);
    }

    #[test]
    fn symlinked_leaf_refused() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("t");
        fs::write(&target, b"secret").unwrap();
        symlink(&target, root.path().join("f")).unwrap();
        let rel = Path::new("f");
        assert!(matches!(
            open_write(root.path(), rel, 4),
            Err(StorageError::UnsafePath(_))
        ));
        assert!(matches!(
            open_read(root.path(), rel),
            Err(StorageError::UnsafePath(_))
        ));
        assert_eq!(fs::read(&target).unwrap(), b"secret");
        // Even a dangling symlink is not created through.
        symlink(outside.path().join("new"), root.path().join("g")).unwrap();
        assert!(open_write(root.path(), Path::new("g"), 4).is_err());
        assert!(!outside.path().join("new").exists());
    }

    #[test]
    fn non_files_refused() {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir(root.path().join("dir")).unwrap();
        fs::write(root.path().join("file"), b"").unwrap();
        let r = root.path();
        assert!(matches!(
            open_read(r, Path::new("dir")),
            Err(StorageError::NotAFile { .. })
        ));
        assert!(matches!(
            open_write(r, Path::new("dir"), 1),
            Err(StorageError::NotAFile { .. })
        ));
        assert!(matches!(
            open_write(r, Path::new("file/x"), 1),
            Err(StorageError::Io { .. })
        ));
    }

    #[test]
    fn open_write_creates_sparse() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path().join("sub");
        let f = open_write(&r, Path::new("a/b/c"), 1 << 30).unwrap();
        drop(f);
        let m = fs::metadata(r.join("a/b/c")).unwrap();
        assert_eq!(m.len(), 1 << 30);
        assert_eq!(probe(&r, Path::new("a/b/c")).unwrap(), Some(1 << 30));
        assert_eq!(probe(&r, Path::new("a/x/c")).unwrap(), None);
        assert!(matches!(
            open_read(&r, Path::new("a/x")),
            Err(StorageError::Missing { .. })
        ));
    }
}
