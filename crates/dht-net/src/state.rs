//! The state file: loading a saved routing table at start (a missing, oversized,
//! unreadable or corrupt file only costs a fresh start) and writing new ones
//! atomically (temporary file in the same directory, fsync, rename).

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use tokio::sync::Mutex;
use tracing::{debug, warn};

use crate::error::DhtNetError;

/// Largest state file read back. A snapshot holds at most 2 × 2048 nodes (~160 KB).
pub const MAX_STATE_LEN: u64 = 1 << 20;

/// One state file, shared by the driver (periodic and final saves) and the handles
/// (explicit saves).
#[derive(Debug)]
pub(crate) struct StateFile {
    path: PathBuf,
    /// Sequence number of the newest snapshot on disk; also serialises the writers so
    /// that an older snapshot never replaces a newer one.
    written: Mutex<u64>,
}

impl StateFile {
    pub(crate) fn new(path: PathBuf) -> StateFile {
        StateFile {
            path,
            written: Mutex::new(0),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The saved bytes, or `None` when there is nothing usable (reasons are logged).
    pub(crate) async fn load(&self) -> Option<Vec<u8>> {
        let path = self.path.clone();
        let read = tokio::task::spawn_blocking(move || read_capped(&path)).await;
        match read {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(e)) => {
                warn!(path = %self.path.display(), error = %e, "cannot read DHT state; starting fresh");
                None
            }
            Err(e) => {
                warn!(error = %e, "DHT state loader failed; starting fresh");
                None
            }
        }
    }

    /// Writes snapshot number `seq` unless a newer one is already on disk.
    pub(crate) async fn write(&self, seq: u64, bytes: Vec<u8>) -> Result<(), DhtNetError> {
        let mut written = self.written.lock().await;
        if seq <= *written {
            return Ok(());
        }
        let path = self.path.clone();
        let result = tokio::task::spawn_blocking(move || write_atomic(&path, &bytes))
            .await
            .unwrap_or_else(|e| Err(io::Error::other(e)));
        result.map_err(|source| DhtNetError::Save {
            path: self.path.clone(),
            source,
        })?;
        *written = seq;
        debug!(path = %self.path.display(), "DHT state saved");
        Ok(())
    }
}

/// Reads `path` if it exists and is at most [`MAX_STATE_LEN`] bytes.
fn read_capped(path: &Path) -> io::Result<Option<Vec<u8>>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut bytes = Vec::new();
    // `take` rather than the metadata length: the file may change while we read.
    file.take(MAX_STATE_LEN + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_STATE_LEN {
        warn!(path = %path.display(), "DHT state file is too large; ignored");
        return Ok(None);
    }
    Ok(Some(bytes))
}

/// Replaces `path` with `bytes` so that a crash leaves either the old or the new file.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "state path has no file name")
    })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir)?;
    let mut tmp_name = name.to_os_string();
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = dir.join(tmp_name);
    let written = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
        return written;
    }
    // Make the rename itself durable (not possible on every platform; best effort).
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("dht.dat");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("dht.dat")]);
    }

    #[test]
    fn read_missing_and_oversized() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dht.dat");
        assert_eq!(read_capped(&path).unwrap(), None);
        fs::write(&path, vec![b'x'; MAX_STATE_LEN as usize + 1]).unwrap();
        assert_eq!(read_capped(&path).unwrap(), None);
        fs::write(&path, b"le").unwrap();
        assert_eq!(read_capped(&path).unwrap(), Some(b"le".to_vec()));
    }

    #[tokio::test]
    async fn older_snapshot_never_overwrites_newer() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateFile::new(dir.path().join("dht.dat"));
        state.write(2, b"new".to_vec()).await.unwrap();
        state.write(1, b"old".to_vec()).await.unwrap();
        assert_eq!(state.load().await, Some(b"new".to_vec()));
    }
}
