//! Per-connection settings: the torrent's layout (to validate indices and request
//! bounds), the negotiated extensions, timers and request-queue limits.

use std::time::Duration;

/// Settings for one [`super::PeerConnection`]. `num_pieces == 0` means the torrent's
/// metadata is not known yet (magnet link); see
/// [`super::PeerConnection::set_torrent_layout`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionConfig {
    /// Number of pieces of the torrent (0: not known yet).
    pub num_pieces: u32,
    /// The torrent's piece length.
    pub piece_length: u32,
    /// The torrent's total length in bytes.
    pub total_length: u64,
    /// Both sides set the fast extension bit (BEP 6).
    pub fast: bool,
    /// Both sides set the extension protocol bit (BEP 10).
    pub extensions: bool,
    /// Send a keep-alive when we have sent nothing for this long.
    pub keepalive_interval: Duration,
    /// Fail with [`super::PeerError::IdleTimeout`] when nothing arrived for this long.
    pub idle_timeout: Duration,
    /// Fail with [`super::PeerError::Inactive`] when neither side has been interested
    /// in the other for this long: keep-alives alone do not earn a connection slot.
    pub inactivity_timeout: Duration,
    /// A request with no data for this long times out and marks the peer snubbed.
    pub request_timeout: Duration,
    /// Hard cap on our outstanding requests.
    pub max_request_depth: usize,
    /// Floor of the adaptive request depth (unless the peer's `reqq` is lower).
    pub min_request_depth: usize,
    /// Requests from the peer we hold at once; one more is a flood (error).
    pub max_peer_requests: usize,
}

impl ConnectionConfig {
    /// Defaults for a torrent with the given layout; no extensions negotiated.
    pub fn new(num_pieces: u32, piece_length: u32, total_length: u64) -> Self {
        ConnectionConfig {
            num_pieces,
            piece_length,
            total_length,
            fast: false,
            extensions: false,
            keepalive_interval: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(180),
            inactivity_timeout: Duration::from_secs(600),
            request_timeout: Duration::from_secs(30),
            max_request_depth: 1000,
            min_request_depth: 4,
            max_peer_requests: 500,
        }
    }

    /// Size of piece `index`, or `None` if there is no such piece.
    pub fn piece_size(&self, index: u32) -> Option<u32> {
        if index >= self.num_pieces {
            return None;
        }
        if index + 1 < self.num_pieces {
            return Some(self.piece_length);
        }
        let before = u64::from(index) * u64::from(self.piece_length);
        let last = self
            .total_length
            .saturating_sub(before)
            .min(u64::from(self.piece_length));
        Some(last as u32)
    }
}

impl Default for ConnectionConfig {
    /// Metadata not known yet (see [`ConnectionConfig`]); default timers and limits.
    fn default() -> Self {
        Self::new(0, 0, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn piece_sizes() {
        let c = ConnectionConfig::new(3, 100, 250);
        assert_eq!(c.piece_size(0), Some(100));
        assert_eq!(c.piece_size(1), Some(100));
        assert_eq!(c.piece_size(2), Some(50));
        assert_eq!(c.piece_size(3), None);
        assert_eq!(ConnectionConfig::new(2, 100, 200).piece_size(1), Some(100));
        assert_eq!(ConnectionConfig::default().piece_size(0), None);
    }
}
