//! Outgoing connections: connect (TCP, or the memory network), then either an MSE handshake carrying our
//! BitTorrent handshake as its initial payload, or the plain handshake.
//!
//! Under `Prefer`, a peer that fails the MSE attempt (closes, stalls, answers
//! nonsense) is dialled once more in plaintext, as libtorrent does, and the session
//! remembers that this address needs plaintext.

use super::handshake_read::read_handshake;
use super::mse;
use super::{Cipher, Connected, EncryptionRefusal, HandshakeError};
use crate::context::TorrentContext;
use crate::handshake;
use crate::net as peer_stream;
use shoal_mse::{EncryptionPolicy, Initiator};
use std::io::ErrorKind;
use std::net::SocketAddr;

/// Connects to `addr` for `info_hash` as the session's encryption policy says and
/// exchanges handshakes. The peer's handshake is checked to name `info_hash`.
pub(crate) async fn dial(
    ctx: &TorrentContext,
    addr: SocketAddr,
    info_hash: [u8; 20],
) -> Result<Connected, HandshakeError> {
    let policy = ctx.config().encryption;
    let prefer = policy == EncryptionPolicy::Prefer;
    if !policy.initiates_mse() || (prefer && ctx.needs_plaintext(addr)) {
        let plain = attempt(ctx, addr, info_hash, None).await;
        return plain.map_err(|e| as_refusal(policy, info_hash, e));
    }
    match attempt(ctx, addr, info_hash, Some(policy)).await {
        Err(e) if prefer && e.plaintext_may_help() => {
            tracing::debug!(%addr, reason = %e, "encrypted handshake failed; retrying in plaintext");
            let connected = attempt(ctx, addr, info_hash, None).await?;
            ctx.remember_plaintext(addr);
            Ok(connected)
        }
        other => other.map_err(|e| as_refusal(policy, info_hash, e)),
    }
}

/// A peer that hangs up before answering a handshake that our policy allows in one
/// form only (plaintext under `disable`, MSE under `require`) refuses that form, as
/// far as we can tell (see `crate::refusals`). Under `prefer` nothing is refused.
fn as_refusal(policy: EncryptionPolicy, info_hash: [u8; 20], e: HandshakeError) -> HandshakeError {
    let refusal = match policy {
        EncryptionPolicy::Disable => EncryptionRefusal::TheyRequireEncryption,
        EncryptionPolicy::Require => EncryptionRefusal::TheyRefuseEncryption,
        _ => return e,
    };
    let hung_up = match &e {
        HandshakeError::Closed => true,
        HandshakeError::Io(io) => matches!(
            io.kind(),
            ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
                | ErrorKind::BrokenPipe
                | ErrorKind::UnexpectedEof
        ),
        _ => false,
    };
    if hung_up {
        HandshakeError::PolicyMismatch {
            refusal,
            info_hash: Some(info_hash),
        }
    } else {
        e
    }
}

/// One connection attempt: MSE offering what `mse` allows, or plain when `None`.
async fn attempt(
    ctx: &TorrentContext,
    addr: SocketAddr,
    info_hash: [u8; 20],
    mse: Option<EncryptionPolicy>,
) -> Result<Connected, HandshakeError> {
    let timeout = ctx.config().connect_timeout;
    let network = &ctx.config().network;
    let connecting = crate::net::connect(network, ctx.source(), ctx.advertised_addr(), addr);
    let stream = match tokio::time::timeout(timeout, connecting).await {
        Err(_) => return Err(HandshakeError::ConnectTimeout),
        Ok(Err(e)) => return Err(HandshakeError::Connect(e)),
        Ok(Ok(stream)) => stream,
    };
    let ours = handshake::ours(ctx, info_hash).encode();
    let exchange = async {
        match mse {
            None => {
                peer_stream::write_all(&*stream, &ours).await?;
                let (theirs, leftover) = read_handshake(&*stream, None, Vec::new()).await?;
                Ok::<_, HandshakeError>((theirs, None, leftover))
            }
            Some(policy) => {
                let mut initiator =
                    Initiator::new(info_hash, policy, ours.to_vec(), &mut rand::thread_rng())?;
                let est = mse::run(&*stream, &mut initiator, &[]).await?;
                let mut cipher = est.cipher.map(Cipher::from_streams);
                let decrypt = cipher.as_mut().map(|c| &mut c.decrypt);
                let (theirs, leftover) =
                    read_handshake(&*stream, decrypt, est.initial_payload).await?;
                Ok((theirs, cipher, leftover))
            }
        }
    };
    let (theirs, cipher, leftover) = tokio::time::timeout(ctx.config().handshake_timeout, exchange)
        .await
        .map_err(|_| HandshakeError::TimedOut)??;
    if theirs.info_hash != info_hash {
        return Err(HandshakeError::WrongInfoHash);
    }
    Ok(Connected {
        stream,
        theirs,
        cipher,
        leftover,
    })
}
