//! Why an announce to one tracker failed.

use shoal_tracker::TrackerError;

/// Failure of one announce to one tracker. `Tracker` and `HttpStatus` come from the remote
/// side; the others are local or network problems.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnnounceError {
    /// The tracker refused, sent junk, or (UDP) never answered.
    #[error(transparent)]
    Tracker(#[from] TrackerError),
    /// The HTTP tracker answered with a non-success status and no `failure reason`.
    #[error("HTTP status {0}")]
    HttpStatus(u16),
    /// The HTTP request failed (connect, TLS, timeout, too many redirects, ...).
    #[error("HTTP request failed: {0}")]
    Http(#[source] reqwest::Error),
    /// The reply exceeded the size cap.
    #[error("reply larger than {0} bytes")]
    TooLarge(usize),
    /// The URL's scheme is not http, https or udp, or it lacks a host or port.
    #[error("unusable tracker URL: {0}")]
    BadUrl(String),
    /// The host name did not resolve (or not in time).
    #[error("could not resolve {0}")]
    Resolve(String),
    /// Local socket error.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The HTTP client could not be built (TLS set-up failed).
    #[error("HTTP client unavailable: {0}")]
    NoHttpClient(String),
    /// The announcer is shutting down.
    #[error("announcer shut down")]
    Shutdown,
}
