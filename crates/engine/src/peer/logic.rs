//! What a peer connection does with events: availability, interest, requests through
//! the picker, blocks to disk, and serving the peer's requests from disk.

use super::metadata::MetadataEnd;
use super::metadata::UT_METADATA_ID;
use super::outbox::Outbox;
use crate::disk::BlockRead;
use crate::torrent::{ControlEvent, DisconnectReason, PeerCommand, PeerLive, Torrent};
use bytes::Bytes;
use shoal_ext::{MetadataMessage, PexState, ServeLimiter};
use shoal_swarm::BlockOutcome;
use shoal_wire::{
    Bitfield, BlockRef, ConnectionConfig, ExtensionHandshake, Handshake, PeerConnection, PeerError,
    PeerEvent,
};
use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;

/// Stop queueing blocks for the peer once this much is waiting to be written.
pub(super) const MAX_WRITE_BUFFER: usize = 2 * 1024 * 1024;

/// Requests we queue from one peer (advertised to it as `reqq`).
const MAX_PEER_REQUESTS: usize = 500;

/// Why a connection ended.
pub(crate) enum Exit {
    /// The peer broke the protocol.
    Misbehaved(PeerError),
    /// The peer flooded us with peer-exchange messages.
    PexFlood(shoal_ext::PexError),
    /// A metadata connection ended (see [`MetadataEnd`]).
    Metadata(MetadataEnd),
    /// A metadata connection was handed to its torrent and goes on as a data
    /// connection: not closed.
    Promoted,
    Io(std::io::Error),
    Closed,
    /// Our own decision (shutdown, ban, both sides seeding, timeouts).
    Local(DisconnectReason),
}

impl Exit {
    /// Whether the peer is to blame (logged louder).
    pub(super) fn is_peer_misbehaviour(&self) -> bool {
        match self {
            Exit::Misbehaved(_) | Exit::PexFlood(_) => true,
            Exit::Metadata(end) => end.is_peer_misbehaviour(),
            _ => false,
        }
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exit::Misbehaved(e) => write!(f, "protocol violation: {e}"),
            Exit::PexFlood(e) => write!(f, "peer exchange flood: {e}"),
            Exit::Io(e) => write!(f, "socket error: {e}"),
            Exit::Metadata(end) => write!(f, "{end}"),
            Exit::Promoted => write!(f, "handed to its torrent"),
            Exit::Closed => write!(f, "closed by peer"),
            Exit::Local(why) => write!(f, "{why}"),
        }
    }
}

impl From<PeerError> for Exit {
    fn from(e: PeerError) -> Self {
        match e {
            PeerError::IdleTimeout => Exit::Local(DisconnectReason::IdleTimeout),
            PeerError::Inactive => Exit::Local(DisconnectReason::Inactive),
            e => Exit::Misbehaved(e),
        }
    }
}

/// The data role of one connection: its wire state and what it holds of the torrent.
///
/// Fields are `pub(super)` because this type's impl is split by purpose across
/// `peer/{logic,serve,pex,data_role}.rs`; nothing outside `peer/` sees them.
pub(crate) struct PeerLogic {
    pub(super) t: Arc<Torrent>,
    pub(super) key: u64,
    pub(super) addr: SocketAddr,
    pub(super) live: Arc<PeerLive>,
    pub(super) conn: PeerConnection,
    /// Our verified pieces as far as this peer task knows (updated by `Have` commands).
    pub(super) our_have: Bitfield,
    /// The peer's pieces that are counted in the picker's availability.
    pub(super) counted: Bitfield,
    pub(super) serve_queue: VecDeque<BlockRef>,
    pub(super) serve_wait: Option<Instant>,
    pub(super) picks: Vec<BlockRef>,
    pub(super) outbox: Outbox,
    /// Accepted blocks not yet handed to the disk workers.
    pub(super) to_disk: Vec<(BlockRef, Bytes)>,
    /// Reused list of file slices of the block being served.
    pub(super) slices: Vec<(Arc<File>, u64, usize)>,
    /// Where the disk pool hands back the blocks it read for this peer.
    pub(super) reads: mpsc::UnboundedSender<BlockRead>,
    pub(super) reads_rx: mpsc::UnboundedReceiver<BlockRead>,
    /// What the control task asks of this peer.
    pub(super) commands: mpsc::UnboundedReceiver<PeerCommand>,
    pub(super) shutdown: tokio::sync::watch::Receiver<bool>,
    /// Bytes of blocks being read for this peer (counted against the output cap).
    pub(super) reading: usize,
    pub(super) peer_id: [u8; 20],
    /// The peer was counted in the torrent's `seeds_seen`.
    pub(super) counted_seed: bool,
    /// Pieces the peer got from us in full.
    pub(super) given: super::given::Given,

    /// Both sides support the extension protocol (BEP 10).
    pub(super) extensions: bool,
    /// The peer runs a DHT node and we do too: exchange PORT messages (BEP 5).
    pub(super) dht: bool,
    /// Rate limit on this peer's ut_metadata requests.
    pub(super) metadata_limiter: ServeLimiter,
    /// Peer exchange is allowed on this torrent (not private, not turned off).
    pub(super) pex_enabled: bool,
    pub(super) pex: PexState,
    /// Earliest next PEX attempt after one that found nothing to say.
    pub(super) pex_recheck_at: Instant,
}

/// What registering with the torrent gave a connection (see `peer::register`).
pub(super) struct Registered {
    pub key: u64,
    pub live: Arc<PeerLive>,
    pub commands: mpsc::UnboundedReceiver<PeerCommand>,
}

/// The wire settings of every connection we run, before its torrent's layout is known
/// (a data connection sets it at once, a metadata connection once it has the metadata).
pub(super) fn connection_config(
    config: &crate::SessionConfig,
    ours: &Handshake,
    theirs: &Handshake,
) -> ConnectionConfig {
    ConnectionConfig {
        num_pieces: 0,
        fast: ours.supports_fast() && theirs.supports_fast(),
        extensions: ours.supports_extensions() && theirs.supports_extensions(),
        max_peer_requests: MAX_PEER_REQUESTS,
        inactivity_timeout: config.peer_inactivity_timeout,
        ..ConnectionConfig::default()
    }
}

/// What a peer task receives besides bytes.
pub(crate) enum Mail {
    /// From the control task (`None`: the torrent is gone).
    Command(Option<PeerCommand>),
    /// A block the disk pool read for us.
    Read(BlockRead),
    /// The torrent is shutting down.
    Shutdown,
}

impl PeerLogic {
    /// The data role of a connection whose `conn` knows the torrent's layout and which
    /// has sent nothing yet or only what a metadata connection sends (see `start`).
    pub(super) fn new(
        t: Arc<Torrent>,
        registered: Registered,
        addr: SocketAddr,
        theirs: &Handshake,
        conn: PeerConnection,
        outbox: Outbox,
    ) -> Self {
        let info = &t.meta().info;
        let extensions = conn.config().extensions;
        let now = crate::clock::now();
        let our_have = t.swarm().picker.have().clone();
        let private = info.private;
        let pex_enabled = extensions && t.ctx().config().pex && !private;
        let dht = theirs.supports_dht() && t.ctx().discovery().dht().is_some();
        let (reads, reads_rx) = mpsc::unbounded_channel();
        let Registered {
            key,
            live,
            commands,
        } = registered;
        PeerLogic {
            key,
            addr,
            live,
            conn,
            counted: Bitfield::new(info.num_pieces() as usize),
            our_have,
            serve_queue: VecDeque::new(),
            serve_wait: None,
            picks: Vec::with_capacity(256),
            outbox,
            to_disk: Vec::new(),
            slices: Vec::with_capacity(4),
            reads,
            reading: 0,
            peer_id: theirs.peer_id,
            counted_seed: false,
            given: super::given::Given::new(info.num_pieces() as usize),

            extensions,
            dht,
            metadata_limiter: t.metadata().limiter(),
            pex_enabled,
            pex: PexState::new(private).excluding(addr),
            pex_recheck_at: now,
            commands,
            reads_rx,
            shutdown: t.shutdown_signal(),
            t,
        }
    }

    /// Our opening messages: what we have (it must come first), then the extension
    /// handshake.
    pub(super) fn start(&mut self) {
        let have = self.our_have.clone();
        self.conn.send_bitfield(&have);
        // A connection that began as a metadata connection sent its (empty) bitfield
        // then; it announces its pieces one by one. After a real bitfield these are
        // no-ops: the connection announces each piece once.
        for piece in have.iter_ones() {
            self.conn.send_have(piece as u32);
        }
        if self.dht {
            if let Some(node) = self.t.ctx().discovery().dht() {
                self.conn.send_port(node.local_addr().port());
            }
        }
        if self.extensions {
            let mut m = std::collections::BTreeMap::new();
            m.insert(shoal_ext::UT_METADATA.to_string(), UT_METADATA_ID);
            if self.pex_enabled {
                m.insert(shoal_ext::UT_PEX.to_string(), super::pex::UT_PEX_ID);
            }
            let hs = ExtensionHandshake {
                m,
                metadata_size: Some(self.t.metadata().total_size()),
                v: Some(crate::CLIENT_NAME.to_string()),
                p: Some(self.t.ctx().listen_port()),
                reqq: Some(MAX_PEER_REQUESTS as u32),
                yourip: Some(self.addr.ip()),
                ..ExtensionHandshake::default()
            };
            self.conn.send_extension_handshake(&hs);
        }
    }

    pub(super) fn exchanged_payload(&self) -> bool {
        self.conn.downloaded() > 0 || self.conn.uploaded() > 0
    }

    pub(super) fn drain_events(&mut self) -> Result<(), Exit> {
        while let Some(event) = self.conn.poll_event() {
            self.on_event(event)?;
        }
        Ok(())
    }

    pub(super) fn count_as_complete(&mut self) {
        self.counted_seed = true;
        let mut st = self.t.swarm();
        if st.seeds_seen.len() < crate::torrent::MAX_SEEDS_SEEN {
            st.seeds_seen.insert(self.peer_id);
        }
    }

    /// Counts the peer as complete if its pieces plus those we sent it make the whole
    /// torrent (see `peer/given.rs`).
    pub(super) fn count_if_completed_by_us(&mut self) {
        if !self.counted_seed && self.given.completes(self.conn.peer_pieces()) {
            self.count_as_complete();
        }
    }

    pub(super) fn publish(&self) {
        let live = &self.live;
        live.download_rate
            .store(self.conn.download_rate(), Ordering::Relaxed);
        live.upload_rate
            .store(self.conn.upload_rate(), Ordering::Relaxed);
        live.downloaded
            .store(self.conn.downloaded(), Ordering::Relaxed);
        live.uploaded.store(self.conn.uploaded(), Ordering::Relaxed);
        live.snubbed
            .store(self.conn.is_snubbed(), Ordering::Relaxed);
        live.is_seed
            .store(self.conn.peer_is_seed(), Ordering::Relaxed);
    }

    pub(super) fn on_command(&mut self, cmd: PeerCommand) -> Result<(), Exit> {
        if !matches!(cmd, PeerCommand::Have(_) | PeerCommand::Cancel(_)) {
            tracing::trace!(addr = %self.addr, ?cmd, "command");
        }
        match cmd {
            PeerCommand::Have(piece) => {
                self.our_have.set(piece as usize);
                self.conn.send_have(piece);
                if self.t.is_complete() || self.our_have.is_full() {
                    self.conn.set_interested(false);
                }
            }
            PeerCommand::Choke => {
                // The connection drops (and under the fast extension rejects) the
                // peer's pending requests, except allowed-fast ones.
                self.conn.choke();
                let conn = &self.conn;
                self.serve_queue.retain(|b| conn.peer_request_pending(b));
            }
            PeerCommand::Unchoke => self.conn.unchoke(),
            PeerCommand::Cancel(block) => {
                // The picker may have given this block back to us since (a piece failed
                // and was reset); then the request still stands.
                let wanted_again = self
                    .t
                    .swarm()
                    .picker
                    .requested_by(block)
                    .any(|k| k == self.key);
                if !wanted_again {
                    self.conn.cancel(block);
                }
            }
            PeerCommand::Wake => {
                // A piece failed: its blocks are wanted again, so the peer may be
                // interesting again.
                if !self.conn.am_interested() && !self.t.is_complete() {
                    let interesting = self
                        .t
                        .swarm()
                        .picker
                        .is_interesting(self.conn.peer_pieces());
                    self.conn.set_interested(interesting);
                }
            }
            PeerCommand::Disconnect(why) => return Err(Exit::Local(why)),
        }
        Ok(())
    }

    fn on_event(&mut self, event: PeerEvent) -> Result<(), Exit> {
        if !matches!(
            event,
            PeerEvent::Block { .. } | PeerEvent::Have(_) | PeerEvent::Request(_)
        ) {
            tracing::trace!(addr = %self.addr, ?event, "event");
        }
        match event {
            PeerEvent::Have(piece) => {
                if self.counted.set(piece as usize) {
                    let mut st = self.t.swarm();
                    st.picker.add_peer_piece(piece);
                    if !self.conn.am_interested() && !st.picker.have().get(piece as usize) {
                        let interesting = st.picker.is_interesting(self.conn.peer_pieces());
                        drop(st);
                        self.conn.set_interested(interesting);
                    }
                }
            }
            PeerEvent::Bitfield | PeerEvent::HaveAll => {
                self.counted = self.conn.peer_pieces().clone();
                let interesting = {
                    let mut st = self.t.swarm();
                    st.picker.add_peer_pieces(&self.counted);
                    st.picker.is_interesting(&self.counted)
                };
                self.conn
                    .set_interested(interesting && !self.t.is_complete());
            }
            PeerEvent::HaveNone
            | PeerEvent::Unchoked
            | PeerEvent::AllowedFast(_)
            | PeerEvent::Suggest(_) => {}
            PeerEvent::Choked { dropped } => {
                let mut st = self.t.swarm();
                for block in dropped {
                    st.picker.on_request_dropped(self.key, block);
                }
            }
            PeerEvent::Interested => {
                self.live.peer_interested.store(true, Ordering::Relaxed);
                self.t.send_control(ControlEvent::Rechoke);
            }
            PeerEvent::NotInterested => {
                self.live.peer_interested.store(false, Ordering::Relaxed);
                self.t.send_control(ControlEvent::Rechoke);
            }
            PeerEvent::Request(block) => {
                if self.our_have.get(block.piece as usize) {
                    self.serve_queue.push_back(block);
                } else {
                    self.conn.reject(block);
                }
            }
            PeerEvent::Cancel(block) => self.serve_queue.retain(|b| *b != block),
            PeerEvent::Block { block, data } => self.on_block(block, data)?,
            PeerEvent::Rejected(block) | PeerEvent::RequestTimedOut(block) => {
                self.t.swarm().picker.on_request_dropped(self.key, block);
            }
            PeerEvent::ExtensionHandshake => {
                let (client, port) = match self.conn.peer_extensions() {
                    Some(e) => (e.v.clone(), e.p),
                    None => (None, None),
                };
                if let Some(v) = client {
                    *self.live.client.lock() = Some(v);
                }
                if let Some(port) = port {
                    self.learn_listen_port(port);
                }
                self.send_pex_if_due(crate::clock::now());
            }
            PeerEvent::Extended {
                id: UT_METADATA_ID,
                payload,
            } => self.on_metadata_request(&payload),
            PeerEvent::Extended {
                id: super::pex::UT_PEX_ID,
                payload,
            } => self.on_pex_message(&payload)?,
            PeerEvent::Port(port) => {
                // BEP 5: the peer's DHT node; ping it and keep it if it answers.
                if let (Some(node), true) = (self.t.ctx().discovery().dht(), port != 0) {
                    node.add_node(SocketAddr::new(self.addr.ip(), port));
                }
            }
            PeerEvent::Extended { .. } => {}
        }
        Ok(())
    }

    /// Answers a ut_metadata request with a piece of our info dictionary, or a reject
    /// when the piece does not exist or the peer asks too often.
    fn on_metadata_request(&mut self, payload: &[u8]) {
        let total = self.t.metadata().total_size();
        let Ok(MetadataMessage::Request { piece }) = MetadataMessage::decode(payload, total) else {
            return; // data or reject messages are not for us; unknown types are ignored
        };
        let Some(their_id) = self
            .conn
            .peer_extensions()
            .and_then(|e| e.id_of(shoal_ext::UT_METADATA))
        else {
            return;
        };
        let reply = self.t.metadata().handle_request(
            &mut self.metadata_limiter,
            piece,
            crate::clock::now(),
        );
        self.conn.send_extended(their_id, &reply.encode());
    }

    /// A block we asked for arrived: let the picker account for it and hand it to the
    /// disk workers, which write it and verify the piece once it is complete.
    fn on_block(&mut self, block: BlockRef, data: Bytes) -> Result<(), Exit> {
        self.t
            .counters()
            .downloaded
            .fetch_add(data.len() as u64, Ordering::Relaxed);
        let accepted = {
            let mut st = self.t.swarm();
            match st.picker.on_block(self.key, block) {
                BlockOutcome::Accepted {
                    piece_complete,
                    cancel,
                } => {
                    st.pieces.on_accepted(block.piece, piece_complete);
                    for (key, other) in cancel {
                        if key != self.key {
                            if let Some(p) = st.peers.get(&key) {
                                let _ = p.tx.send(PeerCommand::Cancel(other));
                            }
                        }
                    }
                    true
                }
                BlockOutcome::Duplicate | BlockOutcome::NotRequested => false,
            }
        };
        if accepted {
            self.to_disk.push((block, data));
        }
        Ok(())
    }

    /// Asks the picker for as many blocks as the connection's pipeline has room for.
    pub(super) fn request_more(&mut self) {
        if !self.conn.am_interested() || self.t.is_complete() {
            return;
        }
        let choked = self.conn.peer_choking();
        if choked && self.conn.allowed_fast().is_empty() {
            return;
        }
        let want = self.conn.request_capacity();
        if want == 0 {
            return;
        }
        self.picks.clear();
        let nothing_left = {
            let mut st = self.t.swarm();
            if choked {
                st.picker.pick_in(
                    self.key,
                    self.conn.allowed_fast(),
                    self.conn.peer_pieces(),
                    want,
                    &mut self.picks,
                );
            } else {
                st.picker
                    .pick(self.key, self.conn.peer_pieces(), want, &mut self.picks);
            }
            self.picks.is_empty()
                && self.conn.outstanding() == 0
                && !choked
                && !st.picker.is_interesting(self.conn.peer_pieces())
        };
        let now = crate::clock::now();
        let mut refused = false;
        for &block in &self.picks {
            refused |= !self.conn.request(block, now);
        }
        if refused {
            // Not sent (already in flight, or the pipeline is full): give it back.
            let mut st = self.t.swarm();
            for &block in &self.picks {
                if !self.conn.is_outstanding(&block) {
                    st.picker.on_request_dropped(self.key, block);
                }
            }
        }
        self.picks.clear();
        if nothing_left {
            self.conn.set_interested(false);
        }
    }

    /// Releases everything this connection held in the torrent.
    pub(super) fn unregister(&mut self) {
        let mut st = self.t.swarm();
        st.picker.on_peer_gone(self.key);
        st.picker.remove_peer_pieces(&self.counted);
        st.peers.remove(&self.key);
    }
}
