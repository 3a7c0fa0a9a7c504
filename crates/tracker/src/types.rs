//! Transport-independent announce/scrape request and response types.

use std::net::SocketAddr;
use std::time::Duration;

/// The `event` of an announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AnnounceEvent {
    /// A regular periodic announce.
    #[default]
    None,
    /// First announce of a session.
    Started,
    /// The download just finished.
    Completed,
    /// We are leaving the swarm.
    Stopped,
}

impl AnnounceEvent {
    /// The value of the HTTP `event` parameter (`None` for a regular announce, which omits it).
    pub fn as_http_str(self) -> Option<&'static str> {
        match self {
            AnnounceEvent::None => None,
            AnnounceEvent::Started => Some("started"),
            AnnounceEvent::Completed => Some("completed"),
            AnnounceEvent::Stopped => Some("stopped"),
        }
    }

    /// The BEP 15 numeric code (0 none, 1 completed, 2 started, 3 stopped).
    pub fn udp_code(self) -> u32 {
        match self {
            AnnounceEvent::None => 0,
            AnnounceEvent::Completed => 1,
            AnnounceEvent::Started => 2,
            AnnounceEvent::Stopped => 3,
        }
    }

    /// Inverse of [`AnnounceEvent::udp_code`].
    pub fn from_udp_code(code: u32) -> Option<Self> {
        Some(match code {
            0 => AnnounceEvent::None,
            1 => AnnounceEvent::Completed,
            2 => AnnounceEvent::Started,
            3 => AnnounceEvent::Stopped,
            _ => return None,
        })
    }
}

/// Everything an announce tells the tracker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceRequest {
    /// The torrent's info-hash.
    pub info_hash: [u8; 20],
    /// Our peer id.
    pub peer_id: [u8; 20],
    /// Our listening port.
    pub port: u16,
    /// Bytes sent to peers so far.
    pub uploaded: u64,
    /// Bytes received from peers so far.
    pub downloaded: u64,
    /// Bytes still missing for a complete download (0 when seeding).
    pub left: u64,
    /// Why this announce is sent (started, completed, stopped or a regular one).
    pub event: AnnounceEvent,
    /// How many peers we would like; `None` lets the tracker choose.
    pub numwant: Option<u32>,
    /// Random per-session value that lets the tracker recognise us across IP changes.
    pub key: u32,
    /// The `tracker id` a tracker handed us earlier (HTTP only).
    pub tracker_id: Option<Vec<u8>>,
}

/// A successful announce answer.
///
/// Intervals are reported exactly as the tracker sent them; callers should apply their own
/// floor and ceiling (a tracker may well say `interval 0`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AnnounceResponse {
    /// How long to wait before the next regular announce.
    pub interval: Duration,
    /// The tracker's minimum re-announce interval, if it gave one.
    pub min_interval: Option<Duration>,
    /// Peers, IPv4 and IPv6 mixed, without port-0 entries.
    pub peers: Vec<SocketAddr>,
    /// Seeders.
    pub complete: Option<u32>,
    /// Leechers.
    pub incomplete: Option<u32>,
    /// `warning message`, if any.
    pub warning: Option<String>,
    /// `tracker id` to echo in later announces.
    pub tracker_id: Option<Vec<u8>>,
}

/// Scrape counters for one torrent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct ScrapeStats {
    /// Seeders.
    pub complete: u32,
    /// Number of completed downloads ever reported.
    pub downloaded: u32,
    /// Leechers.
    pub incomplete: u32,
}
