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
    /// The resume data does not fit the torrent (e.g. a bitfield of the wrong length).
    #[error("resume data does not fit the torrent: {0}")]
    BadResume(String),
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
    /// A read of bytes whose pieces are not verified yet.
    #[error("those bytes are not downloaded yet")]
    NotAvailable,
    /// Bytes or a file index past the end of the torrent.
    #[error("out of range for this torrent")]
    OutOfRange,
    /// A list of per-file priorities of the wrong length.
    #[error("expected {expected} file priorities, got {got}")]
    BadPriorities { expected: usize, got: usize },
    /// Moving the data to another directory failed; the torrent stays where it was.
    #[error("moving the data failed: {0}")]
    Move(String),
    /// Another re-check or move of this torrent is under way.
    #[error("the torrent is busy with a re-check or move")]
    Busy,
}

/// Removing a torrent from a session failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoveError {
    #[error("no such torrent in the session")]
    NotFound,
    #[error("deleting the torrent's data failed: {0}")]
    Delete(std::io::Error),
}
