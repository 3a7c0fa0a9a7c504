//! Why a peer connection must be closed. Every variant but the timeouts (`IdleTimeout`,
//! `Inactive`) is peer misbehaviour.

use crate::{BitfieldError, BlockRef, WireError};

/// Why a [`PeerConnection`](super::PeerConnection) failed; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PeerError {
    /// A frame that does not decode.
    #[error("malformed message: {0}")]
    Malformed(WireError),
    /// A frame longer than the connection accepts.
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    FrameTooLarge {
        /// The length prefix.
        len: u32,
        /// The limit.
        max: u32,
    },
    /// A `have`, `suggest` or `allowed fast` for a piece the torrent does not have.
    #[error("piece index {0} out of range")]
    InvalidPieceIndex(u32),
    /// A request outside its piece, empty, or longer than
    /// [`MAX_REQUEST_LEN`](crate::MAX_REQUEST_LEN).
    #[error("invalid request {0:?}")]
    InvalidRequest(BlockRef),
    /// A bitfield of the wrong length or with spare bits set.
    #[error("bad bitfield: {0}")]
    BadBitfield(#[from] BitfieldError),
    /// The piece announcement came after other messages, or a second time.
    #[error("bitfield, have-all or have-none not sent first, or sent twice")]
    BitfieldNotFirst,
    /// A BEP 6 message (named) on a connection without the fast extension.
    #[error("{0} message without the fast extension")]
    FastMessageWithoutFast(&'static str),
    /// A BEP 10 message on a connection without the extension protocol.
    #[error("extended message without the extension protocol")]
    ExtendedWithoutExtensions,
    /// More requests queued than
    /// [`ConnectionConfig::max_peer_requests`](super::ConnectionConfig::max_peer_requests).
    #[error("peer has more than {limit} requests queued")]
    RequestFlood {
        /// The limit.
        limit: usize,
    },
    /// Too many bytes of blocks we never asked for.
    #[error("peer sent {bytes} bytes of blocks we did not request")]
    TooManyUnrequested {
        /// Unrequested bytes received, beyond what was excused.
        bytes: u64,
    },
    /// Nothing, not even a keep-alive, arrived for
    /// [`ConnectionConfig::idle_timeout`](super::ConnectionConfig::idle_timeout).
    #[error("nothing received for too long")]
    IdleTimeout,
    /// Neither side was interested in the other for the configured time (a slot held
    /// with keep-alives alone, or two peers with nothing for each other).
    #[error("neither side interested for too long")]
    Inactive,
}

impl PeerError {
    /// True for errors that blame the peer's behaviour (worth banning or penalising),
    /// false for a plain timeout.
    pub fn is_peer_misbehaviour(&self) -> bool {
        !matches!(self, PeerError::IdleTimeout | PeerError::Inactive)
    }
}

impl From<WireError> for PeerError {
    fn from(e: WireError) -> Self {
        match e {
            WireError::FrameTooLarge { len, max } => PeerError::FrameTooLarge { len, max },
            other => PeerError::Malformed(other),
        }
    }
}
