//! The Kademlia routing table (BEP 5): buckets of up to K = 8 nodes that split only
//! when the bucket holding our own id overflows. Tracks each node's state
//! (good / questionable / bad), keeps a small replacement cache per bucket, reports
//! buckets that have not been touched for 15 minutes, and prefers BEP 42-valid nodes
//! when it has to choose between candidates (it never rejects a node for failing BEP 42).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::Rng;

use crate::compact::NodeInfo;
use crate::id::{is_bep42_valid, NodeId, ID_BITS};

/// Bucket size.
pub const K: usize = 8;
/// A node is good if it answered us (or queried us after having answered once) within
/// this window, questionable after it.
pub const ACTIVITY_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Buckets untouched for this long are due for a refresh lookup.
pub const BUCKET_REFRESH: Duration = Duration::from_secs(15 * 60);
/// Consecutive unanswered queries after which a node is bad.
pub const BAD_AFTER_FAILURES: u8 = 2;
/// Replacement candidates kept per bucket.
pub const MAX_REPLACEMENTS: usize = 8;

/// A node's standing (BEP 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeState {
    /// It answered recently (see [`ACTIVITY_WINDOW`]).
    Good,
    /// Not heard from recently; worth a ping.
    Questionable,
    /// It failed [`BAD_AFTER_FAILURES`] queries in a row; to be replaced.
    Bad,
}

/// A node in the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its id and address.
    pub info: NodeInfo,
    /// Last time it answered one of our queries (`None`: never, e.g. restored).
    pub last_response: Option<Instant>,
    /// Last time it sent us a query.
    pub last_query: Option<Instant>,
    /// Unanswered queries in a row.
    pub failures: u8,
    /// Whether its id matches its IP under BEP 42.
    pub bep42: bool,
}

impl Entry {
    fn new(info: NodeInfo, last_response: Option<Instant>) -> Entry {
        Entry {
            info,
            last_response,
            last_query: None,
            failures: 0,
            bep42: is_bep42_valid(&info.id, info.addr.ip()),
        }
    }

    /// Its state at `now`.
    pub fn state(&self, now: Instant) -> NodeState {
        let recent = |t: Option<Instant>| {
            t.is_some_and(|t| now.saturating_duration_since(t) < ACTIVITY_WINDOW)
        };
        if self.failures >= BAD_AFTER_FAILURES {
            NodeState::Bad
        } else if recent(self.last_response)
            || (self.last_response.is_some() && recent(self.last_query))
        {
            NodeState::Good
        } else {
            NodeState::Questionable
        }
    }

    /// Whether it failed enough queries in a row to be bad (independent of time).
    pub fn is_bad(&self) -> bool {
        self.failures >= BAD_AFTER_FAILURES
    }

    /// Whether it has ever answered one of our queries from this address.
    pub fn is_verified(&self) -> bool {
        self.last_response.is_some()
    }
}

#[derive(Debug, Clone, Default)]
struct Bucket {
    nodes: Vec<Entry>,
    replacements: Vec<Entry>,
    last_changed: Option<Instant>,
}

/// Result of [`RoutingTable::heard_response`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertOutcome {
    /// Added to a bucket.
    Added,
    /// Already present; its activity was refreshed.
    Updated,
    /// The bucket is full: the node was kept as a replacement candidate. If `ping` is
    /// set, that questionable node should be pinged; if it fails, the best candidate
    /// takes its place.
    Cached {
        /// A questionable node of the full bucket to ping.
        ping: Option<NodeInfo>,
    },
    /// Our own id, or it conflicts with a good node (same id at another address, or
    /// another id at the same address).
    Rejected,
}

/// The routing table of the node whose id is `own_id`; see the module docs.
#[derive(Debug, Clone)]
pub struct RoutingTable {
    own: NodeId,
    buckets: Vec<Bucket>,
}

impl RoutingTable {
    /// An empty table centred on `own`.
    pub fn new(own: NodeId) -> RoutingTable {
        RoutingTable {
            own,
            buckets: vec![Bucket::default()],
        }
    }

    /// The id the table is centred on.
    pub fn own_id(&self) -> NodeId {
        self.own
    }

    /// Number of nodes (not counting replacement candidates).
    pub fn len(&self) -> usize {
        self.buckets.iter().map(|b| b.nodes.len()).sum()
    }

    /// Whether the table holds no nodes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of buckets (1 until the first split).
    pub fn bucket_count(&self) -> usize {
        self.buckets.len()
    }

    /// Every node, bucket by bucket (replacement candidates not included).
    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.buckets.iter().flat_map(|b| b.nodes.iter())
    }

    /// The node with this id, if the table holds it.
    pub fn get(&self, id: &NodeId) -> Option<&Entry> {
        self.buckets[self.bucket_index(id)]
            .nodes
            .iter()
            .find(|e| e.info.id == *id)
    }

    /// The node at `addr`, if any.
    pub fn get_by_addr(&self, addr: &SocketAddr) -> Option<&Entry> {
        self.iter().find(|e| e.info.addr == *addr)
    }

    /// Whether `id` at `addr` is in the table and has answered us before.
    pub fn is_verified(&self, id: &NodeId, addr: &SocketAddr) -> bool {
        self.get(id)
            .is_some_and(|e| e.info.addr == *addr && e.is_verified())
    }

    fn bucket_index(&self, id: &NodeId) -> usize {
        self.own
            .common_prefix_len(id)
            .min(self.buckets.len().saturating_sub(1))
    }

    fn find_addr(&self, addr: &SocketAddr) -> Option<(usize, usize)> {
        self.buckets.iter().enumerate().find_map(|(b, bucket)| {
            bucket
                .nodes
                .iter()
                .position(|e| e.info.addr == *addr)
                .map(|i| (b, i))
        })
    }

    /// Records that `info` answered one of our queries, inserting it if there is room.
    pub fn heard_response(&mut self, info: NodeInfo, now: Instant) -> InsertOutcome {
        self.insert(info, Some(now), now)
    }

    /// Adds a node we have not heard from yet (e.g. restored from a snapshot) as
    /// questionable, only where there is free room. Returns whether it was added.
    pub fn add_unverified(&mut self, info: NodeInfo, now: Instant) -> bool {
        matches!(self.insert(info, None, now), InsertOutcome::Added)
    }

    fn insert(&mut self, info: NodeInfo, response: Option<Instant>, now: Instant) -> InsertOutcome {
        if info.id == self.own {
            return InsertOutcome::Rejected;
        }
        if let Some((b, i)) = self.find_addr(&info.addr) {
            let other = &self.buckets[b].nodes[i];
            if other.info.id != info.id {
                if response.is_none() || other.state(now) == NodeState::Good {
                    return InsertOutcome::Rejected;
                }
                self.buckets[b].nodes.remove(i);
            }
        }
        loop {
            let idx = self.bucket_index(&info.id);
            let can_split = idx + 1 == self.buckets.len() && self.buckets.len() < ID_BITS;
            let bucket = &mut self.buckets[idx];
            if let Some(e) = bucket.nodes.iter_mut().find(|e| e.info.id == info.id) {
                if response.is_none() {
                    return InsertOutcome::Rejected;
                }
                if e.info.addr != info.addr && e.state(now) == NodeState::Good {
                    return InsertOutcome::Rejected;
                }
                *e = Entry {
                    last_query: e.last_query,
                    ..Entry::new(info, response)
                };
                bucket.last_changed = Some(now);
                return InsertOutcome::Updated;
            }
            let entry = Entry::new(info, response);
            if bucket.nodes.len() < K {
                bucket.replacements.retain(|r| r.info.id != info.id);
                bucket.nodes.push(entry);
                bucket.last_changed = Some(now);
                return InsertOutcome::Added;
            }
            if response.is_some() {
                // Evict a bad node, preferring ones that fail BEP 42.
                let bad = bucket
                    .nodes
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| e.state(now) == NodeState::Bad)
                    .min_by_key(|(_, e)| e.bep42)
                    .map(|(i, _)| i);
                if let Some(i) = bad {
                    bucket.nodes[i] = entry;
                    bucket.last_changed = Some(now);
                    return InsertOutcome::Added;
                }
            }
            if can_split {
                self.split_last();
                continue;
            }
            if response.is_none() {
                return InsertOutcome::Rejected;
            }
            cache_replacement(&mut bucket.replacements, entry);
            let ping = bucket
                .nodes
                .iter()
                .filter(|e| e.state(now) == NodeState::Questionable)
                .min_by_key(|e| e.last_response)
                .map(|e| e.info);
            return InsertOutcome::Cached { ping };
        }
    }

    fn split_last(&mut self) {
        let idx = self.buckets.len() - 1;
        let own = self.own;
        let old = &mut self.buckets[idx];
        let moves = |v: &mut Vec<Entry>| {
            let (stay, go): (Vec<Entry>, Vec<Entry>) = std::mem::take(v)
                .into_iter()
                .partition(|e| own.common_prefix_len(&e.info.id) == idx);
            *v = stay;
            go
        };
        let nodes = moves(&mut old.nodes);
        let replacements = moves(&mut old.replacements);
        let last_changed = old.last_changed;
        self.buckets.push(Bucket {
            nodes,
            replacements,
            last_changed,
        });
    }

    /// Notes a query from `id` at `addr`; returns whether that node is in the table.
    pub fn heard_query(&mut self, id: &NodeId, addr: &SocketAddr, now: Instant) -> bool {
        let idx = self.bucket_index(id);
        match self.buckets[idx]
            .nodes
            .iter_mut()
            .find(|e| e.info.id == *id && e.info.addr == *addr)
        {
            Some(e) => {
                e.last_query = Some(now);
                true
            }
            None => false,
        }
    }

    /// Whether a response from a new node `id` would be inserted straight away (free
    /// room, a bad node to evict, or a bucket that may split).
    pub fn would_accept(&self, id: &NodeId, now: Instant) -> bool {
        if *id == self.own || self.get(id).is_some() {
            return false;
        }
        let idx = self.bucket_index(id);
        let bucket = &self.buckets[idx];
        bucket.nodes.len() < K
            || bucket.nodes.iter().any(|e| e.state(now) == NodeState::Bad)
            || (idx + 1 == self.buckets.len() && self.buckets.len() < ID_BITS)
    }

    /// Records an unanswered query to `addr`. A node that turns bad is replaced by the
    /// best cached candidate (BEP 42-valid first, then the most recently heard).
    pub fn failed(&mut self, addr: &SocketAddr, now: Instant) {
        for bucket in &mut self.buckets {
            if let Some(e) = bucket.nodes.iter_mut().find(|e| e.info.addr == *addr) {
                e.failures = e.failures.saturating_add(1);
                if e.state(now) == NodeState::Bad {
                    let best = bucket
                        .replacements
                        .iter()
                        .enumerate()
                        .max_by_key(|(_, r)| (r.bep42, r.last_response))
                        .map(|(i, _)| i);
                    if let Some(best) = best {
                        let replacement = bucket.replacements.remove(best);
                        if let Some(slot) = bucket.nodes.iter_mut().find(|e| e.info.addr == *addr) {
                            *slot = replacement;
                        }
                        bucket.last_changed = Some(now);
                    }
                }
                return;
            }
            if let Some(i) = bucket
                .replacements
                .iter()
                .position(|r| r.info.addr == *addr)
            {
                bucket.replacements.remove(i);
                return;
            }
        }
    }

    /// The `n` non-bad nodes closest to `target`, closest first.
    pub fn closest(&self, target: &NodeId, n: usize) -> Vec<NodeInfo> {
        self.closest_matching(target, n, |_| true)
    }

    /// Like [`closest`](Self::closest), among nodes accepted by `filter`.
    pub fn closest_matching(
        &self,
        target: &NodeId,
        n: usize,
        filter: impl Fn(&NodeInfo) -> bool,
    ) -> Vec<NodeInfo> {
        let mut all: Vec<NodeInfo> = self
            .iter()
            .filter(|e| !e.is_bad() && filter(&e.info))
            .map(|e| e.info)
            .collect();
        all.sort_by_key(|n| n.id.distance(target));
        all.truncate(n);
        all
    }

    /// Marks the bucket covering `target` as refreshed (a lookup for it is starting).
    pub fn touch(&mut self, target: &NodeId, now: Instant) {
        let idx = self.bucket_index(target);
        self.buckets[idx].last_changed = Some(now);
    }

    /// Random lookup targets for every bucket untouched for [`BUCKET_REFRESH`] (or
    /// every bucket but our own when `all`); those buckets count as touched from now.
    pub fn refresh_targets(&mut self, now: Instant, all: bool, rng: &mut impl Rng) -> Vec<NodeId> {
        let own_bucket = self.buckets.len() - 1;
        let mut targets = Vec::new();
        for (idx, bucket) in self.buckets.iter_mut().enumerate() {
            let stale = match bucket.last_changed {
                None => true,
                Some(t) => now.saturating_duration_since(t) >= BUCKET_REFRESH,
            };
            if (all && idx != own_bucket) || (!all && stale) {
                targets.push(self.own.random_at_prefix(idx, rng));
                bucket.last_changed = Some(now);
            }
        }
        targets
    }
}

/// Adds or refreshes a candidate; when full, a BEP 42-valid newcomer displaces an
/// invalid candidate, otherwise the least recently heard one goes.
fn cache_replacement(cache: &mut Vec<Entry>, entry: Entry) {
    if let Some(r) = cache.iter_mut().find(|r| r.info.id == entry.info.id) {
        *r = entry;
        return;
    }
    if cache.len() >= MAX_REPLACEMENTS {
        let victim = cache
            .iter()
            .enumerate()
            .min_by_key(|(_, r)| (r.bep42, r.last_response))
            .map(|(i, _)| i);
        match victim {
            Some(i) if !cache[i].bep42 || entry.bep42 => {
                cache.remove(i);
            }
            _ => return,
        }
    }
    cache.push(entry);
}

#[cfg(test)]
#[path = "table_tests.rs"]
mod tests;
