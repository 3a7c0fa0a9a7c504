//! Real UDP networks on 127.0.0.1: lookups converge in a 120-node network and find an
//! announced peer; a node's state file brings back its id and routing table.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shoal_dht_net::{DhtNode, NodeId};

use common::{config, find_port, LOCALHOST};

/// A node on 127.0.0.1 bootstrapping from `bootstrap` only.
async fn spawn(bootstrap: &[SocketAddr]) -> DhtNode {
    DhtNode::spawn(config(LOCALHOST, bootstrap)).await.unwrap()
}

/// `n` nodes, all bootstrapped from node 0 only; returns once all are bootstrapped.
async fn network(n: usize, timeout: Duration) -> Vec<DhtNode> {
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

fn mean(v: &[u32]) -> f64 {
    f64::from(v.iter().sum::<u32>()) / v.len() as f64
}

fn median(v: &[u32]) -> u32 {
    let mut v = v.to_vec();
    v.sort_unstable();
    v[v.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_of_120_converges_and_finds_announced_peer() {
    const N: usize = 120;
    let start = Instant::now();
    let nodes = network(N, Duration::from_secs(10)).await;
    println!("{N} nodes bootstrapped in {:?}", start.elapsed());
    // Let the refresh lookups that follow bootstrapping fill the tables.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ids: Vec<NodeId> = nodes.iter().map(DhtNode::id).collect();

    let mut rng = StdRng::seed_from_u64(42);
    let mut lookups = Vec::new();
    for _ in 0..20 {
        let target: [u8; 20] = rng.gen();
        let from = rng.gen_range(0..N);
        let node = nodes[from].clone();
        lookups.push(tokio::spawn(async move {
            (from, target, node.get_peers(target).finish().await.1)
        }));
    }
    let (mut hops, mut queries, mut exact) = (Vec::new(), Vec::new(), 0);
    for lookup in lookups {
        let (from, target, summary) = lookup.await.unwrap();
        let summary = summary.expect("lookup finished");
        assert!(!summary.closest.is_empty(), "lookup found no node");
        let target = NodeId(target);
        let best = (0..N)
            .filter(|&i| i != from)
            .map(|i| ids[i])
            .min_by_key(|id| id.distance(&target))
            .unwrap();
        exact += usize::from(summary.closest[0].id == best);
        hops.push(summary.stats.hops);
        queries.push(summary.stats.queries);
    }
    println!(
        "20 lookups: hops mean {:.2} median {}; queries mean {:.1} median {}; \
         true closest node found first in {exact}/20",
        mean(&hops),
        median(&hops),
        mean(&queries),
        median(&queries),
    );
    assert!(median(&hops) <= 8, "hops {hops:?}");
    assert!(
        exact >= 15,
        "only {exact}/20 lookups found the closest node"
    );

    let info_hash: [u8; 20] = rng.gen();
    let port = 51413;
    let (_, summary) = nodes[7].announce(info_hash, Some(port)).finish().await;
    let announced = summary.expect("announce finished").announced;
    assert!(announced > 0, "no announce_peer sent");
    let peers = find_port(&nodes[93], info_hash, port).await;
    assert!(
        peers.contains(&SocketAddr::from(([127, 0, 0, 1], port))),
        "announced peer not found: {peers:?}"
    );
    println!("test took {:?}", start.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_file_restores_id_and_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dht.state");
    let nodes = network(12, Duration::from_secs(10)).await;
    let seed = nodes[0].local_addr();

    let mut cfg = config(LOCALHOST, &[seed]);
    cfg.state_file = Some(path.clone());
    let node = DhtNode::spawn(cfg).await.unwrap();
    assert!(node.wait_bootstrapped(Duration::from_secs(10)).await);
    // The refresh lookups after bootstrapping teach it more nodes.
    let deadline = Instant::now() + Duration::from_secs(5);
    while node.stats().await.unwrap().nodes < 4 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    node.save().await.unwrap();
    let snap = shoal_dht::snapshot::decode(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(snap.id, node.id());
    assert!(snap.nodes.len() >= 4, "saved {} nodes", snap.nodes.len());
    let id = node.id();
    node.shutdown().await;

    let info_hash = [0x5a; 20];
    let port = 6000;
    nodes[3].announce(info_hash, Some(port)).finish().await;

    // No bootstrap host at all: only the saved nodes.
    let mut cfg = config(LOCALHOST, &[]);
    cfg.state_file = Some(path.clone());
    let again = DhtNode::spawn(cfg).await.unwrap();
    assert_eq!(again.id(), id);
    let nodes_at_start = again.stats().await.unwrap().nodes;
    assert!(nodes_at_start > 0, "table empty after restore");
    assert!(again.wait_bootstrapped(Duration::from_secs(10)).await);
    let peers = find_port(&again, info_hash, port).await;
    assert!(
        peers.contains(&SocketAddr::from(([127, 0, 0, 1], port))),
        "restored node cannot search: {peers:?}"
    );
    again.shutdown().await;
    // Shutting down saved again.
    let snap = shoal_dht::snapshot::decode(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(snap.id, id);
}

#[tokio::test]
async fn corrupt_state_file_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dht.state");
    std::fs::write(&path, b"d2:id3:abc5:nodes999999:").unwrap();
    let mut cfg = config(LOCALHOST, &[]);
    cfg.state_file = Some(path.clone());
    let node = DhtNode::spawn(cfg).await.unwrap();
    assert_eq!(node.stats().await.unwrap().nodes, 0);
    node.save().await.unwrap();
    let snap = shoal_dht::snapshot::decode(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(snap.id, node.id());
}

#[tokio::test]
async fn dropping_every_handle_saves_and_stops() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dht.state");
    let mut cfg = config(LOCALHOST, &[]);
    cfg.state_file = Some(path.clone());
    let node = DhtNode::spawn(cfg).await.unwrap();
    let addr = node.local_addr();
    let clone = node.clone();
    let mut search = node.get_peers([1; 20]);
    // Empty table: the lookup ends at once.
    assert!(matches!(
        search.next().await,
        Some(shoal_dht_net::SearchEvent::Done(_))
    ));
    assert!(search.next().await.is_none());
    drop(node);
    assert!(
        clone.stats().await.is_some(),
        "a clone keeps the task alive"
    );
    drop(clone);
    // The task saves and releases the socket.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let freed = std::net::UdpSocket::bind(addr).is_ok();
        if freed && path.exists() {
            break;
        }
        assert!(Instant::now() < deadline, "task did not stop");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn periodic_save_writes_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dht.state");
    let mut cfg = config(LOCALHOST, &[]);
    cfg.state_file = Some(path.clone());
    // Zero is raised to the one-second minimum.
    cfg.save_interval = Duration::ZERO;
    let node = DhtNode::spawn(cfg).await.unwrap();
    assert_eq!(node.state_file(), Some(path.as_path()));
    let deadline = Instant::now() + Duration::from_secs(5);
    while !path.exists() {
        assert!(Instant::now() < deadline, "no periodic save");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let snap = shoal_dht::snapshot::decode(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(snap.id, node.id());
}
