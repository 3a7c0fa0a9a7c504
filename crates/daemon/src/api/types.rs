//! The JSON shapes of the HTTP API (see crates/daemon/openapi.json): the request
//! bodies, and the manager's reports, which are sent as they are.

use serde::{Deserialize, Serialize};
use shoal_engine::FilePriority;

/// The reply to `POST /api/v1/torrents`.
pub use crate::manager::info::Added as AddResponse;
pub use crate::manager::info::{
    FileInfo, PeerInfo, PiecesInfo, SessionInfo, TorrentDetail, TorrentStatus, TorrentSummary,
    TrackerInfo,
};

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
