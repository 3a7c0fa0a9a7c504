//! Session-wide limits that can change while torrents run: upload and download rates,
//! and the number of peer connections across all torrents; plus the session totals.

use crate::session::Session;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Totals over every torrent of a session.
#[derive(Debug, Clone, Default)]
pub struct SessionStats {
    pub upload_rate: u64,
    pub download_rate: u64,
    /// Payload bytes, summed over the torrents' counters.
    pub uploaded: u64,
    pub downloaded: u64,
    pub peers: usize,
    pub torrents: usize,
}

/// Connections in use (live or being dialled) and the cap on them.
#[derive(Debug)]
pub(crate) struct ConnectionCount {
    inner: Arc<Counts>,
}

#[derive(Debug)]
struct Counts {
    used: AtomicUsize,
    max: AtomicUsize,
}

/// One connection's place under the cap; given back when dropped.
#[derive(Debug)]
pub(crate) struct ConnectionSlot {
    counts: Arc<Counts>,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.counts.used.fetch_sub(1, Ordering::AcqRel);
    }
}

impl ConnectionCount {
    pub fn new(max: usize) -> Self {
        ConnectionCount {
            inner: Arc::new(Counts {
                used: AtomicUsize::new(0),
                max: AtomicUsize::new(max),
            }),
        }
    }

    /// A slot for one more connection, or `None` at the cap.
    pub fn try_reserve(&self) -> Option<ConnectionSlot> {
        let counts = &self.inner;
        let max = counts.max.load(Ordering::Acquire);
        counts
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()?;
        Some(ConnectionSlot {
            counts: counts.clone(),
        })
    }

    pub fn set_max(&self, max: usize) {
        self.inner.max.store(max, Ordering::Release);
    }

    pub fn in_use(&self) -> usize {
        self.inner.used.load(Ordering::Acquire)
    }
}

impl Session {
    /// Changes the session's upload and download caps (bytes per second, `None` =
    /// unlimited); running peers follow at once.
    pub fn set_rate_limits(&self, upload: Option<u64>, download: Option<u64>) {
        self.shared().upload_limiter.set_rate(upload);
        self.shared().download_limiter.set_rate(download);
    }

    /// Changes the cap on peer connections over all torrents. Connections above a
    /// lowered cap are not closed; new ones wait until the count is below it.
    pub fn set_max_connections(&self, n: usize) {
        self.shared().connections.set_max(n);
    }

    /// Peer connections in use now (live or being dialled), over all torrents.
    pub fn connections(&self) -> usize {
        self.shared().connections.in_use()
    }

    /// Rates, counters and peers summed over every torrent.
    pub fn session_stats(&self) -> SessionStats {
        let mut total = SessionStats::default();
        for t in self.torrents() {
            let s = t.stats();
            total.upload_rate += s.upload_rate;
            total.download_rate += s.download_rate;
            total.uploaded += s.uploaded;
            total.downloaded += s.downloaded;
            total.peers += s.peers;
            total.torrents += 1;
        }
        total
    }
}
