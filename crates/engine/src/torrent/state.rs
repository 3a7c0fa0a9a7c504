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
/// Fields are public: each is a plain atomic with no invariant between them; the peer
/// task writes them and the control task and snapshots read them.
#[derive(Debug)]
pub(crate) struct PeerLive {
    pub(crate) download_rate: AtomicU64,
    pub(crate) upload_rate: AtomicU64,
    pub(crate) downloaded: AtomicU64,
    pub(crate) uploaded: AtomicU64,
    pub(crate) peer_interested: AtomicBool,
    pub(crate) am_choking: AtomicBool,
    pub(crate) am_interested: AtomicBool,
    pub(crate) peer_choking: AtomicBool,
    pub(crate) snubbed: AtomicBool,
    pub(crate) is_seed: AtomicBool,
    /// Told to leave to make room for a newcomer (no longer counts against the cap).
    pub(crate) evicted: AtomicBool,
    pub(crate) connected_at: Instant,
    pub(crate) client: Mutex<Option<String>>,
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

/// A live connection as seen from the torrent. Fields are public: the entry is a
/// record written once when the peer registers and read under the torrent's lock.
#[derive(Debug)]
pub(crate) struct PeerEntry {
    pub(crate) addr: SocketAddr,
    pub(crate) peer_id: [u8; 20],
    pub(crate) outgoing: bool,
    /// The connection is RC4-encrypted (MSE selected RC4).
    pub(crate) encrypted: bool,
    /// Where the peer accepts connections: the dialled address for outgoing
    /// connections, the IP plus the extension handshake's `p` for incoming ones.
    pub(crate) listen_addr: Option<SocketAddr>,
    pub(crate) tx: mpsc::UnboundedSender<PeerCommand>,
    pub(crate) live: Arc<PeerLive>,
}

/// Mutable torrent state behind the mutex.
///
/// Fields are public inside the crate on purpose: a peer task updates the picker,
/// the piece tracker and the peer table under one short lock per event instead of a
/// round trip to an actor (see ARCHITECTURE.md). Each field is a type that owns its
/// own invariants (`Picker`, `PeerBook`, `PieceTracker`, `SmartBan`); what spans two
/// of them is a method on `SwarmState` (`torrent/eviction.rs`, `torrent/verify.rs`).
pub(crate) struct SwarmState {
    pub(crate) picker: Picker,
    pub(crate) peers: HashMap<PeerKey, PeerEntry>,
    pub(crate) next_key: PeerKey,
    pub(crate) book: PeerBook,
    /// Outgoing connection attempts under way.
    pub(crate) connecting: usize,
    /// Progress of pieces between block acceptance and their hash check.
    pub(crate) pieces: PieceTracker,
    pub(crate) smartban: SmartBan,
    /// IP of every peer key that may still be named by the picker as a block sender.
    pub(crate) key_ips: HashMap<PeerKey, IpAddr>,
    /// Peer ids seen holding every piece (at most [`MAX_SEEDS_SEEN`]).
    pub(crate) seeds_seen: HashSet<[u8; 20]>,
    /// What decides the picker's wanted set and priority list (see `priority.rs`).
    pub(crate) wishes: super::priority::Wishes,
    /// Peers whose handshakes failed on the encryption policy.
    pub(crate) refusing: crate::refusals::RefusingPeers,
}

/// Most distinct complete peers remembered for statistics.
pub(crate) const MAX_SEEDS_SEEN: usize = 100_000;

/// Whether the torrent finished, stopped or failed: the value of the torrent's status
/// channel, read by snapshots and waiters as a whole. Fields are public: it is a
/// plain record; only `Torrent`'s methods send a new one.
#[derive(Debug, Clone, Default)]
pub(crate) struct Status {
    pub(crate) complete: bool,
    pub(crate) error: Option<crate::TorrentError>,
    pub(crate) stopped: bool,
    /// Peers are off and trackers were told `stopped` (see [`Torrent::pause`]).
    pub(crate) paused: bool,
    /// A re-check is hashing the data.
    pub(crate) checking: bool,
    /// A local fault (disk full, read-only directory) paused the torrent; it is retried
    /// after [`crate::SessionConfig::disk_retry_interval`]. Verified pieces are kept.
    pub(crate) fault: Option<crate::TorrentError>,
}

/// Byte counters for the whole torrent (payload only). Fields are public: each is a
/// plain atomic that peer tasks add to and snapshots read.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) downloaded: AtomicU64,
    pub(crate) uploaded: AtomicU64,
    pub(crate) wasted: AtomicU64,
    pub(crate) verified_bytes: AtomicU64,
    /// Seconds spent complete and not paused.
    pub(crate) seeding_secs: AtomicU64,
}

/// Everything one torrent shares between its tasks.
///
/// Fields are `pub(super)`: the impl of `Torrent` is split by purpose across
/// `torrent/*.rs`; everything outside `torrent/` goes through the methods below.
pub(crate) struct Torrent {
    pub(super) info_hash: [u8; 20],
    pub(super) meta: Arc<Metainfo>,
    /// Where the pieces live; replaced when the data is moved (see [`Torrent::store`]).
    pub(super) storage: RwLock<Arc<Store>>,
    pub(super) download_dir: RwLock<PathBuf>,
    /// Asked-for pause state; the control loop applies it and reports it in `status`.
    pub(super) pause: watch::Sender<bool>,
    /// Bumped after every verified piece (streaming readers wait on it).
    pub(super) verified_tick: watch::Sender<u64>,
    /// The announcer's view of each tracker, refreshed every second while running.
    pub(super) trackers: Mutex<Vec<shoal_announce::TrackerStatus>>,
    /// Rate and peer limits of this torrent.
    pub(super) limiter: super::limits::TorrentLimiter,
    /// When the torrent was added (seconds since the Unix epoch).
    pub(super) added_unix: u64,
    /// Answers peers' ut_metadata requests with our info dictionary (BEP 9).
    pub(super) metadata: shoal_ext::MetadataServer,
    /// What the torrent uses of its session (never the session itself).
    pub(super) ctx: Arc<TorrentContext>,
    pub(super) state: Mutex<SwarmState>,
    /// How pieces are verified (handed to the disk pool with each job).
    pub(super) verifier: Arc<PieceVerifier>,
    /// Where the disk pool reports this torrent's writes and checks.
    pub(super) disk_events: mpsc::UnboundedSender<DiskEvent>,
    pub(super) control_tx: mpsc::UnboundedSender<ControlEvent>,
    pub(super) status: watch::Sender<Status>,
    pub(super) shutdown: watch::Sender<bool>,
    pub(super) counters: Counters,
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
    /// What the torrent uses of its session.
    pub(crate) fn ctx(&self) -> &Arc<TorrentContext> {
        &self.ctx
    }

    /// The torrent's info-hash (v1).
    pub(crate) fn info_hash(&self) -> [u8; 20] {
        self.info_hash
    }

    /// The torrent's metainfo.
    pub(crate) fn meta(&self) -> &Arc<Metainfo> {
        &self.meta
    }

    /// The swarm state, locked. Never hold the guard across an `.await`, disk I/O or
    /// hashing.
    pub(crate) fn swarm(&self) -> parking_lot::MutexGuard<'_, SwarmState> {
        self.state.lock()
    }

    /// Rate and peer limits of this torrent.
    pub(crate) fn limiter(&self) -> &super::limits::TorrentLimiter {
        &self.limiter
    }

    /// Our info dictionary, served to peers over ut_metadata.
    pub(crate) fn metadata(&self) -> &shoal_ext::MetadataServer {
        &self.metadata
    }

    /// The torrent's byte counters.
    pub(crate) fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Tells the control task about `event` (ignored once it has ended).
    pub(crate) fn send_control(&self, event: ControlEvent) {
        let _ = self.control_tx.send(event);
    }

    /// Changes when the torrent starts shutting down.
    pub(crate) fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Changes when a pause or resume is asked for.
    pub(crate) fn pause_signal(&self) -> watch::Receiver<bool> {
        self.pause.subscribe()
    }

    /// The announcer's latest view of each tracker.
    pub(crate) fn set_trackers(&self, trackers: Vec<shoal_announce::TrackerStatus>) {
        *self.trackers.lock() = trackers;
    }

    /// Records that peers are off (`true`) or back on (`false`).
    pub(crate) fn set_paused(&self, paused: bool) {
        self.status.send_modify(|s| s.paused = paused);
    }

    /// Records a disk fault that paused the torrent until it is retried (`None`: the
    /// retry starts).
    pub(crate) fn set_fault(&self, fault: Option<crate::TorrentError>) {
        self.status.send_modify(|s| {
            if fault.is_some() {
                s.paused = true;
            }
            s.fault = fault;
        });
    }

    /// Records that the control task has ended (files flushed and closed).
    pub(crate) fn set_stopped(&self) {
        self.status.send_modify(|s| s.stopped = true);
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
            let mut st = self.swarm();
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
