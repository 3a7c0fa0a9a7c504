//! Which pieces a torrent fetches, and when: skipped files, sequential order, and
//! streaming reads of a torrent that is still downloading.
#![allow(clippy::unwrap_used)]

mod support;

use shoal_engine::{AddTorrentOptions, FilePriority, TorrentError};
use shoal_testkit::{make_torrent, random_file, same_bytes};
use std::time::{Duration, Instant};
use support::*;

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

/// A skipped file (whose pieces no wanted file shares) is not downloaded; selecting it
/// again completes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skipped_file_is_not_downloaded_until_selected() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("seed/share");
    // Piece-aligned files so the skipped one shares no piece with the others.
    random_file(&root.join("a.bin"), 512 * KIB, 1);
    random_file(&root.join("b.bin"), 1024 * KIB, 2);
    random_file(&root.join("c.bin"), 512 * KIB, 3);
    let meta = make_torrent(&root, 64 * 1024);
    let seeder = session(None).await;
    add(&seeder, &meta, &dir.path().join("seed"), vec![]).await;
    let leecher = session(None).await;
    let opts = AddTorrentOptions {
        download_dir: dir.path().join("leech"),
        peers: vec![seeder.local_addr()],
        file_priorities: vec![FilePriority::Normal, FilePriority::Skip, FilePriority::High],
        ..AddTorrentOptions::default()
    };
    let h = leecher
        .add_torrent(meta.clone(), opts, |_| {})
        .await
        .unwrap();
    wait_complete(&h, Duration::from_secs(30)).await;
    let files = h.files();
    assert_eq!(files[1].priority, FilePriority::Skip);
    assert_eq!(files[1].verified_bytes, 0);
    assert_eq!(files[0].verified_bytes, 512 * KIB as u64);
    assert_eq!(files[2].verified_bytes, 512 * KIB as u64);
    assert!(h.stats().downloaded < 1100 * KIB as u64, "{:?}", h.stats());
    let b = dir.path().join("leech/share/b.bin");
    assert!(!b.exists() || std::fs::read(&b).unwrap().iter().all(|x| *x == 0));
    assert!(same_bytes(
        &root.join("c.bin"),
        &dir.path().join("leech/share/c.bin")
    ));

    assert!(h.set_file_priorities(&[FilePriority::Normal]).is_err());
    h.set_file_priorities(&[FilePriority::Normal; 3]).unwrap();
    assert!(!h.is_complete());
    wait_complete(&h, Duration::from_secs(30)).await;
    assert!(same_bytes(&root.join("b.bin"), &b));
    leecher.shutdown().await;
    seeder.shutdown().await;
}

/// In sequential mode the verified pieces always form (nearly) a prefix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_mode_fetches_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("seed/p.bin");
    random_file(&src, 16 * MIB, 7);
    let meta = make_torrent(&src, 16 * 1024);
    let seeder = session(Some(6 * MIB as u64)).await;
    add(&seeder, &meta, &dir.path().join("seed"), vec![]).await;
    let leecher = session(None).await;
    let opts = AddTorrentOptions {
        download_dir: dir.path().join("leech"),
        peers: vec![seeder.local_addr()],
        sequential: true,
        ..AddTorrentOptions::default()
    };
    let h = leecher
        .add_torrent(meta.clone(), opts, |_| {})
        .await
        .unwrap();
    assert!(h.stats().sequential);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut worst = 0usize;
    let mut samples = 0;
    while !h.is_complete() {
        assert!(Instant::now() < deadline, "timed out");
        let have = h.have_pieces();
        let count = have.count_ones();
        let first_missing = (0..have.len())
            .find(|i| !have.get(*i))
            .unwrap_or(have.len());
        // Pieces had beyond the first gap.
        worst = worst.max(count - first_missing.min(count));
        samples += 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    eprintln!("{samples} samples; at most {worst} pieces verified past the first gap");
    assert!(samples > 10, "too fast to observe the order");
    // In order, only pieces in flight complete past the first gap; rarest-first would
    // scatter over all 1,024 (about 500 past the gap half-way).
    assert!(worst <= 200, "{worst} pieces verified past the first gap");
    assert!(same_bytes(&src, &dir.path().join("leech/p.bin")));
    leecher.shutdown().await;
    seeder.shutdown().await;
}

/// A reader asks for bytes deep in a file still downloading: they come first and read
/// back exactly; bytes not yet verified are refused rather than read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_reads_prioritised_bytes_early() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("seed/v.bin");
    random_file(&src, 8 * MIB, 9);
    let original = std::fs::read(&src).unwrap();
    let meta = make_torrent(&src, 64 * 1024);
    let seeder = session(Some(MIB as u64)).await;
    add(&seeder, &meta, &dir.path().join("seed"), vec![]).await;
    let leecher = session(None).await;
    let opts = AddTorrentOptions {
        download_dir: dir.path().join("leech"),
        peers: vec![seeder.local_addr()],
        paused: true,
        ..AddTorrentOptions::default()
    };
    let h = leecher
        .add_torrent(meta.clone(), opts, |_| {})
        .await
        .unwrap();
    let want = (6 * MIB as u64 + 12_345)..(6 * MIB as u64 + 150_000);
    match h.read_bytes(want.start, 100).await {
        Err(TorrentError::NotAvailable) => {}
        other => panic!("read of missing bytes: {other:?}"),
    }
    assert!(matches!(
        h.read_bytes(8 * MIB as u64 - 10, 11).await,
        Err(TorrentError::OutOfRange)
    ));
    let _first = h.prioritize_bytes(want.clone());
    h.resume();
    tokio::time::timeout(Duration::from_secs(20), h.wait_bytes(want.clone()))
        .await
        .unwrap()
        .unwrap();
    let got = h
        .read_bytes(want.start, (want.end - want.start) as usize)
        .await
        .unwrap();
    assert_eq!(&got[..], &original[want.start as usize..want.end as usize]);
    let progress = h.stats();
    eprintln!(
        "range ready with {} of {} pieces",
        progress.have_pieces, progress.num_pieces
    );
    assert!(!progress.complete, "finished before the range was read");
    // The end of the file, asked next, is also served before the rest.
    let tail = (8 * MIB as u64 - 5000)..(8 * MIB as u64);
    let _tail = h.prioritize_bytes(tail.clone());
    tokio::time::timeout(Duration::from_secs(20), h.wait_bytes(tail.clone()))
        .await
        .unwrap()
        .unwrap();
    let got = h.read_bytes(tail.start, 5000).await.unwrap();
    assert_eq!(&got[..], &original[tail.start as usize..]);
    leecher.shutdown().await;
    seeder.shutdown().await;
}

/// Two readers at once (a player reading a file's start and its index at the end):
/// both ranges arrive early, in turn, and neither request replaces the other. When a
/// reader's priority is dropped, its pieces lose their place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_readers_are_both_served_first() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("seed/w.bin");
    random_file(&src, 24 * MIB, 10);
    let original = std::fs::read(&src).unwrap();
    let meta = make_torrent(&src, 64 * 1024);
    let seeder = session(Some(2 * MIB as u64)).await;
    add(&seeder, &meta, &dir.path().join("seed"), vec![]).await;
    let leecher = session(None).await;
    let opts = AddTorrentOptions {
        download_dir: dir.path().join("leech"),
        peers: vec![seeder.local_addr()],
        paused: true,
        ..AddTorrentOptions::default()
    };
    let h = leecher
        .add_torrent(meta.clone(), opts, |_| {})
        .await
        .unwrap();
    let head = (MIB as u64 + 100)..(MIB as u64 + 100_000);
    let tail = (20 * MIB as u64)..(20 * MIB as u64 + 100_000);
    let _head_reader = h.prioritize_bytes(head.clone());
    let _tail_reader = h.prioritize_bytes(tail.clone());
    h.resume();
    for range in [&head, &tail] {
        tokio::time::timeout(Duration::from_secs(30), h.wait_bytes(range.clone()))
            .await
            .unwrap()
            .unwrap();
    }
    let st = h.stats();
    eprintln!(
        "both ranges ready with {} of {} pieces",
        st.have_pieces, st.num_pieces
    );
    // Each range is 2 pieces; taken in turn they are among the first few dozen. Had
    // the second request replaced the first, the head would wait behind the tail's
    // 128 pieces of read-ahead.
    assert!(
        st.have_pieces < st.num_pieces / 4,
        "{} of {} pieces",
        st.have_pieces,
        st.num_pieces
    );
    for range in [head, tail] {
        let got = h
            .read_bytes(range.start, (range.end - range.start) as usize)
            .await
            .unwrap();
        assert_eq!(
            &got[..],
            &original[range.start as usize..range.end as usize]
        );
    }
    leecher.shutdown().await;
    seeder.shutdown().await;
}
