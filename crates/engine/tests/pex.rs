//! Peer exchange (BEP 11) between shoal sessions on loopback: a peer learns of another
//! only through a third peer's `ut_pex` messages and connects to it; private torrents
//! never exchange peers.
#![allow(clippy::unwrap_used)]

mod support;

use shoal_engine::TorrentHandle;
use shoal_testkit::{init_logs, make_torrent, random_file, same_bytes};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use support::*;

/// Polls `handle`'s peer list until it holds a connection to `addr` or `limit` passes.
async fn connects_to(handle: &TorrentHandle, addr: SocketAddr, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if handle.peers().iter().any(|p| p.addr == addr) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// A seeds, B knows only A, C knows only B. C must hear of A from B and dial it.
async fn three_peers(private: bool) -> (bool, bool) {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("a/payload.bin");
    const LEN: usize = 2 * 1024 * 1024;
    random_file(&src, LEN, 7);
    let mut meta = make_torrent(&src, 64 * 1024);
    if private {
        let opts = shoal_metainfo::CreateOptions {
            piece_length: Some(64 * 1024),
            private: true,
            ..Default::default()
        };
        meta = shoal_metainfo::create_torrent(&src, &opts).unwrap();
    }
    // Slow uploads keep everyone connected long enough to exchange peers.
    let a = session_on("127.0.0.2", Some(256 * 1024)).await;
    let b = session_on("127.0.0.3", Some(256 * 1024)).await;
    let c = session_on("127.0.0.4", None).await;
    let _ha = add(&a, &meta, &dir.path().join("a"), vec![]).await;
    let hb = add(&b, &meta, &dir.path().join("b"), vec![a.local_addr()]).await;
    assert!(connects_to(&hb, a.local_addr(), Duration::from_secs(10)).await);
    let hc = add(&c, &meta, &dir.path().join("c"), vec![b.local_addr()]).await;
    assert!(connects_to(&hc, b.local_addr(), Duration::from_secs(10)).await);
    let limit = if private { 4 } else { 15 };
    let started = Instant::now();
    let c_found_a = connects_to(&hc, a.local_addr(), Duration::from_secs(limit)).await;
    eprintln!(
        "C connected to A: {c_found_a} after {:?}",
        started.elapsed()
    );
    wait_complete(&hc, Duration::from_secs(60)).await;
    let same = same_bytes(&src, &dir.path().join("c/payload.bin"));
    for s in [a, b, c] {
        s.shutdown().await;
    }
    (c_found_a, same)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_learns_of_another_through_pex() {
    let (found, same) = three_peers(false).await;
    assert!(found, "C never connected to A");
    assert!(same);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_torrents_exchange_no_peers() {
    let (found, same) = three_peers(true).await;
    assert!(!found, "C connected to A although the torrent is private");
    assert!(same);
}
