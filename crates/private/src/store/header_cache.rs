//! The receiver's header cache: once the header has opened from verified pieces, its
//! region (fixed header and sealed manifest, ciphertext only) is kept in a hidden file
//! in the output directory so a later run can open the same share at once and find
//! the pieces its files already hold. The region is authenticated by its AEAD under
//! the content key, so a cache that opens is the share's own; it is removed when the
//! download completes.

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Name prefix of header cache files (followed by the same tag as the spool's).
pub const HEADER_CACHE_PREFIX: &str = ".shoal-header-";

/// A header cache file of one share.
#[derive(Debug)]
pub(crate) struct HeaderCache {
    path: PathBuf,
}

impl HeaderCache {
    pub(crate) fn new(out_dir: &Path, tag: &str) -> Self {
        HeaderCache {
            path: out_dir.join(format!("{HEADER_CACHE_PREFIX}{tag}")),
        }
    }

    /// The cached region, if there is a regular file of at most `max` bytes.
    pub(crate) fn load(&self, max: u64) -> Option<Vec<u8>> {
        let mut file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&self.path)
            .ok()?;
        let meta = file.metadata().ok()?;
        if !meta.is_file() || meta.len() > max {
            return None;
        }
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        Read::by_ref(&mut file)
            .take(max)
            .read_to_end(&mut bytes)
            .ok()?;
        Some(bytes)
    }

    /// Keeps `region` (written to a temporary name, synced, then renamed into place).
    pub(crate) fn store(&self, region: &[u8]) -> io::Result<()> {
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir)?;
        }
        let tmp = self.path.with_extension("tmp");
        let _ = fs::remove_file(&tmp);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)?;
        file.write_all(region)?;
        file.sync_all()?;
        fs::rename(&tmp, &self.path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Forgets the cache (a missing file is fine).
    pub(crate) fn remove(&self) {
        let _ = fs::remove_file(&self.path);
    }
}
