//! The handshake's error type: peer misbehaviour kept apart from local failures.

use std::fmt;

use thiserror::Error;

/// What a side was scanning for when the synchronisation window ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMarker {
    /// The responder looks for `HASH('req1', S)` after the initiator's key and PadA.
    Req1,
    /// The initiator looks for `ENCRYPT(VC)` after the responder's key and PadB.
    Vc,
}

impl fmt::Display for SyncMarker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Req1 => "req1 hash",
            Self::Vc => "encrypted verification constant",
        })
    }
}

/// Why an MSE handshake failed.
///
/// [`MseError::is_peer_misbehaviour`] tells the variants caused by the remote side
/// (disconnect it, maybe note it) from those caused by this side.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MseError {
    // --- Peer misbehaviour ---
    /// The peer's Diffie-Hellman public key lies outside `2..=P-2`.
    #[error("peer sent an invalid Diffie-Hellman public key")]
    BadPublicKey,
    /// The marker did not appear within the padding allowance (512 bytes).
    #[error("{0} not found within the synchronisation window")]
    SyncNotFound(SyncMarker),
    /// The decrypted verification constant is not eight zero bytes.
    #[error("verification constant is not zero")]
    BadVc,
    /// Our policy and the methods the initiator offered have nothing in common.
    #[error("no common encryption method: peer offered {provided:#x}, policy allows {allowed:#x}")]
    NoCommonMethod {
        /// The peer's `crypto_provide` bitfield.
        provided: u32,
        /// The methods our policy accepts.
        allowed: u32,
    },
    /// The responder selected something other than exactly one method we offered.
    #[error("peer selected method {selected:#x}, not one of the offered {provided:#x}")]
    BadCryptoSelect {
        /// The peer's `crypto_select` value.
        selected: u32,
        /// Our `crypto_provide` bitfield.
        provided: u32,
    },
    /// PadC or PadD is longer than 512 bytes.
    #[error("padding of {len} bytes exceeds 512")]
    PadTooLong {
        /// The announced pad length.
        len: usize,
    },
    /// `HASH('req2', SKEY)` matched none of the torrents we serve.
    #[error("peer asked for a torrent we do not serve")]
    UnknownInfoHash,

    // --- Local failures ---
    /// The initial payload given to the initiator does not fit a u16 length.
    #[error("initial payload of {len} bytes exceeds 65535")]
    InitialPayloadTooLong {
        /// Its length.
        len: usize,
    },
    /// Parameters passed to a constructor are unusable.
    #[error("invalid handshake parameters: {0}")]
    InvalidParams(&'static str),
    /// Input was given after the handshake failed or its outcome was taken.
    #[error("handshake already finished or failed")]
    Finished,
}

impl MseError {
    /// True when the remote peer broke the protocol (or asked for a torrent we lack);
    /// false for failures on this side.
    pub fn is_peer_misbehaviour(&self) -> bool {
        match self {
            Self::BadPublicKey
            | Self::SyncNotFound(_)
            | Self::BadVc
            | Self::NoCommonMethod { .. }
            | Self::BadCryptoSelect { .. }
            | Self::PadTooLong { .. }
            | Self::UnknownInfoHash => true,
            Self::InitialPayloadTooLong { .. } | Self::InvalidParams(_) | Self::Finished => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert!(MseError::BadVc.is_peer_misbehaviour());
        assert!(MseError::SyncNotFound(SyncMarker::Vc).is_peer_misbehaviour());
        assert!(!MseError::Finished.is_peer_misbehaviour());
        assert!(!MseError::InvalidParams("x").is_peer_misbehaviour());
        assert_eq!(
            MseError::SyncNotFound(SyncMarker::Req1).to_string(),
            "req1 hash not found within the synchronisation window"
        );
    }
}
