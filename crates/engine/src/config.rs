//! Session and per-torrent settings, with the reasoning behind each default.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Settings shared by every torrent of a session.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Where to accept peer connections. Port 0 picks a free port (see
    /// [`crate::Session::local_addr`]).
    pub listen_addr: SocketAddr,
    /// Our peer id; [`crate::generate_peer_id`] by default.
    pub peer_id: [u8; 20],
    /// Connections per torrent. 80 keeps enough sources busy without wasting sockets.
    pub max_peers_per_torrent: usize,
    /// Upload cap for the whole session in bytes per second (`None` = unlimited).
    pub upload_rate_limit: Option<u64>,
    /// Announce to the torrent's trackers. Off in tests that give peers directly.
    pub use_trackers: bool,
    /// How long an outgoing TCP connect plus handshake may take.
    pub connect_timeout: Duration,
    /// Threads used to re-check existing data when a torrent is added.
    pub hash_threads: usize,
    /// Interval of the tracker re-announce floor (trackers asking for less are ignored).
    pub min_announce_interval: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            listen_addr: SocketAddr::from(([0, 0, 0, 0], 6881)),
            peer_id: crate::generate_peer_id(),
            max_peers_per_torrent: 80,
            upload_rate_limit: None,
            use_trackers: true,
            connect_timeout: Duration::from_secs(10),
            hash_threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            min_announce_interval: Duration::from_secs(30),
        }
    }
}

/// Settings for one torrent added to a session.
#[derive(Debug, Clone, Default)]
pub struct AddTorrentOptions {
    /// Directory the torrent's files live in (created if missing).
    pub download_dir: PathBuf,
    /// Peers to connect to in addition to those from trackers. They are retried while
    /// the torrent runs, so a peer that starts later is still reached.
    pub peers: Vec<SocketAddr>,
}
