//! Resource caps under load: a thousand torrents in one session keep their open files
//! under the session's file-handle cap, and five thousand incoming connections leave the
//! engine within its connection, handshake and per-torrent peer limits — while an honest
//! transfer goes on.
#![allow(clippy::unwrap_used)]

mod support;

use shoal_engine::{AddTorrentOptions, Session, SessionConfig};
use shoal_metainfo::Metainfo;
use shoal_testkit::{make_torrent, random_file, same_bytes};
use shoal_wire::Handshake;
use std::path::Path;
use std::time::{Duration, Instant};
use support::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Open file descriptors of this test process.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Resident memory of this test process in MiB.
fn rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib / 1024
}

fn config(max_open_files: usize, max_connections: usize) -> SessionConfig {
    SessionConfig {
        listen_addr: "127.0.0.1:0".parse().unwrap(),
        use_trackers: false,
        max_open_files,
        max_connections,
        ..SessionConfig::default()
    }
}

async fn add_seed(session: &Session, meta: &Metainfo, dir: &Path) {
    let opts = AddTorrentOptions {
        download_dir: dir.to_path_buf(),
        ..AddTorrentOptions::default()
    };
    let h = session
        .add_torrent(meta.clone(), opts, |_| {})
        .await
        .unwrap();
    assert!(
        h.is_complete(),
        "seed data not found for {}",
        meta.info.name
    );
}

/// 1,000 torrents of two files each, all seeding in one session with a cap of 64 open
/// files: the process's descriptors stay near the cap while twenty of them are
/// downloaded at once, and memory stays bounded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_torrents_share_the_open_file_cap() {
    const TORRENTS: usize = 1000;
    const FILE_CAP: usize = 64;
    let dir = tempfile::tempdir().unwrap();
    let mut metas = Vec::new();
    for i in 0..TORRENTS {
        let root = dir.path().join(format!("seed/t{i}"));
        random_file(&root.join("a.bin"), 20_000, i as u64);
        random_file(&root.join("b.bin"), 12_000, (i + TORRENTS) as u64);
        metas.push(make_torrent(&root, 16 * 1024));
    }
    let (fds0, rss0) = (open_fds(), rss_mib());
    let started = Instant::now();
    let seeder = Session::new(config(FILE_CAP, 500)).await.unwrap();
    for meta in &metas {
        add_seed(&seeder, meta, &dir.path().join("seed")).await;
    }
    let added = started.elapsed();
    assert_eq!(seeder.torrents().len(), TORRENTS);
    let fds_seeding = open_fds() - fds0;
    assert!(
        fds_seeding <= FILE_CAP + 40,
        "{fds_seeding} descriptors for {TORRENTS} seeding torrents (file cap {FILE_CAP})"
    );

    let leecher = session(None).await;
    let mut handles = Vec::new();
    for i in (0..TORRENTS).step_by(TORRENTS / 20) {
        let out = dir.path().join(format!("leech/t{i}"));
        handles.push((
            i,
            add(&leecher, &metas[i], &out, vec![seeder.local_addr()]).await,
        ));
    }
    let mut peak = 0;
    for (i, h) in &handles {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !h.is_complete() {
            peak = peak.max(open_fds() - fds0);
            assert!(
                Instant::now() < deadline,
                "torrent {i} stalled: {:?}",
                h.stats()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    for (i, _) in &handles {
        let root = format!("t{i}");
        assert_same_tree(
            &dir.path().join("seed").join(&root),
            &dir.path().join("leech").join(&root).join(&root),
        );
    }
    // Both sessions in this process: the seeder's capped files, the leecher's (up to
    // 256 by default, 40 files here) and a socket pair per transfer.
    assert!(
        peak <= FILE_CAP + 40 + 2 * 20 + 60,
        "{peak} descriptors at the peak"
    );
    let rss = rss_mib().saturating_sub(rss0);
    eprintln!(
        "{TORRENTS} torrents: added and checked in {added:.2?}, {fds_seeding} descriptors while seeding, {peak} at the peak, +{rss} MiB resident"
    );
    assert!(rss < 400, "{rss} MiB resident for {TORRENTS} torrents");
    leecher.shutdown().await;
    seeder.shutdown().await;
}

/// Whether the engine closed `stream` (EOF or reset; a silent connection never gets
/// the engine's handshake, so there is nothing to read while it is open).
fn closed_by_engine(stream: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    match stream.try_read(&mut byte) {
        Ok(n) => n == 0,
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    }
}

fn assert_same_tree(a: &Path, b: &Path) {
    for name in ["a.bin", "b.bin"] {
        assert!(same_bytes(&a.join(name), &b.join(name)), "{} differs", name);
    }
}

/// 5,000 incoming connections — most handshake for one torrent, the rest stay silent —
/// against a session capped at 300 connections and 80 peers per torrent: the caps hold
/// throughout, silent connections beyond the pending-handshake cap are closed, the
/// engine's own descriptors stay bounded, and an honest peer connecting in meanwhile
/// still gets a second torrent of the same session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_connections_are_held_to_the_caps() {
    const CONNECTIONS: usize = 5000;
    const SILENT_EVERY: usize = 5;
    const MAX_CONNECTIONS: usize = 300;
    let dir = tempfile::tempdir().unwrap();
    let busy_src = dir.path().join("seed/busy.bin");
    random_file(&busy_src, 1024 * 1024, 5);
    let busy = make_torrent(&busy_src, 64 * 1024);
    let quiet_src = dir.path().join("seed/quiet.bin");
    random_file(&quiet_src, 4 * 1024 * 1024, 6);
    let quiet = make_torrent(&quiet_src, 64 * 1024);

    let fds0 = open_fds();
    let rss0 = rss_mib();
    let seeder = Session::new(config(64, MAX_CONNECTIONS)).await.unwrap();
    add_seed(&seeder, &busy, &dir.path().join("seed")).await;
    let target = seeder.local_addr();

    let flood = tokio::spawn(async move {
        let mut held = Vec::with_capacity(CONNECTIONS);
        for i in 0..CONNECTIONS {
            let Ok(Ok(mut stream)) =
                tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(target)).await
            else {
                continue;
            };
            if i % SILENT_EVERY != 0 {
                let mut id = *b"-FL0001-000000000000";
                id[12..20].copy_from_slice(format!("{i:08}").as_bytes());
                let _ = stream
                    .write_all(&Handshake::new(busy.info_hash.0, id).encode())
                    .await;
            }
            held.push(stream);
        }
        held
    });
    let busy_handle = seeder.torrents().pop().unwrap();
    let mut peak_conns = 0;
    let mut peak_peers = 0;
    while !flood.is_finished() {
        peak_conns = peak_conns.max(seeder.connections());
        peak_peers = peak_peers.max(busy_handle.stats().peers);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let held = flood.await.unwrap();
    let opened = held.len();
    assert!(
        opened >= CONNECTIONS * 9 / 10,
        "only {opened} connections opened"
    );
    // Our own client sockets are in this process too: count the engine's side apart.
    let engine_fds = open_fds().saturating_sub(fds0 + opened);
    eprintln!(
        "{opened} connections: peak {peak_conns} connections, {peak_peers} peers on the torrent, {engine_fds} engine descriptors, +{} MiB resident",
        rss_mib().saturating_sub(rss0)
    );
    assert!(peak_conns <= MAX_CONNECTIONS, "{peak_conns} connections");
    assert!(peak_peers <= 80, "{peak_peers} peers on one torrent");
    assert!(
        engine_fds <= MAX_CONNECTIONS + 128 + 64 + 40,
        "{engine_fds} descriptors held by the engine"
    );

    // Silent connections beyond the 128 handshakes allowed at once were closed by the
    // engine, oldest first, as newer ones came.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let silent: Vec<&TcpStream> = held.iter().step_by(SILENT_EVERY).collect();
    let closed = silent.iter().filter(|s| closed_by_engine(s)).count();
    eprintln!(
        "{closed} of {} silent connections closed by the engine",
        silent.len()
    );
    assert!(
        closed + 128 >= silent.len(),
        "only {closed} of {} silent connections were closed",
        silent.len()
    );

    // While the flood holds its sockets, an honest peer still connects in (its
    // handshake displaces the oldest silent one) and gets another torrent.
    let opts = AddTorrentOptions {
        download_dir: dir.path().join("seed"),
        ..AddTorrentOptions::default()
    };
    seeder
        .add_torrent(quiet.clone(), opts, |_| {})
        .await
        .unwrap();
    let leecher = session(None).await;
    let out = dir.path().join("leech");
    let lh = add(&leecher, &quiet, &out, vec![seeder.local_addr()]).await;
    // Well within the 15 s the silent handshakes could otherwise hold their places.
    wait_complete(&lh, Duration::from_secs(10)).await;
    assert!(same_bytes(&quiet_src, &out.join("quiet.bin")));
    assert!(seeder.connections() <= MAX_CONNECTIONS);
    assert!(
        rss_mib().saturating_sub(rss0) < 300,
        "memory grew by {} MiB",
        rss_mib().saturating_sub(rss0)
    );
    drop(held);
    leecher.shutdown().await;
    seeder.shutdown().await;
}
