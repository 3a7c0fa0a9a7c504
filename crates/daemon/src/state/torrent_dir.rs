//! One torrent's directory, `STATE/daemon/torrents/<info-hash hex>/`:
//! `meta.torrent` (the .torrent bytes, once known), `settings.json`, `resume.json`
//! and, for private links, `secret.json` (mode 0600).

use super::atomic::{sync_dir, write_atomic};
use super::records::{ResumeRecord, SecretRecord, TorrentSettings};
use super::StateError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The directory of one torrent; see the module docs for its files.
#[derive(Debug, Clone)]
pub struct TorrentDir {
    path: PathBuf,
}

impl TorrentDir {
    pub(super) fn new(path: PathBuf) -> TorrentDir {
        TorrentDir { path }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn create(&self) -> Result<(), StateError> {
        if !self.path.is_dir() {
            std::fs::create_dir_all(&self.path)
                .map_err(StateError::io("cannot create", &self.path))?;
            if let Some(parent) = self.path.parent() {
                sync_dir(parent).map_err(StateError::io("cannot sync", parent))?;
            }
        }
        Ok(())
    }

    fn write(&self, name: &str, bytes: &[u8], mode: u32) -> Result<(), StateError> {
        self.create()?;
        let path = self.path.join(name);
        write_atomic(&path, bytes, mode).map_err(StateError::io("cannot write", &path))
    }

    fn write_json<T: Serialize>(&self, name: &str, value: &T, mode: u32) -> Result<(), StateError> {
        let bytes = serde_json::to_vec_pretty(value).map_err(|e| StateError::Corrupt {
            path: self.path.join(name),
            message: e.to_string(),
        })?;
        self.write(name, &bytes, mode)
    }

    /// `Ok(None)` when the file does not exist.
    fn read(&self, name: &str) -> Result<Option<Vec<u8>>, StateError> {
        let path = self.path.join(name);
        match std::fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StateError::io("cannot read", &path)(e)),
        }
    }

    fn read_json<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, StateError> {
        let Some(bytes) = self.read(name)? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StateError::Corrupt {
                path: self.path.join(name),
                message: e.to_string(),
            })
    }

    /// Writes `meta.torrent` (atomically, like every write here).
    pub fn save_meta(&self, torrent_bytes: &[u8]) -> Result<(), StateError> {
        self.write("meta.torrent", torrent_bytes, 0o644)
    }

    /// Reads `meta.torrent`; `None` when there is none yet.
    pub fn load_meta(&self) -> Result<Option<Vec<u8>>, StateError> {
        self.read("meta.torrent")
    }

    /// Writes `settings.json`.
    pub fn save_settings(&self, settings: &TorrentSettings) -> Result<(), StateError> {
        self.write_json("settings.json", settings, 0o644)
    }

    /// Reads `settings.json`; `None` when there is none.
    pub fn load_settings(&self) -> Result<Option<TorrentSettings>, StateError> {
        self.read_json("settings.json")
    }

    /// Writes `resume.json`.
    pub fn save_resume(&self, resume: &ResumeRecord) -> Result<(), StateError> {
        self.write_json("resume.json", resume, 0o644)
    }

    /// Reads `resume.json`; `None` when there is none.
    pub fn load_resume(&self) -> Result<Option<ResumeRecord>, StateError> {
        self.read_json("resume.json")
    }

    /// Writes `secret.json` (mode 0600).
    pub fn save_secret(&self, secret: &SecretRecord) -> Result<(), StateError> {
        self.write_json("secret.json", secret, 0o600)
    }

    /// Reads `secret.json`; `None` when there is none (not a private link).
    pub fn load_secret(&self) -> Result<Option<SecretRecord>, StateError> {
        self.read_json("secret.json")
    }

    /// Removes the directory and everything in it.
    pub fn remove(&self) -> Result<(), StateError> {
        match std::fs::remove_dir_all(&self.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(StateError::io("cannot remove", &self.path)(e)),
        }
        if let Some(parent) = self.path.parent() {
            sync_dir(parent).map_err(StateError::io("cannot sync", parent))?;
        }
        Ok(())
    }
}
