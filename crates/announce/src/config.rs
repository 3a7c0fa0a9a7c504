//! Configuration of an [`Announcer`](crate::Announcer) and the transfer counters it reports.

use std::net::IpAddr;
use std::time::Duration;

/// Where announces leave from: every HTTP and UDP tracker request uses it.
/// Fields are public: two independent settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceBinding {
    /// The local address requests come from (`None`: the kernel picks per route). A
    /// tracker of the other address family cannot be reached from it.
    pub ip: Option<IpAddr>,
    /// The network device requests are bound to (Linux's `SO_BINDTODEVICE`).
    pub interface: Option<String>,
}

/// Byte counters sent with every announce; the engine keeps them current through a
/// `tokio::sync::watch` channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TransferStats {
    /// Bytes sent to peers so far (`uploaded`).
    pub uploaded: u64,
    /// Bytes received from peers so far (`downloaded`).
    pub downloaded: u64,
    /// Bytes still missing for a complete download (`left`; 0 when seeding).
    pub left: u64,
}

/// Everything the announce loop needs for one torrent.
///
/// Build it with [`AnnouncerConfig::new`] and adjust fields as needed; the timing fields
/// exist mostly so tests can run fast.
#[derive(Debug, Clone)]
pub struct AnnouncerConfig {
    /// BEP 12 tiers of tracker URLs (`http://`, `https://`, `udp://`), best tier first.
    /// A single `announce` URL is one tier with one entry. Duplicate URLs are ignored.
    pub tiers: Vec<Vec<String>>,
    /// The torrent's info-hash.
    pub info_hash: [u8; 20],
    /// Our peer id, sent with every announce.
    pub peer_id: [u8; 20],
    /// Our listening port.
    pub port: u16,
    /// Peers asked for per announce (default 200).
    pub numwant: u32,
    /// HTTP `User-Agent`.
    pub user_agent: String,
    /// Lower bound applied to the tracker's `interval` and `min interval` (default 30 s).
    pub min_interval_floor: Duration,
    /// Upper bound applied to the tracker's `interval` (default 2 h).
    pub max_interval: Duration,
    /// Whole-request timeout for HTTP(S) announces and for name resolution (default 20 s).
    pub request_timeout: Duration,
    /// First wait before retrying a tracker that failed; doubles per consecutive failure
    /// (default 30 s).
    pub retry_base: Duration,
    /// Cap of the per-tracker failure back-off (default 30 min).
    pub retry_max: Duration,
    /// First UDP retransmission timeout (BEP 15 says 15 s; default 5 s so a dead tracker
    /// does not hold up the rest of its tier for long).
    pub udp_retransmit_base: Duration,
    /// UDP retransmissions before a tracker counts as failed (default 2: 5 + 10 + 20 s).
    pub udp_max_retries: u32,
    /// Where requests leave from (default: anywhere).
    pub source: SourceBinding,
}

impl AnnouncerConfig {
    /// A configuration with the defaults documented on each field.
    pub fn new(tiers: Vec<Vec<String>>, info_hash: [u8; 20], peer_id: [u8; 20], port: u16) -> Self {
        AnnouncerConfig {
            tiers,
            info_hash,
            peer_id,
            port,
            numwant: 200,
            user_agent: concat!("shoal/", env!("CARGO_PKG_VERSION")).to_owned(),
            min_interval_floor: Duration::from_secs(30),
            max_interval: Duration::from_secs(2 * 3600),
            request_timeout: Duration::from_secs(20),
            retry_base: Duration::from_secs(30),
            retry_max: Duration::from_secs(30 * 60),
            udp_retransmit_base: Duration::from_secs(5),
            udp_max_retries: 2,
            source: SourceBinding::default(),
        }
    }
}
