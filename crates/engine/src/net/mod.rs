//! The socket layer: a connection is a [`PeerStream`] (`peer_stream`: a
//! readiness-based byte stream with `sendfile` as an optional capability), over the
//! host's TCP or the in-memory pipes of `memory`; `network` binds listeners and opens
//! connections on either. Nothing here knows BitTorrent; `transport` runs the
//! handshakes on top, uTP will be one more `PeerStream`.

mod bind;
mod memory;
mod network;
mod peer_stream;

pub(crate) use bind::{check_device, SourceBinding};
pub use memory::{MemoryListener, MemoryNetwork, MemoryStream, PIPE_CAPACITY};
pub use network::Network;
pub(crate) use network::{connect, Listener};
pub(crate) use peer_stream::{read, readable, writable, write_all, BoxStream, PeerStream};
