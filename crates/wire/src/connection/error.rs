//! Why a peer connection must be closed. Every variant but the timeouts (`IdleTimeout`,
//! `Inactive`) is peer misbehaviour.

use crate::{BitfieldError, BlockRef, WireError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PeerError {
    #[error("malformed message: {0}")]
    Malformed(WireError),
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    FrameTooLarge { len: u32, max: u32 },
    #[error("piece index {0} out of range")]
    InvalidPieceIndex(u32),
    #[error("invalid request {0:?}")]
    InvalidRequest(BlockRef),
    #[error("bad bitfield: {0}")]
    BadBitfield(#[from] BitfieldError),
    #[error("bitfield, have-all or have-none not sent first, or sent twice")]
    BitfieldNotFirst,
    #[error("{0} message without the fast extension")]
    FastMessageWithoutFast(&'static str),
    #[error("extended message without the extension protocol")]
    ExtendedWithoutExtensions,
    #[error("peer has more than {limit} requests queued")]
    RequestFlood { limit: usize },
    #[error("peer sent {bytes} bytes of blocks we did not request")]
    TooManyUnrequested { bytes: u64 },
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
