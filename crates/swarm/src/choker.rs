//! The choker: decides which interested peers may download from us.
//!
//! Leeching (tit-for-tat): the `regular_slots` interested, non-snubbed peers that upload
//! to us fastest are unchoked (ties favour peers already unchoked, then random), plus one
//! optimistic unchoke rotated every `optimistic_interval` among the other interested,
//! currently choked peers, with recently connected peers (under two optimistic
//! intervals) three times as likely to be drawn.
//!
//! Seeding (round-robin): download rates mean nothing, so slots rotate. A peer keeps its
//! slot for `optimistic_interval` after being unchoked; free slots go to the interested
//! peers that have waited longest since their last unchoke (never-served peers first,
//! random among equals). The optimistic slot works as when leeching.
//!
//! The optimistic unchoke does not compete for a regular slot while it lasts; when it
//! rotates out it competes like everyone else (so a good uploader stays unchoked).
//!
//! In both modes peers that are not interested, or are seeds themselves, never get a slot
//! (and are choked if they had one). Rechoking early (a peer left or became interested)
//! is fine: it neither moves the regular schedule nor rotates the optimistic unchoke
//! early; an optimistic peer that left or lost interest is replaced at once.

#[cfg(test)]
mod tests;

use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::PeerKey;

/// Choker settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChokerConfig {
    /// Unchoke slots besides the optimistic one.
    pub regular_slots: usize,
    /// How often to recompute the regular slots.
    pub rechoke_interval: Duration,
    /// How often the optimistic unchoke rotates (and, when seeding, how long a peer
    /// keeps its slot).
    pub optimistic_interval: Duration,
}

impl Default for ChokerConfig {
    fn default() -> Self {
        ChokerConfig {
            regular_slots: 4,
            rechoke_interval: Duration::from_secs(10),
            optimistic_interval: Duration::from_secs(30),
        }
    }
}

/// One connected peer as the choker sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChokeCandidate {
    /// The engine's key of the peer.
    pub peer: PeerKey,
    /// The peer is interested in our pieces.
    pub interested: bool,
    /// We currently unchoke the peer.
    pub unchoked: bool,
    /// Bytes/s the peer sends us.
    pub download_rate: u64,
    /// Bytes/s we send the peer.
    pub upload_rate: u64,
    /// The peer has sent us nothing for a while despite our requests.
    pub snubbed: bool,
    /// The peer has every piece.
    pub is_seed: bool,
    /// When the connection was made (new peers are likelier optimistic unchokes).
    pub connected_at: Instant,
}

/// Changes to apply: send Unchoke to `unchoke`, Choke to `choke`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChokeDecision {
    /// Peers to send Unchoke.
    pub unchoke: Vec<PeerKey>,
    /// Peers to send Choke.
    pub choke: Vec<PeerKey>,
}

impl ChokeDecision {
    /// Whether there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.unchoke.is_empty() && self.choke.is_empty()
    }
}

/// What the choker remembers about a peer's slot (for seeding round-robin).
#[derive(Debug, Clone, Copy, Default)]
struct Service {
    /// When its current unchoke began.
    unchoked_since: Option<Instant>,
    /// When its last unchoke ended.
    last_served: Option<Instant>,
}

/// Peers connected more recently than this many optimistic intervals count as new.
const NEW_PEER_INTERVALS: u32 = 2;
/// How much likelier a new peer is to be drawn as the optimistic unchoke.
const NEW_PEER_WEIGHT: u32 = 3;

/// Periodic unchoke decisions. See the module docs for the policy.
pub struct Choker {
    cfg: ChokerConfig,
    next_rechoke: Instant,
    next_optimistic: Instant,
    optimistic: Option<PeerKey>,
    service: HashMap<PeerKey, Service>,
    rng: StdRng,
}

impl Choker {
    /// A choker whose first rechoke is due at `now`; `seed` drives its random choices
    /// (ties, optimistic unchokes).
    pub fn new(cfg: ChokerConfig, now: Instant, seed: u64) -> Self {
        Choker {
            cfg,
            next_rechoke: now,
            next_optimistic: now,
            optimistic: None,
            service: HashMap::new(),
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// When the next scheduled rechoke is due.
    pub fn poll_timeout(&self) -> Instant {
        self.next_rechoke
    }

    /// The current optimistic unchoke, if any.
    pub fn optimistic(&self) -> Option<PeerKey> {
        self.optimistic
    }

    /// Recomputes the unchoke set from all connected `peers` and returns the changes.
    /// `seeding`: we have everything we want (upload-only mode).
    pub fn rechoke(
        &mut self,
        now: Instant,
        seeding: bool,
        peers: &[ChokeCandidate],
    ) -> ChokeDecision {
        if now >= self.next_rechoke {
            self.next_rechoke = now + self.cfg.rechoke_interval;
        }
        self.sync_service(now, peers);

        // The optimistic unchoke stays until its interval ends unless it left, lost
        // interest or became a seed; while it stays it does not compete for a regular slot.
        let keep = now < self.next_optimistic
            && self
                .optimistic
                .is_some_and(|o| peers.iter().any(|c| c.peer == o && eligible(c)));
        let kept = if keep { self.optimistic } else { None };

        let mut ranked: Vec<&ChokeCandidate> = peers
            .iter()
            .filter(|c| eligible(c) && Some(c.peer) != kept && (seeding || !c.snubbed))
            .collect();
        ranked.shuffle(&mut self.rng); // random among equals: the sorts below are stable
        if seeding {
            let hold = self.cfg.optimistic_interval;
            let service = &self.service;
            ranked.sort_by_key(|c| {
                let s = service.get(&c.peer).copied().unwrap_or_default();
                match s.unchoked_since {
                    // Held slots first, the most recently unchoked first.
                    Some(t) if c.unchoked && now.saturating_duration_since(t) < hold => {
                        (0, Some(Reverse(t)), None)
                    }
                    // Then the longest waiting (`None` = never served sorts first); a peer
                    // whose hold ran out counts as served just now.
                    _ => (1, None, if c.unchoked { Some(now) } else { s.last_served }),
                }
            });
        } else {
            ranked.sort_by_key(|c| (Reverse(c.download_rate), !c.unchoked));
        }
        let regular: HashSet<PeerKey> = ranked
            .iter()
            .take(self.cfg.regular_slots)
            .map(|c| c.peer)
            .collect();
        if !keep {
            self.rotate_optimistic(now, peers, &regular);
        }

        let mut decision = ChokeDecision::default();
        for c in peers {
            let want = regular.contains(&c.peer) || self.optimistic == Some(c.peer);
            let s = self.service.entry(c.peer).or_default();
            if want && !c.unchoked {
                decision.unchoke.push(c.peer);
                s.unchoked_since = Some(now);
            } else if !want && c.unchoked {
                decision.choke.push(c.peer);
                s.unchoked_since = None;
                s.last_served = Some(now);
            }
        }
        decision
    }

    /// Forgets departed peers and catches up with unchokes/chokes done elsewhere.
    fn sync_service(&mut self, now: Instant, peers: &[ChokeCandidate]) {
        let present: HashSet<PeerKey> = peers.iter().map(|c| c.peer).collect();
        self.service.retain(|k, _| present.contains(k));
        for c in peers {
            let s = self.service.entry(c.peer).or_default();
            match (c.unchoked, s.unchoked_since) {
                (true, None) => s.unchoked_since = Some(now),
                (false, Some(_)) => {
                    s.unchoked_since = None;
                    s.last_served = Some(now);
                }
                _ => {}
            }
        }
    }

    /// Draws a new optimistic unchoke among eligible peers without a regular slot that
    /// are currently choked (new peers weighted up). If there are none, any eligible
    /// peer without a regular slot will do, the previous one included.
    fn rotate_optimistic(
        &mut self,
        now: Instant,
        peers: &[ChokeCandidate],
        regular: &HashSet<PeerKey>,
    ) {
        let new_age = self.cfg.optimistic_interval * NEW_PEER_INTERVALS;
        let usable = |c: &&ChokeCandidate| eligible(c) && !regular.contains(&c.peer);
        let mut weighted: Vec<(PeerKey, u32)> = peers
            .iter()
            .filter(usable)
            .filter(|c| !c.unchoked && Some(c.peer) != self.optimistic)
            .map(|c| {
                let new = now.saturating_duration_since(c.connected_at) < new_age;
                (c.peer, if new { NEW_PEER_WEIGHT } else { 1 })
            })
            .collect();
        if weighted.is_empty() {
            weighted = peers.iter().filter(usable).map(|c| (c.peer, 1)).collect();
        }
        let total: u32 = weighted.iter().map(|(_, w)| w).sum();
        self.optimistic = None;
        if total > 0 {
            let mut ticket = self.rng.gen_range(0..total);
            for &(peer, w) in &weighted {
                if ticket < w {
                    self.optimistic = Some(peer);
                    break;
                }
                ticket -= w;
            }
        }
        self.next_optimistic = now + self.cfg.optimistic_interval;
    }
}

/// Whether a peer may hold an unchoke slot at all.
fn eligible(c: &ChokeCandidate) -> bool {
    c.interested && !c.is_seed
}
