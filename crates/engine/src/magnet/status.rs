//! What a metadata fetch is doing, as a snapshot a front end can show while the user
//! waits ("connected to 2 peers, none serves the metadata yet").

use crate::EncryptionRefusals;
use std::fmt;

/// A snapshot of a metadata fetch, published while it runs.
/// Fields are public: a plain report, filled in by the fetch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FetchStatus {
    /// Peer addresses known so far (given, and from trackers, the DHT and the LAN).
    pub known: usize,
    /// Connections being dialled.
    pub connecting: usize,
    /// Connections past the handshake.
    pub connected: usize,
    /// Connected peers that offer the metadata and were taken into the fetch.
    pub serving: usize,
    /// Metadata pieces received and the number of pieces, once a size is known.
    pub pieces: Option<(u32, u32)>,
    /// Peers whose handshakes failed on the encryption policy.
    pub refused: EncryptionRefusals,
}

impl fmt::Display for FetchStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_progress(f)?;
        if !self.refused.is_empty() {
            write!(f, " ({})", self.refused)?;
        }
        Ok(())
    }
}

impl FetchStatus {
    fn fmt_progress(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            FetchStatus { known: 0, .. } => {
                f.write_str("waiting for peers (from trackers, the DHT and the LAN)")
            }
            FetchStatus {
                serving: 1..,
                pieces: Some((have, total)),
                ..
            } => write!(
                f,
                "{have} of {total} metadata pieces received, from {} peer(s)",
                self.serving
            ),
            FetchStatus { connected: 1.., .. } => write!(
                f,
                "connected to {} peer(s), none serves the metadata yet",
                self.connected
            ),
            FetchStatus {
                connecting: 1.., ..
            } => write!(
                f,
                "connecting to {} of {} known peer(s)",
                self.connecting, self.known
            ),
            FetchStatus { known, .. } => write!(
                f,
                "no connection to any of {known} known peer(s); trying again"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_what_the_fetch_waits_for() {
        let mut s = FetchStatus::default();
        assert!(s.to_string().starts_with("waiting for peers"));
        s.known = 3;
        assert_eq!(
            s.to_string(),
            "no connection to any of 3 known peer(s); trying again"
        );
        s.connecting = 2;
        assert_eq!(s.to_string(), "connecting to 2 of 3 known peer(s)");
        s.connected = 1;
        assert_eq!(
            s.to_string(),
            "connected to 1 peer(s), none serves the metadata yet"
        );
        s.serving = 1;
        s.pieces = Some((1, 3));
        assert_eq!(
            s.to_string(),
            "1 of 3 metadata pieces received, from 1 peer(s)"
        );
        let mut s = FetchStatus {
            known: 2,
            ..FetchStatus::default()
        };
        s.refused.require_encryption = 2;
        assert_eq!(
            s.to_string(),
            "no connection to any of 2 known peer(s); trying again \
             (2 peers refused: they require encryption)"
        );
    }
}
