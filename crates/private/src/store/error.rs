//! Errors of [`crate::PrivateStore`]: content problems (wrong key, not private content)
//! kept apart from caller mistakes and local I/O failures.

use std::io;

use crate::error::OpenError;

/// Why a [`crate::PrivateStore`] operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrivateStoreError {
    /// The link's key does not open this content (from verified bytes). Every later
    /// operation of a receiver returns this too.
    #[error("wrong key for this link")]
    WrongKey,
    /// The verified stream is not openable private content (not private, unsupported
    /// version, damaged manifest, length mismatch). Every later operation returns it too.
    #[error("the content cannot be opened: {0}")]
    Content(OpenError),
    /// The block lies outside the torrent (a caller bug or a bad peer request).
    #[error("block out of range: piece {piece}, begin {begin}, length {length}")]
    OutOfRange {
        /// Piece index of the block.
        piece: u32,
        /// Offset of the block within the piece.
        begin: u32,
        /// Length of the block.
        length: u64,
    },
    /// The torrent's geometry does not fit private content.
    #[error("invalid private torrent: {0}")]
    BadTorrent(&'static str),
    /// A sender's store serves existing files and is never written.
    #[error("a private sender's content is read-only")]
    ReadOnly,
    /// The bytes asked for have not been stored yet.
    #[error("data at stream offset {offset} is not stored yet")]
    Missing {
        /// Stream offset of the bytes asked for.
        offset: u64,
    },
    /// The content is not complete (its header has not been opened yet).
    #[error("the private content has not been opened yet")]
    NotOpen,
    /// A local file operation failed (spool or output files).
    #[error("{0}")]
    Io(#[from] io::Error),
}

impl PrivateStoreError {
    /// True for problems of the content or key, which no retry can fix: the transfer
    /// should stop and the user be told.
    pub fn is_content(&self) -> bool {
        matches!(self, Self::WrongKey | Self::Content(_))
    }
}

/// Why a receiver stopped for good; turned into a fresh error on every later call.
#[derive(Debug, Clone)]
pub(crate) enum Failure {
    WrongKey,
    Content(OpenError),
    Io {
        kind: io::ErrorKind,
        message: String,
    },
}

impl Failure {
    pub(crate) fn from_open(e: OpenError) -> Self {
        match e {
            OpenError::WrongKey => Failure::WrongKey,
            other => Failure::Content(other),
        }
    }

    pub(crate) fn from_io(e: &io::Error) -> Self {
        Failure::Io {
            kind: e.kind(),
            message: e.to_string(),
        }
    }

    pub(crate) fn to_error(&self) -> PrivateStoreError {
        match self {
            Failure::WrongKey => PrivateStoreError::WrongKey,
            Failure::Content(e) => PrivateStoreError::Content(e.clone()),
            Failure::Io { kind, message } => {
                PrivateStoreError::Io(io::Error::new(*kind, message.clone()))
            }
        }
    }
}
