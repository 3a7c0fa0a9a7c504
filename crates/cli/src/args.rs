//! Command-line arguments (clap derive).

use clap::{Args, Parser, Subcommand};
use shoal_engine::EncryptionPolicy;
use std::net::IpAddr;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "shoal",
    version,
    about = "A fast BitTorrent client",
    propagate_version = true
)]
pub struct Cli {
    /// More log output (-v info, -vv debug, -vvv trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only print errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a .torrent file from a file or directory and print its magnet link.
    Create(CreateArgs),
    /// Verify local data for a torrent and seed it until interrupted.
    Seed(SeedArgs),
    /// Download a torrent or link; exits 0 once every piece is verified.
    Get(GetArgs),
    /// Share a file or directory: seed it and print a link (and its QR code) to give to
    /// whoever should receive it. The link is private by default: peers, trackers and
    /// the DHT only ever see encrypted data; the key is in the link after `#`.
    Send(SendArgs),
    /// Run the daemon in the foreground: many torrents, resume across restarts, a JSON
    /// API and a web UI (prints their address and where the API token is). Stops
    /// cleanly on Ctrl-C or SIGTERM. `shoal daemon token` prints the token.
    Daemon(crate::commands::daemon::DaemonArgs),
    /// Add a magnet or private link, a .torrent file, or a local path to share to the
    /// running daemon.
    Add(crate::commands::client::AddArgs),
    /// List the daemon's torrents.
    List(crate::commands::client::ClientArgs),
    /// Show one torrent of the daemon.
    Info(crate::commands::client::IdArgs),
    /// Pause a torrent of the daemon.
    Pause(crate::commands::client::IdArgs),
    /// Resume a torrent of the daemon (it may wait in the queue).
    Resume(crate::commands::client::IdArgs),
    /// Remove a torrent from the daemon.
    Rm(crate::commands::client::RmArgs),
    /// Show or change the daemon's rate and connection limits (global, or one torrent's).
    Limit(crate::commands::client::LimitArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// File or directory to share.
    pub path: PathBuf,
    /// Where to write the torrent (default: NAME.torrent in the current directory).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Tracker announce URL; repeat for more (each becomes its own tier).
    #[arg(short = 't', long = "tracker")]
    pub trackers: Vec<String>,
    /// Piece size in bytes (default: chosen from the total size).
    #[arg(long)]
    pub piece_size: Option<u32>,
    /// Mark the torrent private (no DHT or peer exchange).
    #[arg(long)]
    pub private: bool,
    /// A comment stored in the torrent.
    #[arg(long)]
    pub comment: Option<String>,
}

/// Options for commands that join a swarm.
#[derive(Debug, Args)]
pub struct NetArgs {
    /// Port to accept peers on (0 picks a free port).
    #[arg(long, default_value_t = 6881)]
    pub port: u16,
    /// Address to listen on. Unless it is 0.0.0.0, every connection and request
    /// (peers, trackers, DHT, LAN discovery) leaves from it too.
    #[arg(long, default_value = "0.0.0.0")]
    pub bind: IpAddr,
    /// Network interface to bind every socket to (e.g. a VPN's `wg0`): nothing
    /// leaves through another interface, even if the routes change. Linux only.
    #[arg(long, value_name = "NAME")]
    pub interface: Option<String>,
    /// A peer to connect to (HOST:PORT); repeat for more.
    #[arg(long = "peer", value_name = "HOST:PORT")]
    pub peers: Vec<String>,
    /// Upload limit in bytes per second.
    #[arg(long, value_name = "BYTES_PER_SEC")]
    pub upload_limit: Option<u64>,
    /// Do not announce to the torrent's trackers.
    #[arg(long)]
    pub no_trackers: bool,
    /// Do not use the mainline DHT.
    #[arg(long)]
    pub no_dht: bool,
    /// A DHT node to join through (HOST:PORT); repeat for more. Replaces the default
    /// public routers.
    #[arg(
        long = "dht-bootstrap",
        value_name = "HOST:PORT",
        conflicts_with = "no_dht"
    )]
    pub dht_bootstrap: Vec<String>,
    /// Do not use local service discovery (LAN multicast).
    #[arg(long)]
    pub no_lsd: bool,
    /// Do not exchange peer addresses with peers (PEX).
    #[arg(long)]
    pub no_pex: bool,
    /// Where to keep state between runs (DHT node id and routing table).
    /// Default: the user's data directory, e.g. ~/.local/share/shoal.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Message stream encryption (MSE/PE) with peers: `prefer` encrypts when the peer
    /// can and accepts plaintext peers, `require` talks to encrypting peers only,
    /// `disable` never encrypts. It hides the traffic from casual inspection; it does
    /// not authenticate peers.
    #[arg(
        long,
        value_name = "POLICY",
        default_value = "prefer",
        value_parser = encryption_parser()
    )]
    pub encryption: EncryptionPolicy,
}

/// The `--encryption` values, listed in the help and in errors.
pub fn encryption_parser() -> impl clap::builder::TypedValueParser<Value = EncryptionPolicy> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(["prefer", "require", "disable"])
        .map(|s| s.parse().unwrap_or_default())
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// The .torrent file.
    pub torrent: PathBuf,
    /// Directory holding the torrent's data (the file, or the torrent's folder).
    #[arg(short = 'd', long = "data-dir", default_value = ".")]
    pub data_dir: PathBuf,
    #[command(flatten)]
    pub net: NetArgs,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// A .torrent file, a magnet link, or a private link (`magnet:?…#k=KEY`, as printed
    /// by `shoal send`). Peers come from `x.pe`, `--peer`, the link's trackers, the
    /// DHT, local discovery and peer exchange. A private link's key never leaves this
    /// process; without the key, the encrypted data is downloaded as it is.
    pub source: String,
    /// Directory to download into.
    #[arg(short, long = "output", default_value = ".")]
    pub output: PathBuf,
    /// Keep seeding after the download completes, until interrupted.
    #[arg(long)]
    pub seed: bool,
    #[command(flatten)]
    pub net: NetArgs,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// File or directory to share.
    pub path: PathBuf,
    /// Exit once this many peers have the whole content.
    #[arg(long, value_name = "N")]
    pub until_done: Option<usize>,
    /// Always print the QR code (by default only when stdout is a terminal).
    #[arg(long, conflicts_with = "no_qr")]
    pub qr: bool,
    /// Never print the QR code.
    #[arg(long)]
    pub no_qr: bool,
    /// Piece size in bytes (default: chosen from the total size).
    #[arg(long)]
    pub piece_size: Option<u32>,
    /// Share openly: print a plain magnet link; peers see the files and their names.
    #[arg(long)]
    pub public: bool,
    #[command(flatten)]
    pub net: NetArgs,
}
