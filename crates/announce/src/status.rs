//! [`TrackerStatus`]: a snapshot of one tracker's state for user interfaces.

use std::time::Instant;

/// One tracker as seen by the announce loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackerStatus {
    /// The announce URL.
    pub url: String,
    /// Index of its BEP 12 tier (0 = first).
    pub tier: usize,
    /// `None`: not contacted yet; `Ok(n)`: the last announce succeeded and returned `n`
    /// peers; `Err(text)`: the last announce failed.
    pub last_result: Option<Result<usize, String>>,
    /// The tracker's last `warning message`.
    pub warning: Option<String>,
    /// When this tracker will next be announced to: the regular re-announce for the
    /// tracker in use, the end of the back-off for a failed one, `None` otherwise.
    pub next_announce: Option<Instant>,
    /// Seeders and leechers from the last successful announce.
    pub seeders: Option<u32>,
    /// Leechers from the last successful announce.
    pub leechers: Option<u32>,
    /// Consecutive failures.
    pub failures: u32,
}
