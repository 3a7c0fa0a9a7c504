//! `shoal daemon`: run the daemon in the foreground (flags override the config file,
//! `--config FILE` or `STATE_DIR/config.toml` when present), and `shoal daemon token`.

use crate::args::encryption_parser;
use crate::state_dir;
use anyhow::Context;
use clap::{Args, Subcommand};
use shoal_daemon::config::ConfigLayer;
use shoal_daemon::state::StateDir;
use shoal_daemon::Daemon;
use shoal_engine::EncryptionPolicy;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DaemonArgs {
    #[command(subcommand)]
    pub action: Option<DaemonAction>,
    /// Config file (TOML) with any of: listen_port, listen_bind, interface, api_addr,
    /// download_dir,
    /// upload_limit, download_limit, max_active_downloads, max_active_seeds,
    /// max_connections, max_peers_per_torrent, dht, dht_bootstrap, lsd, pex, encryption,
    /// trackers, allowed_hosts, cors_origins, seed_ratio, seed_time_secs. Flags override
    /// it. Default: STATE_DIR/config.toml if present.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where to keep the daemon's state (torrents, resume data, API token).
    /// Default: the user's data directory, e.g. ~/.local/share/shoal.
    #[arg(long, value_name = "DIR", global = true)]
    pub state_dir: Option<PathBuf>,
    /// Port to accept peers on (0 picks a free port). Default 6881.
    #[arg(long)]
    pub port: Option<u16>,
    /// Address to accept peers on; unless it is 0.0.0.0, every connection and
    /// request leaves from it too. Default 0.0.0.0.
    #[arg(long)]
    pub bind: Option<IpAddr>,
    /// Network interface to bind every peer, tracker and DHT socket to (nothing
    /// leaves through another interface). Linux only. Default: any.
    #[arg(long, value_name = "NAME")]
    pub interface: Option<String>,
    /// Address of the API and web UI (port 0 picks a free port). Default 127.0.0.1:9091.
    #[arg(long, value_name = "ADDR")]
    pub api: Option<SocketAddr>,
    /// Default directory for downloads. Default STATE_DIR/downloads.
    #[arg(long, value_name = "DIR")]
    pub download_dir: Option<PathBuf>,
    /// Session upload limit in bytes per second (0 = unlimited).
    #[arg(long, value_name = "BYTES_PER_SEC")]
    pub upload_limit: Option<u64>,
    /// Session download limit in bytes per second (0 = unlimited).
    #[arg(long, value_name = "BYTES_PER_SEC")]
    pub download_limit: Option<u64>,
    /// Torrents downloading at once (the rest are queued). Default 3.
    #[arg(long, value_name = "N")]
    pub max_active_downloads: Option<usize>,
    /// Torrents seeding at once (the rest are queued). Default 10.
    #[arg(long, value_name = "N")]
    pub max_active_seeds: Option<usize>,
    /// Peer connections of all torrents together. Default 500.
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// Peer connections per torrent. Default 80.
    #[arg(long, value_name = "N")]
    pub max_peers: Option<usize>,
    /// Do not use the mainline DHT.
    #[arg(long)]
    pub no_dht: bool,
    /// A DHT node to join through (HOST:PORT); repeat for more.
    #[arg(long = "dht-bootstrap", value_name = "HOST:PORT")]
    pub dht_bootstrap: Vec<String>,
    /// Do not use local service discovery (LAN multicast).
    #[arg(long)]
    pub no_lsd: bool,
    /// Do not exchange peer addresses with peers (PEX).
    #[arg(long)]
    pub no_pex: bool,
    /// Do not announce to trackers.
    #[arg(long)]
    pub no_trackers: bool,
    /// Message stream encryption with peers: prefer, require, disable.
    #[arg(long, value_name = "POLICY", value_parser = encryption_parser())]
    pub encryption: Option<EncryptionPolicy>,
    /// Another host name the API answers to (e.g. a LAN name); repeat for more.
    #[arg(long = "allowed-host", value_name = "NAME")]
    pub allowed_hosts: Vec<String>,
    /// An origin allowed to call the API from a browser (CORS); repeat for more.
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    pub cors_origins: Vec<String>,
    /// Default seeding goal: pause a complete torrent at this upload ratio.
    #[arg(long, value_name = "RATIO")]
    pub seed_ratio: Option<f64>,
    /// Default seeding goal: pause a complete torrent after seeding this many seconds.
    #[arg(long, value_name = "SECS")]
    pub seed_time: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum DaemonAction {
    /// Print the API token (from the state directory).
    Token,
}

fn encryption_name(p: EncryptionPolicy) -> String {
    match p {
        EncryptionPolicy::Require => "require",
        EncryptionPolicy::Disable => "disable",
        _ => "prefer",
    }
    .to_string()
}

impl DaemonArgs {
    /// The settings the flags set (unset flags leave the config file's value).
    fn layer(&self) -> ConfigLayer {
        let list = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
        ConfigLayer {
            listen_port: self.port,
            listen_bind: self.bind,
            interface: self.interface.clone(),
            api_addr: self.api,
            download_dir: self.download_dir.as_deref().map(absolute),
            upload_limit: self.upload_limit,
            download_limit: self.download_limit,
            max_active_downloads: self.max_active_downloads,
            max_active_seeds: self.max_active_seeds,
            max_connections: self.max_connections,
            max_peers_per_torrent: self.max_peers,
            dht: self.no_dht.then_some(false),
            dht_bootstrap: list(&self.dht_bootstrap),
            lsd: self.no_lsd.then_some(false),
            pex: self.no_pex.then_some(false),
            encryption: self.encryption.map(encryption_name),
            trackers: self.no_trackers.then_some(false),
            allowed_hosts: list(&self.allowed_hosts),
            cors_origins: list(&self.cors_origins),
            seed_ratio: self.seed_ratio,
            seed_time_secs: self.seed_time,
        }
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The state directory: the flag, or the default.
pub fn state_root(flag: Option<&Path>) -> anyhow::Result<PathBuf> {
    flag.map(absolute)
        .or_else(state_dir::default_dir)
        .context("no state directory: give --state-dir")
}

pub async fn run(args: DaemonArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let root = state_root(args.state_dir.as_deref())?;
    if let Some(DaemonAction::Token) = args.action {
        println!("{}", shoal_daemon::state::read_token(&root)?);
        return Ok(ExitCode::SUCCESS);
    }
    let file = match &args.config {
        Some(path) => ConfigLayer::load(path)?,
        None => {
            let default = root.join("config.toml");
            if default.exists() {
                ConfigLayer::load(&default)?
            } else {
                ConfigLayer::default()
            }
        }
    };
    // Limits last set through the API sit between the flags and the config file.
    let saved = shoal_daemon::state::read_saved_limits(&root).unwrap_or_else(|e| {
        eprintln!("warning: {e}; limits saved by the API ignored");
        ConfigLayer::default()
    });
    let config = args.layer().over(saved).over(file).resolve(&root)?;
    let dht_state = if config.dht {
        state_dir::dht_state_file(Some(&root))?
    } else {
        None
    };
    let state = StateDir::open(&root)?;
    let daemon = Daemon::start(config, state, dht_state).await?;
    println!("api http://{}", daemon.api_addr);
    println!("listening on {}", daemon.manager.listen_addr());
    println!("token in {}", daemon.token_path.display());
    if !quiet {
        eprintln!(
            "web UI: http://{}/ (paste the token from `shoal daemon token`)",
            daemon.api_addr
        );
    }
    daemon.run_until(crate::signals::interrupted()).await;
    if !quiet {
        eprintln!("stopped");
    }
    Ok(ExitCode::SUCCESS)
}
