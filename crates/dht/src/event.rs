//! What a [`Dht`](crate::Dht) reports to its owner through `poll_event`.

use std::net::SocketAddr;

use crate::compact::NodeInfo;
use crate::lookup::LookupStats;

#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DhtEvent {
    /// The first lookup for our own id finished with a non-empty table.
    Bootstrapped { nodes: usize },
    /// A `get_peers` / `announce` lookup learned peers it had not reported before.
    PeersFound {
        info_hash: [u8; 20],
        peers: Vec<SocketAddr>,
    },
    /// A `get_peers` / `announce` lookup finished (announces, if any, were sent).
    LookupDone {
        info_hash: [u8; 20],
        summary: LookupSummary,
    },
}

/// How a finished lookup went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupSummary {
    pub stats: LookupStats,
    /// Distinct peers found.
    pub peers: usize,
    /// `announce_peer` queries sent.
    pub announced: usize,
    /// The closest nodes that answered, closest first.
    pub closest: Vec<NodeInfo>,
}
