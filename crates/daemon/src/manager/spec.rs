//! What callers ask of the manager: a torrent to add, changes to a torrent's settings
//! or to the session's limits. The API builds these from its request bodies.

use shoal_engine::FilePriority;
use std::path::PathBuf;

/// Where a new torrent comes from.
#[derive(Debug, Clone)]
pub enum AddSource {
    /// A magnet link, or a private link (`magnet:?…#k=KEY`).
    Link(String),
    /// The bytes of a .torrent file.
    TorrentFile(Vec<u8>),
    /// A local file or directory to share: a private link when `private`, else a
    /// plain torrent of the files.
    Path {
        /// The file or directory.
        path: PathBuf,
        /// Share it as a private link (encrypted), not as a plain torrent.
        private: bool,
    },
}

/// A torrent to add.
#[derive(Debug, Clone)]
pub struct AddSpec {
    /// Where the torrent comes from.
    pub source: AddSource,
    /// Absolute; the configured download directory when `None`.
    pub download_dir: Option<PathBuf>,
    /// Add it paused.
    pub paused: bool,
    /// Download pieces in order (for streaming).
    pub sequential: bool,
    /// One per file, or empty for all normal.
    pub files: Vec<FilePriority>,
    /// Peers to connect to (`HOST:PORT`), kept across restarts.
    pub peers: Vec<String>,
}

impl AddSpec {
    /// Adding from `source` with every setting at its default.
    pub fn new(source: AddSource) -> AddSpec {
        AddSpec {
            source,
            download_dir: None,
            paused: false,
            sequential: false,
            files: Vec::new(),
            peers: Vec::new(),
        }
    }
}

/// Changes to a torrent's settings: `None` keeps a setting, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct TorrentChanges {
    /// Download pieces in order, or not.
    pub sequential: Option<bool>,
    /// Its own upload limit in bytes per second (`Some(None)` or 0: none).
    pub upload_limit: Option<Option<u64>>,
    /// Its own download limit in bytes per second (`Some(None)` or 0: none).
    pub download_limit: Option<Option<u64>>,
    /// Its own peer cap (`Some(None)`: the session's per-torrent cap).
    pub max_peers: Option<Option<usize>>,
    /// Stop seeding at this ratio (`Some(None)`: no ratio goal).
    pub seed_ratio: Option<Option<f64>>,
    /// Stop seeding after this many seconds of seeding (`Some(None)`: no time goal).
    pub seed_time_secs: Option<Option<u64>>,
}

/// Changes to the session's limits: `None` keeps a limit, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct SessionChanges {
    /// Session upload limit in bytes per second (`Some(None)` or 0: unlimited).
    pub upload_limit: Option<Option<u64>>,
    /// Session download limit in bytes per second (`Some(None)` or 0: unlimited).
    pub download_limit: Option<Option<u64>>,
    /// Cap on peer connections of all torrents.
    pub max_connections: Option<usize>,
    /// Cap on peer connections per torrent.
    pub max_peers_per_torrent: Option<usize>,
    /// Torrents that may download at once.
    pub max_active_downloads: Option<usize>,
    /// Torrents that may seed at once.
    pub max_active_seeds: Option<usize>,
}

/// A new priority for one file.
#[derive(Debug, Clone, Copy)]
pub struct FileChange {
    /// The file's index in the torrent.
    pub index: usize,
    /// Its new priority.
    pub priority: FilePriority,
}
