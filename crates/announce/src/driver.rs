//! The announce task: BEP 12 multitracker rounds, re-announce scheduling and `stopped`.
//!
//! Standard BEP 12 behaviour: tiers are tried in order and, within a tier, trackers in
//! their (once shuffled) order; the first tracker that answers ends the round and moves to
//! the front of its tier. Only that one tracker gets the announce. A tracker that failed
//! is skipped until its back-off ends. When no tracker answers, the next round runs when
//! the first back-off ends.
//!
//! Events: each tracker's first announce carries `started`; after `completed()` the next
//! announce carries `completed` — unless it goes to a tracker that never had `started`, which
//! then gets `started` (with `left` = 0) instead. At the end, `stopped` goes to every tracker
//! that acknowledged an announce.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use shoal_tracker::{AnnounceEvent, AnnounceRequest, AnnounceResponse};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::tracker::{build_tiers, Tracker};
use crate::transport::Transports;
use crate::{AnnouncerConfig, TrackerStatus, TransferStats};

/// Requests from the [`Announcer`](crate::Announcer) handle.
#[derive(Debug)]
pub(crate) enum Command {
    Completed,
    AnnounceNow,
    Stop(Duration),
}

/// Fallback wait when nothing else is scheduled (no usable tracker at all).
const IDLE: Duration = Duration::from_secs(24 * 3600);

pub(crate) struct Driver {
    pub(crate) core: Core,
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
}

/// Everything a round touches (kept apart from the command channel so both can be
/// borrowed while a round is in progress).
pub(crate) struct Core {
    cfg: AnnouncerConfig,
    tiers: Vec<Vec<Tracker>>,
    transports: Transports,
    stats: watch::Receiver<TransferStats>,
    peers: mpsc::Sender<Vec<std::net::SocketAddr>>,
    status: Arc<Mutex<Vec<TrackerStatus>>>,
    key: u32,
    /// When the next round runs.
    next_announce: Instant,
    /// Earliest time a requested (`announce_now`) round may run: min interval.
    earliest: Instant,
    /// URL of the tracker that answered the last round.
    current: Option<String>,
    /// `completed()` was called and no tracker has acknowledged it yet.
    completed_pending: bool,
    /// `completed()` was called at some point (it is honoured once).
    completed_requested: bool,
}

/// What the handle's commands asked for while a round was running.
#[derive(Default)]
struct Pending {
    completed: bool,
    announce_now: bool,
}

impl Core {
    pub(crate) fn new(
        cfg: AnnouncerConfig,
        transports: Transports,
        stats: watch::Receiver<TransferStats>,
        peers: mpsc::Sender<Vec<std::net::SocketAddr>>,
        status: Arc<Mutex<Vec<TrackerStatus>>>,
    ) -> Self {
        let now = Instant::now();
        let core = Core {
            tiers: build_tiers(&cfg.tiers),
            cfg,
            transports,
            stats,
            peers,
            status,
            key: rand::random(),
            next_announce: now,
            earliest: now,
            current: None,
            completed_pending: false,
            completed_requested: false,
        };
        core.publish_status();
        core
    }

    fn publish_status(&self) {
        let list: Vec<TrackerStatus> = self
            .tiers
            .iter()
            .flatten()
            .map(|t| {
                let next =
                    (self.current.as_deref() == Some(t.url.as_str())).then_some(self.next_announce);
                t.status(next)
            })
            .collect();
        *self.status.lock().unwrap_or_else(|e| e.into_inner()) = list;
    }

    fn request(&self, tracker: &Tracker, event: AnnounceEvent) -> AnnounceRequest {
        let s = *self.stats.borrow();
        AnnounceRequest {
            info_hash: self.cfg.info_hash,
            peer_id: self.cfg.peer_id,
            port: self.cfg.port,
            uploaded: s.uploaded,
            downloaded: s.downloaded,
            left: s.left,
            event,
            numwant: Some(if event == AnnounceEvent::Stopped {
                0
            } else {
                self.cfg.numwant
            }),
            key: self.key,
            tracker_id: tracker.tracker_id.clone(),
        }
    }

    fn apply(&mut self, p: Pending) {
        if p.completed && !self.completed_requested {
            self.completed_requested = true;
            self.completed_pending = true;
            // `completed` goes out at once, min interval or not.
            self.next_announce = Instant::now();
        }
        if p.announce_now {
            let soon = self.earliest.max(Instant::now());
            self.next_announce = self.next_announce.min(soon);
        }
        self.publish_status();
    }

    /// One BEP 12 round. Returns the answer that ended it, if any tracker answered.
    async fn round(&mut self) -> Option<AnnounceResponse> {
        let now = Instant::now();
        for tier in 0..self.tiers.len() {
            for pos in 0..self.tiers[tier].len() {
                if !self.tiers[tier][pos].ready(now) {
                    continue;
                }
                let t = &self.tiers[tier][pos];
                let event = if !t.started {
                    AnnounceEvent::Started
                } else if self.completed_pending {
                    AnnounceEvent::Completed
                } else {
                    AnnounceEvent::None
                };
                let req = self.request(t, event);
                let (url, endpoint) = (t.url.clone(), t.endpoint.clone());
                tracing::debug!(%url, ?event, "announcing");
                let result = self.transports.announce(&url, &endpoint, req).await;
                let t = &mut self.tiers[tier][pos];
                match result {
                    Ok(resp) => {
                        t.started = true;
                        t.failures = 0;
                        t.retry_at = None;
                        t.last_result = Some(Ok(resp.peers.len()));
                        t.warning.clone_from(&resp.warning);
                        if resp.tracker_id.is_some() {
                            t.tracker_id.clone_from(&resp.tracker_id);
                        }
                        t.seeders = resp.complete.or(t.seeders);
                        t.leechers = resp.incomplete.or(t.leechers);
                        // `completed` was delivered, or a `started` (with the current `left`)
                        // told a new tracker the same.
                        if event != AnnounceEvent::None {
                            self.completed_pending = false;
                        }
                        tracing::debug!(%url, peers = resp.peers.len(), "announce ok");
                        self.tiers[tier][..=pos].rotate_right(1);
                        self.current = Some(url);
                        return Some(resp);
                    }
                    Err(e) => {
                        tracing::debug!(%url, "announce failed: {e}");
                        t.failed(
                            e.to_string(),
                            Instant::now(),
                            self.cfg.retry_base,
                            self.cfg.retry_max,
                        );
                        self.publish_status();
                    }
                }
            }
        }
        None
    }

    /// Schedules the next round after `round` returned `outcome`, and hands out peers.
    fn finish_round(&mut self, outcome: Option<AnnounceResponse>) {
        let now = Instant::now();
        match outcome {
            Some(resp) => {
                let floor = self.cfg.min_interval_floor;
                let interval = resp.interval.clamp(floor, self.cfg.max_interval.max(floor));
                let min = resp
                    .min_interval
                    .unwrap_or(Duration::ZERO)
                    .max(floor)
                    .min(interval);
                self.next_announce = now.checked_add(interval).unwrap_or(now + IDLE);
                self.earliest = now.checked_add(min).unwrap_or(self.next_announce);
                if !resp.peers.is_empty() {
                    if let Err(e) = self.peers.try_send(resp.peers) {
                        tracing::debug!("peer list not delivered: {e}");
                    }
                }
            }
            None => {
                self.current = None;
                let retry = self
                    .tiers
                    .iter()
                    .flatten()
                    .filter(|t| t.usable())
                    .filter_map(|t| t.retry_at)
                    .min();
                self.next_announce = retry.unwrap_or(now + IDLE).max(now);
            }
        }
        self.publish_status();
    }

    /// Sends `stopped` to every tracker that acknowledged an announce, concurrently,
    /// giving up after `timeout`.
    async fn stop(&mut self, timeout: Duration) {
        let mut jobs = JoinSet::new();
        for t in self.tiers.iter().flatten().filter(|t| t.started) {
            let req = self.request(t, AnnounceEvent::Stopped);
            let transports = self.transports.clone();
            let (url, endpoint) = (t.url.clone(), t.endpoint.clone());
            jobs.spawn(async move {
                let r = transports.announce(&url, &endpoint, req).await;
                if let Err(e) = &r {
                    tracing::debug!(%url, "stopped announce failed: {e}");
                }
            });
        }
        let all = async { while jobs.join_next().await.is_some() {} };
        if tokio::time::timeout(timeout, all).await.is_err() {
            tracing::debug!("stopped announces timed out");
        }
    }
}

impl Driver {
    pub(crate) async fn run(mut self) {
        loop {
            tokio::select! {
                cmd = self.commands.recv() => {
                    let mut pending = Pending::default();
                    match cmd {
                        None => return,
                        Some(Command::Stop(t)) => return self.core.stop(t).await,
                        Some(Command::Completed) => pending.completed = true,
                        Some(Command::AnnounceNow) => pending.announce_now = true,
                    }
                    self.core.apply(pending);
                }
                () = tokio::time::sleep_until(self.core.next_announce) => {
                    let mut pending = Pending::default();
                    let mut stop = None;
                    let outcome = {
                        let round = self.core.round();
                        tokio::pin!(round);
                        loop {
                            tokio::select! {
                                r = &mut round => break Some(r),
                                cmd = self.commands.recv() => match cmd {
                                    None => return,
                                    Some(Command::Stop(t)) => { stop = Some(t); break None; }
                                    Some(Command::Completed) => pending.completed = true,
                                    Some(Command::AnnounceNow) => pending.announce_now = true,
                                },
                            }
                        }
                    };
                    if let Some(t) = stop {
                        return self.core.stop(t).await;
                    }
                    if let Some(outcome) = outcome {
                        self.core.finish_round(outcome);
                    }
                    self.core.apply(pending);
                }
            }
        }
    }
}
