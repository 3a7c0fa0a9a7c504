//! What is kept per torrent, as JSON: the user's settings (`settings.json`), the resume
//! record (`resume.json`) and, for private links, the secret (`secret.json`, mode 0600).

use serde::{Deserialize, Serialize};
use shoal_engine::{FilePriority, TorrentLimits};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// How the torrent's bytes relate to files on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ContentKind {
    /// The torrent's own files below the download directory.
    #[default]
    Files,
    /// A private link we send: ciphertext computed from the files at the secret's
    /// `source` path.
    PrivateSend,
    /// A private link we receive: decrypted into the share's files.
    PrivateReceive,
}

/// The user's choices for one torrent (`settings.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TorrentSettings {
    /// Display name (the magnet's `dn` or the hex info-hash until metadata arrives).
    pub name: String,
    /// The magnet link (without any key) the torrent was added from, kept until its
    /// metadata is stored.
    #[serde(default)]
    pub magnet: Option<String>,
    /// Where its files are.
    pub download_dir: PathBuf,
    /// Peers to connect to (`HOST:PORT`): given when added, and a magnet's `x.pe`.
    #[serde(default)]
    pub peers: Vec<String>,
    /// Paused by the user (or by a reached seeding goal).
    #[serde(default)]
    pub paused: bool,
    /// Download pieces in order (for streaming).
    #[serde(default)]
    pub sequential: bool,
    /// One priority per file, or empty for all normal.
    #[serde(default)]
    pub file_priorities: Vec<FilePriority>,
    /// Its own rate limits and peer cap.
    #[serde(default)]
    pub limits: TorrentLimits,
    /// Stop seeding at this ratio (`None`: no ratio goal).
    #[serde(default)]
    pub seed_ratio: Option<f64>,
    /// Stop seeding after this many seconds of seeding (`None`: no time goal).
    #[serde(default)]
    pub seed_time_secs: Option<u64>,
    /// A seeding goal paused the torrent; a later resume by the user seeds on.
    #[serde(default)]
    pub goal_reached: bool,
    /// When it was added (seconds since the Unix epoch).
    pub added_unix: u64,
    /// Position in the add order, for queueing.
    pub queue_order: u64,
    /// Plain files or a private link, sent or received.
    #[serde(default)]
    pub kind: ContentKind,
}

/// When and how big a file was at the last save, to tell whether it changed since.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStamp {
    /// Length in bytes.
    pub len: u64,
    /// Modification time, nanoseconds since the Unix epoch (negative before it).
    pub mtime_ns: i128,
}

impl FileStamp {
    /// The stamp of `path`, `None` if it does not exist (or is not a regular file).
    pub fn of(path: &Path) -> Option<FileStamp> {
        let meta = std::fs::symlink_metadata(path).ok()?;
        if !meta.is_file() {
            return None;
        }
        let mtime_ns = match meta.modified().ok()?.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_nanos() as i128,
            Err(e) => -(e.duration().as_nanos() as i128),
        };
        Some(FileStamp {
            len: meta.len(),
            mtime_ns,
        })
    }
}

/// Progress saved every few seconds and at shutdown (`resume.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResumeRecord {
    /// BEP 3 bitfield of verified pieces, base64.
    pub pieces: String,
    /// Payload bytes sent, over all runs.
    pub uploaded: u64,
    /// Payload bytes received, over all runs.
    pub downloaded: u64,
    /// Seconds spent seeding in earlier runs and this one up to the save.
    pub seeding_secs: u64,
    /// The stamp of each of the torrent's files (metainfo order) at the save.
    pub files: Vec<Option<FileStamp>>,
}

/// A private link's secret (`secret.json`, 0600): the key as in the link, and for a
/// send the path of the shared files.
#[derive(Clone, Serialize, Deserialize)]
pub struct SecretRecord {
    /// The content key, as in the link.
    pub key: String,
    /// For a private link we send: the path of the shared files.
    #[serde(default)]
    pub source: Option<PathBuf>,
}

impl std::fmt::Debug for SecretRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretRecord")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}
