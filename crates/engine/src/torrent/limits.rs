//! Per-torrent limits on top of the session's: upload and download rates and the
//! number of peers, changeable while the torrent runs.

use super::handle::TorrentHandle;
use super::state::Torrent;
use crate::config::TorrentLimits;
use crate::ratelimit::RateLimiter;
use parking_lot::Mutex;

/// A torrent's limits and the buckets enforcing its rates.
/// The buckets are public: each is a thread-safe bucket that peer tasks charge
/// directly; the limits behind the mutex change only through the methods.
#[derive(Debug)]
pub(crate) struct TorrentLimiter {
    limits: Mutex<TorrentLimits>,
    pub upload: RateLimiter,
    pub download: RateLimiter,
}

impl TorrentLimiter {
    pub(crate) fn new(limits: TorrentLimits) -> Self {
        TorrentLimiter {
            upload: RateLimiter::new(limits.upload_rate),
            download: RateLimiter::new(limits.download_rate),
            limits: Mutex::new(limits),
        }
    }

    pub(crate) fn get(&self) -> TorrentLimits {
        *self.limits.lock()
    }

    pub(crate) fn set(&self, limits: TorrentLimits) {
        self.upload.set_rate(limits.upload_rate);
        self.download.set_rate(limits.download_rate);
        *self.limits.lock() = limits;
    }
}

impl Torrent {
    /// Most peers for this torrent: its own limit, else the session's per-torrent one.
    pub(crate) fn max_peers(&self) -> usize {
        self.limiter
            .get()
            .max_peers
            .unwrap_or(self.ctx().config().max_peers_per_torrent)
    }
}

impl TorrentHandle {
    /// Changes this torrent's limits; they apply on top of the session's at once.
    /// Peers above a lowered `max_peers` are not closed, but no new ones are added.
    pub fn set_limits(&self, limits: TorrentLimits) {
        self.torrent.limiter.set(limits);
    }

    /// The torrent's own caps.
    pub fn limits(&self) -> TorrentLimits {
        self.torrent.limiter.get()
    }
}
