//! What the manager reports: torrents (summary, detail, files, peers, pieces,
//! trackers), the session, a new torrent. Plain data, serialisable as it is: the API
//! sends these as its JSON replies (crates/daemon/openapi.json).

use serde::{Deserialize, Serialize};
use shoal_engine::FilePriority;

/// A torrent's state as the manager reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TorrentStatus {
    Checking,
    Downloading,
    Seeding,
    Paused,
    Queued,
    /// Stopped for good (bad data on disk, wrong key, …); `error` says why.
    Error,
    /// Paused by a disk fault (disk full, read-only directory) and retrying by itself;
    /// `error` says what happened and how often it retries.
    Faulted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub version: String,
    pub listen_addr: String,
    pub api_addr: String,
    pub download_dir: String,
    pub upload_limit: Option<u64>,
    pub download_limit: Option<u64>,
    pub max_connections: usize,
    pub max_peers_per_torrent: usize,
    pub max_active_downloads: usize,
    pub max_active_seeds: usize,
    pub upload_rate: u64,
    pub download_rate: u64,
    pub uploaded: u64,
    pub downloaded: u64,
    pub torrents: usize,
    pub peers: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TorrentSummary {
    pub id: String,
    pub name: String,
    pub state: TorrentStatus,
    pub progress: f64,
    pub total_length: u64,
    pub verified_bytes: u64,
    pub download_rate: u64,
    pub upload_rate: u64,
    pub uploaded: u64,
    pub downloaded: u64,
    pub peers: usize,
    pub eta_secs: Option<u64>,
    pub ratio: f64,
    pub error: Option<String>,
    pub added_unix: u64,
    pub sequential: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TorrentDetail {
    #[serde(flatten)]
    pub summary: TorrentSummary,
    pub info_hash: String,
    pub link: String,
    pub download_dir: String,
    pub num_pieces: u32,
    pub piece_length: u32,
    pub have_pieces: u32,
    pub private: bool,
    pub upload_limit: Option<u64>,
    pub download_limit: Option<u64>,
    pub max_peers: Option<usize>,
    pub seed_ratio: Option<f64>,
    pub seed_time_secs: Option<u64>,
    pub queue_position: Option<usize>,
}

/// A torrent just added.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Added {
    pub id: String,
    pub name: String,
    pub link: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileInfo {
    pub index: usize,
    pub path: String,
    pub length: u64,
    pub priority: FilePriority,
    pub progress: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerInfo {
    pub addr: String,
    pub client: Option<String>,
    pub download_rate: u64,
    pub upload_rate: u64,
    pub downloaded: u64,
    pub uploaded: u64,
    pub outgoing: bool,
    pub encrypted: bool,
    pub choked: bool,
    pub choking: bool,
    pub interested: bool,
    pub peer_interested: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PiecesInfo {
    pub num_pieces: u32,
    pub have: u32,
    /// Base64 of the BEP 3 bitfield.
    pub bitfield: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackerInfo {
    pub url: String,
    pub tier: u32,
    pub status: String,
    pub peers: u32,
    pub last_error: Option<String>,
    pub next_announce_secs: Option<u64>,
}
