//! BEP 5 wire integration: sessions that run a DHT node set the DHT bit in their
//! handshake and send a PORT message; the receiving session pings the announced node
//! and adds it to its routing table. No bootstrap nodes at all: the only way the nodes
//! can meet is through the peer connection.
#![allow(clippy::unwrap_used)]

mod support;

use shoal_engine::{DhtSettings, Session, SessionConfig};
use shoal_testkit::{init_logs, make_torrent, random_file};
use std::time::{Duration, Instant};
use support::*;

async fn dht_session(ip: &str) -> Session {
    let config = SessionConfig {
        listen_addr: format!("{ip}:0").parse().unwrap(),
        use_trackers: false,
        dht: Some(DhtSettings::default()),
        ..SessionConfig::default()
    };
    Session::new(config).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_message_puts_the_peers_node_in_the_routing_table() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("a/file.bin");
    random_file(&src, 1024 * 1024, 3);
    let meta = make_torrent(&src, 64 * 1024);
    let a = dht_session("127.0.0.2").await;
    let b = dht_session("127.0.0.3").await;
    assert!(a.dht_addr().is_some() && b.dht_addr().is_some());
    assert_eq!(a.dht_stats().await.unwrap().nodes, 0);
    let _ha = add(&a, &meta, &dir.path().join("a"), vec![]).await;
    let hb = add(&b, &meta, &dir.path().join("b"), vec![a.local_addr()]).await;
    wait_complete(&hb, Duration::from_secs(30)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (na, nb) = (
            a.dht_stats().await.unwrap().nodes,
            b.dht_stats().await.unwrap().nodes,
        );
        if na >= 1 && nb >= 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "routing tables after PORT messages: a={na} b={nb}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_without_dht_send_no_port_message() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("a/file.bin");
    random_file(&src, 256 * 1024, 4);
    let meta = make_torrent(&src, 64 * 1024);
    let a = dht_session("127.0.0.4").await;
    let b = session_on("127.0.0.5", None).await;
    assert!(b.dht_addr().is_none());
    let _ha = add(&a, &meta, &dir.path().join("a"), vec![]).await;
    let hb = add(&b, &meta, &dir.path().join("b"), vec![a.local_addr()]).await;
    wait_complete(&hb, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(a.dht_stats().await.unwrap().nodes, 0);
    a.shutdown().await;
    b.shutdown().await;
}
