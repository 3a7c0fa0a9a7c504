//! The JSON shapes of the HTTP API (see crates/daemon/openapi.json): the request
//! bodies, turned into the manager's own types here, and the manager's reports,
//! which are sent as they are.

use super::ApiError;
use crate::manager::spec::{AddSource, AddSpec, FileChange, SessionChanges, TorrentChanges};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use shoal_engine::FilePriority;
use std::path::PathBuf;

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
    /// New session upload limit in bytes per second (`null` or 0: unlimited).
    #[serde(default, deserialize_with = "nullable")]
    pub upload_limit: Option<Option<u64>>,
    /// New session download limit in bytes per second (`null` or 0: unlimited).
    #[serde(default, deserialize_with = "nullable")]
    pub download_limit: Option<Option<u64>>,
    /// New cap on peer connections of all torrents.
    pub max_connections: Option<usize>,
    /// New cap on peer connections per torrent.
    pub max_peers_per_torrent: Option<usize>,
    /// New number of torrents that may download at once.
    pub max_active_downloads: Option<usize>,
    /// New number of torrents that may seed at once.
    pub max_active_seeds: Option<usize>,
}

/// `POST /api/v1/torrents`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddRequest {
    /// A magnet link, or a private link (`magnet:?…#k=KEY`).
    pub magnet: Option<String>,
    /// Base64 of the .torrent file.
    pub torrent: Option<String>,
    /// A local file or directory to share.
    pub path: Option<String>,
    /// For `path`: a private link (default) or a plain magnet.
    pub private: Option<bool>,
    /// Where to download (absolute); the configured directory when absent.
    pub download_dir: Option<String>,
    /// Add it paused.
    #[serde(default)]
    pub paused: bool,
    /// Download pieces in order (for streaming).
    #[serde(default)]
    pub sequential: bool,
    /// One priority per file, or empty for all normal.
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
    /// Download pieces in order, or not.
    pub sequential: Option<bool>,
    /// Its own upload limit in bytes per second (`null` or 0: none).
    #[serde(default, deserialize_with = "nullable")]
    pub upload_limit: Option<Option<u64>>,
    /// Its own download limit in bytes per second (`null` or 0: none).
    #[serde(default, deserialize_with = "nullable")]
    pub download_limit: Option<Option<u64>>,
    /// Its own peer cap (`null`: the session's per-torrent cap).
    #[serde(default, deserialize_with = "nullable")]
    pub max_peers: Option<Option<usize>>,
    /// Stop seeding at this ratio (`null`: no ratio goal).
    #[serde(default, deserialize_with = "nullable")]
    pub seed_ratio: Option<Option<f64>>,
    /// Stop seeding after this many seconds of seeding (`null`: no time goal).
    #[serde(default, deserialize_with = "nullable")]
    pub seed_time_secs: Option<Option<u64>>,
}

/// One entry of a [`FilesPatch`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilePriorityChange {
    /// The file's index in the torrent.
    pub index: usize,
    /// Its new priority.
    pub priority: FilePriority,
}

/// `PATCH /api/v1/torrents/{id}/files`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesPatch {
    /// The files to change; others keep their priority.
    pub priorities: Vec<FilePriorityChange>,
}

/// `POST /api/v1/torrents/{id}/move`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    /// The new directory (absolute); the files are moved there.
    pub download_dir: String,
}

impl AddRequest {
    /// The add the manager is asked for: exactly one source, the torrent decoded.
    pub fn into_spec(self) -> Result<AddSpec, ApiError> {
        let source = match (self.magnet, self.torrent, self.path) {
            (Some(link), None, None) => AddSource::Link(link),
            (None, Some(b64), None) => AddSource::TorrentFile(
                base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .map_err(|e| ApiError::bad_request(format!("torrent is not base64: {e}")))?,
            ),
            (None, None, Some(path)) => AddSource::Path {
                path: path.into(),
                private: self.private.unwrap_or(true),
            },
            _ => {
                return Err(ApiError::bad_request(
                    "give exactly one of magnet, torrent, path",
                ))
            }
        };
        Ok(AddSpec {
            source,
            download_dir: self.download_dir.map(PathBuf::from),
            paused: self.paused,
            sequential: self.sequential,
            files: self.files,
            peers: self.peers,
        })
    }
}

impl From<TorrentPatch> for TorrentChanges {
    fn from(p: TorrentPatch) -> TorrentChanges {
        TorrentChanges {
            sequential: p.sequential,
            upload_limit: p.upload_limit,
            download_limit: p.download_limit,
            max_peers: p.max_peers,
            seed_ratio: p.seed_ratio,
            seed_time_secs: p.seed_time_secs,
        }
    }
}

impl From<SessionPatch> for SessionChanges {
    fn from(p: SessionPatch) -> SessionChanges {
        SessionChanges {
            upload_limit: p.upload_limit,
            download_limit: p.download_limit,
            max_connections: p.max_connections,
            max_peers_per_torrent: p.max_peers_per_torrent,
            max_active_downloads: p.max_active_downloads,
            max_active_seeds: p.max_active_seeds,
        }
    }
}

impl From<&FilePriorityChange> for FileChange {
    fn from(c: &FilePriorityChange) -> FileChange {
        FileChange {
            index: c.index,
            priority: c.priority,
        }
    }
}

/// The error body of every failed request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error's message, on one line.
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

    #[test]
    fn add_request_needs_exactly_one_source() {
        let none = AddRequest::default().into_spec().unwrap_err();
        assert_eq!(none.status, axum::http::StatusCode::BAD_REQUEST);
        let two = AddRequest {
            magnet: Some("magnet:?".into()),
            path: Some("/tmp".into()),
            ..AddRequest::default()
        };
        assert!(two.into_spec().is_err());
        let bad = AddRequest {
            torrent: Some("not base64!".into()),
            ..AddRequest::default()
        };
        assert!(bad.into_spec().unwrap_err().message.contains("base64"));
        let path = AddRequest {
            path: Some("/srv/x".into()),
            ..AddRequest::default()
        };
        match path.into_spec().unwrap().source {
            AddSource::Path { path, private } => {
                assert_eq!(path, PathBuf::from("/srv/x"));
                assert!(private, "a shared path is private by default");
            }
            other => panic!("{other:?}"),
        }
    }
}
