//! The state of one torrent shared by its control task and its peer tasks.
//!
//! Invariants (see ARCHITECTURE.md):
//! - `state` is a short-held `parking_lot::Mutex`: never held across `.await`, disk I/O or
//!   hashing.
//! - A piece is hashed only once every accepted block of it has been written to disk:
//!   `pieces` ([`PieceTracker`]) counts writes between `Picker::on_block` and the disk
//!   pool's report, and the report of the last write of a complete piece asks the pool
//!   for its hash check.
//! - `peers` holds exactly the live connections that completed the handshake; each
//!   entry's key is released from the picker when its task ends.

use super::book::PeerBook;
use super::pieces::PieceTracker;
use crate::context::TorrentContext;
use crate::disk::{DiskEvent, TorrentDisk};
use crate::store::Store;
use crate::verifier::PieceVerifier;
use parking_lot::{Mutex, RwLock};
use shoal_metainfo::Metainfo;
use shoal_swarm::{PeerKey, Picker, SmartBan};
use shoal_wire::BlockRef;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, watch};

/// What the control task or a verification job asks of a peer task.
#[derive(Debug, Clone)]
pub(crate) enum PeerCommand {
    /// We verified this piece: tell the peer.
    Have(u32),
    Choke,
    Unchoke,
    /// Another peer delivered this block first (endgame).
    Cancel(BlockRef),
    /// Blocks became available again (a piece failed): try to request more.
    Wake,
    Disconnect(super::DisconnectReason),
}

/// Counters a peer task publishes for the choker and for statistics, lock-free.
#[derive(Debug)]
pub(crate) struct PeerLive {
    pub download_rate: AtomicU64,
    pub upload_rate: AtomicU64,
    pub downloaded: AtomicU64,
    pub uploaded: AtomicU64,
    pub peer_interested: AtomicBool,
    pub am_choking: AtomicBool,
    pub am_interested: AtomicBool,
    pub peer_choking: AtomicBool,
    pub snubbed: AtomicBool,
    pub is_seed: AtomicBool,
    /// Told to leave to make room for a newcomer (no longer counts against the cap).
    pub evicted: AtomicBool,
    pub connected_at: Instant,
    pub client: Mutex<Option<String>>,
}

impl PeerLive {
    pub(crate) fn new(now: Instant) -> Self {
        PeerLive {
            download_rate: AtomicU64::new(0),
            upload_rate: AtomicU64::new(0),
            downloaded: AtomicU64::new(0),
            uploaded: AtomicU64::new(0),
            peer_interested: AtomicBool::new(false),
            am_choking: AtomicBool::new(true),
            am_interested: AtomicBool::new(false),
            peer_choking: AtomicBool::new(true),
            snubbed: AtomicBool::new(false),
            is_seed: AtomicBool::new(false),
            evicted: AtomicBool::new(false),
            connected_at: now,
            client: Mutex::new(None),
        }
    }

    pub(crate) fn get(v: &AtomicU64) -> u64 {
        v.load(Ordering::Relaxed)
    }
}

/// A live connection as seen from the torrent.
#[derive(Debug)]
pub(crate) struct PeerEntry {
    pub addr: SocketAddr,
    pub peer_id: [u8; 20],
    pub outgoing: bool,
    /// The connection is RC4-encrypted (MSE selected RC4).
    pub encrypted: bool,
    /// Where the peer accepts connections: the dialled address for outgoing
    /// connections, the IP plus the extension handshake's `p` for incoming ones.
    pub listen_addr: Option<SocketAddr>,
    pub tx: mpsc::UnboundedSender<PeerCommand>,
    pub live: Arc<PeerLive>,
}

/// Mutable torrent state behind the mutex.
pub(crate) struct SwarmState {
    pub picker: Picker,
    pub peers: HashMap<PeerKey, PeerEntry>,
    pub next_key: PeerKey,
    pub book: PeerBook,
    /// Outgoing connection attempts under way.
    pub connecting: usize,
    /// Progress of pieces between block acceptance and their hash check.
    pub pieces: PieceTracker,
    pub smartban: SmartBan,
    /// IP of every peer key that may still be named by the picker as a block sender.
    pub key_ips: HashMap<PeerKey, IpAddr>,
    /// Peer ids seen holding every piece (at most [`MAX_SEEDS_SEEN`]).
    pub seeds_seen: HashSet<[u8; 20]>,
    /// What decides the picker's wanted set and priority list (see `priority.rs`).
    pub wishes: super::priority::Wishes,
}

/// Most distinct complete peers remembered for statistics.
pub(crate) const MAX_SEEDS_SEEN: usize = 100_000;

/// Whether the torrent finished, stopped or failed.
#[derive(Debug, Clone, Default)]
pub(crate) struct Status {
    pub complete: bool,
    pub error: Option<crate::TorrentError>,
    pub stopped: bool,
    /// Peers are off and trackers were told `stopped` (see [`Torrent::pause`]).
    pub paused: bool,
    /// A re-check is hashing the data.
    pub checking: bool,
    /// A local fault (disk full, read-only directory) paused the torrent; it is retried
    /// after [`crate::SessionConfig::disk_retry_interval`]. Verified pieces are kept.
    pub fault: Option<crate::TorrentError>,
}

/// Byte counters for the whole torrent (payload only).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub downloaded: AtomicU64,
    pub uploaded: AtomicU64,
    pub wasted: AtomicU64,
    pub verified_bytes: AtomicU64,
    /// Seconds spent complete and not paused.
    pub seeding_secs: AtomicU64,
}

/// Everything one torrent shares between its tasks.
pub(crate) struct Torrent {
    pub info_hash: [u8; 20],
    pub meta: Arc<Metainfo>,
    /// Where the pieces live; replaced when the data is moved (see [`Torrent::store`]).
    pub storage: RwLock<Arc<Store>>,
    pub download_dir: RwLock<PathBuf>,
    /// Asked-for pause state; the control loop applies it and reports it in `status`.
    pub pause: watch::Sender<bool>,
    /// Bumped after every verified piece (streaming readers wait on it).
    pub verified_tick: watch::Sender<u64>,
    /// The announcer's view of each tracker, refreshed every second while running.
    pub trackers: Mutex<Vec<shoal_announce::TrackerStatus>>,
    /// Rate and peer limits of this torrent.
    pub limiter: super::limits::TorrentLimiter,
    /// When the torrent was added (seconds since the Unix epoch).
    pub added_unix: u64,
    /// Answers peers' ut_metadata requests with our info dictionary (BEP 9).
    pub metadata: shoal_ext::MetadataServer,
    /// What the torrent uses of its session (never the session itself).
    pub(crate) ctx: Arc<TorrentContext>,
    pub state: Mutex<SwarmState>,
    /// How pieces are verified (handed to the disk pool with each job).
    pub(crate) verifier: Arc<PieceVerifier>,
    /// Where the disk pool reports this torrent's writes and checks.
    pub(crate) disk_events: mpsc::UnboundedSender<DiskEvent>,
    pub control_tx: mpsc::UnboundedSender<ControlEvent>,
    pub status: watch::Sender<Status>,
    pub shutdown: watch::Sender<bool>,
    pub counters: Counters,
}

/// Messages to the torrent's control task.
#[derive(Debug)]
pub(crate) enum ControlEvent {
    /// A peer became interested or left: re-run the choker now.
    Rechoke,
    /// A piece was verified and it completed the torrent.
    Completed,
    /// A peer connection ended; a slot is free.
    PeerGone,
    /// Addresses given by the user: tried for as long as the torrent runs.
    Peers(Vec<SocketAddr>),
    /// Addresses learned from the swarm (PEX, LSD, DHT): tried, forgotten if dead.
    Discovered(Vec<SocketAddr>),
    /// Writing or reading the data failed for a local reason: pause and retry later.
    DiskFault(crate::TorrentError),
    /// Data we hold verified is gone from disk (a file was truncated or deleted under
    /// us): re-check and download again what is missing.
    DataMissing,
}

impl Torrent {
    pub(crate) fn ctx(&self) -> &Arc<TorrentContext> {
        &self.ctx
    }

    /// This torrent as the disk pool sees it now (its current store).
    pub(crate) fn disk_target(&self) -> TorrentDisk {
        TorrentDisk {
            info_hash: self.info_hash,
            store: self.store(),
            verifier: self.verifier.clone(),
            events: self.disk_events.clone(),
        }
    }

    pub(crate) fn num_pieces(&self) -> u32 {
        self.meta.info.num_pieces()
    }

    pub(crate) fn is_complete(&self) -> bool {
        self.status.borrow().complete
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// The piece store in use now.
    pub(crate) fn store(&self) -> Arc<Store> {
        self.storage.read().clone()
    }

    /// Whether a pause was asked for (peers are refused from then on).
    pub(crate) fn is_paused(&self) -> bool {
        *self.pause.borrow()
    }

    /// Sends `cmd` to every connected peer.
    pub(crate) fn broadcast(&self, state: &SwarmState, cmd: PeerCommand) {
        for peer in state.peers.values() {
            let _ = peer.tx.send(cmd.clone());
        }
    }

    /// Handles a failed write or read of `piece` (`None`: not tied to one piece). A
    /// problem with a private link's content stops the torrent; a disk fault pauses it
    /// until it is retried. The piece's received blocks are forgotten (they may not be
    /// on disk) without blaming the peers that sent them.
    pub(crate) fn disk_fault(&self, piece: Option<u32>, error: crate::TorrentError) {
        if !matches!(error, crate::TorrentError::Disk(_)) {
            self.fail(error);
            return;
        }
        if let Some(piece) = piece {
            let mut st = self.state.lock();
            st.pieces.on_local_failure(piece);
            let _ = st.picker.on_piece_failed(piece);
        }
        let _ = self.control_tx.send(ControlEvent::DiskFault(error));
    }

    /// Stops the torrent with an error (e.g. disk failure); the control loop shuts down.
    pub(crate) fn fail(&self, error: crate::TorrentError) {
        if self.status.borrow().error.is_some() {
            // The first error is the one to report; later ones follow from it.
            self.shutdown.send_replace(true);
            return;
        }
        match error {
            // About the link the user gave, not a fault here: the caller reports it.
            crate::TorrentError::WrongKey | crate::TorrentError::Content(_) => {
                tracing::info!(torrent = %self.meta.info.name, %error, "torrent stopped");
            }
            _ => tracing::error!(torrent = %self.meta.info.name, %error, "torrent stopped"),
        }
        self.status.send_modify(|s| s.error = Some(error));
        self.shutdown.send_replace(true);
    }
}
