//! The node's side of lookups: starting them (bootstrap, bucket refresh, `get_peers` /
//! `announce`), sending the queries each one asks for, and acting on their end
//! (bootstrapped event, announces, `LookupDone`).

use std::net::SocketAddr;
use std::time::Instant;

use crate::event::{DhtEvent, LookupSummary};
use crate::id::NodeId;
use crate::krpc::QueryKind;
use crate::lookup::{Lookup, LookupKind};
use crate::node::{Dht, Purpose};
use crate::table::K;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LookupPurpose {
    Bootstrap,
    Refresh,
    /// `announce`: `Some(port)` (`None` = implied port) once the lookup ends.
    GetPeers {
        announce: Option<Option<u16>>,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Running {
    pub(crate) lookup: Lookup,
    pub(crate) purpose: LookupPurpose,
}

impl Dht {
    pub(crate) fn find_get_peers(&self, info_hash: &[u8; 20]) -> Option<u64> {
        self.lookups.iter().find_map(|(lid, run)| {
            (matches!(run.purpose, LookupPurpose::GetPeers { .. })
                && run.lookup.target().0 == *info_hash)
                .then_some(*lid)
        })
    }

    pub(crate) fn start_bootstrap(&mut self, now: Instant) {
        self.last_bootstrap = now;
        let known: Vec<SocketAddr> = self.table.iter().map(|e| e.info.addr).collect();
        let extra: Vec<SocketAddr> = self
            .cfg
            .bootstrap
            .iter()
            .filter(|a| !known.contains(a))
            .copied()
            .collect();
        if known.is_empty() && extra.is_empty() {
            return;
        }
        let lid = self.new_lookup(self.id, LookupPurpose::Bootstrap, now);
        if let Some(run) = self.lookups.get_mut(&lid) {
            run.lookup.add_bootstrap(&extra);
        }
        self.bootstrap_lookup = Some(lid);
        self.drive_lookup(lid, now);
    }

    pub(crate) fn start_lookup(&mut self, target: NodeId, purpose: LookupPurpose, now: Instant) {
        let lid = self.new_lookup(target, purpose, now);
        self.drive_lookup(lid, now);
    }

    pub(crate) fn new_lookup(
        &mut self,
        target: NodeId,
        purpose: LookupPurpose,
        now: Instant,
    ) -> u64 {
        let kind = match purpose {
            LookupPurpose::GetPeers { .. } => LookupKind::GetPeers,
            _ => LookupKind::FindNode,
        };
        self.table.touch(&target, now);
        let mut lookup = Lookup::new(target, self.id, kind, self.cfg.lookup);
        lookup.add_seeds(&self.table.closest(&target, self.cfg.lookup.k.max(K)));
        let lid = self.next_lookup;
        self.next_lookup += 1;
        self.lookups.insert(lid, Running { lookup, purpose });
        lid
    }

    /// Sends whatever queries the lookup wants now; finishes it when done.
    pub(crate) fn drive_lookup(&mut self, lid: u64, now: Instant) {
        loop {
            if self.pending.len() >= self.cfg.max_pending {
                break;
            }
            let Some(run) = self.lookups.get_mut(&lid) else {
                return;
            };
            let Some(addr) = run.lookup.poll_query(now) else {
                break;
            };
            let kind = lookup_query(&run.lookup);
            self.send_query(addr, kind, Purpose::Lookup(lid), now);
        }
        if self.lookups.get(&lid).is_some_and(|r| r.lookup.is_done()) {
            self.finish_lookup(lid, now);
        }
    }

    pub(crate) fn finish_lookup(&mut self, lid: u64, now: Instant) {
        let Some(run) = self.lookups.remove(&lid) else {
            return;
        };
        let k = self.cfg.lookup.k;
        match run.purpose {
            LookupPurpose::Refresh => {}
            LookupPurpose::Bootstrap => {
                self.bootstrap_lookup = None;
                // Only a real answer counts: nodes restored from a snapshot sit in
                // the table without having proven they are alive.
                let answered = run.lookup.stats().responses > 0;
                if !self.bootstrapped && answered && !self.table.is_empty() {
                    self.bootstrapped = true;
                    self.events.push_back(DhtEvent::Bootstrapped {
                        nodes: self.table.len(),
                    });
                    // Fill the buckets farther away than our own neighbourhood.
                    for target in self.table.refresh_targets(now, true, &mut self.rng) {
                        self.start_lookup(target, LookupPurpose::Refresh, now);
                    }
                }
            }
            LookupPurpose::GetPeers { announce } => {
                let info_hash = run.lookup.target();
                let closest = run.lookup.closest_responded(k);
                let mut announced = 0;
                if let Some(port) = announce {
                    for (node, token) in &closest {
                        let Some(token) = token else { continue };
                        let kind = QueryKind::AnnouncePeer {
                            info_hash,
                            port: port.unwrap_or(0),
                            implied_port: port.is_none(),
                            token: token.clone(),
                        };
                        if self.send_query(node.addr, kind, Purpose::Announce, now) {
                            announced += 1;
                        }
                    }
                }
                self.events.push_back(DhtEvent::LookupDone {
                    info_hash: info_hash.0,
                    summary: LookupSummary {
                        stats: run.lookup.stats(),
                        peers: run.lookup.peer_count(),
                        announced,
                        closest: closest.into_iter().map(|(n, _)| n).collect(),
                    },
                });
            }
        }
    }
}

/// The query a lookup sends to each node.
pub(crate) fn lookup_query(lookup: &Lookup) -> QueryKind {
    let target = lookup.target();
    match lookup.kind() {
        LookupKind::FindNode => QueryKind::FindNode { target },
        LookupKind::GetPeers => QueryKind::GetPeers { info_hash: target },
    }
}
