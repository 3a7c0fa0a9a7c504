//! What a torrent (and a magnet fetch, and a connection being set up) may use of its
//! session: the settings, the shared limits, the disk workers, the discovery services
//! and the task tracker. Deliberately not the session's torrent map: a torrent cannot
//! reach other torrents, and nothing below the session holds the session itself, so
//! dropping the session's registry frees every torrent (no reference cycle).

use crate::config::SessionConfig;
use crate::connection_count::ConnectionCount;
use crate::discovery::Discovery;
use crate::disk::DiskPool;
use crate::net::SourceBinding;
use crate::ratelimit::RateLimiter;
use parking_lot::Mutex;
use shoal_storage::FilePool;
use std::collections::HashSet;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio_util::task::TaskTracker;

/// Most addresses remembered as needing a plaintext handshake.
const MAX_PLAINTEXT_PEERS: usize = 4096;

/// The session services a torrent uses. Built once per session; every field is fixed
/// for the session's life (the limits inside change, the services do not).
pub(crate) struct TorrentContext {
    config: SessionConfig,
    local_addr: SocketAddr,
    /// Where every socket of the session leaves from.
    source: SourceBinding,
    upload_limiter: RateLimiter,
    download_limiter: RateLimiter,
    connections: ConnectionCount,
    disk: DiskPool,
    file_pool: Arc<FilePool>,
    discovery: Discovery,
    /// Peers that failed an encrypted handshake and then took a plain one: dialled in
    /// plaintext straight away from then on (policy `Prefer` only).
    plaintext_peers: Mutex<HashSet<SocketAddr>>,
    /// Every task the session's parts start, so shutdown can wait for all of them.
    tasks: TaskTracker,
}

impl TorrentContext {
    pub(crate) fn new(
        config: SessionConfig,
        local_addr: SocketAddr,
        disk: DiskPool,
        discovery: Discovery,
        tasks: TaskTracker,
    ) -> Self {
        TorrentContext {
            local_addr,
            source: SourceBinding::new(config.listen_addr.ip(), config.interface.clone()),
            upload_limiter: RateLimiter::new(config.upload_rate_limit),
            download_limiter: RateLimiter::new(config.download_rate_limit),
            connections: ConnectionCount::new(config.max_connections),
            file_pool: FilePool::new(config.max_open_files),
            disk,
            discovery,
            plaintext_peers: Mutex::new(HashSet::new()),
            tasks,
            config,
        }
    }

    pub(crate) fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Where the session's sockets leave from (bound address and device).
    pub(crate) fn source(&self) -> &SourceBinding {
        &self.source
    }

    /// Our BitTorrent listening port (told to trackers, the DHT and peers).
    pub(crate) fn listen_port(&self) -> u16 {
        self.local_addr.port()
    }

    /// The address other peers reach us at (used to avoid dialling ourselves).
    pub(crate) fn advertised_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The session-wide upload bucket.
    pub(crate) fn upload_limiter(&self) -> &RateLimiter {
        &self.upload_limiter
    }

    /// The session-wide download bucket.
    pub(crate) fn download_limiter(&self) -> &RateLimiter {
        &self.download_limiter
    }

    /// Peer connections (live and being dialled) against `max_connections`.
    pub(crate) fn connections(&self) -> &ConnectionCount {
        &self.connections
    }

    pub(crate) fn disk(&self) -> &DiskPool {
        &self.disk
    }

    /// Open file handles of every torrent, under `max_open_files`.
    pub(crate) fn file_pool(&self) -> &Arc<FilePool> {
        &self.file_pool
    }

    pub(crate) fn discovery(&self) -> &Discovery {
        &self.discovery
    }

    /// Whether `addr` is known not to speak MSE.
    pub(crate) fn needs_plaintext(&self, addr: SocketAddr) -> bool {
        self.plaintext_peers.lock().contains(&addr)
    }

    /// Notes that `addr` only took a plaintext handshake.
    pub(crate) fn remember_plaintext(&self, addr: SocketAddr) {
        let mut set = self.plaintext_peers.lock();
        if set.len() < MAX_PLAINTEXT_PEERS {
            set.insert(addr);
        }
    }

    /// Spawns a task the session waits for at shutdown.
    pub(crate) fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.tasks.spawn(task)
    }

    /// The tracker of the session's tasks (closed and awaited at shutdown).
    pub(crate) fn tasks(&self) -> &TaskTracker {
        &self.tasks
    }
}
