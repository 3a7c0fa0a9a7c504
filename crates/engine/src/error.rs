//! Error types of the engine's operations. Peer misbehaviour never surfaces here: a
//! misbehaving peer is disconnected and logged by its own task.

use std::io;

/// Starting a session failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: io::Error,
    },
    #[error("cannot start disk threads: {0}")]
    Threads(io::Error),
    #[error("cannot start the DHT: {0}")]
    Dht(String),
}

/// Adding a torrent failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AddTorrentError {
    #[error("torrent {0} is already in the session")]
    Duplicate(String),
    #[error("cannot create download directory {path}: {source}")]
    CreateDir {
        path: std::path::PathBuf,
        source: io::Error,
    },
    #[error(transparent)]
    Storage(#[from] shoal_storage::StorageError),
    #[error("checking existing data failed: {0}")]
    Check(String),
}

/// A running torrent stopped with an error.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TorrentError {
    #[error("disk error: {0}")]
    Disk(String),
    #[error("torrent was stopped before it completed")]
    Stopped,
}
