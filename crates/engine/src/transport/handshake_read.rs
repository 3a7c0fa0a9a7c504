//! Reading the peer's 68-byte BitTorrent handshake from bytes already received plus
//! the stream, decrypting as it goes when the connection is encrypted.

use super::HandshakeError;
use crate::net::{self as peer_stream, PeerStream};
use shoal_mse::Rc4Stream;
use shoal_wire::Handshake;

/// Bytes asked for per read while the handshake is incomplete; what arrives beyond
/// the handshake is handed on as leftover.
const READ_CHUNK: usize = 4096;

/// Reads until `pending` (plaintext already received) holds a whole handshake,
/// decrypting fresh bytes with `decrypt`. Returns the handshake and the plaintext
/// bytes after it.
pub(super) async fn read_handshake(
    stream: &dyn PeerStream,
    mut decrypt: Option<&mut Rc4Stream>,
    mut pending: Vec<u8>,
) -> Result<(Handshake, Vec<u8>), HandshakeError> {
    let mut buf = [0u8; READ_CHUNK];
    while pending.len() < Handshake::LEN {
        let n = peer_stream::read(stream, &mut &mut buf[..]).await?;
        let Some(fresh) = buf.get_mut(..n).filter(|r| !r.is_empty()) else {
            return Err(HandshakeError::Closed);
        };
        if let Some(d) = decrypt.as_deref_mut() {
            d.apply(fresh);
        }
        pending.extend_from_slice(fresh);
    }
    let rest = pending.split_off(Handshake::LEN);
    let theirs = Handshake::decode(&pending)?;
    Ok((theirs, rest))
}
