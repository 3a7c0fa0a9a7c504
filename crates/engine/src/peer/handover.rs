//! Metadata connections waiting for their torrent. When a magnet fetch completes, the
//! connections of peers that served metadata are parked here under the info-hash; the
//! session adds the torrent (usually right away) and hands it to each of them, and they
//! go on trading pieces on the same connection. A connection not claimed within
//! [`PARK_TIME`] closes.

use crate::torrent::Torrent;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// How long a metadata connection waits for its torrent to be added. The CLI and the
/// daemon add the torrent as soon as the fetch returns; this only bounds a caller that
/// never does.
pub(crate) const PARK_TIME: Duration = Duration::from_secs(30);

/// Most parked connections per info-hash: a fetch runs at most this many connections.
pub(crate) const MAX_PARKED: usize = 64;

/// Most info-hashes with parked connections (fetches whose torrent was never added
/// are dropped first).
const MAX_FETCHES: usize = 256;

/// A connection's claim ticket: its torrent arrives on it, or it is dropped.
pub(crate) type Ticket = oneshot::Receiver<Arc<Torrent>>;

/// The other end of a [`Ticket`], kept by the fetch and filed by [`Handover::park`].
pub(crate) type Delivery = oneshot::Sender<Arc<Torrent>>;

struct Parked {
    since: Instant,
    deliver: Delivery,
}

/// The session's parked metadata connections, by info-hash.
#[derive(Default)]
pub(crate) struct Handover {
    parked: Mutex<HashMap<[u8; 20], Vec<Parked>>>,
}

impl Handover {
    /// Files the tickets of a completed fetch's connections under `info_hash`.
    pub(crate) fn park(&self, info_hash: [u8; 20], senders: Vec<Delivery>) {
        let now = crate::clock::now();
        let mut parked = self.parked.lock();
        parked.retain(|_, list| {
            list.retain(|p| !p.deliver.is_closed() && now.duration_since(p.since) < PARK_TIME);
            !list.is_empty()
        });
        if parked.len() >= MAX_FETCHES && !parked.contains_key(&info_hash) {
            return;
        }
        let list = parked.entry(info_hash).or_default();
        for deliver in senders {
            if list.len() >= MAX_PARKED {
                break;
            }
            list.push(Parked {
                since: now,
                deliver,
            });
        }
    }

    /// Hands `torrent` to every connection parked for it; returns how many took it.
    pub(crate) fn adopt(&self, torrent: &Arc<Torrent>) -> usize {
        let Some(list) = self.parked.lock().remove(&torrent.info_hash()) else {
            return 0;
        };
        list.into_iter()
            .filter_map(|p| p.deliver.send(torrent.clone()).ok())
            .count()
    }

    /// Drops every parked connection (the session is shutting down).
    pub(crate) fn clear(&self) {
        self.parked.lock().clear();
    }
}
