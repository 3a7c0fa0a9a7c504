//! What the handshake takes in (randomness or fixed parameters) and what it gives
//! back once it succeeds.

use rand::{CryptoRng, Rng, RngCore};

use crate::dh::PRIVATE_KEY_LEN;
use crate::keys::Rc4Streams;
use crate::MAX_PAD_LEN;

/// The random choices of one side, fixed here so tests can be deterministic.
#[derive(Clone, PartialEq, Eq)]
pub struct HandshakeParams {
    /// The 160-bit Diffie-Hellman private key, big-endian.
    pub private_key: [u8; PRIVATE_KEY_LEN],
    /// PadA (initiator) or PadB (responder): sent in clear after the public key.
    /// At most 512 bytes.
    pub pad: Vec<u8>,
    /// PadC (initiator) or PadD (responder): sent encrypted. At most 512 bytes.
    pub encrypted_pad: Vec<u8>,
}

impl HandshakeParams {
    /// A random private key and a clear pad of random length (0..=512) and content.
    /// The encrypted pad is left empty, as the common clients do: it hides nothing
    /// that the clear pad does not.
    pub fn random<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let mut private_key = [0u8; PRIVATE_KEY_LEN];
        rng.fill_bytes(&mut private_key);
        let mut pad = vec![0u8; rng.gen_range(0..=MAX_PAD_LEN)];
        rng.fill_bytes(&mut pad);
        Self {
            private_key,
            pad,
            encrypted_pad: Vec::new(),
        }
    }

    /// Checks the pad lengths.
    pub(crate) fn validate(&self) -> Result<(), crate::MseError> {
        if self.pad.len() > MAX_PAD_LEN || self.encrypted_pad.len() > MAX_PAD_LEN {
            return Err(crate::MseError::InvalidParams("pad longer than 512 bytes"));
        }
        Ok(())
    }
}

impl std::fmt::Debug for HandshakeParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keep the private key out of logs.
        f.debug_struct("HandshakeParams")
            .field("pad_len", &self.pad.len())
            .field("encrypted_pad_len", &self.encrypted_pad.len())
            .finish_non_exhaustive()
    }
}

/// A completed handshake.
#[derive(Debug)]
pub struct Established {
    /// The torrent the connection is for (the responder learns it from req2).
    pub info_hash: [u8; 20],
    /// The RC4 streams when RC4 was selected, `None` for the plaintext method.
    /// Everything sent or received after the handshake goes through them.
    pub cipher: Option<Rc4Streams>,
    /// Payload-stream bytes from the peer already received, in plaintext: for the
    /// responder the initiator's IA (followed by anything after it), for the
    /// initiator whatever followed the responder's PadD. Feed these to the
    /// BitTorrent protocol layer before any further socket reads.
    pub initial_payload: Vec<u8>,
}

impl Established {
    /// Appends bytes received after the handshake, decrypting them if needed.
    pub(crate) fn absorb(&mut self, bytes: &[u8]) {
        let start = self.initial_payload.len();
        self.initial_payload.extend_from_slice(bytes);
        if let (Some(cipher), Some(tail)) =
            (self.cipher.as_mut(), self.initial_payload.get_mut(start..))
        {
            cipher.decrypt(tail);
        }
    }

    /// Whether the payload stream is RC4-encrypted.
    pub fn is_encrypted(&self) -> bool {
        self.cipher.is_some()
    }
}
