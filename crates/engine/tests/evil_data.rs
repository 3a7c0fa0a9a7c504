//! Hostile "seeders" against a leecher: blocks nobody asked for, piece messages out of
//! range, and a peer that claims to have everything (BEP 6 have-all) but rejects or
//! ignores every request. The leecher must finish from the honest seeder with the right
//! bytes, drop the offender, and keep its memory bounded. (Pieces with wrong data and
//! smart ban are covered by `bad_peer.rs`.)
//!
//! The tests run on the in-memory network in tokio's paused time (no sockets, no
//! disk threads), so they are deterministic; each compares its own process's memory
//! (nextest runs every test in a process of its own).
#![allow(clippy::unwrap_used)]

#[path = "support/evil.rs"]
mod evil;
mod support;

use evil::{memory_session_with, raw_frame, rss_kib, Evil};
use shoal_engine::{MemoryListener, MemoryNetwork, Session};
use shoal_metainfo::Metainfo;
use shoal_testkit::{init_logs, make_torrent, random_file, same_bytes};
use shoal_wire::Message;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;
use support::*;

const LEN: usize = 2 * 1024 * 1024 + 333;
const PIECE: u32 = 32 * 1024;

/// What the evil seeder does once the leecher is talking to it.
#[derive(Clone, Copy)]
enum Script {
    /// Sends 1 MiB of blocks nobody asked for.
    Unrequested,
    /// Sends piece messages whose index or offset is out of range.
    OutOfRange,
    /// Rejects every request.
    RejectAll,
    /// Never answers a request.
    Silent,
}

/// Plays `script` against the first connection on `listener`; returns whether the
/// leecher closed the connection (EOF or reset) within `limit`.
async fn play(
    mut listener: MemoryListener,
    hash: [u8; 20],
    script: Script,
    limit: Duration,
) -> bool {
    let mut evil = Evil::accept_in(&mut listener, hash).await;
    evil.send(&Message::HaveAll).await.unwrap();
    evil.send(&Message::Unchoke).await.unwrap();
    let deadline = tokio::time::Instant::now() + limit;
    let junk = bytes::Bytes::from(vec![0xa5u8; 16 * 1024]);
    let mut sent_junk = false;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return false;
        }
        let Some(msg) = evil.recv(left).await else {
            return tokio::time::Instant::now() < deadline;
        };
        let wrote = match (script, msg) {
            (Script::Unrequested, _) if !sent_junk => {
                sent_junk = true;
                let mut r = Ok(());
                for i in 0..64u32 {
                    r = r.and(
                        evil.send(&Message::Piece {
                            piece: i % 64,
                            begin: PIECE - 16 * 1024,
                            data: junk.clone(),
                        })
                        .await,
                    );
                }
                r
            }
            (Script::OutOfRange, _) if !sent_junk => {
                sent_junk = true;
                let mut r = Ok(());
                for i in 0..32u32 {
                    r = r.and(
                        evil.send(&Message::Piece {
                            piece: u32::MAX - i,
                            begin: u32::MAX - 8,
                            data: junk.clone(),
                        })
                        .await,
                    );
                }
                r
            }
            (Script::RejectAll, Message::Request(b)) => evil.send(&Message::Reject(b)).await,
            _ => Ok(()),
        };
        if wrote.is_err() {
            return true;
        }
    }
}

struct Setup {
    dir: tempfile::TempDir,
    meta: Metainfo,
    src: PathBuf,
}

fn setup(seed: u64) -> Setup {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("seed/data.bin");
    random_file(&src, LEN, seed);
    let meta = make_torrent(&src, PIECE);
    Setup { dir, meta, src }
}

/// Runs `script` on an evil seeder at `evil_ip` next to an honest seeder; the leecher
/// must finish correctly and drop the evil peer.
async fn run(script: Script, net: u8, must_close: bool) {
    let s = setup(u64::from(net));
    let before = rss_kib();
    let network = MemoryNetwork::new();
    let evil_ip = format!("127.0.{net}.66");
    let listener = network
        .listen(format!("{evil_ip}:0").parse().unwrap())
        .unwrap();
    let evil_addr = listener.local_addr();
    let evil = tokio::spawn(play(
        listener,
        s.meta.info_hash.0,
        script,
        Duration::from_secs(15),
    ));

    let honest = memory_session_with(&network, &format!("127.0.{net}.1"), |_| {}).await;
    add(&honest, &s.meta, &s.dir.path().join("seed"), vec![]).await;
    let leecher = memory_session_with(&network, &format!("127.0.{net}.2"), |_| {}).await;
    let dest = s.dir.path().join("leech");
    let handle = add(
        &leecher,
        &s.meta,
        &dest,
        vec![evil_addr, honest.local_addr()],
    )
    .await;
    wait_complete(&handle, Duration::from_secs(15)).await;
    assert!(same_bytes(&s.src, &dest.join("data.bin")));
    if must_close {
        assert!(
            evil.await.unwrap(),
            "the leecher kept the evil peer's connection open"
        );
        let ip: IpAddr = evil_ip.parse().unwrap();
        for _ in 0..100 {
            if handle.peers().iter().all(|p| p.addr.ip() != ip) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(handle.peers().iter().all(|p| p.addr.ip() != ip));
    } else {
        evil.abort();
    }
    let after = rss_kib();
    assert!(after < before + 96 * 1024, "RSS {before} -> {after} KiB");
    leecher.shutdown().await;
    honest.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn unrequested_blocks_disconnect() {
    run(Script::Unrequested, 40, true).await;
}

#[tokio::test(start_paused = true)]
async fn out_of_range_piece_messages_disconnect() {
    run(Script::OutOfRange, 41, true).await;
}

#[tokio::test(start_paused = true)]
async fn have_all_then_reject_everything_does_not_stall_the_download() {
    run(Script::RejectAll, 70, true).await;
}

#[tokio::test(start_paused = true)]
async fn have_all_then_silence_does_not_stall_the_download() {
    run(Script::Silent, 71, true).await;
}

/// Malformed piece frames (too short for the header, bigger than any block) are
/// protocol errors.
#[tokio::test(start_paused = true)]
async fn malformed_piece_frames_disconnect() {
    let s = setup(42);
    let network = MemoryNetwork::new();
    for (i, frame) in [
        raw_frame(7, &[0, 0, 0, 0, 0]),
        raw_frame(7, &vec![0; 8 + 128 * 1024 + 100]),
    ]
    .into_iter()
    .enumerate()
    {
        let leecher: Session =
            memory_session_with(&network, &format!("127.0.42.{}", 2 + i), |_| {}).await;
        let mut listener = network
            .listen(format!("127.0.42.{}:0", 10 + i).parse().unwrap())
            .unwrap();
        let addr = listener.local_addr();
        let dest = s.dir.path().join(format!("leech{i}"));
        let handle = add(&leecher, &s.meta, &dest, vec![addr]).await;
        let mut evil = Evil::accept_in(&mut listener, s.meta.info_hash.0).await;
        evil.send(&Message::HaveAll).await.unwrap();
        let _ = evil.send_raw(&frame).await;
        assert!(evil.closed_within(Duration::from_secs(5)).await);
        for _ in 0..100 {
            if handle.peers().iter().all(|p| p.addr != addr) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(handle.peers().iter().all(|p| p.addr != addr));
        leecher.shutdown().await;
    }
}
