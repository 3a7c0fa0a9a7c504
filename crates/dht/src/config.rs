//! Settings of a [`Dht`](crate::Dht) node.

use std::net::SocketAddr;
use std::time::Duration;

use crate::id::NodeId;
use crate::lookup::LookupParams;
use crate::ratelimit::RateLimitConfig;

/// Settings of a [`Dht`](crate::Dht) node; [`Default`] gives values fit for the public
/// network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhtConfig {
    /// Our node id; random when `None` (see [`crate::id::bep42_id`] to derive one from
    /// the external IP).
    pub id: Option<NodeId>,
    /// Nodes to ask first (e.g. well-known routers, resolved by the caller).
    pub bootstrap: Vec<SocketAddr>,
    /// BEP 43: set `ro` on our queries and never answer queries.
    pub read_only: bool,
    /// Seed of the node's RNG (ids, transaction ids, token secrets); `None` seeds from
    /// the OS. Tests set it for determinism.
    pub rng_seed: Option<u64>,
    /// Client version sent as `v` (BEP 5 suggests 2 client letters + 2 version bytes).
    pub version: Option<Vec<u8>>,
    /// A query unanswered for this long has failed.
    pub query_timeout: Duration,
    /// Tuning of every lookup.
    pub lookup: LookupParams,
    /// Limits on answering incoming queries.
    pub rate_limit: RateLimitConfig,
    /// Peers stored per info-hash.
    pub max_peers_per_hash: usize,
    /// Info-hashes we store peers for.
    pub max_info_hashes: usize,
    /// Largest reply we send to a node that has proven its address.
    pub max_reply_len: usize,
    /// Replies to unverified senders are at most this many times the query's size.
    pub amplification_factor: usize,
    /// Most peers put in one `values` list.
    pub max_reply_values: usize,
    /// Most queries of ours awaiting an answer.
    pub max_pending: usize,
    /// Most concurrent lookups started by the node itself (refreshes); lookups asked
    /// for through commands always start.
    pub max_lookups: usize,
    /// Wait before retrying a bootstrap that found nobody.
    pub bootstrap_retry: Duration,
}

impl Default for DhtConfig {
    fn default() -> Self {
        DhtConfig {
            id: None,
            bootstrap: Vec::new(),
            read_only: false,
            rng_seed: None,
            version: None,
            query_timeout: Duration::from_secs(4),
            lookup: LookupParams::default(),
            rate_limit: RateLimitConfig::default(),
            max_peers_per_hash: 100,
            max_info_hashes: 5000,
            max_reply_len: 1200,
            amplification_factor: 4,
            max_reply_values: 100,
            max_pending: 512,
            max_lookups: 32,
            bootstrap_retry: Duration::from_secs(30),
        }
    }
}
