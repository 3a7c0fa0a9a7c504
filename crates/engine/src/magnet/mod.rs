//! Fetching a torrent's info dictionary from peers (BEP 9, ut_metadata) when all we have
//! is a magnet link. This module decides whom to ask; each connection is an ordinary
//! peer connection in its metadata role (`peer::fetch_from`, run by the same driver as
//! data connections), dialled like any other, so it follows the session's encryption
//! policy. The assembled bytes are verified against the info-hash before they become a
//! [`Metainfo`]; the connections of peers that served them are parked, and when the
//! torrent is added they go on trading its pieces instead of being closed.
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
mod status;

pub use status::FetchStatus;

use crate::context::TorrentContext;
use crate::peer::{self, Delivery, Ended, FetchLink, FetchNews, Handover, MAX_METADATA};
use crate::refusals::RefusingPeers;
use dials::DialPlan;
use parking_lot::Mutex;
use shoal_announce::{Announcer, AnnouncerConfig, TransferStats};
use shoal_ext::MetadataFetch;
use shoal_metainfo::{Magnet, Metainfo, MetainfoError};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

/// Most metadata connections open at once.
const MAX_CONNECTIONS: usize = 16;

/// How often the status is refreshed while nothing else happens (pieces arrive on
/// the connections' tasks).
const STATUS_EVERY: Duration = Duration::from_millis(500);

/// Fetching metadata failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// No set of peers delivered the whole info dictionary in time.
    #[error("no peer sent the torrent's metadata within {0:?}")]
    TimedOut(Duration),
    /// The verified bytes do not parse as a torrent's info dictionary.
    #[error("the metadata the peers sent is not a valid torrent: {0}")]
    Invalid(#[source] MetainfoError),
}

/// Connects to `peers` (and to the magnet's trackers when the session uses trackers)
/// and returns the verified torrent once one set of peers delivered its info dictionary.
/// The connections of the peers that served it are parked in `handover` for the
/// torrent to take over when it is added. `status` is kept up to date meanwhile.
pub(crate) async fn fetch(
    ctx: Arc<TorrentContext>,
    handover: &Handover,
    magnet: &Magnet,
    peers: Vec<SocketAddr>,
    timeout: Duration,
    status: watch::Sender<FetchStatus>,
) -> Result<Metainfo, MetadataError> {
    let info_hash = magnet.info_hash.0;
    let shared = Arc::new(Mutex::new(MetadataFetch::new(info_hash, MAX_METADATA)));
    let (news_tx, news_rx) = watch::channel(FetchNews::Running);
    let (complete_tx, mut complete_rx) = mpsc::unbounded_channel();
    let (ended_tx, mut ended_rx) = mpsc::unbounded_channel::<(SocketAddr, Ended)>();
    let (peer_tx, mut peer_rx) = mpsc::channel::<Vec<SocketAddr>>(16);
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
    // Known from the start, so the first status counts them.
    for addr in peers {
        if addr != ctx.advertised_addr() {
            plan.add(addr);
        }
    }
    // The other ends of the live connections' tickets.
    let mut deliveries: Vec<Delivery> = Vec::new();
    let mut live = 0usize;
    let connected = Arc::new(AtomicUsize::new(0));
    let refusing = Arc::new(Mutex::new(RefusingPeers::default()));
    let mut next_key = 1u64;
    let result = loop {
        while live < MAX_CONNECTIONS {
            let Some(addr) = plan.next(crate::clock::now()) else {
                break;
            };
            let (delivery, ticket) = oneshot::channel();
            deliveries.retain(|d| !d.is_closed());
            deliveries.push(delivery);
            let link = FetchLink {
                fetch: shared.clone(),
                key: next_key,
                complete: complete_tx.clone(),
                news: news_rx.clone(),
                ticket,
                connected: connected.clone(),
                refusing: refusing.clone(),
            };
            next_key += 1;
            live += 1;
            let ended_tx = ended_tx.clone();
            let ctx2 = ctx.clone();
            ctx.spawn(async move {
                let ended = peer::fetch_from(ctx2, addr, info_hash, link).await;
                let _ = ended_tx.send((addr, ended));
            });
        }
        let now_connected = connected.load(Ordering::Relaxed);
        let current = {
            let fetch = shared.lock();
            FetchStatus {
                known: plan.known(),
                connecting: live.saturating_sub(now_connected),
                connected: now_connected,
                serving: fetch.peer_count(),
                pieces: fetch.metadata_size().map(|_| fetch.progress()),
                refused: refusing.lock().counts(),
            }
        };
        status.send_if_modified(|s| {
            let changed = *s != current;
            *s = current;
            changed
        });
        let retry_at = plan.poll_timeout();
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => break Err(MetadataError::TimedOut(timeout)),
            Some(bytes) = complete_rx.recv() => {
                break Metainfo::from_magnet_metadata(bytes, magnet).map_err(MetadataError::Invalid);
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
            Some((addr, how)) = ended_rx.recv() => {
                live = live.saturating_sub(1);
                plan.ended(addr, how, crate::clock::now());
            }
            // With every slot taken a due retry waits for a free one (no busy loop).
            _ = sleep_until_some(retry_at), if live < MAX_CONNECTIONS => {}
            _ = tokio::time::sleep(STATUS_EVERY) => {}
        }
    };
    if result.is_ok() {
        // Filed before the caller can add the torrent, so none of them is missed.
        handover.park(info_hash, deliveries);
        news_tx.send_replace(FetchNews::Complete);
    }
    // Dropping the news ends every connection that is not parked.
    drop(news_tx);
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
    cfg.source = ctx.source().for_announces();
    // `left` is unknown before we have the metadata; any non-zero value says "leecher".
    let (_stats_tx, stats_rx) = watch::channel(TransferStats {
        uploaded: 0,
        downloaded: 0,
        left: 1,
    });
    Some(Announcer::spawn(cfg, stats_rx, peers))
}
