//! Session and per-torrent settings, with the reasoning behind each default.

use shoal_mse::EncryptionPolicy;
use shoal_private::{ContentKey, PrivateSource};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Settings shared by every torrent of a session.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Where to accept peer connections. Port 0 picks a free port (see
    /// [`crate::Session::local_addr`]). Unless its address is the unspecified one,
    /// every other socket of the session leaves from it too: peer connections,
    /// tracker requests, the DHT and LSD (a tracker or peer of the other address
    /// family is then out of reach rather than reached from another address).
    pub listen_addr: SocketAddr,
    /// The network device every socket of the session is bound to (Linux's
    /// `SO_BINDTODEVICE`, like qBittorrent's "network interface"): nothing leaves
    /// through another interface, even if the routes change. `None`: any.
    pub interface: Option<String>,
    /// Our peer id; [`crate::generate_peer_id`] by default.
    pub peer_id: [u8; 20],
    /// Connections per torrent. 80 keeps enough sources busy without wasting sockets.
    pub max_peers_per_torrent: usize,
    /// Upload cap for the whole session in bytes per second (`None` = unlimited).
    pub upload_rate_limit: Option<u64>,
    /// Announce to the torrent's trackers. Off in tests that give peers directly.
    pub use_trackers: bool,
    /// How long an outgoing TCP connect may take.
    pub connect_timeout: Duration,
    /// How long the BitTorrent (and MSE) handshake of a connection may take, either
    /// way. 15 s is ample for a slow link; a peer trickling its handshake byte by byte
    /// is dropped then.
    pub handshake_timeout: Duration,
    /// A connection where neither side has been interested in the other for this long
    /// is closed (libtorrent's inactivity timeout is the same 10 minutes): a peer that
    /// only sends keep-alives does not hold a slot forever.
    pub peer_inactivity_timeout: Duration,
    /// When a torrent is at its peer cap, an incoming peer takes the slot of one that
    /// has been connected this long with interest on neither side.
    pub peer_eviction_grace: Duration,
    /// Threads used to re-check existing data when a torrent is added.
    pub hash_threads: usize,
    /// How long a torrent paused by a disk fault (disk full, read-only directory) waits
    /// before it tries again. 30 s notices freed space soon without spinning on a disk
    /// that stays full; resuming the torrent by hand retries at once.
    pub disk_retry_interval: Duration,
    /// Files kept open at once over all torrents (an LRU of handles; the rest reopen on
    /// demand). 256 files plus `max_connections` sockets and the handshakes under way
    /// stay under the usual limit of 1,024 descriptors per process.
    pub max_open_files: usize,
    /// Interval of the tracker re-announce floor (trackers asking for less are ignored).
    pub min_announce_interval: Duration,
    /// Exchange peers with peers (BEP 11 `ut_pex`); never for private torrents.
    pub pex: bool,
    /// Local service discovery (BEP 14) on the LAN's multicast group. Off by default in
    /// the library: multicast leaves the machine, so the application opts in.
    pub lsd: bool,
    /// The mainline DHT (BEP 5); `None` = off. Off by default in the library for the
    /// same reason; the CLI turns it on with the public bootstrap routers.
    pub dht: Option<DhtSettings>,
    /// Message stream encryption (MSE/PE) on peer connections. `Prefer` (the default,
    /// as in the common clients) starts outgoing connections encrypted, falls back to
    /// a plain handshake for peers that do not speak MSE, and accepts both kinds
    /// incoming; `Require` refuses unencrypted peers; `Disable` never encrypts.
    pub encryption: EncryptionPolicy,
    /// Session-wide download cap in bytes per second (`None`: unlimited).
    pub download_rate_limit: Option<u64>,
    /// Most peer connections open at once across every torrent of the session.
    pub max_connections: usize,
    /// Threads writing received blocks and hashing pieces (`None`: `hash_threads`, at
    /// most 8). `Some(0)` does that work on the task that received the blocks instead:
    /// slower, but with no thread beside the runtime, so a test in tokio's paused time
    /// stays deterministic.
    pub disk_threads: Option<usize>,
    /// Where peer connections go: TCP, or an in-memory network for tests and
    /// simulation (see [`crate::MemoryNetwork`]).
    pub network: crate::Network,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            listen_addr: SocketAddr::from(([0, 0, 0, 0], 6881)),
            interface: None,
            peer_id: crate::generate_peer_id(),
            max_peers_per_torrent: 80,
            upload_rate_limit: None,
            use_trackers: true,
            connect_timeout: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(15),
            peer_inactivity_timeout: Duration::from_secs(600),
            peer_eviction_grace: Duration::from_secs(60),
            hash_threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            disk_retry_interval: Duration::from_secs(30),
            max_open_files: 256,
            min_announce_interval: Duration::from_secs(30),
            pex: true,
            lsd: false,
            dht: None,
            encryption: EncryptionPolicy::Prefer,
            download_rate_limit: None,
            max_connections: 500,
            disk_threads: None,
            network: crate::Network::Tcp,
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
    /// The data was just hashed from these very files (e.g. the torrent was created from
    /// them a moment ago): seed without re-checking.
    pub skip_check: bool,
    /// What the torrent's bytes are: ordinary files, or a private link's ciphertext.
    pub content: Content,
    /// Progress saved by an earlier run: which pieces to trust and the byte counters.
    pub resume: Option<ResumeData>,
    /// Add the torrent paused: no peers and no announces until it is resumed.
    pub paused: bool,
    /// One priority per file, in metainfo order (any other length is ignored).
    pub file_priorities: Vec<FilePriority>,
    /// Download pieces in order (for playing while downloading) instead of rarest first.
    pub sequential: bool,
    /// Rate and peer caps of this torrent alone.
    pub limits: TorrentLimits,
}
/// How much a file is wanted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilePriority {
    /// Not downloaded (pieces it shares with wanted files still are).
    Skip,
    /// Downloaded like `Normal` (no lower tier yet), after every `High` file.
    Low,
    /// Downloaded in the usual order (rarest first, or sequential).
    #[default]
    Normal,
    /// Downloaded before every other file.
    High,
}
/// Caps of one torrent, on top of the session's (`None`: only the session's cap).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TorrentLimits {
    /// Upload cap in bytes per second.
    pub upload_rate: Option<u64>,
    /// Download cap in bytes per second.
    pub download_rate: Option<u64>,
    /// Most connected peers (default: `SessionConfig::max_peers_per_torrent`).
    pub max_peers: Option<usize>,
}
/// What a torrent's earlier run left behind, to start where it stopped.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ResumeData {
    /// The bitfield of verified pieces, as in a `bitfield` message.
    pub pieces: Vec<u8>,
    /// Take `pieces` as verified without re-checking them (the files were not touched since).
    pub trust_only: bool,
    /// Payload bytes uploaded in earlier runs (counters continue from here).
    pub uploaded: u64,
    /// Payload bytes downloaded in earlier runs.
    pub downloaded: u64,
}

/// How a torrent's bytes map to the disk.
#[derive(Clone, Default)]
pub enum Content {
    /// The torrent's files, as named in it, below the download directory.
    #[default]
    Files,
    /// A private link being sent: the torrent is the single-file ciphertext stream,
    /// computed from the plaintext files of this source (never written).
    PrivateSend(PrivateSource),
    /// A private link being received with this key: the single-file ciphertext stream
    /// is decrypted into the share's files below the download directory. A wrong key
    /// fails the torrent with [`crate::TorrentError::WrongKey`] before any file exists.
    PrivateReceive(ContentKey),
}

impl fmt::Debug for Content {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key.
        f.write_str(match self {
            Content::Files => "Files",
            Content::PrivateSend(_) => "PrivateSend(..)",
            Content::PrivateReceive(_) => "PrivateReceive(..)",
        })
    }
}

/// DHT settings of a session.
#[derive(Debug, Clone, Default)]
pub struct DhtSettings {
    /// Nodes to join through (`HOST:PORT`); the caller supplies the defaults.
    pub bootstrap: Vec<String>,
    /// Where the node id and routing table are kept between runs.
    pub state_file: Option<PathBuf>,
}
