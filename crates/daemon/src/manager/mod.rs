//! The torrent manager: owns the engine [`Session`], the registry of torrents (running,
//! being checked, waiting for metadata, failed) and their persisted state; applies the
//! queue and the seeding goals; saves resume data. The API calls its methods with the
//! manager's own parameter types ([`spec`]) and sends its reports ([`info`]); the
//! manager knows nothing of HTTP.
//!
//! Locking: the registry is behind one `parking_lot::Mutex` that is never held across
//! an `.await` or disk I/O (state files are written after the lock is released, from
//! a snapshot taken under it).

mod add;
mod control;
#[cfg(test)]
mod engine_add_gate;
mod entry;
pub mod info;
mod load;
mod persist;
pub mod queue;
pub mod spec;
mod views;

use crate::config::DaemonConfig;
use crate::error::ManagerError;
use crate::state::{hex, StateDir};
pub(crate) use entry::{Entry, Phase};
use parking_lot::Mutex;
use shoal_engine::{DhtSettings, Session, SessionConfig, TorrentHandle};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often queue and goals are re-evaluated.
const TICK: Duration = Duration::from_secs(1);
/// Resume data of changed torrents is saved every this many ticks.
const SAVE_EVERY_TICKS: u64 = 3;

/// Session-wide settings that the API may change while running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuntimeLimits {
    /// Session upload limit in bytes per second (`None`: unlimited).
    pub upload_limit: Option<u64>,
    /// Session download limit in bytes per second (`None`: unlimited).
    pub download_limit: Option<u64>,
    /// Peer connections of all torrents together.
    pub max_connections: usize,
    /// Peer connections per torrent, unless the torrent sets its own.
    pub max_peers_per_torrent: usize,
    /// Torrents that may download at once.
    pub max_active_downloads: usize,
    /// Torrents that may seed at once.
    pub max_active_seeds: usize,
}

impl RuntimeLimits {
    /// These limits as a config layer (what `daemon/limits.json` holds; 0 = unlimited).
    pub fn as_layer(&self) -> crate::config::ConfigLayer {
        crate::config::ConfigLayer {
            upload_limit: Some(self.upload_limit.unwrap_or(0)),
            download_limit: Some(self.download_limit.unwrap_or(0)),
            max_connections: Some(self.max_connections),
            max_peers_per_torrent: Some(self.max_peers_per_torrent),
            max_active_downloads: Some(self.max_active_downloads),
            max_active_seeds: Some(self.max_active_seeds),
            ..Default::default()
        }
    }
}

#[derive(Default)]
pub(crate) struct Registry {
    pub entries: BTreeMap<[u8; 20], Entry>,
    pub next_order: u64,
    /// Torrents removed while their add was in flight: remove them (with data when
    /// true) once the engine has them. An entry stays until that engine removal is
    /// done, and a new add of the same torrent is refused meanwhile (its engine add
    /// would race with the stale one).
    pub removed_while_checking: HashMap<[u8; 20], bool>,
    /// Torrents being removed from the engine right now (same refusal).
    pub removing: HashSet<[u8; 20]>,
}

impl Registry {
    /// The entry of a torrent, or the error that there is none.
    pub(crate) fn get(&self, ih: &[u8; 20]) -> Result<&Entry, ManagerError> {
        self.entries.get(ih).ok_or_else(|| unknown(ih))
    }

    pub(crate) fn get_mut(&mut self, ih: &[u8; 20]) -> Result<&mut Entry, ManagerError> {
        self.entries.get_mut(ih).ok_or_else(|| unknown(ih))
    }
}

/// The error for a torrent that is not (or no longer) in the registry.
fn unknown(ih: &[u8; 20]) -> ManagerError {
    ManagerError::UnknownTorrent { id: hex(ih) }
}

/// The daemon's torrents. Shared as `Arc<Manager>`.
pub struct Manager {
    session: Arc<Session>,
    state: StateDir,
    config: DaemonConfig,
    limits: Mutex<RuntimeLimits>,
    registry: Mutex<Registry>,
    api_addr: Mutex<Option<SocketAddr>>,
    shutdown_tx: watch::Sender<bool>,
    tasks: Mutex<Vec<tokio::task::AbortHandle>>,
    /// The previous run ended cleanly: resume bitfields may be trusted.
    clean_start: bool,
    #[cfg(test)]
    engine_add_gate: engine_add_gate::EngineAddGate,
}

impl Manager {
    /// Starts the engine session and the manager's background work, then loads the
    /// torrents of the state directory (in the background: the API can serve at once).
    pub async fn start(
        config: DaemonConfig,
        state: StateDir,
        dht_state_file: Option<std::path::PathBuf>,
    ) -> Result<Arc<Manager>, crate::DaemonError> {
        let dht = config.dht.then(|| DhtSettings {
            bootstrap: if config.dht_bootstrap.is_empty() {
                shoal_dht_net::DEFAULT_BOOTSTRAP
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
            } else {
                config.dht_bootstrap.clone()
            },
            state_file: dht_state_file,
        });
        let session = Session::new(SessionConfig {
            listen_addr: SocketAddr::new(config.listen_bind, config.listen_port),
            interface: config.interface.clone(),
            max_peers_per_torrent: config.max_peers_per_torrent,
            upload_rate_limit: config.upload_limit,
            download_rate_limit: config.download_limit,
            max_connections: config.max_connections,
            use_trackers: config.trackers,
            pex: config.pex,
            lsd: config.lsd,
            dht,
            encryption: config.encryption,
            ..SessionConfig::default()
        })
        .await?;
        let clean_start = state.take_clean_marker()?;
        let limits = RuntimeLimits {
            upload_limit: config.upload_limit,
            download_limit: config.download_limit,
            max_connections: config.max_connections,
            max_peers_per_torrent: config.max_peers_per_torrent,
            max_active_downloads: config.max_active_downloads,
            max_active_seeds: config.max_active_seeds,
        };
        let (shutdown_tx, _) = watch::channel(false);
        let manager = Arc::new(Manager {
            session: Arc::new(session),
            state,
            config,
            limits: Mutex::new(limits),
            registry: Mutex::new(Registry::default()),
            api_addr: Mutex::new(None),
            shutdown_tx,
            tasks: Mutex::new(Vec::new()),
            clean_start,
            #[cfg(test)]
            engine_add_gate: Default::default(),
        });
        manager.load_all()?;
        let ticker = tokio::spawn(manager.clone().tick_loop());
        manager.tasks.lock().push(ticker.abort_handle());
        Ok(manager)
    }

    /// The configuration the daemon started with.
    pub fn config(&self) -> &DaemonConfig {
        &self.config
    }

    /// The state directory.
    pub fn state_dir(&self) -> &StateDir {
        &self.state
    }

    /// The address peers connect to.
    pub fn listen_addr(&self) -> SocketAddr {
        self.session.local_addr()
    }

    pub(crate) fn set_api_addr(&self, addr: SocketAddr) {
        *self.api_addr.lock() = Some(addr);
    }

    /// Where the API listens, once it does.
    pub fn api_addr(&self) -> Option<SocketAddr> {
        *self.api_addr.lock()
    }

    /// The session's limits now.
    pub fn limits(&self) -> RuntimeLimits {
        *self.limits.lock()
    }

    /// Becomes true when the daemon shuts down (long requests end early).
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown_tx.subscribe()
    }

    /// Whether a torrent with this id exists; `id` may be a unique hex prefix (>= 6).
    pub fn resolve(&self, id: &str) -> Result<[u8; 20], ManagerError> {
        let id = id.to_ascii_lowercase();
        if id.len() < 6 || id.len() > 40 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ManagerError::UnknownTorrent { id });
        }
        let reg = self.registry.lock();
        let mut found = reg
            .entries
            .keys()
            .filter(|ih| hex(&ih[..]).starts_with(&id));
        match (found.next(), found.next()) {
            (Some(ih), None) => Ok(*ih),
            (Some(_), Some(_)) => Err(ManagerError::AmbiguousId { prefix: id }),
            (None, _) => Err(ManagerError::UnknownTorrent { id }),
        }
    }

    /// The running engine torrent, or an error saying why there is none.
    pub fn handle(&self, ih: &[u8; 20]) -> Result<TorrentHandle, ManagerError> {
        let reg = self.registry.lock();
        reg.get(ih)?.running_or_err().cloned()
    }

    fn spawn_task(&self, fut: impl std::future::Future<Output = ()> + Send + 'static) {
        let task = tokio::spawn(fut);
        let mut tasks = self.tasks.lock();
        tasks.retain(|t| !t.is_finished());
        tasks.push(task.abort_handle());
    }

    /// Runs the queue: starts what may run, pauses (as "queued") what may not.
    pub(crate) fn schedule(&self) {
        let limits = self.limits();
        let mut reg = self.registry.lock();
        let mut candidates = Vec::new();
        for (ih, e) in &reg.entries {
            let complete = match &e.phase {
                Phase::Running(h) if h.stats().error.is_none() => h.is_complete(),
                // Still being added: it holds its place in the queue, so a torrent
                // added after it cannot start (and download) in the meantime.
                Phase::Checking => e.was_complete(),
                _ => continue,
            };
            if !e.settings.paused {
                candidates.push(queue::Candidate {
                    id: *ih,
                    order: e.settings.queue_order,
                    complete,
                });
            }
        }
        let run: HashSet<[u8; 20]> = queue::plan(
            &mut candidates,
            limits.max_active_downloads,
            limits.max_active_seeds,
        )
        .into_iter()
        .collect();
        let waiting: HashSet<[u8; 20]> = candidates
            .iter()
            .map(|c| c.id)
            .filter(|id| !run.contains(id))
            .collect();
        for (ih, e) in reg.entries.iter_mut() {
            let Some(h) = e.running() else { continue };
            if run.contains(ih) {
                if h.is_paused() {
                    h.resume();
                }
            } else if !h.is_paused() {
                h.pause();
            }
            e.queued = waiting.contains(ih);
        }
    }

    /// Pauses seeding torrents that reached their ratio or seeding-time goal.
    fn apply_goals(&self) {
        let mut changed = Vec::new();
        {
            let mut reg = self.registry.lock();
            for (ih, e) in reg.entries.iter_mut() {
                let Some(h) = e.running().cloned() else {
                    continue;
                };
                if e.settings.paused || e.settings.goal_reached || !h.is_complete() {
                    continue;
                }
                let s = h.stats();
                let ratio = views::ratio(s.uploaded, s.downloaded, s.total_length);
                let seeded = e.carried_seeding_secs + s.seeding_secs;
                let by_ratio = e.settings.seed_ratio.is_some_and(|r| ratio >= r);
                let by_time = e.settings.seed_time_secs.is_some_and(|t| seeded >= t);
                if by_ratio || by_time {
                    tracing::info!(id = %hex(ih), ratio, seeded, "seeding goal reached; pausing");
                    e.settings.paused = true;
                    e.settings.goal_reached = true;
                    h.pause();
                    changed.push((*ih, e.settings.clone()));
                }
            }
        }
        for (ih, settings) in changed {
            if let Err(e) = self.state.torrent_dir(&ih).save_settings(&settings) {
                tracing::warn!("cannot save settings: {e}");
            }
        }
    }

    async fn tick_loop(self: Arc<Self>) {
        let mut interval = tokio::time::interval(TICK);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut n: u64 = 0;
        loop {
            interval.tick().await;
            n += 1;
            self.apply_goals();
            self.schedule();
            if n.is_multiple_of(SAVE_EVERY_TICKS) {
                self.save_changed_resume(false).await;
            }
        }
    }

    /// Tells long requests (event and file streams) to end.
    pub fn begin_shutdown(&self) {
        self.shutdown_tx.send_replace(true);
    }

    /// Stops everything: background tasks, torrents (files flushed), saves every
    /// torrent's resume data, marks the shutdown clean, stops the session.
    pub async fn shutdown(self: Arc<Self>) {
        self.shutdown_tx.send_replace(true);
        for task in self.tasks.lock().drain(..) {
            task.abort();
        }
        let handles: Vec<TorrentHandle> = {
            let reg = self.registry.lock();
            reg.entries
                .values()
                .filter_map(|e| e.running().cloned())
                .collect()
        };
        for h in &handles {
            h.stop();
        }
        for h in &handles {
            let _ = tokio::time::timeout(Duration::from_secs(10), h.wait_stopped()).await;
        }
        let saved_all = self.save_changed_resume(true).await;
        if saved_all {
            if let Err(e) = self.state.mark_clean() {
                tracing::warn!("cannot record the clean shutdown: {e}");
            }
        }
        self.state.remove_api_info();
        let session = self.session.clone();
        drop(self);
        // Requests and streams still in flight hold the manager for a moment.
        for _ in 0..40 {
            if Arc::strong_count(&session) == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        match Arc::try_unwrap(session) {
            Ok(session) => session.shutdown().await,
            Err(_) => tracing::debug!("session still shared at shutdown; torrents already stopped"),
        }
    }
}
