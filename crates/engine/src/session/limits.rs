//! Session-wide limits that can change while torrents run: upload and download rates,
//! and the number of peer connections across all torrents; plus the session totals.

use super::Session;

/// Totals over every torrent of a session.
#[derive(Debug, Clone, Default)]
pub struct SessionStats {
    /// Bytes per second sent, over every peer.
    pub upload_rate: u64,
    /// Bytes per second received, over every peer.
    pub download_rate: u64,
    /// Payload bytes, summed over the torrents' counters.
    pub uploaded: u64,
    /// Payload bytes received, summed over the torrents' counters.
    pub downloaded: u64,
    /// Connected peers over every torrent.
    pub peers: usize,
    /// Torrents in the session.
    pub torrents: usize,
}

impl Session {
    /// Changes the session's upload and download caps (bytes per second, `None` =
    /// unlimited); running peers follow at once.
    pub fn set_rate_limits(&self, upload: Option<u64>, download: Option<u64>) {
        self.ctx.upload_limiter().set_rate(upload);
        self.ctx.download_limiter().set_rate(download);
    }

    /// Changes the cap on peer connections over all torrents. Connections above a
    /// lowered cap are not closed; new ones wait until the count is below it.
    pub fn set_max_connections(&self, n: usize) {
        self.ctx.connections().set_max(n);
    }

    /// Peer connections in use now (live or being dialled), over all torrents.
    pub fn connections(&self) -> usize {
        self.ctx.connections().in_use()
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
