//! A local mainline DHT for tests: shoal DHT nodes (real UDP sockets on 127.0.0.1) run
//! by a private tokio runtime in the test process, all bootstrapped from node 0. shoal
//! processes and real clients join it through `--dht-bootstrap 127.0.0.1:PORT`.

use std::net::SocketAddr;
use std::time::Duration;

use shoal_dht_net::{DhtNetConfig, DhtNode};
use shoal_testkit::hex;

/// A running local DHT; dropping it stops every node.
pub struct LocalDht {
    pub nodes: Vec<DhtNode>,
    runtime: tokio::runtime::Runtime,
}

/// Node settings for a loopback network (see `shoal_testkit::dht`).
fn node_config(bind: SocketAddr, bootstrap: Option<SocketAddr>) -> DhtNetConfig {
    DhtNetConfig {
        bootstrap: bootstrap.iter().map(|a| a.to_string()).collect(),
        dht: shoal_testkit::dht::loopback_config(),
        ..DhtNetConfig::new(bind)
    }
}

impl LocalDht {
    /// Starts `n` nodes on 127.0.0.1 and waits until all are bootstrapped.
    pub fn start(n: usize) -> LocalDht {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let nodes = runtime.block_on(async {
            let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
            let first = DhtNode::spawn(node_config(any, None)).await.unwrap();
            let seed = first.local_addr();
            let mut nodes = vec![first];
            for _ in 1..n {
                nodes.push(DhtNode::spawn(node_config(any, Some(seed))).await.unwrap());
            }
            for (i, node) in nodes.iter().enumerate() {
                assert!(
                    node.wait_bootstrapped(Duration::from_secs(20)).await,
                    "DHT node {i} did not bootstrap"
                );
            }
            nodes
        });
        LocalDht { nodes, runtime }
    }

    /// `HOST:PORT` of the node everyone bootstraps from.
    pub fn bootstrap(&self) -> String {
        self.nodes[0].local_addr().to_string()
    }

    /// Asks node `from` for peers of `info_hash` until one with `port` shows up or
    /// `timeout` passes; returns whether it did.
    pub fn finds(&self, from: usize, info_hash: [u8; 20], port: u16, timeout: Duration) -> bool {
        let node = self.nodes[from].clone();
        self.runtime.block_on(async move {
            let deadline = tokio::time::Instant::now() + timeout;
            while tokio::time::Instant::now() < deadline {
                let (peers, _) = node.get_peers(info_hash).finish().await;
                if peers.iter().any(|p| p.port() == port) {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            false
        })
    }
}

/// The 20-byte info-hash in a magnet link's `xt=urn:btih:HEX`.
pub fn info_hash_of(link: &str) -> [u8; 20] {
    let digits = link.split("urn:btih:").nth(1).unwrap().get(..40).unwrap();
    hex::decode_array(digits)
}

/// `magnet:?xt=urn:btih:HEX` and nothing else: no name, trackers or peer addresses.
pub fn bare_magnet(link: &str) -> String {
    let hex = hex::encode(&info_hash_of(link));
    format!("magnet:?xt=urn:btih:{hex}")
}
