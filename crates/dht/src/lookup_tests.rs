//! Unit tests for iterative lookups against a synthetic, instantly answering network.

use super::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

fn network(n: usize, seed: u64) -> Vec<NodeInfo> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|i| NodeInfo {
            id: NodeId::random(&mut rng),
            addr: SocketAddr::from(([127, 0, (i / 250) as u8, (i % 250) as u8 + 1], 7000)),
        })
        .collect()
}

/// What node `me` would answer: the 8 nodes closest to `target` it "knows" (a random
/// third of the network plus its own neighbourhood, so that lookups need several hops).
fn answer(net: &[NodeInfo], me: usize, target: &NodeId) -> Vec<NodeInfo> {
    let mut known: Vec<NodeInfo> = net
        .iter()
        .enumerate()
        .filter(|(i, n)| (i + me).is_multiple_of(3) || n.id.common_prefix_len(&net[me].id) >= 4)
        .map(|(_, n)| *n)
        .collect();
    known.sort_by_key(|n| n.id.distance(target));
    known.truncate(8);
    known
}

#[test]
fn converges_on_true_closest() {
    let net = network(300, 1);
    let mut rng = StdRng::seed_from_u64(2);
    let now = Instant::now();
    for _ in 0..10 {
        let target = NodeId::random(&mut rng);
        let mut l = Lookup::new(
            target,
            NodeId([0; 20]),
            LookupKind::FindNode,
            LookupParams::default(),
        );
        l.add_seeds(&net[..3]);
        let mut rounds = 0;
        while !l.is_done() {
            let mut batch = Vec::new();
            while let Some(addr) = l.poll_query(now) {
                batch.push(addr);
            }
            assert!(batch.len() <= 3, "alpha respected");
            assert!(!batch.is_empty());
            for addr in batch {
                let me = net.iter().position(|n| n.addr == addr).unwrap();
                let nodes = answer(&net, me, &target);
                l.on_response(addr, net[me].id, &nodes, Some(b"tok"), &[]);
            }
            rounds += 1;
            assert!(rounds < 100);
        }
        let mut truth = net.clone();
        truth.sort_by_key(|n| n.id.distance(&target));
        let found: Vec<NodeInfo> = l.closest_responded(8).into_iter().map(|(n, _)| n).collect();
        assert_eq!(found, truth[..8].to_vec());
        assert!(l
            .closest_responded(8)
            .iter()
            .all(|(_, t)| t.as_deref() == Some(&b"tok"[..])));
        let stats = l.stats();
        assert!(stats.hops >= 1 && stats.queries >= 8, "{stats:?}");
    }
}

#[test]
fn slow_queries_free_slots_up_to_the_cap_and_failures_end_the_lookup() {
    let net = network(20, 3);
    let t0 = Instant::now();
    let params = LookupParams {
        late_after: Duration::from_secs(10),
        ..LookupParams::default()
    };
    let mut l = Lookup::new(net[0].id, NodeId([0; 20]), LookupKind::GetPeers, params);
    l.add_seeds(&net);
    let first: Vec<_> = std::iter::from_fn(|| l.poll_query(t0)).collect();
    assert_eq!(first.len(), 3);
    assert_eq!(l.next_timeout(), Some(t0 + Duration::from_secs(1)));
    let t1 = t0 + Duration::from_secs(1);
    l.handle_timeout(t1);
    let second: Vec<_> = std::iter::from_fn(|| l.poll_query(t1)).collect();
    assert_eq!(second.len(), 3);
    let t2 = t1 + Duration::from_secs(1);
    l.handle_timeout(t2);
    let third: Vec<_> = std::iter::from_fn(|| l.poll_query(t2)).collect();
    assert_eq!(third.len(), 2, "hard cap of 8 in flight");
    for addr in first.iter().chain(&second).chain(&third) {
        l.on_failure(*addr);
    }
    // Everyone else fails too: the lookup still terminates.
    while !l.is_done() {
        let batch: Vec<_> = std::iter::from_fn(|| l.poll_query(t2)).collect();
        assert!(!batch.is_empty());
        batch.into_iter().for_each(|a| l.on_failure(a));
    }
    assert_eq!(l.stats().failures, 20);
    assert!(l.closest_responded(8).is_empty());
}

#[test]
fn bootstrap_addresses_peers_and_own_id() {
    let t0 = Instant::now();
    let own = NodeId([0; 20]);
    let mut l = Lookup::new(
        NodeId([1; 20]),
        own,
        LookupKind::GetPeers,
        LookupParams::default(),
    );
    let boot: SocketAddr = "127.0.0.1:1".parse().unwrap();
    l.add_bootstrap(&[boot, boot]);
    assert!(!l.is_done());
    assert_eq!(l.poll_query(t0), Some(boot));
    assert_eq!(l.poll_query(t0), None);
    let peer: SocketAddr = "127.0.0.9:6881".parse().unwrap();
    let me = NodeInfo {
        id: own,
        addr: "127.0.0.2:2".parse().unwrap(),
    };
    let other = NodeInfo {
        id: NodeId([2; 20]),
        addr: "127.0.0.3:3".parse().unwrap(),
    };
    let fresh = l.on_response(boot, NodeId([0x80; 20]), &[me, other], None, &[peer, peer]);
    assert_eq!(fresh, vec![peer]);
    assert!(
        l.on_response(boot, NodeId([0x80; 20]), &[], None, &[peer])
            .is_empty(),
        "not in flight"
    );
    // Our own id is never queried.
    assert_eq!(l.poll_query(t0), Some(other.addr));
    assert_eq!(l.poll_query(t0), None);
    assert!(l
        .on_response(other.addr, other.id, &[], None, &[peer])
        .is_empty());
    assert!(l.is_done());
    assert_eq!(l.peer_count(), 1);
    assert_eq!(l.stats().hops, 2);
}

#[test]
fn candidate_list_is_bounded() {
    let net = network(200, 4);
    let params = LookupParams {
        max_candidates: 16,
        ..LookupParams::default()
    };
    let mut l = Lookup::new(
        NodeId([0; 20]),
        NodeId([9; 20]),
        LookupKind::FindNode,
        params,
    );
    l.add_seeds(&net);
    assert_eq!(l.cands.len(), 16);
    assert!(l.cands.windows(2).all(|w| w[0].dist <= w[1].dist));
}

#[test]
fn slow_close_candidates_are_resent_once() {
    let net = network(20, 5);
    let t0 = Instant::now();
    let params = LookupParams {
        k: 2,
        alpha: 1,
        ..LookupParams::default()
    };
    let mut l = Lookup::new(
        NodeId([0; 20]),
        NodeId([9; 20]),
        LookupKind::FindNode,
        params,
    );
    l.add_seeds(&net);
    let first = l.poll_query(t0).unwrap();
    let t1 = t0 + Duration::from_secs(1);
    assert_eq!(l.handle_timeout(t1), vec![first], "resent when slow");
    let second = l.poll_query(t1).unwrap();
    assert_ne!(second, first, "its alpha slot was freed");
    l.on_failure(second);
    assert_eq!(l.stats().failures, 1);
    assert!(
        l.handle_timeout(t1 + Duration::from_secs(5)).is_empty(),
        "resent only once"
    );
    // Both copies of the first query must time out before it fails.
    l.on_timeout(first);
    assert_eq!(l.stats().failures, 1);
    l.on_timeout(first);
    assert_eq!(l.stats().failures, 2);
    assert_eq!(l.stats().queries, 3);
}

#[test]
fn late_nodes_stop_holding_up_the_end() {
    let mut net = network(3, 6);
    let target = NodeId([0; 20]);
    net.sort_by_key(|n| n.id.distance(&target));
    let t0 = Instant::now();
    let params = LookupParams {
        k: 2,
        ..LookupParams::default()
    };
    let mut l = Lookup::new(target, NodeId([9; 20]), LookupKind::FindNode, params);
    l.add_seeds(&net);
    let sent: Vec<_> = std::iter::from_fn(|| l.poll_query(t0)).collect();
    assert_eq!(sent, vec![net[0].addr, net[1].addr], "only the k closest");
    l.on_response(net[1].addr, net[1].id, &[], None, &[]);
    assert!(!l.is_done());
    let t1 = t0 + Duration::from_secs(1);
    assert_eq!(l.handle_timeout(t1), vec![net[0].addr], "resent");
    assert_eq!(
        l.poll_query(t1),
        Some(net[2].addr),
        "the slow node lets the next one in"
    );
    l.on_response(net[2].addr, net[2].id, &[], None, &[]);
    assert!(!l.is_done(), "the closest is only slow");
    assert_eq!(l.next_timeout(), Some(t0 + Duration::from_secs(2)));
    l.handle_timeout(t0 + Duration::from_secs(2));
    assert!(l.is_done(), "late: the lookup may end");
    assert_eq!(l.closest_responded(8).len(), 2);
}
