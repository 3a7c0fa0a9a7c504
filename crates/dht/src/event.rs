//! What a [`Dht`](crate::Dht) reports to its owner through `poll_event`.

use std::net::SocketAddr;

use crate::compact::NodeInfo;
use crate::lookup::LookupStats;

/// Something the node's owner should know about; see each variant.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DhtEvent {
    /// The first lookup for our own id finished with a non-empty table.
    Bootstrapped {
        /// Nodes in the table at that point.
        nodes: usize,
    },
    /// A `get_peers` / `announce` lookup learned peers it had not reported before.
    PeersFound {
        /// The torrent looked up.
        info_hash: [u8; 20],
        /// The new peers.
        peers: Vec<SocketAddr>,
    },
    /// A `get_peers` / `announce` lookup finished (announces, if any, were sent).
    LookupDone {
        /// The torrent looked up.
        info_hash: [u8; 20],
        /// How it went.
        summary: LookupSummary,
    },
}

/// How a finished lookup went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupSummary {
    /// The lookup's counters.
    pub stats: LookupStats,
    /// Distinct peers found.
    pub peers: usize,
    /// `announce_peer` queries sent.
    pub announced: usize,
    /// The closest nodes that answered, closest first.
    pub closest: Vec<NodeInfo>,
}
