//! The control task of a torrent: dials peers from the address book, runs the choker,
//! drives the tracker announcer and shuts everything down cleanly. It sits above the
//! torrent's shared state (`torrent`) and the peer connections (`peer`), starting the
//! latter; neither calls back into it except through its event channel.

mod dial;
mod dial_plan;

use crate::config::AddTorrentOptions;
use crate::context::TorrentContext;
use crate::discovery::Interest;
use crate::store::Store;
use crate::torrent::{
    apply_disk_events, ControlEvent, DisconnectReason, PeerCommand, PeerLive, Torrent,
    TorrentHandle,
};
use dial::connect_more;
use shoal_announce::{Announcer, AnnouncerConfig, TransferStats};
use shoal_metainfo::Metainfo;
use shoal_swarm::{ChokeCandidate, Choker, ChokerConfig};
use shoal_wire::Bitfield;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// Unchoke slots besides the optimistic one.
const REGULAR_UNCHOKE_SLOTS: usize = 4;

/// Creates a torrent whose pieces in `have` are verified already and starts its
/// control task.
pub(crate) fn spawn_torrent(
    ctx: Arc<TorrentContext>,
    meta: Arc<Metainfo>,
    storage: Arc<Store>,
    have: &Bitfield,
    opts: &AddTorrentOptions,
) -> TorrentHandle {
    let (torrent, inbox) = Torrent::new(ctx, meta, storage, have, opts);
    let ctx = torrent.ctx();
    ctx.spawn(apply_disk_events(torrent.clone(), inbox.disk));
    ctx.spawn(control_loop(torrent.clone(), inbox.control));
    TorrentHandle::new(torrent)
}

fn transfer_stats(t: &Torrent) -> TransferStats {
    let verified = t.counters.verified_bytes.load(Ordering::Relaxed);
    TransferStats {
        uploaded: t.counters.uploaded.load(Ordering::Relaxed),
        downloaded: t.counters.downloaded.load(Ordering::Relaxed),
        left: t.meta.info.total_length.saturating_sub(verified),
    }
}

fn start_announcer(
    t: &Arc<Torrent>,
    peers_tx: mpsc::Sender<Vec<SocketAddr>>,
) -> Option<(Announcer, watch::Sender<TransferStats>)> {
    let cfg = &t.ctx().config();
    let tiers = t.meta.announce_list.clone();
    if !cfg.use_trackers || tiers.iter().all(|tier| tier.is_empty()) {
        return None;
    }
    let (stats_tx, stats_rx) = watch::channel(transfer_stats(t));
    let mut announce_cfg =
        AnnouncerConfig::new(tiers, t.info_hash, cfg.peer_id, t.ctx().listen_port());
    announce_cfg.user_agent = crate::CLIENT_NAME.to_string();
    announce_cfg.min_interval_floor = cfg.min_announce_interval;
    announce_cfg.retry_base = cfg.min_announce_interval.min(Duration::from_secs(30));
    let announcer = Announcer::spawn(announce_cfg, stats_rx, peers_tx);
    Some((announcer, stats_tx))
}

async fn control_loop(t: Arc<Torrent>, mut events: mpsc::UnboundedReceiver<ControlEvent>) {
    let mut shutdown = t.shutdown.subscribe();
    let mut pause = t.pause.subscribe();
    let mut last_recheck: Option<Instant> = None;
    loop {
        if *shutdown.borrow() {
            break;
        }
        if *pause.borrow_and_update() {
            t.status.send_modify(|s| s.paused = true);
            tokio::select! {
                _ = pause.changed() => {}
                _ = shutdown.changed() => {}
                event = events.recv() => match event {
                    // Addresses given while paused are kept for later.
                    Some(ControlEvent::Peers(addrs)) => add_peers(&t, &addrs, true),
                    Some(_) => {}
                    None => break,
                },
            }
            continue;
        }
        t.status.send_modify(|s| s.paused = false);
        match run_active(
            &t,
            &mut events,
            &mut shutdown,
            &mut pause,
            &mut last_recheck,
        )
        .await
        {
            Phase::Closed => break,
            Phase::Paused => {}
            Phase::Faulted(error) => {
                wait_out_fault(&t, error, &mut events, &mut shutdown, &mut pause).await;
            }
        }
    }
    let storage = t.store();
    let flushed = tokio::task::spawn_blocking(move || {
        let res = storage.sync_all();
        storage.close();
        res
    });
    if let Ok(Err(e)) = flushed.await {
        tracing::error!(error = %e, "flushing files failed");
    }
    t.status.send_modify(|s| s.stopped = true);
}

/// How an active phase of the control loop ended.
#[derive(Debug)]
enum Phase {
    /// Pause asked for: peers are gone, trackers told, files flushed and closed.
    Paused,
    /// A disk fault: as for a pause, then [`wait_out_fault`].
    Faulted(crate::TorrentError),
    /// Shutdown asked for (or the event channel closed).
    Closed,
}

/// How often open files are looked at for having been deleted under us.
const FILE_CHECK_INTERVAL: Duration = Duration::from_secs(5);

/// Fewest seconds between two re-checks started because data went missing, so a disk
/// that fails every read cannot keep the torrent re-checking.
const MISSING_RECHECK_GAP: Duration = Duration::from_secs(60);

/// Keeps a torrent paused by a disk fault until the retry interval has passed, the user
/// pauses or resumes it (a resume retries at once), or the session shuts down. The
/// fault is shown in the torrent's status meanwhile.
async fn wait_out_fault(
    t: &Arc<Torrent>,
    error: crate::TorrentError,
    events: &mut mpsc::UnboundedReceiver<ControlEvent>,
    shutdown: &mut watch::Receiver<bool>,
    pause: &mut watch::Receiver<bool>,
) {
    let retry = t.ctx().config().disk_retry_interval;
    tracing::error!(torrent = %t.meta.info.name, %error, retry_secs = retry.as_secs_f64(), "paused by a disk fault; verified data is kept");
    t.status.send_modify(|s| {
        s.paused = true;
        s.fault = Some(error);
    });
    pause.mark_unchanged();
    let deadline = tokio::time::Instant::now() + retry;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => break,
            _ = pause.changed() => break,
            _ = shutdown.changed() => break,
            event = events.recv() => match event {
                Some(ControlEvent::Peers(addrs)) => add_peers(t, &addrs, true),
                Some(_) => {}
                None => break,
            },
        }
    }
    // Writes that were in flight when the fault struck have failed too by now; their
    // reports must not stop the retry that starts next.
    while let Ok(event) = events.try_recv() {
        match event {
            ControlEvent::Peers(addrs) => add_peers(t, &addrs, true),
            ControlEvent::Discovered(addrs) => add_peers(t, &addrs, false),
            _ => {}
        }
    }
    t.status.send_modify(|s| s.fault = None);
}

/// Starts a re-check because data we had verified is gone from disk (unless one ran
/// less than [`MISSING_RECHECK_GAP`] ago). The re-check pauses the torrent, finds what
/// is left, and the download then fetches the rest again.
fn recheck_missing(t: &Arc<Torrent>, last_recheck: &mut Option<Instant>) {
    let now = crate::clock::now();
    if last_recheck.is_some_and(|at| now.duration_since(at) < MISSING_RECHECK_GAP) {
        return;
    }
    *last_recheck = Some(now);
    tracing::warn!(torrent = %t.meta.info.name, "data we had is missing from disk; re-checking");
    let handle = TorrentHandle::new(t.clone());
    t.ctx().spawn(async move {
        if let Err(e) = handle.recheck().await {
            tracing::warn!(error = %e, "re-check after missing data failed");
        }
    });
}

/// Runs the torrent with peers and trackers until it is paused or shut down.
async fn run_active(
    t: &Arc<Torrent>,
    events: &mut mpsc::UnboundedReceiver<ControlEvent>,
    shutdown: &mut watch::Receiver<bool>,
    pause: &mut watch::Receiver<bool>,
    last_recheck: &mut Option<Instant>,
) -> Phase {
    let (peers_tx, mut peers_rx) = mpsc::channel(16);
    let announcer = start_announcer(t, peers_tx);
    let (found_tx, mut found_rx) = mpsc::unbounded_channel();
    let _discovery = (!t.meta.info.private).then(|| {
        let interest = Interest {
            info_hash: t.info_hash,
            announce: true,
            port: t.ctx().listen_port(),
        };
        t.ctx().discovery().subscribe(interest, found_tx)
    });
    let mut choker = Choker::new(
        ChokerConfig {
            regular_slots: REGULAR_UNCHOKE_SLOTS,
            rechoke_interval: Duration::from_secs(10),
            optimistic_interval: Duration::from_secs(30),
        },
        crate::clock::now(),
        rand::random(),
    );
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut last_tick = crate::clock::now();
    let mut next_file_check = last_tick + FILE_CHECK_INTERVAL;
    let phase = loop {
        if *shutdown.borrow() {
            break Phase::Closed;
        }
        if *pause.borrow_and_update() {
            break Phase::Paused;
        }
        connect_more(t);
        tokio::select! {
            _ = tick.tick() => {
                let now = crate::clock::now();
                if t.is_complete() {
                    let secs = now.duration_since(last_tick).as_secs_f64().round() as u64;
                    t.counters.seeding_secs.fetch_add(secs, Ordering::Relaxed);
                }
                last_tick = now;
                if now >= next_file_check {
                    next_file_check = now + FILE_CHECK_INTERVAL;
                    if t.store().lost_open_files() {
                        recheck_missing(t, last_recheck);
                    }
                }
                if let Some((announcer, stats_tx)) = &announcer {
                    stats_tx.send_replace(transfer_stats(t));
                    *t.trackers.lock() = announcer.status();
                }
            }
            _ = tokio::time::sleep_until(choker.poll_timeout().into()) => rechoke(t, &mut choker),
            event = events.recv() => match event {
                Some(ControlEvent::Rechoke) | Some(ControlEvent::PeerGone) => rechoke(t, &mut choker),
                Some(ControlEvent::Completed) => {
                    tracing::info!(torrent = %t.meta.info.name, "download complete");
                    if let Some((announcer, stats_tx)) = &announcer {
                        stats_tx.send_replace(transfer_stats(t));
                        announcer.completed();
                    }
                }
                Some(ControlEvent::Peers(addrs)) => add_peers(t, &addrs, true),
                Some(ControlEvent::Discovered(addrs)) => add_peers(t, &addrs, false),
                Some(ControlEvent::DiskFault(error)) => break Phase::Faulted(error),
                Some(ControlEvent::DataMissing) => recheck_missing(t, last_recheck),
                None => break Phase::Closed,
            },
            Some(addrs) = peers_rx.recv() => add_peers(t, &addrs, false),
            Some(addrs) = found_rx.recv() => add_peers(t, &addrs, false),
            _ = shutdown.changed() => {}
            _ = pause.changed() => {}
        }
    };
    disconnect_all(t, announcer).await;
    if !matches!(phase, Phase::Closed) {
        let storage = t.store();
        let flushed = tokio::task::spawn_blocking(move || {
            let res = storage.sync_all();
            storage.release_files();
            res
        });
        if let Ok(Err(e)) = flushed.await {
            tracing::error!(error = %e, "flushing files failed");
        }
    }
    phase
}

/// Disconnects every peer (waiting briefly for them to flush and leave, and for dials
/// under way to give up) and tells the trackers `stopped`.
async fn disconnect_all(
    t: &Arc<Torrent>,
    announcer: Option<(Announcer, watch::Sender<TransferStats>)>,
) {
    {
        let st = t.state.lock();
        t.broadcast(&st, PeerCommand::Disconnect(DisconnectReason::ShuttingDown));
    }
    if let Some((announcer, stats_tx)) = announcer {
        stats_tx.send_replace(transfer_stats(t));
        announcer.stop(Duration::from_secs(3)).await;
        *t.trackers.lock() = Vec::new();
    }
    let deadline = crate::clock::now() + Duration::from_secs(2);
    loop {
        {
            let st = t.state.lock();
            if st.peers.is_empty() && st.connecting == 0 {
                break;
            }
            // A dial that completes now joins after the first broadcast: repeat it.
            t.broadcast(&st, PeerCommand::Disconnect(DisconnectReason::ShuttingDown));
        }
        if crate::clock::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn add_peers(t: &Arc<Torrent>, addrs: &[SocketAddr], persistent: bool) {
    let now = crate::clock::now();
    let mut st = t.state.lock();
    for addr in addrs {
        if *addr != t.ctx().advertised_addr() {
            st.book.add(*addr, persistent, now);
        }
    }
}

/// Runs the choker and applies its decision.
fn rechoke(t: &Arc<Torrent>, choker: &mut Choker) {
    let now = crate::clock::now();
    let seeding = t.is_complete();
    let st = t.state.lock();
    let candidates: Vec<ChokeCandidate> = st
        .peers
        .iter()
        .map(|(key, p)| ChokeCandidate {
            peer: *key,
            interested: p.live.peer_interested.load(Ordering::Relaxed),
            unchoked: !p.live.am_choking.load(Ordering::Relaxed),
            download_rate: PeerLive::get(&p.live.download_rate),
            upload_rate: PeerLive::get(&p.live.upload_rate),
            snubbed: p.live.snubbed.load(Ordering::Relaxed),
            is_seed: p.live.is_seed.load(Ordering::Relaxed),
            connected_at: p.live.connected_at,
        })
        .collect();
    let decision = choker.rechoke(now, seeding, &candidates);
    for key in decision.choke {
        if let Some(p) = st.peers.get(&key) {
            p.live.am_choking.store(true, Ordering::Relaxed);
            let _ = p.tx.send(PeerCommand::Choke);
        }
    }
    for key in decision.unchoke {
        if let Some(p) = st.peers.get(&key) {
            p.live.am_choking.store(false, Ordering::Relaxed);
            let _ = p.tx.send(PeerCommand::Unchoke);
        }
    }
}
