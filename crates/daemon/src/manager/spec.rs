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
    Path { path: PathBuf, private: bool },
}

/// A torrent to add.
#[derive(Debug, Clone)]
pub struct AddSpec {
    pub source: AddSource,
    /// Absolute; the configured download directory when `None`.
    pub download_dir: Option<PathBuf>,
    pub paused: bool,
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
    pub sequential: Option<bool>,
    pub upload_limit: Option<Option<u64>>,
    pub download_limit: Option<Option<u64>>,
    pub max_peers: Option<Option<usize>>,
    pub seed_ratio: Option<Option<f64>>,
    pub seed_time_secs: Option<Option<u64>>,
}

/// Changes to the session's limits: `None` keeps a limit, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct SessionChanges {
    pub upload_limit: Option<Option<u64>>,
    pub download_limit: Option<Option<u64>>,
    pub max_connections: Option<usize>,
    pub max_peers_per_torrent: Option<usize>,
    pub max_active_downloads: Option<usize>,
    pub max_active_seeds: Option<usize>,
}

/// A new priority for one file.
#[derive(Debug, Clone, Copy)]
pub struct FileChange {
    pub index: usize,
    pub priority: FilePriority,
}
