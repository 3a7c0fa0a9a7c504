//! What the manager reports: torrents (summary, detail, files, peers, pieces,
//! trackers), the session, a new torrent. Plain data, serialisable as it is: the API
//! sends these as its JSON replies (crates/daemon/openapi.json).

use serde::{Deserialize, Serialize};
use shoal_engine::FilePriority;

/// A torrent's state as the manager reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TorrentStatus {
    /// Fetching its metadata (added by link), or checking its existing data.
    Checking,
    /// Running and incomplete.
    Downloading,
    /// Running and complete.
    Seeding,
    /// Paused by the user or by a reached seeding goal.
    Paused,
    /// Waiting for a download or seed slot (see [`crate::manager::queue`]).
    Queued,
    /// Stopped for good (bad data on disk, wrong key, …); `error` says why.
    Error,
    /// Paused by a disk fault (disk full, read-only directory) and retrying by itself;
    /// `error` says what happened and how often it retries.
    Faulted,
}

/// The session: its addresses, limits and totals (`GET /api/v1/session`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// The daemon's version.
    pub version: String,
    /// The address peers connect to.
    pub listen_addr: String,
    /// The address of the API and web UI.
    pub api_addr: String,
    /// The default directory for new downloads.
    pub download_dir: String,
    /// Session upload limit in bytes per second (`None`: unlimited).
    pub upload_limit: Option<u64>,
    /// Session download limit in bytes per second (`None`: unlimited).
    pub download_limit: Option<u64>,
    /// Peer connections of all torrents together.
    pub max_connections: usize,
    /// Peer connections per torrent, unless the torrent sets its own.
    pub max_peers_per_torrent: usize,
    /// Torrents that may download at once.
    pub max_active_downloads: usize,
    /// Torrents that may seed at once.
    pub max_active_seeds: usize,
    /// Payload bytes per second sent, over all torrents.
    pub upload_rate: u64,
    /// Payload bytes per second received, over all torrents.
    pub download_rate: u64,
    /// Payload bytes sent, summed over the torrents' counters.
    pub uploaded: u64,
    /// Payload bytes received, summed over the torrents' counters.
    pub downloaded: u64,
    /// Torrents in the list.
    pub torrents: usize,
    /// Peers connected, over all torrents.
    pub peers: usize,
}

/// One torrent in the list (`GET /api/v1/torrents`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TorrentSummary {
    /// The info-hash, hex: the torrent's id in every request.
    pub id: String,
    /// Display name (the hex info-hash until a magnet's metadata arrives).
    pub name: String,
    /// What it is doing.
    pub state: TorrentStatus,
    /// Verified share of the torrent, 0.0 to 1.0.
    pub progress: f64,
    /// Bytes of the whole torrent (0 until the metadata is known).
    pub total_length: u64,
    /// Bytes of verified pieces.
    pub verified_bytes: u64,
    /// Payload bytes per second received.
    pub download_rate: u64,
    /// Payload bytes per second sent.
    pub upload_rate: u64,
    /// Payload bytes sent.
    pub uploaded: u64,
    /// Payload bytes received.
    pub downloaded: u64,
    /// Peers connected.
    pub peers: usize,
    /// Peers whose handshakes failed on the encryption policy, by reason (shown as
    /// "3 peers refused: they require encryption").
    #[serde(default)]
    pub refused_peers: shoal_engine::EncryptionRefusals,
    /// Seconds to completion at the current rate (`None`: complete or stalled).
    pub eta_secs: Option<u64>,
    /// Uploaded over downloaded (over the size when nothing was downloaded).
    pub ratio: f64,
    /// Why it is in the `error` or `faulted` state.
    pub error: Option<String>,
    /// When it was added (seconds since the Unix epoch).
    pub added_unix: u64,
    /// Pieces are downloaded in order (for streaming).
    pub sequential: bool,
}

/// One torrent with its settings (`GET /api/v1/torrents/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TorrentDetail {
    /// What the list shows of it.
    #[serde(flatten)]
    pub summary: TorrentSummary,
    /// The info-hash, hex.
    pub info_hash: String,
    /// The link to give others (see [`crate::manager::Manager::link_of`]).
    pub link: String,
    /// Where its files are.
    pub download_dir: String,
    /// Pieces of the torrent (0 until the metadata is known).
    pub num_pieces: u32,
    /// Bytes per piece.
    pub piece_length: u32,
    /// Pieces verified.
    pub have_pieces: u32,
    /// The torrent's `private` flag (no DHT, PEX or LSD).
    pub private: bool,
    /// Its own upload limit in bytes per second (`None`: only the session's).
    pub upload_limit: Option<u64>,
    /// Its own download limit in bytes per second (`None`: only the session's).
    pub download_limit: Option<u64>,
    /// Its own peer cap (`None`: the session's per-torrent cap).
    pub max_peers: Option<usize>,
    /// Stop seeding at this ratio (`None`: no ratio goal).
    pub seed_ratio: Option<f64>,
    /// Stop seeding after this many seconds of seeding (`None`: no time goal).
    pub seed_time_secs: Option<u64>,
    /// Its place among the queued torrents (0 = next), when queued.
    pub queue_position: Option<usize>,
}

/// A torrent just added.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Added {
    /// The info-hash, hex.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The link to give others.
    pub link: String,
}

/// One file of a torrent (`GET /api/v1/torrents/{id}/files`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileInfo {
    /// Its index in the torrent (metainfo order).
    pub index: usize,
    /// Its path below the download directory.
    pub path: String,
    /// Its length in bytes.
    pub length: u64,
    /// Its download priority.
    pub priority: FilePriority,
    /// Verified share of the file, 0.0 to 1.0.
    pub progress: f64,
}

/// One connected peer (`GET /api/v1/torrents/{id}/peers`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerInfo {
    /// The peer's address.
    pub addr: String,
    /// Its client name, from its extension handshake.
    pub client: Option<String>,
    /// Payload bytes per second it sends us.
    pub download_rate: u64,
    /// Payload bytes per second we send it.
    pub upload_rate: u64,
    /// Payload bytes it sent us.
    pub downloaded: u64,
    /// Payload bytes we sent it.
    pub uploaded: u64,
    /// We dialled it (rather than it us).
    pub outgoing: bool,
    /// The connection is encrypted (MSE with RC4).
    pub encrypted: bool,
    /// It chokes us.
    pub choked: bool,
    /// We choke it.
    pub choking: bool,
    /// We want something it has.
    pub interested: bool,
    /// It wants something we have.
    pub peer_interested: bool,
}

/// Which pieces a torrent has (`GET /api/v1/torrents/{id}/pieces`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PiecesInfo {
    /// Pieces of the torrent.
    pub num_pieces: u32,
    /// Pieces verified.
    pub have: u32,
    /// Base64 of the BEP 3 bitfield.
    pub bitfield: String,
}

/// One tracker of a torrent (`GET /api/v1/torrents/{id}/trackers`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackerInfo {
    /// The announce URL.
    pub url: String,
    /// Its BEP 12 tier (0 = first).
    pub tier: u32,
    /// `not contacted`, `working`, `error` or `updating`.
    pub status: String,
    /// Peers the last successful announce returned.
    pub peers: u32,
    /// Why the last announce failed, if it did.
    pub last_error: Option<String>,
    /// Seconds until the next announce, if one is scheduled.
    pub next_announce_secs: Option<u64>,
}
