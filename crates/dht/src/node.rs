//! [`Dht`]: the node state machine. It owns the routing table, the running lookups, our
//! outstanding queries and the peer store, and is driven entirely by its caller:
//! datagrams, commands and `now` in; datagrams, a wake-up time and events out.
//! Answering incoming queries lives in `server.rs`, running lookups in
//! `node_lookups.rs`.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::compact::{is_usable, NodeInfo};
use crate::config::DhtConfig;
use crate::event::DhtEvent;
use crate::id::NodeId;
use crate::krpc::{Body, Message, Query, QueryKind, Response};
use crate::node_lookups::{lookup_query, LookupPurpose, Running};
use crate::ratelimit::RateLimiter;
use crate::snapshot::{self, SnapshotError};
use crate::storage::PeerStore;
use crate::table::{InsertOutcome, RoutingTable};
use crate::tokens::TokenSecrets;

/// Period of housekeeping: token rotation, storage expiry, bucket refresh, re-bootstrap.
const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(30);

/// Why we sent a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// Verify a node (PORT message, querying stranger, questionable table entry).
    Ping,
    Lookup(u64),
    Announce,
}

#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub(crate) addr: SocketAddr,
    pub(crate) deadline: Instant,
    pub(crate) purpose: Purpose,
}

/// Counters for status displays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DhtStats {
    /// Nodes in the routing table.
    pub nodes: usize,
    /// Lookups running.
    pub lookups: usize,
    /// Queries of ours awaiting an answer.
    pub pending_queries: usize,
    /// Info-hashes we store announced peers for.
    pub stored_info_hashes: usize,
}

/// A mainline DHT node (sans-IO).
#[derive(Debug)]
pub struct Dht {
    pub(crate) cfg: DhtConfig,
    pub(crate) id: NodeId,
    pub(crate) rng: StdRng,
    pub(crate) table: RoutingTable,
    pub(crate) tokens: TokenSecrets,
    pub(crate) store: PeerStore,
    pub(crate) limiter: RateLimiter,
    pub(crate) pending: BTreeMap<u16, Pending>,
    pub(crate) pending_order: VecDeque<(Instant, u16)>,
    pub(crate) next_tid: u16,
    pub(crate) lookups: BTreeMap<u64, Running>,
    pub(crate) next_lookup: u64,
    pub(crate) transmit: VecDeque<(SocketAddr, Vec<u8>)>,
    pub(crate) events: VecDeque<DhtEvent>,
    pub(crate) next_maintenance: Instant,
    pub(crate) bootstrapped: bool,
    pub(crate) bootstrap_lookup: Option<u64>,
    pub(crate) last_bootstrap: Instant,
}

impl Dht {
    /// A node that starts bootstrapping at once from `config.bootstrap`.
    pub fn new(config: DhtConfig, now: Instant) -> Dht {
        let mut dht = Dht::build(config, now);
        dht.start_bootstrap(now);
        dht
    }

    /// A node restored from [`routing_table_snapshot`](Self::routing_table_snapshot):
    /// keeps the saved id unless `config.id` is set, starts with the saved nodes (as
    /// questionable) and bootstraps through them and `config.bootstrap`.
    pub fn restore(
        mut config: DhtConfig,
        snapshot: &[u8],
        now: Instant,
    ) -> Result<Dht, SnapshotError> {
        let snap = snapshot::decode(snapshot)?;
        config.id = config.id.or(Some(snap.id));
        let mut dht = Dht::build(config, now);
        for node in snap.nodes.into_iter().filter(|n| is_usable(&n.addr)) {
            dht.table.add_unverified(node, now);
        }
        dht.start_bootstrap(now);
        Ok(dht)
    }

    fn build(cfg: DhtConfig, now: Instant) -> Dht {
        let mut rng = match cfg.rng_seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_entropy(),
        };
        let id = cfg.id.unwrap_or_else(|| NodeId::random(&mut rng));
        Dht {
            id,
            table: RoutingTable::new(id),
            tokens: TokenSecrets::new(&mut rng, now),
            store: PeerStore::new(cfg.max_peers_per_hash, cfg.max_info_hashes),
            limiter: RateLimiter::new(cfg.rate_limit, now),
            pending: BTreeMap::new(),
            pending_order: VecDeque::new(),
            next_tid: rng.gen(),
            lookups: BTreeMap::new(),
            next_lookup: 0,
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            next_maintenance: now + MAINTENANCE_INTERVAL,
            bootstrapped: false,
            bootstrap_lookup: None,
            last_bootstrap: now,
            rng,
            cfg,
        }
    }

    /// Our node id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The routing table.
    pub fn table(&self) -> &RoutingTable {
        &self.table
    }

    /// Whether a bootstrap lookup has finished with answers and a non-empty table.
    pub fn is_bootstrapped(&self) -> bool {
        self.bootstrapped
    }

    /// Counters for status displays.
    pub fn stats(&self) -> DhtStats {
        DhtStats {
            nodes: self.table.len(),
            lookups: self.lookups.len(),
            pending_queries: self.pending.len(),
            stored_info_hashes: self.store.len(),
        }
    }

    /// Our id and table as bytes for the state directory (see [`Dht::restore`]).
    pub fn routing_table_snapshot(&self) -> Vec<u8> {
        snapshot::encode(&self.table)
    }

    /// Next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<(SocketAddr, Vec<u8>)> {
        self.transmit.pop_front()
    }

    /// Next event for the owner.
    pub fn poll_event(&mut self) -> Option<DhtEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let lookups = self
            .lookups
            .values()
            .filter_map(|r| r.lookup.next_timeout());
        let pending = self.pending_order.front().map(|(t, _)| *t);
        lookups
            .chain(pending)
            .chain(Some(self.next_maintenance))
            .chain(self.bootstrap_due())
            .min()
    }

    /// Finds peers for `info_hash`; reports `PeersFound` events then `LookupDone`.
    pub fn get_peers(&mut self, info_hash: [u8; 20], now: Instant) {
        if self.find_get_peers(&info_hash).is_none() {
            let purpose = LookupPurpose::GetPeers { announce: None };
            self.start_lookup(NodeId(info_hash), purpose, now);
        }
    }

    /// Like [`get_peers`](Self::get_peers), then announces us on `port` (`None`: the
    /// port our datagrams come from) to the closest nodes that gave a token.
    pub fn announce(&mut self, info_hash: [u8; 20], port: Option<u16>, now: Instant) {
        if let Some(lid) = self.find_get_peers(&info_hash) {
            if let Some(run) = self.lookups.get_mut(&lid) {
                run.purpose = LookupPurpose::GetPeers {
                    announce: Some(port),
                };
            }
            return;
        }
        let purpose = LookupPurpose::GetPeers {
            announce: Some(port),
        };
        self.start_lookup(NodeId(info_hash), purpose, now);
    }

    /// A node learned elsewhere (e.g. a peer's PORT message): ping it, add it if it answers.
    /// Ignored for addresses nothing can be sent to (e.g. a PORT message saying 0).
    pub fn add_node(&mut self, addr: SocketAddr, now: Instant) {
        if is_usable(&addr)
            && self.table.get_by_addr(&addr).is_none()
            && !self.has_pending_to(&addr)
        {
            self.send_query(addr, QueryKind::Ping, Purpose::Ping, now);
        }
    }

    /// Feeds one received datagram.
    pub fn handle_datagram(&mut self, bytes: &[u8], from: SocketAddr, now: Instant) {
        if from.port() == 0 {
            return;
        }
        let Ok(msg) = Message::decode(bytes) else {
            return;
        };
        match msg.body {
            Body::Query(q) => self.handle_query(
                &msg.transaction_id,
                msg.read_only,
                q,
                from,
                bytes.len(),
                now,
            ),
            Body::Response(r) => self.handle_response(&msg.transaction_id, r, from, now),
            Body::Error(_) => {
                if let Some(p) = self.take_pending(&msg.transaction_id, from) {
                    if let Purpose::Lookup(lid) = p.purpose {
                        if let Some(run) = self.lookups.get_mut(&lid) {
                            run.lookup.on_failure(from);
                        }
                        self.drive_lookup(lid, now);
                    }
                }
            }
        }
    }

    /// Processes expired queries, slow lookups and periodic housekeeping.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&(deadline, tid)) = self.pending_order.front() {
            if deadline > now {
                break;
            }
            self.pending_order.pop_front();
            if self
                .pending
                .get(&tid)
                .is_some_and(|p| p.deadline == deadline)
            {
                if let Some(p) = self.pending.remove(&tid) {
                    self.table.failed(&p.addr, now);
                    if let Purpose::Lookup(lid) = p.purpose {
                        if let Some(run) = self.lookups.get_mut(&lid) {
                            run.lookup.on_timeout(p.addr);
                        }
                    }
                }
            }
        }
        let lids: Vec<u64> = self.lookups.keys().copied().collect();
        for lid in lids {
            if let Some(run) = self.lookups.get_mut(&lid) {
                let resend = run.lookup.handle_timeout(now);
                let kind = lookup_query(&run.lookup);
                for addr in resend {
                    self.send_query(addr, kind.clone(), Purpose::Lookup(lid), now);
                }
            }
            self.drive_lookup(lid, now);
        }
        if self.bootstrap_due().is_some_and(|due| now >= due) {
            self.start_bootstrap(now);
        }
        if now >= self.next_maintenance {
            self.next_maintenance = now + MAINTENANCE_INTERVAL;
            self.maintenance(now);
        }
    }

    /// When the next bootstrap attempt is due: while not bootstrapped (or every node is
    /// bad) and none is running, `bootstrap_retry` after the last one started. It is a
    /// timer of its own, not left to maintenance, so a node whose first attempt found
    /// nobody (routers busy, a flood in progress) tries again on schedule.
    fn bootstrap_due(&self) -> Option<Instant> {
        if self.bootstrap_lookup.is_some() {
            return None;
        }
        let live = || self.table.iter().any(|e| !e.is_bad());
        if self.bootstrapped && live() {
            return None;
        }
        Some(self.last_bootstrap + self.cfg.bootstrap_retry)
    }

    fn maintenance(&mut self, now: Instant) {
        self.tokens.rotate_if_due(&mut self.rng, now);
        self.store.expire(now);
        if self.bootstrapped {
            for target in self.table.refresh_targets(now, false, &mut self.rng) {
                if self.lookups.len() >= self.cfg.max_lookups {
                    break;
                }
                self.start_lookup(target, LookupPurpose::Refresh, now);
            }
        }
    }

    fn handle_response(&mut self, tid: &[u8], r: Response, from: SocketAddr, now: Instant) {
        let Some(p) = self.take_pending(tid, from) else {
            return;
        };
        if r.id == self.id {
            // We reached ourselves (e.g. through a stale address): useless, drop it.
            if let Purpose::Lookup(lid) = p.purpose {
                if let Some(run) = self.lookups.get_mut(&lid) {
                    run.lookup.on_failure(from);
                }
                self.drive_lookup(lid, now);
            }
            return;
        }
        let outcome = self.table.heard_response(
            NodeInfo {
                id: r.id,
                addr: from,
            },
            now,
        );
        match outcome {
            InsertOutcome::Cached { ping: Some(node) } if !self.has_pending_to(&node.addr) => {
                self.send_query(node.addr, QueryKind::Ping, Purpose::Ping, now);
            }
            InsertOutcome::Added if !self.bootstrapped && self.bootstrap_lookup.is_none() => {
                self.start_bootstrap(now);
            }
            _ => {}
        }
        let Purpose::Lookup(lid) = p.purpose else {
            return;
        };
        let Some(run) = self.lookups.get_mut(&lid) else {
            return;
        };
        // Follow only nodes we can reach from the socket this answer came in on.
        let nodes = if from.is_ipv4() { &r.nodes } else { &r.nodes6 };
        let fresh = run
            .lookup
            .on_response(from, r.id, nodes, r.token.as_deref(), &r.values);
        if !fresh.is_empty() && matches!(run.purpose, LookupPurpose::GetPeers { .. }) {
            self.events.push_back(DhtEvent::PeersFound {
                info_hash: run.lookup.target().0,
                peers: fresh,
            });
        }
        self.drive_lookup(lid, now);
    }

    fn take_pending(&mut self, tid: &[u8], from: SocketAddr) -> Option<Pending> {
        let tid = u16::from_be_bytes(<[u8; 2]>::try_from(tid).ok()?);
        // Only the address we asked may answer (a spoofed reply is ignored).
        if self.pending.get(&tid)?.addr != from {
            return None;
        }
        self.pending.remove(&tid)
    }

    pub(crate) fn has_pending_to(&self, addr: &SocketAddr) -> bool {
        self.pending.values().any(|p| p.addr == *addr)
    }

    /// Sends a query unless too many are outstanding; returns whether it was sent.
    pub(crate) fn send_query(
        &mut self,
        addr: SocketAddr,
        kind: QueryKind,
        purpose: Purpose,
        now: Instant,
    ) -> bool {
        if self.pending.len() >= self.cfg.max_pending {
            return false;
        }
        let mut tid = self.next_tid;
        while self.pending.contains_key(&tid) {
            tid = tid.wrapping_add(1);
        }
        self.next_tid = tid.wrapping_add(1);
        let msg = Message {
            transaction_id: tid.to_be_bytes().to_vec(),
            version: self.cfg.version.clone(),
            read_only: self.cfg.read_only,
            ip: None,
            body: Body::Query(Query {
                id: self.id,
                kind,
                want: None,
            }),
        };
        self.transmit.push_back((addr, msg.encode()));
        let deadline = now + self.cfg.query_timeout;
        self.pending.insert(
            tid,
            Pending {
                addr,
                deadline,
                purpose,
            },
        );
        self.pending_order.push_back((deadline, tid));
        true
    }
}

#[cfg(test)]
#[path = "node_tests.rs"]
mod tests;
