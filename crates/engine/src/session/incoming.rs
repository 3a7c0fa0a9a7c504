//! The listener: accepts connections (TCP, or the memory network), runs their handshake (plain or MSE) within
//! the pending-handshake cap, and hands each to the torrent its info-hash names.

use super::registry::Registry;
use crate::context::TorrentContext;
use crate::handshake;
use crate::pending_handshakes::PendingHandshakes;
use crate::transport::{self, BoxStream};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What the accept loop and its handshake tasks share.
/// Fields are public to the session: handles the accept loop shares, set once.
pub(super) struct Listener {
    pub ctx: Arc<TorrentContext>,
    pub registry: Arc<Registry>,
    /// Incoming connections still in their handshake.
    pub pending: PendingHandshakes,
    /// Cancelled at shutdown: handshakes under way end at once.
    pub closed: CancellationToken,
}

pub(super) async fn accept_loop(listener: Arc<Listener>, mut socket: crate::net::Listener) {
    loop {
        let accepted = tokio::select! {
            accepted = socket.accept() => accepted,
            _ = listener.closed.cancelled() => return,
        };
        match accepted {
            Ok((stream, addr)) => {
                let (id, evicted) = listener.pending.admit();
                let task = incoming(listener.clone(), stream, addr, id, evicted);
                listener.ctx.spawn(task);
            }
            Err(e) => {
                // Usually EMFILE: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn incoming(
    listener: Arc<Listener>,
    stream: BoxStream,
    addr: SocketAddr,
    pending_id: u64,
    evicted: tokio::sync::oneshot::Receiver<()>,
) {
    let ctx = &listener.ctx;
    let accepted = {
        let _slot = listener.pending.slot(pending_id);
        let known = || listener.registry.info_hashes();
        tokio::select! {
            accepted = transport::accept(ctx, known, stream) => accepted,
            _ = evicted => {
                tracing::debug!(%addr, "handshake dropped for a newer connection (too many under way)");
                return;
            }
            _ = listener.closed.cancelled() => return,
        }
    };
    let mut conn = match accepted {
        Ok(conn) => conn,
        Err(e) => {
            e.log(addr, "incoming handshake failed");
            if let transport::HandshakeError::PolicyMismatch {
                refusal,
                info_hash: Some(ih),
            } = e
            {
                if let Some(torrent) = listener.registry.get(&ih) {
                    torrent.swarm().refusing.refused(addr.ip(), refusal);
                }
            }
            return;
        }
    };
    let Some(torrent) = listener.registry.get(&conn.theirs.info_hash) else {
        tracing::debug!(%addr, "incoming connection for an unknown torrent");
        return;
    };
    torrent.swarm().refusing.connected(addr.ip());
    drop(listener);
    if torrent.is_shutting_down() || torrent.is_paused() || !torrent.may_admit(addr) {
        return;
    }
    let Some(_slot) = torrent.ctx().connections().try_reserve() else {
        tracing::debug!(%addr, "connection limit reached: incoming peer refused");
        return;
    };
    let ours = handshake::ours(torrent.ctx(), torrent.info_hash());
    if conn.send(&ours.encode()).await.is_err() {
        return;
    }
    crate::peer::run(torrent, conn, addr, false).await;
}
