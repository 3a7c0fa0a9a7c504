//! The per-connection peer wire state machine, sans-IO: it starts after both
//! handshakes were exchanged, takes received bytes and the current time, and produces
//! events for the engine and bytes to write to the socket.
//!
//! Typical engine loop: read into a `BytesMut` and call [`PeerConnection::handle_input`];
//! drain [`PeerConnection::poll_event`]; issue commands (`request`, `send_block`, …);
//! write [`PeerConnection::output`] to the socket; sleep until
//! [`PeerConnection::poll_timeout`] and then call [`PeerConnection::handle_timeout`].
//! Any `Err` means: close the connection.

mod commands;
mod config;
mod error;
mod event;
mod inbound;
mod rate;
mod requests;

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use bytes::BytesMut;

use crate::extension::MAX_PEER_REQQ;
use crate::frame::DEFAULT_MAX_FRAME_LEN;
use crate::{Bitfield, BlockRef, ExtensionHandshake, FrameReader, Message, WireError, BLOCK_SIZE};
pub use config::ConnectionConfig;
pub use error::PeerError;
pub use event::PeerEvent;
use rate::RateMeter;
use requests::Outstanding;

/// Outstanding requests we assume a peer accepts when it did not send `reqq` (the
/// common default; more risks being dropped or treated as a flood).
pub const DEFAULT_PEER_REQQ: u32 = 250;
/// Request depth before the rate estimate means anything (grows by one per block).
const INITIAL_DEPTH: usize = 32;
/// How much data, in time at the current download rate, we keep requested.
const TARGET_QUEUE_MS: u64 = 1500;
/// Slow start lasts this long after the first block, then the rate decides the depth.
const SLOW_START: Duration = rate::WINDOW;
/// Requests older than this many request timeouts expire even while other blocks flow.
const HARD_TIMEOUT_FACTOR: u32 = 4;
/// Unrequested block bytes tolerated beyond those excused by cancels/timeouts/chokes.
const UNREQUESTED_LIMIT: u64 = 256 * 1024;
/// Most allowed-fast pieces we remember from the peer (BEP 6 suggests ~10).
const MAX_ALLOWED_FAST: usize = 64;
/// Most `have`s we buffer while the torrent's layout is unknown.
const MAX_PENDING_HAVES: usize = 1 << 16;

/// Unsent output (bytes) beyond which a refused request counts as a flood: the peer
/// asks faster than it reads our rejects.
const MAX_REJECT_BACKLOG: usize = 256 * 1024;

/// Piece announcements received before the torrent's layout was known.
#[derive(Debug, Default)]
struct PendingPieces {
    bitfield: Option<bytes::Bytes>,
    have_all: bool,
    haves: Vec<u32>,
}

/// One peer connection's protocol state. See the module docs for the call pattern.
#[derive(Debug)]
pub struct PeerConnection {
    cfg: ConnectionConfig,
    reader: FrameReader,
    out: BytesMut,
    events: VecDeque<PeerEvent>,
    /// Latest time the caller told us about (commands without `now` use it).
    now: Instant,
    last_sent: Instant,
    last_received: Instant,
    /// Last time a requested block arrived (or the connection started).
    last_block: Instant,
    /// Since when neither side has been interested (`None` while either is).
    uninterested_since: Option<Instant>,

    am_choking: bool,
    am_interested: bool,
    peer_choking: bool,
    peer_interested: bool,

    peer_pieces: Bitfield,
    pending: PendingPieces,
    /// The peer sent something that ends the window for bitfield/have-all/have-none.
    peer_started: bool,
    our_pieces: Bitfield,
    /// We sent something that ends our bitfield window.
    we_started: bool,
    sent_bitfield: bool,

    outstanding: Outstanding,
    peer_allowed_fast: Vec<u32>,
    our_allowed_fast: Vec<u32>,
    peer_requests: HashSet<BlockRef>,

    down: RateMeter,
    up: RateMeter,
    snubbed: bool,
    slow_start: bool,
    slow_start_depth: usize,
    slow_start_end: Option<Instant>,
    unrequested_allowance: u64,
    unrequested_excess: u64,

    peer_ext: Option<ExtensionHandshake>,
}

impl PeerConnection {
    /// A connection right after both handshakes. Timer settings are clamped to sane
    /// bounds (keep-alive at least 100 ms, all timers at most ten years).
    pub fn new(mut cfg: ConnectionConfig, now: Instant) -> Self {
        const MAX_TIMER: Duration = Duration::from_secs(10 * 365 * 86_400);
        cfg.keepalive_interval = cfg
            .keepalive_interval
            .clamp(Duration::from_millis(100), MAX_TIMER);
        cfg.idle_timeout = cfg.idle_timeout.min(MAX_TIMER);
        cfg.inactivity_timeout = cfg.inactivity_timeout.min(MAX_TIMER);
        cfg.request_timeout = cfg.request_timeout.min(MAX_TIMER);
        let n = cfg.num_pieces as usize;
        PeerConnection {
            reader: FrameReader::new(frame_limit(cfg.num_pieces)),
            out: BytesMut::with_capacity(4096),
            events: VecDeque::new(),
            now,
            last_sent: now,
            last_received: now,
            last_block: now,
            uninterested_since: Some(now),
            am_choking: true,
            am_interested: false,
            peer_choking: true,
            peer_interested: false,
            peer_pieces: Bitfield::new(n),
            pending: PendingPieces::default(),
            peer_started: false,
            our_pieces: Bitfield::new(n),
            we_started: false,
            sent_bitfield: false,
            outstanding: Outstanding::default(),
            peer_allowed_fast: Vec::new(),
            our_allowed_fast: Vec::new(),
            peer_requests: HashSet::new(),
            down: RateMeter::new(now),
            up: RateMeter::new(now),
            snubbed: false,
            slow_start: true,
            slow_start_depth: INITIAL_DEPTH,
            slow_start_end: None,
            unrequested_allowance: 0,
            unrequested_excess: 0,
            peer_ext: None,
            cfg,
        }
    }

    /// Supplies the torrent's layout once its metadata is known, for a connection
    /// created with `num_pieces == 0`. Buffered bitfield/have messages are validated
    /// now (an `Err` means close the connection) and reported as one
    /// `PeerEvent::Bitfield`/`HaveAll`. No-op if the layout was already known.
    pub fn set_torrent_layout(
        &mut self,
        num_pieces: u32,
        piece_length: u32,
        total_length: u64,
    ) -> Result<(), PeerError> {
        if self.cfg.num_pieces != 0 || num_pieces == 0 {
            return Ok(());
        }
        self.cfg.num_pieces = num_pieces;
        self.cfg.piece_length = piece_length;
        self.cfg.total_length = total_length;
        self.reader = FrameReader::new(frame_limit(num_pieces));
        let n = num_pieces as usize;
        self.our_pieces = Bitfield::new(n);
        let pending = std::mem::take(&mut self.pending);
        let mut pieces = match &pending.bitfield {
            Some(raw) => Bitfield::from_payload(raw, n)?,
            None => Bitfield::new(n),
        };
        if pending.have_all {
            pieces.set_all();
        }
        for &i in &pending.haves {
            if i >= num_pieces {
                return Err(PeerError::InvalidPieceIndex(i));
            }
            pieces.set(i as usize);
        }
        self.peer_pieces = pieces;
        if pending.have_all {
            self.events.push_back(PeerEvent::HaveAll);
        } else if pending.bitfield.is_some() || !pending.haves.is_empty() {
            self.events.push_back(PeerEvent::Bitfield);
        }
        Ok(())
    }

    fn layout_known(&self) -> bool {
        self.cfg.num_pieces != 0
    }

    fn tick(&mut self, now: Instant) {
        self.now = self.now.max(now);
    }

    // ---- input ----

    /// Decodes every complete frame in `buf` (leaving a partial one there), updating
    /// state and queueing events. Unknown message ids are ignored. An `Err` is peer
    /// misbehaviour: close the connection.
    pub fn handle_input(&mut self, buf: &mut BytesMut, now: Instant) -> Result<(), PeerError> {
        self.tick(now);
        if !buf.is_empty() {
            self.last_received = self.now;
        }
        while let Some(frame) = self.reader.next_frame(buf)? {
            match Message::decode(frame) {
                Ok(msg) => self.on_message(msg)?,
                Err(WireError::UnknownMessage(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Runs timers: idle timeout (`Err`), request timeouts (events) and keep-alive
    /// (output). Call it at [`PeerConnection::poll_timeout`] (calling early is harmless).
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), PeerError> {
        self.tick(now);
        let now = self.now;
        if now >= self.last_received + self.cfg.idle_timeout {
            return Err(PeerError::IdleTimeout);
        }
        if let Some(deadline) = self.inactivity_deadline() {
            if now >= deadline {
                return Err(PeerError::Inactive);
            }
        }
        while let Some((block, sent_at)) = self.outstanding.oldest() {
            let (deadline, stalled) = self.request_deadline(sent_at);
            if now < deadline {
                break;
            }
            self.outstanding.remove(&block);
            self.excuse(block.length);
            if stalled && !self.peer_choking {
                self.snubbed = true;
                self.slow_start = false;
            }
            self.events.push_back(PeerEvent::RequestTimedOut(block));
        }
        self.check_slow_start();
        if now >= self.last_sent + self.cfg.keepalive_interval {
            Message::KeepAlive.encode(&mut self.out);
            self.last_sent = now;
        }
        Ok(())
    }

    /// When a request sent at `sent_at` expires, and whether that would be because
    /// the peer stalled (no block for a whole timeout) rather than the hard limit.
    fn request_deadline(&self, sent_at: Instant) -> (Instant, bool) {
        let t = self.cfg.request_timeout;
        let stall = sent_at.max(self.last_block) + t;
        let hard = sent_at + t * HARD_TIMEOUT_FACTOR;
        if stall <= hard {
            (stall, true)
        } else {
            (hard, false)
        }
    }

    /// When the connection closes for lack of interest, if neither side is interested.
    fn inactivity_deadline(&self) -> Option<Instant> {
        Some(self.uninterested_since? + self.cfg.inactivity_timeout)
    }

    /// Starts or stops the inactivity clock after either side's interest changed.
    fn note_interest(&mut self) {
        if self.am_interested || self.peer_interested {
            self.uninterested_since = None;
        } else if self.uninterested_since.is_none() {
            self.uninterested_since = Some(self.now);
        }
    }

    fn check_slow_start(&mut self) {
        if self.slow_start_end.is_some_and(|end| self.now >= end) {
            self.slow_start = false;
        }
    }

    /// Lets the peer send `len` unrequested bytes without penalty (a block we
    /// cancelled, dropped or gave up on may still arrive).
    fn excuse(&mut self, len: u32) {
        self.unrequested_allowance = (self.unrequested_allowance + u64::from(len)).min(1 << 30);
    }

    // ---- output ----

    /// Next event for the engine.
    pub fn poll_event(&mut self) -> Option<PeerEvent> {
        self.events.pop_front()
    }

    /// The next time [`PeerConnection::handle_timeout`] has work to do.
    pub fn poll_timeout(&self) -> Instant {
        let mut t = (self.last_sent + self.cfg.keepalive_interval)
            .min(self.last_received + self.cfg.idle_timeout);
        if let Some(deadline) = self.inactivity_deadline() {
            t = t.min(deadline);
        }
        if let Some((_, sent_at)) = self.outstanding.oldest() {
            t = t.min(self.request_deadline(sent_at).0);
        }
        t
    }

    /// Bytes to write to the socket. Write from the front and `advance` past what was
    /// written (or `split()` it off).
    pub fn output(&mut self) -> &mut BytesMut {
        &mut self.out
    }

    /// Whether there are bytes to write.
    pub fn has_output(&self) -> bool {
        !self.out.is_empty()
    }

    // ---- state ----

    /// The connection's settings.
    pub fn config(&self) -> &ConnectionConfig {
        &self.cfg
    }

    /// Whether we choke the peer.
    pub fn am_choking(&self) -> bool {
        self.am_choking
    }

    /// Whether we are interested in the peer's pieces.
    pub fn am_interested(&self) -> bool {
        self.am_interested
    }

    /// Whether the peer chokes us.
    pub fn peer_choking(&self) -> bool {
        self.peer_choking
    }

    /// Whether the peer is interested in our pieces.
    pub fn peer_interested(&self) -> bool {
        self.peer_interested
    }

    /// What the peer has. Empty (length 0) until the layout is known.
    pub fn peer_pieces(&self) -> &Bitfield {
        &self.peer_pieces
    }

    /// Whether the peer has every piece (or said so with `have all` before the layout
    /// was known).
    pub fn peer_is_seed(&self) -> bool {
        if self.layout_known() {
            self.peer_pieces.is_full()
        } else {
            self.pending.have_all
        }
    }

    /// What we announced (bitfield and haves sent).
    pub fn our_pieces(&self) -> &Bitfield {
        &self.our_pieces
    }

    /// Our requests in flight.
    pub fn outstanding(&self) -> usize {
        self.outstanding.len()
    }

    /// Whether `block` is one of our requests in flight.
    pub fn is_outstanding(&self, block: &BlockRef) -> bool {
        self.outstanding.contains(block)
    }

    /// Our requests in flight, oldest first.
    pub fn outstanding_blocks(&self) -> impl Iterator<Item = BlockRef> + '_ {
        self.outstanding.iter()
    }

    /// Forgets every request in flight and returns them (e.g. to hand them back to the
    /// picker when closing). Late data for them is tolerated.
    pub fn take_outstanding(&mut self) -> Vec<BlockRef> {
        let blocks = self.outstanding.drain();
        for b in &blocks {
            self.excuse(b.length);
        }
        blocks
    }

    /// Adaptive target for our outstanding requests: about `TARGET_QUEUE_MS` worth of
    /// data at the current download rate, with TCP-like slow start at first, between
    /// `min_request_depth` and `min(max_request_depth, peer reqq)` (reqq defaults to
    /// [`DEFAULT_PEER_REQQ`] until the peer sends one); 1 when snubbed.
    pub fn request_depth(&self) -> usize {
        let reqq = self.peer_reqq().unwrap_or(DEFAULT_PEER_REQQ) as usize;
        let upper = self.cfg.max_request_depth.min(reqq).max(1);
        if self.snubbed {
            return 1;
        }
        let lower = self.cfg.min_request_depth.clamp(1, upper);
        let by_rate =
            self.download_rate().saturating_mul(TARGET_QUEUE_MS) / 1000 / u64::from(BLOCK_SIZE);
        let by_rate = usize::try_from(by_rate).unwrap_or(usize::MAX);
        let depth = if self.slow_start {
            by_rate.max(self.slow_start_depth)
        } else {
            by_rate
        };
        depth.clamp(lower, upper)
    }

    /// How many more requests to send now: depth − outstanding. 0 while the peer
    /// chokes us, unless the fast extension gave us allowed-fast pieces (then only
    /// request those).
    pub fn request_capacity(&self) -> usize {
        if self.peer_choking && (!self.cfg.fast || self.peer_allowed_fast.is_empty()) {
            return 0;
        }
        self.request_depth().saturating_sub(self.outstanding.len())
    }

    /// Pieces the peer lets us request while it chokes us.
    pub fn allowed_fast(&self) -> &[u32] {
        &self.peer_allowed_fast
    }

    /// Pieces we told the peer it may request while choked.
    pub fn our_allowed_fast(&self) -> &[u32] {
        &self.our_allowed_fast
    }

    /// Whether the peer has a request pending with us (reported and not yet served,
    /// rejected or cancelled). Check before serving a queued request.
    pub fn peer_request_pending(&self, block: &BlockRef) -> bool {
        self.peer_requests.contains(block)
    }

    /// Number of requests the peer has pending with us.
    pub fn peer_requests_pending(&self) -> usize {
        self.peer_requests.len()
    }

    /// Payload bytes/s received over the last ~2 s (as of the latest `now` we saw).
    pub fn download_rate(&self) -> u64 {
        self.down.rate(self.now)
    }

    /// Payload bytes/s sent over the last ~2 s (as of the latest `now` we saw).
    pub fn upload_rate(&self) -> u64 {
        self.up.rate(self.now)
    }

    /// Payload bytes received for our requests.
    pub fn downloaded(&self) -> u64 {
        self.down.total()
    }

    /// Payload bytes sent with `send_block`.
    pub fn uploaded(&self) -> u64 {
        self.up.total()
    }

    /// A request timed out while unchoked and no block arrived since.
    pub fn is_snubbed(&self) -> bool {
        self.snubbed
    }

    /// The peer's extension handshake, once received.
    pub fn peer_extensions(&self) -> Option<&ExtensionHandshake> {
        self.peer_ext.as_ref()
    }

    /// The peer's `reqq`, clamped to 1..=[`MAX_PEER_REQQ`].
    pub fn peer_reqq(&self) -> Option<u32> {
        self.peer_ext
            .as_ref()?
            .reqq
            .map(|r| r.clamp(1, MAX_PEER_REQQ))
    }
}

/// Frame limit for a torrent: the default, or more if its bitfield needs it.
fn frame_limit(num_pieces: u32) -> u32 {
    DEFAULT_MAX_FRAME_LEN.max(1 + num_pieces.div_ceil(8))
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_commands;
#[cfg(test)]
mod tests_flow;
#[cfg(test)]
mod tests_timing;
