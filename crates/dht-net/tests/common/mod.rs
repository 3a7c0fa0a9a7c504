//! Helpers shared by the integration tests: DHT settings for a fast loopback network
//! on 127.0.0.1 with ephemeral ports, and finding an announced peer.

use std::net::SocketAddr;
use std::time::Duration;

use shoal_dht::LookupParams;
use shoal_dht_net::{DhtConfig, DhtNetConfig, DhtNode};

/// 127.0.0.1 with an ephemeral port.
pub const LOCALHOST: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);

/// Settings for a loopback test network: the testkit's (rate limits lifted, short
/// timeouts), with lookups that call a node slow or late sooner.
pub fn test_dht() -> DhtConfig {
    DhtConfig {
        lookup: LookupParams {
            slow_after: Duration::from_millis(300),
            late_after: Duration::from_millis(700),
            ..LookupParams::default()
        },
        ..shoal_testkit::dht::loopback_config()
    }
}

/// A node config on `bind` bootstrapping from `bootstrap` only.
pub fn config(bind: SocketAddr, bootstrap: &[SocketAddr]) -> DhtNetConfig {
    DhtNetConfig {
        bootstrap: bootstrap.iter().map(|a| a.to_string()).collect(),
        dht: test_dht(),
        ..DhtNetConfig::new(bind)
    }
}

/// Runs `get_peers` from `node` until a peer with `port` shows up (announces may still
/// be in flight when the announcing lookup reports `Done`); returns the peers found.
pub async fn find_port(node: &DhtNode, info_hash: [u8; 20], port: u16) -> Vec<SocketAddr> {
    let mut peers = Vec::new();
    for _ in 0..10 {
        peers = node.get_peers(info_hash).finish().await.0;
        if peers.iter().any(|p| p.port() == port) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    peers
}
