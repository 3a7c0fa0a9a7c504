//! A metadata connection: the role a connection plays while a magnet fetch has only the
//! info-hash (BEP 9, ut_metadata). It asks the peer for pieces of the info dictionary
//! on behalf of the fetch it belongs to; once the fetch has the metadata, a peer that
//! served it waits on its connection ([`super::Handover`]) for the torrent to be added
//! and then goes on as a data connection over the same socket and wire state.

use super::driver::{self, Role, READ_CHUNK};
use super::handover::{Ticket, PARK_TIME};
use super::logic::Exit;
use super::outbox::Outbox;
use super::{Opened, PeerSide};
use crate::context::TorrentContext;
use crate::refusals::RefusingPeers;
use crate::torrent::Torrent;
use crate::transport::{self, PeerStream};
use bytes::BytesMut;
use parking_lot::Mutex;
use shoal_ext::{AddPeerError, DataError, MetadataFetch, MetadataMessage};
use shoal_wire::{Bitfield, ExtensionHandshake, PeerConnection, PeerEvent};
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// The id under which we receive ut_metadata messages (our `m` dictionary).
pub(crate) const UT_METADATA_ID: u8 = 2;

/// Largest info dictionary we accept from peers.
pub(crate) const MAX_METADATA: u64 = 32 * 1024 * 1024;

/// How long a metadata request may go unanswered before the connection is given up
/// and the peer dialled again (the fetch asks its other peers meanwhile); the fetch
/// re-asks a silent request after the same time.
const REQUEST_TIMEOUT: Duration = shoal_ext::metadata_fetch::DEFAULT_REQUEST_TIMEOUT;

/// How often a peer whose metadata size disagrees with the fetch's asks to join again.
const SIZE_RETRY: Duration = Duration::from_millis(250);

/// How a metadata connection ended, for the fetch's dial plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    /// Nothing the peer did wrong: worth another dial later.
    Lost,
    /// The peer broke the rules or cannot serve metadata at all: never again.
    Refused,
}

/// Why a metadata connection ended on its own terms.
#[derive(Debug)]
pub(crate) enum MetadataEnd {
    /// The peer does not speak the extension protocol (BEP 10): it cannot serve.
    NoExtensions,
    /// The peer does not offer ut_metadata (yet; it may be fetching it itself).
    NotServing,
    /// The fetch would not take the peer (its size, a ban, or too many peers).
    Join(AddPeerError),
    /// The peer's metadata was refused.
    Data(DataError),
    /// The fetch ended without this peer's help (done, given up, or cancelled).
    FetchOver,
    /// The fetch completed but its torrent was not added within [`PARK_TIME`].
    NotAdopted,
    /// The peer left a request unanswered for [`REQUEST_TIMEOUT`]: it is dialled
    /// again, as a fresh connection often gets an answer.
    Silent {
        /// The metadata piece asked for.
        piece: u32,
    },
}

impl MetadataEnd {
    /// Whether the peer is to blame.
    pub(super) fn is_peer_misbehaviour(&self) -> bool {
        matches!(
            self,
            MetadataEnd::Data(_)
                | MetadataEnd::Join(AddPeerError::InvalidSize { .. } | AddPeerError::Banned(_))
        )
    }

    fn ended(&self) -> Ended {
        match self {
            MetadataEnd::NotServing
            | MetadataEnd::FetchOver
            | MetadataEnd::NotAdopted
            | MetadataEnd::Silent { .. }
            | MetadataEnd::Join(AddPeerError::TooManyPeers(_)) => Ended::Lost,
            _ => Ended::Refused,
        }
    }
}

impl fmt::Display for MetadataEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetadataEnd::NoExtensions => {
                f.write_str("peer does not support the extension protocol")
            }
            MetadataEnd::NotServing => f.write_str("peer does not serve metadata"),
            MetadataEnd::Join(e) => write!(f, "not taken into the metadata fetch: {e}"),
            MetadataEnd::Data(e) => write!(f, "bad metadata: {e}"),
            MetadataEnd::FetchOver => f.write_str("the metadata fetch ended"),
            MetadataEnd::NotAdopted => f.write_str("the fetched torrent was not added in time"),
            MetadataEnd::Silent { piece } => write!(
                f,
                "no answer to the request for metadata piece {piece} within {REQUEST_TIMEOUT:?}"
            ),
        }
    }
}

/// How far the fetch is, as its connections see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FetchNews {
    Running,
    /// The metadata is verified: connections that served it wait for their torrent.
    Complete,
}

/// What a fetch gives each of its connections.
/// Fields are public: the fetch fills them in and the connection takes them apart.
pub(crate) struct FetchLink {
    pub fetch: Arc<Mutex<MetadataFetch>>,
    /// This connection's key in the fetch.
    pub key: u64,
    /// Where the connection that completes the metadata sends it.
    pub complete: mpsc::UnboundedSender<Vec<u8>>,
    /// The fetch's progress; closed when the fetch gives up or is dropped.
    pub news: watch::Receiver<FetchNews>,
    /// Where the torrent arrives once it is added.
    pub ticket: Ticket,
    /// The fetch's count of connections past the handshake.
    pub connected: Arc<AtomicUsize>,
    /// The fetch's peers that refused our encryption policy.
    pub refusing: Arc<Mutex<RefusingPeers>>,
}

/// Counts a connection in [`FetchLink::connected`] while it lives.
struct Counted(Arc<AtomicUsize>);

impl Counted {
    fn new(count: Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Counted(count)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Dials `addr` for the fetch of `info_hash` and runs the connection: first as a
/// metadata connection, then, if the fetch completes and its torrent is added in time,
/// as one of the torrent's data connections until it ends.
pub(crate) async fn fetch_from(
    ctx: Arc<TorrentContext>,
    addr: SocketAddr,
    info_hash: [u8; 20],
    mut link: FetchLink,
) -> Ended {
    let dialled = tokio::select! {
        dialled = transport::dial(&ctx, addr, info_hash) => dialled,
        // Done or given up while we dialled: this connection would not be needed.
        _ = link.news.changed() => return Ended::Lost,
    };
    let conn = match dialled {
        Ok(conn) => conn,
        Err(e) => {
            tracing::debug!(%addr, error = %e, "metadata connection failed");
            if let Some(why) = e.refusal() {
                link.refusing.lock().refused(addr.ip(), why);
            }
            return Ended::Lost;
        }
    };
    link.refusing.lock().connected(addr.ip());
    let _counted = Counted::new(link.connected.clone());
    if !conn.theirs.supports_extensions() {
        link.fetch.lock().peer_gone(link.key);
        tracing::debug!(%addr, "metadata connection ended: {}", MetadataEnd::NoExtensions);
        return Ended::Refused;
    }
    let Opened {
        link: mut io,
        outbox,
        mut wire,
        theirs,
        encrypted,
    } = super::open(&ctx, info_hash, conn);
    // We have nothing and know no layout yet: `have none`, or no bitfield at all.
    wire.send_bitfield(&Bitfield::new(0));
    let mut m = std::collections::BTreeMap::new();
    m.insert(shoal_ext::UT_METADATA.to_string(), UT_METADATA_ID);
    wire.send_extension_handshake(&ExtensionHandshake {
        m,
        v: Some(crate::CLIENT_NAME.to_string()),
        p: Some(ctx.listen_port()),
        ..ExtensionHandshake::default()
    });
    let FetchLink {
        fetch,
        key,
        complete,
        news,
        ticket,
        connected: _,
        refusing: _,
    } = link;
    let mut role = MetadataRole {
        conn: wire,
        outbox,
        fetch: fetch.clone(),
        key,
        complete,
        news,
        ticket: Some(ticket),
        their_id: None,
        waiting: None,
        retry_at: None,
        asked: Vec::new(),
        parked_until: None,
        promoted: None,
    };
    let exit = driver::drive(&mut role, &mut io).await;
    fetch.lock().peer_gone(key);
    let MetadataRole {
        conn: wire,
        outbox,
        promoted,
        ..
    } = role;
    if let Exit::Promoted = exit {
        if let Some(torrent) = promoted {
            let peer = PeerSide {
                addr,
                theirs,
                outgoing: true,
                encrypted,
            };
            super::promote(torrent, io, wire, outbox, peer).await;
        }
        return Ended::Lost;
    }
    tracing::debug!(%addr, reason = %exit, "metadata connection ended");
    match exit {
        Exit::Metadata(end) => end.ended(),
        Exit::Misbehaved(_) => Ended::Refused,
        _ => Ended::Lost,
    }
}

/// What a metadata connection receives besides bytes.
enum MetadataMail {
    /// The fetch's progress changed (or the fetch is gone).
    News,
    /// The torrent was added (`None`: it will not be).
    Torrent(Option<Arc<Torrent>>),
}

/// The metadata role of a connection.
struct MetadataRole {
    conn: PeerConnection,
    outbox: Outbox,
    fetch: Arc<Mutex<MetadataFetch>>,
    key: u64,
    complete: mpsc::UnboundedSender<Vec<u8>>,
    news: watch::Receiver<FetchNews>,
    ticket: Option<Ticket>,
    /// The peer's ut_metadata id, once the fetch took the peer.
    their_id: Option<u8>,
    /// The peer's id and size while its size disagrees with the fetch's.
    waiting: Option<(u8, u64)>,
    /// When a waiting peer asks to join again.
    retry_at: Option<Instant>,
    /// Our unanswered requests: piece and when it was asked (as many as the fetch
    /// lets one peer have, one by default).
    asked: Vec<(u32, Instant)>,
    /// The fetch has its metadata: the connection waits for the torrent until then.
    parked_until: Option<Instant>,
    /// The torrent this connection was handed to.
    promoted: Option<Arc<Torrent>>,
}

/// Most unanswered requests one connection keeps (the fetch's own cap is lower).
const MAX_ASKED: usize = 16;

impl MetadataRole {
    /// When the oldest unanswered request times out (never while parked: the
    /// metadata is complete).
    fn request_deadline(&self) -> Option<Instant> {
        if self.parked_until.is_some() {
            return None;
        }
        let oldest = self.asked.iter().map(|&(_, at)| at).min()?;
        Some(oldest + REQUEST_TIMEOUT)
    }

    /// Registers the peer with the fetch: true when it is in, false when its size
    /// disagrees with the one in use (it may try again later).
    fn join(&self, size: u64) -> Result<bool, Exit> {
        let mut fetch = self.fetch.lock();
        // A size whose peers stay silent gives way once a request timed out.
        fetch.handle_timeout(crate::clock::now());
        match fetch.add_peer(self.key, size) {
            Ok(()) => Ok(true),
            Err(AddPeerError::SizeMismatch { .. }) => Ok(false),
            Err(e) => Err(Exit::Metadata(MetadataEnd::Join(e))),
        }
    }

    fn on_event(&mut self, event: PeerEvent) -> Result<(), Exit> {
        match event {
            PeerEvent::ExtensionHandshake if self.their_id.is_none() && self.waiting.is_none() => {
                let ext = self.conn.peer_extensions().cloned().unwrap_or_default();
                let (Some(id), Some(size)) = (ext.id_of(shoal_ext::UT_METADATA), ext.metadata_size)
                else {
                    // It may be fetching the metadata itself: ask again later.
                    return Err(Exit::Metadata(MetadataEnd::NotServing));
                };
                if self.join(size)? {
                    self.their_id = Some(id);
                } else {
                    self.waiting = Some((id, size));
                }
            }
            PeerEvent::Extended {
                id: UT_METADATA_ID,
                payload,
            } if self.parked_until.is_none() => self.on_metadata_message(&payload)?,
            // Everything else waits for the torrent: the connection keeps the peer's
            // pieces until it knows the layout.
            _ => {}
        }
        Ok(())
    }

    fn on_metadata_message(&mut self, payload: &[u8]) -> Result<(), Exit> {
        // BEP 9: unknown message types are ignored.
        let Ok(msg) = MetadataMessage::decode(payload, MAX_METADATA) else {
            return Ok(());
        };
        match msg {
            MetadataMessage::Data {
                piece,
                total_size,
                data,
            } => {
                self.asked.retain(|&(p, _)| p != piece);
                let done = self.fetch.lock().on_data(self.key, piece, total_size, data);
                match done {
                    Ok(Some(bytes)) => {
                        let _ = self.complete.send(bytes);
                    }
                    Ok(None) => {}
                    // Several peers supplied the bad copy and this one may be honest:
                    // the fetch starts over, our earlier requests are void.
                    Err(DataError::HashMismatch { banned, .. }) if !banned.contains(&self.key) => {
                        self.asked.clear();
                    }
                    Err(e) => return Err(Exit::Metadata(MetadataEnd::Data(e))),
                }
            }
            MetadataMessage::Reject { piece } => {
                self.asked.retain(|&(p, _)| p != piece);
                self.fetch.lock().on_reject(self.key, piece);
            }
            MetadataMessage::Request { .. } => {}
        }
        Ok(())
    }
}

impl Role for MetadataRole {
    type Mail = MetadataMail;

    /// Joins the fetch once the peer's size is acceptable, and asks the peer for as
    /// many pieces as the fetch allows it (one at a time by default).
    fn after_io(&mut self) -> Result<(), Exit> {
        if self.parked_until.is_some() {
            return Ok(());
        }
        let now = crate::clock::now();
        if let Some((id, size)) = self.waiting {
            if self.retry_at.is_none_or(|at| at <= now) {
                if self.join(size)? {
                    self.their_id = Some(id);
                    self.waiting = None;
                    self.retry_at = None;
                } else {
                    self.retry_at = Some(now + SIZE_RETRY);
                }
            }
        }
        if let Some(id) = self.their_id {
            // The fetch caps how many requests one peer has; this bound only guards
            // against a fetch that keeps handing out pieces.
            while self.asked.len() < MAX_ASKED {
                let Some(piece) = self.fetch.lock().next_request(self.key, now) else {
                    break;
                };
                self.conn
                    .send_extended(id, &MetadataMessage::Request { piece }.encode());
                self.asked.push((piece, now));
            }
        }
        Ok(())
    }

    fn poll_timeout(&self) -> Instant {
        [self.retry_at, self.parked_until, self.request_deadline()]
            .into_iter()
            .flatten()
            .fold(self.conn.poll_timeout(), Instant::min)
    }

    fn handle_timeout(&mut self) -> Result<(), Exit> {
        let now = crate::clock::now();
        if self.parked_until.is_some_and(|at| at <= now) {
            return Err(Exit::Metadata(MetadataEnd::NotAdopted));
        }
        if self.request_deadline().is_some_and(|at| at <= now) {
            let piece = self.asked.first().map_or(0, |&(p, _)| p);
            return Err(Exit::Metadata(MetadataEnd::Silent { piece }));
        }
        self.conn.handle_timeout(now)?;
        while let Some(event) = self.conn.poll_event() {
            self.on_event(event)?;
        }
        Ok(())
    }

    fn read_pause(&self) -> Option<Duration> {
        None
    }

    fn read_cap(&self) -> usize {
        READ_CHUNK
    }

    fn handle_input(&mut self, buf: &mut BytesMut, _fresh: usize) -> Result<(), Exit> {
        self.conn.handle_input(buf, crate::clock::now())?;
        while let Some(event) = self.conn.poll_event() {
            self.on_event(event)?;
        }
        Ok(())
    }

    fn has_output(&self) -> bool {
        self.conn.has_output() || !self.outbox.is_empty()
    }

    fn write_ready(&mut self, stream: &dyn PeerStream) -> Result<(), Exit> {
        self.outbox
            .write_ready(stream, self.conn.output())
            .map_err(Exit::Io)
    }

    async fn next_mail(&mut self) -> MetadataMail {
        if self.parked_until.is_none() {
            let _ = self.news.changed().await;
            return MetadataMail::News;
        }
        match self.ticket.as_mut() {
            Some(ticket) => MetadataMail::Torrent(ticket.await.ok()),
            None => std::future::pending().await,
        }
    }

    fn handle_mail(&mut self, mail: MetadataMail) -> Result<(), Exit> {
        match mail {
            MetadataMail::News => {
                let complete = *self.news.borrow_and_update() == FetchNews::Complete;
                if complete && self.their_id.is_some() {
                    self.parked_until = Some(crate::clock::now() + PARK_TIME);
                    Ok(())
                } else if complete || self.news.has_changed().is_err() {
                    Err(Exit::Metadata(MetadataEnd::FetchOver))
                } else {
                    Ok(())
                }
            }
            MetadataMail::Torrent(Some(torrent)) => {
                self.ticket = None;
                self.promoted = Some(torrent);
                Err(Exit::Promoted)
            }
            MetadataMail::Torrent(None) => {
                self.ticket = None;
                Err(Exit::Metadata(MetadataEnd::NotAdopted))
            }
        }
    }
}
