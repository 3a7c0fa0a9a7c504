//! Hostile metadata (BEP 9) sources for a magnet fetch: an evil peer that serves an
//! info dictionary of the right size but the wrong content, one that serves a single
//! wrong piece and rejects the rest, one whose data claims another total size, and one
//! announcing another metadata size. Next to an honest seeder (reached through a proxy
//! that delays it by a moment, so the evil peer always answers first) the fetch must
//! return the true info dictionary; alone, the evil peer must never make the fetch
//! accept a wrong torrent, and it must be dropped and not dialled again.
//!
//! On the memory network in paused time: the delays and deadlines are virtual, so
//! "the honest copy wins within 5 s" holds however busy the machine.
#![allow(clippy::unwrap_used)]

#[path = "support/evil.rs"]
mod evil;
mod support;

use evil::{memory_session_with, rss_kib, Evil};
use shoal_engine::MemoryNetwork;
use shoal_ext::MetadataMessage;
use shoal_metainfo::Metainfo;
use shoal_testkit::{init_logs, make_torrent, random_file};
use shoal_wire::{ExtensionHandshake, Message};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::*;
use tokio::time::Instant;

/// How the evil peer answers metadata requests.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Lie {
    /// Announces the right size, serves a copy with every byte flipped.
    WrongContent,
    /// Serves piece 0 flipped and rejects every other piece.
    OneWrongPiece,
    /// Announces the right size, but its data messages claim one byte more.
    WrongTotalSize,
    /// Announces (and serves a consistent copy of) a size 1000 bytes larger, slowly:
    /// the honest peer arrives while the fetch still uses the wrong size.
    WrongAnnouncedSize,
}

/// What the evil peer saw.
#[derive(Default)]
struct Seen {
    /// Connections made to it.
    connections: AtomicUsize,
    /// Data messages it sent.
    served: AtomicUsize,
}

/// Starts the evil metadata source on `ip`; `real` is the true info dictionary.
/// Returns its address, what it saw, and a task that ends with when the engine closed
/// the first connection.
async fn evil_source(
    net: &MemoryNetwork,
    ip: &str,
    hash: [u8; 20],
    real: Vec<u8>,
    lie: Lie,
) -> (
    SocketAddr,
    Arc<Seen>,
    tokio::task::JoinHandle<Option<Instant>>,
) {
    let mut listener = net.listen(format!("{ip}:0").parse().unwrap()).unwrap();
    let addr = listener.local_addr();
    let seen = Arc::new(Seen::default());
    let seen2 = seen.clone();
    let task = tokio::spawn(async move {
        let mut evil = Evil::accept_in(&mut listener, hash).await;
        seen2.connections.fetch_add(1, Ordering::SeqCst);
        // Count any later connection too: a banned source must not be dialled again.
        let counter = seen2.clone();
        tokio::spawn(async move {
            while let Ok((_s, _)) = listener.accept().await {
                counter.connections.fetch_add(1, Ordering::SeqCst);
            }
        });
        let mut fake: Vec<u8> = real.iter().map(|b| !b).collect();
        if lie == Lie::WrongAnnouncedSize {
            fake.extend(std::iter::repeat_n(b'x', 1000));
        }
        let size = fake.len() as u64;
        let claimed = if lie == Lie::WrongTotalSize {
            size + 1
        } else {
            size
        };
        evil.send_ext_handshake(&[("ut_metadata", 1)], Some(size))
            .await
            .unwrap();
        let mut their_id = None;
        loop {
            let Some(msg) = evil.recv(Duration::from_secs(20)).await else {
                return Some(Instant::now());
            };
            let Message::Extended { id, payload } = msg else {
                continue;
            };
            if id == 0 {
                let hs = ExtensionHandshake::decode(&payload).unwrap();
                their_id = hs.m.get("ut_metadata").copied();
                continue;
            }
            let (Some(their_id), Ok(MetadataMessage::Request { piece })) =
                (their_id, MetadataMessage::decode(&payload, 1 << 30))
            else {
                continue;
            };
            if lie == Lie::WrongAnnouncedSize {
                tokio::time::sleep(Duration::from_millis(600)).await;
            }
            let start = piece as usize * 16 * 1024;
            let end = (start + 16 * 1024).min(fake.len());
            let reply = if lie == Lie::OneWrongPiece && piece != 0 {
                MetadataMessage::Reject { piece }
            } else {
                seen2.served.fetch_add(1, Ordering::SeqCst);
                MetadataMessage::Data {
                    piece,
                    total_size: claimed,
                    data: &fake[start..end],
                }
            };
            let sent = evil
                .send(&Message::Extended {
                    id: their_id,
                    payload: reply.encode().into(),
                })
                .await;
            if sent.is_err() {
                return Some(Instant::now());
            }
        }
    });
    (addr, seen, task)
}

/// A proxy on `ip` to `target` that holds each connection `delay` before passing
/// bytes on (so the peer behind it answers after the evil one).
async fn delayed_proxy(
    net: &MemoryNetwork,
    ip: &str,
    target: SocketAddr,
    delay: Duration,
) -> SocketAddr {
    let mut listener = net.listen(format!("{ip}:0").parse().unwrap()).unwrap();
    let addr = listener.local_addr();
    let from = addr.ip();
    let net = net.clone();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let net = net.clone();
            tokio::spawn(async move {
                let Ok(mut outbound) = net.connect(from, target) else {
                    return;
                };
                tokio::time::sleep(delay).await;
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            });
        }
    });
    addr
}

/// A torrent whose info dictionary takes two metadata pieces, seeded on 127.0.15.1.
async fn seeded(net: &MemoryNetwork, dir: &tempfile::TempDir) -> (Metainfo, shoal_engine::Session) {
    init_logs();
    let src = dir.path().join("seed/data.bin");
    random_file(&src, 24 * 1024 * 1024, 151);
    let meta = make_torrent(&src, 16 * 1024);
    assert!(meta.info_bytes.len() > 16 * 1024 && meta.info_bytes.len() < 32 * 1024);
    let seeder = memory_session_with(net, "127.0.15.1", |_| {}).await;
    let handle = add(&seeder, &meta, &dir.path().join("seed"), vec![]).await;
    wait_complete(&handle, Duration::from_secs(20)).await;
    (meta, seeder)
}

#[tokio::test(start_paused = true)]
async fn lying_metadata_sources_lose_to_the_honest_one() {
    let dir = tempfile::tempdir().unwrap();
    let net = MemoryNetwork::new();
    let (meta, seeder) = seeded(&net, &dir).await;
    let before = rss_kib();
    let honest = delayed_proxy(
        &net,
        "127.0.15.2",
        seeder.local_addr(),
        Duration::from_millis(300),
    )
    .await;
    let lies = [
        Lie::WrongContent,
        Lie::OneWrongPiece,
        Lie::WrongTotalSize,
        Lie::WrongAnnouncedSize,
    ];
    for (i, lie) in lies.into_iter().enumerate() {
        let ip = format!("127.0.15.{}", 10 + i);
        let (evil_addr, seen, evil) =
            evil_source(&net, &ip, meta.info_hash.0, meta.info_bytes.to_vec(), lie).await;
        let fetcher = memory_session_with(&net, &format!("127.0.15.{}", 20 + i), |_| {}).await;
        let started = Instant::now();
        let fetched = fetcher
            .fetch_metadata(
                &meta.magnet(),
                vec![evil_addr, honest],
                Duration::from_secs(15),
            )
            .await
            .unwrap_or_else(|e| panic!("{lie:?}: {e}"));
        let took = started.elapsed();
        let done = Instant::now();
        assert_eq!(fetched.info_bytes, meta.info_bytes, "{lie:?}");
        assert_eq!(fetched.info_hash, meta.info_hash, "{lie:?}");
        let closed = evil.await.unwrap().expect("evil connection never closed");
        eprintln!(
            "{lie:?}: fetched in {took:?}; evil served {} pieces, dialled {} times, closed {:?} \
             before the fetch ended",
            seen.served.load(Ordering::SeqCst),
            seen.connections.load(Ordering::SeqCst),
            done.checked_duration_since(closed),
        );
        assert_eq!(seen.connections.load(Ordering::SeqCst), 1, "{lie:?}");
        assert!(seen.served.load(Ordering::SeqCst) >= 1, "{lie:?}");
        if lie != Lie::OneWrongPiece {
            // Caught on its own (a whole bad copy, or a size lie): dropped before the
            // honest copy completed the fetch.
            assert!(closed <= done, "{lie:?}: evil peer kept until the end");
        }
        assert!(took < Duration::from_secs(5), "{lie:?}: took {took:?}");
        fetcher.shutdown().await;
    }
    let after = rss_kib();
    assert!(after < before + 64 * 1024, "RSS {before} -> {after} KiB");
    seeder.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_lying_source_alone_never_yields_a_torrent() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("data.bin");
    random_file(&src, 24 * 1024 * 1024, 152);
    let meta = make_torrent(&src, 16 * 1024);
    let net = MemoryNetwork::new();
    for (i, lie) in [Lie::WrongContent, Lie::WrongAnnouncedSize]
        .into_iter()
        .enumerate()
    {
        let (evil_addr, seen, evil) = evil_source(
            &net,
            &format!("127.0.15.{}", 40 + i),
            meta.info_hash.0,
            meta.info_bytes.to_vec(),
            lie,
        )
        .await;
        let fetcher = memory_session_with(&net, &format!("127.0.15.{}", 50 + i), |_| {}).await;
        let limit = Duration::from_secs(3);
        let started = Instant::now();
        let result = fetcher
            .fetch_metadata(&meta.magnet(), vec![evil_addr], limit)
            .await;
        assert!(
            matches!(result, Err(shoal_engine::MetadataError::TimedOut(_))),
            "{lie:?}: {:?}",
            result.map(|m| m.info_hash)
        );
        let closed = evil.await.unwrap().expect("evil connection never closed");
        let closed_after = closed.duration_since(started);
        eprintln!(
            "{lie:?} alone: timed out; evil served {} pieces and was dropped after {closed_after:?}",
            seen.served.load(Ordering::SeqCst)
        );
        assert!(closed_after < limit, "{lie:?}: kept until the timeout");
        assert_eq!(seen.connections.load(Ordering::SeqCst), 1);
        fetcher.shutdown().await;
    }
}
