//! Building a torrent's shared state when it is added to a session.

use super::book::PeerBook;
use super::pieces::PieceTracker;
use super::priority::Wishes;
use super::state::{ControlEvent, Counters, Status, SwarmState, Torrent};
use crate::config::AddTorrentOptions;
use crate::context::TorrentContext;
use crate::disk::DiskEvent;
use crate::store::Store;
use crate::verifier::PieceVerifier;
use parking_lot::{Mutex, RwLock};
use shoal_metainfo::Metainfo;
use shoal_swarm::{Picker, SmartBan};
use shoal_wire::Bitfield;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

/// What the tasks running a torrent receive.
/// Fields are public: each receiver goes to the task that owns it.
pub(crate) struct TorrentInbox {
    /// For the control task.
    pub control: mpsc::UnboundedReceiver<ControlEvent>,
    /// For the piece owner ([`super::verify::apply_disk_events`]).
    pub disk: mpsc::UnboundedReceiver<DiskEvent>,
}

impl Torrent {
    /// The shared state of a new torrent whose pieces in `have` are verified already,
    /// and the receiving ends of its channels, for the tasks that run it.
    pub(crate) fn new(
        ctx: Arc<TorrentContext>,
        meta: Arc<Metainfo>,
        storage: Arc<Store>,
        have: &Bitfield,
        opts: &AddTorrentOptions,
    ) -> (Arc<Torrent>, TorrentInbox) {
        let info = &meta.info;
        let mut picker = Picker::new(
            info.num_pieces(),
            info.piece_length,
            info.total_length,
            rand::random(),
        );
        let counters = Counters::default();
        if let Some(resume) = &opts.resume {
            counters.uploaded.store(resume.uploaded, Ordering::Relaxed);
            counters
                .downloaded
                .store(resume.downloaded, Ordering::Relaxed);
        }
        for piece in have.iter_ones() {
            picker.set_have(piece as u32);
            counters
                .verified_bytes
                .fetch_add(u64::from(info.piece_size(piece as u32)), Ordering::Relaxed);
        }
        let now = crate::clock::now();
        let mut book = PeerBook::default();
        for addr in &opts.peers {
            book.add(*addr, true, now);
        }
        let mut wishes = Wishes {
            files: opts.file_priorities.clone(),
            sequential: opts.sequential,
            ..Wishes::default()
        };
        if wishes.files.len() != info.files.len() {
            wishes.files.clear();
        }
        super::priority::apply_wanted(&meta, &mut picker, &mut wishes);
        // A private receiver needs the stream's header before anything else.
        super::priority::refresh_priority(
            &meta,
            &mut picker,
            &mut wishes,
            storage.priority_pieces(),
        );
        let complete = picker.is_complete();
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let (disk_events, disk_rx) = mpsc::unbounded_channel();
        let torrent = Arc::new(Torrent {
            info_hash: meta.info_hash.0,
            metadata: shoal_ext::MetadataServer::new(meta.info_bytes.clone()),
            meta: meta.clone(),
            storage: RwLock::new(storage),
            download_dir: RwLock::new(opts.download_dir.clone()),
            pause: watch::channel(opts.paused).0,
            verified_tick: watch::channel(0).0,
            trackers: Mutex::new(Vec::new()),
            limiter: super::limits::TorrentLimiter::new(opts.limits),
            added_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            ctx,
            state: Mutex::new(SwarmState {
                picker,
                peers: HashMap::new(),
                next_key: 1,
                book,
                connecting: 0,
                pieces: PieceTracker::default(),
                smartban: SmartBan::new(),
                key_ips: HashMap::new(),
                seeds_seen: HashSet::new(),
                wishes,
                refusing: Default::default(),
            }),
            verifier: Arc::new(PieceVerifier::new(&meta)),
            disk_events,
            control_tx,
            status: watch::channel(Status {
                complete,
                ..Status::default()
            })
            .0,
            shutdown: watch::channel(false).0,
            counters,
        });
        let inbox = TorrentInbox {
            control: control_rx,
            disk: disk_rx,
        };
        (torrent, inbox)
    }
}
