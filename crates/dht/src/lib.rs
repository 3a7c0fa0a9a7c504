//! Sans-IO mainline DHT (BEP 5) with BEP 32 (IPv6 nodes), BEP 42 (id/IP binding) and
//! BEP 43 (read-only nodes).
//!
//! Nothing here touches sockets or clocks: the caller feeds datagrams and the current
//! `Instant` into [`Dht`] (`handle_datagram`, `handle_timeout`, commands such as
//! `get_peers` / `announce` / `add_node`) and drains datagrams to send
//! (`poll_transmit`), the next wake-up (`poll_timeout`) and events (`poll_event`).
//!
//! The building blocks are public for reuse and testing: [`krpc`] (message codec),
//! [`id`] (node ids, BEP 42), [`table`] (routing table), [`lookup`] (iterative lookups),
//! [`tokens`], [`storage`] (announced peers), [`ratelimit`] and [`snapshot`].
#![warn(missing_docs, unreachable_pub)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod compact;
mod config;
mod event;
pub mod id;
pub mod krpc;
pub mod lookup;
mod node;
mod node_lookups;
pub mod ratelimit;
mod server;
pub mod snapshot;
pub mod storage;
pub mod table;
pub mod tokens;

pub use compact::NodeInfo;
pub use config::DhtConfig;
pub use event::{DhtEvent, LookupSummary};
pub use id::{bep42_id, is_bep42_valid, NodeId};
pub use lookup::{LookupParams, LookupStats};
pub use node::{Dht, DhtStats};
pub use ratelimit::RateLimitConfig;
pub use snapshot::SnapshotError;
