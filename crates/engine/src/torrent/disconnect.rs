//! Why we close a peer connection on our own initiative (as opposed to the peer
//! breaking the protocol or the network failing). Typed so that callers decide on the
//! reason, not on its wording.

use std::fmt;

/// Our own reason for ending a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DisconnectReason {
    /// The torrent is pausing or stopping.
    ShuttingDown,
    /// The torrent is gone (its command channel closed).
    TorrentRemoved,
    /// Both sides have every piece: neither needs the other.
    BothSeeds,
    /// Nothing arrived from the peer for too long.
    IdleTimeout,
    /// Neither side was interested in the other for too long.
    Inactive,
    /// The torrent is at its peer cap and this idle peer makes room for a newcomer.
    MakingRoom,
    /// The peer's address was banned by smart ban: it sent corrupt blocks.
    BannedCorrupt,
    /// The peer's address was banned: pieces only it sent failed repeatedly.
    BannedRepeatedFailures,
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DisconnectReason::ShuttingDown => "shutting down",
            DisconnectReason::TorrentRemoved => "torrent removed",
            DisconnectReason::BothSeeds => "both sides are seeds",
            DisconnectReason::IdleTimeout => "nothing received for too long",
            DisconnectReason::Inactive => "neither side interested for too long",
            DisconnectReason::MakingRoom => "making room for a new peer",
            DisconnectReason::BannedCorrupt => "sent corrupt data (smart ban)",
            DisconnectReason::BannedRepeatedFailures => {
                "sent pieces that repeatedly failed their hash check"
            }
        })
    }
}
