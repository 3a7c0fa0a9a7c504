//! Unit tests for the node state machine, with hand-delivered datagrams and a fake clock.

use super::*;
use crate::krpc::{error_code, ErrorBody, Want};
use crate::ratelimit::RateLimitConfig;

fn addr(i: u8) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, i], 6881))
}

fn node(i: u8, now: Instant) -> Dht {
    let cfg = DhtConfig {
        id: Some(NodeId([i; 20])),
        rng_seed: Some(u64::from(i)),
        ..DhtConfig::default()
    };
    Dht::new(cfg, now)
}

/// Delivers datagrams between the nodes (indexed by address) until none are left;
/// returns the number delivered.
fn pump(nodes: &mut [(SocketAddr, Dht)], now: Instant) -> usize {
    let mut delivered = 0;
    loop {
        let mut batch = Vec::new();
        for (from, dht) in nodes.iter_mut() {
            while let Some((to, bytes)) = dht.poll_transmit() {
                batch.push((*from, to, bytes));
            }
        }
        if batch.is_empty() {
            return delivered;
        }
        for (from, to, bytes) in batch {
            if let Some((_, dht)) = nodes.iter_mut().find(|(a, _)| *a == to) {
                dht.handle_datagram(&bytes, from, now);
                delivered += 1;
            }
        }
    }
}

fn query(id: NodeId, kind: QueryKind, ro: bool) -> Vec<u8> {
    Message {
        transaction_id: b"qq".to_vec(),
        version: None,
        read_only: ro,
        ip: None,
        body: Body::Query(Query {
            id,
            kind,
            want: None,
        }),
    }
    .encode()
}

/// The next reply sent by `dht`, skipping its own queries (verification pings).
fn reply(dht: &mut Dht) -> Message {
    loop {
        let (_, bytes) = dht.poll_transmit().expect("a reply");
        let m = Message::decode(&bytes).unwrap();
        if !matches!(m.body, Body::Query(_)) {
            return m;
        }
    }
}

#[test]
fn add_node_pings_then_inserts_both_ways() {
    let t0 = Instant::now();
    let mut nodes = vec![(addr(1), node(1, t0)), (addr(2), node(2, t0))];
    nodes[0].1.add_node(addr(2), t0);
    pump(&mut nodes, t0);
    // 1 learned 2 from its answer; 2 verified 1 with a ping of its own.
    assert!(nodes[0].1.table().is_verified(&NodeId([2; 20]), &addr(2)));
    assert!(nodes[1].1.table().is_verified(&NodeId([1; 20]), &addr(1)));
    // Having a node, 1 bootstraps; the lookup finishes and reports it.
    let events: Vec<_> = std::iter::from_fn(|| nodes[0].1.poll_event()).collect();
    assert!(
        events.contains(&DhtEvent::Bootstrapped { nodes: 1 }),
        "{events:?}"
    );
}

#[test]
fn tokens_gate_announces_and_get_peers_returns_stored_peers() {
    let t0 = Instant::now();
    let mut d = node(1, t0);
    let q = NodeId([2; 20]);
    let ih = NodeId([7; 20]);
    d.handle_datagram(
        &query(q, QueryKind::GetPeers { info_hash: ih }, false),
        addr(2),
        t0,
    );
    let m = reply(&mut d);
    assert_eq!(m.ip, Some(addr(2)));
    let Body::Response(r) = m.body else { panic!() };
    let token = r.token.unwrap();
    assert!(r.values.is_empty());

    let bad = QueryKind::AnnouncePeer {
        info_hash: ih,
        port: 9,
        implied_port: false,
        token: b"nope".to_vec(),
    };
    d.handle_datagram(&query(q, bad, false), addr(2), t0);
    let m = reply(&mut d);
    assert!(matches!(
        m.body,
        Body::Error(ErrorBody {
            code: error_code::PROTOCOL,
            ..
        })
    ));
    // A token is bound to the IP it was given to.
    let stolen = QueryKind::AnnouncePeer {
        info_hash: ih,
        port: 9,
        implied_port: false,
        token: token.clone(),
    };
    d.handle_datagram(&query(q, stolen, false), addr(3), t0);
    assert!(matches!(reply(&mut d).body, Body::Error(_)));

    let ok = QueryKind::AnnouncePeer {
        info_hash: ih,
        port: 9,
        implied_port: true,
        token,
    };
    d.handle_datagram(&query(q, ok, false), addr(2), t0);
    assert!(matches!(reply(&mut d).body, Body::Response(_)));
    d.handle_datagram(
        &query(
            NodeId([4; 20]),
            QueryKind::GetPeers { info_hash: ih },
            false,
        ),
        addr(4),
        t0,
    );
    let Body::Response(r) = reply(&mut d).body else {
        panic!()
    };
    assert_eq!(r.values, vec![addr(2)], "implied port = source port");

    d.handle_datagram(
        &query(
            q,
            QueryKind::Unknown {
                method: b"frob".to_vec(),
            },
            false,
        ),
        addr(2),
        t0,
    );
    assert!(matches!(
        reply(&mut d).body,
        Body::Error(ErrorBody {
            code: error_code::METHOD_UNKNOWN,
            ..
        })
    ));
}

#[test]
fn read_only_querier_is_answered_but_never_verified_or_stored() {
    let t0 = Instant::now();
    let mut d = node(1, t0);
    d.handle_datagram(&query(NodeId([2; 20]), QueryKind::Ping, true), addr(2), t0);
    assert!(matches!(reply(&mut d).body, Body::Response(_)));
    assert!(
        d.poll_transmit().is_none(),
        "no verification ping to a read-only node"
    );
    // A normal querier gets a verification ping after the reply.
    d.handle_datagram(&query(NodeId([3; 20]), QueryKind::Ping, false), addr(3), t0);
    reply(&mut d);
    let (to, bytes) = d.poll_transmit().unwrap();
    assert_eq!(to, addr(3));
    assert!(matches!(
        Message::decode(&bytes).unwrap().body,
        Body::Query(_)
    ));
}

#[test]
fn read_only_node_flags_queries_and_stays_silent() {
    let t0 = Instant::now();
    let cfg = DhtConfig {
        read_only: true,
        bootstrap: vec![addr(9)],
        rng_seed: Some(1),
        ..DhtConfig::default()
    };
    let mut d = Dht::new(cfg, t0);
    let (to, bytes) = d.poll_transmit().unwrap();
    assert_eq!(to, addr(9));
    let m = Message::decode(&bytes).unwrap();
    assert!(m.read_only);
    assert!(matches!(
        m.body,
        Body::Query(Query {
            kind: QueryKind::FindNode { .. },
            ..
        })
    ));
    d.handle_datagram(&query(NodeId([2; 20]), QueryKind::Ping, false), addr(2), t0);
    assert!(d.poll_transmit().is_none());
}

#[test]
fn rate_limit_per_source() {
    let t0 = Instant::now();
    let cfg = DhtConfig {
        rng_seed: Some(1),
        rate_limit: RateLimitConfig {
            per_ip_burst: 3,
            per_ip_rate: 1,
            ..RateLimitConfig::default()
        },
        ..DhtConfig::default()
    };
    let mut d = Dht::new(cfg, t0);
    let mut replies = 0;
    for _ in 0..10 {
        d.handle_datagram(&query(NodeId([2; 20]), QueryKind::Ping, true), addr(2), t0);
        while d.poll_transmit().is_some() {
            replies += 1;
        }
    }
    assert_eq!(replies, 3);
}

#[test]
fn replies_to_unverified_senders_are_bounded() {
    let t0 = Instant::now();
    let mut d = node(1, t0);
    // Fill the table with verified IPv4 and IPv6 nodes and the store with peers.
    for i in 10..60u8 {
        let info = NodeInfo {
            id: NodeId([i; 20]),
            addr: addr(i),
        };
        d.table.heard_response(info, t0);
        let info6 = NodeInfo {
            id: NodeId([i + 100; 20]),
            addr: SocketAddr::from(([0, 0, 0, 0, 0, 0, 0, u16::from(i)], 1)),
        };
        d.table.heard_response(info6, t0);
        d.store.insert([7; 20], addr(i), t0);
    }
    let mut q = Query {
        id: NodeId([2; 20]),
        kind: QueryKind::GetPeers {
            info_hash: NodeId([7; 20]),
        },
        want: Some(Want { v4: true, v6: true }),
    };
    let bytes = Message {
        transaction_id: b"qq".to_vec(),
        version: None,
        read_only: true,
        ip: None,
        body: Body::Query(q.clone()),
    }
    .encode();
    d.handle_datagram(&bytes, addr(2), t0);
    let (_, out) = d.poll_transmit().unwrap();
    assert!(
        out.len() <= 4 * bytes.len(),
        "{} vs {}",
        out.len(),
        bytes.len()
    );
    let Body::Response(r) = Message::decode(&out).unwrap().body else {
        panic!()
    };
    assert!(!r.nodes.is_empty() && r.token.is_some());
    // A verified sender gets the full answer (up to the MTU-sized cap).
    q.id = NodeId([10; 20]);
    let bytes = Message {
        transaction_id: b"qq".to_vec(),
        version: None,
        read_only: false,
        ip: None,
        body: Body::Query(q),
    }
    .encode();
    d.handle_datagram(&bytes, addr(10), t0);
    let (_, out) = d.poll_transmit().unwrap();
    assert!(out.len() > 4 * bytes.len() && out.len() <= 1200);
    let Body::Response(r) = Message::decode(&out).unwrap().body else {
        panic!()
    };
    assert_eq!((r.nodes.len(), r.nodes6.len()), (8, 8));
    assert!(r.values.len() > 10);
}

#[test]
fn timeouts_fail_nodes_and_spoofed_replies_are_ignored() {
    let t0 = Instant::now();
    let mut d = node(1, t0);
    let peer = NodeInfo {
        id: NodeId([2; 20]),
        addr: addr(2),
    };
    d.table.heard_response(peer, t0);
    d.get_peers([5; 20], t0);
    let (to, bytes) = d.poll_transmit().unwrap();
    assert_eq!(to, addr(2));
    let tid = Message::decode(&bytes).unwrap().transaction_id;
    let deadline = t0 + d.cfg.query_timeout;
    assert!(d.poll_timeout().unwrap() <= deadline);
    // The right transaction id from the wrong address does nothing.
    let spoof = Message {
        transaction_id: tid,
        version: None,
        read_only: false,
        ip: None,
        body: Body::Response(Response::bare(NodeId([3; 20]))),
    };
    d.handle_datagram(&spoof.encode(), addr(3), t0);
    assert!(d.table().get(&NodeId([3; 20])).is_none());
    // Slow after a second: the query is resent once (the node is among the k closest).
    d.handle_timeout(t0 + Duration::from_secs(1));
    let (to, _) = d.poll_transmit().unwrap();
    assert_eq!(to, addr(2));
    assert!(d.poll_event().is_none());
    // Late after two: the lookup no longer waits for it.
    d.handle_timeout(t0 + Duration::from_secs(2));
    let events: Vec<_> = std::iter::from_fn(|| d.poll_event()).collect();
    assert!(
        matches!(events.as_slice(), [DhtEvent::LookupDone { summary, .. }] if summary.stats.queries == 2 && summary.closest.is_empty())
    );
    // Each copy timing out counts against the node in the table.
    d.handle_timeout(deadline);
    assert_eq!(d.table().get(&peer.id).unwrap().failures, 1);
    d.handle_timeout(deadline + Duration::from_secs(1));
    assert!(d.table().get(&peer.id).unwrap().is_bad());
}

#[test]
fn snapshot_restore_keeps_id_and_nodes() {
    let t0 = Instant::now();
    let mut d = node(1, t0);
    for i in 2..6u8 {
        d.table.heard_response(
            NodeInfo {
                id: NodeId([i; 20]),
                addr: addr(i),
            },
            t0,
        );
    }
    let snap = d.routing_table_snapshot();
    let cfg = DhtConfig {
        rng_seed: Some(3),
        ..DhtConfig::default()
    };
    let mut r = Dht::restore(cfg, &snap, t0).unwrap();
    assert_eq!(r.id(), NodeId([1; 20]));
    assert_eq!(r.table().len(), 4);
    // It bootstraps through the restored nodes right away.
    let sent: Vec<_> = std::iter::from_fn(|| r.poll_transmit()).collect();
    assert_eq!(sent.len(), 3, "alpha queries of the self lookup");
    assert!(Dht::restore(DhtConfig::default(), b"garbage", t0).is_err());
}

#[test]
fn never_sends_to_unusable_addresses() {
    // Found by the dht_node fuzz target: a restored node with port 0 was queried. Port
    // 0, unspecified, multicast and broadcast addresses from snapshots, answers and
    // PORT messages are ignored.
    let t0 = Instant::now();
    let bad: Vec<SocketAddr> = [
        "10.0.0.1:0",
        "0.0.0.0:6881",
        "239.1.2.3:6881",
        "255.255.255.255:6881",
        "[ff02::1]:6881",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect();
    let good: SocketAddr = "10.0.0.2:6881".parse().unwrap();
    let info = |i: u8, addr| NodeInfo {
        id: NodeId([i; 20]),
        addr,
    };
    let mut nodes: Vec<NodeInfo> = (0u8..).zip(&bad).map(|(i, a)| info(i, *a)).collect();
    nodes.push(info(0x70, good));
    let mut snap = shoal_bencode::OwnedValue::dict();
    snap.insert("id", vec![9u8; 20]);
    snap.insert("nodes", crate::compact::encode_nodes(&nodes, false));
    let cfg = DhtConfig {
        rng_seed: Some(1),
        ..DhtConfig::default()
    };
    let mut dht = Dht::restore(cfg, &snap.encode(), t0).unwrap();
    for a in &bad {
        dht.add_node(*a, t0);
    }
    let mut sent = Vec::new();
    while let Some(out) = dht.poll_transmit() {
        sent.push(out);
    }
    assert!(sent.iter().all(|(to, _)| *to == good), "{sent:?}");
    // The good node answers its query with the bad addresses as closer nodes.
    let (_, bytes) = sent.first().expect("the restored node is queried");
    let tid = Message::decode(bytes).unwrap().transaction_id;
    let mut r = Response::bare(NodeId([0x70; 20]));
    r.nodes = (0x10u8..).zip(&bad).map(|(i, a)| info(i, *a)).collect();
    r.nodes.retain(|n| n.addr.is_ipv4());
    let answer = Message {
        transaction_id: tid,
        version: None,
        read_only: false,
        ip: None,
        body: Body::Response(r),
    };
    dht.handle_datagram(&answer.encode(), good, t0);
    dht.handle_timeout(t0 + Duration::from_secs(60));
    while let Some((to, _)) = dht.poll_transmit() {
        assert!(!bad.contains(&to), "sent to {to}");
    }
}

#[test]
fn a_failed_bootstrap_is_retried_on_its_own_timer() {
    let t0 = Instant::now();
    let router = addr(9);
    let cfg = DhtConfig {
        id: Some(NodeId([1; 20])),
        rng_seed: Some(1),
        bootstrap: vec![router],
        query_timeout: Duration::from_secs(2),
        bootstrap_retry: Duration::from_secs(5),
        ..DhtConfig::default()
    };
    let mut dht = Dht::new(cfg, t0);
    dht.handle_timeout(t0);
    let sent_to_router = |dht: &mut Dht| {
        let mut n = 0;
        while let Some((to, _)) = dht.poll_transmit() {
            n += usize::from(to == router);
        }
        n
    };
    assert!(sent_to_router(&mut dht) >= 1, "no first bootstrap query");
    // The router never answers: the attempt fails, and the next one is due 5 s after
    // the first started, well before the 30 s maintenance.
    let mut now = t0;
    let mut failed = false;
    let mut retried_at = None;
    while now < t0 + Duration::from_secs(20) {
        let next = dht.poll_timeout().unwrap();
        assert!(next > now, "the timer does not move on");
        now = next;
        dht.handle_timeout(now);
        let sent = sent_to_router(&mut dht);
        if !failed {
            // Retransmissions of the first attempt do not count.
            failed = dht.stats().lookups == 0;
        } else if sent > 0 {
            retried_at = Some(now);
            break;
        }
    }
    assert!(failed, "the first attempt never ended");
    let retried_at = retried_at.expect("the bootstrap was not retried within 20 s");
    assert!(
        retried_at <= t0 + Duration::from_secs(8),
        "retried only after {:?}",
        retried_at - t0
    );
}
