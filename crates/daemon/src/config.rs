//! The daemon's configuration: a TOML file (`--config FILE`, or `STATE_DIR/config.toml`
//! when present) for everything the command-line flags set; flags override the file.
//!
//! [`ConfigLayer`] is one source of settings where every field is optional (the file,
//! the flags); [`ConfigLayer::over`] stacks two of them and [`ConfigLayer::resolve`]
//! fills the gaps with the defaults documented on [`DaemonConfig`]. Unknown keys in the
//! file are an error naming the key, so a typo never silently means "default".

use serde::{Deserialize, Serialize};
use shoal_engine::EncryptionPolicy;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

/// Where the API listens unless told otherwise: loopback only.
pub const DEFAULT_API_ADDR: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9091);

/// One source of settings (config file or flags); `None` = not set here.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigLayer {
    /// Port to accept peers on (0 = any free port).
    pub listen_port: Option<u16>,
    /// Address to accept peers on (and that every socket leaves from, unless it is
    /// the unspecified address).
    pub listen_bind: Option<IpAddr>,
    /// Network device every socket is bound to.
    pub interface: Option<String>,
    /// Address of the HTTP API and web UI (port 0 = any free port).
    pub api_addr: Option<SocketAddr>,
    /// Default directory for new downloads.
    pub download_dir: Option<PathBuf>,
    /// Session upload limit in bytes per second (0 = unlimited).
    pub upload_limit: Option<u64>,
    /// Session download limit in bytes per second (0 = unlimited).
    pub download_limit: Option<u64>,
    /// How many torrents may download at once; the rest wait as "queued".
    pub max_active_downloads: Option<usize>,
    /// How many torrents may seed at once; the rest wait as "queued".
    pub max_active_seeds: Option<usize>,
    /// Peer connections of all torrents together.
    pub max_connections: Option<usize>,
    /// Peer connections per torrent.
    pub max_peers_per_torrent: Option<usize>,
    /// The mainline DHT.
    pub dht: Option<bool>,
    /// The nodes to join the DHT through (`HOST:PORT`).
    pub dht_bootstrap: Option<Vec<String>>,
    /// Local service discovery (LAN multicast).
    pub lsd: Option<bool>,
    /// Peer exchange.
    pub pex: Option<bool>,
    /// `prefer`, `require` or `disable`.
    pub encryption: Option<String>,
    /// Announce to trackers.
    pub trackers: Option<bool>,
    /// Extra host names the API answers to (DNS-rebinding defence allows only the
    /// listen address and loopback names otherwise).
    pub allowed_hosts: Option<Vec<String>>,
    /// Origins allowed to call the API from a browser (CORS); none by default.
    pub cors_origins: Option<Vec<String>>,
    /// Default seeding goal: stop seeding at this upload/download ratio.
    pub seed_ratio: Option<f64>,
    /// Default seeding goal: stop seeding after this many seconds of seeding.
    pub seed_time_secs: Option<u64>,
}

/// The effective configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct DaemonConfig {
    /// Default 6881, like most clients, so port-forwarding guides apply.
    pub listen_port: u16,
    /// Default `0.0.0.0`: peers anywhere may connect.
    pub listen_bind: IpAddr,
    /// Default none: sockets use whichever interface the routes pick.
    pub interface: Option<String>,
    /// Default [`DEFAULT_API_ADDR`] (loopback only: the API controls the machine's disk).
    pub api_addr: SocketAddr,
    /// Default `STATE_DIR/downloads`.
    pub download_dir: PathBuf,
    /// Session upload limit in bytes per second; default unlimited (`None`).
    pub upload_limit: Option<u64>,
    /// Session download limit in bytes per second; default unlimited (`None`).
    pub download_limit: Option<u64>,
    /// Default 3 downloads and 10 seeds: a few transfers at full speed finish sooner
    /// than many sharing the line.
    pub max_active_downloads: usize,
    /// Default 10 (see `max_active_downloads`).
    pub max_active_seeds: usize,
    /// Default 500 connections in all, 80 per torrent (the engine's defaults).
    pub max_connections: usize,
    /// Default 80 (see `max_connections`).
    pub max_peers_per_torrent: usize,
    /// Default on, with the public routers.
    pub dht: bool,
    /// Default empty: the public routers.
    pub dht_bootstrap: Vec<String>,
    /// Default on.
    pub lsd: bool,
    /// Default on.
    pub pex: bool,
    /// Default `prefer`.
    pub encryption: EncryptionPolicy,
    /// Default on.
    pub trackers: bool,
    /// Default none: only the listen address and loopback names.
    pub allowed_hosts: Vec<String>,
    /// Default none: no browser origin but our own.
    pub cors_origins: Vec<String>,
    /// Default none: seed until paused.
    pub seed_ratio: Option<f64>,
    /// Default none: seed until paused.
    pub seed_time_secs: Option<u64>,
}

/// Reading or checking the configuration failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The config file cannot be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The config file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Syntax errors and unknown keys; toml's message names the key and line.
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The config file.
        path: PathBuf,
        /// toml's message, on one line.
        message: String,
    },
    /// A setting whose value cannot be used.
    #[error("invalid setting {key}: {message}")]
    Invalid {
        /// The setting's key.
        key: &'static str,
        /// What is wrong with it.
        message: String,
    },
}

impl ConfigLayer {
    /// Parses TOML text; `path` is only used in error messages.
    pub fn from_toml(text: &str, path: &Path) -> Result<ConfigLayer, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim().replace('\n', " "),
        })
    }

    /// Reads a TOML config file.
    pub fn load(path: &Path) -> Result<ConfigLayer, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&text, path)
    }

    /// The settings of `self`, with those it leaves unset taken from `below`.
    pub fn over(self, below: ConfigLayer) -> ConfigLayer {
        macro_rules! pick {
            ($($f:ident),*) => { ConfigLayer { $($f: self.$f.or(below.$f)),* } };
        }
        pick!(
            listen_port,
            listen_bind,
            interface,
            api_addr,
            download_dir,
            upload_limit,
            download_limit,
            max_active_downloads,
            max_active_seeds,
            max_connections,
            max_peers_per_torrent,
            dht,
            dht_bootstrap,
            lsd,
            pex,
            encryption,
            trackers,
            allowed_hosts,
            cors_origins,
            seed_ratio,
            seed_time_secs
        )
    }

    /// Fills unset settings with the defaults; `state_dir` places the default download
    /// directory.
    pub fn resolve(self, state_dir: &Path) -> Result<DaemonConfig, ConfigError> {
        let encryption = match self.encryption.as_deref() {
            None => EncryptionPolicy::Prefer,
            Some(s @ ("prefer" | "require" | "disable")) => {
                s.parse().map_err(|_| ConfigError::Invalid {
                    key: "encryption",
                    message: format!("unknown policy {s:?}"),
                })?
            }
            Some(other) => {
                return Err(ConfigError::Invalid {
                    key: "encryption",
                    message: format!("{other:?} is not one of prefer, require, disable"),
                })
            }
        };
        if let Some(r) = self.seed_ratio {
            if !r.is_finite() || r < 0.0 {
                return Err(ConfigError::Invalid {
                    key: "seed_ratio",
                    message: format!("{r} is not a ratio >= 0"),
                });
            }
        }
        let nonzero = |v: Option<u64>| v.filter(|&n| n > 0);
        Ok(DaemonConfig {
            listen_port: self.listen_port.unwrap_or(6881),
            listen_bind: self
                .listen_bind
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            interface: self.interface.filter(|i| !i.is_empty()),
            api_addr: self.api_addr.unwrap_or(DEFAULT_API_ADDR),
            download_dir: self
                .download_dir
                .unwrap_or_else(|| state_dir.join("downloads")),
            upload_limit: nonzero(self.upload_limit),
            download_limit: nonzero(self.download_limit),
            max_active_downloads: self.max_active_downloads.unwrap_or(3),
            max_active_seeds: self.max_active_seeds.unwrap_or(10),
            max_connections: self.max_connections.unwrap_or(500),
            max_peers_per_torrent: self.max_peers_per_torrent.unwrap_or(80),
            dht: self.dht.unwrap_or(true),
            dht_bootstrap: self.dht_bootstrap.unwrap_or_default(),
            lsd: self.lsd.unwrap_or(true),
            pex: self.pex.unwrap_or(true),
            encryption,
            trackers: self.trackers.unwrap_or(true),
            allowed_hosts: self.allowed_hosts.unwrap_or_default(),
            cors_origins: self.cors_origins.unwrap_or_default(),
            seed_ratio: self.seed_ratio,
            seed_time_secs: self.seed_time_secs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_is_an_error_naming_it() {
        let err = ConfigLayer::from_toml("listen_prot = 5\n", Path::new("c.toml")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("listen_prot"), "{msg}");
        assert!(msg.contains("c.toml"), "{msg}");
    }

    #[test]
    fn flags_override_file_and_defaults_fill_the_rest() {
        let file = ConfigLayer::from_toml(
            "listen_port = 7000\nupload_limit = 1000\nlsd = false\nallowed_hosts = [\"box.lan\"]\n\
             interface = \"wg0\"\n",
            Path::new("c.toml"),
        )
        .unwrap();
        let flags = ConfigLayer {
            listen_port: Some(7001),
            ..ConfigLayer::default()
        };
        let cfg = flags.over(file).resolve(Path::new("/s")).unwrap();
        assert_eq!(cfg.listen_port, 7001);
        assert_eq!(cfg.upload_limit, Some(1000));
        assert!(!cfg.lsd);
        assert!(cfg.dht);
        assert_eq!(cfg.allowed_hosts, vec!["box.lan".to_string()]);
        assert_eq!(cfg.download_dir, Path::new("/s/downloads"));
        assert_eq!(cfg.api_addr, DEFAULT_API_ADDR);
        assert_eq!(cfg.interface.as_deref(), Some("wg0"));
    }

    #[test]
    fn bad_values_are_errors() {
        let bad = ConfigLayer {
            encryption: Some("sometimes".into()),
            ..ConfigLayer::default()
        };
        assert!(bad.resolve(Path::new("/s")).is_err());
        let bad = ConfigLayer::from_toml("listen_port = \"x\"", Path::new("c.toml"));
        assert!(bad.is_err());
    }
}
