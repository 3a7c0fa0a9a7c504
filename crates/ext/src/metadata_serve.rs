//! Answering BEP 9 requests for our own info dictionary: a [`MetadataServer`] shared by
//! all connections of a torrent, and a per-peer [`ServeLimiter`] so one peer cannot make
//! us send the dictionary over and over.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::metadata::{piece_count, piece_len, MetadataMessage, METADATA_PIECE_LEN};

/// Length of the window the default limiter counts requests in.
pub const SERVE_WINDOW: Duration = Duration::from_secs(60);
/// Requests per window a peer may make beyond two full downloads of the metadata.
const SERVE_SLACK: u32 = 8;

/// The info dictionary of a torrent we have, cut into 16 KiB pieces on demand.
#[derive(Debug, Clone)]
pub struct MetadataServer {
    info: Arc<[u8]>,
}

impl MetadataServer {
    /// Serves `info_bytes`, the exact bencoded info dictionary (its SHA-1 is the
    /// info-hash). Empty bytes serve nothing: every request is rejected.
    pub fn new(info_bytes: impl Into<Arc<[u8]>>) -> Self {
        MetadataServer {
            info: info_bytes.into(),
        }
    }

    /// The info dictionary served.
    pub fn info_bytes(&self) -> &[u8] {
        &self.info
    }

    /// Value for `metadata_size` in our extension handshake.
    pub fn total_size(&self) -> u64 {
        self.info.len() as u64
    }

    /// Number of 16 KiB pieces of the dictionary.
    pub fn piece_count(&self) -> u32 {
        piece_count(self.total_size())
    }

    /// The data message for `piece`, or a reject if there is no such piece.
    pub fn message_for(&self, piece: u32) -> MetadataMessage<'_> {
        let start = (piece as usize).saturating_mul(METADATA_PIECE_LEN);
        let data = piece_len(self.total_size(), piece)
            .and_then(|len| self.info.get(start..start.checked_add(len)?));
        match data {
            Some(data) => MetadataMessage::Data {
                piece,
                total_size: self.total_size(),
                data,
            },
            None => MetadataMessage::Reject { piece },
        }
    }

    /// Answers a request from the peer `limiter` belongs to: the data, or a reject if
    /// the piece does not exist or the peer exceeded its rate.
    pub fn handle_request(
        &self,
        limiter: &mut ServeLimiter,
        piece: u32,
        now: Instant,
    ) -> MetadataMessage<'_> {
        if limiter.allow(now) {
            self.message_for(piece)
        } else {
            MetadataMessage::Reject { piece }
        }
    }

    /// A limiter sized for this dictionary: two full downloads plus some slack per
    /// minute.
    pub fn limiter(&self) -> ServeLimiter {
        let budget = self
            .piece_count()
            .saturating_mul(2)
            .saturating_add(SERVE_SLACK);
        ServeLimiter::new(budget, SERVE_WINDOW)
    }
}

/// Allows at most `max` requests per fixed window of time; one per peer connection.
#[derive(Debug, Clone)]
pub struct ServeLimiter {
    max: u32,
    window: Duration,
    window_start: Option<Instant>,
    used: u32,
}

impl ServeLimiter {
    /// Allows `max` requests per `window`; the first window starts at the first request.
    pub fn new(max: u32, window: Duration) -> Self {
        ServeLimiter {
            max,
            window,
            window_start: None,
            used: 0,
        }
    }

    /// At most `max` requests per minute.
    pub fn per_minute(max: u32) -> Self {
        Self::new(max, Duration::from_secs(60))
    }

    /// Counts a request at `now`; `false` if it exceeds the budget of the window.
    pub fn allow(&mut self, now: Instant) -> bool {
        let expired = self
            .window_start
            .is_none_or(|start| now.saturating_duration_since(start) >= self.window);
        if expired {
            self.window_start = Some(now);
            self.used = 0;
        }
        if self.used < self.max {
            self.used += 1;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::DEFAULT_MAX_METADATA_SIZE;

    #[test]
    fn serves_pieces_and_rejects_out_of_range() {
        let info: Vec<u8> = (0..40_000u32).map(|i| i as u8).collect();
        let server = MetadataServer::new(info.clone());
        assert_eq!(server.total_size(), 40_000);
        assert_eq!(server.piece_count(), 3);
        let mut out = Vec::new();
        for piece in 0..3 {
            let bytes = server.message_for(piece).encode();
            match MetadataMessage::decode(&bytes, DEFAULT_MAX_METADATA_SIZE).unwrap() {
                MetadataMessage::Data {
                    piece: p,
                    total_size,
                    data,
                } => {
                    assert_eq!((p, total_size), (piece, 40_000));
                    out.extend_from_slice(data);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(out, info);
        assert_eq!(server.message_for(3), MetadataMessage::Reject { piece: 3 });
        assert_eq!(
            server.message_for(u32::MAX),
            MetadataMessage::Reject { piece: u32::MAX }
        );
        let empty = MetadataServer::new(Vec::new());
        assert_eq!(empty.message_for(0), MetadataMessage::Reject { piece: 0 });
    }

    #[test]
    fn rate_limits_per_peer() {
        let t0 = Instant::now();
        let server = MetadataServer::new(vec![1u8; 100]);
        let mut limiter = server.limiter();
        let budget = 2 + SERVE_SLACK;
        for _ in 0..budget {
            assert!(matches!(
                server.handle_request(&mut limiter, 0, t0),
                MetadataMessage::Data { .. }
            ));
        }
        assert_eq!(
            server.handle_request(&mut limiter, 0, t0 + Duration::from_secs(59)),
            MetadataMessage::Reject { piece: 0 }
        );
        // Another peer has its own budget.
        let mut other = server.limiter();
        assert!(matches!(
            server.handle_request(&mut other, 0, t0),
            MetadataMessage::Data { .. }
        ));
        // A new window restores the budget.
        assert!(matches!(
            server.handle_request(&mut limiter, 0, t0 + SERVE_WINDOW),
            MetadataMessage::Data { .. }
        ));
    }

    #[test]
    fn limiter_counts_fixed_windows() {
        let t0 = Instant::now();
        let mut l = ServeLimiter::per_minute(2);
        assert!(l.allow(t0));
        assert!(l.allow(t0));
        assert!(!l.allow(t0 + Duration::from_secs(30)));
        assert!(l.allow(t0 + Duration::from_secs(60)));
        let mut zero = ServeLimiter::per_minute(0);
        assert!(!zero.allow(t0));
    }
}
