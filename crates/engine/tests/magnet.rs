//! A leecher with nothing but a magnet link and a peer address fetches the info
//! dictionary over ut_metadata (BEP 9), verifies it against the info-hash, and then
//! downloads the torrent. A peer that is not up yet when the fetch starts is dialled
//! again until it is.
#![allow(clippy::unwrap_used)]

mod support;

use shoal_testkit::{init_logs, make_torrent, random_file, same_bytes};
use std::time::Duration;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn magnet_only_download_via_ut_metadata() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("seed/album/track.bin");
    random_file(&src, 16 * 1024 * 1024 + 17, 11);
    random_file(&dir.path().join("seed/album/notes.txt"), 1234, 12);
    // Many small pieces make a multi-piece (> 16 KiB) info dictionary.
    let meta = make_torrent(&dir.path().join("seed/album"), 16 * 1024);
    assert!(
        meta.info_bytes.len() > 16 * 1024,
        "want several metadata pieces"
    );

    let seeder = session(None).await;
    add(&seeder, &meta, &dir.path().join("seed"), vec![]).await;

    let leecher = session(None).await;
    let magnet = meta.magnet();
    let fetched = leecher
        .fetch_metadata(&magnet, vec![seeder.local_addr()], Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(fetched.info_hash, meta.info_hash);
    assert_eq!(fetched.info_bytes, meta.info_bytes);

    let handle = add(
        &leecher,
        &fetched,
        &dir.path().join("leech"),
        vec![seeder.local_addr()],
    )
    .await;
    wait_complete(&handle, Duration::from_secs(30)).await;
    assert!(same_bytes(&src, &dir.path().join("leech/album/track.bin")));
    leecher.shutdown().await;
    seeder.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_fetch_times_out_without_peers() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("x.bin");
    random_file(&src, 100_000, 13);
    let meta = make_torrent(&src, 16 * 1024);
    let leecher = session(None).await;
    let err = leecher
        .fetch_metadata(&meta.magnet(), vec![], Duration::from_millis(300))
        .await;
    assert!(matches!(err, Err(shoal_engine::MetadataError::TimedOut(_))));
    leecher.shutdown().await;
}

/// The only peer of a magnet starts listening 1.5 s after the fetch began: its first
/// dial (at 0 s) and the retry after 1 s are refused, the next after 2 more seconds
/// reaches it, and the fetch succeeds at 3 s. (Each address used to be dialled once
/// per fetch.) On the memory network in paused time, so the schedule is exact.
#[tokio::test(start_paused = true)]
async fn a_peer_that_comes_up_late_is_dialled_again() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("seed/late.bin");
    random_file(&src, 300_000, 14);
    let meta = make_torrent(&src, 16 * 1024);
    let net = shoal_engine::MemoryNetwork::new();
    let late_addr: std::net::SocketAddr = "10.0.0.93:6881".parse().unwrap();
    let leecher = memory_session(&net, "10.0.0.1").await;
    let seed_dir = dir.path().join("seed");
    let seeder_net = net.clone();
    let seeder = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let s = shoal_engine::Session::new(shoal_engine::SessionConfig {
            listen_addr: late_addr,
            use_trackers: false,
            network: shoal_engine::Network::Memory(seeder_net),
            disk_threads: Some(0),
            ..shoal_engine::SessionConfig::default()
        })
        .await
        .unwrap();
        add(&s, &meta, &seed_dir, vec![]).await;
        s
    });
    let started = tokio::time::Instant::now();
    let fetched = leecher
        .fetch_metadata(
            &make_torrent(&src, 16 * 1024).magnet(),
            vec![late_addr],
            Duration::from_secs(20),
        )
        .await
        .unwrap();
    assert_eq!(fetched.info.name, "late.bin");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_millis(3500),
        "fetched after {took:?}, not at the third dial (3 s)"
    );
    seeder.await.unwrap().shutdown().await;
    leecher.shutdown().await;
}

/// A seeder of a `len`-byte file and a leecher on a fresh memory network, after the
/// leecher fetched the torrent's metadata from the seeder.
struct Fetched {
    dir: tempfile::TempDir,
    meta: shoal_metainfo::Metainfo,
    fetched: shoal_metainfo::Metainfo,
    seeder: shoal_engine::Session,
    seeding: shoal_engine::TorrentHandle,
    leecher: shoal_engine::Session,
}

async fn fetched_from_seeder(len: usize, seed: u64) -> Fetched {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("seed/data.bin");
    random_file(&src, len, seed);
    let meta = make_torrent(&src, 16 * 1024);
    let net = shoal_engine::MemoryNetwork::new();
    let seeder = memory_session(&net, "10.0.0.1").await;
    let seeding = add(&seeder, &meta, &dir.path().join("seed"), vec![]).await;
    let leecher = memory_session(&net, "10.0.0.2").await;
    let fetched = leecher
        .fetch_metadata(
            &meta.magnet(),
            vec![seeder.local_addr()],
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    Fetched {
        dir,
        meta,
        fetched,
        seeder,
        seeding,
        leecher,
    }
}

/// The peer that served the metadata keeps its connection: once the torrent is added
/// (with no address to dial) the same connection trades the pieces. The seeder sees
/// one connection from first to last, from the same address.
#[tokio::test(start_paused = true)]
async fn metadata_connection_goes_on_to_trade_pieces() {
    let Fetched {
        dir,
        meta,
        fetched,
        seeder,
        seeding,
        leecher,
    } = fetched_from_seeder(3_000_000, 21).await;
    let src = dir.path().join("seed/data.bin");
    let first = seeding.peers();
    assert_eq!(first.len(), 1, "the metadata connection is open");
    let out = tempfile::tempdir().unwrap();
    let got = add(&leecher, &fetched, out.path(), vec![]).await;
    let until = tokio::time::Instant::now() + Duration::from_secs(60);
    while !got.is_complete() {
        assert!(
            tokio::time::Instant::now() < until,
            "download did not complete"
        );
        let now = seeding.peers();
        assert!(now.len() <= 1, "a second connection: {:?}", now.len());
        if let Some(p) = now.first() {
            assert_eq!(p.addr, first[0].addr, "the seeder sees a new connection");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(same_bytes(&src, &out.path().join("data.bin")));
    assert_eq!(got.stats().downloaded, meta.info.total_length);
    leecher.shutdown().await;
    seeder.shutdown().await;
}

/// A caller that fetches the metadata but never adds the torrent does not keep the
/// peer's connection for ever: it closes once the parking time is over.
#[tokio::test(start_paused = true)]
async fn unclaimed_metadata_connection_closes() {
    // The files stay while `_dir` lives: the seeder keeps serving.
    let Fetched {
        dir: _dir,
        seeder,
        seeding,
        leecher,
        ..
    } = fetched_from_seeder(200_000, 22).await;
    let fetched_at = tokio::time::Instant::now();
    assert_eq!(seeding.peers().len(), 1);
    tokio::time::sleep(Duration::from_secs(25)).await;
    assert_eq!(seeding.peers().len(), 1, "parked for its torrent");
    while !seeding.peers().is_empty() {
        assert!(fetched_at.elapsed() < Duration::from_secs(40), "still open");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(fetched_at.elapsed() >= Duration::from_secs(30));
    leecher.shutdown().await;
    seeder.shutdown().await;
}
