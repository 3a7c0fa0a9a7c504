//! A seeder whose data goes bad after it verified it serves corrupt blocks: the leecher
//! detects the failing pieces, downloads them again from an honest seeder, bans the
//! corrupt one, and finishes with the right bytes.
#![allow(clippy::unwrap_used)]

mod support;

use shoal_testkit::{init_logs, make_torrent, random_file, same_bytes};
use std::io::{Seek, SeekFrom, Write};
use std::net::IpAddr;
use std::time::Duration;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_seeder_is_banned_and_pieces_are_refetched() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good/data.bin");
    let bad = dir.path().join("bad/data.bin");
    const LEN: usize = 4 * 1024 * 1024;
    random_file(&good, LEN, 7);
    std::fs::create_dir_all(bad.parent().unwrap()).unwrap();
    std::fs::copy(&good, &bad).unwrap();
    let meta = make_torrent(&good, 64 * 1024);

    // The liar: verified at start, then its file is overwritten with garbage.
    let liar = session_on("127.0.0.2", None).await;
    add(&liar, &meta, &dir.path().join("bad"), vec![]).await;
    let mut f = std::fs::OpenOptions::new().write(true).open(&bad).unwrap();
    f.seek(SeekFrom::Start(0)).unwrap();
    f.write_all(&vec![0x5a; LEN]).unwrap();
    f.sync_all().unwrap();

    // The honest seeder is slow, so the leecher asks the liar for most pieces first.
    let honest = session_on("127.0.0.3", Some(512 * 1024)).await;
    let honest_handle = add(&honest, &meta, &dir.path().join("good"), vec![]).await;

    let leecher = session_on("127.0.0.4", None).await;
    let peers = vec![liar.local_addr(), honest.local_addr()];
    let handle = add(&leecher, &meta, &dir.path().join("leech"), peers).await;
    if tokio::time::timeout(Duration::from_secs(60), handle.wait_complete())
        .await
        .is_err()
    {
        panic!(
            "stuck: {:?}\nleecher peers {:?}\nhonest peers {:?}",
            handle.stats(),
            handle.peers(),
            honest_handle.peers()
        );
    }

    assert!(same_bytes(&good, &dir.path().join("leech/data.bin")));
    let stats = handle.stats();
    assert!(
        stats.wasted > 0,
        "no piece failed its hash check: {stats:?}"
    );
    let liar_ip: IpAddr = "127.0.0.2".parse().unwrap();
    let honest_ip: IpAddr = "127.0.0.3".parse().unwrap();
    assert!(
        handle.is_banned(liar_ip),
        "the corrupt seeder was not banned"
    );
    assert!(!handle.is_banned(honest_ip), "the honest seeder was banned");
    assert!(handle.peers().iter().all(|p| p.addr.ip() != liar_ip));
    leecher.shutdown().await;
    honest.shutdown().await;
    liar.shutdown().await;
}
