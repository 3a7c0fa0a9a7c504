//! One task per peer connection: moves bytes between the socket and the sans-IO
//! [`PeerConnection`], and between the connection and the torrent (picker, storage).

mod given;
mod logic;
mod outbox;
mod pex;
mod serve;

use crate::torrent::{ControlEvent, DisconnectReason, PeerCommand, PeerEntry, PeerLive, Torrent};
use crate::transport::{readable, writable, BoxStream, Connected, PeerStream};
use bytes::{BufMut, BytesMut};
use logic::{Exit, PeerLogic};
use shoal_mse::Rc4Stream;
use shoal_wire::Handshake;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Bytes read from the socket per call; large reads keep syscalls per block low.
const READ_CHUNK: usize = 256 * 1024;

/// Smallest read size under a download limit (one block plus its header).
const MIN_LIMITED_READ: usize = 16 * 1024 + 13;

/// How long a peer task waits before re-checking a congested disk queue.
const DISK_BACKOFF: std::time::Duration = std::time::Duration::from_millis(2);

/// How long a closing connection tries to write out its last messages.
const FLUSH_TIME: std::time::Duration = std::time::Duration::from_millis(200);

/// How long a closing connection then waits for the peer to close its side.
const LINGER_TIME: std::time::Duration = std::time::Duration::from_millis(1500);

/// Most bytes a closing connection reads and drops while it lingers: what an honest
/// peer can still have in flight (a socket buffer and a few blocks). A peer that keeps
/// sending past this is cut off at once instead of keeping the task busy.
const LINGER_BYTES: usize = 4 * 1024 * 1024;

/// Most remembered peer keys (for smart ban) before departed peers are forgotten.
const MAX_KEY_IPS: usize = 4096;

/// How a connection ended, for the address book.
pub(crate) struct PeerOutcome {
    /// Payload moved in either direction: the address is worth keeping.
    pub useful: bool,
    /// Closed because both sides have everything: no point in dialling again soon.
    pub both_seeds: bool,
}

/// Runs a connection that completed the handshake until it ends.
pub(crate) async fn run(
    t: Arc<Torrent>,
    conn: Connected,
    addr: SocketAddr,
    outgoing: bool,
) -> PeerOutcome {
    let encrypted = conn.is_encrypted();
    let Connected {
        stream,
        theirs,
        cipher,
        leftover,
    } = conn;
    let Some((key, rx, live)) = register(&t, addr, &theirs, outgoing, encrypted) else {
        return PeerOutcome {
            useful: false,
            both_seeds: false,
        };
    };
    tracing::debug!(%addr, outgoing, encrypted, "peer connected");
    let (encrypt, decrypt) = match cipher {
        Some(c) => (Some(c.encrypt), Some(c.decrypt)),
        None => (None, None),
    };
    let sendfile = stream.supports_sendfile();
    let mut peer = PeerLogic::new(t.clone(), key, addr, live, &theirs, encrypt, sendfile);
    let mut buf = BytesMut::with_capacity(READ_CHUNK.max(leftover.len()));
    buf.extend_from_slice(&leftover);
    let input = Input { buf, decrypt };
    let exit = drive(&mut peer, stream, input, rx).await;
    match &exit {
        e if e.is_peer_misbehaviour() => {
            tracing::info!(%addr, reason = %e, "disconnecting misbehaving peer")
        }
        other => tracing::debug!(%addr, reason = %other, "peer connection ended"),
    }
    if matches!(&exit, Exit::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof) {
        // Only the outbox reports this: sendfile met the end of a file that should hold
        // the block, so the file was truncated under us.
        let _ = t.control_tx.send(ControlEvent::DataMissing);
    }
    if matches!(exit, Exit::Closed) {
        // A peer that leaves once it got everything missing from us is complete even if
        // it never said so (no HAVE to a seed); bytes still in flight when *we* close
        // do not count, so this waits for the peer's own goodbye.
        peer.count_if_completed_by_us();
    }
    let useful = peer.exchanged_payload();
    let both_seeds = matches!(exit, Exit::Local(DisconnectReason::BothSeeds));
    peer.unregister();
    let _ = t.control_tx.send(ControlEvent::PeerGone);
    PeerOutcome { useful, both_seeds }
}

/// Adds the peer to the torrent's table, refusing ourselves and duplicate peer ids.
fn register(
    t: &Arc<Torrent>,
    addr: SocketAddr,
    theirs: &Handshake,
    outgoing: bool,
    encrypted: bool,
) -> Option<(u64, mpsc::UnboundedReceiver<PeerCommand>, Arc<PeerLive>)> {
    if theirs.peer_id == t.ctx().config().peer_id {
        tracing::debug!(%addr, "connected to ourselves; dropping");
        return None;
    }
    let mut st = t.state.lock();
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
    Some((key, rx, live))
}

/// The receiving side of a connection: the read buffer (starting with the bytes that
/// came with the handshake) and the RC4 keystream when the connection is encrypted.
struct Input {
    buf: BytesMut,
    decrypt: Option<Rc4Stream>,
}

impl Input {
    /// Decrypts the `n` bytes just appended to the buffer (each byte exactly once).
    fn received(&mut self, n: usize) {
        if let Some(d) = self.decrypt.as_mut() {
            let start = self.buf.len().saturating_sub(n);
            if let Some(fresh) = self.buf.get_mut(start..) {
                d.apply(fresh);
            }
        }
    }
}

async fn drive(
    peer: &mut PeerLogic,
    stream: BoxStream,
    mut input: Input,
    mut rx: mpsc::UnboundedReceiver<PeerCommand>,
) -> Exit {
    let mut shutdown = peer.torrent().shutdown.subscribe();
    peer.start();
    // Messages that arrived together with the handshake come first.
    if !input.buf.is_empty() {
        if let Err(exit) = peer.handle_input(&mut input.buf) {
            flush(peer, &*stream).await;
            return exit;
        }
    }
    loop {
        if let Err(exit) = peer.after_io() {
            flush(peer, &*stream).await;
            return exit;
        }
        if input.buf.capacity() - input.buf.len() < READ_CHUNK / 4 {
            input.buf.reserve(READ_CHUNK);
        }
        let deadline = peer.poll_timeout();
        let serve_at = peer.serve_wait();
        let congested = peer.torrent().ctx().disk().is_congested();
        // Over a download limit (session or torrent), stop reading until out of debt.
        let throttle = download_delay(peer.torrent());
        let hold = congested || throttle.is_some();
        let step = tokio::select! {
            // While the disk workers are behind, stop reading so TCP slows the sender.
            _ = tokio::time::sleep(DISK_BACKOFF), if congested => Ok(()),
            _ = tokio::time::sleep(throttle.unwrap_or_default()), if throttle.is_some() && !congested => Ok(()),
            ready = readable(&*stream), if !hold => match ready.and_then(|()| stream.try_read_buf(&mut (&mut input.buf).limit(read_cap(peer.torrent())))) {
                Ok(0) => Err(Exit::Closed),
                Ok(n) => {
                    input.received(n);
                    charge_download(peer.torrent(), n);
                    peer.handle_input(&mut input.buf)
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(()),
                Err(e) => Err(Exit::Io(e)),
            },
            ready = writable(&*stream), if peer.has_output() => match ready {
                Ok(()) => peer.write_ready(&*stream),
                Err(e) => Err(Exit::Io(e)),
            },
            cmd = rx.recv() => match cmd {
                Some(cmd) => peer.on_command(cmd),
                None => Err(Exit::Local(DisconnectReason::TorrentRemoved)),
            },
            _ = tokio::time::sleep_until(deadline.into()) => peer.handle_timeout(),
            _ = tokio::time::sleep_until(serve_at.unwrap_or(deadline).into()), if serve_at.is_some() => {
                peer.clear_serve_wait();
                Ok(())
            }
            _ = shutdown.changed() => Err(Exit::Local(DisconnectReason::ShuttingDown)),
        };
        if let Err(exit) = step {
            send_pending_haves(peer, &mut rx);
            flush(peer, &*stream).await;
            return exit;
        }
    }
}

/// How long to wait before reading again under the download limits, if at all.
///
/// The wait is stretched by a random part of up to half of it: peers sharing a bucket
/// would otherwise all wake at the same instant, and the one the runtime happens to
/// poll first would read every time while the others find the bucket in debt again
/// (paused-time tests showed a peer starved for 6 s out of 6).
fn download_delay(t: &Torrent) -> Option<Duration> {
    let now = crate::clock::now();
    let session = t.ctx().download_limiter().delay(now);
    let torrent = t.limiter.download.delay(now);
    let wait = session.max(torrent)?;
    Some(wait + wait.mul_f64(rand::random::<f64>() * 0.5))
}

/// Most bytes one read may take. Under a download limit a read takes about an eighth
/// of a second's worth: peers sharing a bucket all wake when it is out of debt and each
/// reads once, so a full-size read each would put the bucket n × 256 KiB into debt and
/// leave every peer unread for that long (request and idle timeouts at low rates).
fn read_cap(t: &Torrent) -> usize {
    let rate = [t.ctx().download_limiter().rate(), t.limiter.download.rate()]
        .into_iter()
        .flatten()
        .min();
    match rate {
        None => READ_CHUNK,
        Some(r) => usize::try_from(r / 8)
            .unwrap_or(READ_CHUNK)
            .clamp(MIN_LIMITED_READ, READ_CHUNK),
    }
}

/// Counts `n` bytes read against the download limits.
fn charge_download(t: &Torrent, n: usize) {
    let now = crate::clock::now();
    t.ctx().download_limiter().charge(n as u64, now);
    t.limiter.download.charge(n as u64, now);
}

/// Passes on the HAVEs queued for this peer when the connection ends (the torrent may
/// have completed and stopped right after its last piece): the peer should learn that
/// we have everything, e.g. a sender counting who got the whole content.
fn send_pending_haves(peer: &mut PeerLogic, rx: &mut mpsc::UnboundedReceiver<PeerCommand>) {
    while let Ok(cmd) = rx.try_recv() {
        if matches!(cmd, PeerCommand::Have(_)) {
            let _ = peer.on_command(cmd);
        }
    }
}

/// Tries briefly to get our last messages out before the connection closes, then
/// closes gracefully: our side is shut down (FIN after the data) and what the peer still
/// sends is read and dropped until it closes too. Closing with unread input would send
/// a reset, and a reset makes the peer's kernel discard data it has not read yet, such
/// as the last blocks we sent.
async fn flush(peer: &mut PeerLogic, stream: &dyn PeerStream) {
    let attempt = async {
        while peer.has_output() {
            if writable(stream).await.is_err() || peer.write_ready(stream).is_err() {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(FLUSH_TIME, attempt).await;
    if stream.shutdown_write().is_err() {
        return;
    }
    let drain = async {
        let mut scratch = vec![0u8; 64 * 1024];
        let mut dropped = 0usize;
        while dropped < LINGER_BYTES {
            if readable(stream).await.is_err() {
                return;
            }
            match stream.try_read_buf(&mut &mut scratch[..]) {
                Ok(0) => return,
                Ok(n) => dropped += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER_TIME, drain).await;
}
