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
    /// The HTTP request failed (connect, TLS, a broken reply, ...); the text names the
    /// innermost cause.
    #[error("HTTP request failed: {0}")]
    Http(String),
    /// No complete reply within the request timeout (a tracker that hangs or trickles).
    #[error("tracker timed out")]
    TimedOut,
    /// The tracker redirected more often than allowed (a redirect loop).
    #[error("too many redirects")]
    TooManyRedirects,
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

impl AnnounceError {
    /// Classifies a failed HTTP exchange; the message keeps the innermost cause (which
    /// reqwest's own text leaves out) and drops the URL (it carries our peer id).
    pub(crate) fn from_http(e: reqwest::Error) -> Self {
        if e.is_timeout() {
            return AnnounceError::TimedOut;
        }
        if e.is_redirect() {
            return AnnounceError::TooManyRedirects;
        }
        let e = e.without_url();
        let mut text = e.to_string();
        let mut cause = std::error::Error::source(&e);
        while let Some(c) = cause {
            text = format!("{text}: {c}");
            cause = c.source();
        }
        AnnounceError::Http(text)
    }
}
