//! Trackers that misbehave on purpose: an HTTP tracker that accepts and never answers,
//! one that trickles its reply forever, one that streams an endless chunked body, one
//! that claims a 10 GiB body, redirects that loop between two trackers, replies whose
//! `peers` have the wrong type, and UDP trackers
//! that answer with garbage, wrong transaction ids, wrong actions or errors. Each must
//! end in a bounded time as an error (never a panic or a hang), with a bounded amount
//! read, and a good tracker in the next tier must still give peers.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use shoal_announce::Announcer;
use shoal_tracker::udp::packet::{Request, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, watch};

/// What a faulty HTTP tracker does once it has read a request.
#[derive(Clone, Copy)]
enum Misbehaviour {
    /// Never writes a byte and keeps the connection open.
    Hang,
    /// Writes one byte of a valid-looking reply every 100 ms, forever.
    Trickle,
    /// A chunked body that never ends, as fast as the client reads.
    EndlessChunks,
    /// Claims a 10 GiB body, then streams zeros.
    HugeLength,
    /// Redirects to the other tracker of a pair (set through `peer_url`).
    RedirectTo,
}

/// A faulty HTTP tracker on 127.0.0.1: counts requests and the bytes it managed to send.
struct FaultyTracker {
    url: String,
    requests: Arc<AtomicUsize>,
    sent: Arc<AtomicUsize>,
}

async fn read_head(sock: &mut TcpStream) -> bool {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if buf.len() > 65536 {
            return false;
        }
    }
    true
}

impl FaultyTracker {
    async fn start(how: Misbehaviour, redirect: Option<String>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        Self::serve(listener, how, redirect, format!("http://{addr}/announce"))
    }

    fn serve(
        listener: TcpListener,
        how: Misbehaviour,
        redirect: Option<String>,
        url: String,
    ) -> Self {
        let requests = Arc::new(AtomicUsize::new(0));
        let sent = Arc::new(AtomicUsize::new(0));
        let (req, snt) = (requests.clone(), sent.clone());
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let (req, snt, redirect) = (req.clone(), snt.clone(), redirect.clone());
                tokio::spawn(async move {
                    if !read_head(&mut sock).await {
                        return;
                    }
                    req.fetch_add(1, Ordering::SeqCst);
                    // Every loop below ends when the client goes away; each is also
                    // bounded in time so a broken client cannot keep the test busy.
                    let until = Instant::now() + Duration::from_secs(20);
                    match how {
                        Misbehaviour::Hang => {
                            let mut b = [0u8; 1];
                            let _ =
                                tokio::time::timeout(Duration::from_secs(20), sock.read(&mut b))
                                    .await;
                        }
                        Misbehaviour::Trickle => {
                            let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nd8:intervali1800e5:peers";
                            for byte in reply.iter().cycle() {
                                if Instant::now() > until || sock.write_all(&[*byte]).await.is_err()
                                {
                                    return;
                                }
                                snt.fetch_add(1, Ordering::SeqCst);
                                tokio::time::sleep(Duration::from_millis(100)).await;
                            }
                        }
                        Misbehaviour::EndlessChunks | Misbehaviour::HugeLength => {
                            let head: &[u8] = if matches!(how, Misbehaviour::EndlessChunks) {
                                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                            } else {
                                b"HTTP/1.1 200 OK\r\nContent-Length: 10737418240\r\n\r\n"
                            };
                            if sock.write_all(head).await.is_err() {
                                return;
                            }
                            let mut piece = Vec::new();
                            if matches!(how, Misbehaviour::EndlessChunks) {
                                piece.extend_from_slice(b"4000\r\n");
                                piece.extend_from_slice(&[b'x'; 0x4000]);
                                piece.extend_from_slice(b"\r\n");
                            } else {
                                piece.resize(0x4000, 0);
                            }
                            while Instant::now() < until {
                                if sock.write_all(&piece).await.is_err() {
                                    return;
                                }
                                snt.fetch_add(piece.len(), Ordering::SeqCst);
                            }
                        }
                        Misbehaviour::RedirectTo => {
                            let to = redirect.unwrap_or_default();
                            let reply = format!(
                                "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            );
                            let _ = sock.write_all(reply.as_bytes()).await;
                            let _ = sock.shutdown().await;
                        }
                    }
                });
            }
        });
        FaultyTracker {
            url,
            requests,
            sent,
        }
    }
}

/// Runs an announcer over `tiers` until peers arrive from the good tracker; returns
/// the time that took and the announcer's view of `bad_url`'s last result.
async fn peers_despite(tiers: Vec<Vec<String>>, bad_url: &str) -> (Duration, String) {
    let mut cfg = config(tiers);
    cfg.request_timeout = Duration::from_secs(1);
    let (_stats_tx, stats_rx) = watch::channel(stats());
    let (peers_tx, mut peers_rx) = mpsc::channel(8);
    let started = Instant::now();
    let announcer = Announcer::spawn(cfg, stats_rx, peers_tx);
    let peers = tokio::time::timeout(Duration::from_secs(10), peers_rx.recv())
        .await
        .expect("no peers from the good tracker within 10 s")
        .unwrap();
    let took = started.elapsed();
    assert_eq!(peers, canned_peers());
    WAIT.until_async("the bad tracker's error", || {
        announcer
            .status()
            .iter()
            .any(|s| s.url == bad_url && matches!(s.last_result, Some(Err(_))))
    })
    .await;
    let status = announcer.status();
    let bad = status.iter().find(|s| s.url == bad_url).unwrap();
    let Some(Err(text)) = bad.last_result.clone() else {
        unreachable!()
    };
    let stop = Instant::now();
    announcer.stop(Duration::from_secs(2)).await;
    assert!(stop.elapsed() < Duration::from_secs(4), "stopping hung");
    (took, text.to_lowercase())
}

/// A tracker that accepts and never answers, and one that trickles a byte every
/// 100 ms: both end at the request timeout, and the good tracker of the next tier is
/// used right after (trackers within a tier are tried in shuffled order, BEP 12).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_and_trickling_trackers_time_out_and_the_next_tier_answers() {
    for how in [Misbehaviour::Hang, Misbehaviour::Trickle] {
        let bad = FaultyTracker::start(how, None).await;
        let good = HttpTracker::start(Reply::ok(announce_reply(1800))).await;
        let (took, err) = peers_despite(
            vec![vec![bad.url.clone()], vec![good.url.clone()]],
            &bad.url,
        )
        .await;
        assert!(
            err.contains("timed out") || err.contains("timeout"),
            "{err}"
        );
        assert!(took < Duration::from_secs(5), "failover took {took:?}");
        // One try (a tracker that never answered `started` is not told `stopped`);
        // the good one got `started` and then `stopped`.
        assert_eq!(bad.requests.load(Ordering::SeqCst), 1);
        assert_eq!(good.count(), 2);
    }
}

/// An endless chunked body and a 10 GiB Content-Length are refused once the 2 MiB reply
/// cap is passed: the client stops reading (the server cannot push much past the cap
/// and the socket buffers), and the next tier is used.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_and_huge_bodies_are_cut_at_the_cap() {
    for how in [Misbehaviour::EndlessChunks, Misbehaviour::HugeLength] {
        let bad = FaultyTracker::start(how, None).await;
        let good = HttpTracker::start(Reply::ok(announce_reply(1800))).await;
        let (took, err) = peers_despite(
            vec![vec![bad.url.clone()], vec![good.url.clone()]],
            &bad.url,
        )
        .await;
        assert!(err.contains("larger than"), "{err}");
        assert!(took < Duration::from_secs(5), "failover took {took:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
        let sent = bad.sent.load(Ordering::SeqCst);
        // The cap plus what kernel socket buffers on both ends absorb.
        assert!(
            sent < shoal_announce::MAX_REPLY + 16 * 1024 * 1024,
            "the tracker pushed {sent} bytes"
        );
    }
}

/// Two trackers redirecting to each other: the announce fails after the redirect
/// limit with a handful of requests, and the next tier gives peers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_loops_end_after_the_limit() {
    let la = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let lb = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url_a = format!("http://{}/announce", la.local_addr().unwrap());
    let url_b = format!("http://{}/announce", lb.local_addr().unwrap());
    let a = FaultyTracker::serve(
        la,
        Misbehaviour::RedirectTo,
        Some(url_b.clone()),
        url_a.clone(),
    );
    let b = FaultyTracker::serve(lb, Misbehaviour::RedirectTo, Some(url_a.clone()), url_b);
    let good = HttpTracker::start(Reply::ok(announce_reply(1800))).await;
    let (took, err) =
        peers_despite(vec![vec![url_a.clone()], vec![good.url.clone()]], &url_a).await;
    assert!(err.contains("redirect"), "{err}");
    assert!(took < Duration::from_secs(5), "failover took {took:?}");
    let hops = a.requests.load(Ordering::SeqCst) + b.requests.load(Ordering::SeqCst);
    assert!((2..=8).contains(&hops), "{hops} requests in the loop");
}

/// Replies that decode but carry `peers` or `peers6` of the wrong type are errors, not
/// empty answers: an empty answer would count as success and keep the next tier from
/// being asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_of_the_wrong_type_fail_over_to_the_next_tier() {
    for body in [
        &b"d8:intervali1800e5:peersi42ee"[..],
        b"d8:intervali1800e5:peersd2:ip9:127.0.0.1ee",
        b"d8:intervali1800e5:peers0:6:peers6li1eee",
    ] {
        let bad = HttpTracker::start(Reply::ok(body.to_vec())).await;
        let good = HttpTracker::start(Reply::ok(announce_reply(1800))).await;
        let (took, err) = peers_despite(
            vec![vec![bad.url.clone()], vec![good.url.clone()]],
            &bad.url,
        )
        .await;
        assert!(err.contains("peers"), "{err}");
        assert!(took < Duration::from_secs(5), "failover took {took:?}");
    }
}

/// What a faulty UDP tracker answers.
#[derive(Clone, Copy, Debug)]
enum UdpFault {
    /// Three random bytes.
    Short,
    /// A well-formed connect reply for another transaction.
    WrongTransaction,
    /// An announce reply to a connect request.
    WrongAction,
    /// An error reply with a message.
    Error,
    /// A proper connect reply, then 40 bytes of noise for every announce.
    GarbageAnnounce,
}

/// A UDP tracker on 127.0.0.1 answering every request the `fault` way; counts requests.
async fn faulty_udp(fault: UdpFault) -> (String, Arc<AtomicUsize>) {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let url = format!("udp://{}/announce", sock.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 2048];
        while let Ok((n, from)) = sock.recv_from(&mut buf).await {
            seen.fetch_add(1, Ordering::SeqCst);
            let Ok(req) = Request::decode(&buf[..n]) else {
                continue;
            };
            let tid = match &req {
                Request::Connect { transaction_id } => *transaction_id,
                Request::Announce(a) => a.transaction_id,
                Request::Scrape { transaction_id, .. } => *transaction_id,
            };
            let out = match (fault, &req) {
                (UdpFault::Short, _) => vec![0xde, 0xad, 0x01],
                (UdpFault::WrongTransaction, _) => Response::Connect {
                    transaction_id: tid.wrapping_add(1),
                    connection_id: 7,
                }
                .encode(),
                (UdpFault::WrongAction, _) => Response::Announce {
                    transaction_id: tid,
                    interval: 1,
                    leechers: 0,
                    seeders: 0,
                    peers: vec!["127.0.0.9:9".parse().unwrap()],
                }
                .encode(),
                (UdpFault::Error, _) => Response::Error {
                    transaction_id: tid,
                    message: "go away".into(),
                }
                .encode(),
                (UdpFault::GarbageAnnounce, Request::Connect { .. }) => Response::Connect {
                    transaction_id: tid,
                    connection_id: 7,
                }
                .encode(),
                (UdpFault::GarbageAnnounce, _) => {
                    let mut noise = vec![0u8; 40];
                    noise[..4].copy_from_slice(&1u32.to_be_bytes());
                    noise[4..8].copy_from_slice(&tid.to_be_bytes());
                    noise[8..]
                        .iter_mut()
                        .enumerate()
                        .for_each(|(i, b)| *b = i as u8 * 37);
                    noise.truncate(21); // an announce reply cut mid-header
                    noise
                }
            };
            let _ = sock.send_to(&out, from).await;
        }
    });
    (url, count)
}

/// Every kind of bad UDP answer is an error (or an unanswered request), never peers
/// from the bad tracker, and the next tier's good tracker is used within bounds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_garbage_is_refused_and_the_next_tier_answers() {
    for fault in [
        UdpFault::Short,
        UdpFault::WrongTransaction,
        UdpFault::WrongAction,
        UdpFault::Error,
        UdpFault::GarbageAnnounce,
    ] {
        let (bad_url, count) = faulty_udp(fault).await;
        let good = UdpTrackerServer::start(1800).await;
        let (took, err) = peers_despite(
            vec![vec![bad_url.clone()], vec![good.url.clone()]],
            &bad_url,
        )
        .await;
        assert!(
            took < Duration::from_secs(5),
            "{fault:?}: failover took {took:?}"
        );
        if matches!(fault, UdpFault::Error) {
            assert!(err.contains("go away"), "{fault:?}: {err}");
        }
        let requests = count.load(Ordering::SeqCst);
        assert!(
            (1..=10).contains(&requests),
            "{fault:?}: {requests} requests to the bad tracker"
        );
    }
}
