//! File access for [`crate::PrivateSource`] and [`crate::PrivateSink`]: confined
//! directory creation, `O_NOFOLLOW` opens, exact positional reads and writes, and a small
//! cache of open handles shared by threads.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Most files kept open at once by one source or sink.
pub(crate) const MAX_OPEN_FILES: usize = 32;

/// Adds the path to an I/O error's message.
pub(crate) fn with_path(path: &Path, err: io::Error) -> io::Error {
    io::Error::new(err.kind(), format!("{}: {err}", path.display()))
}

/// Opens an existing file for reading without following a symlink in its last component.
pub(crate) fn open_read(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// Opens (creating, mode 0600 until finished) a file for reading and writing without
/// following a symlink in its last component.
pub(crate) fn open_write(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// Creates `dir` (which must be `base` joined with normal components) and every missing
/// directory between, refusing any existing component below `base` that is not a real
/// directory. `known` remembers directories already checked.
pub(crate) fn create_confined_dirs(
    base: &Path,
    components: &[&str],
    known: &mut HashSet<PathBuf>,
) -> io::Result<()> {
    let mut dir = base.to_path_buf();
    for component in components {
        dir.push(component);
        if known.contains(&dir) {
            continue;
        }
        match fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(with_path(&dir, e)),
        }
        let meta = fs::symlink_metadata(&dir).map_err(|e| with_path(&dir, e))?;
        if !meta.file_type().is_dir() {
            let err = io::Error::new(
                io::ErrorKind::AlreadyExists,
                "exists and is not a directory (symlinks are not followed)",
            );
            return Err(with_path(&dir, err));
        }
        known.insert(dir.clone());
    }
    Ok(())
}

/// Reads exactly `buf.len()` bytes at `offset`; a short file is an `UnexpectedEof`.
pub(crate) fn read_exact_at(file: &File, mut offset: u64, mut buf: &mut [u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match file.read_at(buf, offset) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "file is shorter than its manifest entry (changed since the share began?)",
                ))
            }
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes all of `buf` at `offset`.
pub(crate) fn write_all_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    file.write_all_at(buf, offset)
}

/// Open handles by file index, most recently used first.
#[derive(Debug, Default)]
pub(crate) struct Handles {
    open: Mutex<Vec<(usize, Arc<File>)>>,
}

impl Handles {
    fn lock(&self) -> MutexGuard<'_, Vec<(usize, Arc<File>)>> {
        // A panic elsewhere cannot leave the list inconsistent: recover it.
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The handle of file `index`, opened with `open` if not cached.
    pub(crate) fn get(
        &self,
        index: usize,
        open: impl FnOnce() -> io::Result<File>,
    ) -> io::Result<Arc<File>> {
        let mut open_files = self.lock();
        if let Some(at) = open_files.iter().position(|(i, _)| *i == index) {
            let entry = open_files.remove(at);
            let file = Arc::clone(&entry.1);
            open_files.insert(0, entry);
            return Ok(file);
        }
        let file = Arc::new(open()?);
        open_files.insert(0, (index, Arc::clone(&file)));
        open_files.truncate(MAX_OPEN_FILES);
        Ok(file)
    }

    /// Closes every cached handle.
    pub(crate) fn clear(&self) {
        self.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confined_dirs_refuse_symlinks() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), tmp.path().join("link")).unwrap();
        let mut known = HashSet::new();
        create_confined_dirs(tmp.path(), &["a", "b"], &mut known).unwrap();
        assert!(tmp.path().join("a/b").is_dir());
        let err = create_confined_dirs(tmp.path(), &["link", "x"], &mut known).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert!(!outside.path().join("x").exists());
        std::os::unix::fs::symlink(outside.path().join("f"), tmp.path().join("a/f")).unwrap();
        assert!(open_write(&tmp.path().join("a/f")).is_err());
        assert!(!outside.path().join("f").exists());
    }

    #[test]
    fn handle_cache_is_bounded() {
        let tmp = tempfile::tempdir().unwrap();
        let handles = Handles::default();
        for i in 0..MAX_OPEN_FILES + 5 {
            let path = tmp.path().join(format!("{i}"));
            handles.get(i, || open_write(&path)).unwrap();
        }
        assert_eq!(handles.lock().len(), MAX_OPEN_FILES);
        // Cached: the opener is not called.
        handles
            .get(MAX_OPEN_FILES + 4, || Err(io::ErrorKind::Other.into()))
            .unwrap();
    }
}
