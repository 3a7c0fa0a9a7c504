//! The JSON shapes of the HTTP API (see crates/daemon/openapi.json).

use serde::{Deserialize, Serialize};
use shoal_engine::FilePriority;

/// A torrent's state as the API reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiState {
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

/// `PATCH /api/v1/session`: `Some(None)` clears a limit.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionPatch {
    #[serde(default, deserialize_with = "nullable")]
    pub upload_limit: Option<Option<u64>>,
    #[serde(default, deserialize_with = "nullable")]
    pub download_limit: Option<Option<u64>>,
    pub max_connections: Option<usize>,
    pub max_peers_per_torrent: Option<usize>,
    pub max_active_downloads: Option<usize>,
    pub max_active_seeds: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TorrentSummary {
    pub id: String,
    pub name: String,
    pub state: ApiState,
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

/// `POST /api/v1/torrents`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddRequest {
    pub magnet: Option<String>,
    /// Base64 of the .torrent file.
    pub torrent: Option<String>,
    /// A local file or directory to share.
    pub path: Option<String>,
    /// For `path`: a private link (default) or a plain magnet.
    pub private: Option<bool>,
    pub download_dir: Option<String>,
    #[serde(default)]
    pub paused: bool,
    #[serde(default)]
    pub sequential: bool,
    #[serde(default)]
    pub files: Vec<FilePriority>,
    /// Extension: peers to connect to (`HOST:PORT`), kept across restarts.
    #[serde(default)]
    pub peers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddResponse {
    pub id: String,
    pub name: String,
    pub link: String,
}

/// `PATCH /api/v1/torrents/{id}`: `Some(None)` clears a setting.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TorrentPatch {
    pub sequential: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    pub upload_limit: Option<Option<u64>>,
    #[serde(default, deserialize_with = "nullable")]
    pub download_limit: Option<Option<u64>>,
    #[serde(default, deserialize_with = "nullable")]
    pub max_peers: Option<Option<usize>>,
    #[serde(default, deserialize_with = "nullable")]
    pub seed_ratio: Option<Option<f64>>,
    #[serde(default, deserialize_with = "nullable")]
    pub seed_time_secs: Option<Option<u64>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileInfo {
    pub index: usize,
    pub path: String,
    pub length: u64,
    pub priority: FilePriority,
    pub progress: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilePriorityChange {
    pub index: usize,
    pub priority: FilePriority,
}

/// `PATCH /api/v1/torrents/{id}/files`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesPatch {
    pub priorities: Vec<FilePriorityChange>,
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

/// `POST /api/v1/torrents/{id}/move`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    pub download_dir: String,
}

/// The error body of every failed request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_tells_null_from_absent() {
        let p: TorrentPatch = serde_json::from_str(r#"{"upload_limit": null}"#).unwrap();
        assert_eq!(p.upload_limit, Some(None));
        assert_eq!(p.download_limit, None);
        let p: TorrentPatch = serde_json::from_str(r#"{"download_limit": 5}"#).unwrap();
        assert_eq!(p.download_limit, Some(Some(5)));
        assert!(serde_json::from_str::<TorrentPatch>(r#"{"bogus": 1}"#).is_err());
    }
}
