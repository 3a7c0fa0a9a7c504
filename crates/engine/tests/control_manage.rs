//! Managing running torrents: pause and resume, remove (with and without the data),
//! fast resume from saved resume data, re-check and moving the data — each checked by
//! its effect on a real loopback swarm or on disk.
#![allow(clippy::unwrap_used)]

mod support;

use shoal_engine::{AddTorrentError, AddTorrentOptions, ResumeData, TorrentState};
use shoal_testkit::{make_torrent, random_file, same_bytes};
use std::time::Duration;
use support::*;

const MIB: usize = 1024 * 1024;

/// A paused leecher gets no bytes and holds no peers; resumed, it finishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_stops_transfer_and_resume_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("seed/p.bin");
    random_file(&src, 6 * MIB, 11);
    let meta = make_torrent(&src, 64 * 1024);
    let seeder = session(Some(2 * MIB as u64)).await;
    add(&seeder, &meta, &dir.path().join("seed"), vec![]).await;
    let leecher = session(None).await;
    let h = add(
        &leecher,
        &meta,
        &dir.path().join("leech"),
        vec![seeder.local_addr()],
    )
    .await;
    poll(Duration::from_secs(10))
        .until_async("some progress", || h.stats().have_pieces >= 4)
        .await;
    h.pause();
    poll(Duration::from_secs(10))
        .until_async("paused", || {
            h.stats().state == TorrentState::Paused && h.peers().is_empty()
        })
        .await;
    let before = h.stats();
    assert!(!before.complete, "finished before the pause took effect");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after = h.stats();
    assert_eq!(
        before.downloaded, after.downloaded,
        "bytes arrived while paused"
    );
    assert!(h.peers().is_empty());
    assert!(h.is_paused());
    h.resume();
    wait_complete(&h, Duration::from_secs(30)).await;
    assert_eq!(h.stats().state, TorrentState::Seeding);
    assert!(same_bytes(&src, &dir.path().join("leech/p.bin")));
    leecher.shutdown().await;
    seeder.shutdown().await;
}

/// A torrent removed the moment it was added (before its control task ever ran) stops
/// at once: the stop request is not lost for want of a listener (it was, and removal
/// then waited out the session's 15 s stop timeout). The single-threaded runtime makes
/// "before the control task ran" certain; paused time measures the removal in virtual
/// seconds, so a lost stop shows as 15 s however fast the machine skips them.
#[tokio::test(start_paused = true)]
async fn remove_right_after_add_is_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("seed/r.bin");
    random_file(&src, 200_000, 5);
    let meta = make_torrent(&src, 32 * 1024);
    let net = shoal_engine::MemoryNetwork::new();
    let s = memory_session(&net, "10.0.0.1").await;
    for paused in [false, true] {
        let opts = AddTorrentOptions {
            download_dir: dir.path().join("seed"),
            paused,
            ..AddTorrentOptions::default()
        };
        let h = s.add_torrent(meta.clone(), opts, |_| {}).await.unwrap();
        let started = tokio::time::Instant::now();
        s.remove_torrent(&h.info_hash(), false).await.unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "paused={paused}: remove took {:?}",
            started.elapsed()
        );
        assert!(s.torrent(&h.info_hash()).is_none());
    }
    s.shutdown().await;
}

/// Two adds of one torrent at the same time: the second is refused as a duplicate even
/// while the first is still checking the data (both used to pass the check).
#[tokio::test(flavor = "current_thread")]
async fn concurrent_adds_of_one_torrent_admit_one() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("seed/d.bin");
    random_file(&src, 4 * MIB, 6);
    let meta = make_torrent(&src, 64 * 1024);
    let s = session(None).await;
    let opts = || AddTorrentOptions {
        download_dir: dir.path().join("seed"),
        ..AddTorrentOptions::default()
    };
    let (a, b) = tokio::join!(
        s.add_torrent(meta.clone(), opts(), |_| {}),
        s.add_torrent(meta.clone(), opts(), |_| {})
    );
    let oks = [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count();
    assert_eq!(oks, 1, "{:?} / {:?}", a.as_ref().err(), b.as_ref().err());
    assert!(matches!(
        a.as_ref().err().or(b.as_ref().err()),
        Some(AddTorrentError::Duplicate(_))
    ));
    assert_eq!(s.torrents().len(), 1);
    assert!(s.torrents()[0].is_complete());
    // Once the first add is done (or failed), the torrent can be added again after a
    // removal: the reservation is gone.
    s.remove_torrent(&meta.info_hash.0, false).await.unwrap();
    s.add_torrent(meta.clone(), opts(), |_| {}).await.unwrap();
    s.shutdown().await;
}

/// Removing with the data deletes the torrent's files and the directories it made, and
/// nothing else; removing without keeps everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_with_and_without_data() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("share");
    random_file(&root.join("a.bin"), 300_000, 1);
    random_file(&root.join("sub/b.bin"), 200_000, 2);
    let meta = make_torrent(&root, 32 * 1024);
    let s = session(None).await;
    let dl = dir.path().to_path_buf();
    let user_file = dl.join("keep-me.txt");
    std::fs::write(&user_file, b"not the torrent's").unwrap();

    let h = add(&s, &meta, &dl, vec![]).await;
    assert!(h.is_complete());
    s.remove_torrent(&h.info_hash(), false).await.unwrap();
    assert!(s.torrent(&h.info_hash()).is_none());
    assert!(root.join("sub/b.bin").exists(), "data kept");

    let h = add(&s, &meta, &dl, vec![]).await;
    assert!(h.is_complete(), "re-added over the kept data");
    assert_eq!(s.torrents().len(), 1);
    s.remove_torrent(&h.info_hash(), true).await.unwrap();
    assert!(!root.exists(), "torrent directory left behind");
    assert!(
        user_file.exists(),
        "a file that is not the torrent's was deleted"
    );
    assert!(s.torrents().is_empty());
    assert!(s.remove_torrent(&h.info_hash(), true).await.is_err());
    s.shutdown().await;
}

/// `trust_only` resume data is taken as is (proved by a corrupt piece it claims, which
/// is not re-hashed); without `trust_only` the other pieces are hashed and found; a
/// bitfield of the wrong size is refused; counters carry over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fast_resume_trusts_or_checks_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("p.bin");
    random_file(&src, 40 * 16 * 1024, 5);
    let meta = make_torrent(&src, 16 * 1024);
    let n = meta.info.num_pieces() as usize;
    // Corrupt piece 0 on disk.
    let mut data = std::fs::read(&src).unwrap();
    data[10] ^= 0xff;
    std::fs::write(&src, &data).unwrap();
    let s = session(None).await;
    let opts = |resume: ResumeData| AddTorrentOptions {
        download_dir: dir.path().to_path_buf(),
        resume: Some(resume),
        ..AddTorrentOptions::default()
    };
    let all = vec![0xffu8; n.div_ceil(8)];
    let mut all_bits = all.clone();
    if !n.is_multiple_of(8) {
        *all_bits.last_mut().unwrap() &= 0xffu8 << (8 - n % 8);
    }

    let resume = ResumeData {
        pieces: all_bits.clone(),
        trust_only: true,
        uploaded: 1234,
        downloaded: 5678,
    };
    let h = s
        .add_torrent(meta.clone(), opts(resume), |_| {})
        .await
        .unwrap();
    let st = h.stats();
    assert_eq!(st.have_pieces as usize, n, "trusted pieces not taken");
    assert_eq!((st.uploaded, st.downloaded), (1234, 5678));
    let saved = h.resume_data();
    assert_eq!(saved.pieces, all_bits);
    s.remove_torrent(&h.info_hash(), false).await.unwrap();

    // Claim only piece 0 (the corrupt one): it is trusted, the rest is hashed and found.
    let mut first_only = vec![0u8; n.div_ceil(8)];
    first_only[0] = 0x80;
    let resume = ResumeData {
        pieces: first_only,
        trust_only: false,
        uploaded: 0,
        downloaded: 0,
    };
    let h = s
        .add_torrent(meta.clone(), opts(resume), |_| {})
        .await
        .unwrap();
    assert_eq!(h.stats().have_pieces as usize, n);
    s.remove_torrent(&h.info_hash(), false).await.unwrap();

    // Without resume data the corrupt piece is found missing.
    let h = add(&s, &meta, dir.path(), vec![]).await;
    assert_eq!(h.stats().have_pieces as usize, n - 1);
    assert!(!h.have_pieces().get(0));
    s.remove_torrent(&h.info_hash(), false).await.unwrap();

    let resume = ResumeData {
        pieces: vec![0xff; n.div_ceil(8) + 3],
        trust_only: true,
        uploaded: 0,
        downloaded: 0,
    };
    match s.add_torrent(meta.clone(), opts(resume), |_| {}).await {
        Err(AddTorrentError::BadResume(_)) => {}
        other => panic!("expected BadResume, got {:?}", other.map(|h| h.stats())),
    }
    s.shutdown().await;
}

/// A re-check finds a piece damaged on disk, which is then downloaded again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recheck_finds_damage_and_refetches() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("seed/p.bin");
    random_file(&src, 2 * MIB, 21);
    let meta = make_torrent(&src, 64 * 1024);
    let seeder = session(None).await;
    add(&seeder, &meta, &dir.path().join("seed"), vec![]).await;
    let leecher = session(None).await;
    let h = add(
        &leecher,
        &meta,
        &dir.path().join("leech"),
        vec![seeder.local_addr()],
    )
    .await;
    wait_complete(&h, Duration::from_secs(30)).await;
    let got = dir.path().join("leech/p.bin");
    let mut data = std::fs::read(&got).unwrap();
    data[3 * 64 * 1024 + 7] ^= 0x55;
    std::fs::write(&got, &data).unwrap();
    let before = h.stats().downloaded;
    h.recheck().await.unwrap();
    wait_complete(&h, Duration::from_secs(30)).await;
    assert!(same_bytes(&src, &got));
    // The damaged piece was found and fetched again.
    assert!(
        h.stats().downloaded >= before + 64 * 1024,
        "re-check did not notice the damage"
    );
    assert!(!h.is_paused(), "re-check left the torrent paused");
    leecher.shutdown().await;
    seeder.shutdown().await;
}

/// Moving the data puts the files in the new directory and seeding goes on from there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn move_storage_then_seed_from_new_place() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("old/share");
    random_file(&root.join("x.bin"), 700_000, 3);
    random_file(&root.join("deep/y.bin"), 300_000, 4);
    let meta = make_torrent(&root, 32 * 1024);
    let seeder = session(None).await;
    let h = add(&seeder, &meta, &dir.path().join("old"), vec![]).await;
    let original = std::fs::read(root.join("deep/y.bin")).unwrap();
    h.move_storage(dir.path().join("new")).await.unwrap();
    assert!(!root.exists(), "old directory left behind");
    assert_eq!(
        std::fs::read(dir.path().join("new/share/deep/y.bin")).unwrap(),
        original
    );
    assert_eq!(h.download_dir(), dir.path().join("new"));
    assert!(h.is_complete());
    let leecher = session(None).await;
    let l = add(
        &leecher,
        &meta,
        &dir.path().join("leech"),
        vec![seeder.local_addr()],
    )
    .await;
    wait_complete(&l, Duration::from_secs(30)).await;
    assert_eq!(
        std::fs::read(dir.path().join("leech/share/deep/y.bin")).unwrap(),
        original
    );
    leecher.shutdown().await;
    seeder.shutdown().await;
}
