//! Fetching a torrent's info dictionary from peers (BEP 9, ut_metadata) when all we have
//! is a magnet link. Each candidate peer gets a short-lived connection whose only job is
//! the metadata; the assembled bytes are verified against the info-hash before they
//! become a [`Metainfo`] and the torrent is added as usual. Connections are made like
//! any other (`transport::dial`), so they follow the session's encryption policy.
//!
//! A peer serving metadata that does not hash to the info-hash is dropped once it is
//! known to be the culprit (`MetadataFetch` bans a sole supplier; when several peers
//! contributed, each becomes a suspect and the next attempt takes everything from one
//! of them, so honest suspects stay connected). [`dials`] decides which address is
//! dialled when: lost connections are retried with growing pauses, while a peer that
//! was banned or broke the protocol is never asked again. A peer announcing another metadata size than
//! the one the fetch settled on waits on its connection until that size is abandoned
//! (its only supplier was banned or left) instead of being dropped: the first size may
//! be an impostor's.

mod dials;

use crate::context::TorrentContext;
use crate::handshake;
use crate::transport::{self, Connected};
use bytes::BytesMut;
use dials::{DialPlan, Ended};
use parking_lot::Mutex;
use shoal_announce::{Announcer, AnnouncerConfig, TransferStats};
use shoal_ext::{AddPeerError, DataError, MetadataFetch, MetadataMessage};
use shoal_metainfo::{Magnet, Metainfo};
use shoal_wire::{Bitfield, ConnectionConfig, ExtensionHandshake, PeerConnection, PeerEvent};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// The id under which we receive ut_metadata messages (our `m` dictionary).
pub(crate) const UT_METADATA_ID: u8 = 2;

/// Largest info dictionary we accept from peers.
const MAX_METADATA: u64 = 32 * 1024 * 1024;

/// Metadata pieces requested from one peer at a time.
const PIPELINE: usize = 4;

/// Most metadata connections open at once.
const MAX_CONNECTIONS: usize = 16;

/// How often a peer whose metadata size disagrees with the fetch's asks to join again.
const SIZE_RETRY: Duration = Duration::from_millis(250);

/// Fetching metadata failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    #[error("no peer sent the torrent's metadata within {0:?}")]
    TimedOut(Duration),
    #[error("the metadata the peers sent is not a valid torrent: {0}")]
    Invalid(String),
}

/// Connects to `peers` (and to the magnet's trackers when the session uses trackers)
/// and returns the verified torrent once one set of peers delivered its info dictionary.
pub(crate) async fn fetch(
    ctx: Arc<TorrentContext>,
    magnet: &Magnet,
    peers: Vec<SocketAddr>,
    timeout: Duration,
) -> Result<Metainfo, MetadataError> {
    let info_hash = magnet.info_hash.0;
    let shared = Arc::new(Mutex::new(MetadataFetch::new(info_hash, MAX_METADATA)));
    let (done_tx, mut done_rx) = watch::channel(None::<Vec<u8>>);
    let (peer_tx, mut peer_rx) = mpsc::channel::<Vec<SocketAddr>>(16);
    let _ = peer_tx.try_send(peers);
    let announcer = start_announcer(&ctx, magnet, peer_tx.clone());
    let (found_tx, mut found_rx) = mpsc::unbounded_channel();
    let interest = crate::discovery::Interest {
        info_hash,
        announce: false,
        port: ctx.listen_port(),
    };
    let _discovery = ctx.discovery().subscribe(interest, found_tx);
    let deadline = tokio::time::Instant::now() + timeout;
    let mut plan = DialPlan::default();
    let mut tasks = tokio::task::JoinSet::new();
    let mut next_key = 1u64;
    let result = loop {
        while tasks.len() < MAX_CONNECTIONS {
            let Some(addr) = plan.next(crate::clock::now()) else {
                break;
            };
            let key = next_key;
            next_key += 1;
            let job = FetchConnection {
                ctx: ctx.clone(),
                info_hash,
                shared: shared.clone(),
                done: done_tx.clone(),
                key,
            };
            tasks.spawn(async move {
                let ended = match job.run(addr).await {
                    Ok(()) => Ended::Lost,
                    Err(end) => {
                        tracing::debug!(%addr, error = %end.error, how = ?end.how, "metadata connection ended");
                        end.how
                    }
                };
                job.shared.lock().peer_gone(job.key);
                (addr, ended)
            });
        }
        let retry_at = plan.poll_timeout();
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => break Err(MetadataError::TimedOut(timeout)),
            changed = done_rx.changed() => {
                if changed.is_err() {
                    continue;
                }
                if let Some(bytes) = done_rx.borrow().clone() {
                    break Metainfo::from_magnet_metadata(bytes, magnet).map_err(|e| MetadataError::Invalid(e.to_string()));
                }
            }
            Some(addrs) = async { tokio::select! {
                Some(a) = peer_rx.recv() => Some(a),
                Some(a) = found_rx.recv() => Some(a),
                else => None,
            } } => {
                for addr in addrs {
                    if addr != ctx.advertised_addr() {
                        plan.add(addr);
                    }
                }
            }
            Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                if let Ok((addr, how)) = joined {
                    plan.ended(addr, how, crate::clock::now());
                }
            }
            // With every slot taken a due retry waits for a free one (no busy loop).
            _ = sleep_until_some(retry_at), if tasks.len() < MAX_CONNECTIONS => {}
        }
    };
    tasks.abort_all();
    if let Some(a) = announcer {
        a.stop(Duration::from_secs(2)).await;
    }
    result
}

/// Sleeps until `at`, or forever when there is nothing to wait for.
async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// Why a metadata connection ended, and whether its peer may be dialled again.
struct ConnectionEnd {
    how: Ended,
    error: String,
}

impl ConnectionEnd {
    /// The peer broke the rules or can never serve: not dialled again.
    fn refused(e: impl std::fmt::Display) -> Self {
        ConnectionEnd {
            how: Ended::Refused,
            error: e.to_string(),
        }
    }

    /// Lost for reasons that may pass: dialled again later.
    fn lost(e: impl std::fmt::Display) -> Self {
        ConnectionEnd {
            how: Ended::Lost,
            error: e.to_string(),
        }
    }
}

impl From<std::io::Error> for ConnectionEnd {
    fn from(e: std::io::Error) -> Self {
        Self::lost(e)
    }
}

fn start_announcer(
    ctx: &TorrentContext,
    magnet: &Magnet,
    peers: mpsc::Sender<Vec<SocketAddr>>,
) -> Option<Announcer> {
    if !ctx.config().use_trackers || magnet.trackers.is_empty() {
        return None;
    }
    let tiers = magnet.trackers.iter().map(|t| vec![t.clone()]).collect();
    let mut cfg = AnnouncerConfig::new(
        tiers,
        magnet.info_hash.0,
        ctx.config().peer_id,
        ctx.listen_port(),
    );
    cfg.user_agent = crate::CLIENT_NAME.to_string();
    // `left` is unknown before we have the metadata; any non-zero value says "leecher".
    let (_stats_tx, stats_rx) = watch::channel(TransferStats {
        uploaded: 0,
        downloaded: 0,
        left: 1,
    });
    Some(Announcer::spawn(cfg, stats_rx, peers))
}

/// One metadata-only connection.
struct FetchConnection {
    ctx: Arc<TorrentContext>,
    info_hash: [u8; 20],
    shared: Arc<Mutex<MetadataFetch>>,
    done: watch::Sender<Option<Vec<u8>>>,
    key: u64,
}

impl FetchConnection {
    async fn run(&self, addr: SocketAddr) -> Result<(), ConnectionEnd> {
        let Connected {
            stream,
            theirs,
            cipher,
            leftover,
        } = transport::dial(&self.ctx, addr, self.info_hash)
            .await
            .map_err(ConnectionEnd::lost)?;
        if !theirs.supports_extensions() {
            return Err(ConnectionEnd::refused(
                "peer does not support the extension protocol",
            ));
        }
        let ours = handshake::ours(&self.ctx, self.info_hash);
        let cfg = ConnectionConfig {
            fast: theirs.supports_fast() && ours.supports_fast(),
            extensions: true,
            ..ConnectionConfig::default()
        };
        let mut conn = PeerConnection::new(cfg, crate::clock::now());
        conn.send_bitfield(&Bitfield::new(0));
        let mut m = std::collections::BTreeMap::new();
        m.insert("ut_metadata".to_string(), UT_METADATA_ID);
        conn.send_extension_handshake(&ExtensionHandshake {
            m,
            v: Some(crate::CLIENT_NAME.to_string()),
            p: Some(self.ctx.listen_port()),
            ..ExtensionHandshake::default()
        });
        let (mut encrypt, mut decrypt) = match cipher {
            Some(c) => (Some(c.encrypt), Some(c.decrypt)),
            None => (None, None),
        };
        let mut rbuf = BytesMut::with_capacity(64 * 1024);
        rbuf.extend_from_slice(&leftover);
        if !rbuf.is_empty() {
            conn.handle_input(&mut rbuf, crate::clock::now())
                .map_err(ConnectionEnd::refused)?;
        }
        let mut their_id = None;
        // The peer's id and size while its size disagrees with the fetch's.
        let mut waiting: Option<(u8, u64)> = None;
        let mut in_flight = 0usize;
        loop {
            while let Some(event) = conn.poll_event() {
                match event {
                    PeerEvent::ExtensionHandshake => {
                        let ext = conn.peer_extensions().cloned().unwrap_or_default();
                        let (Some(id), Some(size)) = (ext.id_of("ut_metadata"), ext.metadata_size)
                        else {
                            // It may be fetching the metadata itself: ask again later.
                            return Err(ConnectionEnd::lost("peer does not serve metadata"));
                        };
                        if self.join(size)? {
                            their_id = Some(id);
                        } else {
                            waiting = Some((id, size));
                        }
                    }
                    PeerEvent::Extended {
                        id: UT_METADATA_ID,
                        payload,
                    } => {
                        in_flight = in_flight.saturating_sub(1);
                        match MetadataMessage::decode(&payload, MAX_METADATA) {
                            Err(_) => {} // BEP 9: unknown message types are ignored
                            Ok(msg) => match msg {
                                MetadataMessage::Data {
                                    piece,
                                    total_size,
                                    data,
                                } => {
                                    let done = self
                                        .shared
                                        .lock()
                                        .on_data(self.key, piece, total_size, data);
                                    match done {
                                        Ok(Some(bytes)) => {
                                            let _ = self.done.send(Some(bytes));
                                            return Ok(());
                                        }
                                        Ok(None) => {}
                                        // Several peers supplied the bad copy and this
                                        // one may be honest: the fetch starts over, our
                                        // earlier requests are void.
                                        Err(DataError::HashMismatch { banned, .. })
                                            if !banned.contains(&self.key) =>
                                        {
                                            in_flight = 0;
                                        }
                                        Err(e) => return Err(ConnectionEnd::refused(e)),
                                    }
                                }
                                MetadataMessage::Reject { piece } => {
                                    self.shared.lock().on_reject(self.key, piece)
                                }
                                MetadataMessage::Request { .. } => {}
                            },
                        }
                    }
                    _ => {}
                }
            }
            if let Some((id, size)) = waiting {
                if self.join(size)? {
                    their_id = Some(id);
                    waiting = None;
                }
            }
            if let Some(id) = their_id {
                while in_flight < PIPELINE {
                    let Some(piece) = self
                        .shared
                        .lock()
                        .next_request(self.key, crate::clock::now())
                    else {
                        break;
                    };
                    conn.send_extended(id, &MetadataMessage::Request { piece }.encode());
                    in_flight += 1;
                }
            }
            if conn.has_output() {
                let mut out = conn.output().split();
                if let Some(e) = encrypt.as_mut() {
                    e.apply(&mut out);
                }
                transport::write_all(&*stream, &out).await?;
            }
            let deadline = conn.poll_timeout();
            tokio::select! {
                n = transport::read(&*stream, &mut rbuf) => {
                    let n = n?;
                    if n == 0 {
                        return Err(ConnectionEnd::lost("closed by peer"));
                    }
                    if let Some(d) = decrypt.as_mut() {
                        let start = rbuf.len().saturating_sub(n);
                        if let Some(fresh) = rbuf.get_mut(start..) {
                            d.apply(fresh);
                        }
                    }
                    conn.handle_input(&mut rbuf, crate::clock::now()).map_err(ConnectionEnd::refused)?;
                }
                _ = tokio::time::sleep_until(deadline.into()) => {
                    conn.handle_timeout(crate::clock::now()).map_err(ConnectionEnd::lost)?;
                }
                _ = tokio::time::sleep(SIZE_RETRY), if waiting.is_some() => {}
            }
        }
    }

    /// Registers this peer with the fetch: true when it is in, false when its size
    /// disagrees with the one in use (it may try again later), an error when it must go.
    fn join(&self, size: u64) -> Result<bool, ConnectionEnd> {
        let mut fetch = self.shared.lock();
        // A size whose peers stay silent gives way once a request timed out.
        fetch.handle_timeout(crate::clock::now());
        match fetch.add_peer(self.key, size) {
            Ok(()) => Ok(true),
            Err(AddPeerError::SizeMismatch { .. }) => Ok(false),
            Err(e @ AddPeerError::TooManyPeers(_)) => Err(ConnectionEnd::lost(e)),
            Err(e) => Err(ConnectionEnd::refused(e)),
        }
    }
}
