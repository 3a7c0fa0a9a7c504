//! Errors of the daemon's operations. Each says what went wrong (a torrent that is
//! not there, a link that does not parse, a state file that cannot be written) and
//! keeps its cause as a source; which HTTP status that is, is the API's choice
//! (`api/error.rs`).

use crate::share::ShareError;
use crate::state::StateError;
use std::path::PathBuf;
use std::sync::Arc;

/// A request about a torrent (or the session) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManagerError {
    /// No torrent has this id (or prefix), or it was removed meanwhile.
    #[error("no torrent {id}")]
    UnknownTorrent {
        /// The id or prefix asked for.
        id: String,
    },
    /// The id prefix fits more than one torrent.
    #[error("id prefix {prefix} matches several torrents")]
    AmbiguousId {
        /// The prefix asked for.
        prefix: String,
    },
    /// The torrent has no file of this index (a file asked for by index).
    #[error("no file {index} in torrent {id}")]
    UnknownFile {
        /// The torrent's id (info-hash hex).
        id: String,
        /// The index asked for.
        index: usize,
    },
    /// A list of changes names a file the torrent does not have.
    #[error("no file {index} (the torrent has {files})")]
    FileIndex {
        /// The index named.
        index: usize,
        /// Files of the torrent.
        files: usize,
    },
    /// Added by link and still fetching the torrent's metadata.
    #[error("torrent {id} has no metadata yet")]
    MetadataPending {
        /// The torrent's id (info-hash hex).
        id: String,
    },
    /// Its existing data is being checked before it runs.
    #[error("torrent {id} is being checked")]
    Checking {
        /// The torrent's id (info-hash hex).
        id: String,
    },
    /// It could not be started (its state on disk, its shared files, …).
    #[error("torrent {id} failed: {reason}")]
    Failed {
        /// The torrent's id (info-hash hex).
        id: String,
        /// Why it could not be started, as its entry keeps it.
        #[source]
        reason: Arc<StartError>,
    },
    /// The files of a private link are encrypted on disk.
    #[error("files of a private link cannot be streamed")]
    PrivateStream,
    /// A path we share is the user's original files.
    #[error("a shared path cannot be moved (its files are the originals)")]
    MoveShared,
    /// A download directory must not depend on the daemon's working directory.
    #[error("download_dir must be an absolute path: {}", .path.display())]
    RelativeDir {
        /// The directory given.
        path: PathBuf,
    },
    /// A seeding goal that is not a ratio.
    #[error("seed_ratio {ratio} is not a ratio >= 0")]
    BadSeedRatio {
        /// The value given.
        ratio: f64,
    },
    /// The engine refused or failed the change.
    #[error("{0}")]
    Engine(#[source] shoal_engine::TorrentError),
    /// The engine could not remove the torrent (or its data).
    #[error("{0}")]
    Remove(#[source] shoal_engine::RemoveError),
    /// The state directory could not be written.
    #[error("{0}")]
    State(#[source] StateError),
}

/// Why a registered torrent could not be loaded or started. It stays in the list in
/// the error state, keeping this as its reason (shared, hence held in an `Arc`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// Its files in the state directory cannot be read or written.
    #[error("{0}")]
    State(#[from] StateError),
    /// Its saved private link key does not parse.
    #[error("{0}")]
    BadKey(#[from] shoal_private::KeyParseError),
    /// Its saved `meta.torrent` is not a valid torrent.
    #[error("{0}")]
    BadMeta(#[from] shoal_metainfo::MetainfoError),
    /// Its saved `meta.torrent` has another info-hash than its directory's name.
    #[error("meta.torrent does not match its directory")]
    MetaMismatch,
    /// A private link's torrent whose key was not saved.
    #[error("the private link's key is missing")]
    KeyMissing,
    /// A private share whose shared path was not saved.
    #[error("the shared path is missing")]
    SharePathMissing,
    /// The shared files cannot be opened again (gone, changed, unreadable).
    #[error("{0}")]
    Share(#[from] ShareError),
    /// The task reopening the shared files ended without a result (a panic).
    #[error("{0}")]
    ShareTask(#[source] tokio::task::JoinError),
    /// A private link whose fetched metadata describes several files.
    #[error("this link is not a private share (its torrent has several files)")]
    NotPrivateShare,
    /// The engine refused the torrent.
    #[error("{0}")]
    Engine(#[from] shoal_engine::AddTorrentError),
}

/// Adding a torrent failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AddError {
    /// See [`ManagerError::RelativeDir`].
    #[error("download_dir must be an absolute path: {}", .path.display())]
    RelativeDir {
        /// The directory given.
        path: PathBuf,
    },
    /// The magnet link does not parse.
    #[error("invalid magnet link: {0}")]
    BadMagnet(#[source] shoal_metainfo::MagnetError),
    /// A link with a `#…` fragment whose key does not parse.
    #[error("invalid private link: {0}")]
    BadPrivateLink(#[source] shoal_private::LinkError),
    /// The `.torrent` file is refused.
    #[error("not a valid torrent: {0}")]
    BadTorrentFile(#[source] shoal_metainfo::MetainfoError),
    /// The path to share cannot be resolved (missing, no permission).
    #[error("cannot share {}: {source}", .path.display())]
    SharePath {
        /// The path given.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The private share of the path could not be built.
    #[error("cannot share: {0}")]
    Share(#[source] ShareError),
    /// A torrent of the path could not be created.
    #[error("cannot share: {0}")]
    CreateTorrent(#[source] shoal_metainfo::CreateError),
    /// The task building the share or torrent ended without a result (a panic).
    #[error("building the share failed: {0}")]
    ShareTask(#[source] tokio::task::JoinError),
    /// Not one priority per file of the torrent.
    #[error("files lists {given} priorities; the torrent has {files} files")]
    PriorityCount {
        /// Priorities given.
        given: usize,
        /// Files of the torrent.
        files: usize,
    },
    /// The torrent is in the list already.
    #[error("torrent {id} is already added")]
    Duplicate {
        /// The torrent's id (info-hash hex).
        id: String,
    },
    /// Its earlier copy is still leaving the engine.
    #[error("torrent {id} is still being removed; try again shortly")]
    BeingRemoved {
        /// The torrent's id (info-hash hex).
        id: String,
    },
    /// Its state files could not be written.
    #[error("{0}")]
    State(#[source] StateError),
}

/// Starting the daemon failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DaemonError {
    /// The configuration cannot be read or used.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The state directory cannot be used (locked by another daemon, unwritable, …).
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    /// The engine session did not start (e.g. its listening port is taken).
    #[error(transparent)]
    Session(#[from] shoal_engine::SessionError),
    /// The API's socket cannot be bound.
    #[error("cannot serve the API on {addr}: {source}")]
    Api {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
}
