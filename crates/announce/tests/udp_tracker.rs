//! The announcer against a local BEP 15 UDP tracker.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use shoal_announce::Announcer;
use shoal_tracker::AnnounceEvent;
use tokio::sync::{mpsc, watch};

#[tokio::test]
async fn udp_connect_announce_reannounce_stop() {
    let tracker = UdpTrackerServer::start(0).await; // interval 0 → clamped to the 100 ms floor
    let (_stats_tx, stats_rx) = watch::channel(stats());
    let (peers_tx, mut peers_rx) = mpsc::channel(64);
    let announcer = Announcer::spawn(config(vec![vec![tracker.url.clone()]]), stats_rx, peers_tx);

    let peers = tokio::time::timeout(Duration::from_secs(5), peers_rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(peers, canned_peers());
    WAIT.until_async("re-announce", || tracker.announces().len() >= 2)
        .await;
    announcer.stop(Duration::from_secs(3)).await;

    let announces = tracker.announces();
    let first = &announces[0];
    assert_eq!(first.event, AnnounceEvent::Started);
    assert_eq!(
        (first.info_hash, first.peer_id, first.port),
        (INFO_HASH, PEER_ID, 6881)
    );
    assert_eq!(
        (first.uploaded, first.downloaded, first.left, first.num_want),
        (11, 22, 33, 200)
    );
    assert_eq!(announces[1].event, AnnounceEvent::None);
    let last = announces.last().unwrap();
    assert_eq!(last.event, AnnounceEvent::Stopped);
    assert_eq!(last.key, first.key);
    // All within 60 s: one connection id serves every announce.
    assert_eq!(tracker.connects(), 1);
}

#[tokio::test]
async fn silent_udp_tracker_fails_over_to_next_tier() {
    let (_silent, silent_url) = silent_udp().await;
    let good = UdpTrackerServer::start(1800).await;
    let (_stats_tx, stats_rx) = watch::channel(stats());
    let (peers_tx, mut peers_rx) = mpsc::channel(8);
    let announcer = Announcer::spawn(
        config(vec![vec![silent_url.clone()], vec![good.url.clone()]]),
        stats_rx,
        peers_tx,
    );

    // 100 ms + 200 ms of retransmission, then the second tier.
    let peers = tokio::time::timeout(Duration::from_secs(5), peers_rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(peers, canned_peers());
    let status = announcer.status();
    let silent = status.iter().find(|s| s.url == silent_url).unwrap();
    assert!(
        matches!(&silent.last_result, Some(Err(e)) if e.contains("did not answer")),
        "{silent:?}"
    );
    assert_eq!(silent.failures, 1);
    let good_status = status.iter().find(|s| s.url == good.url).unwrap();
    assert_eq!(good_status.last_result, Some(Ok(2)));
    assert_eq!(good_status.tier, 1);
    announcer.stop(Duration::from_secs(2)).await;
    assert_eq!(
        good.announces().last().unwrap().event,
        AnnounceEvent::Stopped
    );
}

#[tokio::test]
async fn udp_over_ipv6_loopback() {
    // Skipped where the machine has no IPv6 loopback.
    let Ok(sock) = tokio::net::UdpSocket::bind("[::1]:0").await else {
        return;
    };
    let v6_peers: Vec<std::net::SocketAddr> = vec!["[::1]:7000".parse().unwrap()];
    let tracker = UdpTrackerServer::serve(sock, 1800, v6_peers.clone());
    let (_stats_tx, stats_rx) = watch::channel(stats());
    let (peers_tx, mut peers_rx) = mpsc::channel(8);
    let announcer = Announcer::spawn(config(vec![vec![tracker.url.clone()]]), stats_rx, peers_tx);
    let peers = tokio::time::timeout(Duration::from_secs(5), peers_rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(peers, v6_peers);
    announcer.stop(Duration::from_secs(2)).await;
    assert_eq!(
        tracker.announces().last().unwrap().event,
        AnnounceEvent::Stopped
    );
}
