//! Errors from decoding peer wire frames and extension payloads.

/// A frame or payload from the peer that does not follow the protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    FrameTooLarge { len: u32, max: u32 },
    #[error("unknown message id {0}")]
    UnknownMessage(u8),
    #[error("message id {id} with a {len}-byte payload")]
    BadPayloadLength { id: u8, len: usize },
    #[error("extension handshake is not bencode: {0}")]
    Bencode(#[from] shoal_bencode::DecodeError),
    #[error("extension handshake is not a dictionary")]
    ExtensionHandshakeNotDict,
}
