//! The daemon's part of the state directory (`STATE/daemon/`):
//!
//! - `token`: the API bearer token (32 random bytes as hex, mode 0600), created on the
//!   first start; clients read it from here.
//! - `api.json`: `{"address": "127.0.0.1:PORT", "pid": N}` while the daemon runs, so
//!   clients find it.
//! - `daemon.lock`: held (exclusive `flock`) for the daemon's life: one daemon per
//!   state directory.
//! - `clean`: written at a clean shutdown after every torrent's resume data was saved;
//!   removed at start. Its presence lets the next start trust resume bitfields.
//! - `torrents/<info-hash hex>/`: one directory per torrent, see [`torrent_dir`].
//!
//! Every write goes through [`atomic::write_atomic`].

pub mod atomic;
pub mod records;
pub mod torrent_dir;

use atomic::{remove_durable, write_atomic};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
pub use torrent_dir::TorrentDir;

/// A state directory problem.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// A file or directory of it cannot be read or written.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done (`cannot write`, …).
        what: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// Another daemon holds the directory's lock.
    #[error("another shoal daemon is using the state directory {0}")]
    Locked(PathBuf),
    /// A file that does not parse (or a record that cannot be written as JSON).
    #[error("{path} is damaged: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// No running daemon has published its API address in the directory.
    #[error("no daemon is running for state directory {0} (no api.json)")]
    NotRunning(PathBuf),
}

impl StateError {
    pub(crate) fn io(what: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StateError {
        let path = path.to_path_buf();
        move |source| StateError::Io { what, path, source }
    }
}

/// Where a running daemon's API is (`STATE/daemon/api.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiInfo {
    /// Where the API listens.
    pub address: SocketAddr,
    /// The daemon's process id.
    pub pid: u32,
}

/// `STATE/daemon` of a given state directory.
pub fn daemon_dir(state_root: &Path) -> PathBuf {
    state_root.join("daemon")
}

/// Reads the API token of the daemon of `state_root` (for clients).
pub fn read_token(state_root: &Path) -> Result<String, StateError> {
    let path = daemon_dir(state_root).join("token");
    let text = std::fs::read_to_string(&path).map_err(StateError::io("cannot read", &path))?;
    let token = text.trim().to_string();
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(StateError::Corrupt {
            path,
            message: "not a 64-digit hex token".into(),
        });
    }
    Ok(token)
}

/// Reads where the daemon of `state_root` serves its API (for clients).
pub fn read_api_info(state_root: &Path) -> Result<ApiInfo, StateError> {
    let path = daemon_dir(state_root).join("api.json");
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(StateError::NotRunning(state_root.to_path_buf()))
        }
        Err(e) => return Err(StateError::io("cannot read", &path)(e)),
    };
    serde_json::from_slice(&bytes).map_err(|e| StateError::Corrupt {
        path,
        message: e.to_string(),
    })
}

/// The session limits last set through the API (`daemon/limits.json`) as a config
/// layer; empty when none were set. The daemon puts it under its command-line flags
/// and over its config file, so a limit changed in the UI survives a restart unless a
/// flag says otherwise.
pub fn read_saved_limits(state_root: &Path) -> Result<crate::config::ConfigLayer, StateError> {
    let path = daemon_dir(state_root).join(LIMITS_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Default::default()),
        Err(e) => return Err(StateError::io("cannot read", &path)(e)),
    };
    serde_json::from_slice(&bytes).map_err(|e| StateError::Corrupt {
        path,
        message: e.to_string(),
    })
}

const LIMITS_FILE: &str = "limits.json";

/// The daemon's state directory, locked for this process.
#[derive(Debug)]
pub struct StateDir {
    root: PathBuf,
    dir: PathBuf,
    _lock: File,
}

impl StateDir {
    /// Creates `STATE/daemon/torrents` if needed and takes the daemon lock.
    pub fn open(root: &Path) -> Result<StateDir, StateError> {
        let dir = daemon_dir(root);
        let torrents = dir.join("torrents");
        std::fs::create_dir_all(&torrents).map_err(StateError::io("cannot create", &torrents))?;
        let lock_path = dir.join("daemon.lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(StateError::io("cannot open", &lock_path))?;
        if lock.try_lock().is_err() {
            return Err(StateError::Locked(root.to_path_buf()));
        }
        Ok(StateDir {
            root: root.to_path_buf(),
            dir,
            _lock: lock,
        })
    }

    /// The state directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file holding the API token (`STATE/daemon/token`).
    pub fn token_path(&self) -> PathBuf {
        self.dir.join("token")
    }

    /// The API token, created (random, mode 0600) on first use.
    pub fn token(&self) -> Result<String, StateError> {
        let path = self.token_path();
        if path.exists() {
            return read_token(&self.root);
        }
        let mut bytes = [0u8; 32];
        rand::Rng::fill(&mut rand::thread_rng(), &mut bytes);
        let token = hex(&bytes);
        write_atomic(&path, token.as_bytes(), 0o600)
            .map_err(StateError::io("cannot write", &path))?;
        Ok(token)
    }

    /// Publishes the API address for clients.
    pub fn write_api_info(&self, info: &ApiInfo) -> Result<(), StateError> {
        let path = self.dir.join("api.json");
        let bytes = serde_json::to_vec(info).unwrap_or_default();
        write_atomic(&path, &bytes, 0o644).map_err(StateError::io("cannot write", &path))
    }

    /// Saves the session limits set through the API (see [`read_saved_limits`]).
    pub fn save_limits(&self, limits: &crate::config::ConfigLayer) -> Result<(), StateError> {
        let path = self.dir.join(LIMITS_FILE);
        let bytes = serde_json::to_vec_pretty(limits).unwrap_or_default();
        write_atomic(&path, &bytes, 0o644).map_err(StateError::io("cannot write", &path))
    }

    /// Withdraws the published API address (at shutdown).
    pub fn remove_api_info(&self) {
        let _ = remove_durable(&self.dir.join("api.json"));
    }

    /// Whether the last run shut down cleanly; removes the marker, so a crash of this
    /// run is seen as one by the next.
    pub fn take_clean_marker(&self) -> Result<bool, StateError> {
        let path = self.dir.join("clean");
        let existed = path.exists();
        remove_durable(&path).map_err(StateError::io("cannot remove", &path))?;
        Ok(existed)
    }

    /// Records a clean shutdown (call after every resume file was written).
    pub fn mark_clean(&self) -> Result<(), StateError> {
        let path = self.dir.join("clean");
        write_atomic(&path, b"clean shutdown\n", 0o644)
            .map_err(StateError::io("cannot write", &path))
    }

    /// The directory of one torrent (not created).
    pub fn torrent_dir(&self, info_hash: &[u8; 20]) -> TorrentDir {
        TorrentDir::new(self.dir.join("torrents").join(hex(info_hash)))
    }

    /// Info-hashes of every torrent directory (ignoring anything else in there).
    pub fn list_torrents(&self) -> Result<Vec<[u8; 20]>, StateError> {
        let path = self.dir.join("torrents");
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&path).map_err(StateError::io("cannot list", &path))? {
            let entry = entry.map_err(StateError::io("cannot list", &path))?;
            if let Some(ih) = entry.file_name().to_str().and_then(parse_info_hash) {
                out.push(ih);
            }
        }
        Ok(out)
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A 40-digit hex info-hash.
pub fn parse_info_hash(s: &str) -> Option<[u8; 20]> {
    if s.len() != 40 {
        return None;
    }
    let mut out = [0u8; 20];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(s.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn token_is_created_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::open(dir.path()).unwrap();
        let t1 = state.token().unwrap();
        let t2 = state.token().unwrap();
        assert_eq!(t1, t2);
        assert_eq!(t1.len(), 64);
        assert_eq!(read_token(dir.path()).unwrap(), t1);
        let mode = std::fs::metadata(state.token_path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn one_daemon_per_state_dir() {
        let dir = tempfile::tempdir().unwrap();
        let _a = StateDir::open(dir.path()).unwrap();
        assert!(matches!(
            StateDir::open(dir.path()),
            Err(StateError::Locked(_))
        ));
    }

    #[test]
    fn clean_marker_and_api_info() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::open(dir.path()).unwrap();
        assert!(!state.take_clean_marker().unwrap());
        state.mark_clean().unwrap();
        assert!(state.take_clean_marker().unwrap());
        assert!(!state.take_clean_marker().unwrap());
        assert!(matches!(
            read_api_info(dir.path()),
            Err(StateError::NotRunning(_))
        ));
        let info = ApiInfo {
            address: "127.0.0.1:1234".parse().unwrap(),
            pid: 7,
        };
        state.write_api_info(&info).unwrap();
        assert_eq!(read_api_info(dir.path()).unwrap(), info);
    }

    #[test]
    fn hex_round_trip() {
        let ih = [0xabu8; 20];
        assert_eq!(parse_info_hash(&hex(&ih)), Some(ih));
        assert_eq!(parse_info_hash("zz"), None);
    }
}
