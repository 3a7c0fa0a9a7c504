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
    #[error(transparent)]
    Private(#[from] shoal_private::PrivateStoreError),
    /// Private content is carried by a torrent of exactly one file.
    #[error("a private link's torrent must hold exactly one file")]
    PrivateNeedsSingleFile,
    /// The private source's stream is not the one the torrent describes.
    #[error("the private content does not match the torrent's length")]
    PrivateLengthMismatch,
    #[error("checking existing data failed: {0}")]
    Check(String),
}

/// A running torrent stopped with an error.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TorrentError {
    #[error("disk error: {0}")]
    Disk(String),
    /// The private link's key does not open the content (found from verified data,
    /// before any file was written).
    #[error("wrong key for this link")]
    WrongKey,
    /// The private content could not be opened (damaged or not shoal private content).
    #[error("{0}")]
    Content(String),
    #[error("torrent was stopped before it completed")]
    Stopped,
}
