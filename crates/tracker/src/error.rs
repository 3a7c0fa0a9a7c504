//! The error type shared by the HTTP and UDP tracker codecs.

/// Why an announce or scrape did not produce a usable answer.
///
/// `Failure` and `Malformed` are the tracker's doing (it refused or sent junk);
/// `TimedOut` means no answer arrived; `InvalidRequest` is a local mistake.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrackerError {
    /// The tracker answered with an explicit failure (`failure reason` over HTTP,
    /// an error packet over UDP).
    #[error("tracker failure: {0}")]
    Failure(String),
    /// The tracker's answer could not be understood.
    #[error("malformed tracker response: {0}")]
    Malformed(String),
    /// No answer after all retransmissions (UDP).
    #[error("tracker did not answer in time")]
    TimedOut,
    /// The request could not be expressed (e.g. too many info hashes for one UDP scrape).
    #[error("invalid tracker request: {0}")]
    InvalidRequest(&'static str),
}
