//! Error types of the engine's operations. Peer misbehaviour never surfaces here: a
//! misbehaving peer is disconnected and logged by its own task. Causes are kept as
//! sources (behind `Arc` where the error is cloned to every waiter of a torrent).

use std::io;
use std::sync::Arc;

/// Starting a session failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// Why binding failed.
        source: io::Error,
    },
    /// The network device to bind to is unusable (absent, or not a device name).
    #[error("cannot use network interface {name:?}: {source}")]
    Interface {
        /// The device asked for.
        name: String,
        /// Why it cannot be used.
        source: io::Error,
    },
    /// The disk worker threads could not be started.
    #[error("cannot start disk threads: {0}")]
    Threads(#[source] io::Error),
    /// The DHT node could not be started.
    #[error("cannot start the DHT: {0}")]
    Dht(#[source] shoal_dht_net::DhtNetError),
    /// The memory network carries peer connections only: DHT, LSD and trackers
    /// would need the host's network.
    #[error("the DHT, LSD and trackers cannot run on the in-memory network")]
    UdpOnMemoryNetwork,
}

/// Adding a torrent failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AddTorrentError {
    /// A torrent with this info-hash (hex) is in the session already.
    #[error("torrent {0} is already in the session")]
    Duplicate(String),
    /// The download directory could not be created.
    #[error("cannot create download directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: std::path::PathBuf,
        /// Why creating it failed.
        source: io::Error,
    },
    /// The torrent's files could not be opened or checked.
    #[error(transparent)]
    Storage(#[from] shoal_storage::StorageError),
    /// A private link's content could not be opened.
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
    BadResume(#[source] shoal_wire::BitfieldError),
    /// The check of existing data did not finish (its thread panicked or was
    /// cancelled).
    #[error("checking existing data failed: {0}")]
    Check(#[source] tokio::task::JoinError),
}

/// A running torrent stopped with an error.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TorrentError {
    /// Reading or writing the data failed for a local reason.
    #[error("disk error: {0}")]
    Disk(#[source] Arc<StoreError>),
    /// The private link's key does not open the content (found from verified data,
    /// before any file was written).
    #[error("wrong key for this link")]
    WrongKey,
    /// The private content could not be opened (damaged or not shoal private content).
    #[error(transparent)]
    Content(Arc<shoal_private::PrivateStoreError>),
    /// The torrent was stopped or removed before it completed.
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
    BadPriorities {
        /// Files in the torrent.
        expected: usize,
        /// Priorities given.
        got: usize,
    },
    /// Moving the data to another directory failed; the torrent stays where it was.
    #[error("moving the data failed: {0}")]
    Move(#[source] Arc<io::Error>),
    /// The data moved, but the torrent's files could not be opened at the new place.
    #[error("opening the moved data failed: {0}")]
    Reopen(#[source] Arc<AddTorrentError>),
    /// A private link's data is computed from (or decrypted into) its share's own
    /// files and stays where it is.
    #[error("the data of a private link cannot be moved")]
    PrivateNotMovable,
    /// A background job of the torrent (hashing, reading, completing) did not finish:
    /// its thread panicked or the runtime is shutting down.
    #[error("a background job failed: {0}")]
    Job(#[source] Arc<tokio::task::JoinError>),
    /// Another re-check or move of this torrent is under way.
    #[error("the torrent is busy with a re-check or move")]
    Busy,
}

/// Removing a torrent from a session failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoveError {
    /// No torrent with this info-hash is in the session.
    #[error("no such torrent in the session")]
    NotFound,
    /// The torrent was removed but deleting its data failed.
    #[error("deleting the torrent's data failed: {0}")]
    Delete(#[source] std::io::Error),
}

/// A failure of either kind of store (the files of a torrent, or a private link's).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The torrent's files failed.
    #[error(transparent)]
    Files(#[from] shoal_storage::StorageError),
    /// A private link's content failed (or its key does not open it).
    #[error(transparent)]
    Private(#[from] shoal_private::PrivateStoreError),
}

impl StoreError {
    /// The error that stops the torrent: content problems of a private link (wrong key,
    /// unreadable content) are told apart from disk failures.
    pub fn into_torrent_error(self) -> TorrentError {
        match self {
            StoreError::Private(shoal_private::PrivateStoreError::WrongKey) => {
                TorrentError::WrongKey
            }
            StoreError::Private(e) if e.is_content() => TorrentError::Content(Arc::new(e)),
            other => TorrentError::Disk(Arc::new(other)),
        }
    }
}
