//! Hostile or odd traffic against one node over real UDP on 127.0.0.1 (and [::1] when
//! available): a ping flood is answered only within the rate limit, garbage never
//! stops the node, and an IPv6 node works like an IPv4 one.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shoal_dht::krpc::{Body, Message, Query, QueryKind};
use shoal_dht::RateLimitConfig;
use shoal_dht_net::{DhtNetConfig, DhtNode, NodeId};
use tokio::net::UdpSocket;

use common::{config, find_port, LOCALHOST};

fn ping(tid: u16, id: [u8; 20]) -> Vec<u8> {
    Message {
        transaction_id: tid.to_be_bytes().to_vec(),
        version: None,
        read_only: false,
        ip: None,
        body: Body::Query(Query {
            id: NodeId(id),
            kind: QueryKind::Ping,
            want: None,
        }),
    }
    .encode()
}

fn is_reply(bytes: &[u8]) -> bool {
    matches!(
        Message::decode(bytes),
        Ok(Message {
            body: Body::Response(_),
            ..
        })
    )
}

/// Pings `target` from a fresh socket until it answers (the per-IP bucket of
/// 127.0.0.1 may need a moment to refill); returns whether it did within 3 s.
async fn answers_ping(target: SocketAddr) -> bool {
    let bind = SocketAddr::new(target.ip(), 0);
    let sock = UdpSocket::bind(bind).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut buf = vec![0u8; 2048];
    while Instant::now() < deadline {
        sock.send_to(&ping(7, [0xee; 20]), target).await.unwrap();
        let wait = tokio::time::timeout(Duration::from_millis(300), async {
            loop {
                let (n, _) = sock.recv_from(&mut buf).await.unwrap();
                if is_reply(&buf[..n]) {
                    return;
                }
            }
        });
        if wait.await.is_ok() {
            return true;
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_flood_is_rate_limited() {
    let limits = RateLimitConfig::default();
    let mut cfg = DhtNetConfig::new(LOCALHOST);
    cfg.dht.rate_limit = limits;
    let node = DhtNode::spawn(cfg).await.unwrap();
    let target = node.local_addr();

    const FLOOD: u16 = 2000;
    let flooder = UdpSocket::bind(LOCALHOST).await.unwrap();
    let start = Instant::now();
    for i in 0..FLOOD {
        // Loopback drops what the receiver has no room for; sends do not fail for it.
        let _ = flooder.send_to(&ping(i, [0xab; 20]), target).await;
    }
    let sent_in = start.elapsed();
    let mut replies = 0u32;
    let mut buf = vec![0u8; 2048];
    let until = tokio::time::Instant::now() + Duration::from_secs(1);
    while let Ok(Ok((n, _))) = tokio::time::timeout_at(until, flooder.recv_from(&mut buf)).await {
        replies += u32::from(is_reply(&buf[..n]));
    }
    let elapsed = start.elapsed().as_secs_f64();
    // One source IP: its bucket starts full and refills at `per_ip_rate` per second.
    let bound =
        f64::from(limits.per_ip_burst) + (f64::from(limits.per_ip_rate) * elapsed).ceil() + 1.0;
    println!(
        "flood of {FLOOD} pings sent in {sent_in:?}: {replies} replies in {elapsed:.2} s \
         (bound {bound})"
    );
    assert!(replies >= 1, "the node answered nothing");
    assert!(
        f64::from(replies) <= bound,
        "{replies} replies > bound {bound}"
    );
    assert!(replies < u32::from(FLOOD) / 20);

    assert!(answers_ping(target).await, "node silent after the flood");
    assert!(node.stats().await.is_some());
}

#[tokio::test]
async fn garbage_never_stops_the_node() {
    let node = DhtNode::spawn(config(LOCALHOST, &[])).await.unwrap();
    let target = node.local_addr();
    let sock = UdpSocket::bind(LOCALHOST).await.unwrap();
    let mut rng = StdRng::seed_from_u64(3);

    let valid = ping(1, [0x11; 20]);
    let mut junk: Vec<Vec<u8>> = (0..valid.len()).map(|n| valid[..n].to_vec()).collect();
    for s in [
        &b""[..],
        b"d1:t4294967296:x",
        b"d1:t2:aa1:y1:q1:q4:ping1:ad2:id19:xxxxxxxxxxxxxxxxxxxee",
        b"d1:t2:aa1:y1:r1:rd2:id20:xxxxxxxxxxxxxxxxxxxx5:nodes7:abcdefgee",
        b"d1:t2:aa1:y1:q1:q13:announce_peer1:ad2:id20:xxxxxxxxxxxxxxxxxxxx4:porti-1eee",
        b"i99999999999999999999999999e",
        b"d1:t2:aa1:y1:e1:eli201eee",
    ] {
        junk.push(s.to_vec());
    }
    junk.push(b"l".repeat(10_000));
    junk.push(vec![b'd'; 60_000]);
    for _ in 0..400 {
        let len = rng.gen_range(0..1500);
        junk.push((0..len).map(|_| rng.gen()).collect());
    }
    for datagram in &junk {
        let _ = sock.send_to(datagram, target).await;
    }
    assert!(answers_ping(target).await, "node silent after garbage");
    assert!(node.stats().await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_nodes_work() {
    let v6: SocketAddr = "[::1]:0".parse().unwrap();
    if std::net::UdpSocket::bind(v6).is_err() {
        println!("no IPv6 loopback here; skipped");
        return;
    }
    let a = DhtNode::spawn(config(v6, &[])).await.unwrap();
    let b = DhtNode::spawn(config(v6, &[a.local_addr()])).await.unwrap();
    let c = DhtNode::spawn(config(v6, &[a.local_addr()])).await.unwrap();
    // An IPv4 node is of the other family: ignored, harmless.
    c.add_node("127.0.0.1:9".parse().unwrap());
    for n in [&a, &b, &c] {
        assert!(n.local_addr().is_ipv6());
        assert!(n.wait_bootstrapped(Duration::from_secs(10)).await);
    }
    let info_hash = [0x66; 20];
    let (_, summary) = b.announce(info_hash, None).finish().await;
    assert!(summary.unwrap().announced > 0);
    // `None`: implied port, i.e. the port of b's socket.
    let port = b.local_addr().port();
    let peers = find_port(&c, info_hash, port).await;
    assert!(
        peers.contains(&SocketAddr::new(b.local_addr().ip(), port)),
        "{peers:?}"
    );
}

#[tokio::test]
async fn add_node_joins_a_stranger() {
    let a = DhtNode::spawn(config(LOCALHOST, &[])).await.unwrap();
    let b = DhtNode::spawn(config(LOCALHOST, &[])).await.unwrap();
    // Learned e.g. from a peer's PORT message: pinged, added, then bootstraps from it.
    b.add_node(a.local_addr());
    assert!(b.wait_bootstrapped(Duration::from_secs(5)).await);
    assert!(b.stats().await.unwrap().nodes >= 1);
}
