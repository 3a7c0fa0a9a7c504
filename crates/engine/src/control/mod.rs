//! The control task of a torrent: dials peers from the address book, runs the choker,
//! drives the tracker announcer and shuts everything down cleanly. It sits above the
//! torrent's shared state (`torrent`) and the peer connections (`peer`), starting the
//! latter; neither calls back into it except through its event channel.
//!
//! The loop here is a driver: what phase the torrent is in (active, paused, waiting
//! out a disk fault, closed) is decided by the sans-IO [`phase::PhaseMachine`], and
//! which peers to dial by `dial_plan.rs`; this file feeds them what the channels say
//! and carries out what they decide.

mod dial;
mod dial_plan;
mod phase;

use crate::config::AddTorrentOptions;
use crate::context::TorrentContext;
use crate::discovery::Interest;
use crate::store::Store;
use crate::torrent::{
    apply_disk_events, ControlEvent, DisconnectReason, PeerCommand, PeerLive, Torrent,
    TorrentHandle,
};
use dial::connect_more;
use phase::{Asks, Phase, PhaseMachine, Stop};
use shoal_announce::{Announcer, AnnouncerConfig, TransferStats};
use shoal_metainfo::Metainfo;
use shoal_swarm::{ChokeCandidate, Choker, ChokerConfig};
use shoal_wire::Bitfield;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
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
    let verified = t.counters().verified_bytes.load(Ordering::Relaxed);
    TransferStats {
        uploaded: t.counters().uploaded.load(Ordering::Relaxed),
        downloaded: t.counters().downloaded.load(Ordering::Relaxed),
        left: t.meta().info.total_length.saturating_sub(verified),
    }
}

fn start_announcer(
    t: &Arc<Torrent>,
    peers_tx: mpsc::Sender<Vec<SocketAddr>>,
) -> Option<(Announcer, watch::Sender<TransferStats>)> {
    let cfg = &t.ctx().config();
    let tiers = t.meta().announce_list.clone();
    if !cfg.use_trackers || tiers.iter().all(|tier| tier.is_empty()) {
        return None;
    }
    let (stats_tx, stats_rx) = watch::channel(transfer_stats(t));
    let mut announce_cfg =
        AnnouncerConfig::new(tiers, t.info_hash(), cfg.peer_id, t.ctx().listen_port());
    announce_cfg.user_agent = crate::CLIENT_NAME.to_string();
    announce_cfg.min_interval_floor = cfg.min_announce_interval;
    announce_cfg.retry_base = cfg.min_announce_interval.min(Duration::from_secs(30));
    announce_cfg.source = t.ctx().source().for_announces();
    let announcer = Announcer::spawn(announce_cfg, stats_rx, peers_tx);
    Some((announcer, stats_tx))
}

async fn control_loop(t: Arc<Torrent>, events: mpsc::UnboundedReceiver<ControlEvent>) {
    let mut inputs = Inputs {
        events,
        shutdown: t.shutdown_signal(),
        pause: t.pause_signal(),
    };
    let mut phases = PhaseMachine::new(t.ctx().config().disk_retry_interval);
    // The fault that stopped the last active phase, shown while it is waited out.
    let mut fault = None;
    loop {
        match phases.phase() {
            Phase::Closed => break,
            Phase::Paused => {
                phases.handle_asks(inputs.asks());
                if phases.phase() == Phase::Paused {
                    t.set_paused(true);
                    wait_paused(&t, &mut phases, &mut inputs).await;
                }
            }
            Phase::Active => {
                t.set_paused(false);
                fault = run_active(&t, &mut phases, &mut inputs).await;
            }
            Phase::Faulted { .. } => {
                let error = fault.take();
                wait_out_fault(&t, &mut phases, error, &mut inputs).await;
            }
            // `run_active` finishes every stop it starts; nothing runs to tear down.
            Phase::Stopping(_) => phases.handle_stopped(crate::clock::now()),
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
    t.set_stopped();
}

/// What the control loop listens to: the torrent's events and its shutdown and pause
/// channels.
struct Inputs {
    events: mpsc::UnboundedReceiver<ControlEvent>,
    shutdown: watch::Receiver<bool>,
    pause: watch::Receiver<bool>,
}

impl Inputs {
    /// What is asked now, for the phase machine's decision points. Marks the pause
    /// state seen, so only a later write wakes `pause.changed()`.
    fn asks(&mut self) -> Asks {
        Asks {
            shutdown: *self.shutdown.borrow(),
            pause: *self.pause.borrow_and_update(),
        }
    }
}

/// How often open files are looked at for having been deleted under us.
const FILE_CHECK_INTERVAL: Duration = Duration::from_secs(5);

/// Waits while paused for anything that may change what is asked (the next
/// decision point reads it). Addresses given meanwhile are kept for later.
async fn wait_paused(t: &Arc<Torrent>, phases: &mut PhaseMachine, inputs: &mut Inputs) {
    tokio::select! {
        _ = inputs.pause.changed() => {}
        _ = inputs.shutdown.changed() => {}
        event = inputs.events.recv() => match event {
            Some(ControlEvent::Peers(addrs)) => add_peers(t, &addrs, true),
            Some(_) => {}
            None => phases.handle_shutdown(),
        },
    }
}

/// Keeps a torrent paused by a disk fault until the machine's retry deadline has
/// passed, the user pauses or resumes it (a resume retries at once), or the session
/// shuts down. The fault is shown in the torrent's status meanwhile.
async fn wait_out_fault(
    t: &Arc<Torrent>,
    phases: &mut PhaseMachine,
    error: Option<crate::TorrentError>,
    inputs: &mut Inputs,
) {
    let retry = t.ctx().config().disk_retry_interval;
    if let Some(error) = &error {
        tracing::error!(torrent = %t.meta().info.name, %error, retry_secs = retry.as_secs_f64(), "paused by a disk fault; verified data is kept");
    }
    t.set_fault(error);
    inputs.pause.mark_unchanged();
    while let Some(deadline) = phases.poll_timeout() {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline.into()) => {
                phases.handle_timeout(crate::clock::now());
            }
            _ = inputs.pause.changed() => phases.handle_pause_signal(),
            _ = inputs.shutdown.changed() => phases.handle_shutdown(),
            event = inputs.events.recv() => match event {
                Some(ControlEvent::Peers(addrs)) => add_peers(t, &addrs, true),
                Some(_) => {}
                None => phases.handle_shutdown(),
            },
        }
    }
    // Writes that were in flight when the fault struck have failed too by now; their
    // reports must not stop the retry that starts next.
    while let Ok(event) = inputs.events.try_recv() {
        match event {
            ControlEvent::Peers(addrs) => add_peers(t, &addrs, true),
            ControlEvent::Discovered(addrs) => add_peers(t, &addrs, false),
            _ => {}
        }
    }
    t.set_fault(None);
}

/// Starts a re-check because data we had verified is gone from disk (the machine
/// decided one is due). The re-check pauses the torrent, finds what is left, and the
/// download then fetches the rest again.
fn recheck_missing(t: &Arc<Torrent>) {
    tracing::warn!(torrent = %t.meta().info.name, "data we had is missing from disk; re-checking");
    let handle = TorrentHandle::new(t.clone());
    t.ctx().spawn(async move {
        if let Err(e) = handle.recheck().await {
            tracing::warn!(error = %e, "re-check after missing data failed");
        }
    });
}

/// Runs the torrent with peers and trackers until the machine leaves the active phase,
/// then tears it down and tells the machine; returns the disk fault that ended it, if
/// one did.
async fn run_active(
    t: &Arc<Torrent>,
    phases: &mut PhaseMachine,
    inputs: &mut Inputs,
) -> Option<crate::TorrentError> {
    let (peers_tx, mut peers_rx) = mpsc::channel(16);
    let announcer = start_announcer(t, peers_tx);
    let (found_tx, mut found_rx) = mpsc::unbounded_channel();
    let _discovery = (!t.meta().info.private).then(|| {
        let interest = Interest {
            info_hash: t.info_hash(),
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
    let mut fault = None;
    loop {
        phases.handle_asks(inputs.asks());
        if phases.phase() != Phase::Active {
            break;
        }
        connect_more(t);
        tokio::select! {
            _ = tick.tick() => {
                let now = crate::clock::now();
                if t.is_complete() {
                    let secs = now.duration_since(last_tick).as_secs_f64().round() as u64;
                    t.counters().seeding_secs.fetch_add(secs, Ordering::Relaxed);
                }
                last_tick = now;
                if now >= next_file_check {
                    next_file_check = now + FILE_CHECK_INTERVAL;
                    if t.store().lost_open_files() && phases.handle_data_missing(now) {
                        recheck_missing(t);
                    }
                }
                if let Some((announcer, stats_tx)) = &announcer {
                    stats_tx.send_replace(transfer_stats(t));
                    t.set_trackers(announcer.status());
                }
            }
            _ = tokio::time::sleep_until(choker.poll_timeout().into()) => rechoke(t, &mut choker),
            event = inputs.events.recv() => match event {
                Some(ControlEvent::Rechoke) | Some(ControlEvent::PeerGone) => rechoke(t, &mut choker),
                Some(ControlEvent::Completed) => {
                    tracing::info!(torrent = %t.meta().info.name, "download complete");
                    if let Some((announcer, stats_tx)) = &announcer {
                        stats_tx.send_replace(transfer_stats(t));
                        announcer.completed();
                    }
                }
                Some(ControlEvent::Peers(addrs)) => add_peers(t, &addrs, true),
                Some(ControlEvent::Discovered(addrs)) => add_peers(t, &addrs, false),
                Some(ControlEvent::DiskFault(error)) => {
                    phases.handle_disk_fault();
                    fault = Some(error);
                }
                Some(ControlEvent::DataMissing) => {
                    if phases.handle_data_missing(crate::clock::now()) {
                        recheck_missing(t);
                    }
                }
                None => phases.handle_shutdown(),
            },
            Some(addrs) = peers_rx.recv() => add_peers(t, &addrs, false),
            Some(addrs) = found_rx.recv() => add_peers(t, &addrs, false),
            _ = inputs.shutdown.changed() => {}
            _ = inputs.pause.changed() => {}
        }
        // A fault or a closed channel ends the phase at once, before what is asked is
        // read again.
        if phases.phase() != Phase::Active {
            break;
        }
    }
    disconnect_all(t, announcer).await;
    if phases.phase() != Phase::Stopping(Stop::Close) {
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
    phases.handle_stopped(crate::clock::now());
    fault
}

/// Disconnects every peer (waiting briefly for them to flush and leave, and for dials
/// under way to give up) and tells the trackers `stopped`.
async fn disconnect_all(
    t: &Arc<Torrent>,
    announcer: Option<(Announcer, watch::Sender<TransferStats>)>,
) {
    {
        let st = t.swarm();
        t.broadcast(&st, PeerCommand::Disconnect(DisconnectReason::ShuttingDown));
    }
    if let Some((announcer, stats_tx)) = announcer {
        stats_tx.send_replace(transfer_stats(t));
        announcer.stop(Duration::from_secs(3)).await;
        t.set_trackers(Vec::new());
    }
    let deadline = crate::clock::now() + Duration::from_secs(2);
    loop {
        {
            let st = t.swarm();
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
    let mut st = t.swarm();
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
    let st = t.swarm();
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
