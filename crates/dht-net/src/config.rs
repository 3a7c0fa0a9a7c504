//! Settings of a [`DhtNode`](crate::DhtNode) and resolution of its bootstrap hosts.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use shoal_dht::DhtConfig;
use tokio::task::JoinSet;
use tracing::{debug, warn};

/// Well-known public routers, the product default. Only [`DhtNetConfig::default`] uses
/// them; tests and private networks pass their own list.
pub const DEFAULT_BOOTSTRAP: &[&str] = &[
    "router.bittorrent.com:6881",
    "dht.transmissionbt.com:6881",
    "router.utorrent.com:6881",
    "dht.libtorrent.org:25401",
];

/// How long resolving the bootstrap hosts may hold up [`DhtNode::spawn`](crate::DhtNode::spawn).
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Shortest period accepted for the periodic state save.
pub(crate) const MIN_SAVE_INTERVAL: Duration = Duration::from_secs(1);

/// Settings of a [`DhtNode`](crate::DhtNode): its socket, bootstrap hosts, state file and
/// the DHT's own settings.
#[derive(Debug, Clone)]
pub struct DhtNetConfig {
    /// Address of the UDP socket; its family is the family of the whole node (run two
    /// nodes for IPv4 and IPv6, as BEP 32 suggests).
    pub bind: SocketAddr,
    /// The network device the socket is bound to (Linux's `SO_BINDTODEVICE`): no
    /// datagram leaves through another interface. `None`: any.
    pub interface: Option<String>,
    /// `"HOST:PORT"` entries, resolved at spawn with `tokio::net::lookup_host`; entries
    /// that do not resolve (or only to the other family) are logged and skipped.
    pub bootstrap: Vec<String>,
    /// Where the routing table and node id are kept between runs.
    pub state_file: Option<PathBuf>,
    /// Settings of the DHT itself. The resolved bootstrap addresses are appended to
    /// `dht.bootstrap` (addresses of the other family there are dropped).
    pub dht: DhtConfig,
    /// Period of the automatic save to `state_file` (at least one second).
    pub save_interval: Duration,
}

impl DhtNetConfig {
    /// A node on `bind` with no bootstrap hosts, no state file and default DHT settings.
    pub fn new(bind: SocketAddr) -> DhtNetConfig {
        DhtNetConfig {
            bind,
            interface: None,
            bootstrap: Vec::new(),
            state_file: None,
            dht: DhtConfig::default(),
            save_interval: Duration::from_secs(5 * 60),
        }
    }
}

impl Default for DhtNetConfig {
    /// The product default: `0.0.0.0:6881` and the [`DEFAULT_BOOTSTRAP`] routers.
    fn default() -> Self {
        DhtNetConfig {
            bootstrap: DEFAULT_BOOTSTRAP.iter().map(|s| (*s).to_owned()).collect(),
            ..DhtNetConfig::new(SocketAddr::from(([0, 0, 0, 0], 6881)))
        }
    }
}

/// Resolves `hosts` concurrently (each within [`RESOLVE_TIMEOUT`]) and keeps the
/// addresses of the wanted family, in the order of `hosts`, without duplicates.
pub(crate) async fn resolve_bootstrap(hosts: &[String], v6: bool) -> Vec<SocketAddr> {
    let mut set = JoinSet::new();
    for (i, host) in hosts.iter().enumerate() {
        let host = host.clone();
        set.spawn(async move {
            let found =
                tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host(host.clone())).await;
            let addrs = match found {
                Ok(Ok(addrs)) => addrs.collect(),
                Ok(Err(e)) => {
                    warn!(%host, error = %e, "cannot resolve DHT bootstrap host");
                    Vec::new()
                }
                Err(_) => {
                    warn!(%host, "resolving DHT bootstrap host timed out");
                    Vec::new()
                }
            };
            (i, host, addrs)
        });
    }
    let mut per_host: Vec<Vec<SocketAddr>> = vec![Vec::new(); hosts.len()];
    while let Some(joined) = set.join_next().await {
        let Ok((i, host, addrs)) = joined else {
            continue;
        };
        let (keep, other): (Vec<SocketAddr>, Vec<SocketAddr>) =
            addrs.into_iter().partition(|a| a.is_ipv6() == v6);
        if keep.is_empty() && !other.is_empty() {
            debug!(%host, "DHT bootstrap host has no address of the socket's family");
        }
        if let Some(slot) = per_host.get_mut(i) {
            *slot = keep;
        }
    }
    let mut out = Vec::new();
    for addr in per_host.into_iter().flatten() {
        if !out.contains(&addr) {
            out.push(addr);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn resolves_literals_and_skips_bad_entries() {
        let hosts = vec![
            "127.0.0.1:6881".to_owned(),
            "no port here".to_owned(),
            "[::1]:6881".to_owned(),
            "127.0.0.1:6881".to_owned(),
            "127.0.0.1:7000".to_owned(),
        ];
        let v4 = resolve_bootstrap(&hosts, false).await;
        assert_eq!(
            v4,
            vec![
                "127.0.0.1:6881".parse::<SocketAddr>().unwrap(),
                "127.0.0.1:7000".parse().unwrap()
            ]
        );
        let v6 = resolve_bootstrap(&hosts, true).await;
        assert_eq!(v6, vec!["[::1]:6881".parse::<SocketAddr>().unwrap()]);
        assert!(resolve_bootstrap(&[], false).await.is_empty());
    }

    #[test]
    fn defaults() {
        let d = DhtNetConfig::default();
        assert_eq!(d.bootstrap.len(), DEFAULT_BOOTSTRAP.len());
        assert_eq!(d.save_interval, Duration::from_secs(300));
        let n = DhtNetConfig::new("127.0.0.1:0".parse().unwrap());
        assert!(n.bootstrap.is_empty() && n.state_file.is_none());
    }
}
