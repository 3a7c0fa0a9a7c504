//! Unit tests for the routing table.

use super::*;
use crate::id::bep42_id;
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::net::IpAddr;

const MIN: Duration = Duration::from_secs(60);

/// An id in bucket 0 relative to the all-zero own id (first bit set).
fn far(i: u8) -> NodeId {
    let mut id = [0u8; 20];
    id[0] = 0x80;
    id[19] = i;
    NodeId(id)
}

fn node(id: NodeId, i: u8) -> NodeInfo {
    // Public (non-exempt) addresses: these ids fail BEP 42.
    NodeInfo {
        id,
        addr: SocketAddr::from(([8, 8, 8, i], 6881)),
    }
}

#[test]
fn fills_splits_and_caches() {
    let t0 = Instant::now();
    let mut t = RoutingTable::new(NodeId([0; 20]));
    for i in 0..K as u8 {
        assert_eq!(t.heard_response(node(far(i), i), t0), InsertOutcome::Added);
    }
    // The ninth far node forces a split, after which bucket 0 is full of good nodes.
    assert_eq!(
        t.heard_response(node(far(100), 100), t0),
        InsertOutcome::Cached { ping: None }
    );
    assert_eq!(t.bucket_count(), 2);
    assert_eq!(t.len(), K);
    // Nodes close to us keep splitting the last bucket.
    for i in 0..20u8 {
        let mut id = [0u8; 20];
        id[1] = 0x80 >> (i % 8);
        id[2] = i;
        t.heard_response(node(NodeId(id), 150 + i), t0);
    }
    assert!(t.bucket_count() > 2);
    assert_eq!(t.len(), K + 20);
    assert_eq!(
        t.heard_response(node(far(0), 0), t0),
        InsertOutcome::Updated
    );
    assert_eq!(
        t.heard_response(node(NodeId([0; 20]), 1), t0),
        InsertOutcome::Rejected
    );
}

#[test]
fn states_follow_activity_and_failures() {
    let t0 = Instant::now();
    let mut t = RoutingTable::new(NodeId([0; 20]));
    let n = node(far(1), 1);
    t.heard_response(n, t0);
    assert_eq!(t.get(&n.id).unwrap().state(t0), NodeState::Good);
    let later = t0 + 16 * MIN;
    assert_eq!(t.get(&n.id).unwrap().state(later), NodeState::Questionable);
    // A query from a node that answered before makes it good again.
    assert!(t.heard_query(&n.id, &n.addr, later));
    assert_eq!(t.get(&n.id).unwrap().state(later), NodeState::Good);
    t.failed(&n.addr, later);
    assert_ne!(t.get(&n.id).unwrap().state(later), NodeState::Bad);
    t.failed(&n.addr, later);
    assert_eq!(t.get(&n.id).unwrap().state(later), NodeState::Bad);
    assert!(t.closest(&n.id, 8).is_empty());
    // A fresh answer clears the failures.
    t.heard_response(n, later);
    assert_eq!(t.get(&n.id).unwrap().state(later), NodeState::Good);
}

#[test]
fn questionable_nodes_get_pinged_and_bad_ones_replaced_preferring_bep42() {
    let mut rng = StdRng::seed_from_u64(5);
    let t0 = Instant::now();
    let mut t = RoutingTable::new(NodeId([0; 20]));
    for i in 0..=K as u8 {
        t.heard_response(node(far(i), i), t0);
    }
    let later = t0 + 20 * MIN;
    t.heard_response(node(far(0), 0), later); // far(0) stays good
    let outcome = t.heard_response(node(far(50), 50), later);
    // The oldest questionable node is suggested for a ping.
    let InsertOutcome::Cached { ping: Some(p) } = outcome else {
        panic!("{outcome:?}")
    };
    assert_ne!(p.id, far(0));
    // A BEP 42-valid candidate (first bit set so it lands in bucket 0).
    let ip: IpAddr = "8.8.4.4".parse().unwrap();
    let good_id = loop {
        let id = bep42_id(ip, &mut rng);
        if id.bit(0) {
            break id;
        }
    };
    let valid = NodeInfo {
        id: good_id,
        addr: SocketAddr::new(ip, 1),
    };
    assert!(matches!(
        t.heard_response(valid, later),
        InsertOutcome::Cached { .. }
    ));
    t.failed(&p.addr, later);
    t.failed(&p.addr, later);
    assert!(t.get(&p.id).is_none(), "bad node replaced");
    assert!(
        t.get(&good_id).unwrap().bep42,
        "BEP 42-valid candidate chosen"
    );
}

#[test]
fn address_conflicts() {
    let t0 = Instant::now();
    let mut t = RoutingTable::new(NodeId([0; 20]));
    let a = node(far(1), 1);
    t.heard_response(a, t0);
    // Another id at the same address while the first is good: refused.
    let b = NodeInfo { id: far(2), ..a };
    assert_eq!(t.heard_response(b, t0), InsertOutcome::Rejected);
    // Same id at another address while good: refused.
    let moved = node(far(1), 9);
    assert_eq!(t.heard_response(moved, t0), InsertOutcome::Rejected);
    // Unverified additions never displace anything.
    assert!(!t.add_unverified(b, t0));
    assert!(t.add_unverified(node(far(3), 3), t0));
    assert!(!t.get(&far(3)).unwrap().is_verified());
    assert!(t.is_verified(&a.id, &a.addr));
    assert!(!t.is_verified(&far(3), &node(far(3), 3).addr));
}

#[test]
fn closest_and_would_accept() {
    let t0 = Instant::now();
    let mut t = RoutingTable::new(NodeId([0; 20]));
    for i in 0..K as u8 {
        t.heard_response(node(far(i), i), t0);
    }
    let c = t.closest(&far(3), 3);
    assert_eq!(c[0].id, far(3));
    assert_eq!(c.len(), 3);
    assert!(c
        .windows(2)
        .all(|w| w[0].id.distance(&far(3)) <= w[1].id.distance(&far(3))));
    assert!(!t.would_accept(&far(1), t0), "already known");
    assert!(t.would_accept(&far(200), t0), "may still split");
    t.heard_response(node(far(100), 100), t0);
    assert!(
        !t.would_accept(&far(201), t0),
        "bucket 0 full of good nodes"
    );
    assert!(!t.would_accept(&NodeId([0; 20]), t0));
}

#[test]
fn refresh_targets_cover_stale_buckets() {
    let mut rng = StdRng::seed_from_u64(9);
    let t0 = Instant::now();
    let mut t = RoutingTable::new(NodeId([0; 20]));
    for i in 0..=K as u8 {
        t.heard_response(node(far(i), i), t0);
    }
    assert!(t.refresh_targets(t0 + MIN, false, &mut rng).is_empty());
    let all = t.refresh_targets(t0 + MIN, true, &mut rng);
    assert_eq!(all.len(), t.bucket_count() - 1);
    assert_eq!(all[0].common_prefix_len(&NodeId([0; 20])), 0);
    let stale = t.refresh_targets(t0 + 17 * MIN, false, &mut rng);
    assert_eq!(stale.len(), t.bucket_count());
    assert!(t.refresh_targets(t0 + 18 * MIN, false, &mut rng).is_empty());
}
