//! Rate and connection limits, session-wide and per torrent, checked by measured
//! effect on loopback transfers (bounds are loose: the machine may be busy).
#![allow(clippy::unwrap_used)]

mod support;

use shoal_engine::{AddTorrentOptions, SessionConfig, TorrentLimits};
use shoal_testkit::{make_torrent, random_file, same_bytes};
use std::time::Duration;
use support::*;
use tokio::time::Instant;

const MIB: u64 = 1024 * 1024;

/// Bytes per second the handle downloads over `window`, after `warmup`.
async fn measure(h: &shoal_engine::TorrentHandle, warmup: Duration, window: Duration) -> f64 {
    tokio::time::sleep(warmup).await;
    let start = h.stats().downloaded;
    let t0 = Instant::now();
    tokio::time::sleep(window).await;
    (h.stats().downloaded - start) as f64 / t0.elapsed().as_secs_f64()
}

/// A session download limit holds the rate near its value, and lifting it at run time
/// speeds the transfer up again.
#[tokio::test(start_paused = true)]
async fn session_download_limit_and_change_at_run_time() {
    let net = shoal_engine::MemoryNetwork::new();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("seed/p.bin");
    random_file(&src, 24 * MIB as usize, 31);
    let meta = make_torrent(&src, 64 * 1024);
    let seeder = limited_session_in(&net, None).await;
    add(&seeder, &meta, &dir.path().join("seed"), vec![]).await;
    let leecher = session_in(
        &net,
        SessionConfig {
            listen_addr: "127.0.0.1:0".parse().unwrap(),
            use_trackers: false,
            download_rate_limit: Some(2 * MIB),
            ..SessionConfig::default()
        },
    )
    .await;
    let h = add(
        &leecher,
        &meta,
        &dir.path().join("leech"),
        vec![seeder.local_addr()],
    )
    .await;
    let rate = measure(&h, Duration::from_millis(1500), Duration::from_secs(3)).await;
    eprintln!(
        "limited to 2 MiB/s: measured {:.2} MiB/s",
        rate / MIB as f64
    );
    assert!(rate < 3.0 * MIB as f64, "limit not applied: {rate}");
    assert!(rate > 1.0 * MIB as f64, "far below the limit: {rate}");
    leecher.set_rate_limits(None, None);
    wait_complete(&h, Duration::from_secs(20)).await;
    assert!(same_bytes(&src, &dir.path().join("leech/p.bin")));
    let totals = leecher.session_stats();
    assert_eq!(totals.torrents, 1);
    assert_eq!(totals.downloaded, h.stats().downloaded);
    leecher.shutdown().await;
    seeder.shutdown().await;
}

/// A per-torrent upload limit on the seeder caps what the leecher gets.
#[tokio::test(start_paused = true)]
async fn torrent_upload_limit_caps_the_seeder() {
    let net = shoal_engine::MemoryNetwork::new();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("seed/p.bin");
    random_file(&src, 12 * MIB as usize, 32);
    let meta = make_torrent(&src, 64 * 1024);
    let seeder = limited_session_in(&net, None).await;
    let opts = AddTorrentOptions {
        download_dir: dir.path().join("seed"),
        limits: TorrentLimits {
            upload_rate: Some(MIB),
            ..TorrentLimits::default()
        },
        ..AddTorrentOptions::default()
    };
    let s = seeder
        .add_torrent(meta.clone(), opts, |_| {})
        .await
        .unwrap();
    assert_eq!(s.limits().upload_rate, Some(MIB));
    let leecher = limited_session_in(&net, None).await;
    let h = add(
        &leecher,
        &meta,
        &dir.path().join("leech"),
        vec![seeder.local_addr()],
    )
    .await;
    let rate = measure(&h, Duration::from_millis(1500), Duration::from_secs(3)).await;
    eprintln!(
        "seeder limited to 1 MiB/s: measured {:.2} MiB/s",
        rate / MIB as f64
    );
    assert!(rate < 1.6 * MIB as f64, "limit not applied: {rate}");
    assert!(rate > 0.5 * MIB as f64, "far below the limit: {rate}");
    s.set_limits(TorrentLimits::default());
    wait_complete(&h, Duration::from_secs(20)).await;
    leecher.shutdown().await;
    seeder.shutdown().await;
}

/// `max_peers` per torrent and `max_connections` per session bound the connections.
#[tokio::test(start_paused = true)]
async fn peer_and_connection_caps_hold() {
    let net = shoal_engine::MemoryNetwork::new();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("seed/p.bin");
    random_file(&src, 4 * MIB as usize, 33);
    let meta = make_torrent(&src, 64 * 1024);
    let mut seeders = Vec::new();
    for _ in 0..3 {
        // Slow seeders keep connections open long enough to count them.
        let s = limited_session_in(&net, Some(256 * 1024)).await;
        add(&s, &meta, &dir.path().join("seed"), vec![]).await;
        seeders.push(s);
    }
    let addrs: Vec<_> = seeders.iter().map(|s| s.local_addr()).collect();
    let leecher = limited_session_in(&net, None).await;
    let opts = AddTorrentOptions {
        download_dir: dir.path().join("leech"),
        peers: addrs.clone(),
        limits: TorrentLimits {
            max_peers: Some(1),
            ..TorrentLimits::default()
        },
        ..AddTorrentOptions::default()
    };
    let h = leecher
        .add_torrent(meta.clone(), opts, |_| {})
        .await
        .unwrap();
    let mut most = 0;
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        most = most.max(h.peers().len());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(most, 1, "max_peers=1 exceeded");
    assert!(h.stats().downloaded > 0);
    // Lift the torrent cap but allow the session only two connections.
    leecher.set_max_connections(2);
    h.set_limits(TorrentLimits::default());
    let mut most = 0;
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        most = most.max(h.peers().len());
        assert!(leecher.connections() <= 2);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(most, 2, "session cap of 2 not reached or exceeded");
    leecher.shutdown().await;
    for s in seeders {
        s.shutdown().await;
    }
}
