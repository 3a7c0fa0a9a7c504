//! The tokio engine: owns sockets, files and timers, and drives the sans-IO protocol
//! crates (`shoal-wire`, `shoal-swarm`, `shoal-tracker`) for many torrents at once.
//!
//! Shape: a [`Session`] owns the listening socket and the set of torrents. Each torrent
//! has one control task (connecting, choking, announcing) and one task per peer
//! connection. Peer tasks share the torrent's picker and peer table through one mutex
//! that is never held across an `.await` or a disk operation. See ARCHITECTURE.md.
#![cfg_attr(test, allow(clippy::unwrap_used))]
#![warn(missing_docs, unreachable_pub)]

mod clock;
mod config;
mod connection_count;
mod context;
mod control;
mod discovery;
mod disk;
mod error;
mod handshake;
mod hasher;
mod magnet;
mod net;
mod peer;
mod pending_handshakes;
mod ratelimit;
mod refusals;
mod session;
mod store;
mod torrent;
mod transport;
mod verifier;

pub use config::{
    AddTorrentOptions, Content, DhtSettings, FilePriority, ResumeData, SessionConfig, TorrentLimits,
};
pub use error::{AddTorrentError, RemoveError, SessionError, StoreError, TorrentError};
pub use magnet::{FetchStatus, MetadataError};
pub use net::{MemoryListener, MemoryNetwork, MemoryStream, Network, PIPE_CAPACITY};
pub use refusals::{EncryptionRefusal, EncryptionRefusals};
pub use session::{Session, SessionStats};
pub use shoal_mse::EncryptionPolicy;
pub use torrent::{FileSnapshot, TorrentState, TrackerSnapshot};
pub use torrent::{PeerSnapshot, StreamPriority, TorrentHandle, TorrentStats};

/// Our client name as sent in the extension handshake and tracker user agent.
pub const CLIENT_NAME: &str = concat!("shoal ", env!("CARGO_PKG_VERSION"));

/// A fresh Azureus-style peer id: `-SH0100-` followed by 12 random bytes.
pub fn generate_peer_id() -> [u8; 20] {
    let mut id = [0u8; 20];
    id[..8].copy_from_slice(b"-SH0100-");
    rand::Rng::fill(&mut rand::thread_rng(), &mut id[8..]);
    id
}
