//! A DHT node under a query flood from many addresses (real UDP on 127.x): 64 sources
//! send 100,000 queries of every kind (ping, find_node, get_peers, announce_peer with a
//! forged token, unknown methods) at ~20,000 per second while honest nodes announce and
//! look up through it. The node answers each source only within its per-address rate
//! limit, stores nothing for the flooders, keeps its tables bounded, still serves the
//! honest lookup, and spends a bounded share of one core doing so (measured on the
//! dedicated thread that runs it).
#![allow(clippy::unwrap_used)]

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use shoal_dht::krpc::{Body, Message, Query, QueryKind};
use shoal_dht::RateLimitConfig;
use shoal_dht_net::{DhtNetConfig, DhtNode, NodeId};
use tokio::net::UdpSocket;

use common::{config, find_port, LOCALHOST};

const SOURCES: u8 = 64;
const QUERIES: u32 = 100_000;
/// Queries per second over all sources.
const RATE: u32 = 20_000;

/// CPU time (user + system) of the calling thread, from `/proc/thread-self/stat`.
fn thread_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    // Fields after the command name (which may hold spaces) start at state: utime and
    // stime are the 14th and 15th fields of the whole line, in clock ticks.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .map(|f| f.parse().unwrap())
        .collect();
    let ticks = fields[0] + fields[1];
    // USER_HZ is 100 on every Linux ABI we build for.
    Duration::from_millis(ticks * 10)
}

/// The flood's `i`-th query from a node id that varies with the source.
fn query(i: u32, source: u8) -> Vec<u8> {
    let mut id = [source; 20];
    id[..4].copy_from_slice(&i.to_be_bytes());
    let target = NodeId(id);
    let kind = match i % 5 {
        0 => QueryKind::Ping,
        1 => QueryKind::FindNode { target },
        2 => QueryKind::GetPeers { info_hash: target },
        3 => QueryKind::AnnouncePeer {
            info_hash: target,
            port: 6881,
            implied_port: false,
            token: b"forged".to_vec(),
        },
        _ => QueryKind::Unknown {
            method: b"vote".to_vec(),
        },
    };
    Message {
        transaction_id: (i as u16).to_be_bytes().to_vec(),
        version: None,
        read_only: false,
        ip: None,
        body: Body::Query(Query {
            id: NodeId(id),
            kind,
            want: None,
        }),
    }
    .encode()
}

/// The thread running the target node; it yields the node's last stats and CPU time.
type TargetThread = std::thread::JoinHandle<(Option<shoal_dht::DhtStats>, Duration)>;

/// Runs the target node on a thread of its own (so its CPU time can be read) until
/// `stop` fires; returns the node's address, then its stats and CPU time.
fn spawn_target(
    limits: RateLimitConfig,
) -> (SocketAddr, tokio::sync::oneshot::Sender<()>, TargetThread) {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let mut cfg = DhtNetConfig::new(LOCALHOST);
            cfg.dht.rate_limit = limits;
            let node = DhtNode::spawn(cfg).await.unwrap();
            let before = thread_cpu();
            addr_tx.send(node.local_addr()).unwrap();
            let _ = stop_rx.await;
            let cpu = thread_cpu() - before;
            let stats = node.stats().await;
            node.shutdown().await;
            (stats, cpu)
        })
    });
    (addr_rx.recv().unwrap(), stop_tx, thread)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_flood_from_many_addresses_is_rate_limited_and_cheap() {
    let limits = RateLimitConfig::default();
    let (target, stop, thread) = spawn_target(limits);

    // Honest nodes on addresses of their own: one announces before the flood.
    let honest = |last: u8| SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 4, last)), 0);
    let announcer = DhtNode::spawn(config(honest(1), &[target])).await.unwrap();
    assert!(announcer.wait_bootstrapped(Duration::from_secs(10)).await);
    let info_hash = [0x5a; 20];
    let (_, summary) = announcer.announce(info_hash, Some(7001)).finish().await;
    assert!(summary.unwrap().announced > 0);

    // The flood comes from a plain thread with blocking sockets, paced at RATE, so it
    // does not compete with the honest nodes for this test's runtime.
    let mut sockets = Vec::new();
    let replies: Vec<Arc<AtomicU32>> = (0..SOURCES).map(|_| Arc::new(AtomicU32::new(0))).collect();
    for s in 0..SOURCES {
        let sock = std::net::UdpSocket::bind(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(127, 0, 3, s + 1)),
            0,
        ))
        .unwrap();
        let rx = UdpSocket::from_std({
            let clone = sock.try_clone().unwrap();
            clone.set_nonblocking(true).unwrap();
            clone
        })
        .unwrap();
        let count = replies[s as usize].clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 2048];
            while let Ok((n, _)) = rx.recv_from(&mut buf).await {
                if matches!(
                    Message::decode(&buf[..n]),
                    Ok(Message {
                        body: Body::Response(_) | Body::Error(_),
                        ..
                    })
                ) {
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        sockets.push(sock);
    }

    let started = Instant::now();
    let flood = std::thread::spawn(move || {
        let batch = RATE / 100;
        let mut i = 0;
        let mut next = Instant::now();
        while i < QUERIES {
            for _ in 0..batch.min(QUERIES - i) {
                let s = (i % u32::from(SOURCES)) as u8;
                // Loopback drops what the receiver has no room for; that is fine.
                let _ = sockets[s as usize].send_to(&query(i, s), target);
                i += 1;
            }
            next += Duration::from_millis(10);
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
    });

    // While the flood runs, a newcomer joins through the target and finds the peer.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seeker = DhtNode::spawn(config(honest(2), &[target])).await.unwrap();
    let joined = seeker.wait_bootstrapped(Duration::from_secs(10)).await;
    assert!(
        joined,
        "an honest node could not join during the flood: {:?}",
        seeker.stats().await
    );
    let peers = find_port(&seeker, info_hash, 7001).await;
    assert!(
        peers.iter().any(|p| p.port() == 7001),
        "the honest lookup failed during the flood: {peers:?}"
    );
    let found_after = started.elapsed();
    flood.join().unwrap();
    let flood_time = started.elapsed();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = stop.send(());
    let (stats, cpu) = thread.join().unwrap();
    let stats = stats.unwrap();

    let elapsed = started.elapsed().as_secs_f64();
    let bound = f64::from(limits.per_ip_burst) + f64::from(limits.per_ip_rate) * elapsed + 1.0;
    let most = replies
        .iter()
        .map(|r| r.load(Ordering::Relaxed))
        .max()
        .unwrap();
    let total: u32 = replies.iter().map(|r| r.load(Ordering::Relaxed)).sum();
    let share = cpu.as_secs_f64() / flood_time.as_secs_f64();
    eprintln!(
        "DHT flood: {QUERIES} queries from {SOURCES} addresses in {flood_time:.2?}; {total} replies \
         (most to one source {most}, bound {bound:.0}); honest lookup done after {found_after:.2?}; \
         node CPU {cpu:?} = {:.1}% of one core, {:.2} µs per query sent; {stats:?}",
        share * 100.0,
        cpu.as_secs_f64() * 1e6 / f64::from(QUERIES)
    );
    assert!(
        f64::from(most) <= bound,
        "{most} replies to one source > {bound}"
    );
    assert!(
        stats.stored_info_hashes <= 1,
        "the flood stored peers: {stats:?}"
    );
    assert!(stats.nodes <= 160 * 8, "routing table unbounded: {stats:?}");
    assert!(
        share < 0.6,
        "the node used {:.0}% of a core under the flood",
        share * 100.0
    );
    seeker.shutdown().await;
    announcer.shutdown().await;
}
