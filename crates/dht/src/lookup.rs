//! Iterative Kademlia lookups (`find_node` / `get_peers`): keeps a bounded candidate
//! list sorted by distance to the target, keeps α queries in flight (more, up to a hard
//! cap, while some are slow to answer), and finishes when the k closest live candidates
//! have all answered. Slow nodes are asked once more and let the next candidate in;
//! late ones stop holding up the end. Collects peers and write tokens along the way.
//!
//! The lookup only decides whom to ask; the node sends the queries, matches replies to
//! it and reports timeouts and errors through [`Lookup::on_timeout`] / [`Lookup::on_failure`].

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::compact::{is_usable, NodeInfo};
use crate::id::{Distance, NodeId};

/// What a lookup asks each node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupKind {
    /// `find_node`: for the nodes closest to the target.
    FindNode,
    /// `get_peers`: for peers of the target info-hash, and write tokens.
    GetPeers,
}

/// Tuning of a lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LookupParams {
    /// Closest nodes that must answer before the lookup ends.
    pub k: usize,
    /// Queries kept in flight while none is slow.
    pub alpha: usize,
    /// Hard cap on queries in flight, slow ones included.
    pub max_in_flight: usize,
    /// A query unanswered this long stops counting against `alpha` and widens the
    /// set of closest nodes queried by one; among the k closest it is sent once more.
    pub slow_after: Duration,
    /// A query unanswered this long no longer holds up the end of the lookup (its
    /// answer is still used if it arrives before the lookup ends).
    pub late_after: Duration,
    /// Candidates kept (the farthest are dropped beyond this).
    pub max_candidates: usize,
    /// Peers collected at most.
    pub max_peers: usize,
}

impl Default for LookupParams {
    fn default() -> Self {
        LookupParams {
            k: 8,
            alpha: 3,
            max_in_flight: 8,
            slow_after: Duration::from_secs(1),
            late_after: Duration::from_secs(2),
            max_candidates: 64,
            max_peers: 2000,
        }
    }
}

/// Counters describing a lookup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LookupStats {
    /// Queries sent.
    pub queries: u32,
    /// Answers received.
    pub responses: u32,
    /// Queries that timed out or got an error.
    pub failures: u32,
    /// Referral depth of the closest node that answered (its seed being hop 1).
    pub hops: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Normal,
    Slow,
    Late,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Fresh,
    /// `attempts`: queries outstanding to this node (2 after a resend).
    InFlight {
        sent: Instant,
        stage: Stage,
        attempts: u8,
    },
    Responded,
    Failed,
}

#[derive(Debug, Clone)]
struct Candidate {
    addr: SocketAddr,
    /// `None` for bootstrap addresses whose id we learn from their answer.
    id: Option<NodeId>,
    dist: Option<Distance>,
    state: State,
    hop: u32,
    token: Option<Vec<u8>>,
    /// Whether the query was already resent once.
    retried: bool,
}

impl Candidate {
    /// Whether it occupies one of the k places being queried: slow, late and failed
    /// nodes give their place to the next candidate.
    fn in_window(&self) -> bool {
        !matches!(
            self.state,
            State::Failed
                | State::InFlight {
                    stage: Stage::Slow | Stage::Late,
                    ..
                }
        )
    }
}

/// One iterative lookup of a target; see the module docs.
#[derive(Debug, Clone)]
pub struct Lookup {
    target: NodeId,
    own_id: NodeId,
    kind: LookupKind,
    params: LookupParams,
    cands: Vec<Candidate>,
    peers: BTreeSet<SocketAddr>,
    stats: LookupStats,
}

impl Lookup {
    /// A lookup for `target`; `own_id` is never queried.
    pub fn new(target: NodeId, own_id: NodeId, kind: LookupKind, params: LookupParams) -> Lookup {
        Lookup {
            target,
            own_id,
            kind,
            params,
            cands: Vec::new(),
            peers: BTreeSet::new(),
            stats: LookupStats::default(),
        }
    }

    /// The id or info-hash looked up.
    pub fn target(&self) -> NodeId {
        self.target
    }

    /// What the lookup asks.
    pub fn kind(&self) -> LookupKind {
        self.kind
    }

    /// Adds known nodes (typically the closest in our table) to start from.
    pub fn add_seeds(&mut self, nodes: &[NodeInfo]) {
        self.add_nodes(nodes, 1);
    }

    /// Adds addresses of unknown id (bootstrap nodes); they are always queried.
    pub fn add_bootstrap(&mut self, addrs: &[SocketAddr]) {
        for addr in addrs {
            if !self.cands.iter().any(|c| c.addr == *addr) {
                self.cands.push(Candidate {
                    addr: *addr,
                    id: None,
                    dist: None,
                    state: State::Fresh,
                    hop: 1,
                    token: None,
                    retried: false,
                });
            }
        }
        self.sort_and_trim();
    }

    fn add_nodes(&mut self, nodes: &[NodeInfo], hop: u32) {
        // Nodes at addresses nothing can be sent to are not followed.
        for n in nodes.iter().filter(|n| is_usable(&n.addr)) {
            let known = n.id == self.own_id
                || self
                    .cands
                    .iter()
                    .any(|c| c.addr == n.addr || c.id == Some(n.id));
            if !known {
                self.cands.push(Candidate {
                    addr: n.addr,
                    id: Some(n.id),
                    dist: Some(n.id.distance(&self.target)),
                    state: State::Fresh,
                    hop,
                    token: None,
                    retried: false,
                });
            }
        }
        self.sort_and_trim();
    }

    fn sort_and_trim(&mut self) {
        // `None` (bootstrap) sorts first; the sort is stable.
        self.cands.sort_by_key(|c| c.dist);
        while self.cands.len() > self.params.max_candidates {
            match self
                .cands
                .iter()
                .rposition(|c| !matches!(c.state, State::InFlight { .. }))
            {
                Some(i) => {
                    self.cands.remove(i);
                }
                None => break,
            }
        }
    }

    /// The next address to query, if the in-flight limits allow one now.
    pub fn poll_query(&mut self, now: Instant) -> Option<SocketAddr> {
        let (mut active, mut total) = (0, 0);
        for c in &self.cands {
            if let State::InFlight { stage, .. } = c.state {
                total += usize::from(stage != Stage::Late);
                active += usize::from(stage == Stage::Normal);
            }
        }
        if active >= self.params.alpha || total >= self.params.max_in_flight {
            return None;
        }
        let k = self.params.k;
        let mut rank = 0;
        for c in &mut self.cands {
            if !c.in_window() {
                continue;
            }
            if c.dist.is_some() {
                if rank >= k {
                    break;
                }
                rank += 1;
            }
            if c.state == State::Fresh {
                c.state = State::InFlight {
                    sent: now,
                    stage: Stage::Normal,
                    attempts: 1,
                };
                self.stats.queries += 1;
                return Some(c.addr);
            }
        }
        None
    }

    /// Feeds the answer of the node at `addr` (which reports id `id`). Returns the peers
    /// not seen before in this lookup.
    pub fn on_response(
        &mut self,
        addr: SocketAddr,
        id: NodeId,
        nodes: &[NodeInfo],
        token: Option<&[u8]>,
        values: &[SocketAddr],
    ) -> Vec<SocketAddr> {
        let Some(c) = in_flight(&mut self.cands, addr) else {
            return Vec::new();
        };
        c.state = State::Responded;
        c.id = Some(id);
        c.dist = Some(id.distance(&self.target));
        c.token = token.map(<[u8]>::to_vec);
        let hop = c.hop;
        self.stats.responses += 1;
        if id == self.own_id {
            c.state = State::Failed;
        }
        self.add_nodes(nodes, hop + 1);
        let mut fresh = Vec::new();
        for peer in values {
            if self.peers.len() >= self.params.max_peers {
                break;
            }
            // Port 0, unspecified and multicast addresses cannot be connected to.
            if !is_usable(peer) {
                continue;
            }
            if self.peers.insert(*peer) {
                fresh.push(*peer);
            }
        }
        fresh
    }

    /// The node at `addr` answered with an error: it is out of this lookup.
    pub fn on_failure(&mut self, addr: SocketAddr) {
        if let Some(c) = in_flight(&mut self.cands, addr) {
            c.state = State::Failed;
            self.stats.failures += 1;
        }
    }

    /// One query to `addr` went unanswered; the node fails once no query to it is
    /// outstanding any more.
    pub fn on_timeout(&mut self, addr: SocketAddr) {
        let Some(c) = in_flight(&mut self.cands, addr) else {
            return;
        };
        if let State::InFlight {
            sent,
            stage,
            attempts,
        } = c.state
        {
            if attempts > 1 {
                c.state = State::InFlight {
                    sent,
                    stage,
                    attempts: attempts - 1,
                };
            } else {
                c.state = State::Failed;
                self.stats.failures += 1;
            }
        }
    }

    /// Advances unanswered queries to slow (after `slow_after`) and late (after
    /// `late_after`). Returns the nodes among the k closest whose query should be sent
    /// once more: a single lost datagram should cost neither the best result nor a
    /// full timeout.
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<SocketAddr> {
        let p = self.params;
        let mut resend = Vec::new();
        let mut rank = 0;
        for c in &mut self.cands {
            if c.in_window() && c.dist.is_some() {
                rank += 1;
            }
            let State::InFlight {
                sent,
                stage,
                attempts,
            } = c.state
            else {
                continue;
            };
            let age = now.saturating_duration_since(sent);
            let (stage, again) = match stage {
                Stage::Normal if age >= p.late_after => (Stage::Late, false),
                Stage::Normal if age >= p.slow_after => {
                    let again = rank <= p.k && !c.retried;
                    (Stage::Slow, again)
                }
                Stage::Slow if age >= p.late_after => (Stage::Late, false),
                other => (other, false),
            };
            c.retried |= again;
            c.state = State::InFlight {
                sent,
                stage,
                attempts: attempts + u8::from(again),
            };
            if again {
                self.stats.queries += 1;
                resend.push(c.addr);
            }
        }
        resend
    }

    /// When the next query turns slow or late.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.cands
            .iter()
            .filter_map(|c| match c.state {
                State::InFlight {
                    sent,
                    stage: Stage::Normal,
                    ..
                } => Some(sent + self.params.slow_after),
                State::InFlight {
                    sent,
                    stage: Stage::Slow,
                    ..
                } => Some(sent + self.params.late_after),
                _ => None,
            })
            .min()
    }

    /// Whether the k closest live candidates have all answered (nodes that failed or
    /// are late do not count), or nothing is left to ask.
    pub fn is_done(&self) -> bool {
        let mut rank = 0;
        for c in &self.cands {
            match (c.state, c.dist) {
                (State::Failed, _)
                | (
                    State::InFlight {
                        stage: Stage::Late, ..
                    },
                    _,
                ) => {}
                (State::Responded, Some(_)) => rank += 1,
                _ => return false,
            }
            if rank >= self.params.k {
                break;
            }
        }
        true
    }

    /// Up to `n` answered nodes closest to the target, with the token each gave.
    pub fn closest_responded(&self, n: usize) -> Vec<(NodeInfo, Option<Vec<u8>>)> {
        self.cands
            .iter()
            .filter(|c| c.state == State::Responded)
            .filter_map(|c| {
                let id = c.id?;
                Some((NodeInfo { id, addr: c.addr }, c.token.clone()))
            })
            .take(n)
            .collect()
    }

    /// Number of distinct peers found.
    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    /// The counters so far.
    pub fn stats(&self) -> LookupStats {
        let hops = self
            .cands
            .iter()
            .find(|c| c.state == State::Responded)
            .map_or(0, |c| c.hop);
        LookupStats {
            hops,
            ..self.stats.clone()
        }
    }
}

fn in_flight(cands: &mut [Candidate], addr: SocketAddr) -> Option<&mut Candidate> {
    cands
        .iter_mut()
        .find(|c| c.addr == addr && matches!(c.state, State::InFlight { .. }))
}

#[cfg(test)]
#[path = "lookup_tests.rs"]
mod tests;
