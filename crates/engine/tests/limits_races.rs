//! Limits under concurrency: simultaneous incoming peers against `max_peers`, and
//! several peers sharing a low session download limit all keep being read (none is
//! starved for seconds while the others drain the bucket).
#![allow(clippy::unwrap_used)]

mod support;

use shoal_engine::{AddTorrentOptions, SessionConfig, TorrentLimits};
use shoal_testkit::{make_torrent, random_file};
use std::collections::HashMap;
use std::time::Duration;
use support::*;
use tokio::time::Instant;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

/// A seeder with `max_peers = 1` dialled by four leechers at once keeps one peer.
#[tokio::test(start_paused = true)]
async fn simultaneous_incoming_peers_respect_max_peers() {
    let net = shoal_engine::MemoryNetwork::new();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("seed/p.bin");
    random_file(&src, 4 * MIB as usize, 41);
    let meta = make_torrent(&src, 64 * 1024);
    // Slow uploads keep the connections open while we count.
    let seeder = limited_session_in(&net, Some(256 * KIB)).await;
    let opts = AddTorrentOptions {
        download_dir: dir.path().join("seed"),
        limits: TorrentLimits {
            max_peers: Some(1),
            ..TorrentLimits::default()
        },
        ..AddTorrentOptions::default()
    };
    let s = seeder
        .add_torrent(meta.clone(), opts, |_| {})
        .await
        .unwrap();
    let leechers = [
        limited_session_in(&net, None).await,
        limited_session_in(&net, None).await,
        limited_session_in(&net, None).await,
        limited_session_in(&net, None).await,
    ];
    let seed = vec![seeder.local_addr()];
    let d: Vec<_> = (0..4)
        .map(|i| dir.path().join(format!("leech{i}")))
        .collect();
    // Added together, so their dials reach the seeder at about the same time.
    let _handles = tokio::join!(
        add(&leechers[0], &meta, &d[0], seed.clone()),
        add(&leechers[1], &meta, &d[1], seed.clone()),
        add(&leechers[2], &meta, &d[2], seed.clone()),
        add(&leechers[3], &meta, &d[3], seed.clone()),
    );
    let mut most = 0;
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        most = most.max(s.peers().len());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        most, 1,
        "max_peers=1 on the seeder exceeded or never reached"
    );
    for l in leechers {
        l.shutdown().await;
    }
    seeder.shutdown().await;
}

/// Four seeders sharing a 192 KiB/s session download limit: every peer keeps
/// delivering, no peer goes seconds without being read.
#[tokio::test(start_paused = true)]
async fn peers_sharing_a_low_download_limit_all_keep_moving() {
    let net = shoal_engine::MemoryNetwork::new();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("seed/p.bin");
    random_file(&src, 8 * MIB as usize, 42);
    let meta = make_torrent(&src, 64 * 1024);
    let mut seeders = Vec::new();
    for _ in 0..4 {
        let s = limited_session_in(&net, None).await;
        add(&s, &meta, &dir.path().join("seed"), vec![]).await;
        seeders.push(s);
    }
    let addrs: Vec<_> = seeders.iter().map(|s| s.local_addr()).collect();
    let rate = 192 * KIB;
    let leecher = session_in(
        &net,
        SessionConfig {
            listen_addr: "127.0.0.1:0".parse().unwrap(),
            use_trackers: false,
            download_rate_limit: Some(rate),
            ..SessionConfig::default()
        },
    )
    .await;
    let h = add(&leecher, &meta, &dir.path().join("leech"), addrs).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Per peer: last downloaded count, when it last grew, longest stretch without growth.
    let mut seen: HashMap<std::net::SocketAddr, (u64, Instant, Duration)> = HashMap::new();
    let start = Instant::now();
    let before = h.stats().downloaded;
    while start.elapsed() < Duration::from_secs(6) {
        let now = Instant::now();
        for p in h.peers() {
            let e = seen
                .entry(p.addr)
                .or_insert((p.downloaded, now, Duration::ZERO));
            if p.downloaded > e.0 {
                e.0 = p.downloaded;
                e.1 = now;
            }
            e.2 = e.2.max(now - e.1);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got = (h.stats().downloaded - before) as f64 / start.elapsed().as_secs_f64();
    let gaps: Vec<_> = seen.values().map(|e| e.2.as_millis()).collect();
    eprintln!(
        "192 KiB/s over {} peers: measured {:.0} KiB/s, longest gaps per peer (ms) {gaps:?}",
        seen.len(),
        got / KIB as f64
    );
    assert_eq!(seen.len(), 4, "not all seeders connected");
    assert!(got < 1.6 * rate as f64, "limit not applied: {got}");
    assert!(got > 0.4 * rate as f64, "far below the limit: {got}");
    for (addr, (_, _, gap)) in &seen {
        assert!(
            *gap < Duration::from_millis(4500),
            "peer {addr} went {gap:?} without delivering"
        );
    }
    leecher.shutdown().await;
    for s in seeders {
        s.shutdown().await;
    }
}
