//! A session: the listening socket, the torrents, and the services they share.
//!
//! Ownership runs one way: the [`Session`] owns the registry of torrents and the
//! [`TorrentContext`] (settings, limits, disk workers, discovery, task tracker); each
//! torrent holds the context, never the session or the registry. Shutdown stops the
//! torrents, closes the listener, waits for every task the session started and joins
//! the disk threads, so nothing the session started outlives it.

mod incoming;
mod limits;
mod registry;

pub use limits::SessionStats;

use crate::config::{AddTorrentOptions, SessionConfig};
use crate::context::TorrentContext;
use crate::discovery::Discovery;
use crate::disk::DiskPool;
use crate::error::StoreError;
use crate::error::{AddTorrentError, RemoveError, SessionError};
use crate::net::{self, Network};
use crate::peer::Handover;
use crate::pending_handshakes::PendingHandshakes;
use crate::store::Store;
use crate::torrent::TorrentHandle;
use incoming::Listener;
use registry::Registry;
use shoal_metainfo::Metainfo;
use shoal_wire::Bitfield;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long shutdown waits for each torrent to stop (trackers told, files flushed).
const TORRENT_STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// How long shutdown then waits for the session's remaining tasks (connections
/// closing, announcers saying goodbye); they are bounded by their own timeouts.
const TASKS_STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A running BitTorrent session. Dropping it does not stop torrents; call
/// [`Session::shutdown`].
pub struct Session {
    ctx: Arc<TorrentContext>,
    registry: Arc<Registry>,
    /// Cancelled at shutdown: the accept loop and handshakes under way end.
    closed: CancellationToken,
    /// Connections of completed metadata fetches waiting for their torrent.
    handover: Handover,
}

impl Session {
    /// Binds the listening socket and starts accepting peers.
    pub async fn new(config: SessionConfig) -> Result<Session, SessionError> {
        let listen_error = |source| SessionError::Listen {
            addr: config.listen_addr,
            source,
        };
        if matches!(config.network, Network::Memory(_))
            && (config.dht.is_some() || config.lsd || config.use_trackers)
        {
            return Err(SessionError::UdpOnMemoryNetwork);
        }
        let source = net::SourceBinding::new(config.listen_addr.ip(), config.interface.clone());
        if let Some(name) = source.device() {
            net::check_device(name).map_err(|source| SessionError::Interface {
                name: name.to_owned(),
                source,
            })?;
        }
        let socket = net::Listener::bind(&config.network, config.listen_addr, &source)
            .map_err(listen_error)?;
        let local_addr = socket.local_addr().map_err(listen_error)?;
        let tasks = TaskTracker::new();
        let disk_threads = config
            .disk_threads
            .unwrap_or(config.hash_threads.clamp(1, 8));
        let disk = DiskPool::new(disk_threads).map_err(SessionError::Threads)?;
        let discovery = Discovery::start(
            local_addr,
            &source,
            config.lsd,
            config.dht.as_ref(),
            tasks.clone(),
        )
        .await?;
        let ctx = Arc::new(TorrentContext::new(
            config, local_addr, disk, discovery, tasks,
        ));
        let registry = Arc::new(Registry::default());
        let closed = CancellationToken::new();
        let listener = Arc::new(Listener {
            ctx: ctx.clone(),
            registry: registry.clone(),
            pending: PendingHandshakes::default(),
            closed: closed.clone(),
        });
        ctx.spawn(incoming::accept_loop(listener, socket));
        Ok(Session {
            ctx,
            registry,
            closed,
            handover: Handover::default(),
        })
    }

    /// The address the session listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.ctx.advertised_addr()
    }

    /// The peer id this session sends in its handshakes.
    pub fn peer_id(&self) -> [u8; 20] {
        self.ctx.config().peer_id
    }

    /// The UDP address of the session's DHT node, when the DHT is on.
    pub fn dht_addr(&self) -> Option<SocketAddr> {
        self.ctx.discovery().dht().map(|n| n.local_addr())
    }

    /// Routing-table and lookup counters of the DHT node, when the DHT is on.
    pub async fn dht_stats(&self) -> Option<shoal_dht::DhtStats> {
        self.ctx.discovery().dht()?.stats().await
    }

    /// Adds a torrent whose files live in `opts.download_dir`: existing data is
    /// re-checked first (in parallel), then the torrent starts downloading or seeding.
    /// `progress` is called with the number of pieces checked so far. With
    /// `opts.content` private, the torrent must be a single file (the ciphertext stream)
    /// and nothing is re-checked: a sender has everything, a receiver nothing yet.
    pub async fn add_torrent(
        &self,
        meta: Metainfo,
        opts: AddTorrentOptions,
        progress: impl Fn(u32) + Send + Sync + 'static,
    ) -> Result<TorrentHandle, AddTorrentError> {
        // Held until the torrent is in the session, so two adds of one torrent cannot
        // both pass this check while the first one checks its data.
        let _reserved = self
            .registry
            .reserve(meta.info_hash.0)
            .ok_or_else(|| AddTorrentError::Duplicate(meta.info_hash.to_hex()))?;
        std::fs::create_dir_all(&opts.download_dir).map_err(|source| {
            AddTorrentError::CreateDir {
                path: opts.download_dir.clone(),
                source,
            }
        })?;
        let storage = Arc::new(Store::open(&meta, &opts, self.ctx.file_pool())?);
        let threads = self.ctx.config().hash_threads.max(1);
        let check_storage = storage.clone();
        let num_pieces = meta.info.num_pieces() as usize;
        let resume = match &opts.resume {
            Some(r) => Some(
                Bitfield::from_payload(&r.pieces, num_pieces)
                    .map_err(AddTorrentError::BadResume)?,
            ),
            None => None,
        };
        let trust_only = opts.resume.as_ref().is_some_and(|r| r.trust_only);
        let have = if opts.skip_check {
            Bitfield::full(num_pieces)
        } else if let (Some(known), true) = (&resume, trust_only) {
            known.clone()
        } else {
            let check = move || match resume {
                Some(known) => check_storage.check_missing(threads, &known, &progress),
                None => check_storage.check_existing(threads, &progress),
            };
            tokio::task::spawn_blocking(check)
                .await
                .map_err(AddTorrentError::Check)?
                .map_err(|e| match e {
                    StoreError::Files(e) => AddTorrentError::Storage(e),
                    StoreError::Private(e) => AddTorrentError::Private(e),
                })?
        };
        let handle =
            crate::control::spawn_torrent(self.ctx.clone(), Arc::new(meta), storage, &have, &opts);
        self.registry.insert(handle.torrent().clone());
        let adopted = self.handover.adopt(handle.torrent());
        if adopted > 0 {
            tracing::debug!(adopted, "metadata connections go on with the torrent");
        }
        Ok(handle)
    }

    /// Fetches the info dictionary of a magnet link from peers (BEP 9): the magnet's
    /// `x.pe` addresses are up to the caller to resolve into `peers`; its trackers are
    /// asked too when the session uses trackers. Gives up after `timeout`.
    pub async fn fetch_metadata(
        &self,
        magnet: &shoal_metainfo::Magnet,
        peers: Vec<SocketAddr>,
        timeout: Duration,
    ) -> Result<Metainfo, crate::MetadataError> {
        let (status, _) = tokio::sync::watch::channel(crate::FetchStatus::default());
        self.fetch_metadata_with_status(magnet, peers, timeout, status)
            .await
    }

    /// [`Session::fetch_metadata`], keeping `status` up to date while it runs: whom it
    /// is connecting to and what it waits for, for a progress line.
    pub async fn fetch_metadata_with_status(
        &self,
        magnet: &shoal_metainfo::Magnet,
        peers: Vec<SocketAddr>,
        timeout: Duration,
        status: tokio::sync::watch::Sender<crate::FetchStatus>,
    ) -> Result<Metainfo, crate::MetadataError> {
        let handover = &self.handover;
        crate::magnet::fetch(self.ctx.clone(), handover, magnet, peers, timeout, status).await
    }

    /// Stops every torrent (trackers told, files flushed) and the listener, then waits
    /// for every task the session started and for its disk threads to end.
    pub async fn shutdown(self) {
        let torrents = self.registry.handles();
        for t in &torrents {
            t.stop();
        }
        for t in &torrents {
            if tokio::time::timeout(TORRENT_STOP_TIMEOUT, t.wait_stopped())
                .await
                .is_err()
            {
                tracing::warn!(torrent = %t.metainfo().info.name, "torrent slow to stop");
            }
        }
        self.closed.cancel();
        self.handover.clear();
        self.ctx.discovery().shutdown().await;
        self.registry.clear();
        drop(torrents);
        let tasks = self.ctx.tasks();
        tasks.close();
        if tokio::time::timeout(TASKS_STOP_TIMEOUT, tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(left = tasks.len(), "session tasks slow to end");
        }
        let ctx = self.ctx.clone();
        let _ = tokio::task::spawn_blocking(move || ctx.disk().close()).await;
    }
}

impl Session {
    /// Every torrent of the session.
    pub fn torrents(&self) -> Vec<TorrentHandle> {
        self.registry.handles()
    }
    /// The torrent with this info-hash, if the session has it.
    pub fn torrent(&self, info_hash: &[u8; 20]) -> Option<TorrentHandle> {
        self.registry.get(info_hash).map(TorrentHandle::new)
    }

    /// Stops the torrent (trackers told `stopped`, files flushed and closed) and forgets
    /// it; with `delete_data` its files, and the directories it created that are then
    /// empty, are deleted.
    pub async fn remove_torrent(
        &self,
        info_hash: &[u8; 20],
        delete_data: bool,
    ) -> Result<(), RemoveError> {
        let handle = self.torrent(info_hash).ok_or(RemoveError::NotFound)?;
        handle.stop();
        let stopped = tokio::time::timeout(Duration::from_secs(15), handle.wait_stopped()).await;
        self.registry.remove(info_hash);
        if stopped.is_err() {
            tracing::warn!(torrent = %handle.metainfo().info.name, "torrent slow to stop");
        }
        if delete_data {
            let store = handle.torrent().store();
            let root = handle.download_dir();
            tokio::task::spawn_blocking(move || crate::torrent::delete_data(&store, &root))
                .await
                .map_err(|e| RemoveError::Delete(std::io::Error::other(e.to_string())))?
                .map_err(RemoveError::Delete)?;
        }
        Ok(())
    }
}
