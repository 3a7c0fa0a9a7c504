//! Real swarms of shoal sessions on loopback, in one process.
#![allow(clippy::unwrap_used)]

mod support;

use shoal_testkit::{make_torrent, random_file, same_bytes};
use std::time::Duration;
use support::*;

/// One seeder and eight leechers start together; everyone completes with identical
/// bytes, and the leechers got most of the data from each other: the seeder uploads at
/// most three copies of the payload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_seeder_eight_leechers() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("seed/payload.bin");
    const LEN: usize = 8 * 1024 * 1024 + 12_345;
    random_file(&src, LEN, 1);
    let meta = make_torrent(&src, 64 * 1024);

    // The seeder's upload is capped so that, as in a real swarm, it is the scarce
    // resource and leechers must trade with each other.
    let seeder = session(Some(2 * 1024 * 1024)).await;
    let seed_handle = add(&seeder, &meta, &dir.path().join("seed"), vec![]).await;
    assert!(seed_handle.is_complete());

    let mut sessions = Vec::new();
    for _ in 0..8 {
        sessions.push(session(None).await);
    }
    let addrs: Vec<_> = sessions.iter().map(|s| s.local_addr()).collect();
    let mut handles = Vec::new();
    for (i, s) in sessions.iter().enumerate() {
        let mut peers = vec![seeder.local_addr()];
        peers.extend(addrs[..i].iter().copied());
        handles.push(add(s, &meta, &dir.path().join(format!("leech{i}")), peers).await);
    }
    for h in &handles {
        wait_complete(h, Duration::from_secs(90)).await;
    }
    for i in 0..8 {
        assert!(
            same_bytes(&src, &dir.path().join(format!("leech{i}/payload.bin"))),
            "leecher {i} differs"
        );
    }
    let uploaded = seed_handle.stats().uploaded;
    let copies = uploaded as f64 / LEN as f64;
    eprintln!("seeder uploaded {uploaded} bytes = {copies:.2} copies");
    assert!(copies <= 3.0, "seeder uploaded {copies:.2} copies");
    let traded: u64 = handles.iter().map(|h| h.stats().uploaded).sum();
    assert!(
        traded > 4 * LEN as u64,
        "leechers uploaded only {traded} bytes to each other"
    );
    for s in sessions {
        s.shutdown().await;
    }
    seeder.shutdown().await;
}

/// Four upload-limited seeders and one leecher: every seeder contributes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leecher_fetches_from_four_seeders() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("seed/multi.bin");
    const LEN: usize = 6 * 1024 * 1024;
    random_file(&src, LEN, 2);
    let meta = make_torrent(&src, 32 * 1024);

    let mut seeders = Vec::new();
    let mut seed_handles = Vec::new();
    for _ in 0..4 {
        let s = session(Some(512 * 1024)).await;
        seed_handles.push(add(&s, &meta, &dir.path().join("seed"), vec![]).await);
        seeders.push(s);
    }
    let leecher = session(None).await;
    let peers = seeders.iter().map(|s| s.local_addr()).collect();
    let handle = add(&leecher, &meta, &dir.path().join("leech"), peers).await;
    wait_complete(&handle, Duration::from_secs(60)).await;
    assert!(same_bytes(&src, &dir.path().join("leech/multi.bin")));

    let per_seeder: Vec<u64> = seed_handles.iter().map(|h| h.stats().uploaded).collect();
    eprintln!("bytes uploaded per seeder: {per_seeder:?}");
    for (i, up) in per_seeder.iter().enumerate() {
        assert!(
            *up >= (LEN / 10) as u64,
            "seeder {i} contributed only {up} bytes"
        );
    }
    assert!(per_seeder.iter().sum::<u64>() >= LEN as u64);
    leecher.shutdown().await;
    for s in seeders {
        s.shutdown().await;
    }
}

/// A leecher restarted over partial data keeps what it verified and finishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumes_from_existing_partial_data() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("seed/part.bin");
    const LEN: usize = 2 * 1024 * 1024;
    random_file(&src, LEN, 3);
    let meta = make_torrent(&src, 64 * 1024);
    // Half of the file is already there, with one corrupted piece in it.
    let mut partial = std::fs::read(&src).unwrap();
    partial.truncate(LEN / 2);
    partial[70_000] ^= 0xff;
    std::fs::create_dir_all(dir.path().join("leech")).unwrap();
    std::fs::write(dir.path().join("leech/part.bin"), &partial).unwrap();

    let seeder = session(None).await;
    add(&seeder, &meta, &dir.path().join("seed"), vec![]).await;
    let leecher = session(None).await;
    let handle = add(
        &leecher,
        &meta,
        &dir.path().join("leech"),
        vec![seeder.local_addr()],
    )
    .await;
    let have_at_start = handle.stats().have_pieces;
    assert_eq!(
        have_at_start,
        16 - 1,
        "half the pieces minus the corrupt one are kept"
    );
    wait_complete(&handle, Duration::from_secs(30)).await;
    assert!(same_bytes(&src, &dir.path().join("leech/part.bin")));
    let downloaded = handle.stats().downloaded;
    assert!(
        downloaded <= (LEN / 2 + 64 * 1024) as u64 + 64 * 1024,
        "downloaded {downloaded}"
    );
    leecher.shutdown().await;
    seeder.shutdown().await;
}
