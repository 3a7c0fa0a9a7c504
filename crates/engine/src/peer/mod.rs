//! One task per peer connection: moves bytes between the socket and the sans-IO
//! [`PeerConnection`], and between the connection and the torrent (picker, storage).

mod data_role;
mod driver;
mod given;
mod handover;
mod logic;
mod metadata;
mod outbox;
mod pex;
mod serve;

pub(crate) use handover::Delivery;
pub(crate) use handover::Handover;
pub(crate) use metadata::{fetch_from, Ended, FetchLink, FetchNews, MAX_METADATA};

use crate::context::TorrentContext;
use crate::torrent::{ControlEvent, DisconnectReason, PeerEntry, PeerLive, Torrent};
use crate::transport::Connected;
use driver::Link;
use logic::{Exit, PeerLogic, Registered};
use outbox::Outbox;
use shoal_wire::{Handshake, PeerConnection};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Most remembered peer keys (for smart ban) before departed peers are forgotten.
const MAX_KEY_IPS: usize = 4096;

/// How a connection ended, for the address book.
/// Fields are public: a plain result for the dialler's address book.
pub(crate) struct PeerOutcome {
    /// Payload moved in either direction: the address is worth keeping.
    pub useful: bool,
    /// Closed because both sides have everything: no point in dialling again soon.
    pub both_seeds: bool,
}

impl PeerOutcome {
    const REFUSED: PeerOutcome = PeerOutcome {
        useful: false,
        both_seeds: false,
    };
}

/// Runs a connection that completed the handshake until it ends.
pub(crate) async fn run(
    t: Arc<Torrent>,
    conn: Connected,
    addr: SocketAddr,
    outgoing: bool,
) -> PeerOutcome {
    let Opened {
        link,
        outbox,
        wire,
        theirs,
        encrypted,
    } = open(t.ctx(), t.info_hash(), conn);
    let peer = PeerSide {
        addr,
        theirs,
        outgoing,
        encrypted,
    };
    trade(t, link, wire, outbox, peer).await
}

/// A handshaken connection taken apart for the driver.
struct Opened {
    /// The input side (stream, read buffer, decryption).
    link: Link,
    /// The output side (encryption, file ranges).
    outbox: Outbox,
    /// The wire state machine, not yet told the torrent's layout.
    wire: PeerConnection,
    theirs: Handshake,
    encrypted: bool,
}

/// Splits `conn` into what the driver and a role need, the same for data and
/// metadata connections.
fn open(ctx: &TorrentContext, info_hash: [u8; 20], conn: Connected) -> Opened {
    let encrypted = conn.is_encrypted();
    let Connected {
        stream,
        theirs,
        cipher,
        leftover,
    } = conn;
    let (encrypt, decrypt) = match cipher {
        Some(c) => (Some(c.encrypt), Some(c.decrypt)),
        None => (None, None),
    };
    let link = Link::new(stream, &leftover, decrypt);
    let outbox = Outbox::new(encrypt, link.supports_sendfile());
    let ours = crate::handshake::ours(ctx, info_hash);
    let config = logic::connection_config(ctx.config(), &ours, &theirs);
    let wire = PeerConnection::new(config, crate::clock::now());
    Opened {
        link,
        outbox,
        wire,
        theirs,
        encrypted,
    }
}

/// Who is at the other end of a connection, as its handshake told.
struct PeerSide {
    addr: SocketAddr,
    theirs: Handshake,
    outgoing: bool,
    encrypted: bool,
}

/// Runs a connection as a data connection of `t`: `wire` may be new, or come from a
/// metadata connection (its layout is set here).
async fn trade(
    t: Arc<Torrent>,
    mut link: Link,
    mut wire: PeerConnection,
    outbox: Outbox,
    peer: PeerSide,
) -> PeerOutcome {
    let addr = peer.addr;
    let info = &t.meta().info;
    if let Err(e) = wire.set_torrent_layout(info.num_pieces(), info.piece_length, info.total_length)
    {
        tracing::info!(%addr, reason = %e, "disconnecting misbehaving peer");
        return PeerOutcome::REFUSED;
    }
    let Some(registered) = register(&t, &peer) else {
        return PeerOutcome::REFUSED;
    };
    tracing::debug!(%addr, outgoing = peer.outgoing, encrypted = peer.encrypted, "peer connected");
    let mut logic = PeerLogic::new(t.clone(), registered, addr, &peer.theirs, wire, outbox);
    logic.start();
    let exit = driver::drive(&mut logic, &mut link).await;
    match &exit {
        e if e.is_peer_misbehaviour() => {
            tracing::info!(%addr, reason = %e, "disconnecting misbehaving peer")
        }
        other => tracing::debug!(%addr, reason = %other, "peer connection ended"),
    }
    if matches!(&exit, Exit::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof) {
        // Only the outbox reports this: sendfile met the end of a file that should hold
        // the block, so the file was truncated under us.
        t.send_control(ControlEvent::DataMissing);
    }
    if matches!(exit, Exit::Closed) {
        // A peer that leaves once it got everything missing from us is complete even if
        // it never said so (no HAVE to a seed); bytes still in flight when *we* close
        // do not count, so this waits for the peer's own goodbye.
        logic.count_if_completed_by_us();
    }
    let useful = logic.exchanged_payload();
    let both_seeds = matches!(exit, Exit::Local(DisconnectReason::BothSeeds));
    logic.unregister();
    t.send_control(ControlEvent::PeerGone);
    PeerOutcome { useful, both_seeds }
}

/// Runs a metadata connection whose torrent was added as one of its data connections,
/// within the session's connection cap and the torrent's peer cap.
async fn promote(
    t: Arc<Torrent>,
    link: Link,
    wire: PeerConnection,
    outbox: Outbox,
    peer: PeerSide,
) {
    let addr = peer.addr;
    if t.is_shutting_down() || t.is_paused() {
        return;
    }
    let Some(_slot) = t.ctx().connections().try_reserve() else {
        tracing::debug!(%addr, "connection limit reached: metadata connection closed");
        return;
    };
    let claimed = {
        let mut st = t.swarm();
        let grace = t.ctx().config().peer_eviction_grace;
        let now = crate::clock::now();
        if !st.make_room_for_newcomer(t.max_peers(), grace, now) {
            tracing::debug!(%addr, "peer limit reached: metadata connection closed");
            return;
        }
        st.book.claim(addr, now)
    };
    tracing::debug!(%addr, "metadata connection goes on trading pieces");
    let outcome = trade(t.clone(), link, wire, outbox, peer).await;
    if claimed {
        let now = crate::clock::now();
        let mut st = t.swarm();
        if outcome.both_seeds && t.is_complete() {
            st.book.release_finished(addr, now);
        } else {
            st.book.release(addr, !outcome.useful, now);
        }
    }
}

/// Adds the peer to the torrent's table, refusing ourselves and duplicate peer ids.
fn register(t: &Arc<Torrent>, peer: &PeerSide) -> Option<Registered> {
    let PeerSide {
        addr,
        ref theirs,
        outgoing,
        encrypted,
    } = *peer;
    if theirs.peer_id == t.ctx().config().peer_id {
        tracing::debug!(%addr, "connected to ourselves; dropping");
        return None;
    }
    let mut st = t.swarm();
    if st.peers.values().any(|p| p.peer_id == theirs.peer_id) {
        tracing::debug!(%addr, "already connected to this peer id");
        return None;
    }
    if st.smartban.is_banned(addr.ip()) {
        return None;
    }
    // Incoming peers passed the cap before their handshake answer: check it again
    // now, counting our dials in flight, so simultaneous arrivals cannot exceed it.
    let grace = t.ctx().config().peer_eviction_grace;
    if !outgoing && !st.make_room_for_newcomer(t.max_peers(), grace, crate::clock::now()) {
        tracing::debug!(%addr, "peer limit reached: incoming peer refused");
        return None;
    }
    let key = st.next_key;
    st.next_key += 1;
    let (tx, rx) = mpsc::unbounded_channel();
    let live = Arc::new(PeerLive::new(crate::clock::now()));
    st.peers.insert(
        key,
        PeerEntry {
            addr,
            peer_id: theirs.peer_id,
            outgoing,
            encrypted,
            listen_addr: outgoing.then_some(addr),
            tx,
            live: live.clone(),
        },
    );
    if st.key_ips.len() >= MAX_KEY_IPS {
        let live_keys: std::collections::HashSet<u64> = st.peers.keys().copied().collect();
        st.key_ips.retain(|k, _| live_keys.contains(k));
    }
    st.key_ips.insert(key, addr.ip());
    Some(Registered {
        key,
        live,
        commands: rx,
    })
}
