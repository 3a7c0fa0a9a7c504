//! The public handle to a running torrent: statistics, peers, waiting and stopping.

use super::state::{ControlEvent, PeerLive, Torrent};
use crate::TorrentError;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// A snapshot of a torrent's progress.
#[derive(Debug, Clone)]
pub struct TorrentStats {
    /// The torrent's name (its file or top directory).
    pub name: String,
    /// The info-hash in lowercase hex.
    pub info_hash: String,
    /// Bytes of content.
    pub total_length: u64,
    /// Pieces in the torrent.
    pub num_pieces: u32,
    /// Pieces verified so far.
    pub have_pieces: u32,
    /// Bytes of verified pieces.
    pub verified_bytes: u64,
    /// Payload bytes received / sent on all connections.
    pub downloaded: u64,
    /// Payload bytes sent on all connections.
    pub uploaded: u64,
    /// Bytes of pieces that failed their hash check.
    pub wasted: u64,
    /// Payload bytes per second received now.
    pub download_rate: u64,
    /// Payload bytes per second sent now.
    pub upload_rate: u64,
    /// Connected peers.
    pub peers: usize,
    /// Distinct peers (by peer id) seen holding the whole torrent since it was added.
    pub complete_peers: usize,
    /// Peers that refused our encryption policy (or whose policy we refused).
    pub encryption_refusals: crate::EncryptionRefusals,
    /// Every wanted piece is verified.
    pub complete: bool,
    /// Why the torrent stopped, if an error stopped it.
    pub error: Option<String>,
    /// A local fault (disk full, read-only directory) that paused the torrent until it
    /// is retried; verified data is kept.
    pub fault: Option<String>,
    /// A pause was asked for (peers are off once `state` says so).
    pub paused: bool,
    /// What the torrent is doing.
    pub state: TorrentState,
    /// Seconds to completion at the current download rate (`None`: complete or stalled).
    pub eta_secs: Option<u64>,
    /// When the torrent was added to this session (seconds since the Unix epoch).
    pub added_unix: u64,
    /// Seconds spent complete and running in this session.
    pub seeding_secs: u64,
    /// Pieces are downloaded in order (see `AddTorrentOptions::sequential`).
    pub sequential: bool,
}

/// What a torrent is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TorrentState {
    /// Hashing existing data (a re-check).
    #[default]
    Checking,
    /// Fetching pieces.
    Downloading,
    /// Complete and serving peers.
    Seeding,
    /// Paused by the user: no peers, trackers told.
    Paused,
    /// Stopped by an error (see [`TorrentStats::error`]).
    Error,
    /// Paused by a disk fault and retried later (see [`TorrentStats::fault`]).
    Faulted,
}

/// One file of a torrent and how much of it is verified.
#[derive(Debug, Clone)]
pub struct FileSnapshot {
    /// Position in the metainfo's file list.
    pub index: usize,
    /// Relative to the download directory, as in the metainfo.
    pub path: std::path::PathBuf,
    /// Bytes in the file.
    pub length: u64,
    /// How much the file is wanted.
    pub priority: crate::FilePriority,
    /// Bytes of this file inside verified pieces.
    pub verified_bytes: u64,
}

/// One tracker as the announcer sees it.
#[derive(Debug, Clone)]
pub struct TrackerSnapshot {
    /// The announce URL.
    pub url: String,
    /// BEP 12 tier (0 = first).
    pub tier: usize,
    /// "not contacted", "working", "error" or "updating".
    pub status: String,
    /// Peers the last successful announce returned.
    pub peers: u32,
    /// What went wrong on the last announce, if it failed.
    pub last_error: Option<String>,
    /// Seconds until the next announce, when one is scheduled.
    pub next_announce_secs: Option<u64>,
}

/// One connected peer.
#[derive(Debug, Clone)]
pub struct PeerSnapshot {
    /// The peer's address as connected.
    pub addr: SocketAddr,
    /// The client name from its extension handshake (`v`).
    pub client: Option<String>,
    /// Payload bytes this peer sent us / we sent it.
    pub downloaded: u64,
    /// Payload bytes we sent it.
    pub uploaded: u64,
    /// Payload bytes per second it sends us now.
    pub download_rate: u64,
    /// Payload bytes per second we send it now.
    pub upload_rate: u64,
    /// We dialled it (it did not dial us).
    pub outgoing: bool,
    /// The connection is encrypted (MSE/PE with RC4); false for plaintext, including
    /// an MSE handshake that selected the plaintext method.
    pub encrypted: bool,
    /// We choke the peer / the peer chokes us.
    pub am_choking: bool,
    /// The peer chokes us.
    pub peer_choking: bool,
    /// We want something the peer has / the peer wants something we have.
    pub am_interested: bool,
    /// The peer wants something we have.
    pub peer_interested: bool,
}

/// A torrent running in a [`crate::Session`]. Cheap to clone.
#[derive(Clone)]
pub struct TorrentHandle {
    pub(super) torrent: Arc<Torrent>,
}

impl TorrentHandle {
    pub(crate) fn new(torrent: Arc<Torrent>) -> Self {
        TorrentHandle { torrent }
    }

    pub(crate) fn torrent(&self) -> &Arc<Torrent> {
        &self.torrent
    }

    /// The torrent's info-hash.
    pub fn info_hash(&self) -> [u8; 20] {
        self.torrent.info_hash
    }

    /// A snapshot of the torrent's progress and rates.
    pub fn stats(&self) -> TorrentStats {
        let t = &self.torrent;
        let (have, peers, down_rate, up_rate, complete_peers, left, sequential, refusals) = {
            let st = t.swarm();
            let down = st
                .peers
                .values()
                .map(|p| PeerLive::get(&p.live.download_rate))
                .sum();
            let up = st
                .peers
                .values()
                .map(|p| PeerLive::get(&p.live.upload_rate))
                .sum();
            (
                st.picker.have().count_ones() as u32,
                st.peers.len(),
                down,
                up,
                st.seeds_seen.len(),
                st.picker.left_bytes(),
                st.wishes.sequential,
                st.refusing.counts(),
            )
        };
        let status = t.status.borrow().clone();
        TorrentStats {
            name: t.meta.info.name.clone(),
            info_hash: t.meta.info_hash.to_hex(),
            total_length: t.meta.info.total_length,
            num_pieces: t.num_pieces(),
            have_pieces: have,
            verified_bytes: t.counters.verified_bytes.load(Ordering::Relaxed),
            downloaded: t.counters.downloaded.load(Ordering::Relaxed),
            uploaded: t.counters.uploaded.load(Ordering::Relaxed),
            wasted: t.counters.wasted.load(Ordering::Relaxed),
            download_rate: down_rate,
            upload_rate: up_rate,
            peers,
            complete_peers,
            encryption_refusals: refusals,
            complete: status.complete,
            error: status.error.as_ref().map(|e| e.to_string()),
            fault: status.fault.as_ref().map(|e| {
                let retry = t.ctx().config().disk_retry_interval.as_secs_f64();
                format!("{e}; paused, retrying every {retry:.0} s")
            }),
            paused: t.is_paused(),
            state: if status.error.is_some() {
                TorrentState::Error
            } else if status.fault.is_some() {
                TorrentState::Faulted
            } else if status.checking {
                TorrentState::Checking
            } else if t.is_paused() || status.paused {
                TorrentState::Paused
            } else if status.complete {
                TorrentState::Seeding
            } else {
                TorrentState::Downloading
            },
            eta_secs: (!status.complete && down_rate > 0).then(|| left / down_rate),
            added_unix: t.added_unix,
            seeding_secs: t.counters.seeding_secs.load(Ordering::Relaxed),
            sequential,
        }
    }

    /// The connected peers, as they are now.
    pub fn peers(&self) -> Vec<PeerSnapshot> {
        let st = self.torrent.swarm();
        st.peers
            .values()
            .map(|p| PeerSnapshot {
                addr: p.addr,
                client: p.live.client.lock().clone(),
                downloaded: PeerLive::get(&p.live.downloaded),
                uploaded: PeerLive::get(&p.live.uploaded),
                download_rate: PeerLive::get(&p.live.download_rate),
                upload_rate: PeerLive::get(&p.live.upload_rate),
                outgoing: p.outgoing,
                encrypted: p.encrypted,
                am_choking: p.live.am_choking.load(Ordering::Relaxed),
                peer_choking: p.live.peer_choking.load(Ordering::Relaxed),
                am_interested: p.live.am_interested.load(Ordering::Relaxed),
                peer_interested: p.live.peer_interested.load(Ordering::Relaxed),
            })
            .collect()
    }

    /// Adds addresses to connect to; they are retried while the torrent runs.
    pub fn add_peers(&self, addrs: Vec<SocketAddr>) {
        self.torrent.send_control(ControlEvent::Peers(addrs));
    }

    /// Whether peers from `ip` are banned (they sent data that failed verification).
    pub fn is_banned(&self, ip: std::net::IpAddr) -> bool {
        self.torrent.swarm().smartban.is_banned(ip)
    }

    /// Whether every wanted piece is verified.
    pub fn is_complete(&self) -> bool {
        self.torrent.is_complete()
    }

    /// For a private link: the opened layout (the manifest with the share's real name,
    /// file list and sizes). Always known when sending; when receiving, once the
    /// stream's header has been verified and opened.
    pub fn private_layout(&self) -> Option<shoal_private::PrivateLayout> {
        self.torrent.store().as_private()?.layout()
    }

    /// Where a private link's share is being written (`DIR/NAME`), once known.
    pub fn private_target(&self) -> Option<std::path::PathBuf> {
        self.torrent.store().as_private()?.target_path()
    }

    /// Waits until every piece is verified, or the torrent fails or stops first.
    pub async fn wait_complete(&self) -> Result<(), TorrentError> {
        let mut rx = self.torrent.status.subscribe();
        loop {
            {
                let s = rx.borrow_and_update();
                if s.complete {
                    return Ok(());
                }
                if let Some(e) = &s.error {
                    return Err(e.clone());
                }
                if s.stopped {
                    return Err(TorrentError::Stopped);
                }
            }
            if rx.changed().await.is_err() {
                return Err(TorrentError::Stopped);
            }
        }
    }

    /// Waits until the torrent stops (after [`Self::stop`] or an error).
    pub async fn wait_stopped(&self) {
        let mut rx = self.torrent.status.subscribe();
        while !rx.borrow_and_update().stopped {
            if rx.changed().await.is_err() {
                return;
            }
        }
    }

    /// Asks the torrent to stop: peers are disconnected, trackers told `stopped`, files
    /// flushed. Returns at once; use [`Self::wait_stopped`] to wait for the end.
    pub fn stop(&self) {
        self.torrent.shutdown.send_replace(true);
    }
}
