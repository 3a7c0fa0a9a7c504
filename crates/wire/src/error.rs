//! Errors from decoding peer wire frames and extension payloads.

/// A frame or payload from the peer that does not follow the protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// A frame longer than the reader accepts.
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    FrameTooLarge {
        /// The length prefix.
        len: u32,
        /// The limit.
        max: u32,
    },
    /// A message id this codec does not know.
    #[error("unknown message id {0}")]
    UnknownMessage(u8),
    /// A payload of the wrong length for its message id.
    #[error("message id {id} with a {len}-byte payload")]
    BadPayloadLength {
        /// The message id.
        id: u8,
        /// The payload's length.
        len: usize,
    },
    /// The extension handshake is not valid bencode.
    #[error("extension handshake is not bencode: {0}")]
    Bencode(#[from] shoal_bencode::DecodeError),
    /// The extension handshake's bencode is not a dictionary.
    #[error("extension handshake is not a dictionary")]
    ExtensionHandshakeNotDict,
}
