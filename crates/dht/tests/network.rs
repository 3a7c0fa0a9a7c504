//! In-memory network simulation: 128+ `Dht` nodes on fake 127.0.0.x addresses wired
//! through a deterministic message-passing loop with a fake clock and seeded latencies
//! (no sockets). Checks that lookups converge on the true closest nodes, that announces
//! are found by other nodes, and that a read-only node can query but is never stored.
#![allow(clippy::unwrap_used)]

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shoal_dht::krpc::{Body, Message};
use shoal_dht::{Dht, DhtConfig, DhtEvent, LookupSummary, NodeId};

const NODES: usize = 256;

/// A datagram in flight: delivery time, sequence number (tie-break), sender index,
/// destination, payload.
type Datagram = (Instant, u64, usize, SocketAddr, Vec<u8>);

struct Net {
    now: Instant,
    nodes: Vec<Dht>,
    addrs: Vec<SocketAddr>,
    index: BTreeMap<SocketAddr, usize>,
    queue: BinaryHeap<Reverse<Datagram>>,
    seq: u64,
    rng: StdRng,
    /// Per mille of datagrams dropped.
    loss: u32,
    dead: Vec<bool>,
    events: Vec<Vec<DhtEvent>>,
    /// Responses (not queries) each node sent.
    responses_sent: Vec<u64>,
    delivered: u64,
}

impl Net {
    fn new(seed: u64) -> Net {
        Net {
            now: Instant::now(),
            nodes: Vec::new(),
            addrs: Vec::new(),
            index: BTreeMap::new(),
            queue: BinaryHeap::new(),
            seq: 0,
            rng: StdRng::seed_from_u64(seed),
            loss: 0,
            dead: Vec::new(),
            events: Vec::new(),
            responses_sent: Vec::new(),
            delivered: 0,
        }
    }

    fn addr(i: usize) -> SocketAddr {
        SocketAddr::from((
            [127, 0, (i / 250) as u8, (i % 250) as u8 + 1],
            20000 + i as u16,
        ))
    }

    fn add(&mut self, read_only: bool) -> usize {
        let i = self.nodes.len();
        let cfg = DhtConfig {
            bootstrap: if i == 0 {
                Vec::new()
            } else {
                vec![Net::addr(0)]
            },
            read_only,
            rng_seed: Some(1000 + i as u64),
            ..DhtConfig::default()
        };
        self.nodes.push(Dht::new(cfg, self.now));
        self.addrs.push(Net::addr(i));
        self.index.insert(Net::addr(i), i);
        self.dead.push(false);
        self.events.push(Vec::new());
        self.responses_sent.push(0);
        self.flush(i);
        i
    }

    /// Moves node `i`'s outgoing datagrams and events into the network / event log.
    fn flush(&mut self, i: usize) {
        while let Some((to, bytes)) = self.nodes[i].poll_transmit() {
            if let Ok(Message {
                body: Body::Response(_),
                ..
            }) = Message::decode(&bytes)
            {
                self.responses_sent[i] += 1;
            }
            if self.rng.gen_range(0..1000) < self.loss {
                continue;
            }
            let at = self.now + Duration::from_millis(self.rng.gen_range(10..60));
            self.seq += 1;
            self.queue.push(Reverse((at, self.seq, i, to, bytes)));
        }
        while let Some(e) = self.nodes[i].poll_event() {
            self.events[i].push(e);
        }
    }

    fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        loop {
            let next_msg = self.queue.peek().map(|Reverse(m)| m.0);
            let next_timer = (0..self.nodes.len())
                .filter(|&i| !self.dead[i])
                .filter_map(|i| self.nodes[i].poll_timeout())
                .min();
            let Some(next) = next_msg.into_iter().chain(next_timer).min() else {
                break;
            };
            if next > end {
                break;
            }
            self.now = self.now.max(next);
            while self.queue.peek().is_some_and(|Reverse(m)| m.0 <= self.now) {
                let Reverse((_, _, from, to, bytes)) = self.queue.pop().unwrap();
                if let Some(&j) = self.index.get(&to) {
                    if !self.dead[j] {
                        self.delivered += 1;
                        self.nodes[j].handle_datagram(&bytes, self.addrs[from], self.now);
                        self.flush(j);
                    }
                }
            }
            for i in 0..self.nodes.len() {
                if !self.dead[i] && self.nodes[i].poll_timeout().is_some_and(|t| t <= self.now) {
                    self.nodes[i].handle_timeout(self.now);
                    self.flush(i);
                }
            }
        }
        self.now = end;
    }

    /// Builds a network of `n` nodes joining 100 ms apart, all bootstrapped from node 0.
    fn build(n: usize, seed: u64) -> Net {
        let mut net = Net::new(seed);
        for _ in 0..n {
            net.add(false);
            net.run_for(Duration::from_millis(100));
        }
        net.run_for(Duration::from_secs(20));
        net
    }

    fn take_done(&mut self, i: usize, info_hash: [u8; 20]) -> Option<LookupSummary> {
        let pos = self.events[i].iter().position(
            |e| matches!(e, DhtEvent::LookupDone { info_hash: h, .. } if *h == info_hash),
        )?;
        match self.events[i].remove(pos) {
            DhtEvent::LookupDone { summary, .. } => Some(summary),
            _ => None,
        }
    }

    fn peers_found(&self, i: usize, info_hash: [u8; 20]) -> Vec<SocketAddr> {
        self.events[i]
            .iter()
            .filter_map(|e| match e {
                DhtEvent::PeersFound {
                    info_hash: h,
                    peers,
                } if *h == info_hash => Some(peers),
                _ => None,
            })
            .flatten()
            .copied()
            .collect()
    }

    /// The live nodes closest to `target`, excluding `except`.
    fn truth(&self, target: &NodeId, except: usize, k: usize) -> Vec<NodeId> {
        let mut ids: Vec<NodeId> = (0..self.nodes.len())
            .filter(|&i| i != except && !self.dead[i] && !self.nodes_read_only(i))
            .map(|i| self.nodes[i].id())
            .collect();
        ids.sort_by_key(|id| id.distance(target));
        ids.truncate(k);
        ids
    }

    fn nodes_read_only(&self, i: usize) -> bool {
        self.responses_sent[i] == 0 && i >= NODES
    }
}

/// Runs `count` get_peers lookups from random nodes for random targets; returns
/// (exact top-8 matches, closest found, avg hops, avg queries, avg overlap, slowest ms).
fn measure(net: &mut Net, count: usize, seed: u64) -> (usize, usize, f64, f64, f64, u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut exact, mut first, mut hops, mut queries, mut overlap) = (0, 0, 0u32, 0u32, 0usize);
    let mut max_ms = 0;
    for _ in 0..count {
        let from = loop {
            let i = rng.gen_range(0..NODES);
            if !net.dead[i] {
                break i;
            }
        };
        let target: [u8; 20] = rng.gen();
        net.nodes[from].get_peers(target, net.now);
        net.flush(from);
        let mut waited = 0;
        let summary = loop {
            net.run_for(Duration::from_millis(250));
            waited += 250;
            if let Some(s) = net.take_done(from, target) {
                break s;
            }
            assert!(waited < 60_000, "lookup did not finish");
        };
        max_ms = max_ms.max(waited);
        let found: Vec<NodeId> = summary.closest.iter().map(|n| n.id).collect();
        let truth = net.truth(&NodeId(target), from, 8);
        exact += usize::from(found == truth);
        first += usize::from(found.first() == truth.first());
        overlap += found.iter().filter(|id| truth.contains(id)).count();
        hops += summary.stats.hops;
        queries += summary.stats.queries;
    }
    let n = count as f64;
    let avg = |x: u32| f64::from(x) / n;
    (
        exact,
        first,
        avg(hops),
        avg(queries),
        overlap as f64 / n,
        max_ms,
    )
}

#[test]
fn lookups_converge_on_the_true_closest_nodes() {
    let mut net = Net::build(NODES, 1);
    let bootstrapped = (0..NODES)
        .filter(|&i| {
            net.events[i]
                .iter()
                .any(|e| matches!(e, DhtEvent::Bootstrapped { .. }))
        })
        .count();
    assert_eq!(bootstrapped, NODES);
    let avg_table = net.nodes.iter().map(|d| d.table().len()).sum::<usize>() as f64 / NODES as f64;
    let joined = net.delivered;
    let (exact, first, hops, queries, overlap, slowest) = measure(&mut net, 40, 2);
    eprintln!(
        "{NODES} nodes: {joined} datagrams to join, avg table {avg_table:.1} nodes; 40 lookups: \
         avg hops {hops:.2}, avg queries {queries:.1}, exact top-8 {exact}/40, closest found \
         {first}/40, avg overlap {overlap:.2}/8, slowest {slowest} ms"
    );
    assert_eq!(first, 40);
    assert!(exact >= 36, "exact top-8 in {exact}/40");
    assert!(queries < 40.0);
}

#[test]
fn lookups_survive_loss_and_dead_nodes() {
    let mut net = Net::build(NODES, 3);
    for i in (5..NODES).step_by(10) {
        net.dead[i] = true;
    }
    net.loss = 50;
    let (exact, first, hops, queries, overlap, slowest) = measure(&mut net, 20, 4);
    eprintln!(
        "5% loss, {} dead: avg hops {hops:.2}, avg queries {queries:.1}, exact top-8 {exact}/20, \
         closest found {first}/20, avg overlap {overlap:.2}/8, slowest {slowest} ms",
        net.dead.iter().filter(|d| **d).count()
    );
    assert!(slowest <= 6000, "slowest lookup {slowest} ms");
    assert!(first >= 18, "closest found in {first}/20");
    assert!(overlap >= 7.0);
}

#[test]
fn announce_then_get_peers_finds_the_announcer() {
    let mut net = Net::build(NODES, 5);
    let (a, b, c) = (10, 77, 120);
    let explicit = [0xab; 20];
    let implied = [0xcd; 20];
    net.nodes[a].announce(explicit, Some(7000), net.now);
    net.flush(a);
    net.nodes[c].announce(implied, None, net.now);
    net.flush(c);
    net.run_for(Duration::from_secs(15));
    let done = net.take_done(a, explicit).unwrap();
    assert!(done.announced >= 6, "announced to {}", done.announced);
    assert!(net.take_done(c, implied).unwrap().announced >= 6);

    net.nodes[b].get_peers(explicit, net.now);
    net.nodes[b].get_peers(implied, net.now);
    net.flush(b);
    net.run_for(Duration::from_secs(15));
    let want = SocketAddr::new(net.addrs[a].ip(), 7000);
    assert!(net.peers_found(b, explicit).contains(&want));
    assert_eq!(net.peers_found(b, implied), vec![net.addrs[c]]);
    let summary = net.take_done(b, explicit).unwrap();
    assert_eq!((summary.peers, summary.announced), (1, 0));
}

#[test]
fn read_only_node_can_query_but_is_never_stored() {
    let mut net = Net::build(NODES, 7);
    let info_hash = [0x42; 20];
    net.nodes[3].announce(info_hash, Some(6000), net.now);
    net.flush(3);
    net.run_for(Duration::from_secs(10));

    let r = net.add(true);
    net.run_for(Duration::from_secs(10));
    assert!(net.events[r]
        .iter()
        .any(|e| matches!(e, DhtEvent::Bootstrapped { .. })));
    net.nodes[r].get_peers(info_hash, net.now);
    net.flush(r);
    // Long enough for refreshes and re-pings to happen too.
    net.run_for(Duration::from_secs(120));
    let want = SocketAddr::new(net.addrs[3].ip(), 6000);
    assert!(net.peers_found(r, info_hash).contains(&want));
    assert_eq!(net.responses_sent[r], 0, "a read-only node never answers");
    let ro_addr = net.addrs[r];
    for i in 0..NODES {
        assert!(
            net.nodes[i].table().get_by_addr(&ro_addr).is_none(),
            "node {i} stored the read-only node"
        );
    }
}
