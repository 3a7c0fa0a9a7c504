//! Sessions on the in-memory network, in tokio's paused time: no sockets, no disk
//! threads, no wall clock. A swarm trades pieces deterministically, and time-based
//! behaviour (timeouts, retries) is checked in virtual seconds.

#![allow(clippy::unwrap_used)]

mod support;

use shoal_engine::MemoryNetwork;
use shoal_testkit::{init_logs, make_torrent, random_file, same_bytes};
use std::time::Duration;
use support::*;

#[tokio::test(start_paused = true)]
async fn two_sessions_trade_a_torrent_in_virtual_time() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("seed/data.bin");
    random_file(&file, 1_000_000, 7);
    let meta = make_torrent(&file, 64 * 1024);
    let net = MemoryNetwork::new();
    let seeder = memory_session(&net, "10.0.0.1").await;
    let leecher = memory_session(&net, "10.0.0.2").await;
    add(&seeder, &meta, &dir.path().join("seed"), vec![]).await;
    let out = tempfile::tempdir().unwrap();
    let got = add(&leecher, &meta, out.path(), vec![seeder.local_addr()]).await;
    let started = tokio::time::Instant::now();
    wait_complete(&got, Duration::from_secs(60)).await;
    assert!(same_bytes(&file, &out.path().join("data.bin")));
    let stats = got.stats();
    assert_eq!(stats.downloaded, meta.info.total_length);
    assert_eq!(stats.wasted, 0);
    // Virtual time: a megabyte over an unthrottled pipe takes no simulated time beyond
    // the timers that happened to fire.
    assert!(started.elapsed() < Duration::from_secs(60));
    leecher.shutdown().await;
    seeder.shutdown().await;
}
