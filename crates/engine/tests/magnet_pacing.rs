//! How a magnet fetch paces its ut_metadata requests (BEP 9) against peers that real
//! clients are like: one that serves a connection only while it asks for one piece at
//! a time (widely deployed clients answer the first of several pipelined requests and
//! then never serve that connection again), and one that leaves a request unanswered.
//! The fetch must ask one piece at a time, give up a silent connection within seconds
//! and dial the peer again.
//!
//! On the memory network in paused time: the deadlines below are virtual.
#![allow(clippy::unwrap_used)]

#[path = "support/evil.rs"]
mod evil;
mod support;

use evil::{memory_session_with, Evil};
use shoal_engine::MemoryNetwork;
use shoal_ext::MetadataMessage;
use shoal_metainfo::Metainfo;
use shoal_testkit::{init_logs, make_torrent};
use shoal_wire::{ExtensionHandshake, Message};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How the scripted metadata source behaves.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Manner {
    /// Answers a request only when no other request arrived with it; a connection
    /// that pipelines requests is never answered again (it stays open).
    OneAtATime,
    /// Never answers on its first connection; later connections are served.
    SilentFirstConnection,
}

/// A torrent of many small files with long names, so that its info dictionary takes
/// exactly three metadata pieces.
fn three_piece_torrent(dir: &tempfile::TempDir) -> Metainfo {
    let root = dir.path().join("many");
    std::fs::create_dir_all(&root).unwrap();
    for i in 0..400 {
        let name = format!("{i:04}-{}", "n".repeat(90));
        std::fs::write(root.join(name), [i as u8]).unwrap();
    }
    let meta = make_torrent(&root, 16 * 1024);
    let pieces = meta.info_bytes.len().div_ceil(16 * 1024);
    assert_eq!(
        pieces,
        3,
        "info dictionary of {} bytes",
        meta.info_bytes.len()
    );
    meta
}

/// Starts the scripted source on `ip`; returns its address and the number of
/// connections made to it.
async fn scripted_source(
    net: &MemoryNetwork,
    ip: &str,
    meta: &Metainfo,
    manner: Manner,
) -> (SocketAddr, Arc<AtomicUsize>) {
    let mut listener = net.listen(format!("{ip}:0").parse().unwrap()).unwrap();
    let addr = listener.local_addr();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    let hash = meta.info_hash.0;
    let info = meta.info_bytes.clone();
    tokio::spawn(async move {
        loop {
            let evil = Evil::accept_in(&mut listener, hash).await;
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let silent = manner == Manner::SilentFirstConnection && n == 0;
            tokio::spawn(serve(evil, info.clone(), silent));
        }
    });
    (addr, connections)
}

/// Serves metadata on one connection until it closes.
async fn serve(mut evil: Evil<shoal_engine::MemoryStream>, info: Vec<u8>, silent: bool) {
    let size = info.len() as u64;
    evil.send_ext_handshake(&[("ut_metadata", 1)], Some(size))
        .await
        .unwrap();
    let mut their_id = None;
    let mut stalled = silent;
    loop {
        // Everything that arrived together: one read's worth of messages.
        let Some(first) = evil.recv(Duration::from_secs(600)).await else {
            return;
        };
        let mut batch = vec![first];
        while let Some(more) = evil.recv(Duration::ZERO).await {
            batch.push(more);
        }
        let mut requests = Vec::new();
        for msg in batch {
            let Message::Extended { id, payload } = msg else {
                continue;
            };
            if id == 0 {
                let hs = ExtensionHandshake::decode(&payload).unwrap();
                their_id = hs.m.get("ut_metadata").copied();
            } else if let Ok(MetadataMessage::Request { piece }) =
                MetadataMessage::decode(&payload, 1 << 30)
            {
                requests.push(piece);
            }
        }
        let (Some(their_id), Some(&piece)) = (their_id, requests.first()) else {
            continue;
        };
        if stalled {
            continue;
        }
        // The second request arrives while the first answer is still queued.
        stalled = requests.len() > 1;
        let start = piece as usize * 16 * 1024;
        let end = (start + 16 * 1024).min(info.len());
        let reply = MetadataMessage::Data {
            piece,
            total_size: size,
            data: &info[start..end],
        };
        let sent = evil
            .send(&Message::Extended {
                id: their_id,
                payload: reply.encode().into(),
            })
            .await;
        if sent.is_err() {
            return;
        }
    }
}

/// Fetches a three-piece info dictionary from one scripted source behaving in
/// `manner`; returns how long that took (virtual time) and the connections made.
async fn fetch_from_scripted(manner: Manner) -> (Duration, usize) {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let meta = three_piece_torrent(&dir);
    let net = MemoryNetwork::new();
    let (source, connections) = scripted_source(&net, "10.0.20.1", &meta, manner).await;
    let leecher = memory_session_with(&net, "10.0.20.2", |_| {}).await;
    let started = Instant::now();
    let fetched = leecher
        .fetch_metadata(&meta.magnet(), vec![source], Duration::from_secs(60))
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(fetched.info_bytes, meta.info_bytes);
    leecher.shutdown().await;
    (took, connections.load(Ordering::SeqCst))
}

/// A peer that stops serving a connection on which several requests arrive at once
/// still delivers a three-piece info dictionary at once, over one connection: the
/// fetch asks it one piece at a time. (With four requests in flight per peer the
/// fetch hung for ever.)
#[tokio::test(start_paused = true)]
async fn a_peer_serving_one_request_at_a_time_delivers_the_metadata() {
    let (took, connections) = fetch_from_scripted(Manner::OneAtATime).await;
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert_eq!(connections, 1);
}

/// A request the peer never answers costs seconds, not a minute: the connection is
/// given up after the request timeout (5 s), the peer is dialled again a second
/// later, and the new connection delivers the metadata.
#[tokio::test(start_paused = true)]
async fn a_silent_request_is_given_up_and_the_peer_dialled_again() {
    let (took, connections) = fetch_from_scripted(Manner::SilentFirstConnection).await;
    assert!(
        took >= Duration::from_secs(5) && took < Duration::from_secs(7),
        "fetched after {took:?}, not after one timeout and one redial"
    );
    assert_eq!(connections, 2);
}
