//! Incoming connections: a plain BitTorrent handshake is recognised by its first 20
//! bytes; anything else is taken as an MSE handshake and answered for whichever of
//! the session's torrents its obfuscated info-hash names.

use super::handshake_read::read_handshake;
use super::mse;
use super::{Cipher, Connected, EncryptionRefusal, HandshakeError};
use crate::context::TorrentContext;
use crate::net::{self as peer_stream, BoxStream};
use shoal_mse::{is_plaintext_handshake, MseError, Responder, CRYPTO_RC4};

/// Reads the peer's handshake (through MSE when it starts with one) within the
/// session's `handshake_timeout`. Our own handshake is left to the caller, which first
/// decides whether it wants the connection ([`Connected::send`]).
pub(crate) async fn accept(
    ctx: &TorrentContext,
    known_info_hashes: impl FnOnce() -> Vec<[u8; 20]>,
    stream: BoxStream,
) -> Result<Connected, HandshakeError> {
    let exchange = exchange(ctx, known_info_hashes, stream);
    tokio::time::timeout(ctx.config().handshake_timeout, exchange)
        .await
        .map_err(|_| HandshakeError::TimedOut)?
}

async fn exchange(
    ctx: &TorrentContext,
    known_info_hashes: impl FnOnce() -> Vec<[u8; 20]>,
    stream: BoxStream,
) -> Result<Connected, HandshakeError> {
    let policy = ctx.config().encryption;
    let mut first = Vec::new();
    let mut buf = [0u8; 2048];
    let plain = loop {
        if let Some(plain) = is_plaintext_handshake(&first) {
            break plain;
        }
        let n = peer_stream::read(&*stream, &mut &mut buf[..]).await?;
        let Some(fresh) = buf.get(..n).filter(|r| !r.is_empty()) else {
            return Err(HandshakeError::Closed);
        };
        first.extend_from_slice(fresh);
    };
    if plain {
        let (theirs, leftover) = read_handshake(&*stream, None, first).await?;
        if !policy.accepts_plaintext_handshake() {
            // Read to the end first, so the refusal is counted for its torrent.
            return Err(HandshakeError::PolicyMismatch {
                refusal: EncryptionRefusal::TheyRefuseEncryption,
                info_hash: Some(theirs.info_hash),
            });
        }
        return Ok(Connected {
            stream,
            theirs,
            cipher: None,
            leftover,
        });
    }
    let mut responder = Responder::new(known_info_hashes(), policy, &mut rand::thread_rng())?;
    let est = match mse::run(&*stream, &mut responder, &first).await {
        Ok(est) => est,
        Err(HandshakeError::Mse(MseError::NoCommonMethod { provided, .. })) => {
            // They offered only what we do not allow: plaintext under `require`,
            // RC4 under `disable`.
            let refusal = if provided & CRYPTO_RC4 == 0 {
                EncryptionRefusal::TheyRefuseEncryption
            } else {
                EncryptionRefusal::TheyRequireEncryption
            };
            return Err(HandshakeError::PolicyMismatch {
                refusal,
                info_hash: responder.info_hash(),
            });
        }
        Err(e) => return Err(e),
    };
    let mut cipher = est.cipher.map(Cipher::from_streams);
    let decrypt = cipher.as_mut().map(|c| &mut c.decrypt);
    let (theirs, leftover) = read_handshake(&*stream, decrypt, est.initial_payload).await?;
    if theirs.info_hash != est.info_hash {
        return Err(HandshakeError::WrongInfoHash);
    }
    Ok(Connected {
        stream,
        theirs,
        cipher,
        leftover,
    })
}
