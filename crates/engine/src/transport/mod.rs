//! How a TCP connection becomes a BitTorrent connection: the plain 68-byte handshake,
//! or first an MSE/PE handshake (`shoal-mse`) carrying it, as the session's
//! [`shoal_mse::EncryptionPolicy`] says.
//!
//! Layering: a connection is a [`PeerStream`] from the socket layer (`crate::net`:
//! TCP, or the in-memory network). `dial` (outgoing) and `accept` (incoming)
//! drive the sans-IO MSE state machine over it (`mse`), then exchange the BitTorrent
//! handshakes through the negotiated cipher (`handshake_read`). The result,
//! [`Connected`], carries the stream, the
//! peer's handshake, the two RC4 keystreams when RC4 was selected (positioned right
//! after the handshake bytes) and any payload bytes that arrived with the handshake.
//! From there the peer task encrypts what it writes (`peer/outbox.rs`) and decrypts
//! what it reads (`peer/driver.rs`); plaintext connections never touch a cipher.

mod accept;
mod dial;
mod handshake_read;
mod mse;

pub(crate) use crate::net::{readable, writable, BoxStream, PeerStream};
pub(crate) use accept::accept;
pub(crate) use dial::dial;

pub(crate) use crate::refusals::EncryptionRefusal;
use shoal_mse::{MseError, Rc4Stream, Rc4Streams};
use shoal_wire::Handshake;
use std::io;
use std::net::SocketAddr;

/// The RC4 keystreams of an encrypted connection, one per direction.
/// Fields are public: the two keystreams go separate ways (input side, outbox).
pub(crate) struct Cipher {
    /// Applied to every byte we send.
    pub encrypt: Rc4Stream,
    /// Applied to every byte we receive.
    pub decrypt: Rc4Stream,
}

impl Cipher {
    fn from_streams(streams: Rc4Streams) -> Self {
        let (encrypt, decrypt) = streams.split();
        Cipher { encrypt, decrypt }
    }
}

/// A connection whose peer handshake has been read (and, for outgoing connections,
/// ours sent).
/// Fields are public: the peer driver takes the connection apart into its parts.
pub(crate) struct Connected {
    pub stream: BoxStream,
    pub theirs: Handshake,
    /// `Some` when MSE selected RC4: everything after the handshake goes through it.
    pub cipher: Option<Cipher>,
    /// Plaintext bytes the peer sent after its handshake, read along with it. They
    /// come before anything read from the socket from now on.
    pub leftover: Vec<u8>,
}

impl Connected {
    pub(crate) fn is_encrypted(&self) -> bool {
        self.cipher.is_some()
    }

    /// Sends `bytes`, encrypted when the connection is (used for our handshake on
    /// incoming connections).
    pub(crate) async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self.cipher.as_mut() {
            Some(c) => {
                let mut buf = bytes.to_vec();
                c.encrypt.apply(&mut buf);
                crate::net::write_all(&*self.stream, &buf).await
            }
            None => crate::net::write_all(&*self.stream, bytes).await,
        }
    }
}

/// Why a connection did not get past the handshakes. Protocol violations are kept
/// apart from network conditions and mismatches by
/// [`HandshakeError::is_peer_misbehaviour`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum HandshakeError {
    #[error("cannot connect: {0}")]
    Connect(io::Error),
    #[error("connect timed out")]
    ConnectTimeout,
    #[error("handshake timed out")]
    TimedOut,
    #[error("socket error: {0}")]
    Io(#[from] io::Error),
    #[error("connection closed during the handshake")]
    Closed,
    #[error("encryption handshake failed: {0}")]
    Mse(#[from] MseError),
    #[error("invalid BitTorrent handshake: {0}")]
    BadHandshake(#[from] shoal_wire::HandshakeError),
    #[error("peer answered with another info-hash")]
    WrongInfoHash,
    /// The peer's encryption policy and ours have nothing in common. `info_hash` is
    /// the torrent it was for, when the handshake got far enough to name it.
    #[error("{refusal}")]
    PolicyMismatch {
        refusal: EncryptionRefusal,
        info_hash: Option<[u8; 20]>,
    },
}

impl HandshakeError {
    /// True when the peer sent something no correct client sends (a bad key, VC,
    /// selection, pad or handshake). Policy mismatches, unknown torrents, peers that
    /// are not speaking MSE at all and network failures are ordinary.
    pub(crate) fn is_peer_misbehaviour(&self) -> bool {
        match self {
            HandshakeError::Mse(e) => matches!(
                e,
                MseError::BadPublicKey
                    | MseError::BadVc
                    | MseError::BadCryptoSelect { .. }
                    | MseError::PadTooLong { .. }
            ),
            HandshakeError::BadHandshake(_) | HandshakeError::WrongInfoHash => true,
            _ => false,
        }
    }

    /// How the handshake failed on the encryption policy, if it did.
    pub(crate) fn refusal(&self) -> Option<EncryptionRefusal> {
        match self {
            HandshakeError::PolicyMismatch { refusal, .. } => Some(*refusal),
            _ => None,
        }
    }

    /// Whether a plaintext retry could succeed after this failed MSE attempt: the
    /// peer was reached but closed, stalled or did not speak MSE.
    pub(crate) fn plaintext_may_help(&self) -> bool {
        matches!(
            self,
            HandshakeError::Closed
                | HandshakeError::Io(_)
                | HandshakeError::TimedOut
                | HandshakeError::Mse(_)
        )
    }

    /// Logs the failure with the peer's address: protocol violations at info,
    /// ordinary failures at debug.
    pub(crate) fn log(&self, addr: SocketAddr, what: &str) {
        if self.is_peer_misbehaviour() {
            tracing::info!(%addr, reason = %self, "{what}");
        } else {
            tracing::debug!(%addr, reason = %self, "{what}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert!(HandshakeError::Mse(MseError::BadVc).is_peer_misbehaviour());
        assert!(HandshakeError::WrongInfoHash.is_peer_misbehaviour());
        assert!(!HandshakeError::Mse(MseError::UnknownInfoHash).is_peer_misbehaviour());
        let mismatch = HandshakeError::PolicyMismatch {
            refusal: EncryptionRefusal::TheyRefuseEncryption,
            info_hash: None,
        };
        assert!(!mismatch.is_peer_misbehaviour());
        assert!(!mismatch.plaintext_may_help());
        assert_eq!(
            mismatch.refusal(),
            Some(EncryptionRefusal::TheyRefuseEncryption)
        );
        assert!(!HandshakeError::Closed.is_peer_misbehaviour());
        assert!(HandshakeError::Closed.plaintext_may_help());
        assert!(HandshakeError::TimedOut.plaintext_may_help());
        assert!(!HandshakeError::ConnectTimeout.plaintext_may_help());
        assert!(!HandshakeError::WrongInfoHash.plaintext_may_help());
    }
}
