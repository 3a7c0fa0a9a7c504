//! tokio UDP driver for the sans-IO mainline DHT in `shoal-dht`.
//!
//! [`DhtNode::spawn`] binds one UDP socket (its family is the node's family: run one
//! node for IPv4 and one for IPv6, as BEP 32 suggests), resolves the bootstrap hosts,
//! restores the routing table and node id from the state file when there is a valid one
//! (a missing or corrupt file means a fresh start, never an error) and starts one task.
//! The returned [`DhtNode`] is a cheap cloneable handle; the task ends when
//! [`DhtNode::shutdown`] is called or the last handle is dropped, saving its state
//! first.
//!
//! # The driver loop
//!
//! The task alone owns the socket and the [`shoal_dht::Dht`] state machine, so no lock
//! is involved. Each turn of the loop:
//!
//! 1. **flush**: sends every datagram the DHT queued (`poll_transmit`; a failed send is
//!    logged, never fatal), then routes its events (`poll_event`): `PeersFound` and
//!    `LookupDone` go to every [`PeerSearch`] of that info-hash (closed ones are
//!    dropped), and the bootstrapped flag is published for
//!    [`DhtNode::wait_bootstrapped`];
//! 2. **wait** (`tokio::select!`) for the first of:
//!    - a datagram (one reused 64 KiB buffer; up to 64 already-queued datagrams are
//!      read before flushing) → `handle_datagram`. Anything a remote sends, garbage
//!      included, only reaches the DHT's decoder, which drops what it cannot parse;
//!    - a command from a handle (search, add node, stats, snapshot, shutdown);
//!    - the DHT's own timer, `sleep_until(poll_timeout())` → `handle_timeout`;
//!    - the save timer (with a state file), which writes a snapshot from another task.
//!
//! Time is `std::time::Instant::now()`, as the sans-IO crate expects.
//!
//! Searches of the same info-hash share the DHT's single lookup for it; a search that
//! joins a running lookup first receives the peers found so far. State files are
//! written atomically (temporary file, fsync, rename), and an older snapshot never
//! replaces a newer one.
#![warn(missing_docs, unreachable_pub)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod config;
mod driver;
mod error;
mod node;
mod search;
mod state;

pub use config::{DhtNetConfig, DEFAULT_BOOTSTRAP, RESOLVE_TIMEOUT};
pub use error::DhtNetError;
pub use node::DhtNode;
pub use search::{PeerSearch, SearchEvent};
pub use state::MAX_STATE_LEN;

pub use shoal_dht::{DhtConfig, DhtStats, LookupStats, LookupSummary, NodeId, RateLimitConfig};
