//! Errors of the DHT driver: starting it (binding the socket) and saving its state.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Why starting the DHT node or saving its state failed. All of these are local
/// failures: nothing a remote node sends can produce one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DhtNetError {
    /// The UDP socket could not be bound.
    #[error("cannot bind the DHT socket to {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why binding failed.
        #[source]
        source: io::Error,
    },
    /// The socket could not be bound to the network device asked for.
    #[error("cannot bind the DHT socket to device {device}: {source}")]
    Device {
        /// The device asked for.
        device: String,
        /// Why binding failed.
        #[source]
        source: io::Error,
    },
    /// The bound socket cannot report its address.
    #[error("cannot read the DHT socket's local address: {0}")]
    LocalAddr(#[source] io::Error),
    /// The state file could not be written.
    #[error("cannot save the DHT state to {}: {source}", path.display())]
    Save {
        /// The state file.
        path: PathBuf,
        /// Why writing it failed.
        #[source]
        source: io::Error,
    },
    /// The driver task is gone (shut down, or the runtime is stopping).
    #[error("the DHT task has stopped")]
    Stopped,
}
