//! The receiver's spool: a hidden, sparse file in the output directory holding
//! ciphertext that arrived before the header could be opened, at its stream offsets.
//! It is created with `O_NOFOLLOW` (mode 0600) and removed when dropped.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::files::{read_exact_at, with_path};

/// Name prefix of spool files.
pub const SPOOL_PREFIX: &str = ".shoal-spool-";

/// An open spool file; deleted on drop.
#[derive(Debug)]
pub(crate) struct Spool {
    path: PathBuf,
    file: File,
}

impl Spool {
    /// Creates (or truncates a stale) spool at `path`, creating `out_dir` if missing,
    /// sized to `stream_len` so unwritten ranges read as zeros.
    pub(crate) fn create(out_dir: &Path, path: &Path, stream_len: u64) -> io::Result<Spool> {
        fs::create_dir_all(out_dir).map_err(|e| with_path(out_dir, e))?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .map_err(|e| with_path(path, e))?;
        let meta = file.metadata().map_err(|e| with_path(path, e))?;
        if !meta.file_type().is_file() {
            let err = io::Error::new(io::ErrorKind::AlreadyExists, "not a regular file");
            return Err(with_path(path, err));
        }
        // Ours from here on: removed on drop, also if sizing fails.
        let spool = Spool {
            path: path.to_path_buf(),
            file,
        };
        spool
            .file
            .set_len(stream_len)
            .map_err(|e| with_path(path, e))?;
        Ok(spool)
    }

    pub(crate) fn write_at(&self, offset: u64, buf: &[u8]) -> io::Result<()> {
        self.file
            .write_all_at(buf, offset)
            .map_err(|e| with_path(&self.path, e))
    }

    pub(crate) fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        read_exact_at(&self.file, offset, buf).map_err(|e| with_path(&self.path, e))
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        // Best effort: nothing useful can be done if it is already gone.
        let _ = fs::remove_file(&self.path);
    }
}
