//! Helpers shared by the integration tests: DHT settings for a fast loopback network
//! and spawning nodes on 127.0.0.1 with ephemeral ports.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use shoal_dht::{LookupParams, RateLimitConfig};
use shoal_dht_net::{DhtConfig, DhtNetConfig, DhtNode};

pub const LOCALHOST: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);

/// Settings for a loopback test network. Every node shares the IP 127.0.0.1, so the
/// per-IP rate limit (meant for one remote host) is lifted; timeouts are shortened so
/// that a lost reply costs little test time.
pub fn test_dht() -> DhtConfig {
    let unlimited = 1_000_000;
    DhtConfig {
        query_timeout: Duration::from_millis(1500),
        lookup: LookupParams {
            slow_after: Duration::from_millis(300),
            late_after: Duration::from_millis(700),
            ..LookupParams::default()
        },
        rate_limit: RateLimitConfig {
            per_ip_burst: unlimited,
            per_ip_rate: unlimited,
            global_burst: unlimited,
            global_rate: unlimited,
            ..RateLimitConfig::default()
        },
        bootstrap_retry: Duration::from_secs(1),
        ..DhtConfig::default()
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

pub async fn spawn(bootstrap: &[SocketAddr]) -> DhtNode {
    DhtNode::spawn(config(LOCALHOST, bootstrap)).await.unwrap()
}

/// `n` nodes, all bootstrapped from node 0 only; returns once all are bootstrapped.
pub async fn network(n: usize, timeout: Duration) -> Vec<DhtNode> {
    let first = spawn(&[]).await;
    let seed = first.local_addr();
    let mut nodes = vec![first];
    for _ in 1..n {
        nodes.push(spawn(&[seed]).await);
    }
    let waits: Vec<_> = nodes
        .iter()
        .map(|n| {
            let n = n.clone();
            tokio::spawn(async move { n.wait_bootstrapped(timeout).await })
        })
        .collect();
    for (i, w) in waits.into_iter().enumerate() {
        assert!(
            w.await.unwrap(),
            "node {i} did not bootstrap within {timeout:?}"
        );
    }
    nodes
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
