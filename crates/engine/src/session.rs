//! A session: the listening socket, the torrents, and what they share (peer id, limits).

use crate::config::{AddTorrentOptions, Content, SessionConfig};
use crate::discovery::Discovery;
use crate::disk::DiskPool;
use crate::error::{AddTorrentError, RemoveError, SessionError};
use crate::handshake;
use crate::pending_handshakes::PendingHandshakes;
use crate::ratelimit::RateLimiter;
use crate::store::{Store, StoreError};
use crate::torrent::{spawn_torrent, Torrent, TorrentHandle};
use crate::transport;
use parking_lot::Mutex;
use shoal_metainfo::Metainfo;
use shoal_private::PrivateStore;
use shoal_storage::{FileSpec, Layout, Storage, StorageOptions};
use shoal_wire::Bitfield;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};

/// Most addresses remembered as needing a plaintext handshake.
const MAX_PLAINTEXT_PEERS: usize = 4096;

/// What every torrent of a session shares.
pub(crate) struct SessionShared {
    pub config: SessionConfig,
    pub listen_port: u16,
    pub local_addr: SocketAddr,
    pub upload_limiter: RateLimiter,
    pub download_limiter: RateLimiter,
    /// Peer connections (live and being dialled) against `max_connections`.
    pub connections: crate::session_limits::ConnectionCount,
    pub disk: DiskPool,
    /// Open file handles of every torrent, under `max_open_files`.
    pub file_pool: Arc<shoal_storage::FilePool>,
    /// Incoming connections still in their handshake.
    pending: PendingHandshakes,
    pub discovery: Discovery,
    torrents: Mutex<HashMap<[u8; 20], Arc<Torrent>>>,
    /// Torrents whose add is under way (checked, not yet in `torrents`).
    adding: Mutex<HashSet<[u8; 20]>>,
    /// Peers that failed an encrypted handshake and then took a plain one: dialled in
    /// plaintext straight away from then on (policy `Prefer` only).
    plaintext_peers: Mutex<HashSet<SocketAddr>>,
}

impl SessionShared {
    /// The address other peers reach us at (used to avoid dialling ourselves).
    pub fn advertised_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The info-hashes of every torrent in the session (the keys an incoming MSE
    /// handshake may name).
    pub fn info_hashes(&self) -> Vec<[u8; 20]> {
        self.torrents.lock().keys().copied().collect()
    }

    /// Whether `addr` is known not to speak MSE.
    pub fn needs_plaintext(&self, addr: SocketAddr) -> bool {
        self.plaintext_peers.lock().contains(&addr)
    }

    /// Notes that `addr` only took a plaintext handshake.
    pub fn remember_plaintext(&self, addr: SocketAddr) {
        let mut set = self.plaintext_peers.lock();
        if set.len() < MAX_PLAINTEXT_PEERS {
            set.insert(addr);
        }
    }
}

/// A running BitTorrent session. Dropping it does not stop torrents; call
/// [`Session::shutdown`].
pub struct Session {
    shared: Arc<SessionShared>,
    accept_task: tokio::task::JoinHandle<()>,
}

impl Session {
    /// Binds the listening socket and starts accepting peers.
    pub async fn new(config: SessionConfig) -> Result<Session, SessionError> {
        let listener = TcpListener::bind(config.listen_addr)
            .await
            .map_err(|source| SessionError::Listen {
                addr: config.listen_addr,
                source,
            })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| SessionError::Listen {
                addr: config.listen_addr,
                source,
            })?;
        let disk = DiskPool::new(
            config.hash_threads.clamp(1, 8),
            tokio::runtime::Handle::current(),
        )
        .map_err(SessionError::Threads)?;
        let discovery = Discovery::start(local_addr, config.lsd, config.dht.as_ref()).await?;
        let shared = Arc::new(SessionShared {
            disk,
            discovery,
            listen_port: local_addr.port(),
            local_addr,
            upload_limiter: RateLimiter::new(config.upload_rate_limit),
            download_limiter: RateLimiter::new(config.download_rate_limit),
            connections: crate::session_limits::ConnectionCount::new(config.max_connections),
            file_pool: shoal_storage::FilePool::new(config.max_open_files),
            pending: PendingHandshakes::default(),
            config,
            torrents: Mutex::new(HashMap::new()),
            adding: Mutex::new(HashSet::new()),
            plaintext_peers: Mutex::new(HashSet::new()),
        });
        let accept_task = tokio::spawn(accept_loop(shared.clone(), listener));
        Ok(Session {
            shared,
            accept_task,
        })
    }

    pub(crate) fn shared(&self) -> &Arc<SessionShared> {
        &self.shared
    }

    /// The address the session listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    pub fn peer_id(&self) -> [u8; 20] {
        self.shared.config.peer_id
    }

    /// The UDP address of the session's DHT node, when the DHT is on.
    pub fn dht_addr(&self) -> Option<SocketAddr> {
        self.shared.discovery.dht().map(|n| n.local_addr())
    }

    /// Routing-table and lookup counters of the DHT node, when the DHT is on.
    pub async fn dht_stats(&self) -> Option<shoal_dht::DhtStats> {
        self.shared.discovery.dht()?.stats().await
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
        let info_hash = meta.info_hash.0;
        // Held until the torrent is in the session, so two adds of one torrent cannot
        // both pass this check while the first one checks its data.
        let _reserved = AddReservation::take(&self.shared, info_hash)
            .ok_or_else(|| AddTorrentError::Duplicate(meta.info_hash.to_hex()))?;
        std::fs::create_dir_all(&opts.download_dir).map_err(|source| {
            AddTorrentError::CreateDir {
                path: opts.download_dir.clone(),
                source,
            }
        })?;
        let storage = Arc::new(make_store(&meta, &opts, &self.shared.file_pool)?);
        let threads = self.shared.config.hash_threads.max(1);
        let check_storage = storage.clone();
        let num_pieces = meta.info.num_pieces() as usize;
        let resume = match &opts.resume {
            Some(r) => Some(
                Bitfield::from_payload(&r.pieces, num_pieces)
                    .map_err(|e| AddTorrentError::BadResume(e.to_string()))?,
            ),
            None => None,
        };
        let trust_only = opts.resume.as_ref().is_some_and(|r| r.trust_only);
        let have = if opts.skip_check {
            Bitfield::full(num_pieces)
        } else if let (Some(known), true) = (&resume, trust_only) {
            known.clone()
        } else if let Some(known) = resume {
            tokio::task::spawn_blocking(move || {
                check_storage.check_missing(threads, &known, &progress)
            })
            .await
            .map_err(|e| AddTorrentError::Check(e.to_string()))?
            .map_err(|e| match e {
                StoreError::Files(e) => AddTorrentError::Storage(e),
                StoreError::Private(e) => AddTorrentError::Private(e),
            })?
        } else {
            tokio::task::spawn_blocking(move || check_storage.check_existing(threads, &progress))
                .await
                .map_err(|e| AddTorrentError::Check(e.to_string()))?
                .map_err(|e| match e {
                    StoreError::Files(e) => AddTorrentError::Storage(e),
                    StoreError::Private(e) => AddTorrentError::Private(e),
                })?
        };
        let handle = spawn_torrent(self.shared.clone(), Arc::new(meta), storage, &have, &opts);
        self.shared
            .torrents
            .lock()
            .insert(info_hash, handle.torrent.clone());
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
        crate::magnet::fetch(self.shared.clone(), magnet, peers, timeout).await
    }

    /// Stops every torrent (trackers told, files flushed) and the listener.
    pub async fn shutdown(self) {
        let torrents: Vec<TorrentHandle> = self
            .shared
            .torrents
            .lock()
            .values()
            .map(|t| TorrentHandle { torrent: t.clone() })
            .collect();
        for t in &torrents {
            t.stop();
        }
        for t in &torrents {
            let _ = tokio::time::timeout(Duration::from_secs(10), t.wait_stopped()).await;
        }
        self.accept_task.abort();
        self.shared.discovery.shutdown().await;
    }
}

/// The store `opts.content` asks for over `meta`'s pieces.
pub(crate) fn make_store(
    meta: &Metainfo,
    opts: &AddTorrentOptions,
    pool: &Arc<shoal_storage::FilePool>,
) -> Result<Store, AddTorrentError> {
    let info = &meta.info;
    let single_file = !info.multi_file && info.files.len() == 1;
    match &opts.content {
        Content::Files => {
            let layout = Layout {
                piece_length: info.piece_length,
                total_length: info.total_length,
                files: info
                    .files
                    .iter()
                    .map(|f| FileSpec {
                        path: f.path.clone(),
                        length: f.length,
                        pad: f.pad,
                    })
                    .collect(),
            };
            let mut options = StorageOptions::default();
            options.pool = Some(pool.clone());
            let storage =
                Storage::with_options(&opts.download_dir, layout, info.pieces.clone(), options)?;
            Ok(Store::Files(storage))
        }
        Content::PrivateSend(source) => {
            if !single_file {
                return Err(AddTorrentError::PrivateNeedsSingleFile);
            }
            if source.layout().stream_len() != info.total_length {
                return Err(AddTorrentError::PrivateLengthMismatch);
            }
            let store =
                PrivateStore::sender(source.clone(), info.piece_length, info.pieces.clone())?;
            Ok(Store::Private(store))
        }
        Content::PrivateReceive(key) => {
            if !single_file {
                return Err(AddTorrentError::PrivateNeedsSingleFile);
            }
            let store = PrivateStore::receiver(
                &opts.download_dir,
                info.total_length,
                info.piece_length,
                info.pieces.clone(),
                key.clone(),
            )?;
            Ok(Store::Private(store))
        }
    }
}

async fn accept_loop(shared: Arc<SessionShared>, listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, addr)) => {
                let (id, evicted) = shared.pending.admit();
                tokio::spawn(incoming(shared.clone(), stream, addr, id, evicted));
            }
            Err(e) => {
                // Usually EMFILE: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn incoming(
    shared: Arc<SessionShared>,
    stream: TcpStream,
    addr: SocketAddr,
    pending_id: u64,
    evicted: tokio::sync::oneshot::Receiver<()>,
) {
    let _ = stream.set_nodelay(true);
    let accepted = {
        let _slot = shared.pending.slot(pending_id);
        tokio::select! {
            accepted = transport::accept(&shared, stream) => accepted,
            _ = evicted => {
                tracing::debug!(%addr, "handshake dropped for a newer connection (too many under way)");
                return;
            }
        }
    };
    let mut conn = match accepted {
        Ok(conn) => conn,
        Err(e) => {
            e.log(addr, "incoming handshake failed");
            return;
        }
    };
    let Some(torrent) = shared.torrents.lock().get(&conn.theirs.info_hash).cloned() else {
        tracing::debug!(%addr, "incoming connection for an unknown torrent");
        return;
    };
    if torrent.is_shutting_down() || torrent.is_paused() {
        return;
    }
    {
        let st = torrent.state.lock();
        let grace = shared.config.peer_eviction_grace;
        if st.smartban.is_banned(addr.ip())
            || !st.has_room_for_newcomer(torrent.max_peers(), grace, Instant::now())
        {
            return;
        }
    }
    let Some(_slot) = shared.connections.try_reserve() else {
        tracing::debug!(%addr, "connection limit reached: incoming peer refused");
        return;
    };
    let ours = handshake::ours(&shared, torrent.info_hash);
    if conn.send(&ours.encode()).await.is_err() {
        return;
    }
    crate::peer::run(torrent.clone(), conn, addr, false).await;
    let _ = torrent
        .control_tx
        .send(crate::torrent::ControlEvent::PeerGone);
}

impl Session {
    /// Every torrent of the session.
    pub fn torrents(&self) -> Vec<TorrentHandle> {
        self.shared
            .torrents
            .lock()
            .values()
            .map(|t| TorrentHandle { torrent: t.clone() })
            .collect()
    }
    /// The torrent with this info-hash, if the session has it.
    pub fn torrent(&self, info_hash: &[u8; 20]) -> Option<TorrentHandle> {
        let torrent = self.shared.torrents.lock().get(info_hash)?.clone();
        Some(TorrentHandle { torrent })
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
        self.shared.torrents.lock().remove(info_hash);
        if stopped.is_err() {
            tracing::warn!(torrent = %handle.torrent.meta.info.name, "torrent slow to stop");
        }
        if delete_data {
            let store = handle.torrent.store();
            let root = handle.download_dir();
            tokio::task::spawn_blocking(move || crate::torrent::delete_data(&store, &root))
                .await
                .map_err(|e| RemoveError::Delete(std::io::Error::other(e.to_string())))?
                .map_err(RemoveError::Delete)?;
        }
        Ok(())
    }
}

/// A torrent's place in the session while its add is under way (released on drop).
struct AddReservation<'a> {
    shared: &'a SessionShared,
    info_hash: [u8; 20],
}

impl<'a> AddReservation<'a> {
    /// `None` when the torrent is in the session or being added already.
    fn take(shared: &'a SessionShared, info_hash: [u8; 20]) -> Option<Self> {
        let torrents = shared.torrents.lock();
        if torrents.contains_key(&info_hash) || !shared.adding.lock().insert(info_hash) {
            return None;
        }
        drop(torrents);
        Some(AddReservation { shared, info_hash })
    }
}

impl Drop for AddReservation<'_> {
    fn drop(&mut self) {
        self.shared.adding.lock().remove(&self.info_hash);
    }
}
